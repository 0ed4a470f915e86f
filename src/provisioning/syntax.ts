import { ValidationError } from '../core/errors.js';

/**
 * The 46xxsettings language (Avaya 96x1/J100 deskphones, Avaya Workplace clients, IP Office
 * auto-generated files). One statement per line:
 *
 *   SET NAME value            value is the rest of the line; wrap it in "…" when it has spaces or commas
 *   ADD NAME value            appends to a list parameter (J100)
 *   # tag                     a tag: '#', one space, a word without spaces
 *   GOTO tag                  continue after the next '# tag' line
 *   IF $VAR SEQ value GOTO tag
 *   GET file                  load another file; when obtained, the rest of this file is not read
 *   anything else             a comment ('## …' by convention)
 *
 * Pure: text in, statements and diagnostics out. Never throws for odd content (odd lines become
 * comments with a diagnostic); throws `SettingsFileError` only for input beyond the size limits.
 */

export class SettingsFileError extends ValidationError {}

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  severity: Severity;
  /** Stable code, e.g. `SETTINGS_UNTERMINATED_QUOTE`. */
  code: string;
  message: string;
  file: string;
  /** 1-based line number; 0 when the diagnostic is about the whole file. */
  line: number;
}

interface Base {
  /** 1-based line number in the file. */
  line: number;
}
export interface SetStatement extends Base {
  kind: 'set' | 'add';
  name: string;
  /** Value after unquoting (`"a b"` → `a b`). */
  value: string;
  /** Value text exactly as written (trimmed). */
  raw: string;
}
export interface TagStatement extends Base {
  kind: 'tag';
  tag: string;
}
export interface GotoStatement extends Base {
  kind: 'goto';
  tag: string;
}
export interface IfStatement extends Base {
  kind: 'if';
  /** Variable name without `$` (`MODEL4`). */
  variable: string;
  operand: string;
  tag: string;
}
export interface GetStatement extends Base {
  kind: 'get';
  file: string;
}
export interface CommentStatement extends Base {
  kind: 'comment';
  text: string;
}
export type Statement =
  | SetStatement
  | TagStatement
  | GotoStatement
  | IfStatement
  | GetStatement
  | CommentStatement;

export interface ParsedFile {
  name: string;
  statements: Statement[];
  /** `# tag` → indexes into `statements` in file order (a tag may appear more than once). */
  tags: Map<string, number[]>;
  diagnostics: Diagnostic[];
  lineCount: number;
}

export interface ParseLimits {
  /** Largest accepted file in bytes (UTF-8). Default 1 MiB. */
  maxBytes?: number;
  /** Most lines accepted. Default 50 000. */
  maxLines?: number;
  /** Longer lines are reported and treated as comments. Default 8192 characters. */
  maxLineLength?: number;
}

export const DEFAULT_PARSE_LIMITS: Required<ParseLimits> = {
  maxBytes: 1024 * 1024,
  maxLines: 50_000,
  maxLineLength: 8192,
};

/** Statement keywords, case-sensitive as the phones read them. */
export const KEYWORDS = ['SET', 'ADD', 'GOTO', 'IF', 'GET'] as const;

const CURLY = /[\u201c\u201d\u201e\u201f\u2033\u2036]/;

/**
 * Unquotes a value as the phones do: a value written as one double-quoted string loses its quotes;
 * anything else (a bare word, or a list of quoted strings such as `"911","9911"`) is kept as written.
 */
export function unquoteValue(raw: string): string {
  if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
    const inner = raw.slice(1, -1);
    if (!inner.includes('"')) return inner;
  }
  return raw;
}

/**
 * Writes a value so that `unquoteValue` gives it back: quoted when it has spaces, commas, tabs or is
 * empty; lists of quoted strings (`"911","9911"`) are written as is. Throws for values that cannot be
 * written on one line or that would be read back differently.
 */
export function formatValue(value: string, field = 'value'): string {
  if (/[\r\n\0]/.test(value)) {
    throw new SettingsFileError(
      'SETTINGS_VALUE_NEWLINE',
      `${field}: a settings value cannot contain a line break or NUL`,
      { field },
    );
  }
  if (!value.includes('"')) {
    if (value === '' || /[\s,]/.test(value) || value.startsWith('#')) return `"${value}"`;
    return value;
  }
  // Contains quotes: only writable raw, and only if reading it back gives the same value.
  const unterminated = value.startsWith('"') && (value.length === 1 || !value.endsWith('"'));
  const unquotedSpace = !value.startsWith('"') && /[\s,]/.test(value);
  if (value !== value.trim() || unterminated || unquotedSpace || unquoteValue(value) !== value) {
    throw new SettingsFileError(
      'SETTINGS_VALUE_UNREPRESENTABLE',
      `${field}: the value ${JSON.stringify(value)} cannot be written in a settings file (quotes around a single string would be removed)`,
      { field },
    );
  }
  return value;
}

