import {
  type Diagnostic,
  type ParsedFile,
  type ParseLimits,
  parseSettings,
  SettingsFileError,
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

/** The variables an `IF $NAME SEQ …` can test (96x1/J100 list plus the older SIG/BOOTNAME). */
export const VARIABLES = [
  'MODEL4',
  'GROUP',
  'SIG_IN_USE',
  'MACADDR',
  'MODEL',
  'VPNACTIVE',
  'SIG',
  'BOOTNAME',
] as const;
export type VariableName = (typeof VARIABLES)[number];

export interface EvalInputs {
  /** Four-character model: `J179`, `9611`, `aca` (Android), `aci` (iOS), `acm` (macOS), `acw` (Windows). */
  MODEL4: string;
  /** Group number; phones default to 0. */
  GROUP?: string;
  /** Signalling protocol in use: `SIP` (default) or `H323`. */
  SIG_IN_USE?: string;
  MACADDR?: string;
  /** Full model name; defaults to MODEL4. */
  MODEL?: string;
  /** `1` while a VPN is active; default 0. */
  VPNACTIVE?: string;
  SIG?: string;
  BOOTNAME?: string;
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
  inputs: Required<EvalInputs>;
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

export function normalizeInputs(i: EvalInputs): Required<EvalInputs> {
  return {
    MODEL4: i.MODEL4,
    GROUP: i.GROUP ?? '0',
    SIG_IN_USE: i.SIG_IN_USE ?? 'SIP',
    MACADDR: i.MACADDR ?? '',
    MODEL: i.MODEL ?? i.MODEL4,
    VPNACTIVE: i.VPNACTIVE ?? '0',
    SIG: i.SIG ?? i.SIG_IN_USE ?? 'SIP',
    BOOTNAME: i.BOOTNAME ?? '',
  };
}

const VAR_RE = /\$(MODEL4|GROUP|SIG_IN_USE|MACADDR|MODEL|VPNACTIVE|SIG|BOOTNAME)(?![A-Z0-9_])/g;

/** Replaces `$MACADDR`-style variables in a value or file name. */
export function substitute(text: string, inputs: Required<EvalInputs>): string {
  if (!text.includes('$')) return text;
  return text.replace(VAR_RE, (_m, n: VariableName) => inputs[n]);
}

function isVariable(n: string): n is VariableName {
  return (VARIABLES as readonly string[]).includes(n);
}

/** Evaluates `first` (already parsed or text) for a client. */
export async function evaluateSettings(
  first: ParsedFile | { name: string; text: string },
  inputs: EvalInputs,
  resolve: FileResolver = () => undefined,
  options: EvalOptions = {},
): Promise<EvalResult> {
  const opts = { ...DEFAULTS, ...options };
  const vars = normalizeInputs(inputs);
  const trace: TraceStep[] = [];
  const diagnostics: Diagnostic[] = [];
  const settings = new Map<string, EffectiveSetting>();
  const files: string[] = [];
  let traceTruncated = false;
  let steps = 0;
  let gets = 0;
  let end: EvalEnd = 'eof';

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
          note(file.name, st.line, 'tag', st.tag);
          break;
        case 'set':
        case 'add': {
          const value = substitute(st.value, vars);
          const prev = settings.get(st.name);
          const origin: SettingOrigin = { value, file: file.name, line: st.line, op: st.kind };
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
            settings.set(st.name, { name: st.name, ...origin, history: [] });
          }
          note(file.name, st.line, st.kind, `${st.name}=${settings.get(st.name)?.value ?? value}`);
          break;
        }
        case 'goto':
          note(file.name, st.line, 'goto', st.tag);
          jump = st.tag;
          break;
        case 'if': {
          if (!isVariable(st.variable)) {
            warn(
              file.name,
              st.line,
              'SETTINGS_UNKNOWN_VARIABLE',
              `$${st.variable} is not a variable the phones know; the IF is ignored`,
            );
            break;
          }
          const actual = vars[st.variable];
          const hit =
            opts.seqMatch === 'ignore-case'
              ? actual.toLowerCase() === st.operand.toLowerCase()
              : actual === st.operand;
          note(
            file.name,
            st.line,
            'if',
            `$${st.variable} (${actual}) SEQ ${st.operand}: ${hit ? `GOTO ${st.tag}` : 'no'}`,
          );
          if (hit) jump = st.tag;
          break;
        }
        case 'get': {
          const name = substitute(st.file, vars);
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
          note(file.name, st.line, 'get', `${name}: obtained; the rest of ${file.name} is not read`);
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
