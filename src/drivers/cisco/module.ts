import { timingSafeEqual } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Device } from '../../core/devices.js';
import { AuthError, LimitError, NotFoundError, ValidationError } from '../../core/errors.js';
import { AttemptLimiter } from '../../core/limiter.js';
import type { HubContext, HubModule } from '../../core/module.js';
import { ActionResultSchema, described, errors } from '../../server/schemas.js';
import { type CiscoSettings, createCiscoDriver, resolveSettings } from './driver.js';
import { encodeXml } from './encoding.js';
import { learnDeviceName } from './learn.js';
import { type Charset, modelProfile, profileByModelName } from './models.js';
import { buildObject, type CiscoObject, type SoftKey } from './objects.js';
import { type AppEventType, parseApplicationEvent, parseMediaEvent } from './response.js';

/**
 * The Cisco hub module: the `cisco` driver, the phone-facing routes under /cisco/ (authentication URL,
 * application/media event receivers, services menu) and the /api/cisco shortcuts.
 */
const APP_EVENT_BUS: Record<AppEventType, string> = {
  focusLost: 'cisco.app.focus_lost',
  focusGained: 'cisco.app.focus_gained',
  minimized: 'cisco.app.minimized',
  closed: 'cisco.app.closed',
};

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

type Fields = Record<string, unknown>;
function fields(req: FastifyRequest): Fields {
  const q = req.query && typeof req.query === 'object' ? req.query : {};
  const b = req.body && typeof req.body === 'object' ? req.body : {};
  return { ...q, ...b };
}
const one = (v: unknown): string | undefined =>
  Array.isArray(v) ? one(v[0]) : typeof v === 'string' ? v : undefined;

function ciscoDevices(hub: HubContext): Array<Device<Partial<CiscoSettings>>> {
  return hub.devices.list({ kind: 'cisco' }) as Array<Device<Partial<CiscoSettings>>>;
}

function deviceByName(hub: HubContext, name: string | undefined): Device<Partial<CiscoSettings>> | undefined {
  if (!name) return undefined;
  const n = name.toUpperCase();
  return ciscoDevices(hub).find((d) => d.settings.deviceName?.toUpperCase() === n);
}

/** Is (user, password) a push credential for this phone? Config users, or the device's own settings. */
export function checkPushCredentials(
  hub: HubContext,
  user: string,
  pass: string,
  devicename: string | undefined,
): boolean {
  if (!user || !pass) return false;
  for (const u of hub.config.cisco.authentication.users)
    if (same(u.username, user) && same(u.password, pass)) return true;
  const d = deviceByName(hub, devicename);
  const candidates = d ? [d] : [];
  return candidates.some((c) => {
    const s = resolveSettings(c.settings);
    return s.username !== '' && same(s.username, user) && same(s.password, pass);
  });
}

/** Extracts the XML of a phone's post: form field XML or DATA (either case), or a raw XML body. */
function postedXml(req: FastifyRequest): string {
  const b = req.body;
  if (typeof b === 'string') {
    const t = b.trim();
    if (t.startsWith('<')) return t;
    const p = new URLSearchParams(t);
    return p.get('XML') ?? p.get('DATA') ?? p.get('xml') ?? p.get('data') ?? '';
  }
  if (b && typeof b === 'object') {
    const f = b as Fields;
    return one(f.XML) ?? one(f.DATA) ?? one(f.xml) ?? one(f.data) ?? '';
  }
  return '';
}

/**
 * The charset to answer a phone in: its model profile (x-CiscoIPPhoneModelName) when known, else its
 * Accept-Charset preference (research A5: old phones send `iso-8859-1, utf-8;q=0.8` — they parse UTF-8 but
 * render only Latin-1, so the higher-ranked Latin-1 wins).
 */
