import type { Server } from 'node:net';
import type { Config } from '../config/schema.js';

/** How often Node looks for requests past http.headersTimeoutMs / http.requestTimeoutMs (its default: 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * The request, header and keep-alive timeouts of every HTTP listener of the hub (main, phone, redirect),
 * as `http.createServer` options: a slow body is cut at requestTimeoutMs (checked every second, not up to
 * 30 s later), headers within headersTimeoutMs.
 */
export function serverTimeouts(h: Config['http']): {
  requestTimeout: number;
  headersTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    requestTimeout: h.requestTimeoutMs,
    headersTimeout: Math.min(h.headersTimeoutMs, h.requestTimeoutMs),
    keepAliveTimeout: h.keepAliveTimeoutMs,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  };
}

/**
 * Caps the open connections of one client address: a connection beyond `max` is destroyed as soon as it
 * is accepted, before any byte is read (one host trickling 1,000 slow bodies cannot starve the others).
 * Returns a function answering the current count for an address (tests, metrics).
 */
export function limitConnectionsPerAddress(server: Server, max: number): (address: string) => number {
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const addr = socket.remoteAddress ?? '';
    const n = open.get(addr) ?? 0;
    if (n >= max) {
      socket.destroy();
      return;
    }
    open.set(addr, n + 1);
    socket.once('close', () => {
      const left = (open.get(addr) ?? 1) - 1;
      if (left <= 0) open.delete(addr);
      else open.set(addr, left);
    });
  });
  return (address) => open.get(address) ?? 0;
}
