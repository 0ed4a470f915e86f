import { escapeXml } from '../../core/xml.js';
import { readXml, type XmlElement } from './xml.js';

/**
 * WML 1.3 for the Avaya phones' browser (the Display push): escaping, a validity checker with the rules of
 * the WML 1.3 DTD that matter for pushed decks, and variable substitution as a WML user agent does it.
 * Pure; used by the content builders, the phone simulator and the tests.
 *
 * - In WML `$` starts a variable reference (`$name`, `$(name)`, `$(name:escape|noesc|unesc)`, WML 1.3
 *   §10.3), in text and in attributes of type %vdata/%HREF (title, label, href, value, alt, src…); a
 *   literal `$` is written `$$`. Anything else after `$` is an error.
 * - Every `<do>` of a card must have a distinct name; `name` defaults to `type` (§9.7), so two
 *   `type="options"` softkeys without names are an error.
 * - Element structure per the DTD: `wml (head?, template?, card+)`, `card (onevent*, timer?, (do|p|pre)*)`,
 *   text only inside `p`, `pre`, `a`, `anchor`, `option`, `td` and the emphasis elements; required attributes
 *   (`do@type`, `go@href`, `a@href`, `img@alt`, `img@src`, `postfield@name`, `setvar@name`/`value`…); unique
 *   card ids.
 */

/** Escapes a value for WML text or a %vdata/%HREF attribute: XML escaping, then `$` → `$$`. */
export function escapeWml(value: unknown): string {
  return escapeXml(value).replace(/\$/g, () => '$$');
}

export interface WmlProblem {
  /** Stable rule id: `structure`, `text-placement`, `required-attribute`, `duplicate-do-name`,
   * `duplicate-card-id`, `variable`, `not-xml`. */
  rule: string;
  message: string;
}

export type WmlCheck = { ok: true; root: XmlElement } | { ok: false; problems: WmlProblem[] };

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONVERSIONS = new Set(['e', 'escape', 'n', 'noesc', 'u', 'unesc']);

/**
 * Substitutes WML variable references in `s` (`$$` → `$`; unknown variables → empty, as a user agent does).
 * Throws a WmlVariableError for a malformed reference.
 */
export function substituteWmlVariables(s: string, vars: Readonly<Record<string, string>> = {}): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    if (next === '(') {
      const close = s.indexOf(')', i + 2);
      if (close < 0) throw new WmlVariableError(s, i, 'unclosed $(');
      const inner = s.slice(i + 2, close);
      const [name, conv, ...rest] = inner.split(':');
      if (!VAR_NAME.test(name ?? '') || rest.length > 0 || (conv !== undefined && !CONVERSIONS.has(conv)))
        throw new WmlVariableError(s, i, `bad reference $(${inner.slice(0, 40)})`);
      out += vars[name!] ?? '';
      i = close;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 1));
    if (!m) throw new WmlVariableError(s, i, 'a "$" that starts no variable (write $$ for a dollar sign)');
    out += vars[m[0]] ?? '';
    i += m[0].length;
  }
  return out;
}

export class WmlVariableError extends Error {
  constructor(text: string, at: number, why: string) {
    super(`${why} at ${JSON.stringify(text.slice(Math.max(0, at - 10), at + 12))}`);
    this.name = 'WmlVariableError';
  }
}

/** Attributes whose values are %vdata or %HREF in the WML 1.3 DTD (variables allowed, `$` significant). */
const VDATA_ATTRS = new Set([
  'title',
  'label',
  'href',
  'value',
  'ivalue',
  'alt',
  'src',
  'localsrc',
  'onpick',
  'onenterforward',
  'onenterbackward',
  'ontimer',
  'format',
]);
/** Elements whose `name` attribute is %vdata (the others' names are NMTOKENs). */
const VDATA_NAME = new Set(['postfield', 'setvar']);

const EMPHASIS = ['em', 'strong', 'b', 'i', 'u', 'big', 'small'];
const FLOW = ['br', 'img', 'anchor', 'a', 'table', ...EMPHASIS];
const FIELDS = [...FLOW, 'select', 'input', 'fieldset'];
const TASKS = ['go', 'prev', 'noop', 'refresh'];

/** Allowed children and whether text may appear, per element (WML 1.3 DTD, content models simplified to sets). */
const CONTENT: Record<string, { children: string[]; text: boolean }> = {
  wml: { children: ['head', 'template', 'card'], text: false },
  head: { children: ['access', 'meta'], text: false },
  template: { children: ['do', 'onevent'], text: false },
  card: { children: ['onevent', 'timer', 'do', 'p', 'pre'], text: false },
  do: { children: TASKS, text: false },
  onevent: { children: TASKS, text: false },
  go: { children: ['postfield', 'setvar'], text: false },
  prev: { children: ['setvar'], text: false },
  refresh: { children: ['setvar'], text: false },
  p: { children: [...FIELDS, 'do'], text: true },
  pre: {
    children: ['a', 'anchor', 'do', 'b', 'i', 'u', 'em', 'strong', 'br', 'input', 'select'],
    text: true,
  },
  a: { children: ['br', 'img'], text: true },
  anchor: { children: ['br', 'img', 'go', 'prev', 'refresh'], text: true },
  table: { children: ['tr'], text: false },
  tr: { children: ['td'], text: false },
  td: { children: ['img', 'anchor', 'a', 'br', ...EMPHASIS], text: true },
  select: { children: ['optgroup', 'option'], text: false },
  optgroup: { children: ['optgroup', 'option'], text: false },
  option: { children: ['onevent'], text: true },
  fieldset: { children: [...FIELDS, 'do'], text: true },
  ...Object.fromEntries(EMPHASIS.map((e) => [e, { children: FLOW, text: true }])),
  br: { children: [], text: false },
  img: { children: [], text: false },
  input: { children: [], text: false },
  noop: { children: [], text: false },
  postfield: { children: [], text: false },
  setvar: { children: [], text: false },
  timer: { children: [], text: false },
  access: { children: [], text: false },
  meta: { children: [], text: false },
};

