import { errorMessage, isSwitchboardError } from '../../core/errors.js';
import { type PacketOf, type Tuple, TupleCode, unicodeText, utf8Text } from './packets.js';
import {
  type CmExtnRecord,
  cmExtnExtension,
  type Delta2Record,
  type Delta3Record,
  parseCmExtnText,
  parseDelta2,
  parseDelta3,
  parseSipTrack,
  type SipTrackRecord,
} from './records.js';

/** One decoded tuple of a Devlink3 Event. Bad records never throw: they come out as `invalid`. */
export type EventRecord =
  | { kind: 'delta3'; text: string; record: Delta3Record }
  | { kind: 'delta2'; text: string; record: Delta2Record }
  | { kind: 'siptrack'; text: string; record: SipTrackRecord }
  | { kind: 'cmextn'; text: string; record: CmExtnRecord }
  | { kind: 'unknown'; code: number; data: Buffer }
  | { kind: 'invalid'; code: number; text: string; error: { code: string; message: string } };

export interface DecodeEventOptions {
  /** `-TEXT` was accepted: CallDelta2 (and the other Unicode tuples) come as UTF-8. */
  text?: boolean;
}

function unicode(t: Tuple, opts: DecodeEventOptions): string {
  return opts.text ? utf8Text(t.data) : unicodeText(t.data);
}

/** Decodes every tuple of an Event packet into records. */
export function decodeEventRecords(p: PacketOf<'event'>, opts: DecodeEventOptions = {}): EventRecord[] {
  return p.tuples.map((t) => decodeTuple(t, opts));
}

export function decodeTuple(t: Tuple, opts: DecodeEventOptions = {}): EventRecord {
  let text = '';
  try {
    switch (t.code) {
      case TupleCode.CallDelta3:
        text = utf8Text(t.data);
        return { kind: 'delta3', text, record: parseDelta3(text) };
      case TupleCode.CallDelta2:
        text = unicode(t, opts);
        return { kind: 'delta2', text, record: parseDelta2(text) };
      case TupleCode.SipTrack:
        text = unicode(t, opts);
        return { kind: 'siptrack', text, record: parseSipTrack(text) };
      case TupleCode.CmExtn: {
        // Extended form: v, p1, p2 (4 octets each) then the string. A text-form string never starts with
        // two zero octets (UTF-16BE of a non-empty string, or UTF-8), a small v always does.
        const d = t.data;
        if (d.length >= 12 && d[0] === 0 && d[1] === 0) {
          const v = d.readUInt32BE(0);
          const p1 = d.readUInt32BE(4);
          const p2 = d.readUInt32BE(8);
          text = opts.text ? utf8Text(d.subarray(12)) : unicodeText(d.subarray(12));
          return {
            kind: 'cmextn',
            text,
            record: { form: 'extended', v, p1, p2, text, extension: cmExtnExtension(text) },
          };
        }
        text = opts.text ? utf8Text(d) : unicodeText(d);
        return { kind: 'cmextn', text, record: parseCmExtnText(text) };
      }
      default:
        return { kind: 'unknown', code: t.code, data: t.data };
    }
  } catch (e) {
    return {
      kind: 'invalid',
      code: t.code,
      text: text.slice(0, 2000),
      error: { code: isSwitchboardError(e) ? e.code : 'DEVLINK3_BAD_RECORD', message: errorMessage(e) },
    };
  }
}