export function phoneCharset(headers: Record<string, string | string[] | undefined>): Charset {
  const model = profileByModelName(one(headers['x-ciscoipphonemodelname']));
  if (model) return model.charset;
  const ranked = (one(headers['accept-charset']) ?? '')
    .toLowerCase()
    .split(',')
    .map((part, i) => {
      const [name, ...params] = part.split(';').map((x) => x.trim());
      const q = Number(params.find((x) => x.startsWith('q='))?.slice(2) ?? '1');
      return { name: name ?? '', q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((c) => c.q > 0 && (c.name === 'utf-8' || c.name === 'iso-8859-1'))
    .sort((a, b) => b.q - a.q || a.i - b.i);
  return ranked[0]?.name === 'iso-8859-1' ? 'iso-8859-1' : 'utf-8';
}

function sendObject(reply: FastifyReply, obj: CiscoObject, charset: Charset): FastifyReply {
  const xml = buildObject(obj, { charset });
  return reply
    .header('Content-Type', `text/xml; charset=${charset === 'utf-8' ? 'UTF-8' : 'ISO-8859-1'}`)
    .header('Expires', '-1')
    .send(encodeXml(xml, charset));
}

/** Softkey positions differ per family (research A4: 79xx Select=1/Exit=3, 78xx/88xx Exit=1/Select=2). */
function menuSoftkeys(modelName: string | undefined): SoftKey[] {
  const p = profileByModelName(modelName);
  if (p?.series === '7900') {
    return [
      { name: 'Select', url: 'SoftKey:Select', position: 1 },
      { name: 'Exit', url: 'SoftKey:Exit', position: 3 },
    ];
  }
  return [
    { name: 'Exit', url: 'SoftKey:Exit', position: 1 },
    { name: 'Select', url: 'SoftKey:Select', position: 2 },
  ];
}

const TextBody = Type.Object(
  {
    title: Type.Optional(Type.String({ maxLength: 512 })),
    prompt: Type.Optional(Type.String({ maxLength: 512 })),
    text: Type.String({ maxLength: 40960 }),
    softkeys: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String(),
          url: Type.String(),
          url_down: Type.Optional(Type.String()),
          position: Type.Optional(Type.Integer()),
        }),
        { maxItems: 8 },
      ),
    ),
  },
  { additionalProperties: false },
);
const ExecuteBody = Type.Object(
  {
    uris: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      minItems: 1,
      maxItems: 3,
      description: 'Up to 3 ExecuteItems: one HTTP URL + two URIs, or three URIs.',
    }),
    priority: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)])),
  },
  { additionalProperties: false },
);

function requireCisco(hub: HubContext, id: string): void {
  const d = hub.devices.require(id);
  if (d.kind !== 'cisco')
    throw new NotFoundError(
      'DEVICE_NOT_CISCO',
      `device ${JSON.stringify(id)} is a ${d.kind} device, not a Cisco phone`,
      { field: 'id' },
    );
}

