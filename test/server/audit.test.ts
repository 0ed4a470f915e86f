import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/core/audit.js';
import { ManualClock } from '../../src/core/clock.js';
import { UserService } from '../../src/core/users.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { testphoneDriver } from '../helpers/testphone-driver.js';

/** Issue 18: the audit trail: every change and send, who/when/where/what, filters, paging, CSV, retention. */
const DAY = 86_400_000;
const T0 = Date.parse('2026-01-10T08:00:00Z');
const PASSWORD = 'correct horse battery';
let hub: TestHub;
let dataDir: string;
const clock = new ManualClock(T0);

type Page = { entries: AuditEntry[]; next: string | null };

async function signIn(username: string, password: string) {
  const res = await fetch(`${hub.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.9.9.9' },
    body: JSON.stringify({ username, password }),
  });
  return { status: res.status, body: (await res.json()) as { token?: string } };
}

async function start() {
  hub = await startTestHub({
    dataDir,
    clock,
    drivers: [testphoneDriver()],
    config: { 'audit.retentionDays': 30, 'events.retentionDays': 1 },
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sb-audit-'));
  await start();
}, 60_000);
afterAll(async () => {
  await hub?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('audit trail', () => {
  it('records changes and sends with who, when, from where and what; never a secret', async () => {
    const dev = await hub.api('POST', '/api/devices', {
      id: 'lobby1',
      kind: 'testphone',
      name: 'Lobby',
      address: '127.0.0.1',
    });
    expect(dev.status).toBe(201);
    const key = await hub.api<{ id: string; key: string }>('POST', '/api/keys', {
      name: 'wallboard',
      role: 'viewer',
    });
    expect(key.status).toBe(201);
    const bc = await hub.api<{ broadcast: { id: string } }>('POST', '/api/broadcasts', {
      title: 'Fire drill',
      text: 'secret-ish body text',
      priority: 'urgent',
      targets: { devices: ['lobby1'] },
    });
    expect(bc.status).toBe(201);
    // A read is not recorded; a refusal is.
    expect((await hub.api('GET', '/api/devices')).status).toBe(200);
    const viewerDelete = await fetch(`${hub.url}/api/devices/lobby1`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${key.body.key}` },
    });
    expect(viewerDelete.status).toBe(403);
    expect((await hub.api('DELETE', '/api/devices/lobby1')).status).toBe(204);

    const page = (await hub.api<Page>('GET', '/api/audit?limit=100')).body;
    const actions = page.entries.map((e) => e.action);
    expect(actions).toEqual([
      'device.removed',
      'access.denied',
      'broadcast.sent',
      'key.created',
      'device.added',
    ]);
    const [removed, denied, sent, created, added] = page.entries;
    expect(added).toMatchObject({
      actorKind: 'key',
      actorName: 'test',
      address: '127.0.0.1',
      target: 'id=lobby1',
      outcome: 'ok',
      time: new Date(T0).toISOString(),
    });
    expect(created!.detail).toMatchObject({ name: 'wallboard', role: 'viewer', id: key.body.id });
    expect(created!.target).toBe(`id=${key.body.id}`);
    expect(sent!.detail).toMatchObject({ title: 'Fire drill', priority: 'urgent', targets: { devices: 1 } });
    expect(denied).toMatchObject({
      actorName: 'wallboard',
      outcome: 'denied',
      target: 'DELETE /api/devices/:id',
      detail: { role: 'viewer' },
    });
    expect(removed!.target).toBe('id=lobby1');
    const all = JSON.stringify(page);
    expect(all).not.toContain(key.body.key.split('_').slice(2).join('_'));
    expect(all).not.toContain('secret-ish');
  });

  it('records sign-ins, failed ones too, with the attempted user and the client address', async () => {
    await new UserService(hub.hub.stores.users).create('desk1', PASSWORD, 'operator');
    expect((await signIn('desk1', 'wrong password!')).status).toBe(401);
    expect((await signIn('nobody', PASSWORD)).status).toBe(401);
    const ok = await signIn('desk1', PASSWORD);
    expect(ok.status).toBe(201);
    const res = await hub.api<Page>('GET', '/api/audit?action=signin.*');
    expect(res.body.entries.map((e) => [e.action, e.actorName, e.outcome])).toEqual([
      ['signin.succeeded', 'desk1', 'ok'],
      ['signin.failed', 'nobody', 'failed'],
      ['signin.failed', 'desk1', 'failed'],
    ]);
    expect(JSON.stringify(res.body)).not.toContain(PASSWORD);
    // Changes made with that session name the user.
    const put = await fetch(`${hub.url}/api/incidents/nope/ack`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ok.body.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(put.status).toBe(404);
    const so = await fetch(`${hub.url}/api/session`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ok.body.token}` },
    });
    expect(so.status).toBe(204);
    const mine = await hub.api<Page>('GET', '/api/audit?actor=desk1');
    expect(mine.body.entries.map((e) => e.action)).toEqual(['signout', 'signin.succeeded', 'signin.failed']);
    expect(mine.body.entries[0]!.actorKind).toBe('session');
  });

  it('pages with a cursor, filters by time, refuses bad filters with 400, and is closed to viewers', async () => {
    for (let i = 0; i < 25; i++) {
      clock.advance(60_000);
      expect((await hub.api('PUT', `/api/groups/g${i}`, { name: `G ${i}` })).status).toBe(200);
    }
    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const q: string = `/api/audit?action=group.changed&limit=10${cursor ? `&cursor=${cursor}` : ''}`;
      const p: Page = (await hub.api<Page>('GET', q)).body;
      seen.push(...p.entries.map((e) => e.target ?? ''));
      cursor = p.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `id=g${24 - i}`));
    const since = new Date(T0 + 5 * 60_000).toISOString();
    const until = new Date(T0 + 8 * 60_000).toISOString();
    const win = await hub.api<Page>('GET', `/api/audit?action=group.changed&since=${since}&until=${until}`);
    expect(win.body.entries.map((e) => e.target)).toEqual(['id=g6', 'id=g5', 'id=g4']);
    // By client address, exactly (the API's callers here are all 127.0.0.1; nobody called from elsewhere).
    const local = await hub.api<Page>('GET', '/api/audit?action=group.changed&address=127.0.0.1&limit=5');
    expect(local.body.entries).toHaveLength(5);
    expect(new Set(local.body.entries.map((e) => e.address))).toEqual(new Set(['127.0.0.1']));
    const away = await hub.api<Page>('GET', '/api/audit?address=203.0.113.9');
    expect(away.body.entries).toEqual([]);
    const awayCsv = await fetch(`${hub.url}/api/audit.csv?action=group.changed&address=203.0.113.9`, {
      headers: { authorization: `Bearer ${hub.key}` },
    });
    expect((await awayCsv.text()).trimEnd().split('\r\n')).toHaveLength(1);
    for (const bad of [
      'since=yesterday',
      'cursor=abc',
      'limit=0',
      'action=DROP%20TABLE',
      'outcome=maybe',
      'address=',
      `address=${'9'.repeat(65)}`,
    ])
      expect((await hub.api('GET', `/api/audit?${bad}`)).status, bad).toBe(400);
    const viewer = (await hub.hub.apiKeys.create('v', { role: 'viewer' })).key;
    const r = await fetch(`${hub.url}/api/audit`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(r.status).toBe(403);
  });

  it('exports CSV with the same filters, formulas neutralised', async () => {
    expect((await hub.api('PUT', '/api/groups/evil', { name: 'Evil' })).status).toBe(200);
    const csv = async (q: string) => {
      const res = await fetch(`${hub.url}/api/audit.csv?${q}`, {
        headers: { authorization: `Bearer ${hub.key}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      return (await res.text()).trimEnd().split('\r\n');
    };
    const lines = await csv('action=group.changed');
    expect(lines[0]).toBe('seq,time,actor_kind,actor_id,actor_name,address,action,target,outcome,detail');
    expect(lines).toHaveLength(1 + 26);
    expect(lines[1]).toMatch(
      /,group\.changed,id=evil,ok,"\{""status"":200,""route"":""PUT \/api\/groups\/:id""/,
    );
    // A user name chosen by an attacker cannot become a spreadsheet formula.
    expect((await signIn('=HYPERLINK("http://x")', 'whatever password')).status).toBe(401);
    expect((await signIn('=1+1', 'whatever password')).status).toBe(401);
    const failed = await csv('action=signin.failed');
    expect(failed[1]).toContain(`,'=1+1,`);
    expect(failed[2]).toContain(`,"'=HYPERLINK(""http://x"")",`);
  });

  it('records the broadcasts a rule sends (actor: the rule), not only those sent through the API', async () => {
    expect(
      (await hub.api('PUT', '/api/templates/welcome', { title: 'New phone', text: '{{name}} added' })).status,
    ).toBe(200);
    const rule = await hub.api('PUT', '/api/rules/on-add', {
      event: 'device.added',
      actions: [{ type: 'broadcast', template: 'welcome', targets: { devices: ['lobby2'] } }],
    });
    expect(rule.status).toBe(200);
    const add = await hub.api('POST', '/api/devices', {
      id: 'lobby2',
      kind: 'testphone',
      name: 'Lobby 2',
      address: '127.0.0.1',
    });
    expect(add.status).toBe(201);
    let sent: AuditEntry | undefined;
    for (let i = 0; i < 100 && !sent; i++) {
      const p = (await hub.api<Page>('GET', '/api/audit?action=broadcast.sent&actor=rule:on-add')).body;
      sent = p.entries[0];
      if (!sent) await new Promise((r) => setTimeout(r, 20));
    }
    expect(sent).toMatchObject({
      actorKind: 'system',
      actorId: 'on-add',
      address: null,
      detail: { title: 'New phone' },
    });
    expect(sent!.target).toMatch(/^id=/);
  });

  it('is append-only in the store', () => {
    expect(() => hub.db.prepare("UPDATE audit_log SET action = 'nothing'").run()).toThrow(/append-only/);
  });

  it('keeps its own retention (audit.retentionDays), not the event log one', async () => {
    const before = (await hub.api<Page>('GET', '/api/audit?limit=1000')).body.entries.length;
    expect(before).toBeGreaterThan(30);
    await hub.close();
    // Two days later the events are gone (events.retentionDays 1) but the audit trail is whole.
    clock.advance(2 * DAY);
    await start();
    const kept = (await hub.api<Page>('GET', '/api/audit?limit=1000')).body.entries;
    expect(kept.length).toBe(before);
    await hub.close();
    clock.advance(30 * DAY);
    await start();
    const left = (await hub.api<Page>('GET', '/api/audit?limit=1000')).body.entries;
    expect(left).toEqual([]);
  }, 60_000);
});
