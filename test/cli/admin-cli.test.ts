import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devicePatch } from '../../src/cli/devices-set.js';
import { readRecords, table } from '../../src/cli/records.js';
import type { Device } from '../../src/core/devices.js';
import { echoDriver } from '../helpers/echo-driver.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { spawnSwitchboard } from '../helpers/process.js';
import { phoneLogs, testphoneDriver } from '../helpers/testphone-driver.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 17, CLI gaps: `devices list` with a header, `devices set`, `rules|templates|groups
 * list|show|put|rm` from YAML files, `incidents show|ack`, `broadcast send --all` (phones only), all run as
 * the real `switchboard` command against a real hub.
 */

let hub: TestHub;
let dir: string;
const run = async (args: string[]) => {
  const p = spawnSwitchboard(args, { SWITCHBOARD_URL: hub.url, SWITCHBOARD_API_KEY: hub.key });
  const code = await p.exited;
  return { code, out: p.stdout.join('\n'), err: p.stderr.join('\n') };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-admin-cli-'));
  hub = await startTestHub({ drivers: [echoDriver(), testphoneDriver()] });
  for (const id of ['desk1', 'desk2'])
    await hub.api('POST', '/api/devices', {
      id,
      kind: 'testphone',
      address: `127.0.0.1:${id === 'desk1' ? 9701 : 9702}`,
      groups: ['security'],
      location: { building: 'Main', floor: '1', room: '101' },
    });
  // A device that cannot show alerts (as a PBX cannot).
  await hub.api('POST', '/api/devices', { id: 'pbx', kind: 'echo', address: 'mem:pbx' });
});
afterAll(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
  phoneLogs.delete('desk1');
  phoneLogs.delete('desk2');
});

describe('pure helpers', () => {
  it('table aligns columns under a header', () => {
    expect(
      table(
        ['ID', 'KIND'],
        [
          ['a', 'cisco'],
          ['long-id', 'x'],
        ],
      ),
    ).toBe('ID       KIND\na        cisco\nlong-id  x\n');
  });

  it('readRecords takes one record, a list or several documents, and names what is wrong', () => {
    expect(readRecords('f', 'id: a\nname: A\n')).toEqual([{ id: 'a', body: { name: 'A' } }]);
    expect(readRecords('f', '- id: a\n- id: b\n').map((r) => r.id)).toEqual(['a', 'b']);
    expect(readRecords('f', 'id: a\n---\nid: b\n').map((r) => r.id)).toEqual(['a', 'b']);
    expect(readRecords('f', 'name: A\n', 'x')).toEqual([{ id: 'x', body: { name: 'A' } }]);
    expect(() => readRecords('f.yaml', 'name: A\n')).toThrow('f.yaml: record 1 has no id');
    expect(() => readRecords('f.yaml', '')).toThrow('no record');
    expect(() => readRecords('f.yaml', '- 1\n')).toThrow('record 1 is not a mapping');
    expect(() => readRecords('f.yaml', 'a: [\n')).toThrow(/^f.yaml: /);
  });

  it('devicePatch merges location fields and edits group lists', () => {
    const cur = {
      groups: ['a', 'b'],
      labels: [],
      location: { building: 'Main', room: '1' },
    } as unknown as Device;
    expect(devicePatch(cur, { addGroup: ['c'], removeGroup: ['a'], room: '2' })).toEqual({
      groups: ['b', 'c'],
      location: { building: 'Main', room: '2' },
    });
    expect(devicePatch(cur, { group: ['x'], location: ['building=', 'floor=3'] })).toEqual({
      groups: ['x'],
      location: { room: '1', floor: '3' },
    });
    expect(() => devicePatch(cur, {})).toThrow('nothing to change');
    expect(() => devicePatch(cur, { location: ['wing=east'] })).toThrow('--location expects');
  });
});

describe('switchboard admin commands against a real hub', () => {
  it('devices list prints a header; devices set changes groups and merges the location', async () => {
    const list = await run(['devices', 'list']);
    expect(list.code, list.err).toBe(0);
    expect(list.out.split('\n')[0]).toMatch(/^ID\s+KIND\s+ADDRESS\s+GROUPS\s+LOCATION$/);
    expect(list.out).toMatch(/desk1\s+testphone\s+127\.0\.0\.1:9701\s+security\s+Main \/ 1 \/ 101/);

    const set = await run(['devices', 'set', 'desk1', '--add-group', 'managers', '--room', '102']);
    expect(set.code, set.err).toBe(0);
    const d = (await hub.api<Device>('GET', '/api/devices/desk1')).body;
    expect(d.groups).toEqual(['security', 'managers']);
    expect(d.location).toEqual({ building: 'Main', floor: '1', room: '102' });

    const bad = await run(['devices', 'set', 'nope', '--room', '1']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('DEVICE_NOT_FOUND');
  }, 60_000);

  it('templates, rules and groups: put from YAML, list, show (round trip), rm', async () => {
    writeFileSync(
      join(dir, 'templates.yaml'),
      'id: lockdown\ntitle: "Lockdown: {{building}}"\ntext: Lockdown in {{building}}.\npriority: emergency\n---\nid: drill\ntitle: Drill\ntext: A drill.\n',
    );
    writeFileSync(
      join(dir, 'rule.yaml'),
      'id: hook-911\nevent: call.emergency\nactions:\n  - type: webhook\n    url: http://127.0.0.1:9/hook\n',
    );
    writeFileSync(join(dir, 'group.yaml'), 'name: Night shift\ndescription: after 6 pm\n');
    writeFileSync(join(dir, 'bad-rule.yaml'), 'id: bad\nevent: no.such.event\nactions: []\n');

    const put = await run(['templates', 'put', join(dir, 'templates.yaml')]);
    expect(put.code, put.err).toBe(0);
    expect(put.out).toContain('saved template lockdown');
    expect((await run(['rules', 'put', join(dir, 'rule.yaml')])).code).toBe(0);
    expect((await run(['groups', 'put', join(dir, 'group.yaml'), '--id', 'night'])).code).toBe(0);

    const tl = await run(['templates', 'list']);
    expect(tl.out.split('\n')[0]).toMatch(/^ID\s+PRIORITY\s+TITLE$/);
    expect(tl.out).toMatch(/lockdown\s+emergency\s+Lockdown: \{\{building\}\}/);
    const rl = await run(['rules', 'list']);
    expect(rl.out).toMatch(/hook-911\s+call\.emergency\s+yes\s+webhook\s+api/);
    const gl = await run(['groups', 'list']);
    expect(gl.out).toMatch(/night\s+0\s+Night shift/);
    expect(gl.out).toMatch(/security\s+2\s+/);

    // show prints YAML that put takes back unchanged.
    const shown = await run(['templates', 'show', 'lockdown']);
    expect(shown.out).toContain('priority: emergency');
    writeFileSync(join(dir, 'shown.yaml'), shown.out.replace('emergency', 'urgent'));
    expect((await run(['templates', 'put', join(dir, 'shown.yaml')])).code).toBe(0);
    expect((await hub.api<{ priority: string }>('GET', '/api/templates/lockdown')).body.priority).toBe(
      'urgent',
    );

    const bad = await run(['rules', 'put', join(dir, 'bad-rule.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('RULE_');

    expect((await run(['templates', 'rm', 'drill'])).out).toContain('removed template drill');
    expect((await run(['rules', 'rm', 'hook-911'])).code).toBe(0);
    expect((await run(['groups', 'rm', 'night'])).code).toBe(0);
    expect((await hub.api('GET', '/api/templates/drill')).status).toBe(404);
    expect((await hub.api('GET', '/api/rules/hook-911')).status).toBe(404);
    const gone = await run(['templates', 'show', 'drill']);
    expect(gone.code).toBe(1);
  }, 120_000);

  it('incidents show and ack', async () => {
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: { callKey: 'ipo:cli-1', callerExtension: '214', callerName: 'Room 214', dialled: '911' },
    });
    let id = '';
    await waitFor(async () => {
      const l = await hub.api<{ incidents: Array<{ id: string; callKey: string }> }>('GET', '/api/incidents');
      id = l.body.incidents.find((i) => i.callKey === 'ipo:cli-1')?.id ?? '';
      return id !== '';
    });
    const show = await run(['incidents', 'show', id]);
    expect(show.code, show.err).toBe(0);
    expect(show.out).toContain(id);
    expect(show.out).toMatch(/caller\s+ext 214 Room 214/);
    expect(show.out).toMatch(/acked\s+not yet/);
    const ack = await run(['incidents', 'ack', id, '--note', 'officer sent']);
    expect(ack.code, ack.err).toBe(0);
    expect(ack.out).toContain(`acknowledged ${id} by test`);
    const again = await run(['incidents', 'show', id]);
    expect(again.out).toMatch(/acked\s+\S+ by test: officer sent/);
    expect((await run(['incidents', 'show', 'nope'])).code).toBe(1);
  }, 60_000);

  it('broadcast send --all targets the phones, not a device that cannot show alerts', async () => {
    const r = await run(['broadcast', 'send', '--all', '--text', 'All phones', '--json']);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as { deliveries: Array<{ deviceId: string; reason: string | null }> };
    expect(s.deliveries.map((d) => d.deviceId).sort()).toEqual(['desk1', 'desk2']);
    // Named explicitly it is still a target (and reported as unable to show alerts).
    const named = await hub.api<{ total: number }>('POST', '/api/broadcasts', {
      title: 't',
      text: 'x',
      targets: { devices: ['pbx'] },
    });
    expect(named.status).toBe(201);
    expect(named.body.total).toBe(1);
  }, 60_000);
});
