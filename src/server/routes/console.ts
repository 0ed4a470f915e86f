import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Serves the built web console (console/dist) at `/`, with SPA fallback to index.html. */
export async function registerConsole(app: FastifyInstance, dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    decorateReply: true,
  });
  app.get('/console/*', { schema: { hide: true } }, (_req, reply) => reply.sendFile('index.html'));
}
