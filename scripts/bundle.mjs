// Bundles the built CLI (dist/cli/main.js and everything it imports, our modules and the dependencies) into
// one file, dist/switchboard.mjs, at the root of the module tree (paths to shipped files are made from
// there: src/version.ts). A cold start then reads and compiles one file instead of ~1,000 small modules:
// issue 16 measured module loading as most of the hub's start-up. Native and optional modules stay outside:
// better-sqlite3 (a native addon), pg and nodemailer (loaded on demand with require, only when configured),
// and the modules that read files beside their own code (below).
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/switchboard.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // pino (its transports run worker files) and the API docs (@fastify/swagger, swagger-ui: files read from
  // their package folder) find files next to their own modules, so they load from node_modules as usual.
  external: [
    'better-sqlite3',
    'pg',
    'pg-native',
    'nodemailer',
    'pino',
    '@fastify/swagger',
    '@fastify/swagger-ui',
  ],
  // Bundled CommonJS dependencies call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __sbCreateRequire } from 'node:module';\nconst require = __sbCreateRequire(import.meta.url);",
  },
  legalComments: 'linked',
  logLevel: 'warning',
});
