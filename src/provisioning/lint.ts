import type { SettingsEncoding } from './encoding.js';
import {
  type EvalInputs,
  type EvalOptions,
  evaluateSettings,
  type FileResolver,
  PHONE_VARIABLES,
  REPEATABLE_PARAMETERS,
} from './evaluate.js';
import { isKnownParameter, nearestParameter } from './parameters.js';
import {
  type Diagnostic,
  type ParsedFile,
  type ParseLimits,
  parseSettings,
  type Statement,
} from './syntax.js';

/**
 * Static checks of a settings file: everything the parser reports (unterminated or curly quotes,
 * malformed statements, bad tags) plus unknown statements, unreachable tags and statements, GOTO to a
 * missing tag (or to a tag that only appears earlier: the phones search forward), duplicate SETs in one
 * section, values with spaces or commas left unquoted, over-long values, unknown IF variables.
 * `lintRemovals` compares two versions of a file as clients evaluate them: a setting a Workplace client
 * received before and no longer receives is kept by the client (phones revert to the default).
 */

/** Known value limits (characters), from the phone/client documentation. */
export const VALUE_LIMITS: Record<string, number> = {
  TPSLIST: 255,
  SUBSCRIBELIST: 255,
  CELLULAR_DIRECT_NUMBER_LIST: 127,
  SIP_CONTROLLER_LIST: 255,
  PUSHCAP: 5,
};
/** Workplace IPv6 settings that must not go into 46xxspecials.txt (seed 002, "Sample 46xxspecials.txt file"). */
export const IPV6_SETTINGS = ['SIGNALING_ADDR_MODE', 'MEDIA_ADDR_MODE'];

/** Limit for any other value. */
export const GENERIC_VALUE_LIMIT = 1023;

export interface LintResult {
  file: string;
  /** How the file's bytes were read, when the linter was given bytes' decoding (CLI, served files). */
  encoding?: SettingsEncoding;
  diagnostics: Diagnostic[];
  errors: number;
  warnings: number;
}

/** Parameter names: upper-case letters, digits and _ (real ones may start with a digit: 3PCC_SERVER_MODE). */
const NAME_RE = /^[A-Z0-9][A-Z0-9_]*$/;
/** A per-phone file: `<12 hex digits>.txt` (`GET $MACADDR.txt` in an upgrade script). */
const PER_MAC_FILE = /^[0-9a-f]{12}\.(?:txt|scr)$/i;

