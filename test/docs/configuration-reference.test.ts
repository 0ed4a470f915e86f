import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/process.js';

/**
 * docs/configuration.md is generated from the schemas (scripts/config-reference.ts): it must be what the
 * generator prints now, and hold what the README says it holds (issue 17: it listed no ipoffice keys).
 */
describe('docs/configuration.md', () => {
  it('is up to date with the schemas and lists the settings of every device kind', () => {
    const generated = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts/config-reference.ts')],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const doc = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
    expect(doc, 'regenerate: npx tsx scripts/config-reference.ts > docs/configuration.md').toBe(generated);
    for (const kind of ['ipoffice', 'cisco', 'avaya']) expect(doc).toContain(`### \`${kind}\``);
    expect(doc).toMatch(/\| `user` \| string \| yes \|/);
    expect(doc).toMatch(/\| `password` \| string \| yes \|/);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('the settings of every device kind (`ipoffice`, `cisco`,');
  }, 120_000);
});
