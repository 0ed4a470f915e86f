import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DRILL_PLACED } from '../alerting/emergency/service.js';
import type { TimerHandle } from '../core/clock.js';
import { LimitError } from '../core/errors.js';
import type { HubContext, HubModule } from '../core/module.js';

/**
 * Demo-only API (registered by `switchboard demo`, never by `serve`): the console's emergency drill button.
 *
 * `POST /api/demo/drill` places a simulated emergency call. When a simulator has registered a drill
 * provider for this hub (the IP Office demo can play its emergency scenario over DevLink3), the call goes
 * through it; otherwise the module plays the call's life cycle on the bus itself, as the IP Office driver
 * would report it (`call.started` → `call.emergency` → `call.answered` → `call.ended`), flagged
 * `drill: true`, with `source` = the first IP Office device (or `demo-drill`).
 */

export interface DrillRequest {
  extension: string;
  /** Empty: the PBX's (or simulator's) name for the extension. */
  name: string;
  dialled: string;
  holdSeconds: number;
}

export interface DrillResult {
  message: string;
  via: string;
  callKey?: string;
}

export interface DrillProvider {
  /** Shown in the API answer (e.g. `ipoffice-simulator`). */
  name: string;
  drill(req: DrillRequest): Promise<DrillResult>;
}

const providers = new WeakMap<object, DrillProvider>();

/** A demo starter calls this to route drills through its simulator. */
export function registerDrillProvider(hub: HubContext, provider: DrillProvider): void {
  providers.set(hub, provider);
}

/**
 * Adapts a demo part that can place an emergency call on its simulator (the IP Office demo's
 * `placeEmergencyCall(fromExtension, { number })`). Returns undefined for any other part.
 */
export function drillProviderFrom(name: string, part: unknown): DrillProvider | undefined {
  const place = (part as { placeEmergencyCall?: unknown } | null)?.placeEmergencyCall;
  if (typeof place !== 'function') return undefined;
  return {
    name: `${name}-simulator`,
    async drill(req) {
      await (place as (ext: string, o: { number: string }) => Promise<void>).call(part, req.extension, {
        number: req.dialled,
      });
      return {
        message: `Drill: extension ${req.extension} dialled ${req.dialled} on the ${name} simulator (over DevLink3).`,
        via: `${name}-simulator`,
      };
    },
  };
}

const DrillBodySchema = Type.Object(
  {
    extension: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', default: '4001' })),
    name: Type.Optional(
      Type.String({ maxLength: 60, description: 'Caller name (default: from the PBX user list).' }),
    ),
    dialled: Type.Optional(
      Type.String({ pattern: '^[0-9*#]{2,15}$', default: '911', description: 'Emergency number dialled.' }),
    ),
    holdSeconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 600, default: 20, description: 'How long the call lasts.' }),
    ),
  },
  { additionalProperties: false },
);

/** At most this many drill calls at once. */
const MAX_ACTIVE = 3;

