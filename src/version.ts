import { readFileSync } from 'node:fs';

/** Package version, read from package.json (one level above src/ and dist/). */
export const VERSION: string = (() => {
  try {
    return (
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    return '0.0.0';
  }
})();

/** Package root directory (where specs/, console/dist and package.json live). */
export const PACKAGE_ROOT = new URL('../', import.meta.url);
