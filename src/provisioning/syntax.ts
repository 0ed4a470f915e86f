import { ValidationError } from '../core/errors.js';

/**
 * The 46xxsettings language (Avaya 96x1/J100 deskphones, Avaya Workplace clients, IP Office
 * auto-generated files). One statement per line:
 *
 *   SET NAME value            value is the rest of the line; wrap it in "…" when it has spaces
 *   ADD NAME value            appends to a list parameter (J100)
 *   # tag                     a tag: '#', a space, a word without spaces
 *   GOTO tag                  continue after the next '# tag' line
 *   IF $VAR SEQ value GOTO tag
 *   GET file                  load another file; when obtained, the rest of this file is not read
 *   anything else             a comment ('## …' by convention; '#', '#3 …', '#SET …' too)
 *
 * Read the way real files need it (every choice is a tolerant reading where the phones are not
 * documented, reported with a diagnostic so that nothing is a silent miss):
 * - keywords (SET ADD GOTO IF GET, and SEQ) in any case: Avaya's own 96xx upgrade script branches with
 *   `goto`; the spelling is kept in `keyword` and reported once per spelling (`SETTINGS_KEYWORD_CASE`);
 * - a statement ends where the phone stops reading: `GOTO X ## comment`, `GET f ## comment`,
 *   `# TAG   ##`, `IF … GOTO X junk`, and an unquoted or quoted value followed by `#…` keep the first
 *   word (or the quoted value); the rest is `trailing` (`SETTINGS_TRAILING_TEXT`);
 * - `SET NAME=value` is not a statement (no such parameter): an error, and the line is ignored.
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
  /** The keyword as written when it is not upper case (`goto`, `Set`). */
  keyword?: string;
  /** Text after the end of the statement, ignored (`## comment`, junk after a tag). */
  trailing?: string;
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

/** Statement keywords (read in any case). */
export const KEYWORDS = ['SET', 'ADD', 'GOTO', 'IF', 'GET'] as const;
type Keyword = (typeof KEYWORDS)[number];

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
  if (
    value !== value.trim() ||
    unterminated ||
    unquotedSpace ||
    unquoteValue(value) !== value ||
    splitValue(value).raw !== value
  ) {
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
  // Bytes are counted where the file is read (its own encoding); here every character is at least one.
  if (text.length > lim.maxBytes) {
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
  const ctx: LineContext = { file: name, out: diagnostics, spellings: new Set() };
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
    const st = parseLine(original, lineNo, ctx);
    if (st.kind === 'tag') {
      const list = tags.get(st.tag);
      if (list) list.push(statements.length);
      else tags.set(st.tag, [statements.length]);
    }
    statements.push(st);
  }
  return { name, statements, tags, diagnostics, lineCount: lines.length };
}

interface LineContext {
  file: string;
  out: Diagnostic[];
  /** Keyword spellings already reported (one SETTINGS_KEYWORD_CASE per spelling and file). */
  spellings: Set<string>;
}

