import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { HubContext, HubModule } from '../core/module.js';
import { described, errors } from '../server/schemas.js';
import {
  generateSpacesProfile,
  SPACES_TEXT_MAX,
  type SpacesProfileOptions,
  type SpacesSystem,
  type SpacesValidation,
  spacesProfilesFrom,
  validateSpacesProfile,
} from './spaces-profile.js';

/**
 * The Spaces Calling profile JSON of seed 002 from the configured IP Office devices, and its validator
 * (docs/spaces-profile.md): `GET /api/settings/spaces-profile`, `POST /api/settings/spaces-profile/validate`.
 */
const ProblemSchema = Type.Object({
  code: Type.String(),
  severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]),
  path: Type.String(),
  line: Type.Optional(Type.Integer()),
  message: Type.String(),
});
const ValidationSchema = Type.Object({
  ok: Type.Boolean({ description: 'No errors (warnings allowed).' }),
  problems: Type.Array(ProblemSchema),
  profiles: Type.Integer({ description: 'Profiles without errors.' }),
});
const ProfileQuery = Type.Object(
  {
    devices: Type.Optional(
      Type.String({
        maxLength: 2000,
        pattern: '^[A-Za-z0-9._,-]*$',
        description: 'Comma-separated IP Office device ids (default: every IP Office device).',
      }),
    ),
    accountsToken: Type.Optional(Type.Boolean({ default: true, description: 'AccountsToken (SSO login).' })),
    logDownload: Type.Optional(Type.Boolean()),
    autoFailover: Type.Optional(Type.Boolean()),
    stunHost: Type.Optional(Type.String({ maxLength: 253, pattern: '^[A-Za-z0-9.-]+$' })),
    stunPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  },
  { additionalProperties: false },
);

export interface SpacesRequest {
  devices?: string[];
  options: SpacesProfileOptions;
}

/** Generates and validates the profile of the configured IP Office systems (API and CLI). */
export function spacesProfileOf(
  devices: ReadonlyArray<SpacesSystem & { kind: string }>,
  r: SpacesRequest,
): { json: string; validation: SpacesValidation; devices: string[] } {
  const all = devices.filter((d) => d.kind === 'ipoffice');
  // In the order asked for (the order users see the systems in), else the devices' order.
  const chosen = r.devices?.length
    ? [...new Set(r.devices)].flatMap((id) => all.filter((d) => d.id === id))
    : all;
  const json = generateSpacesProfile(spacesProfilesFrom(chosen, r.options));
  const validation = validateSpacesProfile(json);
  if (chosen.length === 0)
    validation.problems.unshift({
      code: 'SPACES_NO_SYSTEMS',
      severity: 'error',
      path: '',
      message: r.devices?.length
        ? `no IP Office device ${r.devices.join(', ')}`
        : 'no IP Office devices are configured (add one with kind ipoffice)',
    });
  validation.ok &&= chosen.length > 0;
  return { json, validation, devices: chosen.map((d) => d.id) };
}

function registerSpacesRoutes(root: Parameters<NonNullable<HubModule['routes']>>[0], hub: HubContext): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/settings/spaces-profile',
    {
      schema: {
        tags: ['settings'],
        summary: 'The Spaces Calling profile JSON (seed 002) for the configured IP Office systems',
        description:
          'One `IP_Office_Server_Profile` entry per IP Office device: Name (settings.spaces.name or the device name, at most 14 characters), Address (settings.spaces.address or the device host), AccountsToken and the optional settings in the query. `json` is the text to paste into Avaya Cloud Services; `validation` is the validator run on it.',
        querystring: ProfileQuery,
        response: {
          200: described(
            Type.Object({
              json: Type.String(),
              devices: Type.Array(Type.String()),
              validation: ValidationSchema,
            }),
            'The profile JSON and its validation',
          ),
          ...errors(400, 401),
        },
      },
    },
    async (req) => {
      const q = req.query;
      const out = spacesProfileOf(hub.devices.list() as Array<SpacesSystem & { kind: string }>, {
        ...(q.devices ? { devices: q.devices.split(',').filter(Boolean) } : {}),
        options: {
          AccountsToken: q.accountsToken ?? true,
          ...(q.logDownload !== undefined ? { LogDownload: q.logDownload } : {}),
          ...(q.autoFailover !== undefined ? { AutoFailover: q.autoFailover } : {}),
          ...(q.stunHost ? { STUNHost: q.stunHost } : {}),
          ...(q.stunPort ? { STUNPort: String(q.stunPort) } : {}),
        },
      });
      return { ...out, validation: { ...out.validation, profiles: out.validation.profiles.length } };
    },
  );
  app.post(
    '/api/settings/spaces-profile/validate',
    {
      schema: {
        tags: ['settings'],
        summary: 'Validate Spaces Calling profile JSON, with errors in the terms of seed 002',
        description:
          'Send the text as `{ "text": "…" }`. Problems name the profile and setting (`IP_Office_Server_Profile[0].AccountsToken`), the line, and the seed rule broken (quote marks, unquoted true/false, commas, Name of at most 14 characters, required Name/Address/AccountsToken).',
        body: Type.Object(
          { text: Type.String({ maxLength: SPACES_TEXT_MAX }) },
          { additionalProperties: false },
        ),
        response: { 200: described(ValidationSchema, 'The problems found'), ...errors(400, 401, 413) },
      },
    },
    async (req) => {
      const v = validateSpacesProfile(req.body.text);
      return { ...v, profiles: v.profiles.length };
    },
  );
}

export const spacesModule: HubModule = {
  name: 'spaces',
  routes: (app, hub) => registerSpacesRoutes(app, hub),
};
