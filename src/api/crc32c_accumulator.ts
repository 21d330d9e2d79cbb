// The running CRC-32C of a stream's chunks, under both stream kinds (crc32c_stream.ts, node:stream;
// crc32c_transform_stream.ts, WHATWG). Where each chunk is checksummed:
//   - in the device's arena (from alloc()), 64 KiB or more: on the engines, where it lies, with
//     no copy. The stream calls back for such a chunk once its CRC is done (so do not change it
//     before its write has called back), and only then takes the next: one is with the engines
//     at a time.
//   - anywhere else: here, by the CPU's CRC instruction (the addon's, three streams at once; else
//     the device's core or @node-rs/crc32; JavaScript where none loads, and in a browser), as
//     crc32c() does with memory outside the arena. The engines cannot read such a chunk where it
//     lies, and copying it to where they can costs this thread more than checksumming it: a 64 KiB
//     chunk fresh from a read stream takes 5-6 µs here (11-12 µs through the core, which copies
//     it into the arena first). Small arena chunks too: their hand-off would cost more than their CRC.
// Each part continues the CRC of those before it (an arena chunk's CRC is seeded with it).
//
// Strings are rejected with a TypeError (encode them first, e.g. Buffer.from(s, 'utf8') or
// a TextEncoderStream): the CRC is of bytes, and which bytes a string is depends on an
// encoding the stream should not guess.
import { bytesOf, intOption, ownOptions } from './args.ts';
import { defaultDeviceIfOpen, deviceOption } from './default_device.ts';
import type { DeviceCalls } from './calls.ts';
import { argCoded, bytesName, Errors, typeName } from '../device/errors.ts';
import { crc32cOf } from '../device/host.ts';
import { windowOf } from '../device/spaces.ts';
import { isBuffer } from '../device/views.ts';

export interface Crc32cStreamOptions {
  /** the device whose engines checksum arena chunks (from its buffer()/alloc()); default: the default device */
  device?: DeviceCalls | undefined;
  /** CRC to continue from, as crc32c(data, seed); default 0 */
  seed?: number | undefined;
  /** node:stream only: false makes it a sink (the readable side ends empty); default true */
  passThrough?: boolean | undefined;
}

/** The options of the WHATWG stream (and of the accumulator under both); the node:stream one takes passThrough too. */
export const ACCUMULATOR_OPTIONS = ['device', 'seed'] as const;

/** Arena chunks at least this large go to the engines; smaller ones cost less here than their hand-off. */
const DIRECT_MIN = 64 * 1024;

function chunkError(where: string, chunk: unknown): TypeError {
  const e = new TypeError(
    typeof chunk === 'string'
      ? `${where}: got a string chunk; the CRC is of bytes: write Buffers or Uint8Arrays (encode strings first: Buffer.from(text) in Node, new TextEncoder().encode(text) in a browser)`
      : `${where}: chunks must be Buffers, Uint8Arrays (or other ArrayBuffer views); got ${bytesName(chunk)}`,
  ) as TypeError & { code: string };
  e.code = 'ERR_INVALID_ARG_TYPE';
  return e;
}

/** A chunk's bytes: a TypeError for a string, anything but bytes, or a detached buffer (it has none; it was taken as empty). */
export function chunkBytes(where: string, chunk: unknown): Uint8Array {
  if (!ArrayBuffer.isView(chunk) && !isBuffer(chunk)) throw chunkError(where, chunk);
  try {
    return bytesOf(`${where}: a chunk`, chunk);
  } catch (e) {
    // (a detached or out-of-bounds chunk: coded as the other bad chunks are)
    if (e instanceof TypeError || e instanceof RangeError) Object.assign(e, { code: 'ERR_INVALID_ARG_VALUE' });
    throw e;
  }
}

/** digest() before the end: not yet, or never (the stream failed: `failed`, its error, is the cause). */
export function notReady(failed: unknown): Error {
  if (failed !== undefined) {
    const e = new Error(`digest(): the stream failed before its end, and has no CRC (${String((failed as Error | null)?.message ?? failed)})`, { cause: failed }) as Error & { code: string };
    e.code = 'ERR_CRC32C_STREAM_FAILED';
    return e;
  }
  const e = new Error('digest(): the CRC is known once the stream has finished (after its "finish"/"end" event, or once .crc has resolved)') as Error & { code: string };
  e.code = 'ERR_CRC32C_NOT_READY';
  return e;
}

