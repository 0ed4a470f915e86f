import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import type { Subscription } from '../core/bus.js';
import { errorMessage, ValidationError } from '../core/errors.js';
import type { HubContext, HubModule, StorePorts } from '../core/module.js';
import { holdSingleton } from '../core/singleton.js';
import { diskState } from '../store/disk.js';
import { broadcastFromBody } from './broadcast/body.js';
import { BroadcastControl } from './broadcast/control.js';
import { BroadcastEngine } from './broadcast/engine.js';
import { groupAudioStreamer } from './broadcast/media.js';
import { CallPresence } from './broadcast/presence.js';
import { Scheduler } from './broadcast/schedules.js';
import { assertValid, validateBroadcastInput } from './broadcast/schema.js';
import { TemplateService } from './broadcast/templates.js';
import type { AlertPlanner, MulticastAudio } from './broadcast/types.js';
import { ChannelDispatcher } from './channels/dispatch.js';
import { EmailChannel, SmtpIncidentMailer } from './channels/email.js';
import { PubSubChannel, pubsubPublisher } from './channels/pubsub.js';
import { type AlertChannel, CHANNEL_MOMENTS, type ChannelSource } from './channels/types.js';
import { IncidentWebhookChannel, WebhookSender } from './channels/webhook.js';
import { isValidTimeZone } from './emergency/alert-text.js';
import { LocationTable } from './emergency/locations.js';
import { phoneProbe } from './emergency/probe.js';
import { EmergencyService } from './emergency/service.js';
import { EmergencySupervisor } from './emergency/supervisor.js';
import type { EmergencyNotice } from './emergency/types.js';
import { CreateBroadcastSchema, registerBroadcastRoutes } from './routes.js';
import { buildEventCatalog } from './rules/catalog.js';
import { RuleEngine, type RuleValidationContext } from './rules/engine.js';
import type { AlertPublisher, RuleRunners } from './rules/types.js';
import { registerScheduleRoutes } from './schedule-routes.js';

/** Everything broadcasts, rules and the 911 notification need at run time; one per hub. */
export interface BroadcastRuntime {
  stores: StorePorts;
  engine: BroadcastEngine;
  /** Cancel, recall and retry (control.ts). */
  control: BroadcastControl;
  /** Scheduled and recurring broadcasts. */
  scheduler: Scheduler;
  templates: TemplateService;
  rules: RuleEngine;
  emergency: EmergencyService;
  /** Supervision of the 911 path (PBX links, security phones): readiness, degraded notices. */
  supervisor: EmergencySupervisor;
  webhooks: WebhookSender;
  /** The 911 email relay, when `emergency.email.enabled`. */
  mailer: SmtpIncidentMailer | undefined;
  presence: CallPresence;
  /** The PubSub publisher, when a module provides one (see setAlertPublisher). */
  publisher: AlertPublisher | undefined;
  /** The configured channels (Teams, Slack, SMS, voice) of the alerting module (see setIncidentChannels). */
  channels?: IncidentChannels | undefined;
  /** Runs every channel 911 incidents are told about: PubSub, webhooks, the configured ones, email. */
  dispatcher: ChannelDispatcher;
  audio: MulticastAudio | undefined;
  /** Screen pops for the rule action `screenpop`, set by the dial module (src/dial/module.ts). */
  screenPop?: NonNullable<RuleRunners['screenPop']>;
  /** The 911 location table, in memory (write through it so lookups stay current). */
  locations: LocationTable;
  /** Settles when templates and rules are read and the configured ones set up (rejects on a bad config). */
  ready: Promise<void>;
  /** The bus subscription that feeds drivers' display confirmations to the engine (while started). */
  displaySub?: Subscription | undefined;
  /** Several hubs: the timer that looks for broadcasts whose hub died (engine.adopt), while started. */
  adoptTimer?: NodeJS.Timeout | undefined;
  /** Several hubs: gives up the `scheduler` lease (while started). */
  unholdScheduler?: (() => Promise<void>) | undefined;
  validation(): RuleValidationContext;
}

const runtimes = new WeakMap<HubContext, BroadcastRuntime>();

/** Lets the PubSub relay (or any other module) provide the publisher rules and 911 incidents use. */
export function setAlertPublisher(hub: HubContext, p: AlertPublisher | undefined): void {
  broadcastRuntime(hub).publisher = p;
}

/** The configured channels the alerting module adds to the ones 911 incidents are told about. */
export type IncidentChannels = ChannelSource;

