import { capTime } from './codec.js';
import type { CapAlert, CapArea, CapInfo, CapSite, LatLon } from './types.js';

/**
 * What a CAP alert means for this site (pure): which info block speaks the site's language, whether the
 * site lies in the alert's area, whether it has expired, and the flat `cap.alert` event data rules match
 * on (`event`, `severity`, `urgency`, `certainty`, `inArea` …).
 */

/** Mean Earth radius (km), as for the haversine distance. */
const EARTH_KM = 6371.0088;

/** Great-circle distance in kilometres. */
export function distanceKm(a: LatLon, b: LatLon): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Point in polygon (even-odd rule on latitude/longitude as plane coordinates: exact enough for the size of
 * warning areas, away from the poles and the antimeridian). A point on an edge counts as inside.
 */
export function inPolygon(p: LatLon, poly: LatLon[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const a = poly[i]!;
    const b = poly[j]!;
    // On the edge a–b?
    const cross = (p.lon - a.lon) * (b.lat - a.lat) - (p.lat - a.lat) * (b.lon - a.lon);
    if (
      Math.abs(cross) < 1e-12 &&
      p.lon >= Math.min(a.lon, b.lon) &&
      p.lon <= Math.max(a.lon, b.lon) &&
      p.lat >= Math.min(a.lat, b.lat) &&
      p.lat <= Math.max(a.lat, b.lat)
    )
      return true;
    if (a.lat > p.lat !== b.lat > p.lat) {
      const lon = ((b.lon - a.lon) * (p.lat - a.lat)) / (b.lat - a.lat) + a.lon;
      if (p.lon < lon) inside = !inside;
    }
  }
  return inside;
}

export type AreaMatch = 'polygon' | 'circle' | 'geocode' | 'no-area' | 'outside' | 'no-site';

/** How an area covers the site: the first test that holds, or `outside`. */
export function areaMatch(area: CapArea, site: CapSite): AreaMatch {
  const at =
    site.latitude !== undefined && site.longitude !== undefined
      ? { lat: site.latitude, lon: site.longitude }
      : undefined;
  if (at && area.polygons.some((poly) => inPolygon(at, poly))) return 'polygon';
  if (at && area.circles.some((c) => distanceKm(at, c.center) <= c.radiusKm)) return 'circle';
  const codes = new Set(site.geocodes.map((g) => `${g.valueName.toUpperCase()}|${g.value}`));
  if (area.geocodes.some((g) => codes.has(`${g.valueName.toUpperCase()}|${g.value}`))) return 'geocode';
  return 'outside';
}

/**
 * Does the info block concern the site? An info without areas concerns everybody (`no-area`); with areas,
 * the first area that covers the site decides; none: `outside`, or `no-site` when the site has neither
 * coordinates nor geocodes (nothing could match).
 */
export function infoMatch(info: CapInfo, site: CapSite): AreaMatch {
  if (info.areas.length === 0) return 'no-area';
  for (const a of info.areas) {
    const m = areaMatch(a, site);
    if (m !== 'outside') return m;
  }
  const hasSite = (site.latitude !== undefined && site.longitude !== undefined) || site.geocodes.length > 0;
  return hasSite ? 'outside' : 'no-site';
}

/**
 * The info block for the site's languages (`['en-US', 'en']`: an exact tag first, then a primary
 * subtag), else the first one.
 */
export function pickInfo(alert: CapAlert, languages: string[]): CapInfo | undefined {
  const lower = (s: string) => s.toLowerCase();
  for (const want of languages.map(lower)) {
    const exact = alert.infos.find((i) => lower(i.language) === want);
    if (exact) return exact;
    const prefix = alert.infos.find((i) => lower(i.language).split('-')[0] === want.split('-')[0]);
    if (prefix) return prefix;
  }
  return alert.infos[0];
}

/** The latest `expires` of the alert's info blocks (ms), or undefined when one has none (never expires). */
export function expiresAt(alert: CapAlert): number | undefined {
  if (alert.infos.length === 0) return undefined;
  let latest = Number.NEGATIVE_INFINITY;
  for (const i of alert.infos) {
    if (!i.expires) return undefined;
    latest = Math.max(latest, capTime(i.expires));
  }
  return Number.isFinite(latest) ? latest : undefined;
}

/** `sender|identifier`: the key CAP messages are deduplicated and referenced by. */
export const capKey = (sender: string, identifier: string): string => `${sender}|${identifier}`;

/** The data of a `cap.alert` event (flat strings/booleans for rule `where` filters and templates). */
export function capEventData(
  alert: CapAlert,
  o: { site: CapSite; languages: string[]; origin: string },
): Record<string, unknown> {
  const info = pickInfo(alert, o.languages);
  // The site is in the alert's area if any info block covers it (a language version may name other areas).
  const matches = alert.infos.map((i) => infoMatch(i, o.site));
  const covering = matches.find((m) => m === 'polygon' || m === 'circle' || m === 'geocode');
  const how = covering ?? (matches.includes('no-area') || matches.length === 0 ? 'no-area' : matches[0]!);
  const exp = expiresAt(alert);
  return {
    identifier: alert.identifier,
    sender: alert.sender,
    sent: alert.sent,
    status: alert.status,
    msgType: alert.msgType,
    scope: alert.scope,
    references: alert.references.map((r) => `${r.sender},${r.identifier},${r.sent}`).join(' '),
    event: info?.event ?? '',
    severity: info?.severity ?? '',
    urgency: info?.urgency ?? '',
    certainty: info?.certainty ?? '',
    categories: (info?.categories ?? []).join(' '),
    language: info?.language ?? '',
    languages: alert.infos.map((i) => i.language).join(' '),
    headline: (info?.headline ?? info?.event ?? '').slice(0, 500),
    description: (info?.description ?? '').slice(0, 2000),
    instruction: (info?.instruction ?? '').slice(0, 2000),
    senderName: info?.senderName ?? '',
    areaDesc: (info?.areas ?? [])
      .map((a) => a.areaDesc)
      .join('; ')
      .slice(0, 1000),
    inArea: how === 'polygon' || how === 'circle' || how === 'geocode' || how === 'no-area',
    areaMatch: how,
    expires: exp === undefined ? '' : new Date(exp).toISOString(),
    origin: o.origin,
  };
}
