import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCapFeed, parseCapFeed } from '../../../src/alerting/cap/atom.js';
import { buildCap, CAP_MAX_BYTES, formatCapDate, parseCap } from '../../../src/alerting/cap/codec.js';
import { capEventData, distanceKm, expiresAt, inPolygon, pickInfo } from '../../../src/alerting/cap/match.js';
import { isSwitchboardError } from '../../../src/core/errors.js';

const fx = (n: string) => readFileSync(join(import.meta.dirname, 'fixtures', n));
const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (isSwitchboardError(e)) return `${e.code} ${e.status} ${e.message}`;
    return `not a SwitchboardError: ${String(e)}`;
  }
  return 'no error';
};

const minimal = (body: string, head = '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">') =>
  `${head}<identifier>X1</identifier><sender>s@example.org</sender><sent>2026-01-01T00:00:00-00:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>${body}</alert>`;
const info = (extra = '', area = '') =>
  `<info><category>Safety</category><event>Test</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>${extra}${area}</info>`;

describe('CAP 1.2 codec: the standard’s own examples (appendix A)', () => {
  it('A.1 Homeland Security advisory: every field read', () => {
    const { alert, warnings } = parseCap(fx('spec-a1-hsas.xml'));
    expect(warnings).toEqual([]);
    expect(alert).toMatchObject({
      identifier: '43b080713727',
      sender: 'hsas@dhs.gov',
      sent: '2003-04-02T14:39:01-05:00',
      status: 'Actual',
      msgType: 'Alert',
      scope: 'Public',
      references: [],
    });
    const i = alert.infos[0]!;
    expect(i).toMatchObject({
      language: 'en-US',
      categories: ['Security'],
      urgency: 'Immediate',
      severity: 'Severe',
      certainty: 'Likely',
      headline: 'Homeland Security Sets Code ORANGE',
      parameters: [{ valueName: 'HSAS', value: 'ORANGE' }],
      resources: [
        {
          resourceDesc: 'Image file (GIF)',
          mimeType: 'image/gif',
          uri: 'http://www.dhs.gov/dhspublic/getAdvisoryImage',
        },
      ],
    });
    expect(i.areas).toEqual([
      { areaDesc: 'U.S. nationwide and interests worldwide', polygons: [], circles: [], geocodes: [] },
    ]);
  });

  it('A.2 thunderstorm warning: polygon, geocodes, expires; the site inside the polygon matches', () => {
    const { alert } = parseCap(fx('spec-a2-thunderstorm.xml'));
    const a = alert.infos[0]!.areas[0]!;
    expect(a.polygons[0]).toHaveLength(5);
    expect(a.polygons[0]![1]).toEqual({ lat: 38.34, lon: -119.95 });
    expect(a.geocodes.map((g) => g.value)).toEqual(['006109', '006009', '006003']);
    expect(expiresAt(alert)).toBe(Date.parse('2003-06-17T23:00:00Z'));
    const inside = capEventData(alert, {
      site: { latitude: 38.5, longitude: -119.9, geocodes: [] },
      languages: ['en-US'],
      origin: 'test',
    });
    expect(inside).toMatchObject({ event: 'SEVERE THUNDERSTORM', inArea: true, areaMatch: 'polygon' });
    const outside = capEventData(alert, {
      site: { latitude: 41.88, longitude: -87.63, geocodes: [] },
      languages: ['en-US'],
      origin: 'test',
    });
    expect(outside).toMatchObject({ inArea: false, areaMatch: 'outside' });
    const byCode = capEventData(alert, {
      site: { geocodes: [{ valueName: 'same', value: '006009' }] },
      languages: [],
      origin: 'test',
    });
    expect(byCode).toMatchObject({ inArea: true, areaMatch: 'geocode' });
    const noSite = capEventData(alert, { site: { geocodes: [] }, languages: [], origin: 'test' });
    expect(noSite).toMatchObject({ inArea: false, areaMatch: 'no-site' });
  });

  it('A.3 earthquake update: references triple, circle of radius 0', () => {
    const { alert } = parseCap(fx('spec-a3-earthquake.xml'));
    expect(alert.msgType).toBe('Update');
    expect(alert.references).toEqual([
      { sender: 'trinet@caltech.edu', identifier: 'TRI13970876.1', sent: '2003-06-11T20:30:00-07:00' },
    ]);
    expect(alert.infos[0]!.areas[0]!.circles).toEqual([
      { center: { lat: 32.9525, lon: -115.5527 }, radiusKm: 0 },
    ]);
    expect(alert.infos[0]!.parameters).toHaveLength(5);
  });

  it('builds what it reads: build(parse(x)) parses to the same alert (all three examples)', () => {
    for (const f of ['spec-a1-hsas.xml', 'spec-a2-thunderstorm.xml', 'spec-a3-earthquake.xml']) {
      const a = parseCap(fx(f)).alert;
      expect(parseCap(buildCap(a)).alert).toEqual(a);
    }
  });
});

