import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { callbackDial } from '../alerting/emergency/alert-text.js';
import type { EmergencyService } from '../alerting/emergency/service.js';
import { AuthError, NotFoundError, ValidationError } from '../core/errors.js';
import type { HubContext } from '../core/module.js';
import { ActionResultSchema, described, errors, Nullable } from '../server/schemas.js';
import { DIAL_INPUT_MAX } from './number.js';
import type { DialService } from './service.js';

const DEVICE_ID = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });
const IdParams = Type.Object({ id: DEVICE_ID });
const IncidentParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

const DialBody = Type.Object(
  {
    number: Type.String({
      minLength: 1,
      maxLength: DIAL_INPUT_MAX,
      description:
        'Number to dial. Spaces, dashes, dots, slashes and brackets are removed; then Cisco accepts 0-9 # * A-D and comma (1 s pause), Avaya 0-9 # * and a leading +. A leading + on Cisco is replaced by dial.plusPrefix or refused (DIAL_PLUS_UNSUPPORTED).',
      examples: ['+1 (555) 010-4001', '4001'],
    }),
    prompt: Type.Optional(
      Type.Boolean({
        description:
          'Avaya only: the Push API cannot place a call, so show a page with a Call softkey the user presses. Without it an Avaya phone answers 409 AVAYA_DIAL_UNSUPPORTED.',
      }),
    ),
    note: Type.Optional(
      Type.String({ maxLength: 200, description: 'Shown above the Call softkey (Avaya prompt).' }),
    ),
  },
  { additionalProperties: false },
);
const KeyBody = Type.Object(
  {
    key: Type.String({
      minLength: 1,
      maxLength: 40,
      pattern: '^[A-Za-z_]{1,40}[0-9]{0,3}$',
      description:
        'A Cisco key name of seed 003 without `Key:`: Hold, Conference, Transfer, Release, Speaker, Headset, Mute, NavSelect, Line<n> (1-120), Session<n> (1-6), Soft<n> (1-5, per model), KeyPad<n> (0-9), KeyPadStar, KeyPadPound, Onhook/Offhook (8821) …',
      examples: ['Hold', 'Line2', 'Release'],
    }),
  },
  { additionalProperties: false },
);
const DialOutcomeSchema = Type.Object({
  deviceId: Type.String(),
  kind: Type.String(),
  number: Type.String({ description: 'The dial string sent to the phone.' }),
  mode: Type.Union([Type.Literal('dialled'), Type.Literal('prompted')], {
    description: 'dialled: the phone dialled; prompted: the user has to press Call (Avaya).',
  }),
  result: ActionResultSchema,
});
const KeyOutcomeSchema = Type.Object({
  deviceId: Type.String(),
  key: Type.String(),
  actionId: Type.String({ description: 'The control spec action that pressed it.' }),
  result: ActionResultSchema,
});
const CallbackBody = Type.Object(
  {
    deviceId: Type.Optional(
      Type.Union([DEVICE_ID], {
        description: 'The desk phone to dial from; default: dial.deskPhones of the signed-in user.',
      }),
    ),
  },
  { additionalProperties: false },
);
const CallbackSchema = Type.Object({
  incidentId: Type.String(),
  ...DialOutcomeSchema.properties,
});

/** The desk phone of a principal: the console's choice, else `dial.deskPhones`. */
export function deskPhoneOf(hub: HubContext, user: string | undefined): string | null {
  if (!user) return null;
  return hub.config.dial.deskPhones[user] ?? null;
}

