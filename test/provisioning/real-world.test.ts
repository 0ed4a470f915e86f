import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeSettingsBytes,
  decodeWindows1252,
  encodeSettingsText,
} from '../../src/provisioning/encoding.js';
import {
  canonicalModel,
  type EvalInputs,
  evaluateSettings,
  parseVariableAssignments,
} from '../../src/provisioning/evaluate.js';
import { lintSettings } from '../../src/provisioning/lint.js';
import { nearestParameter } from '../../src/provisioning/parameters.js';
import { parseSettings } from '../../src/provisioning/syntax.js';

/**
 * Issue 14 (items 1–6): the classes of real files the parser, evaluator and linter must read the way
 * a phone does. Fixtures in test/fixtures/provisioning/real-world/ are written for these tests.
 */

const dir = new URL('../fixtures/provisioning/real-world/', import.meta.url);
const bytes = (name: string) => readFileSync(new URL(name, dir));
const fixture = (name: string) => decodeSettingsBytes(bytes(name), name).text;
const codes = (text: string, name = 'f.txt') =>
  lintSettings({ name, text }).diagnostics.map((d) => `${d.line}:${d.code}`);
const files =
  (map: Record<string, string>) =>
  (n: string): string | undefined =>
    map[n];

/** A large CRLF Windows-1252 template like the stock ones: ~1 MB, smart quotes in every comment block. */
function bigTemplate(): Buffer {
  const head = [
    '## 46xxsettings.txt \u2013 \u201cstock\u201d template written for this test (don\u2019t edit the tags)',
    'IF $MODEL4 SEQ J179 GOTO J100',
    'IF $MODEL4 SEQ 9611 goto SETTINGS96X1',
  ];
  const body: string[] = [];
  for (let i = 0, size = 0; size < 1_000_000; i++) {
    const block = [
      `# SECTION${i}        ##`,
      `## \u201cSection ${i}\u201d \u2013 set \u2018DNSSRVR\u2019 for the site\u2019s resolver \u2026 r\u00e9sum\u00e9`,
      '## SET DNSSRVR 192.0.2.53',
      `SET SNTPSRVR 192.0.2.${i % 250}`,
    ];
    size += block.join('\r\n').length + 2; // one byte per character in Windows-1252
    body.push(...block);
  }
  const tail = [
    'GOTO END',
    '# SETTINGS96X1        ##',
    'SET SIPDOMAIN corp.example',
    'goto END',
    '# J100        ##',
    'SET ENABLE_OPUS 1',
    '# END',
  ];
  return encodeSettingsText(`${[...head, ...body, ...tail].join('\r\n')}\r\n`, 'windows-1252');
}

