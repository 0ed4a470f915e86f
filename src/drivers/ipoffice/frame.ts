import { Devlink3ProtocolError } from './errors.js';

/**
 * DevLink3 framing (seed §3 and §6.6.1): `0x49` discriminator, then the frame length (which counts the
 * header too), then the payload.
 *
 * - 2-octet form: length = N + 3, used while N + 3 <= 0x7FFF.
 * - 3-octet form: length = N + 4, `b1 = (len >> 15) | 0x80`, `b2 = (len >> 8) & 0x7F`, `b3 = len & 0xFF`.
 *   The top bit of b1 tells the forms apart (it can never be set in the 2-octet form).
 */
export const DISCRIMINATOR = 0x49;
/** Largest total frame length the 3-octet form can express (22 bits). */
export const MAX_FRAME_LENGTH = (0x7f << 15) | (0x7f << 8) | 0xff;
/** Default cap for a received frame (a peer-controlled limit). */
export const DEFAULT_MAX_FRAME = 4 * 1024 * 1024;

/** Frame header for a payload of `n` octets (exactly the seed's C code). */
export function frameHeader(n: number): Buffer {
  if (n + 3 > 0x7fff) {
    const len = n + 4;
    if (len > MAX_FRAME_LENGTH) {
      throw new Devlink3ProtocolError(
        'DEVLINK3_FRAME_TOO_LARGE',
        `payload of ${n} octets exceeds the largest DevLink3 frame`,
      );
    }
    return Buffer.from([DISCRIMINATOR, ((len >> 15) & 0x7f) | 0x80, (len >> 8) & 0x7f, len & 0xff]);
  }
  const len = n + 3;
  return Buffer.from([DISCRIMINATOR, (len >> 8) & 0xff, len & 0xff]);
}

/** Wraps a payload in a frame (2- or 3-octet length form as the seed prescribes). */
export function encodeFrame(payload: Uint8Array): Buffer {
  return Buffer.concat([frameHeader(payload.length), payload]);
}

export interface FrameDecoderOptions {
  /** Largest accepted total frame length (default 4 MiB). */
  maxFrame?: number;
}

/**
 * Streaming frame decoder: feed chunks as they come off the socket; complete payloads come out in order.
 * Handles frames split across chunks and many frames per chunk. A bad discriminator or an impossible
 * length throws `DEVLINK3_BAD_FRAME` / `DEVLINK3_FRAME_TOO_LARGE` and poisons the decoder (the stream
 * cannot be resynchronised safely because 0x49 also occurs inside payloads: drop the connection).
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private failed: Devlink3ProtocolError | undefined;
  private readonly maxFrame: number;

  constructor(opts: FrameDecoderOptions = {}) {
    this.maxFrame = Math.min(opts.maxFrame ?? DEFAULT_MAX_FRAME, MAX_FRAME_LENGTH);
  }

  /** Octets buffered waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }

  /** Appends a chunk and returns every complete payload it finished. */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw this.failed;
    this.buf =
      this.buf.length === 0
        ? Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk)
        : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    let off = 0;
    const b = this.buf;
    while (b.length - off >= 3) {
      if (b[off] !== DISCRIMINATOR) {
        this.fail(
          'DEVLINK3_BAD_FRAME',
          `bad frame discriminator 0x${b[off]!.toString(16).padStart(2, '0')} (expected 0x49)`,
        );
      }
      const b1 = b[off + 1]!;
      let total: number;
      let hdr: number;
      if (b1 & 0x80) {
        if (b.length - off < 4) break;
        total = ((b1 & 0x7f) << 15) | ((b[off + 2]! & 0x7f) << 8) | b[off + 3]!;
        hdr = 4;
      } else {
        total = (b1 << 8) | b[off + 2]!;
        hdr = 3;
      }
      if (total < hdr)
        this.fail('DEVLINK3_BAD_FRAME', `impossible frame length ${total} (header alone is ${hdr})`);
      if (total > this.maxFrame) {
        this.fail('DEVLINK3_FRAME_TOO_LARGE', `frame length ${total} exceeds the limit of ${this.maxFrame}`);
      }
      if (b.length - off < total) break;
      // A view, not a copy: `this.buf` is replaced (never written) when the next chunk arrives.
      out.push(b.subarray(off + hdr, off + total));
      off += total;
    }
    this.buf = off === 0 ? b : off === b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(off));
    return out;
  }

  private fail(code: 'DEVLINK3_BAD_FRAME' | 'DEVLINK3_FRAME_TOO_LARGE', msg: string): never {
    this.failed = new Devlink3ProtocolError(code, msg);
    this.buf = Buffer.alloc(0);
    throw this.failed;
  }
}