export function registerDialRoutes(
  root: FastifyInstance,
  hub: HubContext,
  dial: DialService,
  emergency: () => EmergencyService,
): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const bad = errors(400, 401, 403, 404, 409, 502, 504);
  app.post(
    '/api/devices/:id/dial',
    {
      schema: {
        tags: ['devices'],
        summary: 'Click-to-dial: the phone dials a number (Cisco Dial: URI; Avaya: a Call prompt)',
        description:
          'Errors: DIAL_NUMBER_INVALID, DIAL_NUMBER_EMPTY, DIAL_NUMBER_TOO_LONG, DIAL_PLUS_UNSUPPORTED (400), CISCO_UNSUPPORTED_BY_MODEL (400), DEVICE_NOT_FOUND (404), AVAYA_DIAL_UNSUPPORTED, DIAL_UNSUPPORTED_KIND (409). A phone that refuses answers 200 with result.ok false. See docs/click-to-dial.md.',
        params: IdParams,
        body: DialBody,
        response: {
          200: described(DialOutcomeSchema, 'What was dialled and what the phone answered'),
          ...bad,
        },
      },
    },
    async (req) =>
      dial.dial(req.params.id, {
        number: req.body.number,
        ...(req.body.prompt !== undefined ? { prompt: req.body.prompt } : {}),
        ...(req.body.note ? { note: req.body.note } : {}),
      }),
  );
  app.post(
    '/api/devices/:id/keys',
    {
      schema: {
        tags: ['devices'],
        summary: 'Call control: press a key on a Cisco phone (Key: URI)',
        description:
          'Errors: DIAL_KEY_UNKNOWN, CISCO_KEY_NUMBER_INVALID, CISCO_UNSUPPORTED_BY_MODEL (400), DEVICE_NOT_FOUND (404), AVAYA_KEYS_UNSUPPORTED, DIAL_UNSUPPORTED_KIND (409).',
        params: IdParams,
        body: KeyBody,
        response: { 200: described(KeyOutcomeSchema, 'The key pressed and what the phone answered'), ...bad },
      },
    },
    async (req) => dial.key(req.params.id, req.body.key),
  );
  app.get(
    '/api/dial/desk-phone',
    {
      schema: {
        tags: ['devices'],
        summary: "The signed-in user's desk phone (dial.deskPhones), for Call back",
        response: {
          200: described(
            Type.Object({ user: Type.String(), deviceId: Nullable(Type.String()) }),
            'The configured desk phone, or null',
          ),
          ...errors(401),
        },
      },
    },
    async (req) => {
      const user = req.principal?.name ?? '';
      return { user, deviceId: deskPhoneOf(hub, user) };
    },
  );
  app.post(
    '/api/incidents/:id/callback',
    {
      schema: {
        tags: ['emergency'],
        summary: "Call back the incident's caller from the operator's desk phone",
        description:
          "Dials the incident's callback number (the same number as the phones' Call back key: emergency.callbackDial) from `deviceId`, else the signed-in user's phone in dial.deskPhones (DESK_PHONE_NOT_SET, 400, when neither). The attempt is recorded in the incident timeline (`callback.dialled` or `callback.failed`, with who and from which phone) and the audit trail.",
        params: IncidentParams,
        body: CallbackBody,
        response: { 200: described(CallbackSchema, 'What was dialled, from which phone'), ...bad },
      },
      preValidation: async (req) => {
        req.body ??= {};
      },
    },
    async (req) => {
      const by = req.principal?.name;
      if (!by) throw new AuthError('UNAUTHENTICATED', 'calling back needs a signed-in user or an API key');
      const svc = emergency();
      const incident = await svc.get(req.params.id);
      const deviceId = req.body.deviceId ?? deskPhoneOf(hub, by);
      if (!deviceId)
        throw new ValidationError(
          'DESK_PHONE_NOT_SET',
          `deviceId: name the phone to call back from; ${by} has no desk phone in dial.deskPhones`,
          { field: 'deviceId' },
        );
      const e = hub.config.emergency;
      const number = callbackDial(incident.caller, { dial: e.callbackDial, prefix: e.dialPrefix });
      if (!number)
        throw new NotFoundError(
          'CALLBACK_NUMBER_UNKNOWN',
          `incident ${incident.id} has no number to call back`,
          {
            field: 'id',
          },
        );
      try {
        const out = await dial.dial(deviceId, {
          number,
          prompt: true,
          note: `Call back ${incident.caller.name}`,
        });
        await svc.record(incident.id, out.result.ok ? 'callback.dialled' : 'callback.failed', {
          by,
          deviceId,
          number: out.number,
          mode: out.mode,
          ...(out.result.ok ? {} : { outcome: out.result.outcome ?? 'refused' }),
        });
        return { incidentId: incident.id, ...out };
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        await svc.record(incident.id, 'callback.failed', {
          by,
          deviceId,
          number,
          error: typeof code === 'string' ? code : 'ERROR',
        });
        throw e;
      }
    },
  );
}
