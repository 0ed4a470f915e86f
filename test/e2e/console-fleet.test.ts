import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { broadcastRuntime } from '../../src/alerting/broadcast-module.js';
import { ManualClock } from '../../src/core/clock.js';
import {
  AXE_SERIOUS,
  AXE_SOURCE,
  type ConsoleBrowser,
  ensureConsoleBuilt,
  LAYOUT_PROBLEMS,
  openConsole,
} from '../helpers/browser.js';
import { checkSamples, type OpenApiDoc, samplesFromCalls } from '../helpers/contract.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { pastIncident } from '../helpers/incidents.js';
import { ROOT } from '../helpers/process.js';
import { testphoneDriver } from '../helpers/testphone-driver.js';

/**
 * The console of a 24/7 organisation (issue 18), in Chromium against a hub started in this process, so the
 * test holds its clock (a scheduled broadcast fires when the test moves time on) and its stores (10,000
 * phones and a long audit trail are inserted directly, not through 10,000 simulators): every role's view,
 * sign-in through a real OpenID provider (oidc-provider on 127.0.0.1), the audit page (filters, paging, CSV),
 * the schedules page, paging/sorting/search of phones and call history, the compose screen's phone picker,
 * recall and retry, the session-expiry warning and a revoked session, the dark theme and axe-core on the new
 * pages. Screenshots at 1280×800 and 768×1024, light and dark: test-artifacts/console-fleet/.
 */

const ARTIFACTS = join(ROOT, 'test-artifacts', 'console-fleet');
const WAIT = { timeout: 20_000, interval: 100 };
const N = 10_000;
const PASSWORD = 'correct horse battery staple';
const SEED_ACTOR = 'seed-bot';
const SEED_ADDRESS = '192.0.2.7';
const FORMULA = '=HYPERLINK("http://example.invalid","x")';

ensureConsoleBuilt();

const clock = new ManualClock(Date.now());
let hub: TestHub;
let idp: Server;
let issuer = '';
let ui: ConsoleBrowser;
let page: Page;
/** Every answer the console got from /api (checked against the OpenAPI document last). */
const apiCalls: Array<{ method: string; url: string; status: number; contentType: string; body: string }> =
  [];

async function api<T = unknown>(method: string, path: string, body?: unknown) {
  return hub.api<T>(method, path, body);
}

