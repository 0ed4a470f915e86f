import { formatValue, SettingsFileError } from './syntax.js';

/**
 * Writes settings files. `SettingsWriter` emits single statements with validation (names, tags,
 * values that read back unchanged); `renderSectioned` writes the IP Office structure: a routing block of
 * `IF $MODEL4 SEQ <model> GOTO <SECTION>` lines, `# SECTION` blocks ending in `GOTO …`, a closing
 * `# END` and `GET 46xxspecials.txt`.
 */

const NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/;
const TAG_RE = /^[^\s#"]+$/;
const OPERAND_RE = /^[^\s"]+$/;

export class SettingsWriter {
  private readonly lines: string[] = [];

  comment(text: string): this {
    for (const l of text.split(/\r\n|\r|\n/)) this.lines.push(l.startsWith('##') ? l : `## ${l}`.trimEnd());
    return this;
  }

  set(name: string, value: string | number | boolean): this {
    return this.stmt('SET', name, value);
  }

  add(name: string, value: string | number | boolean): this {
    return this.stmt('ADD', name, value);
  }

  /** `SET NAME <raw>` with the value text written exactly as given (e.g. `"911","9911"`). */
  setRaw(name: string, raw: string): this {
    if (!NAME_RE.test(name))
      throw new SettingsFileError('SETTINGS_BAD_NAME', `SET: bad parameter name ${JSON.stringify(name)}`, {
        field: name,
      });
    if (/[\r\n\0]/.test(raw) || raw !== raw.trim()) {
      throw new SettingsFileError('SETTINGS_VALUE_NEWLINE', `${name}: raw value must be one trimmed line`, {
        field: name,
      });
    }
    this.lines.push(`SET ${name} ${raw}`);
    return this;
  }

  tag(tag: string): this {
    checkTag(tag);
    this.lines.push(`# ${tag}`);
    return this;
  }

  goto(tag: string): this {
    checkTag(tag);
    this.lines.push(`GOTO ${tag}`);
    return this;
  }

  ifSeq(variable: string, operand: string, tag: string): this {
    if (!NAME_RE.test(variable))
      throw new SettingsFileError(
        'SETTINGS_BAD_VARIABLE',
        `IF: bad variable name ${JSON.stringify(variable)}`,
        { field: 'variable' },
      );
    if (!OPERAND_RE.test(operand))
      throw new SettingsFileError(
        'SETTINGS_BAD_OPERAND',
        `IF $${variable}: operand ${JSON.stringify(operand)} must be one word without quotes`,
        { field: 'operand' },
      );
    checkTag(tag);
    this.lines.push(`IF $${variable} SEQ ${operand} GOTO ${tag}`);
    return this;
  }

  /** One IF line per model, all jumping to `tag`. */
  ifModels(models: readonly string[], tag: string): this {
    for (const m of models) this.ifSeq('MODEL4', m, tag);
    return this;
  }

  get(file: string): this {
    if (!/^\S+$/.test(file))
      throw new SettingsFileError('SETTINGS_BAD_FILE_NAME', `GET: bad file name ${JSON.stringify(file)}`, {
        field: 'file',
      });
    this.lines.push(`GET ${file}`);
    return this;
  }

  blank(): this {
    this.lines.push('');
    return this;
  }

  toString(): string {
    return `${this.lines.join('\r\n')}\r\n`;
  }

  private stmt(kw: 'SET' | 'ADD', name: string, value: string | number | boolean): this {
    if (!NAME_RE.test(name))
      throw new SettingsFileError('SETTINGS_BAD_NAME', `${kw}: bad parameter name ${JSON.stringify(name)}`, {
        field: name,
      });
    const v = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    this.lines.push(`${kw} ${name} ${formatValue(v, name)}`);
    return this;
  }
}

function checkTag(tag: string): void {
  if (!TAG_RE.test(tag))
    throw new SettingsFileError(
      'SETTINGS_BAD_TAG',
      `bad tag ${JSON.stringify(tag)} (one word, no quotes or #)`,
      { field: 'tag' },
    );
}

export interface SettingLine {
  name: string;
  value: string;
  op?: 'set' | 'add';
  /** Write the value text as is (a list of quoted strings such as `"911","9911"`). */
  raw?: boolean;
  /** Quote the value even when it has no spaces (IP Office quotes URLs and names). */
  quoted?: boolean;
}

export interface Section {
  tag: string;
  settings: SettingLine[];
  /** Extra routing inside the section, written after its settings: model → section tag. */
  routes?: Array<{ models: readonly string[]; tag: string }>;
  /** Conditional routes on other variables, written before the settings (`IF $SIG_IN_USE SEQ H323 …`). */
  guards?: Array<{ variable: string; operand: string; tag: string }>;
  /** Where to continue afterwards; undefined = fall through into the next section. */
  next?: string;
}

export interface SectionedFile {
  header: string[];
  /** Top routing: model lists → section; everything else goes to `defaultTag`. */
  routes: Array<{ models: readonly string[]; tag: string }>;
  defaultTag: string;
  sections: Section[];
  /** Written after `# END` (IP Office: `GET 46xxspecials.txt`). */
  get?: string;
}

/** Renders the IP Office structure. Throws when a route points at a section that does not follow it. */
export function renderSectioned(f: SectionedFile): string {
  const order = new Map<string, number>(f.sections.map((s, i) => [s.tag, i]));
  order.set('END', f.sections.length);
  const need = (tag: string, after: number, where: string) => {
    const at = order.get(tag);
    if (at === undefined || at <= after) {
      throw new SettingsFileError(
        'SETTINGS_BAD_ROUTE',
        `${where}: GOTO ${tag} does not lead to a later section`,
        { field: where },
      );
    }
  };
  const w = new SettingsWriter();
  for (const h of f.header) w.comment(h);
  for (const r of f.routes) {
    need(r.tag, -1, 'routes');
    w.ifModels(r.models, r.tag);
  }
  need(f.defaultTag, -1, 'defaultTag');
  w.goto(f.defaultTag);
  f.sections.forEach((s, i) => {
    w.tag(s.tag);
    for (const g of s.guards ?? []) {
      need(g.tag, i, s.tag);
      w.ifSeq(g.variable, g.operand, g.tag);
    }
    for (const l of s.settings) {
      if (l.raw) w.setRaw(l.name, l.value);
      else if (l.quoted && l.op !== 'add' && !l.value.includes('"'))
        w.setRaw(l.name, `"${formatValue(l.value, l.name).replace(/^"|"$/g, '')}"`);
      else if (l.op === 'add') w.add(l.name, l.value);
      else w.set(l.name, l.value);
    }
    for (const r of s.routes ?? []) {
      need(r.tag, i, s.tag);
      w.ifModels(r.models, r.tag);
    }
    if (s.next !== undefined) {
      need(s.next, i, s.tag);
      w.goto(s.next);
    }
  });
  w.tag('END');
  if (f.get) w.get(f.get);
  return w.toString();
}