const REQUIRED: Record<string, string[]> = {
  do: ['type'],
  go: ['href'],
  a: ['href'],
  img: ['alt', 'src'],
  postfield: ['name'],
  setvar: ['name', 'value'],
  onevent: ['type'],
  timer: ['value'],
  meta: ['content'],
};

/** The text segments of a well-formed document, in order, entities decoded (CDATA as is). */
function textSegments(xml: string): string[] {
  const body = xml
    .replace(/<\?[\s\S]*?\?>/g, '<>')
    .replace(/<!--[\s\S]*?-->/g, '<>')
    .replace(/<!DOCTYPE[^>]*>/i, '<>');
  const out: string[] = [];
  const re = /<!\[CDATA\[([\s\S]*?)\]\]>|<[^>]*>|[^<]+/g;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (!m[0].startsWith('<')) out.push(decodeText(m[0]));
  }
  return out;
}

function decodeText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_m, ref: string) => {
    if (ref[0] === '#')
      return String.fromCodePoint(ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1)));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[ref]!;
  });
}

/** Checks a WML deck against the WML 1.3 rules above. */
export function checkWml(xml: string): WmlCheck {
  const r = readXml(xml);
  if (!r.ok) return { ok: false, problems: [{ rule: 'not-xml', message: r.message }] };
  const problems: WmlProblem[] = [];
  const add = (rule: string, message: string) => {
    if (problems.length < 50) problems.push({ rule, message });
  };
  const root = r.root;
  if (root.name !== 'wml') add('structure', `the root element is <${root.name}>, not <wml>`);
  const cardIds = new Set<string>();

  const walk = (e: XmlElement, path: string) => {
    const model = CONTENT[e.name];
    if (!model) {
      add('structure', `<${e.name}> is not a WML 1.3 element (in ${path})`);
      return;
    }
    if (!model.text && e.text.trim() !== '')
      add('text-placement', `text directly inside <${e.name}> (${path}); text belongs in <p>`);
    for (const a of REQUIRED[e.name] ?? []) {
      if (e.attrs[a] === undefined) add('required-attribute', `<${e.name}> needs a ${a} attribute (${path})`);
    }
    for (const [name, value] of Object.entries(e.attrs)) {
      if (!VDATA_ATTRS.has(name) && !(name === 'name' && VDATA_NAME.has(e.name))) continue;
      try {
        substituteWmlVariables(value);
      } catch (err) {
        add('variable', `${e.name}@${name}: ${(err as Error).message}`);
      }
    }
    for (const c of e.children) {
      if (!model.children.includes(c.name)) {
        add('structure', `<${c.name}> is not allowed inside <${e.name}> (${path})`);
        continue;
      }
      walk(c, `${path}/${c.name}`);
    }
  };

  if (root.name === 'wml') {
    const order = root.children.map((c) => c.name);
    const cards = order.filter((n) => n === 'card').length;
    if (cards === 0) add('structure', '<wml> needs at least one <card>');
    const firstCard = order.indexOf('card');
    const heads = order.filter((n) => n === 'head').length;
    const templates = order.filter((n) => n === 'template').length;
    if (heads > 1 || templates > 1) add('structure', '<wml> has more than one <head> or <template>');
    if (
      (heads === 1 && order.indexOf('head') !== 0) ||
      (templates === 1 && firstCard >= 0 && order.indexOf('template') > firstCard)
    )
      add('structure', '<wml> content must be head?, template?, card+ in that order');
    walk(root, 'wml');
    // Names are unique per card; a card <do> named like a template <do> overrides it (§9.7): allowed.
    for (const card of root.children.filter((c) => c.name === 'card')) {
      const id = card.attrs.id;
      if (id !== undefined) {
        if (cardIds.has(id)) add('duplicate-card-id', `two cards have id "${id}"`);
        cardIds.add(id);
      }
      const seen = new Set<string>();
      const dos: XmlElement[] = [];
      const collect = (e: XmlElement) => {
        for (const c of e.children) {
          if (c.name === 'do') dos.push(c);
          else collect(c);
        }
      };
      collect(card);
      for (const d of dos) {
        const name = d.attrs.name ?? d.attrs.type ?? '';
        if (seen.has(name))
          add(
            'duplicate-do-name',
            `card "${id ?? ''}" has two <do> elements named "${name}"${d.attrs.name === undefined ? ' (name defaults to type)' : ''}`,
          );
        seen.add(name);
      }
      const kinds = card.children.map((c) => c.name);
      const lastEvent = kinds.lastIndexOf('onevent');
      const timer = kinds.indexOf('timer');
      const firstContent = kinds.findIndex((k) => k === 'do' || k === 'p' || k === 'pre');
      if (
        kinds.filter((k) => k === 'timer').length > 1 ||
        (timer >= 0 && lastEvent > timer) ||
        (firstContent >= 0 && (lastEvent > firstContent || timer > firstContent))
      )
        add('structure', `card "${id ?? ''}" content must be onevent*, timer?, (do | p | pre)*`);
    }
  }
  for (const t of textSegments(xml)) {
    try {
      substituteWmlVariables(t);
    } catch (err) {
      add('variable', `text: ${(err as Error).message}`);
    }
  }
  return problems.length === 0 ? { ok: true, root } : { ok: false, problems };
}
