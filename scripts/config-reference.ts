// Prints the configuration reference as Markdown: every config key (its environment variable, default and
// meaning) and the device settings of every device kind, all generated from the schemas:
// `npx tsx scripts/config-reference.ts > docs/configuration.md`.
import { configKeys, defaultConfig } from '../src/config/load.js';
import { MODULES } from '../src/server/modules.js';

type Json = {
  default?: unknown;
  description?: string;
  type?: string;
  anyOf?: Json[];
  const?: unknown;
  properties?: Record<string, Json>;
  required?: string[];
  items?: Json;
};

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const allowed = (s: Json) =>
  s.anyOf?.every((v) => 'const' in v)
    ? ` (one of ${s.anyOf.map((v) => `\`${String(v.const)}\``).join(', ')})`
    : '';
const def = (s: Json) => (s.default === undefined ? '—' : `\`${JSON.stringify(s.default)}\``);

const rows = configKeys().map((k) => {
  const s = k.schema as Json;
  return `| \`${k.path}\` | \`${k.env}\` | ${def(s)} | ${cell(s.description ?? '')}${allowed(s)} |`;
});

/** Device settings as dotted keys (nested objects flattened), each with required, default and meaning. */
function settingsRows(schema: Json, prefix = '', parentRequired = true): string[] {
  const out: string[] = [];
  for (const [k, s] of Object.entries(schema.properties ?? {})) {
    const key = `${prefix}${k}`;
    const required = parentRequired && (schema.required ?? []).includes(k);
    if (s.type === 'object' && s.properties) {
      out.push(...settingsRows(s, `${key}.`, required));
      continue;
    }
    const type =
      s.type ?? (s.anyOf ? s.anyOf.map((v) => v.type ?? JSON.stringify(v.const)).join(' or ') : '');
    out.push(
      `| \`${key}\` | ${type}${s.type === 'array' && s.items?.type ? ` of ${s.items.type}` : ''} | ${required ? 'yes' : ''} | ${def(s)} | ${cell(s.description ?? '')}${allowed(s)} |`,
    );
  }
  return out;
}

const config = defaultConfig();
const kinds = MODULES.flatMap((m) => m.drivers?.({ config }) ?? []).sort((a, b) =>
  a.kind.localeCompare(b.kind),
);
const deviceSections = kinds.flatMap((d) => [
  `### \`${d.kind}\``,
  '',
  '| setting | type | required | default | meaning |',
  '|---|---|---|---|---|',
  ...settingsRows(d.configSchema as Json),
  '',
]);

process.stdout.write(
  [
    '# Configuration reference',
    '',
    'Generated from the schemas (`npx tsx scripts/config-reference.ts > docs/configuration.md`). Keys are YAML',
    'paths in `switchboard.yaml`; each can be overridden by the environment variable next to it. A key',
    '`xyzFile` next to a secret `xyz` reads the secret from that file.',
    '',
    '| key | environment | default | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
    '## Device settings',
    '',
    'IP Office systems and phones are devices (`POST /api/devices`, `switchboard devices add --set key=value`).',
    'Their `settings` per kind; dotted keys are nested objects (`tls.enabled` is `{ "tls": { "enabled": … } }`).',
    'Secrets (passwords, keys) are never shown through the API and are encrypted at rest.',
    '',
    ...deviceSections,
  ].join('\n'),
);
