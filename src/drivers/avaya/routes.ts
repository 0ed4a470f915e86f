import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { isSwitchboardError, NotFoundError, ValidationError } from '../../core/errors.js';
import { buildAudioContent, CONTENT_TYPE_WML, CONTENT_TYPE_XML, rtpRxUrl, rtpTxUrl } from './content.js';
import { CONTENT_ID_RE } from './content-store.js';
import type { AvayaService } from './service.js';
import { parseSubscriptionQuery, plainIp, subscriptionAddress } from './subscription.js';
import { escapeWml } from './wml.js';

/**
 * Phone-facing routes (no API key: phones cannot send one; content ids are unguessable):
 * - `GET|POST /avaya/content/:id` — the Trusted Push Server: serves stored push content. For unicast
 *   audio it reads `rtpLPort` (query or form body), answers `RTPRx://<our address>:<rtpLPort>` and then
 *   streams the RTP to `<phone address>:<rtpLPort>`.
 * - `GET /avaya/subscribe` — the subscription server: MAC/Extn/ip/SetID → device registry.
 * Responses always carry Content-Length and `Connection: close` (phones' HTTP clients are picky), errors
 * included (phoneErrorHandler).
 */
function send(reply: FastifyReply, status: number, contentType: string, body: string): FastifyReply {
  return reply
    .code(status)
    .header('Content-Type', contentType)
    .header('Content-Length', Buffer.byteLength(body))
    .header('Connection', 'close')
    .header('Cache-Control', 'no-store')
    .send(body);
}

/**
 * Errors answered to a phone: the status, `Connection: close` (like every answer here) and a body the phone
 * can show or ignore instead of the API's JSON — a one-card WML deck for content fetches (the browser shows
 * it; a Top Line or audio fetch ignores a non-`<Response>` document), plain text for the subscription.
 */
function phoneErrorHandler(body: 'wml' | 'text') {
  return (e: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const status = isSwitchboardError(e) ? e.status : (e.statusCode ?? 500);
    const client = status >= 400 && status < 500;
    if (!client) req.log.error({ err: e }, 'avaya phone route failed');
    const code = isSwitchboardError(e)
      ? e.code
      : e.validation
        ? 'REQUEST_INVALID'
        : client
          ? (e.code ?? 'REQUEST_INVALID')
          : 'INTERNAL';
    const message = client ? e.message : 'internal error';
    if (body === 'text')
      return send(reply, client ? status : 500, 'text/plain; charset=utf-8', `ERROR ${code}: ${message}\n`);
    const title = status === 404 ? 'Not available' : 'Error';
    const deck =
      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.3//EN" "http://www.wapforum.org/DTD/wml13.dtd">\n' +
      `<wml><card id="error" title="${escapeWml(title)}"><p>${escapeWml(status === 404 ? 'This message is no longer available.' : message)}</p></card></wml>`;
    return send(reply, client ? status : 500, CONTENT_TYPE_WML, deck);
  };
}

function rtpLPortOf(req: FastifyRequest): number | undefined {
  const q = (req.query ?? {}) as Record<string, unknown>;
  const b = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
  const raw = q.rtpLPort ?? q.rtplport ?? b.rtpLPort;
  if (raw === undefined) return undefined;
  const n = Number(Array.isArray(raw) ? raw[0] : raw);
  if (!(Number.isInteger(n) && n >= 1 && n <= 65535)) {
    throw new ValidationError('AVAYA_BAD_RTPLPORT', 'rtpLPort must be a port number', { field: 'rtpLPort' });
  }
  return n;
}