/** Splits text into lines (LF, CRLF or CR), dropping a leading BOM. */
export function splitLines(text: string): string[] {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = t.split(/\r\n|\r|\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function diag(
  out: Diagnostic[],
  file: string,
  line: number,
  severity: Severity,
  code: string,
  message: string,
): void {
  out.push({ severity, code, message, file, line });
}

/** Parses one settings file. */
export function parseSettings(text: string, name = '46xxsettings.txt', limits: ParseLimits = {}): ParsedFile {
  const lim = { ...DEFAULT_PARSE_LIMITS, ...limits };
  if (typeof text !== 'string')
    throw new SettingsFileError('SETTINGS_NOT_TEXT', `${name}: settings file content must be text`);
  if (text.length > lim.maxBytes || Buffer.byteLength(text, 'utf8') > lim.maxBytes) {
    throw new SettingsFileError('SETTINGS_FILE_TOO_LARGE', `${name}: larger than ${lim.maxBytes} bytes`, {
      status: 413,
    });
  }
  const lines = splitLines(text);
  if (lines.length > lim.maxLines) {
    throw new SettingsFileError('SETTINGS_TOO_MANY_LINES', `${name}: more than ${lim.maxLines} lines`, {
      status: 413,
    });
  }
  const statements: Statement[] = [];
  const diagnostics: Diagnostic[] = [];
  const tags = new Map<string, number[]>();
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const original = lines[i] ?? '';
    if (original.length > lim.maxLineLength) {
      diag(
        diagnostics,
        name,
        lineNo,
        'error',
        'SETTINGS_LINE_TOO_LONG',
        `line longer than ${lim.maxLineLength} characters; ignored`,
      );
      statements.push({ kind: 'comment', line: lineNo, text: original.slice(0, 80) });
      continue;
    }
    const st = parseLine(original, lineNo, name, diagnostics);
    if (st.kind === 'tag') {
      const list = tags.get(st.tag);
      if (list) list.push(statements.length);
      else tags.set(st.tag, [statements.length]);
    }
    statements.push(st);
  }
  return { name, statements, tags, diagnostics, lineCount: lines.length };
}

function parseLine(original: string, line: number, file: string, out: Diagnostic[]): Statement {
  const trimmed = original.trim();
  const comment = (): CommentStatement => ({ kind: 'comment', line, text: original });
  if (trimmed === '') return comment();
  if (original !== original.trimStart() && /^(SET|ADD|GOTO|IF|GET)\s|^#\s/.test(trimmed)) {
    diag(
      out,
      file,
      line,
      'warning',
      'SETTINGS_LEADING_WHITESPACE',
      'statement starts with whitespace (read as a statement; strict phones read it as a comment)',
    );
  }
  if (trimmed.startsWith('#')) {
    if (trimmed.startsWith('##')) return comment();
    const m = /^# (\S+)$/.exec(trimmed);
    if (m?.[1]) return { kind: 'tag', line, tag: m[1] };
    diag(
      out,
      file,
      line,
      'warning',
      'SETTINGS_BAD_TAG',
      `"${trimmed.slice(0, 60)}" is not a tag ('#', one space, a word without spaces); read as a comment`,
    );
    return comment();
  }
  const kw = /^(\S+)/.exec(trimmed)?.[1] ?? '';
  const rest = trimmed.slice(kw.length).replace(/^[ \t]+/, '');
  switch (kw) {
    case 'SET':
    case 'ADD': {
      const m = /^(\S+)(?:[ \t]+(.*))?$/.exec(rest);
      if (!m?.[1]) {
        diag(out, file, line, 'error', 'SETTINGS_MALFORMED', `${kw} without a parameter name; ignored`);
        return comment();
      }
      const raw = (m[2] ?? '').trim();
      if (CURLY.test(raw)) {
        diag(
          out,
          file,
          line,
          'error',
          'SETTINGS_CURLY_QUOTES',
          `${m[1]}: curly quotes are not quotes to the phones; use straight double quotes (")`,
        );
      }
      if (raw.startsWith('"') && (raw.length === 1 || !raw.endsWith('"'))) {
        diag(
          out,
          file,
          line,
          'error',
          'SETTINGS_UNTERMINATED_QUOTE',
          `${m[1]}: the quoted value is not closed on this line (values cannot span lines)`,
        );
        return { kind: kw === 'SET' ? 'set' : 'add', line, name: m[1], value: raw.slice(1), raw };
      }
      return { kind: kw === 'SET' ? 'set' : 'add', line, name: m[1], value: unquoteValue(raw), raw };
    }
    case 'GOTO': {
      const m = /^(\S+)$/.exec(rest);
      if (!m?.[1]) {
        diag(out, file, line, 'error', 'SETTINGS_MALFORMED', 'GOTO needs exactly one tag; ignored');
        return comment();
      }
      return { kind: 'goto', line, tag: m[1] };
    }
    case 'IF': {
      const m = /^\$(\S+)[ \t]+SEQ[ \t]+(\S+)[ \t]+GOTO[ \t]+(\S+)$/.exec(rest);
      if (!m?.[1] || m[2] === undefined || !m[3]) {
        diag(
          out,
          file,
          line,
          'error',
          'SETTINGS_MALFORMED',
          'IF must read "IF $NAME SEQ value GOTO tag"; ignored',
        );
        return comment();
      }
      return { kind: 'if', line, variable: m[1], operand: unquoteValue(m[2]), tag: m[3] };
    }
    case 'GET': {
      const m = /^(\S+)$/.exec(rest);
      if (!m?.[1]) {
        diag(out, file, line, 'error', 'SETTINGS_MALFORMED', 'GET needs exactly one file name; ignored');
        return comment();
      }
      return { kind: 'get', line, file: m[1] };
    }
    default:
      return comment();
  }
}
