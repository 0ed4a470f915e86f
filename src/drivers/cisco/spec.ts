import { fileURLToPath } from 'node:url';
import { type ControlSpec, loadSpecFile } from '../../core/spec.js';
import { PACKAGE_ROOT } from '../../version.js';

/** specs/cisco.yaml, relative to the package root (works from src/ and dist/). */
export const CISCO_SPEC_PATH = fileURLToPath(new URL('specs/cisco.yaml', PACKAGE_ROOT));

let cached: ControlSpec | undefined;
export function ciscoSpec(): ControlSpec {
  cached ??= loadSpecFile(CISCO_SPEC_PATH);
  return cached;
}
