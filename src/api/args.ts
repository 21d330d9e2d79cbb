// Arguments of the high-level API: any Buffer, TypedArray, DataView or ArrayBuffer (shared
// or not), with optional offset and length in the usual Node style, checked before anything
// runs. A span also says where its bytes live, which decides how an operation runs:
//   arena  - inside this device's arena: descriptors address it directly (zero copy)
//   shared - another SharedArrayBuffer: no descriptor can reach it
//   local  - ordinary memory of this thread: no other thread can reach it
import { argCoded, bytesName, typeName } from '../device/errors.ts';
import { own } from '../device/own.ts';
import { windowOf } from '../device/spaces.ts';
import { isBuffer, isDetached, isPlain, outOfBounds, plainBytes, realLength } from '../device/views.ts';

/** The most descriptors one call puts in flight at once (each is a descriptor and a promise: with
 * maxTransfer 1, an 8 MiB copy built 8 M of them before sending one, and ran out of heap). */
export const MAX_PIECES = 1 << 16;

export type Bytes = ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

export interface Span {
  /** the bytes, as a Uint8Array view */
  u8: Uint8Array;
  /** address of u8[0] in its address space (the arena, or a registered foreign one), else -1 */
  addr: number;
  placement: 'arena' | 'shared' | 'local';
  /** the PASID of its address space: 0 for the arena, > 0 once a shared buffer is registered */
  space: number;
  /** u8's length in bytes when the span was made (a view's getters cost 20-50 ns a read here: read once) */
  readonly n: number;
}

export interface ArenaInfo {
  buffer: SharedArrayBuffer;
  base: number;
  end: number;
  /**
   * arena ranges [from, to) the device keeps for its own use (the calls' descriptor block, the
   * thread's here area): a view made by hand over them (new Uint8Array(buf.buffer, ...)) would
   * have a call read or write the descriptors of other calls
   */
  kept?: ReadonlyArray<readonly [number, number]>;
}

const outside = (name: string): RangeError => new RangeError(`${name} is a view past the end of its ArrayBuffer (a resizable one, shrunk below it): it has no bytes; make a new view of what the buffer holds`);

/** A Uint8Array over the argument's bytes, or a TypeError (RangeError: a view out of its buffer's bounds) naming the argument. */
export function bytesOf(name: string, v: unknown): Uint8Array {
  let u8: Uint8Array | undefined;
  try {
    // (the bytes it really covers: a subclass's getters could say otherwise, views.ts)
    if (ArrayBuffer.isView(v)) u8 = plainBytes(v);
    else if (isBuffer(v)) return new Uint8Array(v);
  } catch (e) {
    if (ArrayBuffer.isView(v) && outOfBounds(v)) throw outside(name);
    // (V8 says "Cannot perform Construct on a detached ArrayBuffer", naming no argument)
    if (e instanceof TypeError && /detached/i.test(e.message)) throw new TypeError(`${name} is a detached ArrayBuffer or a view of one (transferred, or its memory released): it has no bytes`, { cause: e });
    // (V8 says "Invalid typed array length: undefined" of an ArrayBuffer over 4 GiB)
    if (e instanceof RangeError && /typed array length/i.test(e.message)) {
      const n = (v as { byteLength: number }).byteLength;
      throw new RangeError(`${name} has ${n} bytes, more than one Uint8Array can view here; give it in parts (a CRC goes on from the last part's: crc32c(part, crc))`, { cause: e });
    }
    throw e;
  }
  if (u8 !== undefined) {
    if (u8.byteLength === 0 && outOfBounds(v as ArrayBufferView)) throw outside(name);
    return u8;
  }
  throw new TypeError(`${name} must be a Buffer, TypedArray, DataView or ArrayBuffer; got ${bytesName(v)}`);
}

/**
 * u8[from, to) of a call's source (or destination) between its steps (staged a window at a time, with awaits
 * between), or a RangeError when its buffer shrank meanwhile: a resizable ArrayBuffer resized
 * under a call in flight gave stale staging bytes, and a wrong result, with no error.
 */
