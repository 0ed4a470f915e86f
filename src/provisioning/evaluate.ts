import {
  type Diagnostic,
  type ParsedFile,
  type ParseLimits,
  parseSettings,
  SettingsFileError,
  type Statement,
} from './syntax.js';

/**
 * Runs a settings file the way a phone or Workplace client reads it: top to bottom, following GOTOs
 * and IF … GOTO on the client's variables, and GET (a tail call: when the named file is obtained the rest
 * of the current file is not read; when it is not, reading continues). Returns the effective settings,
 * each with the file and line that set it, and the path taken.
 *
 * Termination is guaranteed: GOTO searches forward by default (as the phones do), a revisited
 * statement (possible with `gotoScope: 'file'`) stops the run, a file fetched twice by GET stops the
 * run (a GET cycle), and there are hard caps on steps, GETs and trace entries.
 */

/**
 * The variables a phone or client knows, with what it reports when the user gives no value. `readOnly`
 * values are the phone's own (model, MAC, firmware …): a SET in a file does not change what an IF sees.
 * The others are parameters: `SET SIG 2` earlier in the file is what a later `IF $SIG SEQ 2` tests, as
 * on the phones (Avaya's upgrade scripts rely on it). Any other parameter SET earlier in the file can be
 * tested too; a name that is neither known, given nor set makes the phone ignore the IF.
 */
export const PHONE_VARIABLES: Readonly<
  Record<string, { readOnly: boolean; default: string; description: string }>
> = {
  MODEL4: {
    readOnly: true,
    default: '',
    description: 'four-character model: J179, 9611, aca, aci, acm, acw',
  },
  MODEL: { readOnly: true, default: '', description: 'full model name (default: MODEL4)' },
  MACADDR: { readOnly: true, default: '', description: 'MAC address, as in per-phone file names' },
  GROUP: { readOnly: false, default: '0', description: 'group number' },
  SIG: { readOnly: false, default: '0', description: 'signalling parameter: 0 default, 1 H.323, 2 SIP' },
  SIG_IN_USE: { readOnly: true, default: 'SIP', description: 'signalling in use: SIP or H323' },
  VPNACTIVE: { readOnly: true, default: '0', description: '1 while a VPN is active' },
  BOOTNAME: { readOnly: true, default: '', description: 'boot code file name (older phones)' },
  HWVERS: { readOnly: true, default: '', description: 'hardware version' },
  APPNAME: {
    readOnly: false,
    default: '',
    description: 'firmware file name (the running one; upgrade scripts SET the one to load)',
  },
  SHA2CAPABLE: { readOnly: true, default: '', description: '1 when the phone accepts SHA-2 signed firmware' },
  PHONECC: { readOnly: true, default: '', description: 'phone country code' },
  IPADD: { readOnly: true, default: '', description: 'IP address of the phone' },
};
/** Names of `PHONE_VARIABLES`. */
export const VARIABLES: readonly string[] = Object.keys(PHONE_VARIABLES);

/**
 * What the phone reports: `MODEL4` (required) and any other variable (`GROUP`, `SIG_IN_USE`, `HWVERS` …,
 * or any parameter's value before the file is read). Names are case-insensitive.
 */
export type EvalInputs = { MODEL4: string } & { [name: string]: string | undefined };

/** Variable names: letters, digits and _, up to 64 characters. */
export const VARIABLE_NAME_RE = /^[A-Za-z0-9_]{1,64}$/;

/** MODEL4 values of the phones and clients the seeds and notes name (Workplace clients are lower case). */
export const KNOWN_MODELS: readonly string[] = [
  '1603',
  '1608',
  '1616',
  '4610',
  '4620',
  '4621',
  '4622',
  '4625',
  '9601',
  '9608',
  '9610',
  '9611',
  '9620',
  '9621',
  '9630',
  '9640',
  '9641',
  '9650',
  'J129',
  'J139',
  'J159',
  'J169',
  'J179',
  'J189',
  'K155',
  'K165',
  'K175',
  'aca',
  'aci',
  'acm',
  'acw',
];

/**
 * The MODEL4 a phone reports for a model given in any case (`j179` → `J179`, `ACI` → `aci`). Unknown
 * models are refused (`SETTINGS_UNKNOWN_MODEL`): a typo would silently match no IF. Give an unlisted
 * model exactly as the phone reports it with the variable MODEL4 (`--var MODEL4=…`).
 */
export function canonicalModel(model: string, field = 'model'): string {
  const found = KNOWN_MODELS.find((m) => m.toLowerCase() === model.trim().toLowerCase());
  if (found) return found;
  throw new SettingsFileError(
    'SETTINGS_UNKNOWN_MODEL',
    `${field}: unknown model ${JSON.stringify(model.slice(0, 32))}; one of ${KNOWN_MODELS.join(', ')} (any case), or give MODEL4 exactly as the phone reports it as a variable (MODEL4=…)`,
    { field },
  );
}