export function registerAvayaRoutes(root: FastifyInstance, service: () => AvayaService): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16 * 1024 },
      (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(String(body))));
      },
    );
  }
  const contentHandler = async (id: string, req: FastifyRequest, reply: FastifyReply) => {
    const s = service();
    if (!CONTENT_ID_RE.test(id)) throw new NotFoundError('AVAYA_NO_CONTENT', 'no such push content');
    const item = await s.store.fetch(id, s.clock.now());
    if (!item) throw new NotFoundError('AVAYA_NO_CONTENT', 'no such push content (expired or never pushed)');
    const local = plainIp(req.socket.localAddress);
    const remote = plainIp(req.socket.remoteAddress);
    if (item.kind === 'audio' || item.kind === 'audio_multicast' || item.kind === 'audio_transmit') {
      const a = item.audio!;
      const rtpLPort = rtpLPortOf(req);
      let url: string;
      if (item.kind === 'audio_multicast') url = rtpRxUrl(a.host!, a.port!);
      else if (item.kind === 'audio_transmit') url = rtpTxUrl(a.host ?? local, a.port!);
      else {
        if (rtpLPort === undefined)
          throw new ValidationError('AVAYA_NO_RTPLPORT', 'audio content needs the rtpLPort parameter', {
            field: 'rtpLPort',
          });
        url = rtpRxUrl(local, rtpLPort);
      }
      const xml = buildAudioContent({
        codec: a.codec,
        packetSizeMs: a.packetSizeMs,
        audioTimerS: a.audioTimerS,
        url,
        ...(a.promptline !== undefined ? { promptline: a.promptline } : {}),
      });
      if (item.kind === 'audio' && item.audioData && rtpLPort !== undefined) {
        const data = item.audioData;
        reply.raw.once('finish', () => {
          void s.audio
            .streamUnicast(a, data, local, remote, rtpLPort)
            .catch((e: unknown) => req.log.warn({ err: e }, 'RTP stream failed'));
        });
      }
      return send(reply, 200, CONTENT_TYPE_XML, xml);
    }
    if ((item.kind === 'topline' || item.kind === 'display') && item.fetches === 1) {
      // The phone fetched the text it accepted: once the bytes are out, it shows them.
      reply.raw.once('finish', () =>
        s.bus?.emit({
          source: item.deviceId ?? 'avaya',
          type: 'device.displayed',
          data: { deviceId: item.deviceId ?? null, ref: item.id, kind: item.kind, via: 'avaya.content' },
        }),
      );
    }
    return send(reply, 200, item.contentType, item.body);
  };
  const contentSchema = {
    tags: ['avaya'],
    summary: 'Push content for Avaya phones (Trusted Push Server)',
    description: 'Fetched by a phone after it accepted a push. Audio content needs `rtpLPort`.',
    params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
    querystring: Type.Object(
      { rtpLPort: Type.Optional(Type.String({ maxLength: 8 })) },
      { additionalProperties: true },
    ),
  };
  const contentErrors = phoneErrorHandler('wml');
  app.get('/avaya/content/:id', { schema: contentSchema, errorHandler: contentErrors }, (req, reply) =>
    contentHandler(req.params.id, req, reply),
  );
  app.post('/avaya/content/:id', { schema: contentSchema, errorHandler: contentErrors }, (req, reply) =>
    contentHandler(req.params.id, req, reply),
  );

  app.get(
    '/avaya/subscribe',
    {
      errorHandler: phoneErrorHandler('text'),
      schema: {
        tags: ['avaya'],
        summary: 'Avaya phone subscription (SUBSCRIBELIST target)',
        description:
          'Phones send MAC, Extn, ip and SetID separated by `&` (or `+` as printed in the guides). Answers 200.',
      },
    },
    async (req, reply) => {
      const raw = req.raw.url ?? '';
      const q = raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : '';
      const info = parseSubscriptionQuery(q);
      const s = service();
      const ip = subscriptionAddress(info.ip, req.socket.remoteAddress ?? '', s.config.subscription);
      const r = await s.onSubscription({ ...info, ip }, ip);
      if (r.moved)
        req.log.warn(
          { device: r.deviceId, from: r.moved.from, to: r.moved.to, security: r.moved.securityGroup },
          'avaya phone moved its registration',
        );
      return send(reply, 200, 'text/plain; charset=utf-8', `OK ${r.deviceId}\n`);
    },
  );
}