describe('1. encodings: UTF-8, else Windows-1252, remembered and never mangled', () => {
  it('decodes the 32 Windows-1252 code points Node 20 gets wrong, and round-trips every byte string', () => {
    expect(decodeWindows1252(Buffer.from([0x93, 0x41, 0x94, 0x80, 0x85, 0xe9]))).toBe(
      '\u201cA\u201d\u20ac\u2026\u00e9',
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => {
        const b = Buffer.from(raw.map((x) => x || 1)); // no NUL: NUL means "not text"
        const d = decodeSettingsBytes(b);
        expect(Buffer.compare(encodeSettingsText(d.text, d.encoding, d.bom), b)).toBe(0);
      }),
    );
  });

  it('valid UTF-8 (with or without BOM) stays UTF-8; NUL bytes are refused as not text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.boolean(), (s, bom) => {
        const text = s.replace(/\0/g, '');
        const d = decodeSettingsBytes(encodeSettingsText(text, 'utf-8', bom));
        expect(d).toEqual({ text, encoding: 'utf-8', bom });
      }),
    );
    expect(() => decodeSettingsBytes(Buffer.from([0x53, 0, 0x54]))).toThrow(
      expect.objectContaining({ code: 'SETTINGS_NOT_TEXT' }),
    );
    expect(() => encodeSettingsText('\u4e2d', 'windows-1252')).toThrow(
      expect.objectContaining({ code: 'SETTINGS_NOT_ENCODABLE' }),
    );
  });

  it('a CRLF Windows-1252 stock template lints and evaluates; non-ASCII warns only outside comments', async () => {
    const d = decodeSettingsBytes(bytes('stock-template-cp1252.txt'));
    expect(d.encoding).toBe('windows-1252');
    expect(d.text).toContain('\u201cedit the values below\u201d');
    const r = lintSettings({ name: 'stock.txt', text: d.text, encoding: d.encoding });
    expect(r.encoding).toBe('windows-1252');
    expect(r.errors).toBe(0);
    const nonAscii = r.diagnostics.filter((x) => x.code === 'SETTINGS_NON_ASCII').map((x) => x.line);
    // Line 13: SET IPO_ADHOC_CONFERENCE_NAME "Café Konferenz". Line 18's ’ is in a "## comment".
    expect(nonAscii).toEqual([13]);
    expect(r.diagnostics.find((x) => x.code === 'SETTINGS_ENCODING')?.severity).toBe('info');
    const ev = await evaluateSettings({ name: 'stock.txt', text: d.text }, { MODEL4: 'J179' });
    expect(ev.values.IPO_ADHOC_CONFERENCE_NAME).toBe('Caf\u00e9 Konferenz');
    expect(ev.values.DNSSRVR).toBe('10.1.1.53');
  });

  it('a ~1 MB generated CRLF cp1252 template: every section parsed, lower-case goto followed', async () => {
    const big = bigTemplate();
    expect(big.length).toBeGreaterThan(900_000);
    expect(big.length).toBeLessThanOrEqual(1024 * 1024);
    const d = decodeSettingsBytes(big, '46xxsettings.txt');
    expect(d.encoding).toBe('windows-1252');
    const lint = lintSettings({ name: '46xxsettings.txt', text: d.text, encoding: d.encoding });
    expect(lint.errors).toBe(0);
    // The only warnings: the two tags a GOTO names have trailing "##" (read as the tag, reported).
    const warnings = lint.diagnostics.filter((x) => x.severity === 'warning');
    expect(warnings.map((x) => x.code)).toEqual(['SETTINGS_TRAILING_TEXT', 'SETTINGS_TRAILING_TEXT']);
    const ev = await evaluateSettings({ name: '46xxsettings.txt', text: d.text }, { MODEL4: '9611' });
    expect(ev.values).toEqual({ SIPDOMAIN: 'corp.example' });
    expect(ev.end).toBe('eof');
    const j = await evaluateSettings({ name: '46xxsettings.txt', text: d.text }, { MODEL4: 'J179' });
    expect(j.values).toEqual({ ENABLE_OPUS: '1' });
    // Any other model reads every section (thousands of SETs of one parameter, the last one wins).
    const other = await evaluateSettings({ name: '46xxsettings.txt', text: d.text }, { MODEL4: '9641' });
    expect(Object.keys(other.values)).toEqual(['SNTPSRVR']);
    expect(other.settings[0]?.history.length).toBeGreaterThan(10);
  });
});