/** Most variables one evaluation accepts, and the longest value. */
export const MAX_VARIABLES = 64;
export const MAX_VARIABLE_VALUE = 256;

/** Parses `NAME=VALUE` assignments (`--var`, the API's `var`); names are upper-cased. */
export function parseVariableAssignments(list: readonly string[], field = 'var'): Record<string, string> {
  if (list.length > MAX_VARIABLES) {
    throw new SettingsFileError('SETTINGS_BAD_VARIABLE', `${field}: at most ${MAX_VARIABLES} variables`, {
      field,
    });
  }
  const out: Record<string, string> = {};
  for (const a of list) {
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq).replace(/^\$/, '') : '';
    const value = a.slice(eq + 1);
    if (!VARIABLE_NAME_RE.test(name)) {
      throw new SettingsFileError(
        'SETTINGS_BAD_VARIABLE',
        `${field}: ${JSON.stringify(a.slice(0, 40))} must read NAME=VALUE (NAME: letters, digits, _)`,
        { field },
      );
    }
    if (value.length > MAX_VARIABLE_VALUE || /[\r\n\0]/.test(value)) {
      throw new SettingsFileError(
        'SETTINGS_BAD_VARIABLE',
        `${field}: the value of ${name} must be one line of at most ${MAX_VARIABLE_VALUE} characters`,
        { field },
      );
    }
    out[name.toUpperCase()] = value;
  }
  return out;
}

/** Returns the content of a file named by GET, or undefined when it cannot be obtained. */
export type FileResolver = (name: string) => Promise<string | undefined> | string | undefined;

export interface EvalOptions {
  /** Where GOTO looks for its tag: `forward` (default, the phones' reading) or anywhere in the `file`. */
  gotoScope?: 'forward' | 'file';
  /** `exact` (96x1/J100, default) or `ignore-case` (4600/1600 text). */
  seqMatch?: 'exact' | 'ignore-case';
  maxSteps?: number;
  maxGets?: number;
  maxTrace?: number;
  maxSettings?: number;
  parseLimits?: ParseLimits;
}

export interface SettingOrigin {
  value: string;
  file: string;
  line: number;
  op: 'set' | 'add';
}

export interface EffectiveSetting extends SettingOrigin {
  name: string;
  /** Earlier values this one replaced (oldest first). */
  history: SettingOrigin[];
  /**
   * For repeatable parameters (`REPEATABLE_PARAMETERS`): every value in order, each with its line;
   * `value` is the last one.
   */
  entries?: SettingOrigin[];
}

export type TraceKind = 'start' | 'tag' | 'goto' | 'if' | 'get' | 'set' | 'add' | 'stop';
export interface TraceStep {
  file: string;
  line: number;
  kind: TraceKind;
  detail: string;
}

export type EvalEnd = 'eof' | 'goto-missing' | 'loop' | 'get-cycle' | 'step-limit' | 'get-limit';

export interface EvalResult {
  /** The variables as the run started (defaults filled in, names upper case). */
  inputs: Record<string, string>;
  /** Effective settings in the order they were first set. */
  settings: EffectiveSetting[];
  /** name → value, for quick checks. */
  values: Record<string, string>;
  trace: TraceStep[];
  /** Whether trace entries were dropped past `maxTrace`. */
  traceTruncated: boolean;
  /** Files read, in order. */
  files: string[];
  diagnostics: Diagnostic[];
  end: EvalEnd;
  steps: number;
}

const DEFAULTS = { maxSteps: 1_000_000, maxGets: 32, maxTrace: 20_000, maxSettings: 10_000 };

