import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CiscoSimFleet, startCiscoSim } from '../../src/sim/cisco/fleet.js';
import { type ConsoleBrowser, ensureConsoleBuilt, openConsole } from '../helpers/browser.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { raiseIncident } from '../helpers/incidents.js';
import { ROOT } from '../helpers/process.js';

/**
 * Issue 19 in the console (Chromium): dial and call keys on a phone's page against the Cisco simulator,
 * "Call back" on an incident from the chosen desk phone, a screen pop for that desk phone, and the Spaces
 * Calling profile view with its validator. Screenshots in test-artifacts/console-dial/.
 */
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console-dial');
const WAIT = { timeout: 20_000, interval: 100 };
let hub: TestHub;
let cisco: CiscoSimFleet;
let ui: ConsoleBrowser;
let operatorKey: string;
const state = () =>
  cisco.phones[0]!.state() as {
    call: { state: string; number: string; hold: boolean };
    screen: { title: string };
  };

beforeAll(async () => {
  ensureConsoleBuilt();
  hub = await startTestHub({
    config: { 'emergency.callbackDial': 'external', 'emergency.escalateAfterSeconds': 0 },
  });
  cisco = await startCiscoSim({
    phones: 1,
    model: '8845',
    username: 'push',
    password: 'push-pw',
    firstDn: 5101,
  });
  const p = cisco.phones[0]!;
  const r = await hub.api('POST', '/api/devices', {
    id: 'desk-1',
    name: 'Security desk 1',
    kind: 'cisco',
    address: p.address,
    settings: {
      model: '8845',
      username: 'push',
      password: 'push-pw',
      deviceName: p.deviceName,
      extension: p.dn,
    },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  await hub.api('POST', '/api/devices', {
    id: 'ipo-hq',
    name: 'Head Office',
    kind: 'ipoffice',
    address: '127.0.0.1:1',
    settings: { user: 'dl3', password: 'pw', spaces: { address: 'primary.example.com' } },
  });
  operatorKey = (await hub.hub.apiKeys.create('operator-1', { role: 'operator' })).key;
  ui = await openConsole({ base: hub.url, artifacts: ARTIFACTS });
  await ui.page.goto(`${hub.url}/`);
  await ui.page.getByLabel('API key').fill(operatorKey);
  await ui.page.getByRole('button', { name: 'Sign in' }).click();
  await ui.page.locator('#page-title').waitFor();
}, 180_000);

afterEach(async (ctx) => ui?.shotIfFailed(ctx.task));
afterAll(async () => {
  await ui?.close();
  await hub?.close();
  await cisco?.stop();
}, 30_000);

describe('click-to-dial in the console', () => {
  it('an operator dials from the phone page, holds and releases; a bad number shows the API error', async () => {
    const { page } = ui;
    await ui.goto('phones/desk-1');
    await page.getByLabel('Number').fill('555-CALL');
    await page.getByRole('button', { name: 'Dial', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('dial-outcome').textContent(), WAIT)
      .toMatch(/DIAL_NUMBER_INVALID/);
    await ui.shot('01-bad-number');
    await page.getByLabel('Number').fill('(555) 010-4001');
    await page.getByRole('button', { name: 'Dial', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('dial-outcome').textContent(), WAIT)
      .toMatch(/Dialling 5550104001/);
    expect(state().call).toMatchObject({ state: 'connected', number: '5550104001' });
    await page.getByRole('button', { name: 'Hold' }).click();
    await expect.poll(() => state().call.hold, WAIT).toBe(true);
    await ui.shot('02-dialled-and-held');
    await page.getByRole('button', { name: 'Release' }).click();
    await expect.poll(() => state().call.state, WAIT).toBe('idle');
    await page.getByRole('button', { name: 'Use as my desk phone' }).click();
    await page.getByText('This is your desk phone').waitFor();
  });

  it('Call back on an incident dials the callback number from the desk phone and shows in the timeline', async () => {
    const { page } = ui;
    const { id } = (await raiseIncident(hub, 'ipo:ui-1', {
      callerExtension: '4201',
      callerName: 'Lee Park',
      callbackNumber: '5550104201',
    })) as { id: string };
    await ui.goto(`incidents/${id}`);
    await expect.poll(() => page.getByLabel('From my phone').inputValue(), WAIT).toBe('desk-1');
    await page.getByRole('button', { name: 'Call back 5550104201' }).click();
    await expect.poll(() => state().call.number, WAIT).toBe('5550104201');
    await page.locator('.timeline').getByText('callback.dialled').waitFor();
    await ui.shot('03-incident-called-back');
  });

  it('a screen pop for the desk phone appears in the console and on the phone', async () => {
    const put = await hub.api('PUT', '/api/rules/pop', {
      id: 'pop',
      event: 'call.ringing',
      actions: [{ type: 'screenpop' }],
    });
    expect(put.status).toBe(200);
    const ext = cisco.phones[0]!.dn;
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.ringing',
      data: { callKey: 'ipo:ring-ui', from: '5550107777', fromName: 'Acme Supply', to: ext, ringing: [ext] },
    });
    await ui.page.getByTestId('screen-pop').getByText('Acme Supply').waitFor();
    expect(state().screen.title).toBe('Call from 5550107777');
    await ui.shot('04-screen-pop');
  });

  it('the Spaces Calling profile view shows the JSON and explains a pasted mistake in seed terms', async () => {
    const { page } = ui;
    await ui.goto('settings');
    await expect
      .poll(() => page.getByTestId('spaces-json').textContent(), WAIT)
      .toContain('"Name": "Head Office"');
    await page
      .getByLabel('Check a profile')
      .fill(
        '{"IP_Office_Server_Profile": [{"Name": "HQ", "Address": "hq.example.com", "AccountsToken": "true"}]}',
      );
    await page.getByRole('button', { name: 'Validate' }).click();
    await expect
      .poll(() => page.getByTestId('spaces-problems').last().textContent(), WAIT)
      .toMatch(/do not enclose them in " " quote marks/);
    await page.getByTestId('spaces-problems').last().scrollIntoViewIfNeeded();
    await ui.shot('05-spaces-profile');
  });
});
