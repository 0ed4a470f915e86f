import { Type } from 'typebox';
import { ValidationError } from '../../core/errors.js';
import { formatProblems, schemaProblems } from '../../core/schema-errors.js';
import type { BroadcastInput } from './types.js';

/** JSON schemas of broadcast and template input (used by the engine, the API and the OpenAPI document). */
export const PrioritySchema = Type.Union([
  Type.Literal('normal'),
  Type.Literal('urgent'),
  Type.Literal('emergency'),
]);
export const ToneSchema = Type.Union([
  Type.Literal('none'),
  Type.Literal('chime'),
  Type.Literal('alert'),
  Type.Literal('beep'),
  Type.Literal('attention'),
  Type.Literal('urgent'),
]);
export const BusyPolicySchema = Type.Union([
  Type.Literal('whisper'),
  Type.Literal('suppress'),
  Type.Literal('retry'),
]);

const ID = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });

export const TargetSchema = Type.Object(
  {
    devices: Type.Optional(Type.Array(ID, { maxItems: 20000 })),
    groups: Type.Optional(Type.Array(ID, { maxItems: 256 })),
    labels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 256 })),
    all: Type.Optional(
      Type.Boolean({ description: 'Every phone: every device whose kind can show an alert (not the PBX).' }),
    ),
    kinds: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 16 })),
  },
  { additionalProperties: false },
);

export const AudioSchema = Type.Object(
  {
    source: Type.Union([
      Type.Literal('tone'),
      Type.Literal('file'),
      Type.Literal('tts'),
      Type.Literal('live'),
    ]),
    tone: Type.Optional(Type.String({ maxLength: 32 })),
    file: Type.Optional(Type.String({ maxLength: 255 })),
    text: Type.Optional(Type.String({ maxLength: 2000 })),
    live: Type.Optional(
      Type.Object(
        {
          port: Type.Integer({
            minimum: 1024,
            maximum: 65535,
            description: 'UDP port the hub receives the live RTP (G.711) on.',
          }),
          from: Type.Optional(
            Type.String({ maxLength: 45, description: 'Only relay packets from this source address.' }),
          ),
          maxSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, default: 300 })),
          idleSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 120, default: 5 })),
        },
        { additionalProperties: false },
      ),
    ),
    repeat: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    mode: Type.Optional(Type.Union([Type.Literal('multicast'), Type.Literal('unicast')])),
  },
  { additionalProperties: false },
);

const Meta = Type.Record(
  Type.String({ maxLength: 64 }),
  Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean(), Type.Null()]),
);

export const BroadcastInputSchema = Type.Object(
  {
    title: Type.String({ maxLength: 200 }),
    text: Type.String({ minLength: 1, maxLength: 4000 }),
    priority: Type.Optional(PrioritySchema),
    tones: Type.Optional(ToneSchema),
    audio: Type.Optional(AudioSchema),
    ack: Type.Optional(Type.Boolean()),
    expiresAt: Type.Optional(Type.String({ minLength: 10, maxLength: 40 })),
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 86400 })),
    targets: TargetSchema,
    busyPolicy: Type.Optional(BusyPolicySchema),
    meta: Type.Optional(Meta),
    dial: Type.Optional(
      Type.String({
        pattern: '^[0-9*#]{1,32}$',
        description: 'A number the phones offer to call back ("Call back" softkey, click-to-dial).',
      }),
    ),
    compact: Type.Optional(
      Type.Object(
        {
          text: Type.String({ minLength: 1, maxLength: 500 }),
          prompt: Type.Optional(Type.String({ maxLength: 64 })),
        },
        {
          additionalProperties: false,
          description: 'Shorter text and prompt line for the smallest displays (about 20 columns).',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const TemplateInputSchema = Type.Object(
  {
    id: ID,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    title: Type.String({ maxLength: 200 }),
    text: Type.String({ minLength: 1, maxLength: 8000 }),
    priority: Type.Optional(PrioritySchema),
    tones: Type.Optional(ToneSchema),
    ack: Type.Optional(Type.Boolean()),
    expiresInSeconds: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 7 * 86400 }), Type.Null()]),
    ),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

/** Throws a ValidationError naming the first bad field (`targets.groups.0: …`). */
export function assertValid(schema: object, value: unknown, code: string, prefix = ''): void {
  const problems = schemaProblems(schema as Record<string, unknown>, value, prefix);
  if (problems.length > 0) {
    throw new ValidationError(code, formatProblems(problems).join('; '), { field: problems[0]!.path });
  }
}

export function validateBroadcastInput(input: unknown): BroadcastInput {
  assertValid(BroadcastInputSchema, input, 'BROADCAST_INVALID');
  const b = input as BroadcastInput;
  const t = b.targets;
  if (!t.all && !t.devices?.length && !t.groups?.length && !t.labels?.length) {
    throw new ValidationError('BROADCAST_NO_TARGETS', 'targets: name devices, groups, labels or all: true', {
      field: 'targets',
    });
  }
  const a = b.audio;
  if (a?.source === 'live') {
    if (!a.live)
      throw new ValidationError(
        'BROADCAST_INVALID',
        'audio.live: give the UDP port the live RTP arrives on',
        {
          field: 'audio.live',
        },
      );
    if (a.mode === 'unicast')
      throw new ValidationError(
        'BROADCAST_INVALID',
        'audio.mode: live audio is relayed to group streams (multicast)',
        {
          field: 'audio.mode',
        },
      );
  }
  return b;
}