/** Lets the alerting module provide the channels (Teams, Slack, SMS, voice) 911 incidents go to. */
export function setIncidentChannels(hub: HubContext, c: IncidentChannels | undefined): void {
  broadcastRuntime(hub).channels = c;
}

/** Lets the media module provide the multicast streamer (one stream per group). */
export function setMulticastAudio(hub: HubContext, a: MulticastAudio | undefined): void {
  broadcastRuntime(hub).audio = a;
}

export function broadcastRuntime(hub: HubContext): BroadcastRuntime {
  const existing = runtimes.get(hub);
  if (existing) return existing;
  const c = hub.config.broadcast;
  const stores = hub.stores;
  // Each driver brings its own alert planner (Driver.alertPlanner); a kind without one cannot show alerts.
  const planner = (kind: string): AlertPlanner | undefined => hub.drivers.get(kind)?.alertPlanner;
  const presence = new CallPresence();
  const locations = new LocationTable(stores.locations);
  const logger = hub.logger.child({ module: 'broadcast' });
  let rt: BroadcastRuntime;
  const engine = new BroadcastEngine({
    store: stores.broadcasts,
    devices: hub.devices,
    runner: hub.actions,
    planner,
    bus: hub.bus,
    ackUrl: (id, token) => `${hub.hub.publicUrl}/alerts/ack/${id}/${token}`,
    showUrl: (id, token) => `${hub.hub.publicUrl}/alerts/show/${id}/${token}`,
    clock: hub.clock,
    logger,
    isBusy: (d) => presence.isBusy(d),
    // Several hubs on one database: each running broadcast is delivered under its lease (docs/broadcasts.md).
    ...(hub.storeBackend === 'postgres'
      ? { ownership: { cluster: hub.cluster, leases: stores.leases } }
      : {}),
    audio: {
      start: (req, s) => {
        if (!rt.audio) throw new Error('no multicast audio source is configured');
        return rt.audio.start(req, s);
      },
    },
    options: {
      concurrency: c.concurrency,
      attempts: c.attempts,
      backoff: { initialMs: c.backoffMs, maxMs: c.backoffMaxMs },
      busyRetry: { attempts: c.busyRetryAttempts, initialMs: c.busyRetryMs, maxMs: c.busyRetryMs * 8 },
      actionTimeoutMs: c.actionTimeoutMs,
      writeBehindMs: hub.config.store.writeBehindMs,
      busyPolicies: c.busyPolicy,
      multicast: {
        baseAddress: c.multicast.baseAddress,
        basePort: c.multicast.basePort,
        leadMs: c.multicast.leadMs,
        joinTimeoutMs: c.multicast.joinTimeoutMs,
      },
    },
  });
  const control = new BroadcastControl({
    engine,
    store: stores.broadcasts,
    devices: hub.devices,
    runner: hub.actions,
    planner,
    bus: hub.bus,
    clock: hub.clock,
    logger,
    options: { concurrency: c.concurrency, actionTimeoutMs: c.actionTimeoutMs },
  });
  const templates = new TemplateService(stores.templates, hub.clock);
  const scheduler = new Scheduler({
    store: stores.schedules,
    send: (body, createdBy) => engine.start(broadcastFromBody(body, templates), { createdBy }).id,
    check: (body) => {
      assertValid(CreateBroadcastSchema, body, 'SCHEDULE_INVALID', 'broadcast');
      validateBroadcastInput(broadcastFromBody(body, templates));
    },
    bus: hub.bus,
    clock: hub.clock,
    logger,
    options: {
      catchUpMinutes: c.schedules.catchUpMinutes,
      defaultTimeZone: c.schedules.timeZone,
      maxSchedules: c.schedules.maxSchedules,
    },
  });
  const webhooks = new WebhookSender(stores.webhooks, c.webhook, hub.clock, hub.signal, logger);
  const validation = (): RuleValidationContext => ({
    catalog: buildEventCatalog([...hub.drivers.values()].map((d) => d.spec)),
    template: (id) => templates.get(id),
    checkAction: (deviceId, actionId, params) => {
      hub.actions.validate(deviceId, actionId, params);
    },
  });
  const rules = new RuleEngine({
    store: stores.rules,
    bus: hub.bus,
    clock: hub.clock,
    logger,
    validation,
    templates,
    runners: {
      broadcast: (input, ruleId) => engine.start(input, { createdBy: `rule:${ruleId}` }),
      action: (deviceId, actionId, params) => hub.actions.execute(deviceId, actionId, params),
      publish: async (p) => {
        if (!rt.publisher) throw new Error('no PubSub relay is available to publish to');
        return rt.publisher.publish(p);
      },
      webhook: (p) => webhooks.send(p),
      screenPop: async (p) => {
        if (!rt.screenPop) throw new Error('screen pops are not available (no dial module)');
        return rt.screenPop(p);
      },
    },
  });
  const e = hub.config.emergency;
  if (e.timeZone && !isValidTimeZone(e.timeZone))
    throw new ValidationError(
      'EMERGENCY_TIMEZONE_INVALID',
      `emergency.timeZone: ${JSON.stringify(e.timeZone)} is not a time zone this Node.js knows (use an IANA name such as America/New_York)`,
      { field: 'emergency.timeZone' },
    );
  const mailer = e.email.enabled
    ? new SmtpIncidentMailer({
        config: e.email,
        publicUrl: () => hub.hub.publicUrl,
        clock: hub.clock,
        logger,
        signal: hub.signal,
      })
    : undefined;
  // Everyone told about an incident besides the phones, in this order (the order they start in): the
  // PubSub publish (when a relay is there), the incident webhooks, the configured channels, the email relay.
  const pubsubChannel = e.queue
    ? new PubSubChannel({
        queue: e.queue,
        account: e.account,
        moments: ['opened'],
        publisher: () => rt.publisher,
        logger,
      })
    : undefined;
  const webhookChannels = e.webhooks.map(
    (w, n) =>
      new IncidentWebhookChannel({
        id: `webhook:${n + 1}`,
        url: w.url,
        ...(w.secret ? { secret: w.secret } : {}),
        moments: ['opened', 'unnotified'],
        sender: webhooks,
        logger,
      }),
  );
  const emailChannel = mailer
    ? new EmailChannel(mailer, CHANNEL_MOMENTS, {
        host: e.email.host,
        port: e.email.port,
        recipients: e.email.to.length,
      })
    : undefined;
  const ch = hub.config.channels;
  const dispatcher = new ChannelDispatcher({
    registry: {
      list: (): AlertChannel[] => [
        ...(pubsubChannel?.available() ? [pubsubChannel] : []),
        ...webhookChannels,
        ...(rt.channels?.list() ?? []),
        ...(emailChannel ? [emailChannel] : []),
      ],
    },
    store: stores.channelLog,
    options: { attempts: ch.attempts, backoffMs: ch.backoffMs, timeoutMs: ch.timeoutMs, logKeep: ch.logKeep },
    link: (id) => `${hub.hub.publicUrl.replace(/\/+$/, '')}/#/incidents/${encodeURIComponent(id)}`,
    clock: hub.clock,
    logger: hub.logger.child({ module: 'alerting' }),
    signal: hub.signal,
  });
  const emergency = new EmergencyService({
    bus: hub.bus,
    engine,
    templates,
    locations,
    incidents: stores.incidents,
    // A store several hubs share: a live call's incident is claimed there first (exactly once).
    // …and each open incident is in the custody of one hub, which escalates it (another takes it over).
    ...(hub.storeBackend === 'postgres'
      ? { claims: stores.incidents, custody: hub.cluster, acks: stores.kv }
      : {}),
    devices: hub.devices,
    channels: dispatcher,
    clock: hub.clock,
    logger,
    options: {
      enabled: e.enabled,
      group: e.group,
      escalationGroup: e.escalationGroup,
      escalateAfterSeconds: e.escalateAfterSeconds,
      maxEscalations: e.maxEscalations,
      template: e.template,
      includeTests: e.includeTests,
      queue: e.queue,
      account: e.account,
      webhooks: e.webhooks.map((w) => ({ url: w.url, ...(w.secret ? { secret: w.secret } : {}) })),
      phone: {
        timeZone: e.timeZone,
        callbackNumber: e.callbackNumber,
        callbackDial: e.callbackDial,
        dialPrefix: e.dialPrefix,
        repeatSeconds: e.repeatSeconds,
      },
      maxCallSeconds: e.maxCallSeconds,
      reannounceGraceMs: e.reannounceGraceMs,
      resumeWithinSeconds: e.resumeWithinSeconds,
    },
  });
  const supervisor = new EmergencySupervisor({
    bus: hub.bus,
    devices: hub.devices,
    probe: phoneProbe(hub),
    notice: (n) => emergencyNotice(rt, n),
    storage: () => ({
      ...diskState(hub.config.dataDir, hub.config.events.minFreeDiskMb),
      minFreeMb: hub.config.events.minFreeDiskMb,
      storeReachable: hub.stores.ready(),
    }),
    clock: hub.clock,
    logger: hub.logger.child({ module: 'emergency' }),
    options: {
      enabled: e.enabled,
      group: e.group,
      escalationGroup: e.escalationGroup,
      probeIntervalSeconds: e.probeIntervalSeconds,
      probeTimeoutMs: e.probeTimeoutMs,
      probeConcurrency: e.probeConcurrency,
      probeRatePerSecond: e.probeRatePerSecond,
      degradedNoticeSeconds: e.degradedNoticeSeconds,
      linkStartGraceMs: e.linkStartGraceMs,
      storageCheckSeconds: e.storageCheckSeconds,
    },
  });
  rt = {
    stores,
    engine,
    control,
    scheduler,
    templates,
    rules,
    emergency,
    supervisor,
    webhooks,
    mailer,
    dispatcher,
    presence,
    publisher: undefined,
    audio: groupAudioStreamer({
      mediaDir: hub.config.avaya.mediaDir || join(hub.config.dataDir, 'media'),
      ...(c.multicast.interface ? { multicastInterface: c.multicast.interface } : {}),
      ...(c.multicast.liveBindAddress ? { liveBindAddress: c.multicast.liveBindAddress } : {}),
      ttl: c.multicast.ttl,
      onError: (err, s) =>
        logger.warn({ err: errorMessage(err), address: s.address, port: s.port }, 'multicast audio failed'),
    }),
    validation,
    locations,
    ready: Promise.resolve(),
  };
  runtimes.set(hub, rt);
  // Templates and config rules are read and set up before the first request (routes() and start() wait
  // for it), so that a bad config fails at start-up with a clear error.
  rt.ready = (async () => {
    await templates.ensureBuiltins();
    for (const [i, t] of hub.config.broadcast.templates.entries()) {
      try {
        await templates.put(t as never);
      } catch (err) {
        throw Object.assign(err as Error, { message: `broadcast.templates.${i}: ${errorMessage(err)}` });
      }
    }
    rules.loadConfigRules(hub.config.rules);
    await rules.load();
    await locations.load();
    // Changed by another hub or the CLI: read again within cluster.configPollMs (core/config-sync.ts).
    hub.configSync.register('templates', () => templates.load());
    hub.configSync.register('rules', () => rules.load());
    hub.configSync.register('locations', () => locations.load());
    hub.configSync.register('schedules', () => scheduler.reload());
  })();
  rt.ready.catch(() => {});
  return rt;
}

