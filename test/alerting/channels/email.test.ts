import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { incidentMail, oneLine, SmtpIncidentMailer } from '../../../src/alerting/channels/email.js';
import type { Incident } from '../../../src/alerting/emergency/types.js';
import { loadConfig } from '../../../src/config/load.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { phoneLogs, testphoneDriver } from '../../helpers/testphone-driver.js';

type Json = Record<string, unknown>;
const until = async (fn: () => boolean | Promise<boolean>, ms = 8000) => {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

interface Received {
  from: string;
  to: string[];
  user: string | undefined;
  secure: boolean;
  headers: Map<string, string>;
  subject: string;
  body: string;
  raw: string;
}

/** RFC 2047 encoded words (what nodemailer uses for non-ASCII subjects). */
function decodeWords(v: string): string {
  return v
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_m, enc: string, txt: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(txt, 'base64').toString('utf8')
        : Buffer.from(
            txt
              .replace(/_/g, ' ')
              .replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
            'latin1',
          ).toString('utf8'),
    );
}

function parseMail(raw: string): { headers: Map<string, string>; body: string } {
  const cut = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, cut).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  let body = raw.slice(cut + 4);
  const cte = (headers.get('content-transfer-encoding') ?? '').toLowerCase();
  if (cte === 'quoted-printable')
    body = Buffer.from(
      body
        .replace(/=\r\n/g, '')
        .replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  else if (cte === 'base64') body = Buffer.from(body, 'base64').toString('utf8');
  return { headers, body: body.replace(/\r\n/g, '\n') };
}

async function smtpServer(
  opts: Partial<SMTPServerOptions> = {},
): Promise<{ server: SMTPServer; port: number; mails: Received[] }> {
  const mails: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    ...opts,
    onData(stream, session: SMTPServerSession, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('latin1');
        const { headers, body } = parseMail(raw);
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          secure: session.secure,
          headers,
          subject: decodeWords(headers.get('subject') ?? ''),
          body,
          raw,
        });
        cb();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.server.address() as AddressInfo).port, mails };
}

const closeServer = (s: SMTPServer) => new Promise<void>((r) => s.close(() => r()));

async function hubWithPhones(config: Record<string, unknown>): Promise<TestHub> {
  const hub = await startTestHub({
    drivers: [testphoneDriver()],
    config: { 'broadcast.backoffMs': 10, 'emergency.queue': '', ...config },
  });
  for (const [id, group] of [
    ['em-sec1', 'security'],
    ['em-sec2', 'security'],
    ['em-mgr1', 'managers'],
  ] as const) {
    const r = await hub.api('POST', '/api/devices', {
      id,
      kind: 'testphone',
      address: `127.0.0.1:${id.endsWith('1') ? 9401 : 9402}`,
      groups: [group],
    });
    expect(r.status).toBe(201);
  }
  return hub;
}

async function timeline(hub: TestHub, id: string): Promise<Json[]> {
  const d = await hub.api<{ incident: Json }>('GET', `/api/incidents/${id}`);
  return d.body.incident.timeline as Json[];
}

async function latestIncident(hub: TestHub): Promise<Json> {
  const l = await hub.api<{ incidents: Json[] }>('GET', '/api/incidents?limit=1');
  return l.body.incidents[0]!;
}

const sample = (over: Partial<Incident> = {}): Incident => ({
  id: 'inc_1',
  createdAt: '2026-11-22T12:00:00.000Z',
  detectLagMs: 3,
  callKey: 'k',
  test: false,
  pbx: 'ipo-1',
  caller: {
    extension: '4001',
    name: 'Alice Able',
    callbackNumber: '+15550104001',
    dialled: '911',
    detectedBy: 'dialled',
  },
  location: { building: 'HQ', floor: '2', room: '214', from: 'table' },
  state: 'notifying',
  broadcasts: [],
  notifiedGroups: ['security'],
  escalations: 0,
  acknowledgedAt: null,
  acknowledgedBy: null,
  callEndedAt: null,
  timeline: [{ at: '2026-11-22T12:00:00.000Z', type: 'call.emergency', detail: {} }],
  ...over,
});

