import { describe, expect, it } from 'vitest';
import { CISCO_SIM_FIRST_EXTENSION } from '../../src/sim/cisco/fleet.js';
import { spawnSwitchboard } from '../helpers/process.js';

/** Issue 17: `sim cisco` numbered phones from 2000 and collided with `sim avaya` (2001 …). */
describe('simulated phone extensions', () => {
  it('sim cisco starts at 3001 (the Avaya simulator starts at 2001) and takes --first-extension', async () => {
    expect(CISCO_SIM_FIRST_EXTENSION).toBe(3001);
    const p = spawnSwitchboard(['sim', 'cisco', '-n', '2', '--first-extension', '4101']);
    try {
      await p.waitFor(/2 simulated Cisco phones running/, 60_000);
      const out = p.stdout.join('\n');
      expect(out).toMatch(/ 4101 {2}http:/);
      expect(out).toMatch(/ 4102 {2}http:/);
    } finally {
      p.proc.kill('SIGTERM');
      await p.exited;
    }
    const bad = spawnSwitchboard(['sim', 'cisco', '--first-extension', 'abc']);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr.join('\n')).toContain('--first-extension: "abc" is not a number');
  }, 120_000);
});
