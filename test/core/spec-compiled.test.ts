import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CompiledSpec, compileSpec, loadSpecFile, parseSpec } from '../../src/core/spec.js';

/**
 * The build compiles specs/*.yaml into dist/specs/<kind>.json (scripts/compile-specs.mjs: JSON.stringify of
 * compileSpec). The compiled form must be the parsed YAML exactly, and a compiled file made from other YAML
 * text must never be used.
 */
const SPECS = join(process.cwd(), 'specs');
const names = readdirSync(SPECS).filter((f) => f.endsWith('.yaml'));
const dir = mkdtempSync(join(tmpdir(), 'sb-spec-compiled-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the build writes for one spec. */
function writeCompiled(name: string, mutate?: (c: CompiledSpec) => void): void {
  const file = join(SPECS, name);
  const compiled = compileSpec(readFileSync(file, 'utf8'), file);
  mutate?.(compiled);
  writeFileSync(join(dir, name.replace(/\.yaml$/, '.json')), `${JSON.stringify(compiled)}\n`);
}

describe('compiled control specs', () => {
  it('finds the driver specs', () => {
    expect(names).toEqual(expect.arrayContaining(['avaya.yaml', 'cisco.yaml', 'ipoffice.yaml']));
  });

  it.each(names)('%s: the compiled spec loaded from JSON equals the parsed YAML', (name) => {
    const file = join(SPECS, name);
    writeCompiled(name);
    expect(loadSpecFile(file, dir)).toStrictEqual(parseSpec(readFileSync(file, 'utf8'), file));
  });

  it('uses the compiled file while the YAML is unchanged (no YAML parsing)', () => {
    writeCompiled('avaya.yaml', (c) => {
      c.spec.label = 'from the compiled file';
    });
    expect(loadSpecFile(join(SPECS, 'avaya.yaml'), dir).label).toBe('from the compiled file');
  });

  it('ignores a compiled file made from other YAML text (stale build) and parses the YAML', () => {
    writeCompiled('avaya.yaml', (c) => {
      c.spec.label = 'stale';
      c.sha256 = '0'.repeat(64);
    });
    const spec = loadSpecFile(join(SPECS, 'avaya.yaml'), dir);
    expect(spec.label).not.toBe('stale');
    expect(spec).toStrictEqual(loadSpecFile(join(SPECS, 'avaya.yaml'), join(dir, 'none')));
  });

  it('ignores a compiled file that is not valid JSON or of another format', () => {
    writeFileSync(join(dir, 'ipoffice.json'), '{not json');
    const file = join(SPECS, 'ipoffice.yaml');
    const parsed = parseSpec(readFileSync(file, 'utf8'), file);
    expect(loadSpecFile(file, dir)).toStrictEqual(parsed);
    writeCompiled('ipoffice.yaml', (c) => {
      (c as { format: number }).format = 2;
      c.spec.label = 'future';
    });
    expect(loadSpecFile(file, dir)).toStrictEqual(parsed);
  });
});