export const broadcastModule: HubModule = {
  name: 'broadcast',
  // The relay's publisher exists before the 911 rule may publish an incident.
  after: ['pubsub'],
  async routes(app, hub) {
    const rt = broadcastRuntime(hub);
    await rt.ready;
    await registerBroadcastRoutes(app, hub, rt);
    registerScheduleRoutes(app, rt.scheduler);
    emergencyMetrics(app, rt);
  },
  async start(hub) {
    const rt = broadcastRuntime(hub);
    await rt.ready;
    // Several hubs: broadcasts whose hub died (this one before its restart included) are taken over by
    // lease, by whichever hub finds them first, every lease renewal period (docs/broadcasts.md).
    if (hub.storeBackend === 'postgres') startAdopting(hub, rt);
    // Alone: interrupted emergency/urgent broadcasts resume; normal ones are closed (docs/broadcasts.md).
    const rec = hub.storeBackend === 'postgres' ? { closed: 0, resumed: [] } : await rt.engine.recoverAll();
    if (rec.closed > 0)
      hub.logger.warn({ broadcasts: rec.closed }, 'broadcasts interrupted by the last shutdown were closed');
    if (rec.resumed.length > 0)
      hub.logger.warn(
        { broadcasts: rec.resumed.length },
        'broadcasts interrupted by the last shutdown resumed',
      );
    logDeviceChanges(hub);
    if (hub.config.pubsub.enabled && !rt.publisher) rt.publisher = pubsubPublisher(hub);
    rt.presence.start(hub.bus);
    // Drivers that learn later that a phone shows an accepted alert (an Avaya phone fetching the content).
    rt.displaySub ??= hub.bus.subscribe(
      (e) => {
        if (typeof e.data.ref === 'string')
          rt.engine
            .displayed(e.data.ref)
            .catch((err: unknown) => rt.emergency.logger.warn({ err }, 'display confirmation not recorded'));
      },
      { filter: { types: ['device.displayed'] } },
    );
    await rt.rules.start();
    // Runs missed while the hub was down are handled here (docs/broadcasts.md, "Scheduled broadcasts").
    // Several hubs: one of them runs the schedules (lease `scheduler`), another takes over when it dies;
    // each run is also claimed in the store, so it fires once even across a takeover at the due moment.
    if (hub.storeBackend === 'postgres')
      rt.unholdScheduler = holdSingleton(
        hub.cluster,
        'scheduler',
        { start: () => rt.scheduler.start(), stop: () => rt.scheduler.stop() },
        hub.logger,
      );
    else await rt.scheduler.start();
    await rt.emergency.start();
    rt.supervisor.start();
    if (!rt.emergency.active() && hub.config.emergency.enabled !== 'off') {
      hub.logger.warn(
        { group: hub.config.emergency.group },
        'on-site 911 notification is waiting for phones in its group (add devices to the group to turn it on)',
      );
    }
  },
  async stop(hub) {
    const rt = runtimes.get(hub);
    if (!rt) return;
    if (rt.adoptTimer) clearInterval(rt.adoptTimer);
    rt.adoptTimer = undefined;
    rt.presence.stop();
    rt.displaySub?.unsubscribe();
    rt.displaySub = undefined;
    rt.supervisor.stop();
    await rt.unholdScheduler?.();
    rt.scheduler.stop();
    await rt.rules.stop();
    // The engine first: it aborts the deliveries in flight (emergency ones are suspended, resumable), so
    // that nothing waits on a phone that does not answer.
    await rt.engine.close();
    await rt.emergency.stop();
    rt.mailer?.close();
  },
};

