// `npm run bench -- <name> [args…]`: runs bench/<name>.ts (through tsx) and prints its figures.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
const available = existsSync('bench')
  ? readdirSync('bench')
      .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
      .map((f) => f.slice(0, -3))
  : [];
if (!name || name === '--help' || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [args…]\navailable: ${available.join(', ') || 'none'}`);
  process.exit(name && name !== '--help' ? 2 : 0);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
