import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleBrowser, ensureConsoleBuilt, openConsole } from '../helpers/browser.js';
import { ROOT, startConsoleDemo } from '../helpers/console-demo.js';
import { checkSamples, type OpenApiDoc, samplesFromCalls } from '../helpers/contract.js';

/**
 * The web console in a real browser (Debian's Chromium driven by playwright-core) against the real hub in
 * demo mode, started as a process. Flows whose backend is not in this build are skipped after probing the
 * running hub's API (never by a flag).
 */

const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');

ensureConsoleBuilt();

// The hub in demo mode, as a user starts it. Started while the file is collected so that the probes below
// can decide, from the running hub's real API, which flows this build can run.
const demo = await startConsoleDemo();
const { hub, api } = demo;
const BASE = demo.base;
const KEY = demo.key;
const ADMIN = demo.admin;

/** True when the hub has this route (a 404 "no route" means the module behind it is not installed). */
async function hasRoute(path: string): Promise<boolean> {
  const r = await api<{ error?: { message?: string } }>(path);
  return !(r.status === 404 && /^no route for /.test(r.body?.error?.message ?? ''));
}

interface Device {
  id: string;
  kind: string;
  name: string;
  address: string;
  groups: string[];
}

/** Waits for the demo's simulators to register their devices (they start right after the hub). */
async function devices(): Promise<Device[]> {
  let list: Device[] = [];
  // The demo registers a PBX and phones; on a loaded machine that can take a while (up to 60 s here, so
  // that the tests needing them run rather than being skipped).
  for (let i = 0; i < 240; i++) {
    list = (await api<{ devices: Device[] }>('/api/devices')).body.devices;
    if (list.some((d) => d.kind === 'ipoffice') && list.some((d) => d.kind !== 'ipoffice')) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return list;
}

const allDevices = await devices();
const pbx = allDevices.find((d) => d.kind === 'ipoffice');

/** The phone to push a text to, with the action and a way to read what its simulator shows. */
async function pickPhone(): Promise<
  { device: Device; action: string; simState: () => Promise<string> } | undefined
> {
  for (const d of allDevices.filter((x) => x.kind === 'cisco')) {
    // A simulated Cisco phone answers /sim/state on its own address.
    const url = `http://${d.address.replace(/^https?:\/\//, '').replace(/\/.*$/, '')}/sim/state`;
    const ok = await fetch(url)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok)
      return { device: d, action: 'object_text', simState: async () => fetch(url).then((r) => r.text()) };
  }
  const control = hub.stdout.map((l) => l.match(/avaya[^:]* simulator control: (\S+)/)?.[1]).find(Boolean);
  const avaya = allDevices.find((d) => d.kind === 'avaya');
  if (avaya && control) {
    const base = control.replace(/\/$/, '');
    return {
      device: avaya,
      action: 'push_display',
      simState: async () => fetch(`${base}/sim/state`).then((r) => r.text()),
    };
  }
  return undefined;
}
const phone = await pickPhone();
const broadcastsAvailable =
  (await hasRoute('/api/broadcasts')) && allDevices.some((d) => d.kind !== 'ipoffice');
const incidentsAvailable = await hasRoute('/api/incidents');
const drillAvailable = await hasRoute('/api/demo');

/** expect.poll waits 1 s by default: too short for a browser on a busy 2-core CI machine. */
const WAIT = { timeout: 15_000, interval: 100 };

let ui: ConsoleBrowser;
let page: Page;
const shot = (name: string) => ui.shot(name);
const goto = (hash: string) => ui.goto(hash);

/** Every answer the console got from /api during these tests (checked against the OpenAPI document last). */
const apiCalls: Array<{ method: string; url: string; status: number; contentType: string; body: string }> =
  [];

beforeAll(async () => {
  ui = await openConsole({ base: BASE, artifacts: ARTIFACTS, fullPage: true });
  page = ui.page;
  page.on('response', async (res) => {
    const url = new URL(res.url());
    if (!url.pathname.startsWith('/api/') || url.pathname.startsWith('/api/docs')) return;
    const contentType = res.headers()['content-type'] ?? '';
    // The event stream never ends: its status is enough.
    const body = contentType.includes('json') ? await res.text().catch(() => '') : '';
    apiCalls.push({
      method: res.request().method(),
      url: res.url(),
      status: res.status(),
      contentType,
      body,
    });
  });
}, 120_000);