beforeAll(async () => {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.writeHead(503).end();
  idp = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  hub = await startTestHub({
    clock,
    drivers: [testphoneDriver()],
    config: {
      'auth.oidc': {
        enabled: true,
        issuer,
        clientId: 'switchboard',
        clientSecret: 'a-long-client-secret-for-the-test',
        allowHttp: true,
        roleMap: { 'security-desk': 'operator' },
      },
      // Short viewer sessions: the console warns before both ends at once.
      'auth.sessionsByRole': { viewer: { idleMinutes: 4, maxMinutes: 12 } },
    },
  });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'switchboard',
        client_secret: 'a-long-client-secret-for-the-test',
        redirect_uris: [`${hub.url}/api/session/oidc/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: `sub-${id}`, preferred_username: id, groups: ['security-desk'] }),
    }),
    claims: { openid: ['sub'], profile: ['preferred_username'], groups: ['groups'] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['a-cookie-signing-key-for-the-test'] },
  });
  handler = provider.callback();

  // 10,000 phones through the device store (what a big site's inventory holds), a few that answer.
  const T = clock.now() - 86_400_000;
  const { stores } = hub.hub;
  for (let i = 1; i <= N; i++) {
    const at = new Date(T + i * 1000).toISOString();
    await stores.devices.insert({
      id: `ph-${String(i).padStart(5, '0')}`,
      kind: 'testphone',
      name: `Phone ${i}`,
      address: `127.0.${(i >> 8) & 255}.${i & 255}`,
      labels: i % 100 === 0 ? ['lobby'] : [],
      groups: [i <= 3 ? 'bells' : `floor-${(i % 10) + 1}`],
      location: { building: i % 2 ? 'North' : 'South', floor: String((i % 10) + 1), room: String(i) },
      settings: i === 3 ? { behavior: 'refuse' } : {},
      createdAt: at,
      updatedAt: at,
    });
  }
  // Written behind the registry's back (as another hub or the CLI would): it reads them again.
  await hub.hub.devices.load();
  // A long audit trail from one actor and address (three pages of 50), and a cell a spreadsheet would run.
  for (let i = 0; i < 130; i++)
    await hub.hub.audit.record({
      actorKind: 'key',
      actorId: null,
      actorName: SEED_ACTOR,
      address: SEED_ADDRESS,
      action: 'device.changed',
      target: `id=ph-${String(i + 1).padStart(5, '0')}`,
      detail: { n: i },
    });
  await hub.hub.audit.record({
    actorKind: 'key',
    actorId: null,
    actorName: FORMULA,
    address: '198.51.100.9',
    action: 'key.created',
    target: 'id=x',
  });
  // 30 past 911 incidents, all acknowledged (open ones would raise the alarm on every page).
  const incidents = broadcastRuntime(hub.hub).stores.incidents;
  for (let i = 1; i <= 30; i++)
    await incidents.insert(
      pastIncident(i, T + i * 60_000, { ...(i === 7 ? { name: 'Zoë Quinn' } : {}), acknowledged: true }),
    );
  // 120 ended calls in the event history (what the IP Office driver emits).
  for (let i = 1; i <= 120; i++)
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.ended',
      data: {
        callKey: `c${i}`,
        from: String(4000 + i),
        fromName: i === 77 ? 'Needle Caller' : `Caller ${i}`,
        to: '200',
        direction: 'inbound',
        state: 'ended',
        startedAt: new Date(T + i * 60_000).toISOString(),
        endedAt: new Date(T + i * 60_000 + 30_000).toISOString(),
        durationSeconds: 30,
      },
    });
  for (const [name, role] of [
    ['desk-viewer', 'viewer'],
    ['desk-sender', 'sender'],
  ] as const) {
    const r = await api('POST', '/api/users', { name, password: PASSWORD, role });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }

  ui = await openConsole({ base: hub.url, artifacts: ARTIFACTS });
  page = ui.page;
  page.on('response', async (res) => {
    const url = new URL(res.url());
    if (!url.pathname.startsWith('/api/') || url.pathname.startsWith('/api/docs')) return;
    if (
      url.pathname.startsWith('/api/session/oidc/start') ||
      url.pathname.startsWith('/api/session/oidc/callback')
    )
      return;
    const contentType = res.headers()['content-type'] ?? '';
    const body = contentType.includes('json') ? await res.text().catch(() => '') : '';
    apiCalls.push({
      method: res.request().method(),
      url: res.url(),
      status: res.status(),
      contentType,
      body,
    });
  });
  await signInWithKey();
}, 180_000);

afterEach(async (ctx) => ui?.shotIfFailed(ctx.task));

afterAll(async () => {
  await ui?.close();
  await hub?.close();
  idp?.closeAllConnections();
  await new Promise((r) => idp?.close(r));
}, 30_000);

const goto = (hash: string) => ui.goto(hash);

async function settled(): Promise<void> {
  await expect.poll(() => page.locator('.state-loading').count(), WAIT).toBe(0);
}

async function signOutIfIn(): Promise<void> {
  if (await page.getByRole('button', { name: 'Sign out' }).count())
    await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
}

async function signInWithKey(): Promise<void> {
  await page.goto(`${hub.url}/`);
  await page.getByLabel('API key').fill(hub.key);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

async function signInAs(user: string): Promise<void> {
  await signOutIfIn();
  await page.getByRole('button', { name: 'Username and password' }).click();
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

async function navLinks(): Promise<string[]> {
  await expect.poll(() => page.locator('.topbar .who').textContent(), WAIT).toMatch(/\(\w+\)/);
  return (await page.locator('nav.sidenav a').allTextContents()).map((t) => t.replace(/\s*\d+.*$/, ''));
}

/** A `datetime-local` value for an instant, in the browser's own time zone. */
async function localInput(ms: number): Promise<string> {
  return page.evaluate(`(() => {
    const d = new Date(${ms});
    const p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes());
  })()`);
}

/** Screenshots of the page at 1280×800 and 768×1024, light and dark, with no cut-off text at either size. */
async function shots(name: string): Promise<void> {
  for (const [w, h] of [
    [1280, 800],
    [768, 1024],
  ] as const) {
    await page.setViewportSize({ width: w, height: h });
    for (const scheme of ['light', 'dark'] as const) {
      await page.getByLabel('Theme').selectOption(scheme);
      await page.waitForTimeout(150);
      expect((await page.evaluate(LAYOUT_PROBLEMS)) as string[], `${name} ${w}px ${scheme}`).toEqual([]);
      await ui.shot(`${name}-${w}-${scheme}`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByLabel('Theme').selectOption('system');
}

async function axe(where: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.getByLabel('Theme').selectOption(scheme);
    await page.addScriptTag({ content: AXE_SOURCE });
    expect((await page.evaluate(AXE_SERIOUS)) as string[], `${where} (${scheme})`).toEqual([]);
  }
  await page.getByLabel('Theme').selectOption('system');
}

describe('the console for a 24/7 organisation (issue 18)', () => {
  it('pages 10,000 phones on the hub: sort, search, filters, next and previous', async () => {
    await goto('phones');
    const range = page.locator('#phones-pager-range');
    await expect.poll(() => range.textContent(), WAIT).toMatch(/^Phones 1–50 of 10,000/);
    const firstCell = page.locator('table tbody tr').first().locator('td').first().locator('a');
    expect(await firstCell.textContent()).toBe('Phone 1');
    expect(await page.locator('table tbody tr').count()).toBe(50);
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => range.textContent(), WAIT).toMatch(/^Phones 51–100 of 10,000/);
    expect(await firstCell.textContent()).toBe('Phone 51');
    await page.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(() => firstCell.textContent(), WAIT).toBe('Phone 1');
    // While the next page is on its way (held here for 2 s) the range still describes the rows shown,
    // and Next waits for it: a second click does not skip a page (seen in CI: "51–100" over page one).
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    await page.route(/\/api\/devices\?.*cursor=/, async (route) => {
      await held;
      await route.continue();
    });
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => range.textContent(), WAIT).toMatch(/loading/);
    expect(await range.textContent()).toMatch(/^Phones 1–50 of 10,000/);
    expect(await firstCell.textContent()).toBe('Phone 1');
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Next' }).click({ force: true });
    release();
    await expect.poll(() => range.textContent(), WAIT).toBe('Phones 51–100 of 10,000');
    expect(await firstCell.textContent()).toBe('Phone 51');
    await page.unroute(/\/api\/devices\?.*cursor=/);
    await page.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(() => range.textContent(), WAIT).toBe('Phones 1–50 of 10,000');
    expect(await firstCell.textContent()).toBe('Phone 1');
    // Natural sort, newest-last order: Phone 10000 first when reversed (not Phone 9999).
    await page.getByLabel('Order').selectOption('desc');
    await expect.poll(() => firstCell.textContent(), WAIT).toBe('Phone 10000');
    await page.getByLabel('Order').selectOption('asc');
    await page.getByLabel('Group').selectOption('floor-1');
    await expect.poll(() => range.textContent(), WAIT).toBe('Phones 1–50 of 1,000');
    await page.getByLabel('Label').fill('lobby');
    await expect.poll(() => range.textContent(), WAIT).toBe('Phones 1–50 of 100');
    expect(await firstCell.textContent()).toBe('Phone 100');
    await page.getByLabel('Group').selectOption('');
    await page.getByLabel('Label').fill('');
    // The search covers the location (building, floor, room): phone 4242 is South, floor 3, room 4242.
    await page.getByLabel('Search').fill('South 3 4242');
    await expect.poll(() => range.textContent(), WAIT).toMatch(/ of 1$/);
    expect(await firstCell.textContent()).toBe('Phone 4242');
    await page.getByLabel('Search').fill('room 4242');
    await expect.poll(() => page.getByText('No phones').count(), WAIT).toBeGreaterThan(0);
    await page.getByLabel('Search').fill('Phone 4242');
    await expect.poll(() => firstCell.textContent(), WAIT).toBe('Phone 4242');
    await page.getByLabel('Search').fill('');
    await expect.poll(() => range.textContent(), WAIT).toMatch(/^Phones 1–50 of 10,000/);
    await shots('01-phones-10000');
    await axe('phones (10,000)');
  }, 180_000);

  it('compose: the phone picker searches the hub and selects by group and label', async () => {
    await goto('broadcast');
    await settled();
    await page.getByLabel('Find phones').fill('Phone 4242');
    const box = page.getByRole('checkbox', { name: 'Phone 4242 (testphone, ph-04242)', exact: true });
    await box.check();
    await page.getByLabel('Find phones').fill('');
    await page.getByLabel('In group').selectOption('floor-1');
    await page.getByLabel('With label').selectOption('lobby');
    await page.getByText('100 phones match; the first 20 are shown.').waitFor();
    await page.getByRole('button', { name: 'Add all 100 matching phones' }).click();
    await page.getByText('101 phones chosen', { exact: false }).waitFor();
    await page.getByLabel(/^Text/).fill('Picker check');
    await page.getByRole('button', { name: 'Send to 101 phones' }).waitFor();
    await page.getByRole('button', { name: 'Remove Phone 4242' }).click();
    await page.getByRole('button', { name: 'Send to 100 phones' }).waitFor();
    await ui.shot('02-compose-picker');
    await axe('compose with the picker');
  }, 120_000);

  it("each role's view: admin, viewer (with the expiry warning), sender, operator from the directory", async () => {
    // Admin (the API key): every page, the audit trail too.
    await goto('calls');
    expect(await navLinks()).toEqual([
      'Live calls',
      'Phones',
      'Broadcast',
      'Schedules',
      'Incidents',
      'PubSub',
      'Settings files',
      'Audit trail',
      'System',
    ]);
    // Viewer: reads, changes nothing, no audit trail; short sessions warn before both ends.
    await signInAs('desk-viewer');
    expect(await navLinks()).not.toContain('Audit trail');
    expect(await navLinks()).toContain('Schedules');
    await goto('schedules');
    await page.getByText('Your role may see scheduled broadcasts but not change them.').waitFor();
    expect(await page.getByRole('button', { name: 'New schedule' }).count()).toBe(0);
    const banner = page.locator('.session-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('because this console has not been used');
    expect(await banner.textContent()).toContain('It has reached the longest a session may last');
    await page.getByRole('button', { name: 'Stay signed in' }).waitFor();
    await shots('08-session-warning');
    await axe('session warning');
    // The audit page is refused by the hub too (403), not only hidden.
    expect(
      await page.evaluate(
        `fetch('/api/audit', { headers: { authorization: 'Bearer ' + sessionStorage.getItem('switchboard.apiKey') } }).then((r) => r.status)`,
      ),
    ).toBe(403);
    // An administrator disables the user: the console says why it signed out.
    expect((await api('PATCH', '/api/users/desk-viewer', { disabled: true })).status).toBe(200);
    await page.evaluate(`location.hash = '#/phones'`);
    await page.getByText('an administrator disabled your user').waitFor();
    await page.getByText('Your session ended: you are signed out.').waitFor();
    await ui.shot('09-revoked');
    // Still said after the console's other requests (sent without a key once signed out) were refused.
    expect(await page.getByText('an administrator disabled your user').count()).toBe(1);
    // Sender: broadcasts and schedules only, and opens on Broadcast.
    await signInAs('desk-sender');
    expect(await navLinks()).toEqual(['Broadcast', 'Schedules']);
    await page.getByRole('heading', { level: 1, name: /Broadcast/ }).waitFor();
    // It may not list phones: the reach is counted by group size; no live-stream state to show.
    await page.getByRole('checkbox', { name: /^bells/ }).check();
    await page.getByText('At most 3 phones targeted').waitFor();
    expect(await page.locator('.topbar .live').count()).toBe(0);
    await ui.shot('10-role-sender');
    // Operator, signed in through the directory (authorisation code + PKCE at the local provider).
    await signOutIfIn();
    await page.getByRole('button', { name: 'Sign in with the directory' }).click();
    await page.waitForURL((u) => u.href.startsWith(issuer));
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    for (let hop = 0; hop < 5 && page.url().startsWith(issuer); hop++) {
      await page.waitForLoadState();
      if (!page.url().startsWith(issuer)) break;
      const submit = page.locator('button[type="submit"]');
      if (await submit.count()) await submit.first().click();
      await page.waitForTimeout(200);
    }
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(page.url()).not.toContain('oidc=');
    await expect.poll(() => page.locator('.topbar .who').textContent(), WAIT).toContain('alice (operator)');
    const links = await navLinks();
    expect(links).toContain('Incidents');
    expect(links).not.toContain('Audit trail');
    await ui.shot('11-role-operator-oidc');
    await signOutIfIn();
    await signInWithKey();
  }, 180_000);

  it('pages the call history on the hub and searches it', async () => {
    await goto('calls');
    const range = page.locator('#history-pager-range');
    await expect.poll(() => range.textContent(), WAIT).toBe('Calls 1–50');
    await page.locator('#history-pager').getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => range.textContent(), WAIT).toBe('Calls 51–100');
    await page.getByLabel('Search call history').fill('Needle Caller');
    await expect.poll(() => range.textContent(), WAIT).toBe('Calls 1–1');
    await page.getByLabel('Search call history').fill('zzz-no-such-call');
    await page.getByText('No call matches this search.').waitFor();
    await page.getByLabel('Search call history').fill('');
  }, 60_000);

  it('pages the incident log on the hub and searches it', async () => {
    await goto('incidents');
    const range = page.locator('#inc-pager-range');
    await expect.poll(() => range.textContent(), WAIT).toBe('Incidents 1–25 of 30');
    expect(await page.locator('.incident-list li a').first().textContent()).toBe('Caller 30');
    await page.locator('#inc-pager').getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => range.textContent(), WAIT).toBe('Incidents 26–30 of 30');
    expect(await page.locator('.incident-list li a').last().textContent()).toBe('Caller 1');
    await page.getByLabel('Search incidents').fill('zoë');
    await expect.poll(() => range.textContent(), WAIT).toBe('Incidents 1–1 of 1');
    expect(await page.locator('.incident-list li a').textContent()).toBe('Zoë Quinn');
    await page.getByLabel('Search incidents').fill('');
  }, 60_000);

  it('schedules: create one-off and recurring, pause, resume, edit, delete; a run fires on the hub clock', async () => {
    await goto('schedules');
    await settled();
    await page.getByText('No scheduled broadcasts').waitFor();
    // One-off, ten minutes from the hub's (test-held) clock.
    const at = clock.now() + 10 * 60_000;
    await page.getByRole('button', { name: 'New schedule' }).click();
    await page.getByLabel('Name').fill('Fire drill notice');
    await page.getByLabel('Title').fill('Drill');
    await page.getByLabel('Text').fill('Fire drill in five minutes');
    await page.getByRole('checkbox', { name: 'Group bells' }).check();
    await page.getByLabel(/^Send at/).fill(await localInput(at));
    await shots('03-schedule-form');
    await axe('schedule form');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    const row = (name: string) => page.locator('tbody tr', { hasText: name });
    await row('Fire drill notice').waitFor();
    expect(await row('Fire drill notice').textContent()).toContain('Active');
    // Recurring: weekdays at 08:00 in Berlin.
    await page.getByRole('button', { name: 'New schedule' }).click();
    await page.getByLabel('Name').fill('Morning bell');
    await page.getByLabel('Text').fill('School starts');
    await page.getByRole('checkbox', { name: 'All phones' }).check();
    await page.getByLabel('Recurring, by a rule').check();
    await page.getByLabel('Common rules').selectOption('0 8 * * mon-fri');
    await page.getByLabel('Time zone').fill('Europe/Berlin');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await row('Morning bell').waitFor();
    expect(await row('Morning bell').textContent()).toContain(
      'Weekdays at 08:00 (0 8 * * mon-fri, Europe/Berlin)',
    );
    const list = async () =>
      (
        await api<{
          schedules: Array<{
            id: string;
            name: string;
            paused: boolean;
            runs: number;
            lastBroadcastId: string | null;
            nextRunAt: string | null;
          }>;
        }>('GET', '/api/schedules')
      ).body.schedules;
    const bell = (await list()).find((s) => s.name === 'Morning bell')!;
    expect(bell.nextRunAt).not.toBeNull();
    // A bad rule is refused with the hub's words, next to the form.
    await page.getByRole('button', { name: 'New schedule' }).click();
    await page.getByLabel('Name').fill('Broken');
    await page.getByLabel('Text').fill('x');
    await page.getByRole('checkbox', { name: 'All phones' }).check();
    await page.getByLabel('Recurring, by a rule').check();
    await page.getByLabel(/^Rule/).fill('61 25 * * *');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.locator('.schedule-form [role="alert"]').waitFor();
    expect(await page.locator('.schedule-form [role="alert"]').textContent()).toMatch(/CRON|SCHEDULE/);
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    // Pause and resume.
    await page.getByRole('button', { name: 'Pause Morning bell' }).click();
    await expect
      .poll(async () => (await list()).find((s) => s.name === 'Morning bell')?.paused, WAIT)
      .toBe(true);
    await expect.poll(() => row('Morning bell').textContent(), WAIT).toContain('Paused');
    await page.getByRole('button', { name: 'Resume Morning bell' }).click();
    await expect
      .poll(async () => (await list()).find((s) => s.name === 'Morning bell')?.paused, WAIT)
      .toBe(false);
    // Edit: a new name.
    await page.getByRole('button', { name: 'Edit Morning bell' }).click();
    await page.getByLabel('Name').fill('Morning bell (main)');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await row('Morning bell (main)').waitFor();
    await shots('04-schedules');
    await axe('schedules');
    // Delete asks first; Cancel keeps it.
    await page.getByRole('button', { name: 'Delete Morning bell (main)' }).click();
    await page.getByRole('dialog').waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await list()).some((s) => s.name === 'Morning bell (main)')).toBe(true);
    await page.getByRole('button', { name: 'Delete Morning bell (main)' }).click();
    await page.getByRole('button', { name: 'Yes, delete it' }).click();
    await expect
      .poll(async () => (await list()).some((s) => s.name === 'Morning bell (main)'), WAIT)
      .toBe(false);
    // The one-off fires when the hub's clock reaches it (not before).
    await clock.advanceAsync(5 * 60_000);
    expect((await list()).find((s) => s.name === 'Fire drill notice')!.runs).toBe(0);
    await clock.advanceAsync(6 * 60_000);
    await expect
      .poll(async () => (await list()).find((s) => s.name === 'Fire drill notice')!.runs, WAIT)
      .toBe(1);
    await expect.poll(() => row('Fire drill notice').textContent(), WAIT).toContain('Delivery report');
    expect(await row('Fire drill notice').textContent()).toContain('Done');
    await ui.shot('05-schedule-fired');
  }, 240_000);

  it('recall and retry from the broadcast page', async () => {
    // The schedule's broadcast went to the "bells" group: two phones answer, one refuses.
    const s = (
      await api<{ schedules: Array<{ name: string; lastBroadcastId: string }> }>('GET', '/api/schedules')
    ).body.schedules.find((x) => x.name === 'Fire drill notice')!;
    const path = `/api/broadcasts/${encodeURIComponent(s.lastBroadcastId)}`;
    await expect
      .poll(async () => (await api<{ broadcast: { state: string } }>('GET', path)).body.broadcast.state, WAIT)
      .toBe('done');
    await goto(`broadcast/${encodeURIComponent(s.lastBroadcastId)}`);
    await page.getByRole('button', { name: 'Retry failed (1)' }).click();
    await page.getByText('Sending again to 1 phone.').waitFor();
    await expect
      .poll(async () => (await api<{ broadcast: { state: string } }>('GET', path)).body.broadcast.state, WAIT)
      .toBe('done');
    await page.getByRole('button', { name: /^Recall from phones/ }).click();
    const dialog = page.getByRole('dialog', { name: /^Recall this broadcast from 2 phones/ });
    await dialog.waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await api<{ broadcast: { state: string } }>('GET', path)).body.broadcast.state).toBe('done');
    await page.getByRole('button', { name: /^Recall from phones/ }).click();
    await page.getByRole('button', { name: 'Yes, recall it' }).click();
    await page.getByText(/^Recalled: cleared from 2 phones/).waitFor();
    await ui.shot('06-recalled');
  }, 90_000);

  it('audit page: filters by who, what, address and time, pages on the hub, exports safe CSV', async () => {
    await goto('audit');
    await settled();
    const range = page.locator('#audit-pager-range');
    await page.getByLabel('Who').fill(SEED_ACTOR);
    // The newest of the seeded entries first (the filter has reached the hub).
    await expect.poll(() => page.locator('tbody tr').first().textContent(), WAIT).toContain('n: 129');
    expect(await range.textContent()).toBe('Entries 1–50');
    await page.locator('#audit-pager').getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => range.textContent(), WAIT).toBe('Entries 51–100');
    await page.locator('#audit-pager').getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => range.textContent(), WAIT).toBe('Entries 101–130');
    expect(await page.locator('#audit-pager').getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    // The filters go back to the first page; the address filter.
    await page.getByLabel('Who').fill('');
    await page.getByLabel('Address').fill(SEED_ADDRESS);
    await expect
      .poll(
        async () => `${await range.textContent()} ${await page.locator('tbody tr').first().textContent()}`,
        WAIT,
      )
      .toMatch(/^Entries 1–50 .*n: 129$/);
    const addresses = await page.locator('tbody tr .au-address').allTextContents();
    expect(new Set(addresses)).toEqual(new Set([SEED_ADDRESS]));
    await page.getByLabel('Address').fill('');
    // What: a family of actions.
    await page.getByLabel('What').fill('key.*');
    await expect.poll(() => page.locator('tbody tr').count(), WAIT).toBe(1);
    expect(await page.locator('tbody tr .au-action').textContent()).toBe('key.created');
    await page.getByLabel('What').fill('Not An Action');
    await page
      .getByText('An action (key.created) or a family ending in .* (device.*), lower case.')
      .waitFor();
    await page.getByLabel('What').fill('');
    // Time: "To" before everything leaves nothing; a range the wrong way round is said.
    const hour = 3_600_000;
    await page.getByLabel('To').fill(await localInput(clock.now() - 3 * 86_400_000));
    await page.getByText('No audit entries match these filters').waitFor();
    await page.getByLabel('From').fill(await localInput(clock.now() - 2 * 86_400_000));
    await page.getByText('"To" must be after "From".').waitFor();
    await page.getByLabel('To').fill(await localInput(clock.now() + hour));
    await expect.poll(() => range.textContent(), WAIT).toBe('Entries 1–50');
    await page.getByLabel('From').fill('');
    await page.getByLabel('To').fill('');
    await shots('07-audit');
    await axe('audit');
    // CSV: the filters apply; a cell starting with "=" is neutralised.
    await page.getByLabel('Address').fill('198.51.100.9');
    await expect.poll(() => page.locator('tbody tr').count(), WAIT).toBe(1);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const csv = readFileSync((await (await download).path())!, 'utf8');
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('seq,time,actor_kind,actor_id,actor_name,address,action,target,outcome,detail');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://example.invalid"",""x"")"`);
    await page.getByLabel('Address').fill('');
  }, 180_000);

  it('every API call the new pages made is in the OpenAPI document, and its answers validate against it', async () => {
    const doc = (await api<OpenApiDoc>('GET', '/api/docs/json')).body;
    const seen = new Set(apiCalls.map((c) => `${c.method} ${new URL(c.url).pathname}`));
    for (const route of ['GET /api/audit', 'GET /api/audit.csv', 'GET /api/schedules', 'POST /api/schedules'])
      expect([...seen], route).toContain(route);
    // Left out: the 403s the sender's and viewer's consoles got before GET /api/session said their role (the
    // live stream and the 911 watch start first, on purpose), which the document does not list per route,
    // and the demo-drill probe (`GET /api/demo`: 404 on a hub that is not `switchboard demo`).
    const checked = apiCalls.filter((c) => c.status !== 403 && new URL(c.url).pathname !== '/api/demo');
    expect(checkSamples(doc, samplesFromCalls(doc, checked))).toEqual([]);
  }, 60_000);
});
