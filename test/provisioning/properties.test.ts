import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  DESKPHONES,
  generateSettingsFile,
  generateSpecialsFile,
  M96X1,
  WORKPLACE,
} from '../../src/provisioning/autogen.js';
import {
  CLIENT_FAMILIES,
  type ClientFamily,
  type ProvisioningConfig,
  ProvisioningSchema,
} from '../../src/provisioning/config.js';
import { type EvalInputs, evaluateSettings } from '../../src/provisioning/evaluate.js';
import { lintSettings } from '../../src/provisioning/lint.js';
import {
  formatValue,
  parseSettings,
  SettingsFileError,
  unquoteValue,
} from '../../src/provisioning/syntax.js';

const cfgOf = (over: Record<string, unknown>) =>
  Value.Default(ProvisioningSchema, structuredClone(over)) as ProvisioningConfig;

const valueArb = fc
  .string({
    unit: fc.constantFrom('a', 'B', '1', ' ', ',', '.', ':', '/', '=', ';', '-', '_', '@', '"', 'é'),
    maxLength: 24,
  })
  .filter((v) => {
    try {
      formatValue(v);
      return true;
    } catch {
      return false;
    }
  });

describe('values', () => {
  it('formatValue → unquoteValue round-trips, or refuses with a typed error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (v) => {
        try {
          const written = formatValue(v);
          const line = `SET X ${written}`;
          const st = parseSettings(line).statements[0];
          expect(st).toMatchObject({ kind: 'set', name: 'X', value: v });
        } catch (e) {
          expect(e).toBeInstanceOf(SettingsFileError);
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('unquoteValue of a single quoted string drops the quotes only', () => {
    expect(unquoteValue('"a b"')).toBe('a b');
    expect(unquoteValue('"911","9911"')).toBe('"911","9911"');
    expect(unquoteValue('"')).toBe('"');
  });
});

const lineArb = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.constantFrom(
    '# A',
    '# B',
    '# END',
    '## c',
    '...',
    'GOTO A',
    'GOTO B',
    'GOTO END',
    'GOTO NOWHERE',
    'GET f1.txt',
    'GET f2.txt',
    'GET $MACADDR.txt',
    ' SET X "1',
  ),
  fc
    .tuple(fc.constantFrom('SET', 'ADD'), fc.constantFrom('X', 'Y', 'Z'), valueArb)
    .map(([k, n, v]) => `${k} ${n} ${formatValue(v)}`),
  fc
    .tuple(
      fc.constantFrom('MODEL4', 'GROUP', 'SIG_IN_USE', 'FOO'),
      fc.constantFrom('J179', 'aci', '1', 'H323'),
      fc.constantFrom('A', 'B', 'END'),
    )
    .map(([v, o, t]) => `IF $${v} SEQ ${o} GOTO ${t}`),
);
const fileArb = fc
  .array(lineArb, { maxLength: 60 })
  .map((l) => l.join(fc.sample(fc.constantFrom('\n', '\r\n', '\r'), 1)[0]));
const inputsArb: fc.Arbitrary<EvalInputs> = fc.record({
  MODEL4: fc.constantFrom('J179', 'aci', 'acw', '9611'),
  GROUP: fc.constantFrom('0', '1'),
  SIG_IN_USE: fc.constantFrom('SIP', 'H323'),
  MACADDR: fc.constantFrom('f1', 'f2', '001122334455'),
});

describe('parser and evaluator on any input', () => {
  it('parse never throws for text within the limits and numbers its lines', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (t) => {
        const f = parseSettings(t);
        for (const s of f.statements) expect(s.line).toBeGreaterThanOrEqual(1);
        lintSettings(f);
      }),
      { numRuns: 1000 },
    );
  });
  it('refuses oversized files with a typed error', () => {
    expect(() => parseSettings('x'.repeat(2000), 'big.txt', { maxBytes: 1000 })).toThrow(
      expect.objectContaining({ code: 'SETTINGS_FILE_TOO_LARGE' }),
    );
    expect(() => parseSettings('a\n'.repeat(20), 'many.txt', { maxLines: 10 })).toThrow(
      expect.objectContaining({ code: 'SETTINGS_TOO_MANY_LINES' }),
    );
  });
  it('terminates on fuzzed files, GOTO loops (file-wide GOTO) and GET cycles', async () => {
    await fc.assert(
      fc.asyncProperty(
        fileArb,
        fileArb,
        fileArb,
        inputsArb,
        fc.constantFrom<'forward' | 'file'>('forward', 'file'),
        async (a, b, c, inputs, scope) => {
          const files: Record<string, string> = {
            'f1.txt': b,
            'f2.txt': c,
            'main.txt': a,
            '001122334455.txt': a,
          };
          const r = await evaluateSettings({ name: 'main.txt', text: a }, inputs, (n) => files[n], {
            gotoScope: scope,
            maxSteps: 100_000,
          });
          expect(['eof', 'goto-missing', 'loop', 'get-cycle', 'step-limit', 'get-limit']).toContain(r.end);
          expect(r.steps).toBeLessThanOrEqual(100_001);
          expect(r.files.length).toBeLessThanOrEqual(4);
        },
      ),
      { numRuns: 400 },
    );
  });
  it('evaluates every truncation and byte-corruption of the seed files', async () => {
    const seed = readFileSync(new URL('../fixtures/provisioning/46xxsettings.txt', import.meta.url), 'utf8');
    const specials = readFileSync(
      new URL('../fixtures/provisioning/46xxspecials.txt', import.meta.url),
      'utf8',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: seed.length }),
        fc.nat({ max: specials.length }),
        fc.array(fc.tuple(fc.nat({ max: seed.length }), fc.integer({ min: 0, max: 0xffff })), {
          maxLength: 5,
        }),
        inputsArb,
        async (cut, cut2, flips, inputs) => {
          const chars = [...seed.slice(0, cut)];
          for (const [at, code] of flips) if (at < chars.length) chars[at] = String.fromCharCode(code);
          const r = await evaluateSettings({ name: '46xxsettings.txt', text: chars.join('') }, inputs, (n) =>
            n === '46xxspecials.txt' ? specials.slice(0, cut2) : undefined,
          );
          expect(r.files.length).toBeLessThanOrEqual(2);
          for (const st of r.settings) expect(st.line).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stops a GOTO loop and a GET cycle with a diagnostic', async () => {
    const loop = await evaluateSettings(
      { name: 'l.txt', text: '# A\nSET X 1\nGOTO A\n' },
      { MODEL4: 'J179' },
      undefined,
      { gotoScope: 'file' },
    );
    expect(loop.end).toBe('loop');
    expect(loop.diagnostics).toContainEqual(expect.objectContaining({ code: 'SETTINGS_GOTO_LOOP', line: 1 }));
    const fwd = await evaluateSettings(
      { name: 'l.txt', text: '# A\nSET X 1\nGOTO A\nSET Y 2\n' },
      { MODEL4: 'J179' },
    );
    expect(fwd.end).toBe('goto-missing');
    expect(fwd.values).toEqual({ X: '1' });
    const files: Record<string, string> = {
      'a.txt': 'SET A 1\nGET b.txt\n',
      'b.txt': 'SET B 1\nGET a.txt\nSET C 1\n',
    };
    const cyc = await evaluateSettings(
      { name: 'a.txt', text: files['a.txt']! },
      { MODEL4: 'J179' },
      (n) => files[n],
    );
    expect(cyc.end).toBe('get-cycle');
    expect(cyc.values).toEqual({ A: '1', B: '1' });
    const self = await evaluateSettings(
      { name: '$MACADDR.txt', text: 'GET $MACADDR.txt\n' },
      { MODEL4: 'J179', MACADDR: '00aa' },
      () => 'GET $MACADDR.txt\n',
    );
    expect(self.end).toBe('get-cycle');
  });
  it('a GET that is not obtained continues the file; an obtained GET ends it', async () => {
    const text = 'SET A 1\nGET missing.txt\nSET B 2\nGET there.txt\nSET C 3\n';
    const r = await evaluateSettings({ name: 'm.txt', text }, { MODEL4: 'J179', MACADDR: 'aabbcc' }, (n) =>
      n === 'there.txt' ? 'SET D $MACADDR\nADD D x\n' : undefined,
    );
    expect(r.values).toEqual({ A: '1', B: '2', D: 'aabbcc,x' } as Record<string, string>);
  });
});

