import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeEventRecords } from '../../src/drivers/ipoffice/event-records.js';
import { encodeFrame, FrameDecoder, frameHeader } from '../../src/drivers/ipoffice/frame.js';
import {
  authInfo,
  cmExtnExtendedTuple,
  decodePacket,
  encodePacket,
  type Packet,
  Result,
  resultName,
  sha1ChallengeResponse,
  TupleCode,
  unicodeTuple,
  utf8Tuple,
} from '../../src/drivers/ipoffice/packets.js';
import {
  type Delta3CallLost,
  type Delta3Detail,
  encodeDetail,
  parseDelta2,
  parseDelta3,
  parseSipTrack,
} from '../../src/drivers/ipoffice/records.js';
import { SEED_ANSWERED, SEED_DIAL_TONE, SEED_HANG_UP, SEED_INCOMING_ISDN } from './fixtures/seed-records.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('frames (seed §3, §6.6.1)', () => {
  it('uses the 2-octet form while N+3 <= 0x7FFF and counts the header', () => {
    expect(hex(frameHeader(0))).toBe('490003');
    expect(hex(frameHeader(8))).toBe('49000b');
    expect(hex(frameHeader(0x7ffc))).toBe('497fff');
  });
  it('uses the 3-octet form exactly as the seed C code (len+4, top bit set)', () => {
    // N = 0x7FFD: N+3 = 0x8000 > 0x7FFF, so len = N+4 = 0x8001 -> 81 00 01
    expect(hex(frameHeader(0x7ffd))).toBe('49810001');
    // N = 0x8000: len = 0x8004 -> b1 = (0x8004>>15)|0x80 = 0x81, b2 = (0x8004>>8)&0x7f = 0x00, b3 = 0x04
    expect(hex(frameHeader(0x8000))).toBe('49810004');
    // N = 100000: len = 100004 = 0x186A4 -> b1 = 0x83, b2 = 0x06, b3 = 0xA4
    expect(hex(frameHeader(100000))).toBe('498306a4');
  });
  it('decodes both forms, split and coalesced', () => {
    const small = Buffer.from('00112233', 'hex');
    const big = Buffer.alloc(0x8000, 7);
    const stream = Buffer.concat([encodeFrame(small), encodeFrame(big), encodeFrame(small)]);
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 1000) out.push(...d.push(stream.subarray(i, i + 1000)));
    expect(out.map((b) => b.length)).toEqual([4, 0x8000, 4]);
    expect(out[1]!.equals(big)).toBe(true);
    expect(d.pending).toBe(0);
  });
  it('refuses a bad discriminator and an impossible length with typed errors', () => {
    expect(() => new FrameDecoder().push(Buffer.from('4a0003', 'hex'))).toThrow(
      expect.objectContaining({ code: 'DEVLINK3_BAD_FRAME' }),
    );
    expect(() => new FrameDecoder().push(Buffer.from('490002', 'hex'))).toThrow(
      expect.objectContaining({ code: 'DEVLINK3_BAD_FRAME' }),
    );
    expect(() => new FrameDecoder({ maxFrame: 100 }).push(Buffer.from('490100', 'hex'))).toThrow(
      expect.objectContaining({ code: 'DEVLINK3_FRAME_TOO_LARGE' }),
    );
  });
});