/** Looks for broadcasts whose hub died every lease renewal period and takes them over (engine.adopt). */
function startAdopting(hub: HubContext, rt: BroadcastRuntime): void {
  let busy = false;
  const look = async () => {
    if (busy) return;
    busy = true;
    try {
      const ids = await rt.engine.adopt();
      if (ids.length > 0) hub.logger.warn({ broadcasts: ids }, 'took over broadcasts whose hub died');
    } catch (e) {
      // The store is unreachable: the next look tries again.
      hub.logger.warn({ err: errorMessage(e) }, 'looking for broadcasts to take over failed');
    } finally {
      busy = false;
    }
  };
  void look();
  rt.adoptTimer = setInterval(() => void look(), hub.cluster.renewMs);
  rt.adoptTimer.unref();
}

/**
 * The degraded/recovered notice: a text to the security group's phones (urgent, no acknowledgement) and a
 * mail through the relay. Failures are logged (the notice is about a failure already).
 */
function emergencyNotice(rt: BroadcastRuntime, n: EmergencyNotice): void {
  const group = rt.emergency.options.group;
  try {
    rt.engine.start(
      {
        title: n.kind === 'degraded' ? '911 ALERTS DEGRADED' : '911 alerts restored',
        text: n.text.slice(0, 1000),
        priority: n.kind === 'degraded' ? 'urgent' : 'normal',
        ack: false,
        targets: { groups: [group] },
        meta: { notice: n.kind },
      },
      { createdBy: 'emergency' },
    );
  } catch (e) {
    rt.emergency.logger.warn({ err: errorMessage(e), group }, 'the 911 notice could not go to the phones');
  }
  rt.mailer?.notice(n).catch(() => {
    /* logged by the mailer */
  });
}

