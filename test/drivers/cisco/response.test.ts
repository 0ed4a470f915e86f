import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SwitchboardError } from '../../../src/core/errors.js';
import { resultFromAnswer } from '../../../src/drivers/cisco/driver.js';
import {
  buildInfoHtml,
  buildInfoXml,
  parseInfoHtml,
  parseInfoXml,
  toDeviceInformation,
  toNetworkConfiguration,
  toStreamingStatistics,
} from '../../../src/drivers/cisco/info.js';
import {
  buildApplicationEvent,
  buildDeviceCapsResponse,
  buildMediaEvent,
  buildResponse,
  parseApplicationEvent,
  parseExecuteAnswer,
  parseMediaEvent,
  prtStatusFrom,
} from '../../../src/drivers/cisco/response.js';

describe('CiscoIPPhoneResponse / CiscoIPPhoneError (seed Feedbacks)', () => {
  it('builds the seed shape byte for byte and parses it back', () => {
    const xml = buildResponse([{ status: 0, data: 'Success', url: 'Key:Services' }]);
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<CiscoIPPhoneResponse>\n<ResponseItem Status="0" Data="Success" URL="Key:Services"/>\n</CiscoIPPhoneResponse>\n',
    );
    expect(parseExecuteAnswer(xml)).toEqual({
      kind: 'response',
      items: [{ status: 0, data: 'Success', url: 'Key:Services' }],
    });
  });
  it('reads CiscoIPPhoneError 1-4 with their meanings', () => {
    const meanings = [
      'Error parsing CiscoIPPhoneExecute object',
      'Error framing CiscoIPPhoneResponse object',
      'Internal file error',
      'Authentication error',
    ];
    for (const n of [1, 2, 3, 4]) {
      const a = parseExecuteAnswer(`<CiscoIPPhoneError Number="${n}"/>`);
      expect(a).toEqual({ kind: 'error', number: n, meaning: meanings[n - 1] });
      const r = resultFromAnswer(a);
      expect(r).toMatchObject({ ok: false, outcome: `CISCO_ERROR_${n}` });
      expect(r.message).toContain(meanings[n - 1]);
    }
    expect(parseExecuteAnswer('<CiscoIPPhoneError Number="6" />')).toMatchObject({
      number: 6,
      meaning: 'undocumented error 6',
    });
  });
  it('maps statuses per URI family (Status 6 data, PRT outcomes)', () => {
    const r = resultFromAnswer({
      kind: 'response',
      items: [{ status: 6, data: 'No Active Call', url: 'SendDigits:1:1::' }],
    });
    expect(r).toMatchObject({ ok: false, outcome: 'status_6' });
    expect(r.message).toContain('No Active Call');
    expect(
      resultFromAnswer({
        kind: 'response',
        items: [{ status: 6, data: 'There is pending PRT', url: 'Device:GeneratePRT' }],
      }),
    ).toMatchObject({ ok: true, outcome: 'pending_prt' });
    expect(prtStatusFrom({ status: 0, data: 'Generating PRT', url: 'Device:PRTStatus' })).toEqual({
      state: 'generating',
    });
    expect(
      prtStatusFrom({
        status: 0,
        data: 'Generated PRT at https://10.0.0.5/FS/prt-20260604-033611-00CAFE000001.tar.gz',
        url: 'Device:PRTStatus',
      }),
    ).toEqual({
      state: 'generated',
      url: 'https://10.0.0.5/FS/prt-20260604-033611-00CAFE000001.tar.gz',
    });
    expect(
      prtStatusFrom({ status: 6, data: 'There is no pending PRT invoked from XSI', url: 'Device:PRTStatus' }),
    ).toEqual({ state: 'no_pending' });
  });
  it('getDeviceCapsResponse, mediaStream and phone posts', () => {
    const caps = {
      modelNumber: 'CP-7970',
      display: { width: 298, height: 168, bitDepth: 12, isColor: true },
      sdkVersion: '5.0.3',
      browser: {},
    };
    expect(parseExecuteAnswer(buildDeviceCapsResponse(caps))).toEqual({ kind: 'deviceCaps', caps });
    expect(parseExecuteAnswer('<mediaStream id="abc123"/>')).toEqual({ kind: 'mediaStream', id: 'abc123' });
    expect(parseMediaEvent(buildMediaEvent('abc123'))).toEqual({
      type: 'stopped',
      origin: 'user',
      streamId: 'abc123',
    });
    expect(parseApplicationEvent(buildApplicationEvent('Acme/App & Co', 'focusLost'))).toEqual({
      appId: 'Acme/App & Co',
      type: 'focusLost',
    });
    expect(() => parseApplicationEvent('<notifyApplicationEvent appId="a" type="exploded"/>')).toThrow(
      /type/,
    );
  });
  it('fuzz: any input gives a typed error or a value', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.constantFrom(
            '<CiscoIPPhoneResponse><ResponseItem Status="x"/></CiscoIPPhoneResponse>',
            '<CiscoIPPhoneError/>',
            '<a/>',
          ),
        ),
        (s) => {
          for (const f of [
            parseExecuteAnswer,
            parseApplicationEvent,
            parseMediaEvent,
            (x: string) => parseInfoXml(x),
          ]) {
            try {
              f(s);
            } catch (e) {
              expect(e).toBeInstanceOf(SwitchboardError);
            }
          }
          parseInfoHtml(s);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('information pages', () => {
  it('DeviceInformationX (real CP-7940 field set, ISO-8859-1, localized MessageWaiting) → typed JSON', () => {
    const xml = buildInfoXml(
      'DeviceInformation',
      [
        ['MACAddress', '000123456789'],
        ['HostName', 'SEP000123456789'],
        ['phoneDN', '1000'],
        ['appLoadID', 'P00308000400'],
        ['versionID', '8.0(4.0)'],
        ['addonModule1', ''],
        ['modelNumber', 'CP-7940'],
        ['serialNumber', 'INM0123ABCD'],
        ['MessageWaiting', ' OUI'],
      ],
      'iso-8859-1',
    );
    expect(xml.startsWith('<?xml version="1.0" encoding="ISO-8859-1"?>\n<DeviceInformation>')).toBe(true);
    const d = toDeviceInformation(parseInfoXml(Buffer.from(xml, 'latin1'), 'DeviceInformation'));
    expect(d).toMatchObject({
      macAddress: '000123456789',
      hostName: 'SEP000123456789',
      phoneDN: '1000',
      modelNumber: 'CP-7940',
      messageWaiting: true,
    });
    expect(() => parseInfoXml(xml, 'NetworkConfiguration')).toThrow(/expected <NetworkConfiguration>/);
  });
  it('NetworkConfigurationX and StreamingStatisticsX', () => {
    const n = toNetworkConfiguration(
      parseInfoXml(
        buildInfoXml('NetworkConfiguration', [
          ['IPAddress', '10.0.0.5'],
          ['DHCPEnabled', 'Yes'],
          ['TFTPServer1', '10.0.0.1'],
          ['DNSServer1', '1.1.1.1'],
          ['DNSServer2', '8.8.8.8'],
          ['CallManager1', 'cucm1 Active'],
          ['OperationalVLANId', '100'],
        ]),
      ),
    );
    expect(n).toMatchObject({
      ipAddress: '10.0.0.5',
      dhcpEnabled: true,
      tftpServer1: '10.0.0.1',
      dnsServers: ['1.1.1.1', '8.8.8.8'],
      callManagers: ['cucm1 Active'],
      vlanId: 100,
    });
    const s = toStreamingStatistics(
      parseInfoXml(
        buildInfoXml('StreamingStatistics', [
          ['RcvrPackets', '250'],
          ['RcvrLostPackets', '2'],
          ['StreamStatus', 'Active'],
        ]),
      ),
    );
    expect(s).toMatchObject({ rcvrPackets: 250, rcvrLostPackets: 2, streamStatus: 'Active' });
  });
  it('HTML twins → fields', () => {
    const h = buildInfoHtml('DeviceInformation', 'Device Information', [
      ['Host Name', 'SEP0001 & co'],
      ['Model Number', 'CP-8845'],
    ]);
    expect(parseInfoHtml(h)).toEqual({
      title: 'Device Information',
      fields: { 'Host Name': 'SEP0001 & co', 'Model Number': 'CP-8845' },
    });
  });
});