describe('packets (seed §6)', () => {
  const cases: Array<[string, Packet, string]> = [
    [
      'Test',
      { type: 'test', requestId: 0x01020304, payload: Buffer.from('hi') },
      '002a0001' + '01020304' + '00000002' + '6869',
    ],
    [
      'TestR',
      { type: 'testResponse', requestId: 0x01020304, result: 0, payload: Buffer.from('hi') },
      '802a0001' + '01020304' + '00000000' + '00000002' + '6869',
    ],
    [
      'Authenticate request with application name tuple',
      {
        type: 'authRequest',
        requestId: 7,
        username: 'dl3',
        tuples: [utf8Tuple(TupleCode.ApplicationName, 'SB')],
      },
      '00300001' + '00000007' + '00000001' + '646c3300' + '007e0001' + '0003' + '534200',
    ],
    [
      'SHA1 challenge',
      { type: 'authChallenge', requestId: 7, challenge: Buffer.alloc(16, 0xab) },
      '80300001' + '00000007' + '00000002' + '00000010' + 'ab'.repeat(16),
    ],
    ['PLAIN challenge', { type: 'authPlainChallenge', requestId: 7 }, '80300001' + '00000007' + '00000001'],
    [
      'challenge response',
      { type: 'authChallengeResponse', requestId: 8, response: Buffer.alloc(20, 1) },
      '00300001' + '00000008' + '00000050' + '00000014' + '01'.repeat(20),
    ],
    [
      'plain response',
      { type: 'authPlainResponse', requestId: 8, password: Buffer.alloc(32, 0) },
      '00300001' + '00000008' + '00000051' + '00000020' + '00'.repeat(32),
    ],
    [
      'authentication result with tuples',
      {
        type: 'authResult',
        requestId: 8,
        result: 0,
        tuples: [utf8Tuple(TupleCode.PbxTypeVersion, 'IPO'), utf8Tuple(TupleCode.DevlinkVariant, 'S1')],
      },
      '80300001' +
        '00000008' +
        '00000000' +
        '007d0001' +
        '0004' +
        '49504f00' +
        '007d0002' +
        '0003' +
        '533100',
    ],
    [
      'authentication failed',
      { type: 'authResult', requestId: 8, result: Result.AUTHENTICATION_FAILED, tuples: [] },
      '80300001' + '00000008' + '80000041',
    ],
    [
      'event request',
      { type: 'eventRequest', requestId: 9, flags: '-SCN -CMExtn' },
      '00300011' + '00000009' + '000d' + Buffer.from('-SCN -CMExtn\0').toString('hex'),
    ],
    [
      'event response (partial success)',
      { type: 'eventResponse', requestId: 9, result: Result.PARTIAL_SUCCESS, flags: '-CMExtn' },
      '80300011' + '00000009' + '00000009' + '0008' + Buffer.from('-CMExtn\0').toString('hex'),
    ],
    [
      'event',
      { type: 'event', pbxIp: '192.168.42.3', counter: 5, tuples: [utf8Tuple(TupleCode.CallDelta3, '<X/>')] },
      '10300011' + 'c0a82a03' + '00000005' + '00760001' + '0005' + '3c582f3e00',
    ],
    [
      'read file',
      { type: 'readFile', requestId: 10, filename: 'nasystem/user_list' },
      '00300041' + '0000000a' + '0013' + Buffer.from('nasystem/user_list\0').toString('hex'),
    ],
    [
      'read file response',
      { type: 'readFileResponse', requestId: 10, result: 0, contents: Buffer.from('a,b\r\n') },
      '80300041' + '0000000a' + '00000000' + '612c620d0a',
    ],
  ];
  for (const [name, p, bytes] of cases) {
    it(`${name}: golden bytes and round trip`, () => {
      const payload = encodePacket(p);
      expect(hex(payload)).toBe(bytes);
      const framed = encodeFrame(payload);
      expect(framed[0]).toBe(0x49);
      expect(framed.readUInt16BE(1)).toBe(payload.length + 3);
      expect(decodePacket(payload)).toEqual(p);
    });
  }
  it('names every result code of the seed', () => {
    expect(resultName(0x80000041)).toBe('AUTHENTICATION_FAILED');
    expect(resultName(0x80000042)).toBe('LIMITS_EXCEEDED');
    expect(resultName(0x80000043)).toBe('RETRY_LATER');
    expect(resultName(0x80000044)).toBe('LICENCE_MISSING');
    expect(resultName(9)).toBe('PARTIAL_SUCCESS');
    expect(resultName(0x80000021)).toBe('UNKNOWN_FLAG');
    expect(resultName(0x80000022)).toBe('INSUFFICIENT_LICENCE');
    expect(resultName(0x80000023)).toBe('FEATURE_NOT_AVAILABLE');
    expect(resultName(0x80000001)).toBe('PAYLOAD_TOO_LONG');
    expect(resultName(0x80000002)).toBe('STREAM_INTEGRITY_LOST');
    expect(resultName(0x80000003)).toBe('STREAM_AUTHENTICATION_FAILED');
    expect(resultName(0x12345678)).toBe('0x12345678');
  });
  it('tolerates a wrong flags length in the event request (Avaya sample bug): reads to the NUL', () => {
    const p = Buffer.concat([Buffer.from('00300011000000090005', 'hex'), Buffer.from('-SIPTrack\0')]);
    expect(decodePacket(p)).toEqual({ type: 'eventRequest', requestId: 9, flags: '-SIPTrack' });
  });
  it('parses the auth result tuples', () => {
    expect(
      authInfo([
        utf8Tuple(TupleCode.PbxTypeVersion, 'Avaya IP500v2 10.0.2345.67894'),
        utf8Tuple(TupleCode.DevlinkVariant, 'Standard 1.0'),
      ]),
    ).toEqual({ pbxType: 'Avaya IP500v2 10.0.2345.67894', variant: 'Standard 1.0' });
  });
});

