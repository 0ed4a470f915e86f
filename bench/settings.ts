/**
 * Settings server throughput: auto-generated 46xxsettings.txt requests per second over HTTP (one
 * connection per request, `Connection: close`, as phones fetch), plus the pure generator and evaluator.
 *
 *   npm run bench -- settings [--seconds 5] [--concurrency 8]
 */
import { httpRequest } from '../src/net/http-client.js';
import { generateSettingsFile } from '../src/provisioning/autogen.js';
import { provisioningConfig } from '../src/provisioning/config.js';
import { evaluateSettings } from '../src/provisioning/evaluate.js';
import { startBenchHub } from './_hub.js';
import { argNumber, loadLine, machineLine, percentile } from './_machine.js';

const seconds = argNumber('seconds', 5);
const concurrency = Math.floor(argNumber('concurrency', 8));
const prov = {
  pushNotifications: true,
  noUserSourceNumbers: ['SET_CDNL="911","9911"', 'EQNX_CONTACT_MATCHING_MIN_DIGITS=8'],
  userAgentRules: [
    {
      match: 'Avaya J1.*',
      label: 'J100',
      settings: [{ name: 'PHY2_AUTOMDIX_ENABLED', value: '1', family: 'all' }],
    },
  ],
};

console.log(machineLine());
console.log(loadLine('figures are only comparable on an idle machine'));

// Pure generator and evaluator.
{
  const cfg = provisioningConfig(prov);
  const hub = { publicUrl: 'http://192.0.2.10:8080', version: 'bench' };
  for (let i = 0; i < 300; i++) generateSettingsFile(cfg, { hub }); // warm-up
  let n = 0;
  let bytes = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) {
    bytes += generateSettingsFile(cfg, { hub }).length;
    n++;
  }
  const genRate = n / ((performance.now() - t0) / 1000);
  const text = generateSettingsFile(cfg, { hub });
  for (let i = 0; i < 300; i++) await evaluateSettings({ name: '46xxsettings.txt', text }, { MODEL4: 'aci' }); // warm-up
  let m = 0;
  const t1 = performance.now();
  while (performance.now() - t1 < 1000) {
    await evaluateSettings({ name: '46xxsettings.txt', text }, { MODEL4: m % 2 ? 'aci' : 'J179' });
    m++;
  }
  const evalRate = m / ((performance.now() - t1) / 1000);
  console.log(
    `generate 46xxsettings.txt (pure): ${genRate.toFixed(0)} files/s (${(bytes / n).toFixed(0)} bytes each)`,
  );
  console.log(`evaluate 46xxsettings.txt (pure): ${evalRate.toFixed(0)} evaluations/s`);
}

// Over HTTP from the running hub.
const running = await startBenchHub('settings', { provisioning: prov });
try {
  for (const [label, path, ua] of [
    ['generated 46xxsettings.txt, J179 (UA rule)', '/46xxsettings.txt', 'Avaya J179 SIPJ100-4.0.13'],
    ['generated 46xxsettings.txt, Workplace', '/46xxsettings.txt', 'Avaya Communicator/3.36 (iOS)'],
    ['generated 46xxspecials.txt', '/46xxspecials.txt', 'Avaya J179 SIPJ100-4.0.13'],
  ] as const) {
    const lat: number[] = [];
    let ok = 0;
    let failed = 0;
    const end = performance.now() + seconds * 1000;
    const worker = async () => {
      while (performance.now() < end) {
        const s = performance.now();
        try {
          const r = await httpRequest({
            url: `${running.url}${path}`,
            headers: { 'user-agent': ua },
            timeoutMs: 5000,
          });
          if (r.status === 200 && r.body.length === Number(r.headers['content-length'])) ok++;
          else failed++;
        } catch {
          failed++;
        }
        lat.push(performance.now() - s);
      }
    };
    const t = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const el = (performance.now() - t) / 1000;
    console.log(
      `${label}: ${(ok / el).toFixed(0)} req/s over HTTP (concurrency ${concurrency}, Connection: close, ${seconds}s), ` +
        `p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms, failed ${failed}`,
    );
  }
} finally {
  await running.stop();
}
