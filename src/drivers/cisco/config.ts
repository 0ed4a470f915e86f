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
