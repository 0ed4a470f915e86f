/**
 * The Spaces Calling profile JSON (seed 002, "Enabling Spaces Calling Support for the Customer Domain" and
 * "Spaces Calling Profile Settings"): what an administrator pastes into Avaya Cloud Services (Apps →
 * Avaya Spaces Calling Extension → JSON) so the Chrome extension / Workplace client finds the IP Office
 * systems. Pure functions: generate from typed entries, validate pasted text with errors worded as the
 * seed words its rules (docs/spaces-profile.md).
 *
 * Seed rules:
 * - "You must enclose setting names and values in " " quote marks and separated by : colon."
 * - "The exception to the above are the true and false values. Do not enclose those values in " " quote
 *   marks."
 * - "You must follow each setting and value pair with a comma, except for the last pair."
 * - Each profile must include Name ("Maximum 14 characters"), Address and AccountsToken.
 * - The dialing settings apply "If you include "DialRule": true in a profile".
 */

export const SPACES_ROOT = 'IP_Office_Server_Profile';
export const SPACES_NAME_MAX = 14;
/** Limits on what is validated (pasted text is peer input). */
export const SPACES_TEXT_MAX = 64 * 1024;
export const SPACES_PROFILES_MAX = 100;

export const SPACES_BOOLEAN_SETTINGS = [
  'AccountsToken',
  'LogDownload',
  'AutoFailover',
  'DialRule',
  'RemoveAreaCode',
  'ApplyToPlusNumber',
] as const;
/** Dialing settings whose values are quoted text (seed: "Dialing Settings"). */
const DIALING_TEXT = [
  'OutsidePrefix',
  'CountryCode',
  'CityCode',
  'PbxPrefix',
  'LongDistancePrefix',
  'InternationalPrefix',
  'ExtensionLength',
  'NationalLength',
] as const;
export const SPACES_STRING_SETTINGS = ['Name', 'Address', 'STUNHost', 'STUNPort', ...DIALING_TEXT] as const;
/** Settings the seed lists under "Dialing Settings" (used only with "DialRule": true). */
export const SPACES_DIALING_SETTINGS = [...DIALING_TEXT, 'RemoveAreaCode', 'ApplyToPlusNumber'] as const;
/** Settings each profile must include (seed: "Each profile must include values for …"; its examples). */
export const SPACES_REQUIRED = ['Name', 'Address', 'AccountsToken'] as const;

type BoolKey = (typeof SPACES_BOOLEAN_SETTINGS)[number];
type StrKey = Exclude<(typeof SPACES_STRING_SETTINGS)[number], 'Name' | 'Address'>;

/** One `IP_Office_Server_Profile` entry. Settings are written in this order (the seed's table order). */
export type SpacesProfile = { Name: string; Address: string; AccountsToken: boolean } & Partial<
  Record<Exclude<BoolKey, 'AccountsToken'>, boolean> & Record<StrKey, string>
>;

const ORDER: readonly string[] = [
  'Name',
  'Address',
  'AccountsToken',
  'LogDownload',
  'STUNHost',
  'STUNPort',
  'AutoFailover',
  'DialRule',
  ...SPACES_DIALING_SETTINGS,
];

/**
 * The profile JSON laid out as the seed's examples are: the array opens on the line after its name, each
 * entry's braces share lines with the brackets (`[{`, `},`, `{`, `}]`), two-space indents.
 */
export function generateSpacesProfile(profiles: readonly SpacesProfile[]): string {
  const entry = (p: SpacesProfile) => {
    const rec = p as Record<string, unknown>;
    return ORDER.filter((k) => rec[k] !== undefined)
      .map((k) => `    ${JSON.stringify(k)}: ${JSON.stringify(rec[k])}`)
      .join(',\n');
  };
  const body = profiles.map(entry).join('\n  },\n  {\n');
  return `{\n  ${JSON.stringify(SPACES_ROOT)}:\n  [{\n${body}\n  }]\n}\n`;
}

