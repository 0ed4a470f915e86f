import { errorMessage } from '../../core/errors.js';
import type { HubContext } from '../../core/module.js';
import { escapeXml } from '../../core/xml.js';
import { httpRequest } from '../../net/http-client.js';
import { pubsubRuntime } from '../../pubsub/module.js';
import { CpaasSimulator, formatTranscript, startCpaasControlServer } from './simulator.js';

/**
 * Demo mode for the PubSub relay: a demo account, the CPaaS simulator (control server on 127.0.0.1),
 * a small firewalled "IVR app" that long-polls call.xml exactly like the seed's Gather script, and a
 * simulated caller every `intervalMs` pressing a digit. Everything goes over real HTTP to the hub.
 */
export async function startDemoPubsub(
  hub: HubContext,
  opts: { intervalMs?: number } = {},
): Promise<{
  stop(): Promise<void>;
  accountSid: string;
  authToken: string;
  simulatorUrl: string;
  sim: CpaasSimulator;
}> {
  const rt = pubsubRuntime(hub);
  const acc = await rt.accounts.create('demo');
  const base = hub.hub.publicUrl.replace(/\/+$/, '');
  const sid = acc.accountSid;
  const sim = new CpaasSimulator({ accountSid: sid });
  const control = await startCpaasControlServer(sim);
  const log = hub.logger.child({ module: 'pubsub-demo' });
  const abort = new AbortController();
  const basic = { username: sid, password: acc.authToken };

  const get = async (path: string, timeoutMs: number) =>
    httpRequest({ url: `${base}${path}`, timeoutMs, signal: abort.signal });
  const postXml = async (path: string, xml: string) =>
    httpRequest({
      url: `${base}${path}`,
      method: 'POST',
      headers: { 'Content-Type': 'application/xml' },
      body: xml,
      timeoutMs: 10_000,
      signal: abort.signal,
    });

  // The "application behind the firewall": answers each call with a Gather, then thanks the caller.
  const app = (async () => {
    const session = (
      await httpRequest({ url: `${base}/auth?ttl=24h`, basicAuth: basic, timeoutMs: 10_000 })
    ).text();
    while (!abort.signal.aborted) {
      try {
        const calls = JSON.parse(
          (await get(`/${sid}/call.xml?session=${session}&timeout=25s`, 35_000)).text(),
        ) as Array<{
          FormParams: Record<string, string>;
        }>;
        for (const c of calls) {
          const callSid = c.FormParams.CallSid;
          if (!callSid) continue;
          const action = `${base}/${sid}/demo/${callSid}.xml`;
          await postXml(
            `/${sid}/call.xml/${callSid}`,
            `<Response><Gather action="${escapeXml(action)}" numDigits="1"><Say>Welcome to the Switchboard demo. Press a key.</Say></Gather><Say>Nothing pressed.</Say><Hangup/></Response>`,
          );
          const digits = JSON.parse(
            (await get(`/${sid}/demo/${callSid}.xml?session=${session}&timeout=20s`, 30_000)).text(),
          ) as Array<{
            FormParams: Record<string, string>;
          }>;
          const d = digits[0]?.FormParams.Digits ?? '';
          await postXml(
            `/${sid}/demo/${callSid}.xml/${callSid}`,
            `<Response><Say>You pressed ${escapeXml(d)}. Good bye.</Say><Hangup/></Response>`,
          );
        }
      } catch (e) {
        if (abort.signal.aborted) return;
        log.warn({ err: errorMessage(e) }, 'demo app poll failed');
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  })();

  const interval = opts.intervalMs ?? 30_000;
  const caller = setInterval(() => {
    void sim
      .call({
        url: `${base}/${sid}/call.xml`,
        digits: [String(Math.floor(Math.random() * 10))],
        signal: abort.signal,
      })
      .then((r) =>
        log.info(
          { callSid: r.callSid, status: r.status, transcript: formatTranscript(r.transcript) },
          'demo call',
        ),
      )
      .catch(() => {});
  }, interval);
  caller.unref();

  log.info({ accountSid: sid, simulator: control.url }, 'PubSub demo: account and CPaaS simulator ready');
  return {
    accountSid: sid,
    authToken: acc.authToken,
    simulatorUrl: control.url,
    sim,
    async stop() {
      clearInterval(caller);
      abort.abort();
      await control.close();
      await app.catch(() => {});
    },
  };
}
