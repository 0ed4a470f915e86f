// Compiles the control specs (specs/*.yaml) into dist/specs/<kind>.json after `tsc`: parsed and validated
// once here, so that the hub loads them at start-up with JSON.parse instead of the YAML parser and the
// schema check. Each file carries the SHA-256 of its YAML; the hub falls back to the YAML when they differ
// (src/core/spec.ts, loadSpecFile).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSpec } from '../dist/core/spec.js';

mkdirSync('dist/specs', { recursive: true });
for (const name of readdirSync('specs').filter((f) => f.endsWith('.yaml'))) {
  const file = join('specs', name);
  const compiled = compileSpec(readFileSync(file, 'utf8'), file);
  writeFileSync(join('dist/specs', name.replace(/\.yaml$/, '.json')), `${JSON.stringify(compiled)}\n`);
}