export function lintSettings(
  input: ParsedFile | { name: string; text: string; encoding?: SettingsEncoding },
  limits?: ParseLimits,
): LintResult {
  const file = 'statements' in input ? input : parseSettings(input.text, input.name, limits);
  const encoding = 'encoding' in input ? input.encoding : undefined;
  const out: Diagnostic[] = [...file.diagnostics];
  const add = (line: number, severity: Diagnostic['severity'], code: string, message: string) =>
    out.push({ severity, code, message, file: file.name, line });
  const sts = file.statements;
  const flagged = new Set(file.diagnostics.map((d) => d.line));
  const isSpecials = /46xxspecials/i.test(file.name);
  if (encoding === 'windows-1252') {
    add(
      0,
      'info',
      'SETTINGS_ENCODING',
      'not UTF-8: read as Windows-1252 (as Avaya templates are); the file is served byte for byte as it is',
    );
  }
  // Tags some GOTO or IF names (a '# word …' line nobody jumps to is just a comment).
  const targets = new Set<string>();
  const setNames = new Set<string>();
  for (const st of sts) {
    if (st.kind === 'goto' || st.kind === 'if') targets.add(st.tag);
    else if (st.kind === 'set' || st.kind === 'add') setNames.add(st.name);
  }
  const nearest = new Map<string, ReturnType<typeof nearestParameter>>();

  // Per-statement checks.
  let blockSets = new Map<string, number>();
  for (let i = 0; i < sts.length; i++) {
    const st = sts[i]!;
    switch (st.kind) {
      case 'tag':
        blockSets = new Map();
        if (st.trailing && targets.has(st.tag)) {
          add(
            st.line,
            'warning',
            'SETTINGS_TRAILING_TEXT',
            `# ${st.tag}: "${st.trailing.slice(0, 40)}" after the tag is ignored (read as the tag ${st.tag}, the first word)`,
          );
        }
        // Only a tag some GOTO names can be ambiguous ('# Set this to 1' twice is two comments).
        if (
          targets.has(st.tag) &&
          (file.tags.get(st.tag)?.length ?? 0) > 1 &&
          file.tags.get(st.tag)?.[0] !== i
        ) {
          add(
            st.line,
            'warning',
            'SETTINGS_DUPLICATE_TAG',
            `# ${st.tag} appears more than once; a GOTO goes to the next one after it`,
          );
        }
        break;
      case 'comment': {
        const t = st.text.trim();
        if (t === '') break;
        if (t.startsWith('#')) {
          // '#END' where a GOTO END exists: meant as a tag, but a tag needs a space after '#'.
          const word = /^#([^#\s]\S*)$/.exec(t)?.[1];
          if (word && targets.has(word)) {
            add(
              st.line,
              'warning',
              'SETTINGS_BAD_TAG',
              `"${t.slice(0, 60)}" is not a tag (a tag is '#', a space, a word); GOTO ${word} does not stop here`,
            );
          }
          break;
        }
        if (!flagged.has(st.line)) {
          add(
            st.line,
            'warning',
            'SETTINGS_UNKNOWN_STATEMENT',
            `"${t.slice(0, 40)}" is not a statement; read as a comment (start comments with ##)`,
          );
        }
        break;
      }
      case 'set':
      case 'add': {
        if (!NAME_RE.test(st.name)) {
          add(
            st.line,
            'warning',
            'SETTINGS_ODD_NAME',
            `${st.name}: parameter names are upper-case letters, digits and _`,
          );
        }
        if (!isKnownParameter(st.name)) {
          if (!nearest.has(st.name)) nearest.set(st.name, nearestParameter(st.name));
          const near = nearest.get(st.name);
          const likelyTypo = near !== undefined && near.distance <= 2;
          add(
            st.line,
            likelyTypo ? 'warning' : 'info',
            'SETTINGS_UNKNOWN_PARAMETER',
            `${st.name} is not in the known parameter tables${near ? ` (nearest known name: ${near.name})` : ''}; phones ignore parameters they do not know`,
          );
        }
        if (PHONE_VARIABLES[st.name]?.readOnly) {
          add(
            st.line,
            'warning',
            'SETTINGS_SET_READONLY',
            `${st.name} is reported by the phone itself; a SET does not change what an IF tests`,
          );
        }
        if (st.kind === 'set' && !REPEATABLE_PARAMETERS.includes(st.name)) {
          const prev = blockSets.get(st.name);
          if (prev !== undefined) {
            add(
              st.line,
              'warning',
              'SETTINGS_DUPLICATE_SET',
              `${st.name} is already set on line ${prev} in the same section; the later value wins`,
            );
          }
          blockSets.set(st.name, st.line);
        }
        // Commas alone are fine unquoted: IP Office itself writes `SET MEDIAENCRYPTION 1,2,9`.
        if (!st.raw.startsWith('"') && /\s/.test(st.raw)) {
          add(
            st.line,
            'warning',
            'SETTINGS_UNQUOTED_VALUE',
            `${st.name}: a value with spaces must be in double quotes`,
          );
        }
        if (isSpecials && IPV6_SETTINGS.includes(st.name)) {
          add(
            st.line,
            'warning',
            'SETTINGS_IPV6_IN_SPECIALS',
            `${st.name}: do not put Workplace IPv6 settings in 46xxspecials.txt; local Workplace extensions would try to use them`,
          );
        }
        const limit = VALUE_LIMITS[st.name] ?? GENERIC_VALUE_LIMIT;
        if (st.value.length > limit) {
          add(
            st.line,
            'error',
            'SETTINGS_VALUE_TOO_LONG',
            `${st.name}: value is ${st.value.length} characters; the limit is ${limit}`,
          );
        }
        break;
      }
      case 'if': {
        const v = st.variable.toUpperCase();
        if (!PHONE_VARIABLES[v] && !setNames.has(v)) {
          add(
            st.line,
            'warning',
            'SETTINGS_UNKNOWN_VARIABLE',
            `$${st.variable} is not a variable the phones know and no line sets it; the phone ignores the IF unless it has such a parameter`,
          );
        }
        checkTarget(file, i, st.tag, st.line, add);
        break;
      }
      case 'goto':
        checkTarget(file, i, st.tag, st.line, add);
        break;
      case 'get':
        if (
          st.file === file.name ||
          (PER_MAC_FILE.test(file.name) && /^\$MACADDR\.(?:txt|scr)$/i.test(st.file))
        ) {
          add(
            st.line,
            'warning',
            'SETTINGS_GET_SELF',
            `GET ${st.file}: this file fetches itself; the phone would read it again and again (the GET belongs in the upgrade script)`,
          );
        }
        if (/[\\/]/.test(st.file) && !/^https?:/.test(st.file)) {
          add(
            st.line,
            'info',
            'SETTINGS_GET_PATH',
            `GET ${st.file}: files are fetched from the same directory as this one`,
          );
        }
        break;
    }
  }

  // Reachability (all IF outcomes considered possible).
  const reached = reachable(sts, file);
  let inDead = false;
  for (let i = 0; i < sts.length; i++) {
    const st = sts[i]!;
    if (reached[i]) {
      inDead = false;
      continue;
    }
    if (st.kind === 'tag' && st.trailing && !targets.has(st.tag)) continue;
    if (st.kind === 'tag') {
      add(
        st.line,
        'warning',
        'SETTINGS_TAG_UNREACHABLE',
        `# ${st.tag} is never reached (no GOTO before it leads here)`,
      );
      inDead = true;
    } else if (st.kind !== 'comment' && !inDead) {
      add(
        st.line,
        'warning',
        'SETTINGS_UNREACHABLE',
        `line ${st.line} is never read (it follows a GOTO with no tag in between)`,
      );
      inDead = true;
    }
  }

  out.sort((a, b) => a.line - b.line);
  return {
    file: file.name,
    ...(encoding ? { encoding } : {}),
    diagnostics: out,
    errors: out.filter((d) => d.severity === 'error').length,
    warnings: out.filter((d) => d.severity === 'warning').length,
  };
}

