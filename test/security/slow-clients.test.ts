import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pubsubRuntime } from '../../src/pubsub/module.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Attack 3 of issue 13: ~1,000 connections trickling a body one byte every 10 s made /healthz, the API
 * and PubSub unreachable (http.requestTimeout was 0). A bounded version on loopback: slow bodies from
 * several addresses plus idle PubSub long-polls; the hub keeps answering, the slow bodies are cut at
 * http.requestTimeoutMs, the long-polls are left alone, and one address cannot exceed its connection cap.
 * (The 1,000 + 1,000 figures are in bench/slow-clients.ts.)
 */
let hub: TestHub;
let sid: string;
let session: string;
const sockets: Socket[] = [];
beforeAll(async () => {
  hub = await startTestHub({
    config: {
      'http.requestTimeoutMs': 2000,
      'http.headersTimeoutMs': 1000,
      'http.maxConnectionsPerAddress': 100,
    },
  });
  const acc = await pubsubRuntime(hub.hub).accounts.create('slow');
  sid = acc.accountSid;
  const basic = `Basic ${Buffer.from(`${acc.accountSid}:${acc.authToken}`).toString('base64')}`;
  session = await (await fetch(`${hub.url}/auth?ttl=1h`, { headers: { authorization: basic } })).text();
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await hub?.close();
});

type Conn = { socket: Socket; closed: () => boolean; data: () => string };

function open(
  localAddress: string,
  head: string,
): Promise<{ socket: Socket; closed: () => boolean; data: () => string }> {
  const port = Number(new URL(hub.url).port);
  return new Promise((resolve, reject) => {
    let closed = false;
    let data = '';
    const socket = connect({ host: '127.0.0.1', port, localAddress }, () => {
      socket.write(head);
      resolve({ socket, closed: () => closed, data: () => data });
    });
    socket.on('data', (c) => {
      data += c.toString();
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', (e) => {
      if (!closed) reject(e);
    });
    sockets.push(socket);
  });
}

const slowBody = (path: string) =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`;

describe('slow clients cannot starve the hub', () => {
  it('answers /healthz, the API and PubSub while slow bodies and idle long-polls are open; cuts the slow bodies only', async () => {
    const slow: Conn[] = [];
    for (let a = 2; a <= 4; a++)
      for (let i = 0; i < 90; i++)
        slow.push(await open(`127.0.0.${a}`, slowBody(i % 2 ? '/api/session' : `/${sid}/q${i}`)));
    const polls: Conn[] = [];
    for (let i = 0; i < 90; i++)
      polls.push(
        await open(
          '127.0.0.6',
          `GET /${sid}/idle${i}?timeout=60s HTTP/1.1\r\nHost: x\r\nAuthorization: ${session}\r\n\r\n`,
        ),
      );
    // The hub stays responsive from another address.
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    expect((await hub.api('GET', '/api/devices')).status).toBe(200);
    const pub = await fetch(`${hub.url}/${sid}/other`, {
      method: 'POST',
      headers: { authorization: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });
    expect(pub.status).toBeLessThan(300);
    // Every slow body is cut (408 or closed) once http.requestTimeoutMs has passed …
    await waitFor(() => slow.every((s) => s.closed()), 30_000, 'slow bodies to be closed');
    // (none of them was answered as if its body had arrived)
    expect(slow.filter((s) => /^HTTP\/1\.1 2/.test(s.data()))).toHaveLength(0);
    // … while the long-polls, whose requests were complete, are still waiting.
    expect(polls.filter((p) => p.closed())).toHaveLength(0);
  }, 120_000);

  it('caps the connections of one address (http.maxConnectionsPerAddress)', async () => {
    const conns: Conn[] = [];
    for (let i = 0; i < 130; i++) conns.push(await open('127.0.0.9', `GET /healthz HTTP/1.1\r\nHost: x\r\n`));
    await waitFor(
      () => conns.filter((c) => c.closed()).length >= 30,
      10_000,
      'connections over the cap to close',
    );
    expect(conns.filter((c) => !c.closed()).length).toBeLessThanOrEqual(100);
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
  }, 60_000);
});
