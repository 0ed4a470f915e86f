import { readFileSync } from 'node:fs';

/**
 * The root of the module tree (`src/` with tsx, `dist/` built, and `dist/` again for the bundle
 * `dist/switchboard.mjs`): this file sits at it, so every path to a file shipped with the package is made
 * from here, never from a deeper module's own location (which a bundle does not keep).
 */
export const TREE_ROOT = new URL('./', import.meta.url);

/** Package root directory (where specs/, console/dist and package.json live). */
export const PACKAGE_ROOT = new URL('../', TREE_ROOT);

/** Package version, read from package.json (one level above src/ and dist/). */
export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0.0.0';
  }
})();