export interface SpacesProblem {
  /** Stable code: SPACES_JSON_SYNTAX, SPACES_BOOLEAN_QUOTED … */
  code: string;
  severity: 'error' | 'warning';
  /** Where: `IP_Office_Server_Profile[1].Name`, or '' for the whole text. */
  path: string;
  /** 1-based line in the text, when known. */
  line?: number;
  message: string;
}

export interface SpacesValidation {
  ok: boolean;
  problems: SpacesProblem[];
  profiles: SpacesProfile[];
}

const QUOTE_RULE = 'you must enclose setting names and values in " " quote marks';
const BOOL_RULE = 'true and false values are the exception: do not enclose them in " " quote marks';
const COMMA_RULE = 'follow each setting and value pair with a comma, except for the last pair';

function lineAt(text: string, pos: number): number {
  return text.slice(0, Math.max(0, pos)).split('\n').length;
}

/** Explains a text JSON.parse refused, in the seed's words where a seed rule was broken. */
function syntaxProblems(text: string, err: unknown): SpacesProblem[] {
  const out: SpacesProblem[] = [];
  const add = (code: string, pos: number, message: string) =>
    out.push({ code, severity: 'error', path: '', line: lineAt(text, pos), message });
  const curly = text.search(/[\u201c\u201d\u2018\u2019]/);
  if (curly >= 0)
    add(
      'SPACES_CURLY_QUOTES',
      curly,
      `typographic quote marks (“ ” ‘ ’, e.g. copied from a PDF): ${QUOTE_RULE}, straight double quotes`,
    );
  const single = /'[^'\n]*'\s*:|:\s*'[^'\n]*'/.exec(text);
  if (single) add('SPACES_SINGLE_QUOTES', single.index, `single quote marks: ${QUOTE_RULE} (double quotes)`);
  const bare = /[{,]\s*([A-Za-z_][A-Za-z0-9_]*)\s*:/.exec(text);
  if (bare) add('SPACES_NAME_UNQUOTED', bare.index + bare[0].indexOf(bare[1]!), `${bare[1]}: ${QUOTE_RULE}`);
  const trailing = /,\s*[}\]]/.exec(text);
  if (trailing) add('SPACES_TRAILING_COMMA', trailing.index, `a comma after the last pair: ${COMMA_RULE}`);
  const missing = /("|true|false|\d)\s*\n\s*"[A-Za-z_]+"\s*:/.exec(text);
  if (missing)
    add('SPACES_MISSING_COMMA', missing.index + missing[1]!.length, `a pair without a comma: ${COMMA_RULE}`);
  if (out.length === 0) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = /position (\d+)/.exec(msg);
    out.push({
      code: 'SPACES_JSON_SYNTAX',
      severity: 'error',
      path: '',
      ...(m ? { line: lineAt(text, Number(m[1])) } : {}),
      message: `not valid JSON (${msg.slice(0, 200)})`,
    });
  }
  return out;
}

function lineOfKey(text: string, key: string, nth: number): number | undefined {
  const re = new RegExp(`"${key}"\\s*:`, 'g');
  let m: RegExpExecArray | null = null;
  for (let i = 0; i <= nth; i++) {
    m = re.exec(text);
    if (!m) return undefined;
  }
  return m ? lineAt(text, m.index) : undefined;
}

const FQDN =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const DIGITS = /^[0-9]{1,8}$/;
const DIGIT_LIST = /^[0-9]{1,8}(,[0-9]{1,8}){0,15}$/;