describe('incident mail text', () => {
  it('subject and body name caller, callback, digits, location, time, test flag and the console link', () => {
    const m = incidentMail('opened', sample(), { subjectPrefix: '[911]', publicUrl: 'https://hub.example/' });
    expect(m.subject).toBe('[911] Ext 4001 Alice Able — HQ / floor 2 / room 214');
    expect(m.text).toContain('Caller:     Alice Able (ext 4001)');
    expect(m.text).toContain('Callback:   +15550104001');
    expect(m.text).toContain('Dialled:    911');
    expect(m.text).toContain('Location:   HQ / floor 2 / room 214');
    expect(m.text).toContain('Time:       2026-11-22 12:00:00 UTC');
    expect(m.text).toContain('Test call:  no');
    expect(m.text).toContain('Incident:   https://hub.example/#/incidents/inc_1');
    const t = incidentMail('escalated', sample({ test: true, escalations: 2, notifiedGroups: ['a', 'b'] }), {
      subjectPrefix: '[911]',
      publicUrl: 'http://x',
    });
    expect(t.subject).toBe(
      '[911] TEST ESCALATION 2, NOT ACKNOWLEDGED: Ext 4001 Alice Able — HQ / floor 2 / room 214',
    );
    expect(t.text).toContain('Test call:  yes');
    const a = incidentMail(
      'acknowledged',
      sample({
        acknowledgedBy: 'Guard Joe',
        acknowledgedAt: '2026-11-22T12:01:00.000Z',
        state: 'acknowledged',
      }),
      { subjectPrefix: '[911]', publicUrl: 'http://x' },
    );
    expect(a.subject).toMatch(/^\[911\] Acknowledged: Ext 4001/);
    expect(a.text).toContain('acknowledged by Guard Joe at 2026-11-22 12:01:00 UTC');
    expect(
      incidentMail('opened', sample({ location: { from: 'none' } }), { subjectPrefix: '', publicUrl: '' })
        .subject,
    ).toBe('Ext 4001 Alice Able — location unknown');
  });

  it('no CR/LF or other control characters reach the subject, whatever the caller name (fuzzed)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.string({ maxLength: 50 }), (name, room) => {
        const m = incidentMail(
          'opened',
          sample({ caller: { ...sample().caller, name }, location: { room, from: 'table' } }),
          {
            subjectPrefix: '[911]',
            publicUrl: 'http://x',
          },
        );
        expect(m.subject).not.toMatch(/[\u0000-\u001f\u007f\u2028\u2029]/);
        expect(m.subject.length).toBeLessThanOrEqual(250);
        for (const line of m.text.split('\n')) expect(line).not.toContain('\r');
      }),
      { numRuns: 300 },
    );
    expect(oneLine('Alice\r\nBcc: evil@example.com')).toBe('Alice Bcc: evil@example.com');
  });
});

