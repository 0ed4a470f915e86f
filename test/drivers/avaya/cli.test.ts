import { describe, expect, it } from 'vitest';
import { startFleet } from '../../../src/sim/avaya/fleet.js';
import { spawnSwitchboard } from '../../helpers/process.js';

describe('switchboard push / sim avaya (real processes)', () => {
  it('push topline --phone uses a built-in content server and the phones show the text', async () => {
    const fleet = await startFleet({ phones: 2, tpsList: ['127.0.0.1'] });
    try {
      const addrs = fleet.phones.map((p) => p.address).join(',');
      const proc = spawnSwitchboard([
        'push',
        'topline',
        'Hello from the CLI',
        '--alert',
        '1',
        '--phone',
        addrs,
        '--listen',
        '127.0.0.1:0',
        '--wait',
        '5000',
      ]);
      expect(await proc.exited).toBe(0);
      for (const p of fleet.phones) {
        expect(proc.stdout.join('\n')).toContain(`${p.address}: ok accepted 200 Push Message Accepted`);
        expect(p.screen.topline?.text).toBe('Hello from the CLI');
      }
      const bad = spawnSwitchboard([
        'push',
        'topline',
        'x',
        '--phone',
        '127.0.0.1:1',
        '--listen',
        '127.0.0.1:0',
        '--wait',
        '100',
      ]);
      expect(await bad.exited).toBe(1);
      expect(bad.stdout.join('\n')).toContain('FAILED unreachable');
    } finally {
      await fleet.stop();
    }
  });

  it('sim avaya starts phones and a state endpoint', async () => {
    const proc = spawnSwitchboard(['sim', 'avaya', '--phones', '3', '--model', 'J179']);
    try {
      const m = await proc.waitFor(/state: (http:\/\/\S+)\/sim\/state/, 20_000);
      const st = (await fetch(`${m[1]}/sim/state`).then((r) => r.json())) as {
        phones: Array<{ model: string; listening: boolean }>;
      };
      expect(st.phones).toHaveLength(3);
      expect(st.phones.every((p) => p.model === 'J179' && p.listening)).toBe(true);
    } finally {
      proc.proc.kill('SIGTERM');
      await proc.exited;
    }
  });
});