export function stillThere(u8: Uint8Array, from: number, to: number, what: 'source' | 'destination' | 'delta' | 'a' | 'b' = 'source'): Uint8Array {
  if (realLength(u8) < to) {
    // (a call of two sources names them as its arguments are named)
    const e = new RangeError(`${what === 'a' || what === 'b' ? `the call's ${what} (its ${what === 'a' ? 'first' : 'second'} buffer)` : `the call's ${what}`} ${isDetached(u8.buffer) ? 'was detached (its ArrayBuffer transferred)' : 'shrank (a resizable ArrayBuffer resized under it)'} while the call ran: bytes ${from} to ${to} are gone`);
    throw Object.assign(e, { code: 'BUFFER_GONE' });
  }
  return u8.subarray(from, to);
}

/** stillThere's error, said as the call `op`'s (its slices do not know which call they are). */
export function goneFrom(op: string, e: unknown): unknown {
  if (!(e instanceof RangeError) || (e as { code?: unknown }).code !== 'BUFFER_GONE' || e.message.startsWith(`${op}: `)) return e;
  return Object.assign(new RangeError(`${op}: ${e.message}`), { code: 'BUFFER_GONE' });
}

/**
 * A call's argument error, named as the call's (its checks do not know which call they serve:
 * "memcpy: length (of src) must be ...") and coded as Node codes one (argCoded). Other errors
 * (a closed device's) are left as they are.
 */
export function argError(op: string, e: unknown): unknown {
  if (!(e instanceof TypeError || e instanceof RangeError)) return e;
  if (!e.message.startsWith(`${op}: `)) {
    const message = `${op}: ${e.message}`;
    if (typeof e.stack === 'string') e.stack = e.stack.replace(e.message, message);
    e.message = message;
  }
  return argCoded(e);
}

/** Checks an optional offset/length pair against a size, Node style (the call's `offset` and `length` arguments, into and of its `name` argument). */
export function range(name: string, size: number, offset = 0, length?: number): [number, number] {
  if (typeof offset !== 'number') throw new TypeError(`offset (into ${name}) must be a number; got ${typeName(offset)}`);
  if (length !== undefined && typeof length !== 'number') throw new TypeError(`length (of ${name}) must be a number; got ${typeName(length)}`);
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`offset (into ${name}) must be a non-negative integer; got ${offset}`);
  if (offset > size) throw new RangeError(`offset ${offset} is past the end of ${name} (${size} bytes)`);
  const len = length ?? size - offset;
  if (!Number.isInteger(len) || len < 0) throw new RangeError(`length (of ${name}) must be a non-negative integer; got ${length}`);
  if (offset + len > size) throw new RangeError(`offset ${offset} + length ${len} is past the end of ${name} (${size} bytes)`);
  return [offset, len];
}

