// Builds dist/ when it is missing or older than the sources, so `npm start` works on a fresh clone.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const stamp = 'dist/.built';
if (
  !existsSync(stamp) ||
  !existsSync('dist/switchboard.mjs') ||
  Math.max(newest('src'), newest('specs')) > statSync(stamp).mtimeMs
) {
  console.error('switchboard: building (npm run build)…');
  execSync('npm run build', { stdio: 'inherit' });
}
if (existsSync('console/package.json') || existsSync('console/index.html')) {
  if (
    !existsSync('console/dist/index.html') ||
    newest('console/src') > statSync('console/dist/index.html').mtimeMs
  ) {
    console.error('switchboard: building the web console…');
    execSync('npm run build:console', { stdio: 'inherit' });
  }
}
