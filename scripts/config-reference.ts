// Prints the configuration reference (every key, its environment variable, default and meaning) as
// Markdown: `npx tsx scripts/config-reference.ts > docs/configuration.md`.
import { configKeys } from '../src/config/load.js';

const rows = configKeys().map((k) => {
  const s = k.schema as {
    default?: unknown;
    description?: string;
    type?: string;
    anyOf?: Array<{ const?: unknown }>;
  };
  const def = s.default === undefined ? '—' : `\`${JSON.stringify(s.default)}\``;
  const allowed = s.anyOf?.every((v) => 'const' in v)
    ? ` (one of ${s.anyOf.map((v) => `\`${String(v.const)}\``).join(', ')})`
    : '';
  return `| \`${k.path}\` | \`${k.env}\` | ${def} | ${(s.description ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ')}${allowed} |`;
});
process.stdout.write(
  [
    '# Configuration reference',
    '',
    'Generated from the schema (`npx tsx scripts/config-reference.ts > docs/configuration.md`). Keys are YAML',
    'paths in `switchboard.yaml`; each can be overridden by the environment variable next to it. A key',
    '`xyzFile` next to a secret `xyz` reads the secret from that file.',
    '',
    '| key | environment | default | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
