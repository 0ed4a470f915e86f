/**
 * SMDR captures written for these tests (not copied from anywhere): a morning on a fictitious site's IP500 V2
 * (node 192.168.42.3, numbers from the UK drama range 01632 960xxx and 203.0.113.0/24), covering the shapes
 * real deployments produce: 35-field R11+ records, a 30-field R10 record, a 17-field legacy record, a SIP
 * caller written `number@ip`, a `?`-prefixed CLI, a transfer to voicemail whose records arrive out of order,
 * non-ASCII names, a 911 call, and a record with two fields from a later release.
 */
const tail35 = (a: string, b: string, recorded: string) =>
  `0,,,0.00,,0.00,0,0,0.00,0.00,,,,192.168.42.3,${a},192.168.42.3,${b},${recorded}`;

export const CAPTURE_LINES = [
  // inbound external, answered at 4010 after 6 s, 2 min 31 s talk
  `2026/11/30 08:14:05,00:02:31,6,01632960123,I,4010,4010,,0,1004217,0,E4010,Grace Hopper,T9003,LINE 3.1,0,0,${tail35('9012', '9013', '2026/11/30 08:16:42')}`,
  // internal call, names with accents and a CJK name
  `2026/11/30 08:20:11,00:00:44,3,4012,O,4015,4015,,1,1004219,0,E4012,Zoë Müller,E4015,山田 太郎,0,0,${tail35('9020', '9021', '2026/11/30 08:20:58')}`,
  // transfer to voicemail, written out of order: the voicemail segment (continuation 0) comes first
  `2026/11/30 08:31:02,00:00:19,0,01632960555,I,4020,4020,,0,1004221,0,V9504,VM Channel 4,T9002,LINE 2.2,0,0,${tail35('9030', '9031', '2026/11/30 08:32:10')}`,
  `2026/11/30 08:31:02,00:00:31,9,01632960555,I,4020,4020,,0,1004221,1,E4020,Jörg Åström,T9002,LINE 2.2,8,0,${tail35('9030', '9032', '2026/11/30 08:31:50')}`,
  // SIP trunk caller written number@ip, and a ?-prefixed CLI
  `2026/11/30 08:40:00,00:01:05,4,01632960777@203.0.113.7,I,4010,4010,,0,1004222,0,E4010,Grace Hopper,T9101,SIP Line 1.4,0,0,${tail35('9040', '9041', '2026/11/30 08:41:09')}`,
  `2026/11/30 08:42:30,00:00:00,12,?01632960888,I,4011,4011,,0,1004223,0,E4011,Linus Ng,T9003,LINE 3.2,0,0,${tail35('9050', '', '2026/11/30 08:42:42')}`,
  // a 911 call from 4021 over the PRI, 45 s connected
  `2026/11/30 09:01:12,00:00:45,2,4021,O,911,911,,0,1004224,0,E4021,Ana López,T9001,LINE 1.1,0,0,${tail35('9060', '9061', '2026/11/30 09:01:59')}`,
  // R10: 30 fields, outbound with an account code and an auth code
  '2026/11/30 09:05:40,00:03:10,7,4012,O,901632960999,901632960999,PRJ-17,0,1004225,0,E4012,Zoë Müller,T9004,LINE 4.1,0,0,1,7788,4012,0.35,GBP,0.35,5,5,0.07,0.00,,,',
  // legacy 17-field record (park and hold times)
  '2026/11/30 09:10:00,00:00:30,5,4015,O,4010,4010,,1,1004226,0,E4015,山田 太郎,E4010,Grace Hopper,12,20',
  // a later release's record: two trailing fields this codec does not know yet
  `2026/11/30 09:12:00,00:00:05,1,4010,O,4011,4011,,1,1004227,0,E4010,Grace Hopper,E4011,Linus Ng,0,0,${tail35('9070', '9071', '2026/11/30 09:12:06')},X-NEW,42`,
];

/** The capture as a collector writes it: a header, CRLF line ends, no line end after the last record. */
export function captureFile(): Buffer {
  const header = SMDR_HEADER;
  return Buffer.from([header, ...CAPTURE_LINES].join('\r\n'), 'utf8');
}

export const SMDR_HEADER =
  'Call Start,Connected Time,Ring Time,Caller,Direction,Called Number,Dialled Number,Account,Is Internal,Call ID,Continuation,Party1Device,Party1Name,Party2Device,Party2Name,Hold Time,Park Time';