function checkTarget(
  file: ParsedFile,
  index: number,
  tag: string,
  line: number,
  add: (line: number, s: Diagnostic['severity'], code: string, msg: string) => void,
): void {
  const at = file.tags.get(tag);
  if (!at) {
    add(
      line,
      'error',
      'SETTINGS_GOTO_MISSING_TAG',
      `GOTO ${tag}: there is no "# ${tag}"${caseTwin(file, tag)}; a phone ignores the rest of the file`,
    );
  } else if (!at.some((i) => i > index)) {
    add(
      line,
      'error',
      'SETTINGS_GOTO_BACKWARD',
      `GOTO ${tag}: "# ${tag}" only appears before this line; phones search forward and ignore the rest of the file`,
    );
  }
}

/** ` (tags are case-sensitive: "# End" differs)` when a tag differs only in case. */
function caseTwin(file: ParsedFile, tag: string): string {
  const up = tag.toUpperCase();
  const twin = [...file.tags.keys()].find((t) => t.toUpperCase() === up);
  return twin ? ` (tags are case-sensitive: "# ${twin}" differs)` : '';
}

function reachable(sts: Statement[], file: ParsedFile): Uint8Array {
  const seen = new Uint8Array(sts.length);
  const stack = [0];
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (i >= sts.length || seen[i]) continue;
    seen[i] = 1;
    const st = sts[i]!;
    const target = (tag: string) => file.tags.get(tag)?.find((j) => j > i);
    if (st.kind === 'goto') {
      const t = target(st.tag);
      if (t !== undefined) stack.push(t);
    } else if (st.kind === 'if') {
      // Both outcomes are possible (a variable the linter does not know may be the phone's).
      stack.push(i + 1);
      const t = target(st.tag);
      if (t !== undefined) stack.push(t);
    } else stack.push(i + 1);
  }
  return seen;
}

/** Client models that keep settings after they disappear from the file. */
export const WORKPLACE_MODELS = ['aca', 'aci', 'acm', 'acw'] as const;

/**
 * Warns about settings a client received from `previous` and no longer receives from `next`: Workplace
 * clients keep the old value (send the default value or `" "` instead of removing the line).
 */
export async function lintRemovals(
  previous: { name: string; text: string },
  next: { name: string; text: string },
  opts: {
    clients?: EvalInputs[];
    resolvePrevious?: FileResolver;
    resolveNext?: FileResolver;
    eval?: EvalOptions;
  } = {},
): Promise<Diagnostic[]> {
  const clients = opts.clients ?? WORKPLACE_MODELS.map((m) => ({ MODEL4: m }));
  const out: Diagnostic[] = [];
  const removed = new Map<string, { models: string[]; line: number; file: string }>();
  for (const c of clients) {
    const before = await evaluateSettings(previous, c, opts.resolvePrevious, opts.eval);
    const after = await evaluateSettings(next, c, opts.resolveNext, opts.eval);
    for (const s of before.settings) {
      if (s.name in after.values) continue;
      const r = removed.get(s.name) ?? { models: [], line: s.line, file: s.file };
      r.models.push(c.MODEL4);
      removed.set(s.name, r);
    }
  }
  for (const [name, r] of removed) {
    out.push({
      severity: 'warning',
      code: 'SETTINGS_REMOVED_KEPT_BY_CLIENTS',
      message: `${name} (line ${r.line} of the previous ${r.file}) is no longer sent to ${r.models.join(', ')}; Workplace clients keep the old value — send the default or " " instead of removing it`,
      file: next.name,
      line: 0,
    });
  }
  return out;
}
