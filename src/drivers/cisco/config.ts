import { Type } from 'typebox';

/** `cisco:` section of switchboard.yaml. */
export const CiscoConfigSchema = Type.Object(
  {
    authentication: Type.Object(
      {
        users: Type.Array(
          Type.Object(
            {
              username: Type.String({ minLength: 1, maxLength: 128 }),
              password: Type.String({ minLength: 1, maxLength: 128 }),
            },
            { additionalProperties: false },
          ),
          {
            default: [],
            maxItems: 100,
            description:
              'Push credentials the authentication URL (/cisco/authenticate) answers AUTHORIZED for, for any phone. Per-device settings.username/password are accepted for that phone too.',
          },
        ),
        maxFailuresPerAddress: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 10,
          description:
            'Failed checks at /cisco/authenticate per client address per window; beyond it the address is answered UN-AUTHORIZED without a check (a phone with the right credentials never fails).',
        }),
        windowSeconds: Type.Integer({
          minimum: 1,
          maximum: 86_400,
          default: 600,
          description: 'Window over which /cisco/authenticate failures are counted.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    events: Type.Object(
      {
        maxPerAddressPerMinute: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          default: 120,
          description:
            'Event callbacks (/cisco/events/*) accepted per client address per minute; more are answered 429 and not stored.',
        }),
        knownPhonesOnly: Type.Boolean({
          default: true,
          description:
            'Accept event callbacks only from the address of a registered Cisco device (the phone posts them itself).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    services: Type.Object(
      {
        title: Type.String({
          default: 'Switchboard',
          maxLength: 64,
          description: 'Title of the services menu phones GET from /cisco/services.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