/**
 * The running CRC of a byte sequence: arena chunks checksummed on the engines, the rest here. The
 * streams give it a chunk once the one before is done (an arena chunk's write calls back once its
 * CRC is), so each part continues the CRC of those before it (its seed), in order.
 */
export class Crc32cAccumulator {
  readonly #where: string;
  /** the device option, checked (undefined: the default device, if open) */
  readonly #dev: DeviceCalls | undefined;
  /** the CRC of what was fed so far */
  #crc: number;
  /** the arena chunk with the engines, or null */
  #pending: Promise<void> | null = null;
  #error: unknown = null;
  #ended = false;
  /** bytes fed so far */
  bytes = 0;

  /** the options given, as read (ownOptions): what the stream around it reads its own from */
  readonly options!: Crc32cStreamOptions;

  /** `names`: the options `where` takes */
  constructor(where: string, opts: Crc32cStreamOptions = {}, names: readonly string[] = ACCUMULATOR_OPTIONS) {
    this.#where = where;
    try {
      // (null: no options, as fs's streams and the file calls take it)
      if (opts !== null && typeof opts !== 'object') throw new TypeError(`${where}: options must be an object; got ${typeName(opts)}`);
      this.options = ownOptions(where, opts ?? {}, names);
      this.#crc = intOption(where, 'seed', this.options.seed, 0, 0, 0xffffffff);
      this.#dev = this.options.device === undefined ? undefined : deviceOption(where, this.options.device); // (a wrong one is said now)
    } catch (e) {
      throw argCoded(e); // (coded as Node codes an argument's error, as the chunks' are)
    }
  }

  /**
   * The device whose arena holds u8, or null (only shared memory can be an arena; the default device
   * is not opened to ask). A view of the device's memory outside its arena (its control region) is
   * checksummed here, as other memory is: the engines' calls refuse it.
   */
  #arenaOf(u8: Uint8Array): DeviceCalls | null {
    if (typeof SharedArrayBuffer === 'undefined' || !(u8.buffer instanceof SharedArrayBuffer)) return null;
    const dev = this.#dev ?? defaultDeviceIfOpen();
    if (dev === null || u8.buffer !== (dev.memory.buffer as unknown)) return null;
    const [lo, hi] = windowOf(u8.buffer);
    // (one the device would cut into more descriptors than a call takes, at a small maxTransfer: here)
    return u8.byteOffset >= lo && u8.byteOffset + u8.byteLength <= hi && u8.byteLength <= dev.ops.largestCall ? dev : null;
  }

  /** The CRC of a chunk no engine reaches, on this thread: through a device's core where one is open here (~2x the CPU's CRC instruction through @node-rs/crc32). */
  #here(u8: Uint8Array, seed: number): number {
    const dev = this.#dev ?? defaultDeviceIfOpen();
    if (dev === null) return crc32cOf(u8, seed);
    try {
      return dev.ops.crcHere(u8, seed);
    } catch {
      return crc32cOf(u8, seed); // (closed, or an attached thread with no part of the arena: NO_ARENA)
    }
  }

  /** Adds bytes; a promise when the stream must wait (for the engines to checksum this chunk where it lies). */
  update(u8: Uint8Array): Promise<void> | undefined {
    if (this.#error !== null) throw this.#error;
    if (this.#ended) throw new Error(`${this.#where}: update after the end`);
    if (this.#pending !== null) throw new Error(`${this.#where}: update while a chunk is with the engines`);
    const n = u8.byteLength;
    this.bytes += n;
    if (n === 0) return undefined;
    const dev = n >= DIRECT_MIN ? this.#arenaOf(u8) : null;
    if (dev === null) {
      this.#crc = this.#here(u8, this.#crc);
      return undefined;
    }
    return (this.#pending = dev.crc32c(u8, this.#crc).then(
      (crc) => {
        this.#crc = crc;
        this.#pending = null;
      },
      (failed: unknown) => {
        const e = Errors.restated(this.#where, failed);
        if (this.#error === null) this.#error = e;
        this.#pending = null;
        throw e;
      },
    ));
  }

  /** The CRC of everything fed, once the engines are done with what they have. */
  async digest(): Promise<number> {
    if (this.#error !== null) throw this.#error;
    this.#ended = true;
    await this.#pending?.catch(() => {}); // (its failure is #error)
    if (this.#error !== null) throw this.#error;
    return this.#crc;
  }

  /** Ends the accumulator (the stream was destroyed): later updates throw. */
  release(): void {
    this.#ended = true;
    if (this.#error === null) this.#error = new Error(`${this.#where}: the stream was ended or destroyed`);
  }
}