// ---------------------------------------------------------------------------------------------------
// generate → parse → evaluate gives back the configured settings for every client family.

const FAMILY_MODELS: Array<{ family: string; inputs: EvalInputs }> = [
  ...WORKPLACE.map((m) => ({ family: m, inputs: { MODEL4: m } })),
  { family: 'j100', inputs: { MODEL4: 'J179' } },
  { family: 'j100', inputs: { MODEL4: 'J139', GROUP: '2' } },
  { family: '96x1-sip', inputs: { MODEL4: '9611' } },
  { family: '96x1-h323', inputs: { MODEL4: '9641', SIG_IN_USE: 'H323' } },
  { family: '96xx-h323', inputs: { MODEL4: '9620', SIG_IN_USE: 'H323' } },
  { family: 'k100', inputs: { MODEL4: 'K175' } },
  { family: 'other', inputs: { MODEL4: '1608' } },
];

function familiesFor(model: string): ClientFamily[] {
  const f: ClientFamily[] = ['all'];
  if ((WORKPLACE as readonly string[]).includes(model)) f.push('workplace', model as ClientFamily);
  if ((DESKPHONES as readonly string[]).includes(model)) f.push('deskphone');
  return f;
}

const configArb = fc.record({
  sipDomain: fc.constantFrom('example.com', 'corp.example.org', 'a.b'),
  registrarFqdn: fc.constantFrom('', 'ipo.example.com'),
  transport: fc.constantFrom('tls', 'tcp', 'udp'),
  ports: fc.record({ preferredPhonePorts: fc.boolean() }),
  codecs: fc.subarray(['OPUS', 'G722', 'G711A', 'G711U', 'G729', 'G726']),
  dscp: fc.record({ audio: fc.integer({ min: 0, max: 63 }), signalling: fc.integer({ min: 0, max: 63 }) }),
  rtp: fc.record({
    portLow: fc.integer({ min: 1024, max: 60000 }),
    portRange: fc.integer({ min: 2, max: 5000 }),
  }),
  country: fc.constantFrom('US', 'UK', 'DE'),
  language: fc.constantFrom('en_US', 'en_GB', 'de_DE'),
  messagingServer: fc.constantFrom('one-x-portal', 'avaya-spaces'),
  avayaCloudAccounts: fc.boolean(),
  pushNotifications: fc.boolean(),
  settingsCheckIntervalDays: fc.integer({ min: 0, max: 30 }),
  callHandover: fc.boolean(),
  deskphonePush: fc.record({
    enabled: fc.boolean(),
    pushCap: fc.constantFrom('22222', '111', '21202'),
    pushPort: fc.integer({ min: 80, max: 65535 }),
  }),
  extraSettings: fc.array(
    fc.record({
      name: fc.constantFrom('X_ONE', 'X_TWO', 'X_THREE'),
      value: valueArb.filter((v) => !v.includes('$')),
      family: fc.constantFrom(...CLIENT_FAMILIES),
    }),
    { maxLength: 8 },
  ),
  userAgentRuleSettings: fc.array(
    fc.record({
      name: fc.constantFrom('X_ONE', 'X_UA'),
      value: valueArb.filter((v) => !v.includes('$')),
      family: fc.constantFrom(...CLIENT_FAMILIES),
    }),
    { maxLength: 4 },
  ),
});