export function demoModule(): HubModule {
  const timers = new Set<TimerHandle>();
  let hubRef: HubContext | undefined;
  let active = 0;
  let seq = 0;

  /** Plays a drill call on the bus with the IP Office driver's event names and flat call summary. */
  const busDrill = (hub: HubContext, req: DrillRequest): DrillResult => {
    const pbx = hub.devices.list({ kind: 'ipoffice' })[0];
    const source = pbx?.id ?? 'demo-drill';
    seq++;
    const callKey = `drill-${hub.clock.now().toString(36)}-${seq}`;
    const startedAt = new Date(hub.clock.now()).toISOString();
    const summary = {
      callKey,
      nodeId: 'drill',
      callId: seq,
      state: 'dialling',
      direction: 'outbound',
      from: req.extension,
      fromName: req.name || 'Demo Caller',
      to: req.dialled,
      toName: 'Emergency',
      huntGroup: '',
      trunk: 'drill',
      extension: req.extension,
      targets: [] as string[],
      parties: [req.extension],
      startedAt,
      answeredAt: undefined as string | undefined,
      emergency: true,
      drill: true,
    };
    hub.bus.emit({ source, type: 'call.started', data: { ...summary } });
    hub.bus.emit({
      source,
      type: 'call.emergency',
      data: {
        ...summary,
        callerExtension: req.extension,
        callerName: req.name || 'Demo Caller',
        cli: req.extension,
        callbackNumber: req.extension,
        emergencyLocationId: '',
        dialled: req.dialled,
        calledType: 'drill',
        detectedBy: 'drill',
        test: false,
      },
    });
    active++;
    const later = (ms: number, fn: () => void) => {
      const t = hub.clock.setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      t.unref?.();
      timers.add(t);
    };
    later(1000, () => {
      summary.state = 'connected';
      summary.answeredAt = new Date(hub.clock.now()).toISOString();
      hub.bus.emit({ source, type: 'call.answered', data: { ...summary } });
    });
    later(req.holdSeconds * 1000, () => {
      active--;
      const now = hub.clock.now();
      hub.bus.emit({
        source,
        type: 'call.ended',
        data: {
          ...summary,
          durationSeconds: Math.round((now - Date.parse(startedAt)) / 100) / 10,
          talkSeconds: summary.answeredAt ? Math.round((now - Date.parse(summary.answeredAt)) / 100) / 10 : 0,
          endedAt: new Date(now).toISOString(),
          clearedBy: 'caller',
        },
      });
    });
    return {
      message: `Drill: ${req.name || 'Demo Caller'} (extension ${req.extension}) dialled ${req.dialled}; the call ends in ${req.holdSeconds} s.`,
      via: 'bus',
      callKey,
    };
  };

  return {
    name: 'demo',
    routes(app: FastifyInstance, hub: HubContext) {
      hubRef = hub;
      app.get(
        '/api/demo',
        {
          schema: {
            tags: ['demo'],
            summary: 'Demo mode information (only in `switchboard demo`)',
            response: {
              200: Type.Object({
                demo: Type.Boolean(),
                drill: Type.Object({ available: Type.Boolean(), via: Type.String() }),
              }),
            },
          },
        },
        async () => ({ demo: true, drill: { available: true, via: providers.get(hub)?.name ?? 'bus' } }),
      );
      app.post(
        '/api/demo/drill',
        {
          schema: {
            tags: ['demo'],
            summary: 'Place a simulated emergency call (demo only)',
            description:
              'Through the registered simulator when there is one, else played on the event bus as the IP Office driver reports calls. Events carry `drill: true`.',
            body: Type.Optional(DrillBodySchema),
            response: {
              202: Type.Object({
                message: Type.String(),
                via: Type.String(),
                callKey: Type.Optional(Type.String()),
              }),
            },
          },
        },
        async (req, reply) => {
          const b = (req.body ?? {}) as Partial<DrillRequest>;
          const r: DrillRequest = {
            extension: b.extension ?? '4001',
            name: b.name ?? '',
            dialled: b.dialled ?? '911',
            holdSeconds: b.holdSeconds ?? 20,
          };
          const p = providers.get(hub);
          if (p) {
            // The simulator's DevLink3 call cannot say it is a drill: announce it, so that the emergency
            // service marks the incident it opens as one.
            hub.bus.emit({
              source: 'demo',
              type: DRILL_PLACED,
              data: { extension: r.extension, dialled: r.dialled, via: p.name },
            });
            return reply.status(202).send(await p.drill(r));
          }
          if (active >= MAX_ACTIVE)
            throw new LimitError(
              'DEMO_DRILL_BUSY',
              `at most ${MAX_ACTIVE} drill calls at once; wait for one to end`,
            );
          return reply.status(202).send(busDrill(hub, r));
        },
      );
    },
    stop() {
      for (const t of timers) hubRef?.clock.clearTimeout(t);
      timers.clear();
    },
  };
}
