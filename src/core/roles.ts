import { ValidationError } from './errors.js';

/**
 * Roles and permissions (issue 18). A caller of `/api` holds a set of permissions: from its role (local
 * users, role keys) or from an explicit list of scopes (scoped API keys). Every `/api` route needs one of
 * a few permissions (the table in `server/access.ts`); the roles are fixed bundles of permissions:
 *
 * - `admin`: everything (existing users and keys become admins when the store is migrated).
 * - `operator`: the security desk: incidents and acknowledgement, broadcasts from templates (to any
 *   target), cancel, click-to-dial and call back from desk phones (`devices:dial`), and read access to phones, calls, events, rules and the rest.
 * - `sender`: sends broadcasts from templates to groups (only the groups in `auth.senderGroups` when that
 *   list is set) and reads templates, groups and broadcasts. Nothing else.
 * - `viewer`: read-only (no audit trail, no keys, no users).
 */
export const ROLES = ['admin', 'operator', 'sender', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Every permission, also usable as a scope of a scoped API key. */
export const PERMISSIONS = [
  'events:read',
  'devices:read',
  'devices:write',
  'devices:control',
  'devices:dial',
  'groups:read',
  'calls:read',
  'broadcasts:read',
  'broadcasts:send',
  'broadcasts:send-template',
  'broadcasts:send-template-groups',
  'broadcasts:cancel',
  'templates:read',
  'templates:write',
  'rules:read',
  'rules:write',
  'incidents:read',
  'incidents:ack',
  'locations:read',
  'locations:write',
  'settings:read',
  'pubsub:read',
  'pubsub:admin',
  'system:read',
  'keys:manage',
  'users:manage',
  'audit:read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const VIEWER: readonly Permission[] = [
  'events:read',
  'devices:read',
  'groups:read',
  'calls:read',
  'broadcasts:read',
  'templates:read',
  'rules:read',
  'incidents:read',
  'locations:read',
  'settings:read',
  'pubsub:read',
  'system:read',
];

/** What each role may do (the table in docs/security.md is this one). */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: PERMISSIONS,
  operator: [...VIEWER, 'incidents:ack', 'broadcasts:send-template', 'broadcasts:cancel', 'devices:dial'],
  sender: ['groups:read', 'templates:read', 'broadcasts:read', 'broadcasts:send-template-groups'],
  viewer: VIEWER,
};

/**
 * What a credential grants: a role, or (scoped API keys) an explicit list of permissions. Exactly one of
 * the two is set; a credential with neither is refused everything.
 */
export interface Grant {
  role: Role | null;
  scopes: Permission[] | null;
}

export function isRole(s: unknown): s is Role {
  return typeof s === 'string' && (ROLES as readonly string[]).includes(s);
}

export function isPermission(s: unknown): s is Permission {
  return typeof s === 'string' && (PERMISSIONS as readonly string[]).includes(s);
}

/** A role named by a user (CLI flag, API body): ValidationError `ROLE_INVALID` naming the choices. */
export function parseRole(s: string, field = 'role'): Role {
  const clean = s.trim().toLowerCase();
  if (!isRole(clean))
    throw new ValidationError('ROLE_INVALID', `${field}: must be one of ${ROLES.join(', ')}`, { field });
  return clean;
}

/** Scopes named by a user: each must be a permission; deduplicated, sorted. */
export function parseScopes(list: readonly string[], field = 'scopes'): Permission[] {
  if (list.length === 0)
    throw new ValidationError('SCOPES_INVALID', `${field}: name at least one scope`, { field });
  const out = new Set<Permission>();
  for (const [i, raw] of list.entries()) {
    const s = raw.trim();
    if (!isPermission(s))
      throw new ValidationError(
        'SCOPES_INVALID',
        `${field}.${i}: unknown scope ${JSON.stringify(s.slice(0, 64))}; one of ${PERMISSIONS.join(', ')}`,
        { field: `${field}.${i}` },
      );
    out.add(s);
  }
  return [...out].sort();
}

/** The permissions a grant holds. */
export function permissionsOf(g: Grant): ReadonlySet<Permission> {
  if (g.scopes) return new Set(g.scopes);
  if (g.role) return new Set(ROLE_PERMISSIONS[g.role]);
  return new Set();
}