export function registerCiscoRoutes(root: FastifyInstance, hub: HubContext): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const auth = hub.config.cisco.authentication;
  const limiter = new AttemptLimiter({
    max: auth.maxFailuresPerAddress,
    windowMs: auth.windowSeconds * 1000,
    now: () => hub.clock.now(),
  });
  // ---- the phones' authentication URL: answers exactly AUTHORIZED or UN-AUTHORIZED (no newline).
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    const f = fields(req);
    const user = one(f.UserID) ?? '';
    const pass = one(f.Password) ?? '';
    const name = one(f.devicename);
    // Reserved before the check (a success gives it back): at most maxFailuresPerAddress guesses per window.
    const ok = limiter.reserve(req.ip) === 0 && checkPushCredentials(hub, user, pass, name);
    if (ok) limiter.release(req.ip);
    else {
      // Both values come from the peer: cap what a failed attempt can write to the log.
      hub.logger.info(
        { devicename: name?.slice(0, 64), user: user.slice(0, 64), client: req.ip },
        'cisco authentication refused',
      );
    }
    return reply.header('Content-Type', 'text/plain').send(ok ? 'AUTHORIZED' : 'UN-AUTHORIZED');
  };
  const authSchema = { hide: true } as const;
  app.get('/cisco/authenticate', { schema: authSchema }, authenticate);
  app.post('/cisco/authenticate', { schema: authSchema }, authenticate);

  // ---- event receivers (phone → hub): unauthenticated by protocol, so bounded per address and (by
  // default) accepted only from a registered phone's address; everything accepted is stored.
  const evCfg = hub.config.cisco.events;
  const evLimiter = new AttemptLimiter({
    max: evCfg.maxPerAddressPerMinute,
    windowMs: 60_000,
    now: () => hub.clock.now(),
  });
  const hostOf = (address: string) =>
    address.replace(/^\[?([^\]]*?)\]?(:\d+)?$/, '$1').replace(/^::ffff:/, '');
  app.addHook('onRequest', async (req) => {
    if (!req.routeOptions.url?.startsWith('/cisco/events/')) return;
    const wait = evLimiter.reserve(req.ip);
    if (wait > 0)
      throw new LimitError('CISCO_EVENTS_RATE_LIMITED', 'too many event callbacks from this address', {
        details: { retryAfterSeconds: Math.ceil(wait / 1000) },
      });
    const ip = req.ip.replace(/^::ffff:/, '');
    if (evCfg.knownPhonesOnly && !ciscoDevices(hub).some((d) => hostOf(d.address) === ip))
      throw new AuthError(
        'CISCO_EVENTS_UNKNOWN_PHONE',
        'event callbacks are accepted from registered phones only',
        {
          status: 403,
        },
      );
  });
  const source = (req: FastifyRequest): { source: string; device: string | null } => {
    const f = fields(req);
    const id = one(f.device);
    if (id && hub.devices.get(id)) return { source: id, device: id };
    const byName = deviceByName(hub, one(f.name) ?? one(f.devicename));
    return byName ? { source: byName.id, device: byName.id } : { source: 'cisco', device: null };
  };
  app.post('/cisco/events/application', { schema: { hide: true } }, async (req, reply) => {
    const ev = parseApplicationEvent(postedXml(req));
    const s = source(req);
    hub.bus.emit({
      source: s.source,
      type: APP_EVENT_BUS[ev.type],
      data: { device: s.device, appId: ev.appId, type: ev.type },
    });
    return reply.header('Content-Type', 'text/plain').send('OK');
  });
  app.post('/cisco/events/media', { schema: { hide: true } }, async (req, reply) => {
    const ev = parseMediaEvent(postedXml(req));
    const s = source(req);
    hub.bus.emit({
      source: s.source,
      type: 'cisco.media.stopped',
      data: { device: s.device, streamId: ev.streamId, origin: ev.origin, type: ev.type },
    });
    return reply.header('Content-Type', 'text/plain').send('OK');
  });
  app.post('/cisco/events/notify', { schema: { hide: true } }, async (req, reply) => {
    const s = source(req);
    const raw = typeof req.body === 'string' ? req.body : JSON.stringify(req.body ?? '');
    hub.bus.emit({
      source: s.source,
      type: 'cisco.notify',
      data: { device: s.device, data: raw.slice(0, 1024) },
    });
    return reply.header('Content-Type', 'text/plain').send('OK');
  });

  // ---- services the phones GET (Service URL: <hub>/cisco/services?name=#DEVICENAME#)
  const pub = () => hub.hub.publicUrl.replace(/\/$/, '');
  app.get('/cisco/services', { schema: { hide: true } }, async (req, reply) => {
    const f = fields(req);
    const name = one(f.name);
    const model = one(req.headers['x-ciscoipphonemodelname']);
    const q = name ? `?name=${encodeURIComponent(name)}` : '';
    const d = deviceByName(hub, name);
    return sendObject(
      reply,
      {
        type: 'CiscoIPPhoneMenu',
        title: hub.config.cisco.services.title,
        prompt: d ? d.name : (name ?? 'Select a service'),
        items: [
          { name: 'Phone information', url: `${pub()}/cisco/services/info${q}` },
          { name: 'Directory', url: `${pub()}/cisco/services/directory${q}` },
        ],
        softkeys: menuSoftkeys(model),
      },
      phoneCharset(req.headers),
    );
  });
  app.get('/cisco/services/info', { schema: { hide: true } }, async (req, reply) => {
    const name = one(fields(req).name);
    const d = deviceByName(hub, name);
    const display = one(req.headers['x-ciscoipphonedisplay']);
    const loc = d ? [d.location.building, d.location.floor, d.location.room].filter(Boolean).join(', ') : '';
    const text = d
      ? `Device: ${d.name}\nId: ${d.id}\nName: ${name}\nModel: ${modelProfile(resolveSettings(d.settings).model)?.modelNumber ?? '?'}\nLocation: ${loc || 'not set'}\nExtension: ${d.settings.extension ?? '-'}`
      : `This phone (${name ?? 'unknown'}) is not registered in Switchboard.`;
    return sendObject(
      reply,
      {
        type: 'CiscoIPPhoneText',
        title: 'Phone information',
        text: `${text}${display ? `\nDisplay: ${display}` : ''}`,
      },
      phoneCharset(req.headers),
    );
  });
  app.get('/cisco/services/directory', { schema: { hide: true } }, async (req, reply) => {
    const entries = ciscoDevices(hub)
      .filter((d) => d.settings.extension)
      .slice(0, 32)
      .map((d) => ({ name: d.name.slice(0, 64), telephone: d.settings.extension! }));
    return sendObject(
      reply,
      { type: 'CiscoIPPhoneDirectory', title: 'Directory', prompt: `${entries.length} phones`, entries },
      phoneCharset(req.headers),
    );
  });

  // ---- REST shortcuts
  app.post(
    '/api/cisco/:id/text',
    {
      schema: {
        tags: ['cisco'],
        summary: 'Show a CiscoIPPhoneText on a Cisco phone',
        description: 'Shortcut for POST /api/devices/{id}/actions/object_text.',
        params: Type.Object({ id: Type.String() }),
        body: TextBody,
        response: {
          200: described(ActionResultSchema, 'What the phone answered (ok false: it refused)'),
          ...errors(400, 401, 404, 502, 504),
        },
      },
    },
    async (req) => {
      const id = req.params.id;
      requireCisco(hub, id);
      return hub.actions.execute(id, 'object_text', req.body);
    },
  );
  app.post(
    '/api/cisco/:id/execute',
    {
      schema: {
        tags: ['cisco'],
        summary: 'Push a CiscoIPPhoneExecute (1-3 URIs) to a Cisco phone',
        description:
          'Shortcut for POST /api/devices/{id}/actions/push_execute. Notify URIs are refused (not allowed inside Execute).',
        params: Type.Object({ id: Type.String() }),
        body: ExecuteBody,
        response: {
          200: described(ActionResultSchema, 'What the phone answered (ok false: it refused)'),
          ...errors(400, 401, 404, 502, 504),
        },
      },
    },
    async (req) => {
      const id = req.params.id;
      requireCisco(hub, id);
      const b = req.body;
      if (b.uris.length === 0)
        throw new ValidationError('CISCO_EXECUTE_EMPTY', 'uris: at least one URI', { field: 'uris' });
      const [first, ...more] = b.uris;
      return hub.actions.execute(id, 'push_execute', {
        uri: first,
        priority: b.priority ?? 0,
        ...(more.length ? { more: more.map((uri) => ({ uri, priority: b.priority ?? 0 })) } : {}),
      });
    },
  );
}

export const ciscoModule: HubModule = {
  name: 'cisco',
  drivers: ({ config }) => [createCiscoDriver({ tones: config.broadcast.ciscoTones })],
  routes: (app, hub) => registerCiscoRoutes(app, hub),
  start(hub) {
    // A phone added without its device name: ask the phone (see learn.ts); it is needed by the
    // authentication URL. Phones already registered without it are asked once at start.
    const ask = (d: Device) => {
      if (d.kind !== 'cisco' || (d.settings as Partial<CiscoSettings>).deviceName) return;
      void learnDeviceName(hub, d, { signal: hub.signal }).catch(() => {});
    };
    for (const d of ciscoDevices(hub)) ask(d);
    const off = hub.devices.onChange(({ type, device }) => {
      if (type === 'added' || (type === 'updated' && !hub.signal.aborted)) ask(device);
    });
    hub.signal.addEventListener('abort', off, { once: true });
  },
};
