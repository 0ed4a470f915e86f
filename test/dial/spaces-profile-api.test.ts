import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { runSwitchboard } from '../helpers/process.js';

/**
 * Seed 002 Spaces Calling profile from the configured IP Office devices: API, validator route and the
 * `switchboard settings spaces-profile` command (a real process against the running hub).
 */
type Json = Record<string, unknown>;
let hub: TestHub;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-spaces-'));
  hub = await startTestHub();
  // Port 1 on loopback: the DevLink3 link just fails to connect; the profile needs only the settings.
  for (const [id, name, spaces] of [
    ['ipo-west', 'West', { address: 'west.example.com' }],
    ['ipo-east', 'East office', { name: 'East', address: 'east.example.com' }],
  ] as const) {
    const r = await hub.api('POST', '/api/devices', {
      id,
      name,
      kind: 'ipoffice',
      address: '127.0.0.1:1',
      settings: { user: 'dl3', password: 'pw', spaces },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
}, 60_000);
afterAll(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET /api/settings/spaces-profile', () => {
  it("answers the seed's multiple-systems example from two IP Office devices", async () => {
    const r = await hub.api<{ json: string; devices: string[]; validation: Json }>(
      'GET',
      '/api/settings/spaces-profile?devices=ipo-west,ipo-east',
    );
    expect(r.status).toBe(200);
    expect(r.body.json).toBe(
      '{\n  "IP_Office_Server_Profile":\n  [{\n    "Name": "West",\n    "Address": "west.example.com",\n    "AccountsToken": true\n  },\n  {\n    "Name": "East",\n    "Address": "east.example.com",\n    "AccountsToken": true\n  }]\n}\n',
    );
    expect(r.body.validation).toEqual({ ok: true, problems: [], profiles: 2 });
  });
  it('a device name over 14 characters is reported in seed terms, never cut; options are added unquoted/quoted', async () => {
    await hub.api('PATCH', '/api/devices/ipo-west', {
      name: 'West Campus Main',
      settings: { user: 'dl3', password: 'pw' },
    });
    const r = await hub.api<{ json: string; validation: { ok: boolean; problems: Json[] } }>(
      'GET',
      '/api/settings/spaces-profile?devices=ipo-west&accountsToken=false&stunHost=asbce.example.com&stunPort=3478&autoFailover=true',
    );
    expect(r.body.json).toContain('"Name": "West Campus Main"');
    expect(r.body.json).toContain(
      '"AccountsToken": false,\n    "STUNHost": "asbce.example.com",\n    "STUNPort": "3478",\n    "AutoFailover": true',
    );
    expect(r.body.validation.ok).toBe(false);
    expect(r.body.validation.problems[0]).toMatchObject({
      code: 'SPACES_NAME_INVALID',
      path: 'IP_Office_Server_Profile[0].Name',
    });
    const none = await hub.api<{ validation: { ok: boolean; problems: Json[] } }>(
      'GET',
      '/api/settings/spaces-profile?devices=nope',
    );
    expect(none.body.validation.problems[0]).toMatchObject({ code: 'SPACES_NO_SYSTEMS' });
  });
  it('attacker first: bad query values are 400; the validator takes at most 64 KiB; no key is 401', async () => {
    expect((await hub.api('GET', '/api/settings/spaces-profile?stunHost=a:b')).status).toBe(400);
    expect((await hub.api('GET', '/api/settings/spaces-profile?devices=%3Cx%3E')).status).toBe(400);
    expect(
      (await hub.api('POST', '/api/settings/spaces-profile/validate', { text: 'x'.repeat(65_537) })).status,
    ).toBe(400);
    expect((await hub.api('POST', '/api/settings/spaces-profile/validate', { text: { a: 1 } })).status).toBe(
      400,
    );
    const v = await hub.api<Json>('POST', '/api/settings/spaces-profile/validate', {
      text: '{"IP_Office_Server_Profile": [{"Name": "A", "Address": "a.example.com", "AccountsToken": "true"}]}',
    });
    expect(v.body).toMatchObject({ ok: false, problems: [{ code: 'SPACES_BOOLEAN_QUOTED' }] });
    expect((await fetch(`${hub.url}/api/settings/spaces-profile`)).status).toBe(401);
  });
});

describe('switchboard settings spaces-profile', () => {
  it('prints the profile from the hub, and validates a file offline with the line and the seed rule', async () => {
    const out = await runSwitchboard([
      'settings',
      'spaces-profile',
      '--device',
      'ipo-east',
      '--url',
      hub.url,
      '--key',
      hub.key,
    ]);
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      IP_Office_Server_Profile: [{ Name: 'East', Address: 'east.example.com', AccountsToken: true }],
    });
    const f = join(dir, 'profile.json');
    writeFileSync(
      f,
      '{\n  "IP_Office_Server_Profile":\n  [{\n    "Name": "East",\n    "Address": "east.example.com",\n    "AccountsToken": true,\n  }]\n}\n',
    );
    const bad = await runSwitchboard(['settings', 'spaces-profile', '--validate', f]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${f}:6: error: a comma after the last pair`);
    expect(bad.stderr).toContain('[SPACES_TRAILING_COMMA]');
  }, 60_000);
});