afterEach(async (ctx) => ui?.shotIfFailed(ctx.task));

afterAll(async () => {
  await ui?.close();
  await demo.stop();
}, 30_000);

describe('the web console in Chromium against `switchboard demo`', () => {
  it('serves the console at / and signs in with an API key (a wrong key is refused)', async () => {
    await page.goto(`${BASE}/`);
    await page.getByLabel('API key').fill('sbk_wrong_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), WAIT).toMatch(/not accepted/);
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Live calls' }).waitFor();
    await page.locator('.live-live').waitFor();
    // The key is in session storage, and every API call the console makes carries it.
    expect(await page.evaluate('sessionStorage.getItem("switchboard.apiKey")')).toBe(KEY);
    await shot('01-signed-in-live-calls');
    // Every page renders (with data or a clear empty/unavailable state), with no uncaught error.
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    for (const p of ['phones', 'broadcast', 'incidents', 'pubsub', 'settings', 'system']) {
      await goto(p);
      await expect.poll(() => page.locator('.state-loading').count(), WAIT).toBe(0);
      await shot(`02-page-${p}`);
    }
    expect(errors).toEqual([]);
    // The settings evaluator shows what a J179 receives, with the trace (when the settings module is there).
    if (await hasRoute('/api/settings/clients')) {
      await goto('settings');
      await page.getByRole('button', { name: 'Evaluate' }).click();
      await page.getByRole('heading', { name: /^Effective settings \(\d+\)/ }).waitFor();
      expect(await page.locator('ol.trace li').count()).toBeGreaterThan(0);
      await shot('02-settings-evaluated');
    }
    // Tablet (portrait iPad size): navigation on top, one column, nothing wider than the screen.
    await page.setViewportSize({ width: 820, height: 1180 });
    for (const p of ['calls', 'phones', 'broadcast']) {
      await goto(p);
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await shot(`02-tablet-${p}`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    // Keyboard: the navigation is reachable with Tab and works with Enter.
    await goto('system');
    await page.getByRole('link', { name: 'Live calls' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Live calls' }).waitFor();
  }, 90_000);

  it.skipIf(!pbx)(
    'shows a simulated call appear with a ticking duration, then end in the history',
    async () => {
      await goto('calls');
      const row = page.locator('tr[data-call]').first();
      await row.waitFor({ timeout: 60_000 });
      const callKey = await row.getAttribute('data-call');
      expect(callKey).toBeTruthy();
      const sel = `tr[data-call="${callKey}"]`;
      const duration = async () => (await page.locator(`${sel} .duration`).allTextContents())[0] ?? 'ended';
      const before = await duration();
      // The duration ticks once a second; on a loaded machine the page's timer can run late, so wait for
      // the change (or for the call to end, which the next step checks) rather than for a fixed time.
      await expect.poll(duration, { timeout: 20_000, interval: 250 }).not.toBe(before);
      if ((await page.locator(sel).count()) > 0) await shot('03-call-in-progress');
      await page.locator(sel).waitFor({ state: 'detached', timeout: 60_000 });
      const history = page.locator('section[aria-labelledby="history-title"] tbody tr');
      await expect.poll(() => history.count(), WAIT).toBeGreaterThan(0);
      expect(await history.first().textContent()).not.toMatch(/No ended calls/);
      await page.getByLabel('Search call history').fill('zzz-no-such-call');
      await page.getByText('No call matches this search.').waitFor();
      await page.getByLabel('Search call history').fill('');
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Export CSV' }).click();
      const file = await (await download).path();
      const { readFileSync } = await import('node:fs');
      expect(readFileSync(file, 'utf8').split('\r\n')[0]).toMatch(/^started,ended,pbx,direction,from/);
      await shot('04-call-ended-history');
    },
    150_000,
  );

  it.skipIf(!phone)(
    'opens a phone and pushes a text that the simulator then shows',
    async () => {
      const { device, action, simState } = phone!;
      const text = `Console test ${Date.now()}`;
      await goto('phones');
      await page.getByRole('link', { name: device.name || device.id, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: device.name || device.id }).waitFor();
      await page.getByLabel(/^Action/).selectOption(action);
      await page.locator(`#act-${action}-text`).fill(text);
      if (await page.locator(`#act-${action}-title`).count())
        await page.locator(`#act-${action}-title`).fill('Console');
      const img = page.locator('img.screenshot');
      if (device.kind === 'cisco') await img.waitFor();
      const before = device.kind === 'cisco' ? await img.getAttribute('src') : null;
      await page.getByRole('button', { name: 'Run action' }).click();
      await page.locator('.result-ok').waitFor();
      await expect.poll(simState, { timeout: 10_000 }).toContain(text);
      // Phones with a screenshot query show their new screen on the page (the simulator renders it).
      if (device.kind === 'cisco') await expect.poll(() => img.getAttribute('src'), WAIT).not.toBe(before);
      await shot('05-phone-pushed-text');
      // The phone list shows the last push outcome.
      await goto('phones');
      await expect
        .poll(() => page.getByRole('row', { name: new RegExp(device.id) }).textContent(), WAIT)
        .toContain('reachable');
    },
    90_000,
  );

  it.skipIf(!broadcastsAvailable)(
    'sends a broadcast and shows per-phone progress reaching 100%',
    async () => {
      await goto('broadcast');
      await page.getByLabel(/^Text/).fill(`Console broadcast ${Date.now()}`);
      await page.getByLabel('All phones').check();
      await page.getByLabel('Ask for acknowledgement').check();
      await page.locator('.preview').first().waitFor();
      await shot('06-broadcast-compose-preview');
      // A send to every phone asks first, saying how many phones it reaches; Cancel sends nothing.
      const phones = (await api<{ devices: Device[] }>('/api/devices')).body.devices.filter(
        (d) => d.kind !== 'ipoffice',
      ).length;
      const sent = async () =>
        (await api<{ broadcasts: unknown[] }>('/api/broadcasts')).body.broadcasts.length;
      const before = await sent();
      await page.getByRole('button', { name: /^Send to \d+ phone/ }).click();
      const dialog = page.getByRole('dialog', { name: `Send a broadcast to ${phones} phones?` });
      await dialog.waitFor();
      await page.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      expect(await sent()).toBe(before);
      await page.getByRole('button', { name: /^Send to \d+ phone/ }).click();
      await page.getByRole('button', { name: `Yes, send to ${phones} phones` }).click();
      await page.waitForURL(/#\/broadcast\/.+/);
      const bar = page.getByRole('progressbar');
      await bar.waitFor();
      await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: 60_000 }).toBe('100');
      expect(await page.locator('tr[data-status]').first().isVisible()).toBe(true);
      await shot('06-broadcast-100');
    },
    90_000,
  );

  it.skipIf(!drillAvailable)(
    'the emergency drill places a 911 call that the console highlights',
    async () => {
      await goto('calls');
      const before = await page.locator('section[aria-labelledby="history-title"] tr.row-emergency').count();
      // The drill asks for confirmation before it places the call.
      await page.getByRole('button', { name: 'Emergency drill…' }).click();
      await page.getByRole('button', { name: 'Place drill call' }).click();
      await expect
        .poll(() => page.locator('#drill-note').textContent(), { timeout: 20_000 })
        .toMatch(/Drill/);
      // Live while it lasts (the bus drill lasts 20 s; a simulator drill may end at once), then in history.
      await expect
        .poll(async () => (await page.locator('tr.row-emergency').count()) - before, { timeout: 30_000 })
        .toBeGreaterThan(0);
      await shot('07-drill-emergency-call');
      // The desk acknowledges it (the alarm would otherwise stay over the next tests' pages).
      const open = await api<{ incidents: Array<{ id: string }> }>('/api/incidents?open=true');
      for (const i of open.body.incidents)
        await api(`/api/incidents/${i.id}/ack`, { method: 'POST', body: {} });
    },
    90_000,
  );

  it.skipIf(!(drillAvailable && incidentsAvailable))(
    'the drill opens an incident that is acknowledged from the console',
    async () => {
      const ids = async () =>
        (await api<{ incidents: Array<{ id: string }> }>('/api/incidents')).body.incidents.map((i) => i.id);
      const before = new Set(await ids());
      await goto('incidents');
      await page.getByRole('button', { name: 'Emergency drill…' }).click();
      await page.getByRole('button', { name: 'Place drill call' }).click();
      // The drill's 911 call opens a new incident (the list updates live); open it.
      let id: string | undefined;
      await expect
        .poll(
          async () => {
            id = (await ids()).find((x) => !before.has(x));
            return id;
          },
          { timeout: 30_000 },
        )
        .toBeTruthy();
      const link = `a[href="#/incidents/${encodeURIComponent(id!)}"]`;
      const item = page.locator(`.incident-list ${link}`);
      await item.waitFor();
      const row = await page.locator('.incident-list li', { has: page.locator(link) }).textContent();
      expect(row).toContain('DRILL');
      expect(row).toContain('NOT acknowledged');
      await item.click();
      // The alert reached the security phones; a guard acknowledges on one of them (the console presses the
      // phone's Ack softkey through the device action API; the phone follows its acknowledgement link).
      const press = page.getByRole('button', { name: /^Press Ack on phone / }).first();
      await press.waitFor({ timeout: 30_000 });
      await press.click();
      await page.locator('[data-testid="ack-state"]', { hasText: /^by / }).waitFor({ timeout: 30_000 });
      expect(await page.locator('#inc-detail-title').textContent()).not.toMatch(/NOT acknowledged/);
      await page.locator('.timeline li', { hasText: 'acknowledged' }).first().waitFor();
      await shot('08-incident-acknowledged');
    },
    90_000,
  );

  it('signs in as the local admin user (username and password), uses the session like a key, and signs out', async () => {
    // Sign out of the API-key session first: back to the sign-in page.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate('sessionStorage.getItem("switchboard.apiKey")')).toBeNull();
    // Choose the mode with the keyboard: the choice is a labelled group of toggle buttons.
    await page.getByRole('button', { name: 'Username and password' }).focus();
    await page.keyboard.press('Enter');
    expect(
      await page.getByRole('button', { name: 'Username and password' }).getAttribute('aria-pressed'),
    ).toBe('true');
    await page.getByLabel('Username').focus();
    await page.getByLabel('Username').fill(ADMIN[0]);
    await page.getByLabel('Password').fill('not the right password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent(), WAIT)
      .toMatch(/username or password was not accepted/);
    await shot('09-signin-password-refused');
    await page.getByLabel('Password').fill(ADMIN[1]);
    await page.keyboard.press('Enter');
    // Back in the console, on the page the tab was on (the hash route is kept).
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.locator('.live-live').waitFor();
    // The console holds a session token, an ordinary API key that works on /api outside the browser too.
    const token = (await page.evaluate('sessionStorage.getItem("switchboard.apiKey")')) as string;
    expect(token).toMatch(/^sbk_[a-z0-9]{8}_/);
    expect(token).not.toBe(KEY);
    const devices = await fetch(`${BASE}/api/devices`, { headers: { authorization: `Bearer ${token}` } });
    expect(devices.status).toBe(200);
    const keys = (
      await api<{ keys: Array<{ name: string; expiresAt: string | null; revokedAt: string | null }> }>(
        '/api/keys',
      )
    ).body.keys;
    const session = keys.find((k) => k.name === `session:${ADMIN[0]}` && !k.revokedAt);
    expect(session?.expiresAt).toBeTruthy();
    await goto('phones');
    await expect.poll(() => page.locator('.state-loading').count(), WAIT).toBe(0);
    await shot('09-signed-in-as-admin');
    // Sign out revokes the token on the hub.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await expect
      .poll(
        async () =>
          (await fetch(`${BASE}/api/devices`, { headers: { authorization: `Bearer ${token}` } })).status,
        WAIT,
      )
      .toBe(401);
  }, 120_000);

  it('every API call the console made is in the OpenAPI document, and its answers validate against it', async () => {
    const doc = (await api<OpenApiDoc>('/api/docs/json')).body;
    expect(apiCalls.length).toBeGreaterThan(20);
    // The console's calls cover its pages: devices, events, broadcasts, keys, session.
    const seen = new Set(
      apiCalls.map((c) => `${c.method} ${new URL(c.url).pathname.split('/').slice(0, 3).join('/')}`),
    );
    expect([...seen]).toEqual(
      expect.arrayContaining(['GET /api/devices', 'GET /api/events', 'POST /api/session']),
    );
    expect(checkSamples(doc, samplesFromCalls(doc, apiCalls))).toEqual([]);
  }, 60_000);
});