describe('SHA1 challenge response (seed §6.2.3)', () => {
  it('hashes challenge(16) ‖ password zero-padded to 16 octets', () => {
    const challenge = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    const input = Buffer.concat([challenge, Buffer.from('secret'), Buffer.alloc(10)]);
    expect(input.length).toBe(32);
    const expected = createHash('sha1').update(input).digest('hex');
    expect(hex(sha1ChallengeResponse(challenge, 'secret'))).toBe(expected);
    // fixed vector (computed once with `printf` + `openssl sha1`, see docs/ipoffice.md)
    expect(expected).toBe(FIXED_SHA1);
  });
  it('truncates a password longer than 16 UTF-8 octets', () => {
    const challenge = Buffer.alloc(16, 0x5a);
    expect(sha1ChallengeResponse(challenge, 'abcdefghijklmnopXYZ')).toEqual(
      sha1ChallengeResponse(challenge, 'abcdefghijklmnop'),
    );
    // multi-byte characters count in octets: 'é' is 2 octets, so 8 of them fill 16 octets
    expect(sha1ChallengeResponse(challenge, 'éééééééé')).toEqual(
      sha1ChallengeResponse(challenge, 'ééééééééé'),
    );
  });
});
const FIXED_SHA1 = 'add1e5c55e9a133efc7337fb271e91b372eb55a4';

