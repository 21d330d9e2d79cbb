// A delta record, as createDelta writes it and applyDelta reads it: a size frame
// [0xfffffffe][u32 16][u64 size][u64 the delta's own length], then DSA create-delta entries
// ({u16 word index, 8 data bytes}) per 512 KiB window (the most one CR_DELTA descriptor
// compares), framed as [u32 window][u32 entry bytes][entries], and a tail frame
// [0xffffffff][u32 n][bytes] for the last size mod 8 bytes when they differ. (The size: a
// destination of another size took the tail at its own end, 8·k bytes off, silently. The
// length: a delta cut short where a frame ends was applied in part, silently.) And the same
// entries made and applied on this thread, for buffers no engine reaches.
import { newBytes, rangeComparer } from '../device/host.ts';
import { DeltaEntry } from '../device/format.ts';
import { isSliced, type Pace, pacing } from './slices.ts';

/** A window's create-delta entries ({u16 word index, b's 8 bytes} per differing word of a and b), made here (a view: framed() copies it). */
export function deltaInline(a: Uint8Array, b: Uint8Array): Uint8Array {
  const words = a.byteLength >>> 3;
  // (words read and written 4 bytes at a time, and room grown as entries come: a number[] grown
  // entry by entry, a byte at a time, took 9 s for 64 MiB whose words all differ)
  const da = new DataView(a.buffer, a.byteOffset, a.byteLength);
  const db = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let out = new Uint8Array(0);
  let dv = new DataView(out.buffer);
  let at = 0;
  const cmp = rangeComparer(a, b);
  const CHUNK = 4096; // a multiple of 8
  for (let w = 0; w + 8 <= a.byteLength; w += 8) {
    if (w % CHUNK === 0) {
      const e = Math.min(words << 3, w + CHUNK);
      if (cmp(w, e) === 0) {
        w = e - 8;
        continue;
      }
    }
    const lo = db.getUint32(w, true);
    const hi = db.getUint32(w + 4, true);
    if (da.getUint32(w, true) === lo && da.getUint32(w + 4, true) === hi) continue;
    if (at + DeltaEntry.SIZE > out.byteLength) {
      const more = new Uint8Array(Math.min(words * DeltaEntry.SIZE, Math.max(1024, out.byteLength * 4)));
      more.set(out);
      out = more;
      dv = new DataView(out.buffer);
    }
    dv.setUint16(at, w >>> 3, true);
    dv.setUint32(at + DeltaEntry.DATA, lo, true);
    dv.setUint32(at + DeltaEntry.DATA + 4, hi, true);
    at += DeltaEntry.SIZE;
  }
  return out.subarray(0, at);
}

export function applyInline(dst: Uint8Array, entries: Uint8Array): void {
  for (let e = 0; e + DeltaEntry.SIZE <= entries.byteLength; e += DeltaEntry.SIZE) {
    const i = entries[e] | (entries[e + 1] << 8);
    dst.set(entries.subarray(e + DeltaEntry.DATA, e + DeltaEntry.SIZE), i * 8);
  }
}

/** The frames of a delta that are not a window's (see createDelta): the buffers' size, and their last size mod 8 bytes. */
const SIZE_FRAME = 0xfffffffe;
export const TAIL_FRAME = 0xffffffff;

/** A size frame's bytes: its header, the buffers' size and the delta's length (an 8-byte body, the size alone, was an earlier version's). */
const SIZE_FRAME_BYTES = 24;

/**
 * A delta's window frames ([window, body's start, end] in rec), their headers checked before
 * anything is written: the size frame first, then window frames in increasing order, none empty,
 * and the tail frame last, as createDelta writes them (a delta reordered, with a window twice, or
 * with frames after its tail, its length set to match, was applied as it came). Their entries
 * are checked by checkEntries, also before anything is written.
 */
