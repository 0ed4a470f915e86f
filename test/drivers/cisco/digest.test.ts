import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCiscoSim } from '../../../src/sim/cisco/fleet.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

/**
 * Multiplatform phones with "CISCO XML EXE Auth Mode" Local Credential challenge pushes with HTTP Digest:
 * the driver answers the challenge (never sending the password in clear), reuses the nonce afterwards, and
 * still reaches phones that take Basic.
 */
type Fleet = Awaited<ReturnType<typeof startCiscoSim>>;
let t: TestHub;
let digestPhones: Fleet;
let basicPhones: Fleet;

beforeAll(async () => {
  t = await startTestHub();
  digestPhones = await startCiscoSim({
    phones: 2,
    model: ['8845-mpp', '8845'],
    username: 'admin',
    password: 'pw!',
    digest: true,
  });
  basicPhones = await startCiscoSim({ phones: 1, model: '8845-mpp', username: 'admin', password: 'pw!' });
});

afterAll(async () => {
  await digestPhones?.stop();
  await basicPhones?.stop();
  await t?.close();
});

let names = 0;
async function add(id: string, address: string, settings: Record<string, unknown>) {
  // With its device name given, the hub does not ask the phone for it (learn.ts): that update would reopen
  // the session and forget the scheme it learnt, racing with the push counts these tests assert.
  const r = await t.api('POST', '/api/devices', {
    id,
    kind: 'cisco',
    address,
    settings: {
      deviceName: `SEP${(++names).toString(16).toUpperCase().padStart(12, '0')}`,
      ...settings,
    },
  });
  expect(r.status).toBe(201);
}
const key = (id: string, action = 'key_services') =>
  t.api<{ ok?: boolean; outcome?: string; error?: { code: string } }>(
    'POST',
    `/api/devices/${id}/actions/${action}`,
    {},
  );
const counters = (f: Fleet, i = 0) =>
  (f.phones[i]!.state() as { counters: { execute: number; authFailures: number } }).counters;

describe('Cisco push with HTTP Digest', () => {
  it('a Multiplatform phone (auth auto) is answered with Digest; the nonce is reused afterwards', async () => {
    const p = digestPhones.phones[0]!;
    await add('mpp-digest', p.address, { model: '8845-mpp', username: 'admin', password: 'pw!' });
    const first = await key('mpp-digest');
    expect(first.body).toMatchObject({ ok: true });
    const second = await key('mpp-digest', 'key_nav_dwn');
    expect(second.body).toMatchObject({ ok: true });
    // Two pushes carried out, no credential refused; the first took one challenge, the second none.
    expect(counters(digestPhones)).toMatchObject({ execute: 3, authFailures: 0 });
  });

  it('wrong credentials are refused by the phone and reported as such', async () => {
    const p = digestPhones.phones[0]!;
    await add('mpp-wrong', p.address, { model: '8845-mpp', username: 'admin', password: 'nope' });
    const r = await key('mpp-wrong');
    expect(r.body.ok ?? false).toBe(false);
    expect(JSON.stringify(r.body)).toMatch(/401|credential|auth/i);
    expect(counters(digestPhones).authFailures).toBeGreaterThan(0);
  });

  it('authScheme digest works for any model; basic is refused by a Digest phone', async () => {
    const p = digestPhones.phones[1]!;
    await add('ent-digest', p.address, {
      model: '8845',
      username: 'admin',
      password: 'pw!',
      authScheme: 'digest',
    });
    expect((await key('ent-digest')).body).toMatchObject({ ok: true });
    await add('ent-basic', p.address, {
      model: '8845',
      username: 'admin',
      password: 'pw!',
      authScheme: 'basic',
    });
    expect((await key('ent-basic')).body.ok ?? false).toBe(false);
  });

  it('a Multiplatform phone that takes Basic is still reached with auth auto (and remembered)', async () => {
    const p = basicPhones.phones[0]!;
    await add('mpp-basic', p.address, { model: '8845-mpp', username: 'admin', password: 'pw!' });
    expect((await key('mpp-basic')).body).toMatchObject({ ok: true });
    expect((await key('mpp-basic', 'key_nav_dwn')).body).toMatchObject({ ok: true });
    // First push: probe without credentials (401), then Basic; second push: Basic at once.
    expect(counters(basicPhones)).toMatchObject({ execute: 3 });
  });
});
