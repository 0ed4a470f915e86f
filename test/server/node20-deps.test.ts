import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Fastify, { type FastifyPluginAsync } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/process.js';

// cookie@2 (light-my-request, i.e. fastify.inject) and content-disposition@3 (@fastify/static 10 under
// @fastify/swagger-ui) declare `engines.node >=22` and are ES modules loaded with require(). CI runs this
// file on Node 20 (the whole suite) and on 22/24: it exercises both through the code paths that use them.
const tmp = mkdtempSync(join(tmpdir(), 'sb-deps-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const requireFromRoot = createRequire(join(ROOT, 'package.json'));
const swaggerUiDir = dirname(requireFromRoot.resolve('@fastify/swagger-ui/package.json'));
const requireFromSwaggerUi = createRequire(join(swaggerUiDir, 'package.json'));

/** The package.json of `name` as `req` resolves it (walks up from its entry point: no ./package.json export). */
function packageJsonOf(req: NodeJS.Require, name: string): string {
  let dir = dirname(req.resolve(name));
  while (
    !existsSync(join(dir, 'package.json')) ||
    JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name !== name
  ) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json for ${name}`);
    dir = up;
  }
  return join(dir, 'package.json');
}

function engines(pkgJson: string): string | undefined {
  return (JSON.parse(readFileSync(pkgJson, 'utf8')) as { engines?: { node?: string } }).engines?.node;
}

describe(`Node ${process.version}: the dependencies that declare Node >= 22`, () => {
  it('are the versions this test is about (cookie 2, content-disposition 3)', () => {
    const lmr = createRequire(requireFromRoot.resolve('light-my-request'));
    const cookiePkg = packageJsonOf(lmr, 'cookie');
    expect(JSON.parse(readFileSync(cookiePkg, 'utf8')).version).toMatch(/^2\./);
    const staticDir = dirname(requireFromSwaggerUi.resolve('@fastify/static/package.json'));
    const cdPkg = packageJsonOf(createRequire(join(staticDir, 'package.json')), 'content-disposition');
    expect(JSON.parse(readFileSync(cdPkg, 'utf8')).version).toMatch(/^3\./);
    // If these stop declaring >=22 the test still holds; it documents why it exists.
    expect([engines(cookiePkg), engines(cdPkg)]).toEqual(['>=22', '>=22']);
  });

  it('cookie@2: fastify.inject encodes request cookies (light-my-request → cookie.stringifySetCookie)', async () => {
    const app = Fastify();
    app.get('/echo', async (req) => ({ cookie: req.headers.cookie ?? null }));
    const res = await app.inject({ url: '/echo', cookies: { session: 'a b;c', lang: 'de-CH' } });
    expect(res.json()).toEqual({ cookie: 'session=a%20b%3Bc; lang=de-CH' });
    await app.close();
  });

  it('content-disposition@3: reply.download of @fastify/static 10 sets an RFC 6266 header for a non-ASCII name', async () => {
    writeFileSync(join(tmp, 'report.txt'), 'call log\r\n');
    const fastifyStatic = requireFromSwaggerUi('@fastify/static') as FastifyPluginAsync<{
      root: string;
      serve: boolean;
    }>;
    const app = Fastify();
    await app.register(fastifyStatic, { root: tmp, serve: false });
    app.get('/dl', (_req, reply) =>
      (reply as unknown as { download(p: string, n: string): unknown }).download(
        'report.txt',
        'Bericht März 2026.txt',
      ),
    );
    const res = await app.inject({ url: '/dl' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('call log\r\n');
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="Bericht M?rz 2026.txt"; filename*=UTF-8''Bericht%20M%C3%A4rz%202026.txt`,
    );
    await app.close();
  });
});
