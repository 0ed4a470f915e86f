import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ValidationError } from '../core/errors.js';
import type { HubContext, HubModule } from '../core/module.js';
import { described, errors, serviceValidatedBody } from '../server/schemas.js';
import { readPemFile } from '../server/tls.js';
import { decodeSettingsBytes } from './encoding.js';
import { canonicalModel, type EvalInputs, MAX_VARIABLES, parseVariableAssignments } from './evaluate.js';
import { lintRemovals, lintSettings } from './lint.js';
import { MAX_TEXT_FILE, modelFromUserAgent, SettingsService } from './service.js';

/**
 * The settings server (seed 002, "The IP Office Settings Files"): `GET /46xxsettings.txt`,
 * `GET /46xxspecials.txt` and any file of the settings directory at the root path, as IP Office serves
 * them to Avaya phones and Workplace clients. Static files shadow generated ones. Every response has an
 * exact Content-Length, Last-Modified and `Connection: close` (phone HTTP clients are picky); every
 * request is logged per client and as a `settings.requested` event.
 *
 * API (API key): `GET /api/settings/eval`, `GET /api/settings/files/:name`, `POST /api/settings/lint`,
 * `GET /api/settings/clients`.
 */

const DiagnosticSchema = Type.Object({
  severity: Type.String(),
  code: Type.String(),
  message: Type.String(),
  file: Type.String(),
  line: Type.Integer(),
});

/** The answer of both lint routes (text and raw bytes). */
const LintResultSchema = Type.Object({
  file: Type.String(),
  encoding: Type.Optional(Type.String()),
  errors: Type.Integer(),
  warnings: Type.Integer(),
  diagnostics: Type.Array(DiagnosticSchema),
});
const OriginSchema = Type.Object({
  value: Type.String(),
  file: Type.String(),
  line: Type.Integer(),
  op: Type.String(),
});
const EvalResponseSchema = Type.Object({
  inputs: Type.Record(Type.String(), Type.String()),
  userAgentRule: Type.String(),
  source: Type.String({ description: 'static or generated (the first file).' }),
  files: Type.Array(Type.String()),
  end: Type.String({ description: 'eof, goto-missing, loop, get-cycle, step-limit or get-limit.' }),
  values: Type.Record(Type.String(), Type.String()),
  settings: Type.Array(
    Type.Object({
      name: Type.String(),
      value: Type.String(),
      file: Type.String(),
      line: Type.Integer(),
      op: Type.String(),
      history: Type.Array(OriginSchema),
      entries: Type.Optional(
        Type.Array(OriginSchema, {
          description: 'Every value of a repeatable parameter (PHONEKEY), in order.',
        }),
      ),
    }),
  ),
  trace: Type.Array(
    Type.Object({ file: Type.String(), line: Type.Integer(), kind: Type.String(), detail: Type.String() }),
  ),
  traceTruncated: Type.Boolean(),
  diagnostics: Type.Array(DiagnosticSchema),
});
const ClientSchema = Type.Object({
  address: Type.String(),
  userAgent: Type.String(),
  model: Type.String(),
  rule: Type.String(),
  firstSeen: Type.String(),
  lastSeen: Type.String(),
  requests: Type.Integer(),
  lastFile: Type.String(),
  lastStatus: Type.Integer(),
});

function extPattern(exts: readonly string[]): string {
  const safe = exts.filter((e) => /^[a-z0-9]{1,8}$/.test(e));
  return `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}\\.(?:${safe.join('|')})$`;
}

export interface SettingsModule extends HubModule {
  /** Address of this hub's HTTPS listener for settings files, when enabled and started. */
  httpsAddress(hub: HubContext): AddressInfo | undefined;
}

function readPem(file: string, dataDir: string, field: string): Buffer {
  return readPemFile(file, dataDir, field, {
    missing: 'PROVISIONING_HTTPS_FILE_MISSING',
    unreadable: 'PROVISIONING_HTTPS_FILE_UNREADABLE',
    requiredWhen: 'provisioning.https.enabled is true',
  });
}