describe('2. keywords in any case', () => {
  it("the upgrade script's lower-case goto branches are followed, each keyword case reported once", async () => {
    const text = fixture('upgrade-lowercase.txt');
    const run = (inputs: EvalInputs) =>
      evaluateSettings(
        { name: 'upgrade.txt', text },
        inputs,
        files({ '46xxsettings.txt': 'SET X_DONE 1\n' }),
      );
    const h323 = await run({ MODEL4: '9611', SIG: '1' });
    expect(h323.values.APPNAME).toBe('S96x1_HALBR6_8_5_02_V474.tar');
    expect(h323.files).toEqual(['upgrade.txt', '46xxsettings.txt']);
    const sha2 = await run({ MODEL4: '9641', SHA2CAPABLE: '1' });
    expect(sha2.values.APPNAME).toBe('S96x1_SALBR7_1_15_0_6_V476.tar');
    const old = await run({ MODEL4: '9608' });
    expect(old.values.APPNAME).toBe('S96x1_SALBR7_1_2_0_14_V474.tar');
    expect(old.trace.find((t) => t.kind === 'goto')?.detail).toContain('written "goto"');
    const lint = lintSettings({ name: 'upgrade.txt', text });
    expect(lint.errors + lint.warnings).toBe(0);
    expect(lint.diagnostics.filter((d) => d.code === 'SETTINGS_KEYWORD_CASE').map((d) => d.line)).toEqual([
      4, 33,
    ]);
  });

  it('any casing of every keyword reads the same as upper case (property)', () => {
    const lines = ['SET A 1', 'ADD B x', 'IF $GROUP SEQ 2 GOTO T', 'GOTO T', '# T', 'GET next.txt'];
    const strip = (f: ReturnType<typeof parseSettings>) => f.statements.map(({ keyword: _k, ...st }) => st);
    const upper = strip(parseSettings(lines.join('\n')));
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (flips) => {
        let k = 0;
        const mixed = lines.map((l) =>
          l.replace(/\b(SET|ADD|IF|SEQ|GOTO|GET)\b/g, (w) =>
            [...w].map((c) => (flips[k++ % flips.length] ? c.toLowerCase() : c)).join(''),
          ),
        );
        expect(strip(parseSettings(mixed.join('\n')))).toEqual(upper);
      }),
    );
  });
});

describe('3. variables as the phone evaluates them', () => {
  it('SET SIG earlier in the file is what IF $SIG tests; a given value is overridden by the SET', async () => {
    const text = 'SET SIG 2\nIF $SIG SEQ 2 GOTO SIP\nSET WRONG 1\n# SIP\nSET RIGHT 1\n';
    const r = await evaluateSettings({ name: 'f.txt', text }, { MODEL4: '9611', SIG: '1' });
    expect(r.values).toEqual({ SIG: '2', RIGHT: '1' });
    expect(r.trace.find((t) => t.kind === 'if')?.detail).toContain('[set on f.txt:1]');
    // Without the SET, SIG is 0 by default (not "SIP"), and a given value counts.
    const def = await evaluateSettings(
      { name: 'f.txt', text: 'IF $SIG SEQ 0 GOTO D\nSET NO 1\n# D\n' },
      {
        MODEL4: 'J179',
      },
    );
    expect(def.values).toEqual({});
    expect(lintSettings({ name: 'f.txt', text }).diagnostics.filter((d) => d.severity !== 'info')).toEqual(
      [],
    );
  });

  it("every variable a phone knows can be given; the phone's own values are not changed by a SET", async () => {
    const text = [
      'SET MODEL4 9999',
      'IF $MODEL4 SEQ J179 GOTO A',
      'GOTO END',
      '# A',
      'IF $HWVERS SEQ J179D02A GOTO B',
      'GOTO END',
      '# B',
      'IF $phonecc SEQ 49 GOTO C',
      'GOTO END',
      '# C',
      'IF $SITE_FLAG SEQ on GOTO D',
      'GOTO END',
      '# D',
      'SET REACHED 1',
      'SET TARGET fw_$APPNAME_x',
      '# END',
    ].join('\n');
    const vars = parseVariableAssignments(['HWVERS=J179D02A', 'phonecc=49', 'site_flag=on', 'APPNAME=a']);
    const r = await evaluateSettings({ name: 'f.txt', text }, { MODEL4: 'J179', ...vars });
    expect(r.values.REACHED).toBe('1');
    expect(r.inputs).toMatchObject({ HWVERS: 'J179D02A', PHONECC: '49', SITE_FLAG: 'on', MODEL: 'J179' });
    const lint = codes(text);
    expect(lint).toContain('1:SETTINGS_SET_READONLY');
    expect(lint).toContain('11:SETTINGS_UNKNOWN_VARIABLE');
    // Unknown, not given and not set: the IF is ignored (the phones' rule), and the trace says so.
    const u = await evaluateSettings(
      { name: 'f.txt', text },
      { MODEL4: 'J179', HWVERS: 'J179D02A', PHONECC: '49' },
    );
    expect(u.values.REACHED).toBeUndefined();
    expect(u.trace.some((t) => t.detail.startsWith('$SITE_FLAG unknown: IF ignored'))).toBe(true);
  });

  it('--var assignments are validated; models are case-insensitive or refused', () => {
    expect(parseVariableAssignments(['sig=2', '$GROUP=3', 'X='])).toEqual({ SIG: '2', GROUP: '3', X: '' });
    for (const bad of ['=2', 'A B=1', 'NOEQUALS', `A=${'x'.repeat(300)}`, 'A=1\n2']) {
      expect(() => parseVariableAssignments([bad])).toThrow(
        expect.objectContaining({ code: 'SETTINGS_BAD_VARIABLE' }),
      );
    }
    expect(canonicalModel('j179')).toBe('J179');
    expect(canonicalModel('ACI')).toBe('aci');
    expect(() => canonicalModel('j17')).toThrow(expect.objectContaining({ code: 'SETTINGS_UNKNOWN_MODEL' }));
  });
});

