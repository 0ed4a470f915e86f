import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../../src/net/http-client.js';
import { provisioningModule } from '../../src/provisioning/module.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { tryMakeCert } from '../helpers/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-settings-tls-'));
const pem = tryMakeCert();
if (pem) {
  writeFileSync(join(dir, 'key.pem'), pem.key);
  writeFileSync(join(dir, 'cert.pem'), pem.cert);
}
const hasOpenssl = pem !== undefined;

describe.skipIf(!hasOpenssl)('settings files over HTTPS', () => {
  let hub: TestHub;
  let base = '';
  beforeAll(async () => {
    hub = await startTestHub({
      config: {
        'provisioning.https': {
          enabled: true,
          host: '127.0.0.1',
          port: 0,
          certFile: join(dir, 'cert.pem'),
          keyFile: join(dir, 'key.pem'),
        },
      },
    });
    const a = provisioningModule.httpsAddress(hub.hub);
    base = `https://127.0.0.1:${a?.port}`;
  });
  afterAll(async () => {
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the generated file with a certificate the client verifies, and nothing else', async () => {
    const ca = readFileSync(join(dir, 'cert.pem'));
    const r = await httpRequest({
      url: `${base}/46xxsettings.txt`,
      headers: { 'user-agent': 'Avaya Communicator/3.36 (iOS)' },
      tls: { ca },
    });
    expect(r.status).toBe(200);
    expect(r.headers.connection).toBe('close');
    expect(r.headers['content-length']).toBe(String(r.body.length));
    expect(r.text()).toContain('GET 46xxspecials.txt');
    const api = await httpRequest({ url: `${base}/api/settings/clients`, tls: { ca } });
    expect(api.status).toBe(404);
    const post = await httpRequest({
      url: `${base}/46xxsettings.txt`,
      method: 'POST',
      body: 'x',
      tls: { ca },
    });
    expect(post.status).toBe(404);
    // The same request log sees HTTPS clients.
    const log = await hub.api<{ clients: Array<{ userAgent: string }> }>('GET', '/api/settings/clients');
    expect(log.body.clients.map((c) => c.userAgent)).toContain('Avaya Communicator/3.36 (iOS)');
  });
});

describe('HTTPS misconfiguration', () => {
  it('refuses to start without a readable key, naming the key', async () => {
    await expect(
      startTestHub({
        config: {
          'provisioning.https': {
            enabled: true,
            port: 0,
            host: '127.0.0.1',
            certFile: '/nonexistent/cert.pem',
            keyFile: '/nonexistent/key.pem',
          },
        },
      }),
    ).rejects.toMatchObject({
      code: 'PROVISIONING_HTTPS_FILE_UNREADABLE',
      field: 'provisioning.https.keyFile',
    });
  });
});
