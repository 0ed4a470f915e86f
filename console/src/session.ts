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