describe('4. trailing text: read as the phone would, with a warning', () => {
  it('tag, GOTO, IF, GET and values followed by comments or junk', async () => {
    const text = fixture('handwritten-broken.txt');
    const r = await evaluateSettings(
      { name: '46xxsettings.txt', text },
      { MODEL4: 'J179', GROUP: '2' },
      files({ '46xxspecials.txt': 'SET FROM_SPECIALS 1\n' }),
    );
    expect(r.values.SIPDOMAIN).toBe('corp.example');
    expect(r.values.SCREENSAVERON).toBe('5');
    expect(r.values.FROM_SPECIALS).toBe('1');
    expect(r.end).toBe('eof');
    const g0 = await evaluateSettings({ name: '46xxsettings.txt', text }, { MODEL4: 'J179' });
    expect(g0.values.SCREENSAVERON).toBeUndefined();
    const c = codes(text);
    for (const at of [5, 9, 10, 11, 15]) expect(c).toContain(`${at}:SETTINGS_TRAILING_TEXT`);
    expect(c).not.toContain('11:SETTINGS_BAD_TAG');
    expect(c.filter((x) => x.endsWith('SETTINGS_MALFORMED'))).toEqual(['2:SETTINGS_MALFORMED']);
  });

  it('appending whitespace and a #-comment to any statement reads the same statement (property)', () => {
    const statements = [
      'SET SIPDOMAIN corp.example',
      'SET IPO_ADHOC_CONFERENCE_NAME "Conf fa"',
      'SET CELLULAR_DIRECT_NUMBER_LIST "911","9911"',
      'SET MEDIAENCRYPTION 1,2,9',
      'ADD DIALPLAN 9xxx',
      'GOTO END',
      'goto END',
      'IF $GROUP SEQ 2 GOTO END',
      'GET 46xxspecials.txt',
      '# END',
    ];
    const bare = (t: string) => {
      const { trailing: _t, ...st } = parseSettings(t).statements[0] as { trailing?: string };
      return st;
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...statements),
        fc.constantFrom(' ', '\t', '        '),
        fc.constantFrom('#', '##', '# '),
        fc.string({ maxLength: 30 }).map((c) => c.replace(/[\r\n]/g, ' ')),
        (st, gap, hash, comment) => {
          const line = `${st}${gap}${hash}${comment}`;
          const parsed = parseSettings(line).statements[0] as { trailing?: string };
          expect(bare(line)).toEqual(bare(st));
          expect(parsed.trailing).toBe(`${hash}${comment}`.trim());
        },
      ),
    );
  });

  it('the eval trace says what was ignored after a statement', async () => {
    const r = await evaluateSettings(
      { name: 'f.txt', text: 'GOTO END ## skip the lobby\n# LOBBY\n# END   ##\n' },
      { MODEL4: 'J179' },
    );
    expect(r.trace.find((t) => t.kind === 'goto')?.detail).toBe(
      'END (ignored after it: "## skip the lobby")',
    );
    expect(r.trace.find((t) => t.kind === 'tag')?.detail).toBe('END (ignored after it: "##")');
  });

  it('comment lines that look like tags are not duplicate or unreachable tags unless a GOTO names them', () => {
    const text = [
      'GOTO END',
      '# Set this to 1 to enable the feature',
      '# Set this to 0 to disable it',
      '# END',
      '# END',
      'GOTO END',
    ].join('\n');
    expect(codes(text)).toEqual(['5:SETTINGS_DUPLICATE_TAG', '6:SETTINGS_GOTO_BACKWARD']);
  });

  it('a quoted value or a quoted list followed by ## keeps the value', () => {
    const f = parseSettings('SET A "x y" ## note\nSET L "911","9911" # why\nSET U http://h/p#frag\n');
    expect(f.statements.map((s) => (s.kind === 'set' ? [s.value, s.trailing ?? ''] : []))).toEqual([
      ['x y', '## note'],
      ['"911","9911"', '# why'],
      ['http://h/p#frag', ''],
    ]);
  });
});

