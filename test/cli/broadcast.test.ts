import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressLine } from '../../src/cli/broadcast.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { spawnSwitchboard } from '../helpers/process.js';
import { testphoneDriver } from '../helpers/testphone-driver.js';

describe('switchboard broadcast CLI', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ drivers: [testphoneDriver()] });
    await hub.api('POST', '/api/devices', {
      id: 'a',
      kind: 'testphone',
      address: '127.0.0.1:1',
      groups: ['security'],
    });
    await hub.api('POST', '/api/devices', {
      id: 'b',
      kind: 'testphone',
      address: '127.0.0.1:2',
      groups: ['security'],
      settings: { behavior: 'refuse' },
    });
  });
  afterAll(async () => hub?.close());

  it('progress bar', () => {
    expect(
      progressLine(
        {
          queued: 5,
          sent: 0,
          accepted: 2,
          displayed: 2,
          acknowledged: 0,
          failed: 1,
          cancelled: 0,
          recalled: 0,
        },
        10,
        1500,
        10,
      ),
    ).toBe('[#####-----] 5/10  ok 4  failed 1  acked 0  1.5s');
  });

  it('send waits for delivery and prints the report; list and status show it', async () => {
    const env = { SWITCHBOARD_URL: hub.url, SWITCHBOARD_API_KEY: hub.key };
    const p = spawnSwitchboard(
      ['broadcast', 'send', '--group', 'security', '--title', 'Drill', '--text', 'Fire drill'],
      env,
    );
    const code = await p.exited;
    expect(code, p.stderr.join('\n')).toBe(3); // one phone refused: non-zero exit
    const out = p.stdout.join('\n');
    expect(out).toMatch(/bc_\S+ {2}done {2}normal {2}"Drill"/);
    expect(out).toContain('displayed 1, failed 1');
    expect(out).toContain('failures: forbidden 1');
    const id = /(bc_\S+)/.exec(out)![1]!;
    const l = spawnSwitchboard(['broadcast', 'list'], env);
    expect(await l.exited).toBe(0);
    expect(l.stdout.join('\n')).toContain(id);
    const s = spawnSwitchboard(['broadcast', 'status', id], env);
    expect(await s.exited).toBe(0);
    expect(s.stdout.join('\n')).toMatch(/failed b\s+forbidden/);
    // retry: phone b still refuses (exit 3); recall clears a (b never showed it); cancel once finished: 409.
    const rt = spawnSwitchboard(['broadcast', 'retry', id], env);
    expect(await rt.exited, rt.stderr.join('\n')).toBe(3);
    expect(rt.stdout.join('\n')).toContain('displayed 1, failed 1');
    const rc = spawnSwitchboard(['broadcast', 'recall', id], env);
    expect(await rc.exited, rc.stderr.join('\n')).toBe(0);
    expect(rc.stdout.join('\n')).toContain(`${id} recalled: 1 of 1 phones cleared`);
    const cc = spawnSwitchboard(['broadcast', 'cancel', id], env);
    expect(await cc.exited).toBe(1);
    expect(cc.stderr.join('\n')).toContain('has already finished (recalled)');
    const bad = spawnSwitchboard(['broadcast', 'send', '--text', 'x', '--device', 'nope'], env);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr.join('\n')).toContain('targets.devices.0: no device "nope"');
  }, 180_000);

  it('schedules: add, list, pause, delete; bad rules are refused with the field named', async () => {
    const env = { SWITCHBOARD_URL: hub.url, SWITCHBOARD_API_KEY: hub.key };
    const add = spawnSwitchboard(
      [
        'schedules',
        'add',
        '--id',
        'bells',
        '--name',
        'Bells',
        '--cron',
        '0 8 * * mon-fri',
        '--tz',
        'America/Chicago',
        '--group',
        'security',
        '--text',
        'Bell',
      ],
      env,
    );
    expect(await add.exited, add.stderr.join('\n')).toBe(0);
    expect(add.stdout.join('\n')).toMatch(
      /^bells {2}cron "0 8 \* \* mon-fri" America\/Chicago {2}next \S+Z {2}runs 0 {2}Bells/,
    );
    const bad = spawnSwitchboard(['schedules', 'add', '--cron', '0 25 * * *', '--all', '--text', 'x'], env);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr.join('\n')).toContain('hour: "25" is out of range 0-23 [CRON_INVALID]');
    const pause = spawnSwitchboard(['schedules', 'pause', 'bells'], env);
    expect(await pause.exited, pause.stderr.join('\n')).toBe(0);
    expect(pause.stdout.join('\n')).toContain('bells  cron "0 8 * * mon-fri" America/Chicago  paused');
    const list = spawnSwitchboard(['schedules', 'list', '--json'], env);
    expect(await list.exited).toBe(0);
    expect(JSON.parse(list.stdout.join('\n'))).toEqual([
      expect.objectContaining({ id: 'bells', paused: true }),
    ]);
    const del = spawnSwitchboard(['schedules', 'delete', 'bells'], env);
    expect(await del.exited, del.stderr.join('\n')).toBe(0);
    expect(del.stdout.join('\n')).toContain('bells deleted');
    expect((await hub.api('GET', '/api/schedules/bells')).status).toBe(404);
  }, 180_000);
});
