// Who is signed in and what they may do (GET /api/session: role, scopes, permissions), so that the console
// hides what a role may not do. The hub decides on every route; hiding only spares the user a 403.
// A hub without roles (no GET /api/session) lets everyone do everything: nothing is hidden.

import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';

export interface Who {
  kind: string;
  name: string;
  user: string | null;
  role: string;
  scopes?: string[];
  permissions: string[];
  expiresAt?: string | null;
  absoluteExpiresAt?: string | null;
}

/** undefined: not known yet; null: this hub has no roles (everything allowed). */
let who: Who | null | undefined;
const listeners = new Set<(w: Who | null | undefined) => void>();

function set(w: Who | null | undefined): void {
  who = w;
  for (const l of listeners) l(w);
}

/** Asks the hub who the caller is (after sign-in, and again when the key changes). */
export async function loadWho(): Promise<void> {
  try {
    const w = await api<Who>('/api/session');
    set(w && Array.isArray(w.permissions) ? w : null);
  } catch {
    // 404: a hub without roles. Anything else (network, an older hub): show everything; the hub decides
    // on every route anyway, and the 911 watch must never wait on this answer.
    set(null);
  }
}

/**
 * Asks again (the expiry check): `background` does not renew the session, so an unattended desk still
 * expires; without it ("Stay signed in") the request renews it like any other the user causes.
 */
export async function refreshWho(o: { background: boolean }): Promise<void> {
  try {
    const w = await api<Who>('/api/session', { background: o.background });
    if (w && Array.isArray(w.permissions)) set(w);
  } catch {
    // a 401 signs out (api.ts); anything else: keep what is known
  }
}

export function forgetWho(): void {
  set(undefined);
}

/** May the signed-in caller do this (any of the permissions)? True when the hub has no roles. */
export function can(...permissions: string[]): boolean {
  if (!who) return true;
  return permissions.some((p) => who!.permissions.includes(p));
}

export function useWho(): Who | null | undefined {
  const [w, setW] = useState(who);
  useEffect(() => {
    listeners.add(setW);
    setW(who);
    return () => {
      listeners.delete(setW);
    };
  }, []);
  return w;
}

/**
 * The routes this hub offers, from its OpenAPI document (`/api/docs/json`, public): a console newer than
 * its hub hides buttons whose API is not there. undefined while loading; null when unknown (show all).
 */
let routes: Promise<Set<string> | null> | undefined;
function loadRoutes(): Promise<Set<string> | null> {
  routes ??= api<{ paths?: Record<string, Record<string, unknown>> }>('/api/docs/json')
    .then((doc) => {
      const out = new Set<string>();
      for (const [path, methods] of Object.entries(doc.paths ?? {}))
        for (const m of Object.keys(methods)) out.add(`${m.toUpperCase()} ${path}`);
      return out.size ? out : null;
    })
    .catch(() => null);
  return routes;
}

/** Does the hub offer this route (`POST /api/broadcasts/{id}/recall`)? True while unknown. */
export function useOffers(route: string): boolean {
  const [known, setKnown] = useState<Set<string> | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    void loadRoutes().then((r) => live && setKnown(r));
    return () => {
      live = false;
    };
  }, []);
  return !known || known.has(route);
}
