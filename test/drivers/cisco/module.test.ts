import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phoneCharset } from '../../../src/drivers/cisco/module.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

/** Phone-facing routes under /cisco/ (no API key: phones call them). */
let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({
    config: { 'cisco.authentication.users': [{ username: 'paging', password: 'p@ss' }] },
  });
  await t.api('POST', '/api/devices', {
    id: 'lobby',
    kind: 'cisco',
    name: 'Lobby phone',
    address: '127.0.0.1:9',
    location: { building: 'A', floor: '1', room: 'Lobby' },
    settings: {
      model: '7960',
      username: 'u',
      password: 'p',
      deviceName: 'SEP000123456789',
      extension: '1000',
    },
  });
});
afterAll(async () => t?.close());

describe('/cisco routes', () => {
  it('authentication URL: config users for any phone, device credentials for that phone only', async () => {
    const q = async (u: string, p: string, d: string) =>
      (
        await fetch(
          `${t.url}/cisco/authenticate?UserID=${encodeURIComponent(u)}&Password=${encodeURIComponent(p)}&devicename=${d}`,
        )
      ).text();
    expect(await q('paging', 'p@ss', 'SEPFFFFFFFFFFFF')).toBe('AUTHORIZED');
    expect(await q('u', 'p', 'SEP000123456789')).toBe('AUTHORIZED');
    expect(await q('u', 'p', 'SEPFFFFFFFFFFFF')).toBe('UN-AUTHORIZED');
    expect(await q('u', 'wrong', 'SEP000123456789')).toBe('UN-AUTHORIZED');
    expect(await q('', '', '')).toBe('UN-AUTHORIZED');
  });

  it('services menu honours x-CiscoIPPhoneModelName (charset, softkey positions) and #DEVICENAME#', async () => {
    const r = await fetch(`${t.url}/cisco/services?name=SEP000123456789`, {
      headers: { 'x-CiscoIPPhoneModelName': 'CP-7960G', 'x-CiscoIPPhoneDisplay': '133, 65, 2, G' },
    });
    expect(r.headers.get('content-type')).toBe('text/xml; charset=ISO-8859-1');
    const xml = Buffer.from(await r.arrayBuffer()).toString('latin1');
    expect(xml.startsWith('<?xml version="1.0" encoding="ISO-8859-1"?>\n<CiscoIPPhoneMenu>')).toBe(true);
    expect(xml).toContain('<Prompt>Lobby phone</Prompt>');
    expect(xml).toContain(
      '<SoftKeyItem><Name>Select</Name><URL>SoftKey:Select</URL><Position>1</Position></SoftKeyItem>',
    );
    expect(xml).toContain(
      '<SoftKeyItem><Name>Exit</Name><URL>SoftKey:Exit</URL><Position>3</Position></SoftKeyItem>',
    );
    expect(xml).toContain('/cisco/services/info?name=SEP000123456789');
    const modern = await (
      await fetch(`${t.url}/cisco/services?name=SEP000123456789`, {
        headers: { 'x-CiscoIPPhoneModelName': 'CP-8845' },
      })
    ).text();
    expect(modern).toContain('encoding="UTF-8"');
    expect(modern).toContain('<Name>Exit</Name><URL>SoftKey:Exit</URL><Position>1</Position>');
    const info = await (
      await fetch(`${t.url}/cisco/services/info?name=SEP000123456789`, {
        headers: { 'x-CiscoIPPhoneDisplay': '133, 65, 2, G' },
      })
    ).text();
    expect(info).toContain('Location: A, 1, Lobby');
    expect(info).toContain('Display: 133, 65, 2, G');
    const dir = await (await fetch(`${t.url}/cisco/services/directory`)).text();
    expect(dir).toContain(
      '<DirectoryEntry><Name>Lobby phone</Name><Telephone>1000</Telephone></DirectoryEntry>',
    );
  });

  it('event receivers: form DATA/XML fields and raw XML become bus events', async () => {
    const post = (path: string, body: string, type: string) =>
      fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
    expect(
      (
        await post(
          '/cisco/events/application?name=SEP000123456789',
          `XML=${encodeURIComponent('<notifyApplicationEvent appId="Acme/A" type="closed"/>')}`,
          'application/x-www-form-urlencoded',
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await post(
          '/cisco/events/media?device=lobby',
          `DATA=${encodeURIComponent('<notifyMediaEvent type="stopped" origin="user"><mediaStream id="abc123"/></notifyMediaEvent>')}`,
          'application/x-www-form-urlencoded',
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await post(
          '/cisco/events/media',
          '<notifyMediaEvent type="stopped" origin="user"><mediaStream id="def456"/></notifyMediaEvent>',
          'text/xml',
        )
      ).status,
    ).toBe(200);
    const bad = await post(
      '/cisco/events/application',
      'XML=%3Cfoo%2F%3E',
      'application/x-www-form-urlencoded',
    );
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('CISCO_EVENT_INVALID');
    const types = (await t.hub.bus.list({ filter: { types: ['cisco.*'] } })).map((e) => [
      e.type,
      e.source,
      (e.data as { streamId?: string; appId?: string }).streamId ?? (e.data as { appId?: string }).appId,
    ]);
    expect(types).toEqual([
      ['cisco.app.closed', 'lobby', 'Acme/A'],
      ['cisco.media.stopped', 'lobby', 'abc123'],
      ['cisco.media.stopped', 'cisco', 'def456'],
    ]);
  });

  it('/api/cisco shortcuts need an API key and a Cisco device', async () => {
    expect(
      (
        await fetch(`${t.url}/api/cisco/lobby/text`, {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(401);
    const r = await t.api<{ error: { code: string } }>('POST', '/api/cisco/lobby/execute', {
      uris: ['Key:Services', 'Key:Services', 'Key:Services', 'Key:Services'],
    });
    expect(r.status).toBe(400);
    const missing = await t.api<{ error: { code: string } }>('POST', '/api/cisco/nope/text', { text: 'x' });
    expect(missing.body.error.code).toBe('DEVICE_NOT_FOUND');
  });

  it('charset from the phone headers', () => {
    expect(phoneCharset({ 'x-ciscoipphonemodelname': 'CP-7940G' })).toBe('iso-8859-1');
    expect(phoneCharset({ 'x-ciscoipphonemodelname': 'CP-8845' })).toBe('utf-8');
    expect(phoneCharset({ 'accept-charset': 'iso-8859-1, utf-8;q=0.8' })).toBe('iso-8859-1');
    expect(phoneCharset({ 'accept-charset': 'utf-8,iso-8859-1;q=0.8' })).toBe('utf-8');
    expect(phoneCharset({ 'accept-charset': 'utf-8;q=0, iso-8859-1' })).toBe('iso-8859-1');
    expect(phoneCharset({})).toBe('utf-8');
  });
});