export function settingsModule(): SettingsModule {
  // Per-hub state (one module object may serve several hubs in one process, as in tests).
  const state = new WeakMap<
    HubContext,
    { scope?: FastifyInstance; tls?: Server; pem?: { key: Buffer; cert: Buffer }; svc?: SettingsService }
  >();
  const of = (hub: HubContext) => {
    let s = state.get(hub);
    if (!s) {
      s = {};
      state.set(hub, s);
    }
    return s;
  };
  return {
    name: 'provisioning',
    httpsAddress(hub) {
      const a = state.get(hub)?.tls?.address();
      return a && typeof a === 'object' ? a : undefined;
    },
    async start(hub: HubContext) {
      const cfg = hub.config.provisioning;
      const st = of(hub);
      if (!cfg.enabled || !cfg.https.enabled || !st.scope || !st.pem) return;
      const app = st.scope;
      const { key, cert } = st.pem;
      const fileRe = new RegExp(
        `^/(?:46xxsettings\\.txt|46xxspecials\\.txt|${extPattern(cfg.staticExtensions).slice(1, -1)})(?:\\?.*)?$`,
      );
      // Only the settings files are reachable on this port; everything else (the API included) is 404.
      const server = createServer({ key, cert, minVersion: 'TLSv1.2' }, (req, res) => {
        if ((req.method === 'GET' || req.method === 'HEAD') && fileRe.test(req.url ?? '')) {
          app.routing(req, res);
          return;
        }
        res.writeHead(404, {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': '10',
          connection: 'close',
        });
        res.end(req.method === 'HEAD' ? undefined : 'Not Found\n');
      });
      server.headersTimeout = 15_000;
      server.requestTimeout = 30_000;
      server.keepAliveTimeout = 5_000;
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(cfg.https.port, cfg.https.host, () => {
          server.off('error', fail);
          ok();
        });
      });
      st.tls = server;
      hub.logger
        .child({ module: 'provisioning' })
        .info({ address: server.address() }, 'settings files served over HTTPS');
    },
    async stop(hub: HubContext) {
      const st = of(hub);
      st.svc?.unwatch();
      const server = st.tls;
      st.tls = undefined;
      if (!server) return;
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
    },
    async routes(root: FastifyInstance, hub: HubContext) {
      const app = root.withTypeProvider<TypeBoxTypeProvider>();
      const cfg = hub.config.provisioning;
      const st = of(hub);
      st.scope = root;
      if (cfg.enabled && cfg.https.enabled) {
        // Read the key pair now, so that a bad path fails the start before anything listens.
        st.pem = {
          key: readPem(cfg.https.keyFile, hub.config.dataDir, 'provisioning.https.keyFile'),
          cert: readPem(cfg.https.certFile, hub.config.dataDir, 'provisioning.https.certFile'),
        };
      }
      const svc = new SettingsService(cfg, hub.config.dataDir, hub.hub, hub.clock);
      const log = hub.logger.child({ module: 'provisioning' });

      const serveFile = async (req: FastifyRequest, reply: FastifyReply, name: string) => {
        const ua = String(req.headers['user-agent'] ?? '');
        // Avaya desk phones get `Connection: close` (their old libcurl is picky: research/avaya-push.md §3);
        // other clients (Workplace, browsers, curl) keep their connection if they ask to.
        const model = modelFromUserAgent(ua);
        if (model !== '' && model !== 'Workplace') reply.header('connection', 'close');
        const done = (status: number, bytes: number, source: string) => {
          svc.record(req.ip, ua, name, status);
          if (!svc.shouldEmit(req.ip, ua, name, status)) return;
          hub.bus.emit({
            source: 'provisioning',
            type: 'settings.requested',
            data: {
              file: name,
              address: req.ip,
              userAgent: ua.slice(0, 256),
              rule: svc.ruleLabel(ua),
              status,
              bytes,
              source,
            },
          });
        };
        if (cfg.avayaHttpClientsOnly && !svc.isAvayaClient(ua)) {
          done(403, 0, 'refused');
          return reply.code(403).type('text/plain; charset=utf-8').send('Avaya HTTP clients only\n');
        }
        let f: Awaited<ReturnType<SettingsService['serve']>>;
        try {
          f = await svc.serve(name, ua);
        } catch (e) {
          log.error({ err: e, file: name }, 'settings file could not be generated');
          done(500, 0, 'error');
          return reply.code(500).type('text/plain; charset=utf-8').send('settings file unavailable\n');
        }
        if (!f) {
          done(404, 0, 'none');
          return reply.code(404).type('text/plain; charset=utf-8').send('Not Found\n');
        }
        reply.header('last-modified', f.lastModified.toUTCString());
        reply.header('cache-control', 'no-cache');
        const ims = req.headers['if-modified-since'];
        if (typeof ims === 'string' && f.source === 'static') {
          const t = Date.parse(ims);
          if (Number.isFinite(t) && f.lastModified.getTime() <= t) {
            done(304, 0, f.source);
            return reply.code(304).send();
          }
        }
        reply.header('content-type', f.contentType);
        reply.header('content-length', String(f.size));
        done(200, f.size, f.source);
        if (f.body) return reply.code(200).send(f.body);
        return reply.code(200).send(f.open!());
      };

      await svc
        .ensureDir()
        .catch((e) => log.warn({ err: e, dir: svc.dir }, 'cannot create the settings directory'));
      svc.watch((e) =>
        log.warn(
          { err: e, dir: svc.dir },
          'cannot watch the settings directory: checking it on every request',
        ),
      );
      st.svc = svc;
      if (!cfg.enabled) return;

      for (const name of ['46xxsettings.txt', '46xxspecials.txt']) {
        app.get(`/${name}`, { schema: { hide: true } }, (req, reply) => serveFile(req, reply, name));
      }
      app.get<{ Params: { file: string } }>(
        `/:file(${extPattern(cfg.staticExtensions)})`,
        { schema: { hide: true } },
        (req, reply) => serveFile(req, reply, req.params.file),
      );

      app.get(
        '/api/settings/eval',
        {
          schema: {
            tags: ['settings'],
            summary: 'Evaluate the served settings files as a given phone or client would',
            description:
              'Runs 46xxsettings.txt (and the files it GETs) with the client variables and returns the effective settings, where each was set (file and line) and the path taken. `ua` selects the User-Agent rule.',
            querystring: Type.Object({
              model: Type.Optional(
                Type.String({
                  minLength: 1,
                  maxLength: 16,
                  description:
                    'MODEL4 in any case: J179, 9611, aca, aci, acm, acw … (required unless var gives MODEL4)',
                }),
              ),
              var: Type.Optional(
                Type.Union([
                  Type.String({ maxLength: 330 }),
                  Type.Array(Type.String({ maxLength: 330 }), { maxItems: MAX_VARIABLES }),
                ]),
              ),
              group: Type.Optional(Type.String({ maxLength: 8 })),
              sig: Type.Optional(Type.String({ maxLength: 8, description: 'SIG_IN_USE: SIP or H323' })),
              mac: Type.Optional(Type.String({ maxLength: 32 })),
              fullModel: Type.Optional(Type.String({ maxLength: 32, description: 'MODEL (default: model)' })),
              vpn: Type.Optional(Type.String({ maxLength: 2 })),
              ua: Type.Optional(Type.String({ maxLength: 512 })),
              file: Type.Optional(Type.String({ maxLength: 128, default: '46xxsettings.txt' })),
              trace: Type.Optional(Type.Boolean({ default: true })),
            }),
            response: {
              200: described(
                EvalResponseSchema,
                'The effective settings, where each was set, the path taken',
              ),
              ...errors(400, 401, 404),
            },
          },
        },
        async (req) => {
          const q = req.query;
          const list = q.var === undefined ? [] : Array.isArray(q.var) ? q.var : [String(q.var)];
          const vars = parseVariableAssignments(list, 'var');
          if (q.model === undefined && vars.MODEL4 === undefined) {
            throw new ValidationError('SETTINGS_BAD_OPTION', 'model: required (or var=MODEL4=…)', {
              field: 'model',
            });
          }
          const inputs: EvalInputs = {
            MODEL4: q.model === undefined ? '' : canonicalModel(String(q.model), 'model'),
          };
          if (q.group !== undefined) inputs.GROUP = String(q.group);
          if (q.sig !== undefined) inputs.SIG_IN_USE = String(q.sig);
          if (q.mac !== undefined) inputs.MACADDR = String(q.mac);
          if (q.fullModel !== undefined) inputs.MODEL = String(q.fullModel);
          if (q.vpn !== undefined) inputs.VPNACTIVE = String(q.vpn);
          Object.assign(inputs, vars);
          const ua = String(q.ua ?? '');
          const r = await svc.evaluate(inputs, ua, String(q.file ?? '46xxsettings.txt'));
          return {
            inputs: { ...r.inputs },
            userAgentRule: svc.ruleLabel(ua),
            source: r.source,
            files: r.files,
            end: r.end,
            values: r.values,
            settings: r.settings,
            trace: q.trace === false ? [] : r.trace,
            traceTruncated: r.traceTruncated,
            diagnostics: r.diagnostics,
          };
        },
      );

      app.get(
        '/api/settings/files/:name',
        {
          schema: {
            tags: ['settings'],
            summary: 'Show a settings file as a client with this User-Agent would receive it',
            params: Type.Object({ name: Type.String({ maxLength: 128 }) }),
            querystring: Type.Object({ ua: Type.Optional(Type.String({ maxLength: 512 })) }),
            response: {
              200: Type.Object(
                {
                  name: Type.String(),
                  source: Type.String(),
                  size: Type.Integer(),
                  lastModified: Type.String(),
                  encoding: Type.String({ description: 'utf-8 or windows-1252: how the bytes were decoded' }),
                  text: Type.String(),
                },
                { description: 'The file as that client receives it' },
              ),
              ...errors(400, 401, 404),
            },
          },
        },
        async (req, reply) => {
          const { name } = req.params;
          const ua = req.query.ua ?? '';
          const f = await svc.serve(name, ua);
          const d = f ? await svc.decoded(name, ua) : undefined;
          if (!f || d === undefined) {
            return reply.code(404).send({
              error: {
                code: 'SETTINGS_FILE_NOT_FOUND',
                message: `no settings file ${name} (or too large to show)`,
              },
            });
          }
          return {
            name,
            source: f.source,
            size: f.size,
            lastModified: f.lastModified.toISOString(),
            encoding: d.encoding,
            text: d.text,
          };
        },
      );

      app.post(
        '/api/settings/lint',
        {
          schema: {
            tags: ['settings'],
            summary: 'Lint a settings file',
            description:
              'Give `text`, or `file` to lint a served file. With `previous`, also warns about settings Workplace clients would keep after their removal.',
            body: Type.Object({
              name: Type.Optional(Type.String({ maxLength: 128 })),
              text: Type.Optional(Type.String({ maxLength: 1024 * 1024 })),
              file: Type.Optional(Type.String({ maxLength: 128 })),
              previous: Type.Optional(Type.String({ maxLength: 1024 * 1024 })),
            }),
            response: {
              200: described(LintResultSchema, 'Problems found, by line'),
              ...errors(400, 401, 404),
            },
          },
        },
        async (req, reply) => {
          const b = req.body;
          const name = b.name ?? b.file ?? '46xxsettings.txt';
          // A served file is decoded exactly as the CLI decodes a file on disk: same verdict.
          const served = b.text === undefined && b.file ? await svc.decoded(b.file, '') : undefined;
          const text = b.text ?? served?.text;
          if (text === undefined) {
            return reply.code(b.file ? 404 : 400).send({
              error: {
                code: b.file ? 'SETTINGS_FILE_NOT_FOUND' : 'REQUEST_INVALID',
                message: b.file ? `no settings file ${b.file}` : 'give text or file',
              },
            });
          }
          const r = lintSettings(served ? { name, text, encoding: served.encoding } : { name, text });
          if (b.previous !== undefined) {
            const extra = await lintRemovals({ name, text: b.previous }, { name, text });
            r.diagnostics.push(...extra);
            r.warnings += extra.length;
          }
          return r;
        },
      );

      // The file's exact bytes (curl --data-binary @46xxsettings.txt): decoded as the CLI decodes a file.
      app.addContentTypeParser(
        'application/octet-stream',
        { parseAs: 'buffer', bodyLimit: MAX_TEXT_FILE },
        (_req, body, done) => done(null, body),
      );
      app.post(
        '/api/settings/lint/bytes',
        {
          bodyLimit: MAX_TEXT_FILE,
          schema: {
            tags: ['settings'],
            summary: 'Lint the bytes of a settings file (Content-Type: application/octet-stream)',
            description:
              'The file as it is on disk (UTF-8, or Windows-1252 like the stock templates): the same verdict as `switchboard settings lint`. At most 1 MiB.',
            querystring: Type.Object({
              name: Type.Optional(Type.String({ maxLength: 128, default: '46xxsettings.txt' })),
            }),
            response: {
              200: described(LintResultSchema, 'Problems found, by line'),
              ...errors(400, 401, 413, 415),
            },
          },
          // Raw bytes: nothing for Fastify to validate, documented as a binary body.
          config: serviceValidatedBody({
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          }),
        },
        async (req) => {
          if (!Buffer.isBuffer(req.body)) {
            throw new ValidationError(
              'REQUEST_INVALID',
              'send the file as Content-Type: application/octet-stream',
              { status: 415 },
            );
          }
          const name = req.query.name ?? '46xxsettings.txt';
          const d = decodeSettingsBytes(req.body, name);
          return lintSettings({ name, text: d.text, encoding: d.encoding });
        },
      );

      app.get(
        '/api/settings/clients',
        {
          schema: {
            tags: ['settings'],
            summary: 'Clients that fetched settings files (most recent first)',
            response: {
              200: described(
                Type.Object({ clients: Type.Array(ClientSchema) }),
                'Phones and clients that fetched settings files, newest first',
              ),
              ...errors(401),
            },
          },
        },
        async () => ({ clients: svc.listClients() }),
      );
    },
  };
}

export const provisioningModule: SettingsModule = settingsModule();
