import { Type } from 'typebox';

/** `dial:` section of switchboard.yaml: click-to-dial, call back and screen pops (docs/click-to-dial.md). */
export const DialConfigSchema = Type.Object(
  {
    deskPhones: Type.Record(
      Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$' }),
      Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
      {
        default: {},
        maxProperties: 10_000,
        description:
          'Desk phone of each user: the signed-in user name (or API key name) → the device id its "Call back" dials from (`alice: cisco-desk-1`). The console can choose another phone per request.',
      },
    ),
    plusPrefix: Type.String({
      default: '',
      pattern: '^[0-9*#]{0,8}$',
      description:
        'Digits that replace a leading `+` on phones whose dial string has no `+` (Cisco `Dial:` allows 0-9 # * A-D and comma only), e.g. `9011` (outside line + international prefix). Empty: a number with `+` is refused on such phones (DIAL_PLUS_UNSUPPORTED).',
    }),
    maxDigits: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 32,
      description:
        'Longest dial string accepted (after removing spaces, dashes, dots and brackets, and after `plusPrefix`). E.164 numbers have at most 15 digits; the room is for prefixes and pauses.',
    }),
  },
  { additionalProperties: false, default: {} },
);