describe('seed example records (§6.7.1), field by field', () => {
  it('dial tone', () => {
    const r = parseDelta3(SEED_DIAL_TONE) as Delta3Detail;
    expect(r.type).toBe('Detail');
    expect(r.call).toMatchObject({
      nodeId: 'c0a82a03',
      callId: 1,
      accountCode: '',
      authCode: '',
      tag: '',
      transferCause: undefined,
      ownerHuntGroup: '0',
      originalHuntGroup: '',
      originalUser: '',
      currentHuntGroup: '',
      currentUser: '',
      voicemailLeaving: undefined,
      extra: [],
    });
    const a = r.partyA;
    expect(a).toMatchObject({
      endId: 'c0a82a03000003ea',
      direction: 1,
      state: 7,
      stateName: 'Dialling',
      audioPath: 1,
      tone: 3,
      toneName: 'dialtone',
      remote: 0,
      publicLine: 0,
      flags: 0,
      emergencyLocation: 1,
      equipmentClass: 8,
      equipmentClassName: 'TDMPhone',
      equipmentType: 106,
      description: '',
      identity: '4001',
      calledType: 0,
      calledTypeName: 'Unspecified',
      calledReason: 0,
      did: '',
      dialled: '',
      onBehalf: '',
      targetNumber: '',
      targetSubaddr: '',
      purpose: '4001',
      cli: '100',
      cliPresentation: undefined,
      callingName: '',
      relatedEndId: '',
    });
    expect(a.flagBits).toEqual({
      privacy: false,
      autoAnswered: false,
      autoRecorded: false,
      consentAnswered: false,
      consentRefused: false,
    });
    expect(r.partyB).toBeUndefined();
    expect(r.targets).toEqual([]);
  });
  it('incoming ISDN call to hunt group 200 ringing three phones', () => {
    const r = parseDelta3(SEED_INCOMING_ISDN) as Delta3Detail;
    expect(r.call).toMatchObject({
      nodeId: 'c0a82a03',
      callId: 3,
      ownerHuntGroup: '0',
      originalUser: '200',
      currentUser: '200',
    });
    expect(r.partyA).toMatchObject({
      endId: '0a82a0300002329', // 15 characters in the seed (typo there), kept verbatim
      direction: 1,
      state: 19,
      stateName: 'Ringback',
      audioPath: 1,
      tone: 2,
      toneName: 'ringback',
      remote: 0,
      publicLine: 1,
      flags: 0,
      emergencyLocation: 0,
      equipmentClass: 2,
      equipmentClassName: 'ISDNTrunk',
      equipmentType: 2,
      description: '5.23',
      identity: '',
      calledType: 0,
      calledReason: 0,
      did: '5678',
      purpose: '',
      cli: '01707123456', // the seed wraps this number over two lines
      cliPresentation: 100,
      cliPresentationName: 'Unspecified',
    });
    expect(r.targets).toHaveLength(3);
    expect(r.targets.map((t) => [t.endId, t.identity])).toEqual([
      ['c0a82a03000003fe', '4002'],
      ['c0a82a03000003ff', '4003'],
      ['c0a82a0300000407', '4001'],
    ]);
    expect(r.targets[0]).toMatchObject({
      remote: 0,
      publicLine: 0,
      equipmentClass: 8,
      equipmentType: 106,
      description: '',
      identity: '4002',
      calledType: 0,
      calledReason: 4,
      targetNumber: '',
      targetSubaddr: '',
      purpose: '200',
      cli: '901707123456',
      cliPresentation: 100,
    });
  });
  it('answered by 4001', () => {
    const r = parseDelta3(SEED_ANSWERED) as Delta3Detail;
    expect(r.call).toMatchObject({
      nodeId: 'c0a82a03',
      callId: 4,
      transferCause: 0,
      originalHuntGroup: '200',
      currentHuntGroup: '200',
    });
    expect(r.partyA).toMatchObject({
      endId: 'c0a82a030000232a',
      state: 2,
      stateName: 'Connected',
      description: '5.23',
      did: '5678',
    });
    // The seed's answered record has one empty field fewer than the incoming one: positions are kept literal.
    expect(r.partyA.purpose).toBe('01707123456');
    expect(r.partyA.cli).toBe('100');
    expect(r.partyB).toMatchObject({
      endId: 'c0a82a0300000413',
      direction: 0,
      state: 2,
      audioPath: 1,
      emergencyLocation: 1,
      equipmentClass: 8,
      identity: '4001',
      calledReason: 4,
      purpose: '901707123456',
    });
    expect(r.partyB!.targetSubaddr).toBe('200');
  });
  it('hang up (CallLost without timestamp)', () => {
    const r = parseDelta3(SEED_HANG_UP) as Delta3CallLost;
    expect(r).toEqual({
      type: 'CallLost',
      nodeId: 'c0a82a03',
      endId: 'c0a82a0300000413',
      clearedInbound: 1,
      cause: 16,
      causeName: 'Normal',
      timestamp: undefined,
      extra: [],
    });
  });
  it('LinkLost and AttemptReject with every field', () => {
    expect(parseDelta3('<LinkLost>c0a82a03,c0a82a0300000413,0,126,12345,5.23</LinkLost>')).toMatchObject({
      type: 'LinkLost',
      clearedInbound: 0,
      cause: 126,
      causeName: 'Transfer',
      timestamp: 12345,
      linkLocalReference: '5.23',
    });
    expect(parseDelta3('<AttemptReject>c0a82a03,c0a82a03000003fe,4002,"dnd",777</AttemptReject>')).toEqual({
      type: 'AttemptReject',
      nodeId: 'c0a82a03',
      endId: 'c0a82a03000003fe',
      user: '4002',
      qualifier: 'dnd',
      timestamp: 777,
      extra: [],
    });
  });
  it('quoted names keep commas, entities are decoded, flags bits decoded, round trip through the encoder', () => {
    const xml = encodeDetail({
      call: { nodeId: 'c0a82a03', callId: 9, transferredOutOfIvr: 'IVR, main' },
      partyA: {
        endId: 'c0a82a0300000001',
        direction: 1,
        state: 2,
        flags: 0x15,
        equipmentClass: 10,
        identity: '201',
        callingName: 'Smith, "Jo" & Co <x>',
        relatedEndId: 'c0a82a0300000002',
      },
    });
    const r = parseDelta3(xml) as Delta3Detail;
    expect(r.call.transferredOutOfIvr).toBe('IVR, main');
    expect(r.partyA.callingName).toBe('Smith, "Jo" & Co <x>');
    expect(r.partyA.relatedEndId).toBe('c0a82a0300000002');
    expect(r.partyA.flagBits).toEqual({
      privacy: true,
      autoAnswered: false,
      autoRecorded: true,
      consentAnswered: true,
      consentRefused: false,
    });
  });
  it('rejects malformed records with the typed error', () => {
    for (const bad of [
      '',
      '<Detail>',
      '<Foo>1</Foo>',
      '<Detail><PartyA>x</PartyA></Detail>',
      '<CallLost>n,e,x,16</CallLost>',
      '<CallLost>a,"b</CallLost>',
    ]) {
      expect(() => parseDelta3(bad)).toThrow(expect.objectContaining({ code: 'DEVLINK3_BAD_RECORD' }));
    }
  });
});

