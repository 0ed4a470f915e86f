// Copies the non-TypeScript files under src/ (simulator scenarios …) into dist/ after `tsc`, so the built
// package is self-contained.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (!p.endsWith('.ts')) cpSync(p, join('dist', relative('src', p)));
  }
}
walk('src');

// Build stamp: scripts/ensure-built.mjs rebuilds when any source is newer than this.
import { writeFileSync } from 'node:fs';

writeFileSync('dist/.built', `${new Date().toISOString()}\n`);