describe('CAP 1.2 codec: our own documents', () => {
  it('a namespace prefix, ISO-8859-1 bytes, CRLF lines, two languages: the site’s language is picked', () => {
    const { alert } = parseCap(fx('own-prefixed-latin1-crlf.xml'));
    expect(alert.infos.map((i) => i.language)).toEqual(['fr-CA', 'en-US']);
    expect(alert.infos[0]!.headline).toBe('Tornade signalée près du campus');
    expect(pickInfo(alert, ['en'])!.event).toBe('Tornado Warning');
    expect(pickInfo(alert, ['fr-CA'])!.event).toBe('Avertissement de tornade');
    expect(pickInfo(alert, ['de'])!.event).toBe('Avertissement de tornade');
    expect(alert.infos[1]!.instruction).toBe('Go to the basement now & stay away from windows.');
    const d = capEventData(alert, {
      site: { latitude: 41.9, longitude: -87.63, geocodes: [] },
      languages: ['en-US'],
      origin: 'test',
    });
    expect(d).toMatchObject({
      event: 'Tornado Warning',
      severity: 'Extreme',
      areaMatch: 'circle',
      status: 'Exercise',
    });
  });

  it('an info without area concerns every site', () => {
    const { alert } = parseCap(minimal(info()));
    expect(capEventData(alert, { site: { geocodes: [] }, languages: [], origin: 't' })).toMatchObject({
      inArea: true,
      areaMatch: 'no-area',
    });
  });

  it('escapes what it writes: markup in text survives a round trip', () => {
    const a = parseCap(minimal(info('<headline>a &lt;b&gt; &amp; "c"</headline>'))).alert;
    const xml = buildCap(a);
    expect(xml).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(parseCap(xml).alert.infos[0]!.headline).toBe('a <b> & "c"');
  });

  it('tolerates Z with a warning, writes -00:00', () => {
    const r = parseCap(minimal('').replace('-00:00', 'Z'));
    expect(r.warnings[0]).toMatch(/alert.sent.*Z/);
    expect(formatCapDate(Date.parse('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:04:05-00:00');
  });

  it.each([
    [
      'missing identifier',
      minimal('').replace('<identifier>X1</identifier>', ''),
      /CAP_INVALID 400 alert.identifier: is required/,
    ],
    ['bad status', minimal('').replace('Actual', 'Real'), /alert.status: "Real" is not one of/],
    ['space in identifier', minimal('').replace('X1', 'X 1'), /alert.identifier: must not contain/],
    ['date without zone', minimal('').replace('-00:00', ''), /alert.sent: .* is not a CAP date-time/],
    [
      'restricted without restriction',
      minimal('').replace('Public', 'Restricted'),
      /alert.restriction: is required/,
    ],
    ['private without addresses', minimal('').replace('Public', 'Private'), /alert.addresses: is required/],
    ['bad reference', minimal('<references>only-two,parts</references>'), /alert.references\[0\]/],
    [
      'info without category',
      minimal(info().replace('<category>Safety</category>', '')),
      /info\[0\].category: is required/,
    ],
    ['bad severity', minimal(info().replace('Severe', 'Bad')), /info\[0\].severity/],
    [
      'open polygon',
      minimal(info('', '<area><areaDesc>x</areaDesc><polygon>1,1 2,2 3,1 1,2</polygon></area>')),
      /polygon\[0\]: the first and last/,
    ],
    [
      'short polygon',
      minimal(info('', '<area><areaDesc>x</areaDesc><polygon>1,1 2,2 1,1</polygon></area>')),
      /at least 4 points/,
    ],
    [
      'latitude out of range',
      minimal(info('', '<area><areaDesc>x</areaDesc><circle>91,0 1</circle></area>')),
      /circle\[0\]: "91" is not a number between -90 and 90/,
    ],
    [
      'ceiling without altitude',
      minimal(info('', '<area><areaDesc>x</areaDesc><ceiling>10</ceiling></area>')),
      /ceiling: is only allowed together with altitude/,
    ],
    ['two identifiers', minimal('<identifier>Y</identifier>'), /alert.identifier: appears more than once/],
    [
      'CAP 1.1 namespace',
      minimal('', '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1">'),
      /CAP_NOT_CAP 400 .*is not CAP 1.2/,
    ],
    ['no namespace', minimal('', '<alert>'), /CAP_NOT_CAP 400 .*has no namespace/],
    ['not an alert', '<feed xmlns="http://www.w3.org/2005/Atom"/>', /CAP_NOT_CAP 400 .*not a CAP <alert>/],
    ['trailing junk', `${minimal('')}<junk/>`, /CAP_INVALID 400/],
    ['not XML', 'hello', /CAP_INVALID 400/],
    ['empty', '', /CAP_INVALID 400/],
    ['DTD with entity', `<!DOCTYPE alert [<!ENTITY x "y">]>${minimal('')}`, /CAP_INVALID 400/],
  ])('refuses %s with a clear error', (_n, doc, want) => {
    expect(codeOf(() => parseCap(doc))).toMatch(want);
  });

  it('refuses an oversized document before parsing it (413)', () => {
    const big = minimal(info(`<description>${'x'.repeat(CAP_MAX_BYTES)}</description>`));
    expect(codeOf(() => parseCap(big))).toMatch(/^CAP_TOO_LARGE 413/);
  });

  it('bounds repeated elements a peer controls', () => {
    const many = minimal(Array.from({ length: 40 }, () => info()).join(''));
    expect(codeOf(() => parseCap(many))).toMatch(/40 info blocks, above the limit of 32/);
  });
});

describe('geometry', () => {
  it('point in polygon, on the edge, outside; distance', () => {
    const sq = [
      { lat: 0, lon: 0 },
      { lat: 0, lon: 1 },
      { lat: 1, lon: 1 },
      { lat: 1, lon: 0 },
      { lat: 0, lon: 0 },
    ];
    expect(inPolygon({ lat: 0.5, lon: 0.5 }, sq)).toBe(true);
    expect(inPolygon({ lat: 0, lon: 0.5 }, sq)).toBe(true);
    expect(inPolygon({ lat: 1.5, lon: 0.5 }, sq)).toBe(false);
    expect(distanceKm({ lat: 0, lon: 0 }, { lat: 0, lon: 1 })).toBeCloseTo(111.2, 0);
  });
});

describe('CAP over Atom', () => {
  it('reads inline alerts, links, and reports a bad inline alert per entry', () => {
    const a2 = fx('spec-a2-thunderstorm.xml')
      .toString('utf8')
      .replace(/^<\?xml[^>]*>\s*/, '');
    const feed = `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>f</id>
      <entry><id>e1</id><updated>2003-06-17T21:57:00Z</updated><content type="text/xml">${a2}</content></entry>
      <entry><id>e2</id><updated>2026-01-01T00:00:00Z</updated><link rel="alternate" href="http://x/a.html"/><link type="application/cap+xml" href="http://x/a.cap"/></entry>
      <entry><id>e3</id><updated>2026-01-01T00:00:00Z</updated><content type="text/xml">${minimal('').replace('Actual', 'Nope')}</content></entry>
    </feed>`;
    const es = parseCapFeed(feed);
    expect(es[0]!.cap!.alert.identifier).toBe('KSTO1055887203');
    expect(es[1]).toEqual({ id: 'e2', updated: '2026-01-01T00:00:00Z', link: 'http://x/a.cap' });
    expect(es[2]!.error!.code).toBe('CAP_INVALID');
  });

  it('a CAP document at a feed URL is a one-entry feed', () => {
    expect(parseCapFeed(fx('spec-a1-hsas.xml'))[0]!.cap!.alert.identifier).toBe('43b080713727');
  });

  it('writes a feed that it reads back', () => {
    const a = parseCap(fx('spec-a3-earthquake.xml')).alert;
    const xml = buildCapFeed({
      id: 'urn:x',
      title: 'T & <t>',
      self: 'http://h/cap/feed.atom',
      updated: '2026-01-01T00:00:00Z',
      items: [{ alert: a, updated: '2026-01-01T00:00:00Z', link: 'http://h/#/x?a=1&b=2' }],
    });
    expect(xml).toContain('T &amp; &lt;t&gt;');
    const back = parseCapFeed(xml);
    expect(back[0]!.cap!.alert).toEqual(a);
    expect(back[0]!.id).toBe('urn:cap:trinet@caltech.edu:TRI13970876.2');
  });
});