describe('Delta2, SIPTrack and CMExtn tuples', () => {
  it('accepts CALL: S and CALL:S and names all 50 fields', () => {
    const line =
      'CALL: S 17.1003.1,8.1005.1,2,1,1,0,0,0,Line 5,John Smith (4001),4001;4002;4003,5.23,8.1,0.0,5678,0.1,01707123456,,,0,,0,,1,16';
    for (const l of [line, line.replace('CALL: S ', 'CALL:S')]) {
      const r = parseDelta2(l);
      if (r.type !== 'S') throw new Error('expected S');
      expect(r.fields.aCallId).toBe('17.1003.1');
      expect(r.fields.aName).toBe('Line 5');
      expect(r.fields.bName).toBe('John Smith (4001)');
      expect(r.targets).toEqual(['4001', '4002', '4003']);
      expect(r.aStateName).toBe('Connected');
      expect(r.bStateName).toBe('Ringing');
      expect(r.cause).toBe(16);
      expect(r.fields.callId).toBe('');
    }
    expect(parseDelta2('CALL:D 1.2.3,4.5.6,77')).toEqual({
      type: 'D',
      aCallId: '1.2.3',
      bCallId: '4.5.6',
      callId: 77,
    });
    expect(() => parseDelta2('HELLO')).toThrow(expect.objectContaining({ code: 'DEVLINK3_BAD_RECORD' }));
  });
  it('decodes UTF-16BE tuples, the -TEXT form, the CMExtn extended form and the CD2 container prefix', () => {
    const sip = 'START,c0a82a1f000003eb,17.1003.1,TRUNK,IN,0f5757c5c504c74197be9699697eab8d';
    const ev = (tuples: Array<{ code: number; data: Buffer }>) => ({
      type: 'event' as const,
      pbxIp: '1.2.3.4',
      counter: 1,
      tuples,
    });
    const recs = decodeEventRecords(
      ev([
        unicodeTuple(TupleCode.SipTrack, sip),
        unicodeTuple(TupleCode.CmExtn, 'Extn4001: CALL LOST (CMCauseForcedIdle)'),
        cmExtnExtendedTuple(1, 2, 0, 'Extn865001'),
        unicodeTuple(TupleCode.CallDelta2, 'CALL: D a,b,5'),
        { code: 0x12345678, data: Buffer.from('zz') },
      ]),
    );
    expect(recs[0]).toMatchObject({ kind: 'siptrack', record: parseSipTrack(sip) });
    expect(parseSipTrack(sip)).toEqual({
      event: 'START',
      sepId: 'c0a82a1f000003eb',
      endId: '17.1003.1',
      sipType: 'TRUNK',
      direction: 'IN',
      sipCallId: '0f5757c5c504c74197be9699697eab8d',
    });
    expect(recs[1]).toMatchObject({
      kind: 'cmextn',
      record: { form: 'text', extension: '4001', message: 'CALL LOST (CMCauseForcedIdle)' },
    });
    expect(recs[2]).toMatchObject({
      kind: 'cmextn',
      record: { form: 'extended', v: 1, p1: 2, p2: 0, text: 'Extn865001', extension: '865001' },
    });
    expect(cmExtnExtendedTuple(1, 2, 0, 'Extn865001').data.length).toBe(('Extn865001'.length + 1) * 2 + 12);
    expect(recs[3]).toMatchObject({ kind: 'delta2', record: { type: 'D', callId: 5 } });
    expect(recs[4]).toMatchObject({ kind: 'unknown', code: 0x12345678 });
    const text = decodeEventRecords(ev([utf8Tuple(TupleCode.CallDelta2, 'CALL:S a,b,1')]), { text: true });
    expect(text[0]).toMatchObject({ kind: 'delta2', record: { type: 'S', aState: 1 } });
    // seed §6.5.1.2 layout: 0x00760001 then 0x00760002 + length + data
    const cd2 = unicodeTuple(TupleCode.CallDelta2, 'CALL: D x,y,3');
    const payload = encodePacket({ type: 'event', pbxIp: '10.0.0.1', counter: 2, tuples: [] });
    const withPrefix = Buffer.concat([
      payload,
      Buffer.from('00760001', 'hex'),
      Buffer.from('00760002', 'hex'),
      Buffer.from([0, cd2.data.length]),
      cd2.data,
    ]);
    const p = decodePacket(withPrefix);
    if (p.type !== 'event') throw new Error('expected event');
    expect(decodeEventRecords(p)[0]).toMatchObject({ kind: 'delta2', record: { type: 'D', callId: 3 } });
  });
  it('a bad record inside an event is reported, not thrown', () => {
    const recs = decodeEventRecords({
      type: 'event',
      pbxIp: '1.2.3.4',
      counter: 1,
      tuples: [utf8Tuple(TupleCode.CallDelta3, '<Nope>')],
    });
    expect(recs[0]).toMatchObject({ kind: 'invalid', error: { code: 'DEVLINK3_BAD_RECORD' } });
  });
});