/** Checks one value's form beyond its type (seed examples: "STUNPort": "3478", "CityCode": "555,777"). */
function formProblem(key: string, v: string): string | undefined {
  if (key === 'Name') {
    if (v.trim() === '') return 'Name: must not be empty (users see and select it during login)';
    if ([...v].length > SPACES_NAME_MAX)
      return `Name: ${[...v].length} characters; Maximum ${SPACES_NAME_MAX} characters (seed 002)`;
    return undefined;
  }
  if (key === 'Address' || key === 'STUNHost')
    return FQDN.test(v)
      ? undefined
      : `${key}: ${JSON.stringify(v.slice(0, 80))} is not a host name or IP address`;
  if (key === 'STUNPort') {
    const n = Number(v);
    return DIGITS.test(v) && n >= 1 && n <= 65535
      ? undefined
      : `STUNPort: ${JSON.stringify(v.slice(0, 20))} is not a port (the standard STUN port is "3478")`;
  }
  if (key === 'CityCode' || key === 'ExtensionLength' || key === 'NationalLength')
    return DIGIT_LIST.test(v)
      ? undefined
      : `${key}: digits, or a comma-separated list of them (e.g. "555,777")`;
  return DIGITS.test(v) ? undefined : `${key}: digits only (e.g. "9")`;
}

const KNOWN = new Map<string, string>(
  [...SPACES_BOOLEAN_SETTINGS, ...SPACES_STRING_SETTINGS].map((k) => [k.toLowerCase(), k]),
);

/** Validates pasted profile JSON; every problem names where it is and the seed rule it breaks. */
export function validateSpacesProfile(text: string): SpacesValidation {
  const problems: SpacesProblem[] = [];
  const fail = (code: string, path: string, message: string, line?: number): SpacesValidation => ({
    ok: false,
    problems: [{ code, severity: 'error', path, ...(line ? { line } : {}), message }],
    profiles: [],
  });
  if (text.length > SPACES_TEXT_MAX)
    return fail('SPACES_TOO_LARGE', '', `${text.length} characters; at most ${SPACES_TEXT_MAX} are checked`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: syntaxProblems(text, e), profiles: [] };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    return fail('SPACES_ROOT_INVALID', '', `the text must be one object { "${SPACES_ROOT}": [ … ] }`);
  const root = doc as Record<string, unknown>;
  for (const k of Object.keys(root))
    if (k !== SPACES_ROOT)
      problems.push({
        code:
          k.toLowerCase() === SPACES_ROOT.toLowerCase() ? 'SPACES_ROOT_INVALID' : 'SPACES_UNKNOWN_SETTING',
        severity: k.toLowerCase() === SPACES_ROOT.toLowerCase() ? 'error' : 'warning',
        path: k,
        message: `${JSON.stringify(k)} is not "${SPACES_ROOT}" (names are case-sensitive)`,
      });
  const list = root[SPACES_ROOT];
  if (!Array.isArray(list) || list.length === 0)
    return {
      ok: false,
      problems: [
        ...problems,
        {
          code: 'SPACES_ROOT_INVALID',
          severity: 'error',
          path: SPACES_ROOT,
          message: `"${SPACES_ROOT}" must be a list [{ … }] of one profile per IP Office system`,
        },
      ],
      profiles: [],
    };
  if (list.length > SPACES_PROFILES_MAX)
    return fail('SPACES_TOO_LARGE', SPACES_ROOT, `${list.length} profiles; at most ${SPACES_PROFILES_MAX}`);
  const profiles: SpacesProfile[] = [];
  const names = new Map<string, number>();
  const seen = new Map<string, number>();
  list.forEach((raw, i) => {
    const at = `${SPACES_ROOT}[${i}]`;
    const add = (code: string, key: string, message: string, severity: 'error' | 'warning' = 'error') => {
      const line = key ? lineOfKey(text, key, seen.get(key) ?? 0) : undefined;
      problems.push({ code, severity, path: key ? `${at}.${key}` : at, ...(line ? { line } : {}), message });
    };
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      add(
        'SPACES_PROFILE_INVALID',
        '',
        'each profile is an object { "Name": …, "Address": …, "AccountsToken": … }',
      );
      return;
    }
    const p = raw as Record<string, unknown>;
    const before = problems.length;
    for (const [k, v] of Object.entries(p)) {
      const known = KNOWN.get(k.toLowerCase());
      if (!known) {
        add('SPACES_UNKNOWN_SETTING', k, `${k}: not a Spaces Calling profile setting (seed 002)`, 'warning');
      } else if (known !== k) {
        add('SPACES_SETTING_CASE', k, `${k}: write it "${known}" (setting names are case-sensitive)`);
      } else if ((SPACES_BOOLEAN_SETTINGS as readonly string[]).includes(k)) {
        if (v === 'true' || v === 'false')
          add('SPACES_BOOLEAN_QUOTED', k, `${k}: ${BOOL_RULE}: write "${k}": ${v}`);
        else if (typeof v !== 'boolean') add('SPACES_BOOLEAN_INVALID', k, `${k}: must be true or false`);
      } else if (typeof v === 'number') {
        add('SPACES_VALUE_UNQUOTED', k, `${k}: ${QUOTE_RULE}: write "${k}": "${v}"`);
      } else if (typeof v !== 'string') {
        add('SPACES_VALUE_INVALID', k, `${k}: must be a text value in " " quote marks`);
      } else {
        const why = formProblem(k, v);
        if (why) add(k === 'Name' ? 'SPACES_NAME_INVALID' : 'SPACES_VALUE_INVALID', k, why);
      }
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    for (const k of SPACES_REQUIRED)
      if (!(k in p)) add('SPACES_SETTING_MISSING', '', `${k}: each profile must include a value for ${k}`);
    if (p.DialRule !== true)
      for (const k of SPACES_DIALING_SETTINGS)
        if (k in p)
          add(
            'SPACES_DIALING_WITHOUT_DIALRULE',
            k,
            `${k}: dialing settings are used only if you include "DialRule": true in the profile`,
            'warning',
          );
    if (typeof p.Name === 'string') {
      const prev = names.get(p.Name);
      if (prev !== undefined)
        add(
          'SPACES_NAME_DUPLICATE',
          'Name',
          `Name: "${p.Name}" is also profile ${prev}; users select the system by name during login`,
        );
      else names.set(p.Name, i);
    }
    if (problems.slice(before).every((x) => x.severity === 'warning')) profiles.push(p as SpacesProfile);
  });
  return { ok: problems.every((x) => x.severity === 'warning'), problems, profiles };
}