describe('generate → parse → evaluate', () => {
  it('gives back the configured settings for every client family', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.constantFrom('http://192.0.2.1:8080', 'https://hub.example.com/sb'),
        async (raw, publicUrl) => {
          const { userAgentRuleSettings, ...over } = raw;
          const cfg = cfgOf(over);
          const rule = { match: 'Avaya', ignoreCase: false, label: 'x', settings: userAgentRuleSettings };
          const text = generateSettingsFile(cfg, { hub: { publicUrl, version: '1' }, rule });
          const specials = generateSpecialsFile(cfg, { hub: { publicUrl, version: '1' } });
          // Clean, but for what a configured value brings: non-ASCII characters (phones read ASCII) and
          // extra parameter names outside the known tables (info).
          const lines = text.split('\r\n');
          for (const d of lintSettings({ name: '46xxsettings.txt', text }).diagnostics) {
            if (d.severity === 'info') continue;
            expect(d.code).toBe('SETTINGS_NON_ASCII');
            expect(lines[d.line - 1]).toMatch(/[^\x00-\x7f]/);
          }
          const registrar = cfg.registrarFqdn || `sip.${cfg.sipDomain}`;
          const ctl = `${registrar}:${cfg.transport === 'tls' ? 5061 : 5060};transport=${cfg.transport}`;
          for (const { family, inputs } of FAMILY_MODELS) {
            const r = await evaluateSettings({ name: '46xxsettings.txt', text }, inputs, (n) =>
              n === '46xxspecials.txt' ? specials : undefined,
            );
            expect(r.end).toBe('eof');
            expect(r.files).toEqual(['46xxsettings.txt', '46xxspecials.txt']);
            const v = r.values;
            const model = inputs.MODEL4;
            const isWorkplace = (WORKPLACE as readonly string[]).includes(model);
            const h323 = inputs.SIG_IN_USE === 'H323';
            const sipClient = !h323 && family !== 'other';
            // Extra settings: last one for a matching family wins, rule lines after config lines, by specificity.
            const fams = familiesFor(model);
            const expected: Record<string, string> = {};
            for (const f of fams) {
              for (const e of [...cfg.extraSettings, ...userAgentRuleSettings])
                if (e.family === f) expected[e.name] = e.value;
            }
            for (const n of ['X_ONE', 'X_TWO', 'X_THREE', 'X_UA'])
              expect({ family, n, v: v[n] }).toEqual({ family, n, v: expected[n] });
            if (sipClient) {
              expect(v).toMatchObject({
                SIPDOMAIN: cfg.sipDomain,
                RTP_PORT_LOW: String(cfg.rtp.portLow),
                RTP_PORT_RANGE: String(cfg.rtp.portRange),
                DSCPAUD: String(cfg.dscp.audio),
                DSCPSIG: String(cfg.dscp.signalling),
                COUNTRY: cfg.country,
                ISO_SYSTEM_LANGUAGE: cfg.language,
                HTTPPORT: cfg.ports.preferredPhonePorts ? '8411' : '80',
                SIP_CONTROLLER_LIST: ctl,
                ENABLE_G726: (cfg.codecs as string[]).includes('G726') ? '1' : '0',
                ENABLE_G729: (cfg.codecs as string[]).includes('G729') ? '1' : '0',
              });
            }
            const deskphone =
              (DESKPHONES as readonly string[]).includes(model) ||
              (h323 && (M96X1 as readonly string[]).includes(model));
            if (deskphone && cfg.deskphonePush.enabled) {
              const u = new URL(publicUrl);
              expect(v).toMatchObject({
                TPSLIST: `${u.host}${u.pathname.replace(/\/$/, '')}`,
                SUBSCRIBELIST: `${publicUrl}/avaya/subscribe`,
                PUSHCAP: cfg.deskphonePush.pushCap,
                PUSHPORT: String(cfg.deskphonePush.pushPort),
              });
            } else {
              expect(v).not.toHaveProperty('TPSLIST');
            }
            if (isWorkplace) {
              expect(v.SETTINGS_CHECK_INTERVAL).toBe(
                expected.SETTINGS_CHECK_INTERVAL ?? String(cfg.settingsCheckIntervalDays),
              );
              expect(v.IPO_CALL_HANDOVER_ENABLED).toBe(cfg.callHandover ? '1' : '0');
              expect(v.ENABLE_AVAYA_CLOUD_ACCOUNTS).toBe(cfg.avayaCloudAccounts ? '1' : '0');
              expect(v.ENABLE_IPO_PORTAL_MESSAGING).toBe(cfg.messagingServer === 'one-x-portal' ? '1' : '0');
              expect(v.SETTINGS_FILE_URL).toBe(`${publicUrl}/46xxsettings.txt`);
            } else {
              expect(v).not.toHaveProperty('SETTINGS_CHECK_INTERVAL');
            }
            if (model === 'aci') {
              expect(v.PUSH_NOTIFICATION_ENABLED).toBe(cfg.pushNotifications ? '1' : '0');
              if (cfg.pushNotifications) {
                expect(v.TELEPHONY_PUSH_NOTIFICATION_SERVICE_URL).toBe(
                  `https://${registrar}:${cfg.ports.preferredPhonePorts ? 411 : 443}/PushNotification`,
                );
              } else expect(v).not.toHaveProperty('TELEPHONY_PUSH_NOTIFICATION_SERVICE_URL');
            } else {
              expect(v).not.toHaveProperty('PUSH_NOTIFICATION_ENABLED');
              expect(v).not.toHaveProperty('TELEPHONY_PUSH_NOTIFICATION_SERVICE_URL');
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