export function span(arena: ArenaInfo, name: string, v: unknown, offset?: number, length?: number): Span {
  // The common call, a whole plain Buffer of the arena, read once for each of its getters (the
  // hot path of small calls: the general path below read them 7 times, ~0.2 us a span).
  if (offset === undefined && length === undefined && isPlain(v) && v.buffer === arena.buffer) {
    const n = v.byteLength;
    const addr = v.byteOffset;
    if (n > 0 && addr >= arena.base && addr + n <= arena.end && !inKept(arena, addr, n)) return { u8: v, addr, placement: 'arena', space: 0, n };
  }
  const all = bytesOf(name, v);
  let u8 = all;
  let len = all.byteLength;
  // The common call, a whole view, skips the offset/length checks (hot path of small calls).
  if (offset !== undefined || length !== undefined) {
    const [off, l] = range(name, all.byteLength, offset, length);
    len = l;
    if (off !== 0 || len !== all.byteLength) u8 = all.subarray(off, off + len);
  }
  if (u8.buffer === arena.buffer) {
    const addr = u8.byteOffset;
    if (addr >= arena.base && addr + len <= arena.end) {
      const kept = inKept(arena, addr, len);
      if (kept !== null) throw new RangeError(`${name} reaches into arena bytes the device keeps for its own descriptors ([${kept[0]}, ${kept[1]})): views made over the memory must stay out of them`);
      return { u8, addr, placement: 'arena', space: 0, n: len };
    }
    throw new RangeError(`${name} lies in the device's control region, not its arena`);
  }
  const shared = typeof SharedArrayBuffer !== 'undefined' && u8.buffer instanceof SharedArrayBuffer;
  if (shared) {
    // Another device's memory: only its arena may be touched (its control region holds its rings and
    // records), by this thread as by the engines.
    const [lo, hi] = windowOf(u8.buffer as SharedArrayBuffer);
    if (u8.byteOffset < lo || u8.byteOffset + len > hi) throw new RangeError(`${name} lies in another softdsa device's control region, not its arena`);
  }
  return { u8, addr: -1, placement: shared ? 'shared' : 'local', space: -1, n: len };
}

/** The range the device keeps that arena bytes [addr, addr + n) reach into, or null. */
function inKept(arena: ArenaInfo, addr: number, n: number): readonly [number, number] | null {
  if (arena.kept === undefined || n === 0) return null;
  for (const r of arena.kept) if (addr < r[1] && addr + n > r[0]) return r;
  return null;
}

/** An 8-byte little-endian fill pattern from a byte, a bigint or 8 bytes. */
export function pattern(v: unknown): bigint {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`a fill byte must be an integer from 0 to 255; got ${v}`);
    return BigInt(v) * 0x0101010101010101n;
  }
  if (typeof v === 'bigint') {
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError('an 8-byte fill pattern must fit in 64 unsigned bits');
    return v;
  }
  if (typeof v === 'object' && v !== null) {
    const b = bytesOf('pattern', v);
    // (the device repeats 8 bytes: a pattern of 1, 2 or 4 repeats to the same 8)
    if (b.byteLength === 0 || 8 % b.byteLength !== 0) throw new RangeError(`a fill pattern of bytes is 1, 2, 4 or 8 bytes long (the device repeats 8); got ${b.byteLength} bytes`);
    const p8 = new Uint8Array(8);
    for (let i = 0; i < 8; i++) p8[i] = b[i % b.byteLength];
    return new DataView(p8.buffer).getBigUint64(0, true);
  }
  throw new TypeError(`a fill pattern must be a byte (number), a bigint or 1, 2, 4 or 8 bytes; got ${typeName(v)}`);
}

export function seedOf(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number') throw new TypeError(`a CRC seed must be a number; got ${typeName(v)}`);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`a CRC seed must be an unsigned 32-bit integer; got ${String(v)}`);
  return v;
}

/**
 * A call's options as it reads them: their own properties only, each read once, in an object of
 * no prototype (Object.prototype.seed, or a class's getter, is no option given, and a getter does
 * not answer the check one value and the call another). Throws a TypeError for an option name
 * `call` does not take: a typo (`signl`, `blcokSize`) would else leave that option at its
 * default, unsaid, as Device.open() refuses one too.
 */
export function ownOptions<T extends object>(call: string, opts: T, names: readonly string[]): T {
  const given = own(opts);
  for (const k of Object.keys(given)) {
    if (!names.includes(k)) throw new TypeError(`${call}: unknown option ${k} (the options: ${names.join(', ')})`);
  }
  return given;
}

/**
 * An optional integer option of `call`: `dflt` when undefined, else an integer from min to max,
 * or a RangeError that names the call and the option.
 */
export function intOption(call: string, name: string, v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new TypeError(`${call}: ${name} must be a number (an integer from ${min} to ${max}); got ${typeName(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${call}: ${name} must be an integer from ${min} to ${max}; got ${String(v)}`);
  return v;
}