/** Settings shared by every generated profile (the CLI's flags, the API's query). */
export interface SpacesProfileOptions {
  AccountsToken: boolean;
  LogDownload?: boolean;
  AutoFailover?: boolean;
  STUNHost?: string;
  STUNPort?: string;
}

/** A configured IP Office system as the generator needs it. */
export interface SpacesSystem {
  id: string;
  name: string;
  address: string;
  settings: { spaces?: { name?: string; address?: string } };
}

/** The host of a device address (`10.0.0.5:50797` → `10.0.0.5`, `[::1]:1` → `::1`). */
function hostOf(address: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(address);
  if (v6) return v6[1]!;
  return address.split(':')[0] ?? address;
}

/**
 * One profile per IP Office system: Name from `settings.spaces.name` or the device name, Address from
 * `settings.spaces.address` or the device's host; the shared options after. Validate the result with
 * validateSpacesProfile (a device name longer than 14 characters is reported, never cut).
 */
export function spacesProfilesFrom(
  systems: readonly SpacesSystem[],
  o: SpacesProfileOptions,
): SpacesProfile[] {
  return systems.map((d) => ({
    Name: d.settings.spaces?.name ?? (d.name || d.id),
    Address: d.settings.spaces?.address ?? hostOf(d.address),
    AccountsToken: o.AccountsToken,
    ...(o.LogDownload !== undefined ? { LogDownload: o.LogDownload } : {}),
    ...(o.STUNHost ? { STUNHost: o.STUNHost } : {}),
    ...(o.STUNPort ? { STUNPort: o.STUNPort } : {}),
    ...(o.AutoFailover !== undefined ? { AutoFailover: o.AutoFailover } : {}),
  }));
}
