import type { Server } from 'node:net';

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