export function parseFrames(rec: Uint8Array, size: number): Array<[number, number, number]> {
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const out: Array<[number, number, number]> = [];
  const windows = Math.ceil((size - (size % 8)) / DeltaEntry.MAX_SOURCE);
  // (a delta begins with its size frame, which createDelta always writes: an empty one is no delta)
  if (rec.byteLength < 8 || dv.getUint32(0, true) !== SIZE_FRAME) throw new RangeError(`delta: ${rec.byteLength === 0 ? 'empty' : 'no size frame first'} (a delta from createDelta begins with one: at least ${SIZE_FRAME_BYTES} bytes)`);
  const first = dv.getUint32(4, true);
  // (an 8-byte size frame, the size alone, was written before the length was: it has nothing to check a cut delta by)
  if (first !== 16) throw new RangeError(`delta: a size frame of ${first} bytes (16 expected${first === 8 ? ': an 8-byte one, from an earlier softdsa, carries no length to check the delta by; make it again' : ''})`);
  if (rec.byteLength < SIZE_FRAME_BYTES) throw new RangeError('delta: truncated frame');
  const made = Number(dv.getBigUint64(8, true));
  if (made !== size) throw new RangeError(`applyDelta: the delta was made from ${made}-byte buffers; dst has ${size} bytes`);
  const whole = Number(dv.getBigUint64(16, true));
  if (whole !== rec.byteLength) throw new RangeError(`delta: ${rec.byteLength} bytes of a ${whole}-byte delta (${whole > rec.byteLength ? 'cut short' : 'with bytes after its end'})`);
  let last = -1; // the last window frame's window
  for (let at = SIZE_FRAME_BYTES; at < rec.byteLength; ) {
    if (at + 8 > rec.byteLength) throw new RangeError('delta: truncated frame header');
    const window = dv.getUint32(at, true);
    const len = dv.getUint32(at + 4, true);
    if (at + 8 + len > rec.byteLength) throw new RangeError('delta: truncated frame');
    if (window === SIZE_FRAME) throw new RangeError(`delta: a second size frame at byte ${at}`);
    if (len === 0) throw new RangeError(`delta: an empty frame for ${window === TAIL_FRAME ? 'the tail' : `window ${window}`} at byte ${at} (createDelta writes none)`);
    if (window === TAIL_FRAME ? len !== size % 8 : window >= windows || len % DeltaEntry.SIZE !== 0) {
      throw new RangeError(`delta: frame for window ${window} (${len} bytes) does not fit a ${size}-byte destination`);
    }
    if (window === TAIL_FRAME && at + 8 + len !== rec.byteLength) throw new RangeError(`delta: frames after the tail frame (at byte ${at}), which comes last`);
    if (window !== TAIL_FRAME && window <= last) throw new RangeError(`delta: frame for window ${window} after window ${last}'s (windows come once each, in order)`);
    if (window !== TAIL_FRAME) last = window;
    out.push([window, at + 8, at + 8 + len]);
    at += 8 + len;
  }
  return out;
}

/**
 * Checks a window frame's entries (parseFrames gives the frame): in increasing order, each a word
 * of the window. Done a frame at a time, with turns of the event loop between frames for a large
 * delta: all of a 160 MiB one in one go held the loop 79-131 ms.
 */
export function checkEntries(rec: Uint8Array, [window, a, b]: readonly [number, number, number], size: number): void {
  if (window === TAIL_FRAME) return;
  const words = Math.min(DeltaEntry.MAX_SOURCE, size - (size % 8) - window * DeltaEntry.MAX_SOURCE) / 8;
  for (let e = a, prev = -1; e < b; e += DeltaEntry.SIZE) {
    const i = rec[e] | (rec[e + 1] << 8);
    if (i <= prev || i >= words) throw new RangeError(`delta: entry ${(e - a) / DeltaEntry.SIZE} of window ${window} (word ${i}) is out of order or past the window`);
    prev = i;
  }
}

/**
 * A delta of n-byte buffers from its frames' windows and bodies (in order, the tail's last): the
 * size frame, then them, written once; a frame at a time, awaiting `pace` between them, or a pace
 * of its own for a large delta (a 160 MiB delta written in one go held the event loop 97-169 ms).
 */
export async function framed(n: number, frames: ReadonlyArray<readonly [number, Uint8Array]>, given: Pace | null): Promise<Uint8Array> {
  const bytes = frames.reduce((sum, [, body]) => sum + 8 + body.byteLength, SIZE_FRAME_BYTES);
  const pace = given ?? (isSliced(bytes) ? pacing() : null);
  // (a Buffer in Node, as the other calls' results are; a pooled one may start inside its ArrayBuffer)
  const out = newBytes(bytes);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint32(0, SIZE_FRAME, true);
  dv.setUint32(4, 16, true);
  dv.setBigUint64(8, BigInt(n), true);
  dv.setBigUint64(16, BigInt(bytes), true);
  let at = SIZE_FRAME_BYTES;
  for (const [window, body] of frames) {
    dv.setUint32(at, window, true);
    dv.setUint32(at + 4, body.byteLength, true);
    out.set(body, at + 8);
    at += 8 + body.byteLength;
    await pace?.(body.byteLength);
  }
  return out;
}