/** Upper-cases names and fills the defaults of the known variables (MODEL defaults to MODEL4). */
export function normalizeInputs(i: EvalInputs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(PHONE_VARIABLES)) out[k] = v.default;
  for (const [k, v] of Object.entries(i)) if (v !== undefined) out[k.toUpperCase()] = v;
  if (!i.MODEL && !Object.keys(i).some((k) => k.toUpperCase() === 'MODEL')) out.MODEL = out.MODEL4 ?? '';
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces `$MACADDR`-style variables (the phone's own and those given) in a value or file name. A longer
 * name wins (`$MODEL4` is not `$MODEL` + "4"); `$` followed by anything else is kept.
 */
export function substitution(inputs: Record<string, string>): (text: string) => string {
  const names = Object.keys(inputs).sort((a, b) => b.length - a.length);
  const re = new RegExp(`\\$(${names.map(escapeRe).join('|')})(?![A-Za-z0-9_])`, 'g');
  return (text) => (text.includes('$') ? text.replace(re, (_m, n: string) => inputs[n] ?? '') : text);
}

/** Parameters that phones accept once per line and keep every value of (J100 `SET PHONEKEY "Key=1;…"`). */
export const REPEATABLE_PARAMETERS: readonly string[] = ['PHONEKEY'];

/** Evaluates `first` (already parsed or text) for a client. */
export async function evaluateSettings(
  first: ParsedFile | { name: string; text: string },
  inputs: EvalInputs,
  resolve: FileResolver = () => undefined,
  options: EvalOptions = {},
): Promise<EvalResult> {
  const opts = { ...DEFAULTS, ...options };
  const vars = normalizeInputs(inputs);
  const substitute = substitution(vars);
  const given = new Set(
    Object.entries(inputs)
      .filter(([, v]) => v !== undefined)
      .map(([k]) => k.toUpperCase()),
  );
  const trace: TraceStep[] = [];
  const diagnostics: Diagnostic[] = [];
  const settings = new Map<string, EffectiveSetting>();
  const files: string[] = [];
  let traceTruncated = false;
  let steps = 0;
  let gets = 0;
  let end: EvalEnd = 'eof';

  /** What `$NAME` is when an IF tests it: a parameter SET earlier, else the phone's value, else unknown. */
  const lookup = (name: string): { value: string; from: string } | undefined => {
    const known = PHONE_VARIABLES[name];
    const set = settings.get(name);
    if (set && !known?.readOnly) return { value: set.value, from: `set on ${set.file}:${set.line}` };
    if (given.has(name)) return { value: vars[name] ?? '', from: 'given' };
    if (known) return { value: vars[name] ?? '', from: 'default' };
    return undefined;
  };
  /** How a tolerant reading was made, for the trace: keyword case, text ignored after the statement. */
  const spelling = (st: Statement) =>
    (st.keyword ? ` (written "${st.keyword}", read as ${st.keyword.toUpperCase()})` : '') +
    (st.trailing ? ` (ignored after it: "${st.trailing.slice(0, 40)}")` : '');
  const note = (file: string, line: number, kind: TraceKind, detail: string) => {
    if (trace.length < opts.maxTrace) trace.push({ file, line, kind, detail });
    else traceTruncated = true;
  };
  const warn = (file: string, line: number, code: string, message: string) => {
    if (diagnostics.length < 1000) diagnostics.push({ severity: 'warning', code, message, file, line });
  };

  let file: ParsedFile =
    'statements' in first ? first : parseSettings(first.text, first.name, opts.parseLimits);
  for (const d of file.diagnostics) diagnostics.push(d);
  files.push(file.name);
  note(file.name, 0, 'start', file.name);

  outer: for (;;) {
    const visited = new Uint8Array(file.statements.length);
    let pc = 0;
    while (pc < file.statements.length) {
      if (++steps > opts.maxSteps) {
        end = 'step-limit';
        warn(
          file.name,
          file.statements[pc]?.line ?? 0,
          'SETTINGS_STEP_LIMIT',
          `stopped after ${opts.maxSteps} steps`,
        );
        note(file.name, file.statements[pc]?.line ?? 0, 'stop', 'step limit');
        break outer;
      }
      if (visited[pc]) {
        end = 'loop';
        const ln = file.statements[pc]?.line ?? 0;
        warn(
          file.name,
          ln,
          'SETTINGS_GOTO_LOOP',
          `GOTO loop: line ${ln} reached a second time; a phone would never finish this file`,
        );
        note(file.name, ln, 'stop', 'GOTO loop');
        break outer;
      }
      visited[pc] = 1;
      const st = file.statements[pc]!;
      let jump: string | undefined;
      switch (st.kind) {
        case 'comment':
          break;
        case 'tag':
          note(file.name, st.line, 'tag', `${st.tag}${st.trailing ? spelling(st) : ''}`);
          break;
        case 'set':
        case 'add': {
          const value = substitute(st.value);
          const prev = settings.get(st.name);
          const origin: SettingOrigin = { value, file: file.name, line: st.line, op: st.kind };
          if (prev && REPEATABLE_PARAMETERS.includes(st.name)) {
            const entries = prev.entries ?? [];
            if (entries.length < opts.maxSettings) entries.push(origin);
            settings.set(st.name, { ...prev, ...origin, name: st.name, entries });
            note(file.name, st.line, st.kind, `${st.name} += ${value} (entry ${entries.length})`);
            break;
          }
          if (prev) {
            const { name: _n, history, ...was } = prev;
            const nextValue = st.kind === 'add' && prev.value !== '' ? `${prev.value},${value}` : value;
            settings.set(st.name, {
              name: st.name,
              ...origin,
              value: nextValue,
              history: [...history.slice(-20), was],
            });
          } else {
            if (settings.size >= opts.maxSettings) {
              warn(
                file.name,
                st.line,
                'SETTINGS_TOO_MANY',
                `more than ${opts.maxSettings} distinct settings; ${st.name} ignored`,
              );
              break;
            }
            settings.set(st.name, {
              name: st.name,
              ...origin,
              history: [],
              ...(REPEATABLE_PARAMETERS.includes(st.name) ? { entries: [origin] } : {}),
            });
          }
          note(file.name, st.line, st.kind, `${st.name}=${settings.get(st.name)?.value ?? value}`);
          break;
        }
        case 'goto':
          note(file.name, st.line, 'goto', `${st.tag}${spelling(st)}`);
          jump = st.tag;
          break;
        case 'if': {
          const name = st.variable.toUpperCase();
          const v = lookup(name);
          if (v === undefined) {
            warn(
              file.name,
              st.line,
              'SETTINGS_UNKNOWN_VARIABLE',
              `$${st.variable} is not a variable the phones know, not given and not set earlier; the IF is ignored`,
            );
            note(file.name, st.line, 'if', `$${st.variable} unknown: IF ignored${spelling(st)}`);
            break;
          }
          const hit =
            opts.seqMatch === 'ignore-case'
              ? v.value.toLowerCase() === st.operand.toLowerCase()
              : v.value === st.operand;
          note(
            file.name,
            st.line,
            'if',
            `$${st.variable} (${v.value}) SEQ ${st.operand}: ${hit ? `GOTO ${st.tag}` : 'no'} [${v.from}]${spelling(st)}`,
          );
          if (hit) jump = st.tag;
          break;
        }
        case 'get': {
          const name = substitute(st.file);
          if (files.includes(name)) {
            end = 'get-cycle';
            warn(
              file.name,
              st.line,
              'SETTINGS_GET_CYCLE',
              `GET ${name} would load a file already read (${files.join(' → ')}); stopped`,
            );
            note(file.name, st.line, 'stop', `GET cycle at ${name}`);
            break outer;
          }
          if (++gets > opts.maxGets) {
            end = 'get-limit';
            warn(file.name, st.line, 'SETTINGS_GET_LIMIT', `more than ${opts.maxGets} GETs; stopped`);
            note(file.name, st.line, 'stop', 'GET limit');
            break outer;
          }
          let text: string | undefined;
          try {
            text = await resolve(name);
          } catch (e) {
            warn(
              file.name,
              st.line,
              'SETTINGS_GET_FAILED',
              `GET ${name} failed: ${(e as Error).message ?? String(e)}`,
            );
            text = undefined;
          }
          if (text === undefined) {
            note(file.name, st.line, 'get', `${name}: not obtained, continuing`);
            break;
          }
          let next: ParsedFile;
          try {
            next = parseSettings(text, name, opts.parseLimits);
          } catch (e) {
            if (!(e instanceof SettingsFileError)) throw e;
            warn(file.name, st.line, e.code, `GET ${name}: ${e.message}; continuing`);
            note(file.name, st.line, 'get', `${name}: unusable, continuing`);
            break;
          }
          note(
            file.name,
            st.line,
            'get',
            `${name}: obtained; the rest of ${file.name} is not read${spelling(st)}`,
          );
          for (const d of next.diagnostics) if (diagnostics.length < 1000) diagnostics.push(d);
          file = next;
          files.push(name);
          note(file.name, 0, 'start', file.name);
          continue outer;
        }
      }
      if (jump === undefined) {
        pc++;
        continue;
      }
      const target = findTag(file, jump, pc, opts.gotoScope ?? 'forward');
      if (target === undefined) {
        end = 'goto-missing';
        warn(
          file.name,
          st.line,
          'SETTINGS_GOTO_MISSING',
          `no "# ${jump}" after line ${st.line}; the rest of ${file.name} is ignored`,
        );
        note(file.name, st.line, 'stop', `# ${jump} not found`);
        break outer;
      }
      pc = target;
    }
    break;
  }

  const list = [...settings.values()];
  const values: Record<string, string> = {};
  for (const s of list) values[s.name] = s.value;
  return { inputs: vars, settings: list, values, trace, traceTruncated, files, diagnostics, end, steps };
}

/** Index of the `# tag` statement a GOTO at `from` continues at, or undefined. */
export function findTag(
  file: ParsedFile,
  tag: string,
  from: number,
  scope: 'forward' | 'file',
): number | undefined {
  const at = file.tags.get(tag);
  if (!at) return undefined;
  const fwd = at.find((i) => i > from);
  if (fwd !== undefined || scope === 'forward') return fwd;
  return at[0];
}