const NON_ASCII = /[^\x00-\x7f]/;
/** A quoted value, or a list of quoted strings (`"911","9911"`), then optionally `#…` after whitespace. */
const QUOTED_THEN_COMMENT = /^("[^"]*"(?:[ \t]*,[ \t]*"[^"]*")*)[ \t]+(#.*)$/;
const WORD_THEN_COMMENT = /^([^\s"]\S*)[ \t]+(#.*)$/;

function canonicalKeyword(word: string): Keyword | undefined {
  const up = word.toUpperCase();
  return (KEYWORDS as readonly string[]).includes(up) ? (up as Keyword) : undefined;
}

/** Splits `first-word rest` of a GOTO/GET operand: the phone reads the first word. */
function firstWord(rest: string): { word: string; trailing: string } {
  const m = /^(\S+)(?:[ \t]+(.*))?$/.exec(rest);
  return { word: m?.[1] ?? '', trailing: (m?.[2] ?? '').trim() };
}

/** Splits a SET/ADD value from a trailing `#…` comment (see the file header). */
export function splitValue(raw: string): { raw: string; trailing: string } {
  const q = QUOTED_THEN_COMMENT.exec(raw);
  if (q?.[1] !== undefined) return { raw: q[1], trailing: q[2] ?? '' };
  const w = WORD_THEN_COMMENT.exec(raw);
  if (w?.[1] !== undefined) return { raw: w[1], trailing: w[2] ?? '' };
  return { raw, trailing: '' };
}

function parseLine(original: string, line: number, ctx: LineContext): Statement {
  const { file, out } = ctx;
  const trimmed = original.trim();
  const comment = (): CommentStatement => ({ kind: 'comment', line, text: original });
  if (trimmed === '') return comment();

  // Tags: '#', whitespace, a word; anything after the word is ignored. '#', '##…', '#word' are comments.
  if (trimmed.startsWith('#')) {
    const m = /^#[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(trimmed);
    if (!m?.[1]) return comment();
    if (original !== original.trimStart()) leadingWhitespace(ctx, line);
    const trailing = (m[2] ?? '').trim();
    return trailing ? { kind: 'tag', line, tag: m[1], trailing } : { kind: 'tag', line, tag: m[1] };
  }

  const written = /^(\S+)/.exec(trimmed)?.[1] ?? '';
  const kw = canonicalKeyword(written);
  if (!kw) return comment();
  if (original !== original.trimStart()) leadingWhitespace(ctx, line);
  const extra: { keyword?: string } = {};
  const spelled = (word: string, canonical: string) => {
    if (word === canonical) return;
    extra.keyword ??= word;
    if (ctx.spellings.has(word)) return;
    ctx.spellings.add(word);
    diag(
      out,
      file,
      line,
      'info',
      'SETTINGS_KEYWORD_CASE',
      `"${word}" read as ${canonical} (keywords are read in any case, as Avaya's own upgrade scripts need; later lines with this spelling are not reported)`,
    );
  };
  spelled(written, kw);
  const rest = trimmed.slice(written.length).replace(/^[ \t]+/, '');
  const trailingText = (st: Statement, trailing: string, what: string): Statement => {
    if (!trailing) return st;
    diag(
      out,
      file,
      line,
      'warning',
      'SETTINGS_TRAILING_TEXT',
      `${what}: "${trailing.slice(0, 40)}" after it is ignored (the phone stops reading there)`,
    );
    return { ...st, trailing };
  };
  const nonAscii = (text: string, what: string) => {
    if (NON_ASCII.test(text)) {
      diag(
        out,
        file,
        line,
        'warning',
        'SETTINGS_NON_ASCII',
        `${what}: non-ASCII characters outside a comment; phones read settings as ASCII`,
      );
    }
  };

  switch (kw) {
    case 'SET':
    case 'ADD': {
      const kind = kw === 'SET' ? 'set' : 'add';
      const m = /^(\S+)(?:[ \t]+(.*))?$/.exec(rest);
      if (!m?.[1]) {
        diag(out, file, line, 'error', 'SETTINGS_MALFORMED', `${kw} without a parameter name; ignored`);
        return comment();
      }
      const name = m[1];
      if (name.includes('=')) {
        const [n, v] = [name.slice(0, name.indexOf('=')), name.slice(name.indexOf('=') + 1)];
        diag(
          out,
          file,
          line,
          'error',
          'SETTINGS_MALFORMED',
          `"${kw} ${name.slice(0, 60)}": '=' does not separate a name from its value (write "${kw} ${n} ${v}"); the phone sees no parameter of that name and ignores the line`,
        );
        return comment();
      }
      const split = splitValue((m[2] ?? '').trim());
      const raw = split.raw;
      nonAscii(`${name} ${raw}`, name);
      if (CURLY.test(raw)) {
        diag(
          out,
          file,
          line,
          'error',
          'SETTINGS_CURLY_QUOTES',
          `${name}: curly quotes are not quotes to the phones; use straight double quotes (")`,
        );
      }
      if (raw.startsWith('"') && (raw.length === 1 || !raw.endsWith('"'))) {
        diag(
          out,
          file,
          line,
          'error',
          'SETTINGS_UNTERMINATED_QUOTE',
          `${name}: the quoted value is not closed on this line (values cannot span lines)`,
        );
        return { kind, line, name, value: raw.slice(1), raw, ...extra };
      }
      return trailingText(
        { kind, line, name, value: unquoteValue(raw), raw, ...extra },
        split.trailing,
        `${kw} ${name}`,
      );
    }
    case 'GOTO': {
      const { word, trailing } = firstWord(rest);
      if (!word) {
        diag(out, file, line, 'error', 'SETTINGS_MALFORMED', `${written} needs a tag; ignored`);
        return comment();
      }
      nonAscii(word, `${kw} ${word}`);
      return trailingText({ kind: 'goto', line, tag: word, ...extra }, trailing, `GOTO ${word}`);
    }
    case 'IF': {
      const m = /^\$(\S+)[ \t]+(\S+)[ \t]+("[^"]*"|\S+)[ \t]+(\S+)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(rest);
      if (!m?.[1] || m[2]?.toUpperCase() !== 'SEQ' || m[4]?.toUpperCase() !== 'GOTO' || !m[5]) {
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
      nonAscii(`${m[1]} ${m[3]} ${m[5]}`, 'IF');
      spelled(m[2], 'SEQ');
      spelled(m[4], 'GOTO');
      const st: IfStatement = {
        kind: 'if',
        line,
        variable: m[1],
        operand: unquoteValue(m[3] ?? ''),
        tag: m[5],
        ...extra,
      };
      return trailingText(st, (m[6] ?? '').trim(), `IF … GOTO ${m[5]}`);
    }
    case 'GET': {
      const { word, trailing } = firstWord(rest);
      if (!word) {
        diag(out, file, line, 'error', 'SETTINGS_MALFORMED', `${written} needs a file name; ignored`);
        return comment();
      }
      nonAscii(word, `GET ${word}`);
      return trailingText({ kind: 'get', line, file: word, ...extra }, trailing, `GET ${word}`);
    }
  }
}

function leadingWhitespace(ctx: LineContext, line: number): void {
  diag(
    ctx.out,
    ctx.file,
    line,
    'warning',
    'SETTINGS_LEADING_WHITESPACE',
    'statement starts with whitespace (read as a statement; strict phones read it as a comment)',
  );
}
