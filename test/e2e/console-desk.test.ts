import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AXE_SERIOUS,
  AXE_SOURCE,
  type ConsoleBrowser,
  ensureConsoleBuilt,
  LAYOUT_PROBLEMS,
  openConsole,
} from '../helpers/browser.js';
import { ROOT, startConsoleDemo } from '../helpers/console-demo.js';

/**
 * The console as a 24/7 security desk uses it (issue 18), in Chromium against the real `switchboard demo`:
 * confirmation before risky sends, templates, the delivery report (with phones that really fail and one
 * that really hangs), layouts at 1280×800 and 768×1024, the dark theme, keyboard focus, the phone page's
 * grouped actions, and an axe-core check of every page in both themes. Screenshots of each step go to
 * test-artifacts/console-desk/.
 */

const ARTIFACTS = join(ROOT, 'test-artifacts', 'console-desk');
const PAGES = [
  'calls',
  'phones',
  'broadcast',
  'schedules',
  'incidents',
  'pubsub',
  'settings',
  'audit',
  'system',
];
const WAIT = { timeout: 20_000, interval: 100 };

ensureConsoleBuilt();
const demo = await startConsoleDemo();
const { api } = demo;

interface Device {
  id: string;
  kind: string;
  name: string;
  groups: string[];
}

