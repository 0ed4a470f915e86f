import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoDriver, echoState } from '../helpers/echo-driver.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub({ drivers: [echoDriver()] });
});
afterAll(async () => {
  await hub.close();
});

async function raw(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${hub.url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

describe('health, readiness, metrics and docs', () => {
  it('serves /healthz, /readyz and /metrics without a key', async () => {
    expect((await raw('/healthz')).body).toMatchObject({ status: 'ok' });
    expect((await raw('/readyz')).body).toMatchObject({ status: 'ready', store: 'open' });
    const m = await fetch(`${hub.url}/metrics`).then((r) => r.text());
    expect(m).toMatch(/switchboard_process_cpu_user_seconds_total/);
    expect(m).toMatch(/switchboard_http_request_duration_seconds_bucket\{.*route="\/readyz".*status="200"/);
  });

  it('publishes an OpenAPI document generated from the route schemas', async () => {
    const doc = (await fetch(`${hub.url}/api/docs/json`).then((r) => r.json())) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/devices', '/api/events', '/api/devices/{id}/actions/{actionId}']),
    );
    const page = await fetch(`${hub.url}/api/docs`).then((r) => r.text());
    expect(page).toMatch(/swagger/i);
  });
});

describe('API keys', () => {
  it('refuses a missing key', async () => {
    const r = await raw('/api/devices');
    expect(r.status).toBe(401);
    expect(r.body.error?.code).toBe('APIKEY_MISSING');
  });
  it('refuses a wrong key', async () => {
    const wrong = `${hub.key.slice(0, -4)}AAAA`;
    const r = await raw('/api/devices', { authorization: `Bearer ${wrong}` });
    expect(r.status).toBe(401);
    expect(r.body.error?.code).toBe('APIKEY_INVALID');
    expect((await raw('/api/devices', { authorization: 'Bearer nonsense' })).body.error?.code).toBe(
      'APIKEY_INVALID',
    );
  });
  it('refuses a revoked key, and stores only hashes', async () => {
    const created = await hub.hub.apiKeys.create('temp');
    expect((await raw('/api/devices', { authorization: `Bearer ${created.key}` })).status).toBe(200);
    const stored = hub.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(created.id) as Record<
      string,
      string
    >;
    expect(JSON.stringify(stored)).not.toContain(created.key.split('_').slice(2).join('_'));
    const rev = await hub.api('DELETE', `/api/keys/${created.id}`);
    expect(rev.status).toBe(200);
    const r = await raw('/api/devices', { authorization: `Bearer ${created.key}` });
    expect(r.status).toBe(401);
    expect(r.body.error?.code).toBe('APIKEY_REVOKED');
    const list = await hub.api<{ keys: Array<{ id: string; revokedAt: string | null; hash?: string }> }>(
      'GET',
      '/api/keys',
    );
    const k = list.body.keys.find((x) => x.id === created.id)!;
    expect(k.revokedAt).not.toBeNull();
    expect(k.hash).toBeUndefined();
  });
});

describe('devices', () => {
  it('creates, reads, updates and deletes a device, redacting secrets', async () => {
    const c = await hub.api<Record<string, unknown>>('POST', '/api/devices', {
      id: 'desk-1',
      kind: 'echo',
      address: '127.0.0.1:9',
      groups: ['security'],
      labels: ['lobby'],
      location: { building: 'HQ', floor: '1', room: '101' },
      settings: { greeting: 'hi', password: 'hunter2' },
    });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({
      id: 'desk-1',
      name: 'desk-1',
      groups: ['security'],
      settings: { greeting: 'hi', password: '********' },
    });
    expect((await hub.api('GET', '/api/devices/desk-1')).body).toMatchObject({ location: { room: '101' } });
    const u = await hub.api<Record<string, unknown>>('PATCH', '/api/devices/desk-1', {
      name: 'Lobby desk',
      settings: { speed: 3 },
    });
    expect(u.body).toMatchObject({ name: 'Lobby desk', settings: { greeting: 'hi', speed: 3 } });
    expect(
      (await hub.api<{ devices: unknown[] }>('GET', '/api/devices?group=security')).body.devices.length,
    ).toBe(1);
    expect(
      (await hub.api<{ devices: unknown[] }>('GET', '/api/devices?label=nope')).body.devices.length,
    ).toBe(0);
    const g = await hub.api<{ groups: Array<{ id: string; members: number }> }>('GET', '/api/groups');
    expect(g.body.groups).toContainEqual(expect.objectContaining({ id: 'security', members: 1 }));
    expect((await hub.api('DELETE', '/api/devices/desk-1')).status).toBe(204);
    expect((await hub.api<{ error: { code: string } }>('GET', '/api/devices/desk-1')).body.error.code).toBe(
      'DEVICE_NOT_FOUND',
    );
    const types = (await hub.hub.bus.list({ filter: { types: ['device.*'] } })).map((e) => e.type);
    expect(types).toEqual(['device.added', 'device.updated', 'device.removed']);
  });

  it('explains validation errors, naming the field', async () => {
    const cases: Array<[unknown, string, string]> = [
      [{ kind: 'echo' }, 'DEVICE_INVALID', 'address'],
      [{ kind: 'fax', address: 'x' }, 'DEVICE_UNKNOWN_KIND', 'kind'],
      [{ kind: 'echo', address: 'x', id: 'bad id!' }, 'DEVICE_INVALID', 'id'],
      [{ kind: 'echo', address: 'x', settings: { speed: 11 } }, 'DEVICE_SETTINGS_INVALID', 'settings.speed'],
      [
        { kind: 'echo', address: 'x', settings: { colour: 'red' } },
        'DEVICE_SETTINGS_INVALID',
        'settings.colour',
      ],
      [{ kind: 'echo', address: 'x', location: { room: 5 } }, 'DEVICE_INVALID', 'location.room'],
    ];
    for (const [body, code, field] of cases) {
      const r = await hub.api<{ error: { code: string; field: string; message: string } }>(
        'POST',
        '/api/devices',
        body,
      );
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toMatchObject({ code, field });
    }
    const r = await hub.api<{ error: { message: string } }>('POST', '/api/devices', {
      kind: 'echo',
      address: 'x',
      settings: { speed: 11 },
    });
    expect(r.body.error.message).toBe('settings.speed: 11 is above the maximum 10');
    // Text from forms and the CLI becomes the type the settings schema asks for.
    const coerced = await hub.api<{ settings: Record<string, unknown> }>('POST', '/api/devices', {
      kind: 'echo',
      address: 'x',
      settings: { speed: '4' },
    });
    expect(coerced.body.settings.speed).toBe(4);
    const notNumber = await hub.api<{ error: { message: string } }>('POST', '/api/devices', {
      kind: 'echo',
      address: 'x',
      settings: { speed: 'fast' },
    });
    expect(notNumber.body.error.message).toBe('settings.speed: "fast" is not an integer');
    await hub.api('POST', '/api/devices', { id: 'dup', kind: 'echo', address: 'x' });
    expect(
      (
        await hub.api<{ error: { code: string } }>('POST', '/api/devices', {
          id: 'dup',
          kind: 'echo',
          address: 'x',
        })
      ).body.error.code,
    ).toBe('DEVICE_EXISTS');
  });
});

describe('actions and macros through the driver contract', () => {
  it('validates params against the spec before calling the driver', async () => {
    await hub.api('POST', '/api/devices', { id: 'e1', kind: 'echo', address: 'x' });
    const before = echoState.get('e1')?.commands.length ?? 0;
    const bad = await hub.api<{ error: { code: string; field: string } }>(
      'POST',
      '/api/devices/e1/actions/set_volume',
      { level: 300 },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'ACTION_PARAMS_INVALID', field: 'params.level' });
    expect(echoState.get('e1')?.commands.length ?? 0).toBe(before);
    const ok = await hub.api<{ ok: boolean; data: { command: string } }>(
      'POST',
      '/api/devices/e1/actions/set_volume',
      { level: 30 },
    );
    expect(ok.body).toMatchObject({ ok: true, data: { command: 'VOL:30' } });
    const unknown = await hub.api<{ error: { code: string } }>('POST', '/api/devices/e1/actions/explode', {});
    expect(unknown.body.error.code).toBe('ACTION_NOT_FOUND');
    const refused = await hub.api<{ ok: boolean; outcome: string }>(
      'POST',
      '/api/devices/e1/actions/fail',
      {},
    );
    expect(refused.body).toMatchObject({ ok: false, outcome: 'refused' });
    await hub.api('POST', '/api/devices/e1/actions/say', { text: 'hello' });
    expect((await hub.api('GET', '/api/devices/e1/variables')).body).toEqual({
      variables: { said: ['hello'] },
    });
  });

  it('runs a macro with poll … until to completion', async () => {
    const r = await hub.api<{ ok: boolean; steps: Array<{ verb: string; ok: boolean; attempts?: number }> }>(
      'POST',
      '/api/devices/e1/macros/run_job',
      {},
    );
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(true);
    expect(r.body.steps.map((s) => s.verb)).toEqual(['action', 'wait_for', 'poll']);
    expect(r.body.steps[2]!.attempts).toBe(3);
    const g = await hub.api<{ ok: boolean }>('POST', '/api/devices/e1/macros/greet', { who: 'desk' });
    expect(g.body.ok).toBe(true);
    expect(echoState.get('e1')!.commands).toContain('SAY:hello desk');
  });

  it('publishes each kind’s spec with a JSON schema per action', async () => {
    const s = await hub.api<{ actions: Array<{ id: string; paramsSchema: { required: string[] } }> }>(
      'GET',
      '/api/kinds/echo/spec',
    );
    expect(s.body.actions.find((a) => a.id === 'set_volume')!.paramsSchema.required).toEqual(['level']);
  });
});

describe('log redaction', () => {
  it('masks secret query values and acknowledgement tokens in logged URLs', async () => {
    const { redactUrl } = await import('../../src/server/logger.js');
    expect(redactUrl('/AC1/q?session=abc&timeout=5s')).toBe('/AC1/q?session=[REDACTED]&timeout=5s');
    expect(redactUrl('/alerts/ack/d_123/tok_secret?by=Joe')).toBe('/alerts/ack/d_123/[REDACTED]?by=Joe');
    expect(redactUrl('/api/devices?group=security')).toBe('/api/devices?group=security');
  });

  it('compares parameter names and path segments decoded, as the router does', async () => {
    const { redactUrl } = await import('../../src/server/logger.js');
    expect(redactUrl('/AC1/q?sess%69on=abc&timeout=5s')).toBe('/AC1/q?sess%69on=[REDACTED]&timeout=5s');
    expect(redactUrl('/AC1/q?SESSION=abc')).toBe('/AC1/q?SESSION=[REDACTED]');
    expect(redactUrl('/AC1/q?%73%65%73%73%69%6F%6E=abc&x=%zz')).toBe(
      '/AC1/q?%73%65%73%73%69%6F%6E=[REDACTED]&x=%zz',
    );
    expect(redactUrl('/x?access+token=1&access_token=2&Auth%54oken=3')).toBe(
      '/x?access+token=1&access_token=[REDACTED]&Auth%54oken=[REDACTED]',
    );
    expect(redactUrl('/x?key')).toBe('/x?key=[REDACTED]');
    expect(redactUrl('/alerts/%61ck/d_1/tok_secret')).toBe('/alerts/%61ck/d_1/[REDACTED]');
    expect(redactUrl('//alerts/ack/d_1/tok_secret#frag')).toBe('//alerts/ack/d_1/[REDACTED]');
    expect(redactUrl('/x?token=%E0%A4%A')).toBe('/x?token=[REDACTED]');
  });

  it('never logs a secret value, however its name is escaped (property)', async () => {
    const fc = await import('fast-check');
    const { redactUrl } = await import('../../src/server/logger.js');
    const names = ['session', 'token', 'access_token', 'key', 'password', 'AuthToken', 'sig', 'signature'];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        fc.stringMatching(/^[A-Za-z0-9]{12,20}$/),
        (name, escaped, upper, secret) => {
          const spelled = [...name]
            .map((ch, i) => {
              const c = upper[i] ? ch.toUpperCase() : ch;
              return escaped[i] ? `%${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c;
            })
            .join('');
          const out = redactUrl(`/AC1/q?timeout=5s&${spelled}=SECRET${secret}`);
          return !out.includes(`SECRET${secret}`);
        },
      ),
    );
  });
});
