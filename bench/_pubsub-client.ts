import http from 'node:http';

/**
 * The PubSub bench's client side, shared by the bench and its load processes (bench/_pubsub-load.ts): how to
 * long-poll and publish on Switchboard and on Nchan. A target is described by plain data (it crosses a process
 * boundary as JSON); `bases` lists its servers (one hub, or several hubs or nginx instances).
 */
export type PubSubTargetSpec =
  | { kind: 'switchboard'; name: string; bases: string[]; sid: string; authToken: string }
  | { kind: 'nchan'; name: string; bases: string[] };

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with an explicit Content-Length, answered with its whole body. */
export function request(
  agent: http.Agent,
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = http.request(url, { method: opts.method ?? 'GET', agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A Switchboard PubSub session token made on `base` (any hub of the site accepts it). */
export async function switchboardSession(
  agent: http.Agent,
  base: string,
  sid: string,
  authToken: string,
): Promise<string> {
  const r = await request(agent, `${base}/auth?ttl=2h`, {
    headers: { authorization: `Basic ${Buffer.from(`${sid}:${authToken}`).toString('base64')}` },
  });
  if (r.status !== 200) throw new Error(`/auth HTTP ${r.status}: ${r.body.slice(0, 200)}`);
  return r.body;
}

/** A message's form body as the bench sends it: its send time `t` (performance.now()) and its number `k`. */
export interface BenchMessage {
  t: number;
  k: number;
}

/**
 * The long-poll loop of one subscriber on queue `run`/`i` of server `base`, until `stopped()` or the
 * connection is refused. `session` is the Switchboard session (unused by Nchan).
 */
export async function subscribeLoop(
  spec: PubSubTargetSpec,
  base: string,
  session: string,
  run: string,
  i: number,
  agent: http.Agent,
  onMessage: (m: BenchMessage) => void,
  stopped: () => boolean,
): Promise<void> {
  if (spec.kind === 'switchboard') {
    while (!stopped()) {
      let r: HttpAnswer;
      try {
        r = await request(agent, `${base}/${spec.sid}/${run}/${i}?timeout=30s&session=${session}`);
      } catch {
        return;
      }
      if (r.status !== 200) throw new Error(`subscribe HTTP ${r.status}: ${r.body.slice(0, 200)}`);
      for (const m of JSON.parse(r.body) as Array<{ FormParams: { t: string; k: string } }>)
        onMessage({ t: Number(m.FormParams.t), k: Number(m.FormParams.k) });
    }
    return;
  }
  let lm: string | undefined;
  let etag: string | undefined;
  while (!stopped()) {
    const headers: Record<string, string> = {};
    if (lm) headers['if-modified-since'] = lm;
    if (etag) headers['if-none-match'] = etag;
    let r: HttpAnswer;
    try {
      r = await request(agent, `${base}/sub/${run}c${i}`, { headers });
    } catch {
      return;
    }
    if (r.status === 200) {
      lm = r.headers['last-modified'];
      etag = r.headers.etag;
      const p = new URLSearchParams(r.body);
      onMessage({ t: Number(p.get('t')), k: Number(p.get('k')) });
    } else if (r.status !== 408 && r.status !== 304) throw new Error(`nchan subscribe HTTP ${r.status}`);
  }
}

/** Publishes `body` to queue `run`/`i` through server `base`; throws unless it was accepted. */
export async function publishOnce(
  spec: PubSubTargetSpec,
  base: string,
  run: string,
  i: number,
  body: string,
  agent: http.Agent,
): Promise<void> {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  if (spec.kind === 'switchboard') {
    const r = await request(agent, `${base}/${spec.sid}/${run}/${i}`, {
      method: 'POST',
      headers: form,
      body,
    });
    if (r.status !== 200) throw new Error(`publish HTTP ${r.status}: ${r.body.slice(0, 200)}`);
    return;
  }
  const r = await request(agent, `${base}/pub/${run}c${i}`, { method: 'POST', headers: form, body });
  if (r.status !== 201 && r.status !== 202) throw new Error(`nchan publish HTTP ${r.status}`);
}