describe('5. repeatable parameters accumulate', () => {
  it('PHONEKEY lines are all kept, in order, without DUPLICATE_SET', async () => {
    const text = fixture('handwritten-broken.txt');
    const r = await evaluateSettings({ name: 'f.txt', text }, { MODEL4: 'J179' });
    const pk = r.settings.find((s) => s.name === 'PHONEKEY');
    expect(pk?.entries?.map((e) => [e.line, e.value.split(';')[0]])).toEqual([
      [6, 'Key=1'],
      [7, 'Key=2'],
      [8, 'Key=3'],
    ]);
    expect(pk?.value).toContain('Key=3');
    expect(codes(text).some((c) => c.endsWith('SETTINGS_DUPLICATE_SET'))).toBe(false);
    expect(codes('SET SIPDOMAIN a\nSET SIPDOMAIN b\n')).toContain('2:SETTINGS_DUPLICATE_SET');
  });
});

describe('6. linter accuracy', () => {
  it('no false positives on an IP Office style file: comma lists, plain # comments, 3PCC_SERVER_MODE', () => {
    const r = lintSettings({ name: '46xxsettings.txt', text: fixture('ipoffice-style.txt') });
    expect(r.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
  });

  it('catches SET NAME=value, misspelt parameters (nearest known name), #TAG without a space', async () => {
    const text = fixture('handwritten-broken.txt');
    const r = lintSettings({ name: '46xxsettings.txt', text });
    const at = (line: number, code: string) => r.diagnostics.find((d) => d.line === line && d.code === code);
    expect(at(2, 'SETTINGS_MALFORMED')?.severity).toBe('error');
    expect(at(2, 'SETTINGS_MALFORMED')?.message).toContain('SET TFTP_SERVER 10.2.248.2');
    expect(at(3, 'SETTINGS_UNKNOWN_PARAMETER')).toMatchObject({ severity: 'warning' });
    expect(at(3, 'SETTINGS_UNKNOWN_PARAMETER')?.message).toContain('nearest known name: DNSSRVR');
    expect(at(4, 'SETTINGS_ODD_NAME')).toBeDefined();
    expect(at(4, 'SETTINGS_UNKNOWN_PARAMETER')?.message).toContain('nearest known name');
    expect(at(13, 'SETTINGS_BAD_TAG')).toBeDefined();
    const ev = await evaluateSettings({ name: '46xxsettings.txt', text }, { MODEL4: 'J179' });
    expect(Object.keys(ev.values).some((k) => k.includes('='))).toBe(false);
    expect(nearestParameter('sip_controler_list')?.name).toBe('SIP_CONTROLLER_LIST');
  });

  it('a per-MAC file that GETs $MACADDR.txt (itself) is flagged; eval stops at the cycle', async () => {
    const name = '00e0bb4a1c2d.txt';
    const text = fixture(name);
    expect(codes(text, name)).toContain('4:SETTINGS_GET_SELF');
    expect(codes(text, '46xxsettings.txt')).not.toContain('4:SETTINGS_GET_SELF');
    const r = await evaluateSettings({ name, text }, { MODEL4: 'J179', MACADDR: '00e0bb4a1c2d' }, (n) =>
      n === name ? text : undefined,
    );
    expect(r.end).toBe('get-cycle');
  });
});