describe('911 email relay over SMTP (real server on 127.0.0.1)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  afterAll(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('incident opened, escalated and acknowledged: three mails, each recorded as email.sent', async () => {
    const smtp = await smtpServer();
    cleanups.push(() => closeServer(smtp.server));
    const hub = await hubWithPhones({
      'emergency.escalateAfterSeconds': 1,
      'emergency.maxEscalations': 1,
      'emergency.escalationGroup': 'managers',
      'emergency.email.enabled': true,
      'emergency.email.host': '127.0.0.1',
      'emergency.email.port': smtp.port,
      'emergency.email.from': 'Switchboard <switchboard@example.com>',
      'emergency.email.to': ['security@example.com', 'facilities@example.com'],
    });
    cleanups.push(() => hub.close());
    const st = await hub.api<Json>('GET', '/api/emergency');
    expect(st.body.email).toEqual({ host: '127.0.0.1', port: smtp.port, recipients: 2 });
    const csv = 'extension,name,building,floor,room,callback\n4001,Alice Able,HQ,2,214,+15550104001\n';
    const imp = await fetch(`${hub.url}/api/locations/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hub.key}`, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(imp.status).toBe(200);
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: { callKey: 'ipo:mail-1', callerExtension: '4001', dialled: '911', test: false },
    });
    await until(() => smtp.mails.length >= 1);
    const inc = await latestIncident(hub);
    const opened = smtp.mails[0]!;
    expect(opened.subject).toBe('[911] Ext 4001 Alice Able — HQ / floor 2 / room 214');
    expect(opened.from).toBe('switchboard@example.com');
    expect(opened.to).toEqual(['security@example.com', 'facilities@example.com']);
    expect(opened.headers.get('x-switchboard-incident')).toBe(inc.id);
    expect(opened.headers.get('x-switchboard-incident-event')).toBe('opened');
    expect(opened.body).toContain('Caller:     Alice Able (ext 4001)');
    expect(opened.body).toContain('Callback:   +15550104001');
    expect(opened.body).toContain('Dialled:    911');
    expect(opened.body).toContain('Test call:  no');
    expect(opened.body).toContain(`Incident:   ${hub.hub.hub.publicUrl}/#/incidents/${inc.id}`);
    expect(opened.body).toMatch(/Time: {7}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    // Nobody acknowledges: the escalation mail follows the repeat alert.
    await until(() => smtp.mails.length >= 2);
    expect(smtp.mails[1]!.subject).toBe(
      '[911] ESCALATION 1, NOT ACKNOWLEDGED: Ext 4001 Alice Able — HQ / floor 2 / room 214',
    );
    expect(smtp.mails[1]!.body).toContain('security, managers');
    const kim = (await hub.hub.apiKeys.create('Desk officer Kim')).key;
    const ack = await hub.api('POST', `/api/incidents/${inc.id}/ack`, {}, { authorization: `Bearer ${kim}` });
    expect(ack.status).toBe(200);
    await until(() => smtp.mails.length >= 3);
    expect(smtp.mails[2]!.subject).toBe('[911] Acknowledged: Ext 4001 Alice Able — HQ / floor 2 / room 214');
    expect(smtp.mails[2]!.body).toContain('acknowledged by Desk officer Kim');
    await until(
      async () => (await timeline(hub, inc.id as string)).filter((t) => t.type === 'email.sent').length === 3,
    );
    const sent = (await timeline(hub, inc.id as string)).filter((t) => t.type === 'email.sent');
    expect(sent.map((t) => (t.detail as Json).kind)).toEqual(['opened', 'escalated', 'acknowledged']);
    expect((sent[0]!.detail as Json).messageId).toMatch(/^<.+@.+>$/);
  });

  it('caller names cannot add headers or recipients', async () => {
    const smtp = await smtpServer();
    cleanups.push(() => closeServer(smtp.server));
    const hub = await hubWithPhones({
      'emergency.escalateAfterSeconds': 0,
      'emergency.email.enabled': true,
      'emergency.email.host': '127.0.0.1',
      'emergency.email.port': smtp.port,
      'emergency.email.from': 'switchboard@example.com',
      'emergency.email.to': ['security@example.com'],
    });
    cleanups.push(() => hub.close());
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: {
        callKey: 'ipo:mail-inj',
        callerExtension: '4002',
        callerName: 'Eve\r\nBcc: attacker@example.net\r\n\r\nfake body',
        dialled: '911',
      },
    });
    await until(() => smtp.mails.length >= 1);
    const m = smtp.mails[0]!;
    expect(m.to).toEqual(['security@example.com']);
    expect(m.headers.has('bcc')).toBe(false);
    expect(m.subject).toBe('[911] Ext 4002 Eve Bcc: attacker@example.net fake body — location unknown');
    expect(m.raw).not.toMatch(/^Bcc:/im);
  });

  it('relay down: email.failed with the reason in the timeline; the phones were alerted anyway', async () => {
    // A port that was just free: nothing listens there.
    const gone = await smtpServer();
    const deadPort = gone.port;
    await closeServer(gone.server);
    const hub = await hubWithPhones({
      'emergency.escalateAfterSeconds': 0,
      'emergency.email.enabled': true,
      'emergency.email.host': '127.0.0.1',
      'emergency.email.port': deadPort,
      'emergency.email.from': 'switchboard@example.com',
      'emergency.email.to': ['security@example.com'],
      'emergency.email.attempts': 3,
      'emergency.email.backoffMs': 10,
      'emergency.email.timeoutMs': 2000,
    });
    cleanups.push(() => hub.close());
    for (const id of ['em-sec1', 'em-sec2']) phoneLogs.get(id)!.calls.length = 0;
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: { callKey: 'ipo:mail-down', callerExtension: '4003', callerName: 'Bo', dialled: '911' },
    });
    await until(() =>
      ['em-sec1', 'em-sec2'].every((id) => phoneLogs.get(id)!.calls.some((c) => c.action === 'show')),
    );
    const inc = await latestIncident(hub);
    await until(async () => (await timeline(hub, inc.id as string)).some((t) => t.type === 'email.failed'));
    const tl = await timeline(hub, inc.id as string);
    const types = tl.map((t) => t.type);
    expect(types).toContain('notified');
    expect(types).not.toContain('email.sent');
    // The alert went out before the mail failed (it never waited for the relay).
    expect(types.indexOf('notified')).toBeLessThan(types.indexOf('email.failed'));
    const failed = tl.find((t) => t.type === 'email.failed')!.detail as Json;
    expect(failed.kind).toBe('opened');
    expect(failed.reason).toMatch(/ECONNREFUSED|connect/i);
    expect(failed.reason).toContain('after 3 attempts');
    await until(async () =>
      (await timeline(hub, inc.id as string)).some((t) => t.type === 'delivery.report'),
    );
    const rep = (await timeline(hub, inc.id as string)).find((t) => t.type === 'delivery.report')!;
    expect((rep.detail as { counts: Json }).counts).toMatchObject({ displayed: 2 });
  });

  it('SMTP AUTH with username and password over STARTTLS (requireTls); a wrong password fails at once, unlogged', async () => {
    const auths: Array<{ user: string; method: string; secure: boolean }> = [];
    const smtp = await smtpServer({
      disabledCommands: [],
      authOptional: false,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, session, cb) {
        auths.push({ user: auth.username ?? '', method: auth.method, secure: session.secure });
        if (auth.username === 'relay-user' && auth.password === 'S3cret-pa55')
          return cb(null, { user: 'relay-user' });
        return cb(new Error(`Invalid username or password ${auth.password ?? ''}`));
      },
    });
    cleanups.push(() => closeServer(smtp.server));
    const hub = await hubWithPhones({
      'emergency.escalateAfterSeconds': 0,
      'emergency.email.enabled': true,
      'emergency.email.host': '127.0.0.1',
      'emergency.email.port': smtp.port,
      'emergency.email.requireTls': true,
      // smtp-server's built-in certificate is self-signed.
      'emergency.email.rejectUnauthorized': false,
      'emergency.email.username': 'relay-user',
      'emergency.email.password': 'S3cret-pa55',
      'emergency.email.from': 'switchboard@example.com',
      'emergency.email.to': ['security@example.com'],
    });
    cleanups.push(() => hub.close());
    expect(JSON.stringify((await hub.api('GET', '/api/emergency')).body)).not.toContain('S3cret-pa55');
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: {
        callKey: 'ipo:mail-auth',
        callerExtension: '4004',
        callerName: 'Cy',
        dialled: '911',
        test: true,
      },
    });
    await until(() => smtp.mails.length >= 1);
    expect(smtp.mails[0]!.user).toBe('relay-user');
    expect(smtp.mails[0]!.secure).toBe(true);
    expect(smtp.mails[0]!.subject).toBe('[911] TEST Ext 4004 Cy — location unknown');
    expect(auths).toEqual([expect.objectContaining({ user: 'relay-user', secure: true })]);
    const inc = await latestIncident(hub);
    await until(async () => (await timeline(hub, inc.id as string)).some((t) => t.type === 'email.sent'));

    // Wrong password: rejected by the relay (535), not retried, the password never appears in the reason.
    const warnings: unknown[] = [];
    const mailer = new SmtpIncidentMailer({
      config: {
        enabled: true,
        host: '127.0.0.1',
        port: smtp.port,
        secure: false,
        requireTls: true,
        rejectUnauthorized: false,
        username: 'relay-user',
        password: 'wrong-Pa55word',
        from: 'switchboard@example.com',
        to: ['security@example.com'],
        subjectPrefix: '[911]',
        timeoutMs: 2000,
        attempts: 4,
        backoffMs: 10,
      },
      publicUrl: () => 'http://hub.example',
      logger: {
        warn: (o: unknown) => warnings.push(o),
        info: () => {},
        error: () => {},
        debug: () => {},
        child() {
          return this;
        },
      } as never,
    });
    cleanups.push(async () => mailer.close());
    const n = auths.length;
    const err = await mailer.send('opened', sample()).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).not.toBeNull();
    expect(err!.message).toMatch(/after 1 attempt\b/);
    expect(err!.message).not.toContain('wrong-Pa55word');
    expect(auths.length).toBe(n + 1);
    expect(JSON.stringify(warnings)).not.toContain('wrong-Pa55word');
    expect(warnings).toHaveLength(1);
  });
});

