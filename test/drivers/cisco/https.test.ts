import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCiscoSim } from '../../../src/sim/cisco/fleet.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { makeCert } from '../../helpers/tls.js';

/**
 * Phones with Web Access set to HTTPS only: the simulator serves HTTPS with a self-signed certificate and
 * the driver pushes over TLS, verifying the phone against settings.tls.ca (and tls.servername) unless told
 * to accept an unverifiable certificate.
 */
type Fleet = Awaited<ReturnType<typeof startCiscoSim>>;
let t: TestHub;
let byIp: Fleet;
let bySep: Fleet;
let ipCert: { key: string; cert: string };
let sepCert: { key: string; cert: string };
const SEP = 'SEP00CAFE000000';

beforeAll(async () => {
  ipCert = makeCert();
  sepCert = makeCert({ cn: SEP, san: `DNS:${SEP}` });
  t = await startTestHub();
  byIp = await startCiscoSim({ phones: 1, username: 'push', password: 'pw', tls: ipCert });
  bySep = await startCiscoSim({ phones: 1, username: 'push', password: 'pw', tls: sepCert });
});

afterAll(async () => {
  await byIp?.stop();
  await bySep?.stop();
  await t?.close();
});

async function add(id: string, fleet: Fleet, tls: Record<string, unknown> | undefined) {
  const p = fleet.phones[0]!;
  const r = await t.api('POST', '/api/devices', {
    id,
    kind: 'cisco',
    address: p.address,
    settings: {
      model: '8845',
      username: 'push',
      password: 'pw',
      deviceName: p.deviceName,
      ...(tls ? { tls } : {}),
    },
  });
  expect(r.status).toBe(201);
}

async function text(id: string, title: string) {
  return t.api<{ ok?: boolean; outcome?: string; error?: { code: string; message: string } }>(
    'POST',
    `/api/devices/${id}/actions/object_text`,
    { title, text: 'over TLS' },
  );
}

const screenTitle = (f: Fleet) => (f.phones[0]!.state() as { screen: { title: string } }).screen.title;

describe('Cisco push over HTTPS', () => {
  it('serves HTTPS from the simulator', () => {
    expect(byIp.phones[0]!.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('pushes when the phone is verified with its CA, and the phone shows the text', async () => {
    await add('tls-ca', byIp, { enabled: true, ca: ipCert.cert });
    const r = await text('tls-ca', 'Verified');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true });
    expect(screenTitle(byIp)).toBe('Verified');
  });

  it('refuses an untrusted certificate with a clear, non-retryable error', async () => {
    await add('tls-untrusted', byIp, { enabled: true });
    const r = await text('tls-untrusted', 'Never shown');
    expect(r.body.error?.code ?? r.body.outcome).toBe('HTTP_TLS_FAILED');
    expect(JSON.stringify(r.body)).toMatch(/DEPTH_ZERO_SELF_SIGNED_CERT|not trusted/);
    expect(screenTitle(byIp)).not.toBe('Never shown');
  });

  it('accepts an unverifiable certificate only when allowSelfSigned is set', async () => {
    await add('tls-insecure', byIp, { enabled: true, allowSelfSigned: true });
    const r = await text('tls-insecure', 'Unverified');
    expect(r.body).toMatchObject({ ok: true });
    expect(screenTitle(byIp)).toBe('Unverified');
  });

  it('checks the certificate against tls.servername when the phone is reached by address', async () => {
    await add('tls-noname', bySep, { enabled: true, ca: sepCert.cert });
    const bad = await text('tls-noname', 'Wrong name');
    expect(bad.body.error?.code ?? bad.body.outcome).toBe('HTTP_TLS_FAILED');
    expect(JSON.stringify(bad.body)).toMatch(/does not name the host/);
    await add('tls-name', bySep, { enabled: true, ca: sepCert.cert, servername: SEP });
    const ok = await text('tls-name', 'Named');
    expect(ok.body).toMatchObject({ ok: true });
    expect(screenTitle(bySep)).toBe('Named');
  });

  it('takes the settings as text, as `devices add --set tls.enabled=true --set-file tls.ca=…` sends them', async () => {
    await add('tls-text', byIp, { enabled: 'true', allowSelfSigned: 'false', ca: ipCert.cert });
    const r = await text('tls-text', 'From the CLI');
    expect(r.body).toMatchObject({ ok: true });
    const d = await t.api<{ settings: { tls: unknown } }>('GET', '/api/devices/tls-text');
    expect(d.body.settings.tls).toMatchObject({ enabled: true, allowSelfSigned: false });
  });

  it('rejects a CA that is not PEM, naming the setting', async () => {
    await add('tls-badca', byIp, { enabled: true, ca: 'not a certificate' });
    const r = await text('tls-badca', 'x');
    expect(r.body.error?.code).toBe('CISCO_TLS_CA_INVALID');
    expect(r.body.error?.message).toMatch(/settings\.tls\.ca/);
  });
});