/** Device added/changed/removed are worth a log line (who can be alerted changes). */
function logDeviceChanges(hub: HubContext): void {
  const off = hub.devices.onChange(({ type, device }) =>
    hub.logger.info(
      { device: device.id, kind: device.kind, groups: device.groups, address: device.address },
      `device ${type}`,
    ),
  );
  hub.signal.addEventListener('abort', off, { once: true });
}

/** `switchboard_pbx_link_up{device}` and `switchboard_emergency_ready` on the app's registry (`/metrics`). */
function emergencyMetrics(app: FastifyInstance, rt: BroadcastRuntime): void {
  const registry = (app as FastifyInstance & { metrics?: Registry }).metrics;
  if (!registry) return;
  new Gauge({
    name: 'switchboard_pbx_link_up',
    help: 'PBX link state (1 up, 0 down or not connected yet), by device',
    labelNames: ['device'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const l of rt.supervisor.linkStatus()) this.set({ device: l.deviceId }, l.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'switchboard_emergency_ready',
    help: '1 when on-site 911 notification is ready (see GET /api/emergency reasons), else 0',
    registers: [registry],
    collect() {
      this.set(rt.supervisor.ready() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'switchboard_emergency_phone_reachable',
    help: 'Last probe of each security/escalation phone (1 answers, 0 does not; absent: not probed yet)',
    labelNames: ['device', 'group'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of rt.supervisor.phoneStatus())
        if (p.reachable !== null) this.set({ device: p.deviceId, group: p.group }, p.reachable ? 1 : 0);
    },
  });
}