describe('emergency.email config', () => {
  it('passwordFile reads the SMTP password; every key has a default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-email-'));
    try {
      writeFileSync(join(dir, 'smtp.secret'), 'from-a-file\n');
      writeFileSync(
        join(dir, 'switchboard.yaml'),
        'emergency:\n  email:\n    enabled: true\n    host: smtp.example.com\n    username: sb\n    passwordFile: smtp.secret\n    from: sb@example.com\n    to: [desk@example.com]\n',
      );
      const { config } = loadConfig({ path: join(dir, 'switchboard.yaml'), env: {} });
      expect(config.emergency.email).toMatchObject({
        enabled: true,
        host: 'smtp.example.com',
        port: 25,
        secure: false,
        requireTls: false,
        username: 'sb',
        password: 'from-a-file',
        subjectPrefix: '[911]',
        timeoutMs: 10000,
      });
      const { config: d } = loadConfig({ env: {}, searchDefaultFile: false });
      expect(d.emergency.email).toMatchObject({ enabled: false, host: '', to: [], attempts: 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an enabled relay without host or recipients stops start-up naming the key', async () => {
    await expect(
      startTestHub({ config: { 'emergency.email.enabled': true, 'emergency.email.from': 'a@example.com' } }),
    ).rejects.toThrow(/emergency\.email\.host/);
    await expect(
      startTestHub({
        config: {
          'emergency.email.enabled': true,
          'emergency.email.host': '127.0.0.1',
          'emergency.email.from': 'a@example.com',
        },
      }),
    ).rejects.toThrow(/emergency\.email\.to/);
  });
});