/** The demo's phones (its simulators register them right after the hub starts). */
async function phones(): Promise<Device[]> {
  let list: Device[] = [];
  for (let i = 0; i < 240; i++) {
    list = (await api<{ devices: Device[] }>('/api/devices')).body.devices.filter(
      (d) => d.kind !== 'ipoffice',
    );
    if (list.some((d) => d.kind === 'cisco') && list.some((d) => d.kind === 'avaya')) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return list;
}
const demoPhones = await phones();

// A "phone" that accepts the connection and never answers: its delivery stays `sent` until the driver's
// timeout (a real hanging phone, not a mocked answer).
const held: Socket[] = [];
const silent: Server = createServer((s) => {
  held.push(s);
  s.on('error', () => {});
});
await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
const silentPort = (silent.address() as { port: number }).port;
// A port nobody listens on (bound and closed): connections are refused.
const closedPort = await new Promise<number>((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});

// Browser-side checks (strings: this file is type-checked without the DOM library).

/**
 * The focused element's focus ring: outline style and width, and the better contrast of its two colours
 * (outline, box-shadow ring) against the background around the element (WCAG 2.4.11 / 1.4.11: 3:1).
 */
const FOCUS_RING = `(() => {
  const el = document.activeElement;
  const cs = getComputedStyle(el);
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  let p = el.parentElement;
  let bg = [255, 255, 255];
  while (p) {
    const c = rgb(getComputedStyle(p).backgroundColor);
    if (c.length >= 3 && (c[3] === undefined || c[3] > 0.9)) { bg = c; break; }
    p = p.parentElement;
  }
  const outline = rgb(cs.outlineColor);
  const shadow = rgb((cs.boxShadow.match(/rgba?\\([^)]*\\)/) || [''])[0]);
  return {
    what: el.tagName + ' ' + (el.textContent || '').trim().slice(0, 20),
    width: parseFloat(cs.outlineWidth),
    style: cs.outlineStyle,
    best: Math.max(contrast(outline, bg), shadow.length ? contrast(shadow, bg) : 0),
  };
})()`;

let ui: ConsoleBrowser;
let page: Page;
const shot = (name: string) => ui.shot(name);
const goto = (hash: string) => ui.goto(hash);

beforeAll(async () => {
  ui = await openConsole({ base: demo.base, artifacts: ARTIFACTS });
  page = ui.page;
  await page.goto(`${demo.base}/`);
  await page.getByLabel('API key').fill(demo.key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Live calls' }).waitFor();
}, 120_000);

afterEach(async (ctx) => ui?.shotIfFailed(ctx.task));

afterAll(async () => {
  await ui?.close();
  for (const s of held) s.destroy();
  silent.close();
  await demo.stop();
}, 30_000);

/** Waits until the page shows no "Loading …" state. */
async function settled(): Promise<void> {
  await expect.poll(() => page.locator('.state-loading').count(), WAIT).toBe(0);
}

async function broadcastCount(): Promise<number> {
  return (await api<{ broadcasts: unknown[] }>('/api/broadcasts?limit=1000')).body.broadcasts.length;
}

describe('the security desk console (issue 18)', () => {
  it('asks before an urgent, emergency or all-phones send, with the count of phones; Cancel sends nothing', async () => {
    await goto('broadcast');
    await settled();
    const sendButton = page.getByRole('button', { name: /^Send to \d+ phone/ });
    // Normal priority to two chosen phones: no question, it is sent.
    await page.getByLabel(/^Text/).fill('Normal notice to two phones');
    const two = demoPhones.slice(0, 2);
    // The phone picker searches on the hub (any fleet size), then the phone is ticked.
    for (const p of two) {
      await page.getByLabel('Find phones').fill(p.id);
      await page
        .getByRole('checkbox', { name: `${p.name || p.id} (${p.kind}, ${p.id})`, exact: true })
        .check();
    }
    await page.getByLabel('Find phones').fill('');
    let before = await broadcastCount();
    await page.getByRole('button', { name: 'Send to 2 phones' }).click();
    await page.waitForURL(/#\/broadcast\/.+/);
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await broadcastCount()).toBe(before + 1);

    // Emergency priority to one group: a modal question naming the priority and the count.
    await goto('broadcast');
    await settled();
    await page.getByLabel(/^Text/).fill('Evacuate building A now');
    await page.getByLabel('emergency').check();
    const security = demoPhones.filter((p) => p.groups.includes('security'));
    await page.getByRole('checkbox', { name: /^security/ }).check();
    before = await broadcastCount();
    await sendButton.click();
    const dialog = page.getByRole('dialog', {
      name: `Send an EMERGENCY broadcast to ${security.length} phones?`,
    });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Evacuate building A now');
    // Cancel has the focus: Enter does not send by accident.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
    await shot('01-confirm-emergency');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await broadcastCount()).toBe(before);
    await sendButton.click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await broadcastCount()).toBe(before);
    expect(page.url()).toMatch(/#\/broadcast$/);

    // Urgent asks too; every phone at normal priority asks too, with the number of all phones.
    await page.getByLabel('urgent').check();
    await sendButton.click();
    await page
      .getByRole('dialog', { name: `Send an URGENT broadcast to ${security.length} phones?` })
      .waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByLabel('normal').check();
    await page.getByLabel('All phones').check();
    const all = (await phones()).length;
    await sendButton.click();
    const allDialog = page.getByRole('dialog', { name: `Send a broadcast to ${all} phones?` });
    await allDialog.waitFor();
    expect(await allDialog.textContent()).toMatch(/Every phone/);
    await shot('01-confirm-all');
    await page.getByRole('button', { name: `Yes, send to ${all} phones` }).click();
    await page.waitForURL(/#\/broadcast\/.+/);
    expect(await broadcastCount()).toBe(before + 1);
  }, 120_000);

  it('composes from a template: pick it, fill its variables, preview what the hub renders, send it', async () => {
    const put = await api('/api/templates/fire-drill', {
      method: 'PUT',
      body: {
        name: 'Fire drill',
        title: 'FIRE DRILL {{building}}',
        text: 'Fire drill in {{building}} at {{time | 10:00}}. Leave by the {{exit | nearest}} exit.',
        priority: 'urgent',
        expiresInSeconds: 600,
      },
    });
    expect(put.status).toBe(200);
    await goto('broadcast');
    await settled();
    await page.getByLabel('Template').selectOption('fire-drill');
    // The template sets priority and expiry; its variables become fields (fallbacks as hints).
    expect(await page.getByLabel('urgent').isChecked()).toBe(true);
    expect(await page.getByLabel('Expires after (seconds)').inputValue()).toBe('600');
    expect(await page.getByLabel('exit').getAttribute('placeholder')).toContain('nearest');
    await page.getByLabel('building').fill('Building C');
    await page.getByLabel('exit').fill('north');
    await page.getByRole('checkbox', { name: /^lobby/ }).check();
    const preview = page.locator('.preview').first();
    await expect
      .poll(() => preview.textContent(), WAIT)
      .toContain('Fire drill in Building C at 10:00. Leave by the north exit.');
    await shot('02-template-preview');
    const before = await broadcastCount();
    await page.getByRole('button', { name: /^Send to \d+ phone/ }).click();
    await page.getByRole('button', { name: /^Yes, send to/ }).click();
    await page.waitForURL(/#\/broadcast\/.+/);
    const id = decodeURIComponent(page.url().split('#/broadcast/')[1]!);
    const b = await api<{ broadcast: { title: string; text: string; meta: Record<string, unknown> } }>(
      `/api/broadcasts/${encodeURIComponent(id)}`,
    );
    expect(b.body.broadcast.title).toBe('FIRE DRILL Building C');
    expect(b.body.broadcast.text).toBe('Fire drill in Building C at 10:00. Leave by the north exit.');
    expect(b.body.broadcast.meta.template).toBe('fire-drill');
    expect(await broadcastCount()).toBe(before + 1);
  }, 90_000);

  it('reports delivery: percent delivered, waiting phones move the bar, names in natural order, reasons in words', async () => {
    // Two phones that refuse connections, one that never answers, one real simulated phone.
    const extra = [
      { id: 'dead-10', name: 'Dead phone 10', port: closedPort },
      { id: 'dead-2', name: 'Dead phone 2', port: closedPort },
      { id: 'hang-1', name: 'Hanging phone', port: silentPort },
    ];
    for (const [i, d] of extra.entries()) {
      const r = await api('/api/devices', {
        method: 'POST',
        body: {
          id: d.id,
          kind: 'cisco',
          name: d.name,
          address: `127.0.0.1:${d.port}`,
          location: { building: 'B', floor: '2', room: `Room ${d.id}` },
          settings: {
            model: '8845',
            username: 'u',
            password: 'p',
            deviceName: `SEP00000000000${i}`,
            timeoutMs: 6000,
          },
        },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const real = demoPhones.find((p) => p.kind === 'cisco')!;
    const r = await api<{ broadcast: { id: string } }>('/api/broadcasts', {
      method: 'POST',
      body: {
        title: 'Report test',
        text: 'Delivery report test',
        targets: { devices: [...extra.map((d) => d.id), real.id] },
      },
    });
    expect(r.status).toBe(201);
    await goto(`broadcast/${encodeURIComponent(r.body.broadcast.id)}`);
    // Sender, title and counts.
    await page.getByRole('heading', { level: 1, name: 'Broadcast: Report test' }).waitFor();
    expect(await page.locator('.page-header').textContent()).toMatch(/Sent by demo/);
    // While the hanging phone is `sent`, the bar has a segment for it and says so.
    await expect
      .poll(() => page.getByTestId('progress-summary').textContent(), WAIT)
      .toMatch(/1 sent, waiting for the phone/);
    const sentWidth = await page
      .locator('.progress-bar-sent')
      .evaluate((e) => e.getBoundingClientRect().width);
    expect(sentWidth).toBeGreaterThan(0);
    await shot('03-report-while-sending');
    // Final: 1 of 4 delivered is 25 %, not "100 % processed".
    const bar = page.getByRole('progressbar');
    await expect.poll(() => page.locator('[role="status"].form-error').count(), { timeout: 90_000 }).toBe(1);
    expect(await bar.getAttribute('aria-valuenow')).toBe('25');
    expect(await page.getByTestId('progress-text').textContent()).toBe('25% delivered · 1/4');
    expect(await bar.getAttribute('aria-valuetext')).toMatch(
      /^1 of 4 phones have the message \(25%\); 1 delivered · 3 failed/,
    );
    // Names in natural order (2 before 10), with their location.
    const names = await page.locator('.deliveries-table tbody tr td:first-child a').allTextContents();
    expect(names.indexOf('Dead phone 2')).toBeLessThan(names.indexOf('Dead phone 10'));
    expect(names.indexOf('Dead phone 10')).toBeLessThan(names.indexOf('Hanging phone'));
    const deadRow = page.locator('tr[data-device="dead-2"]');
    expect(await deadRow.textContent()).toContain('B, floor 2, room Room dead-2');
    // Reasons in words with the code beside.
    const reason = await deadRow.locator('.reason').textContent();
    expect(reason).toMatch(/Network error: the phone could not be reached\s*HTTP_NETWORK_ERROR/);
    const hang = await page.locator('tr[data-device="hang-1"] .reason').textContent();
    expect(hang).toMatch(/did not answer in time\s*HTTP_TIMEOUT/);
    await shot('03-report-final');
    // The list of broadcasts shows sender, title and counts.
    await goto('broadcast');
    const row = page.getByRole('row', { name: /Report test/ });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/demo.*1 delivered · 3 failed\s*of 4/);
    // 4 of 4 failed reads 0 %: a broadcast only to the dead phones.
    const allFail = await api<{ broadcast: { id: string } }>('/api/broadcasts', {
      method: 'POST',
      body: { title: 'All fail', text: 'x', targets: { devices: ['dead-2', 'dead-10'] } },
    });
    await goto(`broadcast/${encodeURIComponent(allFail.body.broadcast.id)}`);
    await page.getByText('Done: no phone has it. All 2 failed.').waitFor({ timeout: 60_000 });
    expect(await page.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('0');
    for (const d of extra) await api(`/api/devices/${d.id}`, { method: 'DELETE' });
  }, 180_000);

  it('cancels a broadcast while it is delivering (asks first); recall and retry only where the hub has them', async () => {
    const add = await api('/api/devices', {
      method: 'POST',
      body: {
        id: 'hang-2',
        kind: 'cisco',
        name: 'Hanging phone 2',
        address: `127.0.0.1:${silentPort}`,
        settings: {
          model: '8845',
          username: 'u',
          password: 'p',
          deviceName: 'SEP000000000009',
          timeoutMs: 30000,
        },
      },
    });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    const r = await api<{ broadcast: { id: string } }>('/api/broadcasts', {
      method: 'POST',
      body: { title: 'Cancel me', text: 'to be cancelled', targets: { devices: ['hang-2'] } },
    });
    const path = `/api/broadcasts/${encodeURIComponent(r.body.broadcast.id)}`;
    await goto(`broadcast/${encodeURIComponent(r.body.broadcast.id)}`);
    await page.getByRole('heading', { level: 1, name: 'Broadcast: Cancel me' }).waitFor();
    await page.getByRole('button', { name: 'Cancel broadcast' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this broadcast?' });
    await dialog.waitFor();
    await shot('07-cancel-confirm');
    await page.getByRole('button', { name: 'Yes, cancel it' }).click();
    await page.getByText('Cancelled: phones not yet served will not get it.').waitFor({ timeout: 40_000 });
    await expect
      .poll(async () => (await api<{ broadcast: { state: string } }>(path)).body.broadcast.state, WAIT)
      .toBe('cancelled');
    await expect.poll(() => page.getByRole('button', { name: 'Cancel broadcast' }).count(), WAIT).toBe(0);
    expect(await page.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('0');
    // Nothing is left "sent" on the bar once the phone's delivery ended (after the bar's 0.3 s animation).
    await expect
      .poll(() => page.locator('.progress-bar-sent').evaluate((e) => e.getBoundingClientRect().width), WAIT)
      .toBe(0);
    // Recall and retry appear only when this hub's API has them (its OpenAPI document says so).
    const doc = await api<{ paths: Record<string, unknown> }>('/api/docs/json');
    const hasRetry = '/api/broadcasts/{id}/retry' in doc.body.paths;
    expect(await page.getByRole('button', { name: /^Retry failed/ }).count()).toBe(hasRetry ? 1 : 0);
    await shot('07-cancelled');
    await api('/api/devices/hang-2', { method: 'DELETE' });
  }, 90_000);

  it('phone page: actions grouped by what they do, raw JSON only behind a Details toggle', async () => {
    const cisco = demoPhones.find((p) => p.kind === 'cisco')!;
    await goto(`phones/${encodeURIComponent(cisco.id)}`);
    const select = page.getByLabel(/^Action/);
    await select.waitFor();
    const groups = await select
      .locator('optgroup')
      .evaluateAll((gs) => gs.map((g) => g.getAttribute('label')));
    expect(groups.slice(0, 3)).toEqual([
      'Show on the screen',
      'Clear the screen and close apps',
      'Sound and audio',
    ]);
    expect(groups).toContain('Press a key');
    const options = await select.locator('option').allTextContents();
    expect(options.length).toBeGreaterThan(100);
    expect(options.filter((o) => /CiscoIPPhone(?!Execute)|Display Object|^Key - /.test(o))).toEqual([]);
    expect(await select.inputValue()).toBe('object_text');
    expect(await page.locator('.action-title').textContent()).toBe('Show a text message');
    // Searching by what it does finds the action.
    await page.getByLabel('Find an action').fill('screenshot');
    expect(await select.locator('option').allTextContents()).toEqual(['Take a screenshot']);
    await page.getByLabel('Find an action').fill('');
    // No raw JSON on the page until a Details toggle is opened.
    await page.locator('.dl').first().waitFor();
    const visibleJson = async () =>
      page
        .locator('pre.json')
        .evaluateAll(
          (ps) => ps.filter((p) => (p as unknown as { checkVisibility(): boolean }).checkVisibility()).length,
        );
    expect(await visibleJson()).toBe(0);
    await select.selectOption('get_device_caps');
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.locator('.result').waitFor();
    expect(await visibleJson()).toBe(0);
    await page.locator('.result summary').click();
    expect(await visibleJson()).toBe(1);
    await shot('04-phone-actions');
  }, 60_000);

  it('fits 768 px: no truncated headers or cells, tables inside the screen (and 1280×800)', async () => {
    // A queue holding messages, so that the PubSub page shows its widest table (a publish with no
    // subscriber waits in its queue).
    const account = demo.hub.stdout
      .map((l) => l.match(/PubSub demo account: AccountSid (\S+)\s+AuthToken (\S+)/))
      .find(Boolean);
    if (account) {
      const [, sid, token] = account;
      const res = await fetch(`${demo.base}/${sid}/building-a/floor-2/security-desk-wallboard`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'Custom=layout-test',
      });
      expect(res.status).toBeLessThan(300);
    }
    for (const size of [
      { width: 768, height: 1024 },
      { width: 1280, height: 800 },
    ]) {
      await page.setViewportSize(size);
      for (const p of [...PAGES, `phones/${encodeURIComponent(demoPhones[0]!.id)}`]) {
        await goto(p);
        await settled();
        if (p === 'pubsub' && account)
          await page
            .getByText(/security-desk-wallboard/)
            .first()
            .waitFor();
        await page.waitForTimeout(300);
        const problems = (await page.evaluate(LAYOUT_PROBLEMS)) as string[];
        expect(problems, `${p} at ${size.width}px`).toEqual([]);
        await shot(`05-layout-${size.width}-${p.replace(/\W+/g, '-')}`);
      }
    }
  }, 180_000);

  it('dark theme: follows the system setting, and the switch overrides it (kept after a reload)', async () => {
    await goto('calls');
    const theme = () => page.evaluate('document.documentElement.getAttribute("data-theme")');
    const bg = () => page.evaluate('getComputedStyle(document.documentElement).backgroundColor');
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(theme, WAIT).toBe('dark');
    const darkBg = await bg();
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(theme, WAIT).toBe('light');
    expect(await bg()).not.toBe(darkBg);
    // The switch wins over the system setting and is remembered.
    await page.getByLabel('Theme').selectOption('dark');
    expect(await theme()).toBe('dark');
    await page.reload();
    await page.locator('#page-title').waitFor();
    expect(await theme()).toBe('dark');
    expect(await bg()).toBe(darkBg);
    await shot('06-dark-calls');
    await page.setViewportSize({ width: 768, height: 1024 });
    await goto('incidents');
    await shot('06-dark-incidents-768');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByLabel('Theme').selectOption('system');
    expect(await theme()).toBe('light');
  }, 60_000);

  it('keyboard: "Skip to content" is the first Tab stop and the focus ring has at least 3:1 contrast', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      await page.getByLabel('Theme').selectOption(scheme);
      await goto('broadcast');
      await settled();
      await page.reload();
      await page.locator('#page-title').waitFor();
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
      const ring = async () =>
        (await page.evaluate(FOCUS_RING)) as { what: string; width: number; style: string; best: number };
      // The skip link, then the next stops (top bar on a dark background, the navigation, the page).
      const seen: string[] = [];
      for (let i = 0; i < 14; i++) {
        const r = await ring();
        expect(r.style, r.what).not.toBe('none');
        expect(r.width, r.what).toBeGreaterThanOrEqual(2);
        expect(r.best, `${scheme}: ${r.what}`).toBeGreaterThanOrEqual(3);
        seen.push(r.what);
        await page.keyboard.press('Tab');
      }
      expect(seen.some((s) => s.startsWith('A'))).toBe(true);
      // Skip to content moves the focus to the page.
      await page.reload();
      await page.locator('#page-title').waitFor();
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      expect(await page.evaluate('document.activeElement?.id')).toBe('main');
    }
    await page.getByLabel('Theme').selectOption('system');
  }, 90_000);

  it('every page passes axe-core with no serious or critical violation, light and dark', async () => {
    const check = async (where: string) => {
      await page.addScriptTag({ content: AXE_SOURCE });
      const violations = (await page.evaluate(AXE_SERIOUS)) as string[];
      expect(violations, where).toEqual([]);
    };
    const cisco = demoPhones.find((p) => p.kind === 'cisco')!;
    const lastBroadcast = (await api<{ broadcasts: Array<{ id: string }> }>('/api/broadcasts?limit=1')).body
      .broadcasts[0]!;
    for (const scheme of ['light', 'dark'] as const) {
      await page.getByLabel('Theme').selectOption(scheme);
      for (const p of [
        ...PAGES,
        `phones/${encodeURIComponent(cisco.id)}`,
        `broadcast/${encodeURIComponent(lastBroadcast.id)}`,
      ]) {
        await goto(p);
        await settled();
        await page.waitForTimeout(300);
        await check(`${p} (${scheme})`);
      }
      // The confirmation dialog too.
      await goto('broadcast');
      await settled();
      await page.getByLabel(/^Text/).fill('axe check');
      await page.getByLabel('All phones').check();
      await page.getByRole('button', { name: /^Send to \d+ phone/ }).click();
      await page.getByRole('dialog').waitFor();
      await check(`confirmation dialog (${scheme})`);
      await page.getByRole('button', { name: 'Cancel' }).click();
    }
    await page.getByLabel('Theme').selectOption('system');
    // The sign-in page.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await check('sign-in');
  }, 240_000);

  it('hides what a role may not do (viewer, operator)', async () => {
    const password = 'correct horse battery staple';
    for (const [name, role] of [
      ['desk-viewer', 'viewer'],
      ['desk-operator', 'operator'],
    ] as const) {
      const r = await api('/api/users', { method: 'POST', body: { name, password, role } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const signIn = async (user: string) => {
      if (await page.getByRole('button', { name: 'Sign out' }).count())
        await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Username and password' }).click();
      await page.getByLabel('Username').fill(user);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
    };
    const cisco = demoPhones.find((p) => p.kind === 'cisco')!;
    // Viewer: reads everything, changes nothing.
    await signIn('desk-viewer');
    await expect.poll(() => page.locator('.topbar .who').textContent(), WAIT).toContain('(viewer)');
    await goto('broadcast');
    await page.getByText('Your role may see broadcasts but not send them.').waitFor();
    expect(await page.getByRole('button', { name: /^Send to/ }).count()).toBe(0);
    await goto(`phones/${encodeURIComponent(cisco.id)}`);
    await page.getByText('Your role may see this phone but not run actions on it.').waitFor();
    expect(await page.getByLabel(/^Action/).count()).toBe(0);
    await goto('system');
    await settled();
    expect(await page.getByRole('heading', { name: 'API keys' }).count()).toBe(0);
    await shot('08-role-viewer-system');
    // Operator: broadcasts from templates only (no free text), to any phones.
    await signIn('desk-operator');
    await expect.poll(() => page.locator('.topbar .who').textContent(), WAIT).toContain('(operator)');
    await goto('broadcast');
    await settled();
    const template = page.getByLabel('Template');
    await expect.poll(() => template.inputValue(), WAIT).not.toBe('');
    const options = await template.locator('option').allTextContents();
    expect(options.some((o) => o.startsWith('None'))).toBe(false);
    expect(await page.locator('#bc-text').count()).toBe(0);
    expect(await page.getByLabel('All phones').count()).toBe(1);
    await shot('08-role-operator-broadcast');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  }, 90_000);
});
