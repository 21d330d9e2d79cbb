// CRC-32C of data as it streams by (issue 13): a node:stream Transform and a WHATWG
// TransformStream, both passing their chunks through unchanged and giving the CRC at the end.
//
// Coalescing: chunks are copied into arena staging buffers (batchBytes each, default 4 MiB)
// and a buffer goes to the engines once full, so the hand-off (which wakes a parked engine) is
// paid per batch, not per chunk: in a 256 MiB file pipeline, 4 MiB batches cost this thread
// 1-32% more CPU than the pipeline without the stream, 1 MiB batches 11-57% (interleaved,
// three runs). Copying 64 KiB into the arena costs this thread a few µs, a third of the time
// @node-rs/crc32 would take to checksum it here. Up to `batches` buffers (default 4) are
// with the engines at once; when all are, the stream waits for one (back-pressure). The
// batches' CRCs are combined in order with the GF(2) shift. A chunk that already lies in
// the device's arena (from alloc()) and is at least 64 KiB is checksummed where it is, with
// no copy: the stream calls back for it once its CRC is done, so do not change such a chunk
// before its write has called back. Staging buffers leave the API's reserve of the arena free
// (arena_room.ts); where the arena has no room for even one, the stream checksums on this
// thread with @node-rs/crc32.
//
// Strings are rejected with a TypeError (encode them first, e.g. Buffer.from(s, 'utf8') or
// a TextEncoderStream): the CRC is of bytes, and which bytes a string is depends on an
// encoding the stream should not guess.
import { Transform, type TransformCallback } from 'node:stream';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { bufferLeavingRoom } from './arena_room.ts';
import { intOption, knownOptions } from './args.ts';
import { CrcFold } from './crc_combine.ts';
import { type Crc32cFormat, formatCrc32c } from './crc32c_digest.ts';
import { deviceOption } from './default_device.ts';
import type { DeviceCalls } from './calls.ts';
import { typeName } from '../device/errors.ts';

export interface Crc32cStreamOptions {
  /** the device whose engines do the work; default: the default device (opened on the first chunk) */
  device?: DeviceCalls;
  /** CRC to continue from, as crc32c(data, seed); default 0 */
  seed?: number;
  /** bytes coalesced per hand-off to the engines; default 4 MiB */
  batchBytes?: number;
  /** staging buffers (batches with the engines at once); default 4 */
  batches?: number;
  /** node:stream only: false makes it a sink (the readable side ends empty); default true */
  passThrough?: boolean;
}

/** The options of the WHATWG stream (and of the accumulator under both); the node:stream one takes passThrough too. */
const ACCUMULATOR_OPTIONS = ['device', 'seed', 'batchBytes', 'batches'] as const;

/** Arena chunks at least this large are checksummed in place. */
const DIRECT_MIN = 64 * 1024;

function chunkError(where: string, chunk: unknown): TypeError {
  const e = new TypeError(
    typeof chunk === 'string'
      ? `${where}: got a string chunk; the CRC is of bytes: write Buffers or Uint8Arrays (encode strings first, e.g. Buffer.from(text, 'utf8'))`
      : `${where}: chunks must be Buffers, Uint8Arrays (or other ArrayBuffer views); got ${typeName(chunk)}`,
  ) as TypeError & { code: string };
  e.code = 'ERR_INVALID_ARG_TYPE';
  return e;
}

function notReady(): Error {
  const e = new Error('digest(): the CRC is known once the stream has finished (after its "finish"/"end" event, or once .crc has resolved)') as Error & { code: string };
  e.code = 'ERR_CRC32C_NOT_READY';
  return e;
}

/** A stream's staging buffers, as the registry below frees them (nothing here reaches the stream). */
interface Staging {
  dev: DeviceCalls | null;
  slots: Buffer[];
}

/** Frees the staging buffers of a stream that was dropped without being ended or destroyed. */
const dropped = new FinalizationRegistry<Staging>((staging) => freeStaging(staging));

function freeStaging(staging: Staging): void {
  for (const b of staging.slots) {
    try {
      staging.dev?.free(b.byteOffset);
    } catch {
      // the device is closed: its arena went with it
    }
  }
  staging.slots.length = 0;
}

/**
 * The running CRC of a byte sequence: coalesces updates into arena staging buffers,
 * checksums full ones on the engines, and folds their CRCs in order.
 */
export class Crc32cAccumulator {
  readonly #where: string;
  readonly #devOpt: unknown;
  readonly #batchBytes: number;
  readonly #maxSlots: number;
  /** the staging buffers, and their device: freed when done, or, if the stream is dropped, when it is collected */
  readonly #staging: Staging = { dev: null, slots: [] };
  readonly #slots = this.#staging.slots;
  readonly #free: Buffer[] = [];
  #cur: Buffer | null = null;
  #fill = 0;
  /** no arena room: checksum here */
  #native = false;
  /** the CRC of the batches back from the engines, in order (and of what this thread checksummed) */
  readonly #fold: CrcFold;
  #issued = 0;
  #inflight = 0;
  #waiters: Array<() => void> = [];
  #error: unknown = null;
  #released = false;
  #ended = false;
  /** bytes fed so far */
  bytes = 0;

  /** `names`: the options `where` takes */
  constructor(where: string, opts: Crc32cStreamOptions = {}, names: readonly string[] = ACCUMULATOR_OPTIONS) {
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${where}: options must be an object; got ${typeName(opts)}`);
    knownOptions(where, opts, names);
    this.#where = where;
    this.#fold = new CrcFold(intOption(where, 'seed', opts.seed, 0, 0, 0xffffffff));
    this.#batchBytes = intOption(where, 'batchBytes', opts.batchBytes, 4 << 20, 1, 1 << 30);
    this.#maxSlots = intOption(where, 'batches', opts.batches, 4, 1, 64);
    if (opts.device !== undefined) deviceOption(where, opts.device); // (a wrong one is said now)
    this.#devOpt = opts.device;
  }

  #device(): DeviceCalls {
    if (this.#staging.dev === null) {
      this.#staging.dev = deviceOption(this.#where, this.#devOpt);
      dropped.register(this, this.#staging, this);
    }
    return this.#staging.dev;
  }

  /** Adds bytes; a promise when the stream must wait (for a staging buffer, or an in-place CRC). */
  update(u8: Uint8Array): Promise<void> | undefined {
    if (this.#error !== null) throw this.#error;
    if (this.#ended) throw new Error(`${this.#where}: update after the end`);
    this.bytes += u8.byteLength;
    if (u8.byteLength === 0) return undefined;
    if (this.#native) {
      this.#fold.crc = nativeCrc32c(Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength), this.#fold.crc) >>> 0;
      return undefined;
    }
    const dev = this.#device();
    if (u8.byteLength >= DIRECT_MIN && u8.buffer === (dev.memory.buffer as unknown)) {
      // In the arena already: checksum it where it is (what is staged goes first).
      if (this.#cur !== null && this.#fill > 0) this.#submit();
      return this.#issue(u8, null);
    }
    return this.#feed(u8, 0);
  }

  #feed(u8: Uint8Array, off: number): Promise<void> | undefined {
    const n = u8.byteLength;
    while (off < n) {
      if (this.#cur === null) {
        const slot = this.#take();
        if (slot === null) {
          if (this.#native) {
            // no arena room at all, and nothing staged: continue here
            this.#fold.crc = nativeCrc32c(Buffer.from(u8.buffer, u8.byteOffset + off, n - off), this.#fold.crc) >>> 0;
            return undefined;
          }
          return new Promise<void>((resolve) => this.#waiters.push(resolve)).then(() => {
            if (this.#error !== null) throw this.#error;
            return this.#feed(u8, off);
          });
        }
        this.#cur = slot;
        this.#fill = 0;
      }
      const take = Math.min(n - off, this.#cur.byteLength - this.#fill);
      this.#cur.set(take === n && off === 0 ? u8 : u8.subarray(off, off + take), this.#fill);
      this.#fill += take;
      off += take;
      if (this.#fill === this.#cur.byteLength) this.#submit();
    }
    return undefined;
  }

  /** A free staging buffer, a new one, or null (all busy; or no room: #native set when none exists). */
  #take(): Buffer | null {
    const b = this.#free.pop();
    if (b !== undefined) return b;
    if (this.#slots.length < this.#maxSlots) {
      const nb = bufferLeavingRoom(this.#device(), this.#batchBytes);
      if (nb !== null) {
        this.#slots.push(nb);
        return nb;
      }
      if (this.#slots.length === 0 && this.#inflight === 0) this.#native = true;
    }
    return null;
  }

  #submit(): void {
    const slot = this.#cur!;
    const len = this.#fill;
    this.#cur = null;
    this.#fill = 0;
    void this.#issue(slot.subarray(0, len), slot);
  }

  /** One CRC on the device; its result folded in order. Resolves when done (never rejects: errors are kept). */
  #issue(view: Uint8Array, slot: Buffer | null): Promise<void> {
    const index = this.#issued++;
    const len = view.byteLength;
    this.#inflight++;
    let p: Promise<number>;
    try {
      p = this.#device().crc32c(view);
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.then(
      (crc) => {
        this.#fold.add(index, crc, len);
        this.#done(slot);
      },
      (e: unknown) => {
        if (this.#error === null) this.#error = e;
        this.#done(slot);
        if (slot === null) throw e;
      },
    );
  }

  #done(slot: Buffer | null): void {
    this.#inflight--;
    if (slot !== null) this.#free.push(slot);
    if (this.#released) this.#freeSlots();
    const w = this.#waiters.shift();
    if (w !== undefined) w();
    else if (this.#inflight === 0 && this.#idle !== null) {
      const idle = this.#idle;
      this.#idle = null;
      idle();
    }
  }

  #idle: (() => void) | null = null;

  /** The CRC of everything fed: what is staged goes to the engines, then every batch is awaited. */
  async digest(): Promise<number> {
    if (this.#error !== null) throw this.#error;
    this.#ended = true;
    if (this.#cur !== null && this.#fill > 0) this.#submit();
    while (this.#inflight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    if (this.#error !== null) throw this.#error;
    this.release();
    return this.#fold.crc;
  }

  /** Gives the staging buffers back to the arena (now, or once the engines are done with them). */
  release(): void {
    this.#released = true;
    this.#ended = true;
    this.#cur = null;
    // wake anyone waiting for a buffer: they see the stream is over
    if (this.#error === null) this.#error = new Error(`${this.#where}: the stream was ended or destroyed`);
    for (const w of this.#waiters.splice(0)) w();
    this.#freeSlots();
  }

  #freeSlots(): void {
    if (this.#inflight > 0 || this.#staging.dev === null) return;
    dropped.unregister(this);
    freeStaging(this.#staging);
    this.#free.length = 0;
  }
}

/**
 * A node:stream Transform that passes its chunks through and computes their CRC-32C.
 * `digest(format)` after 'finish'/'end'; `crc` is a promise of it.
 */
export class Crc32cStream extends Transform {
  readonly #acc: Crc32cAccumulator;
  readonly #pass: boolean;
  #crc: number | null = null;
  #resolve!: (crc: number) => void;
  #reject!: (e: unknown) => void;
  /** resolves to the CRC when the stream has finished; rejects when it fails or is destroyed first */
  readonly crc: Promise<number>;

  constructor(opts: Crc32cStreamOptions = {}) {
    super({ decodeStrings: false });
    this.#acc = new Crc32cAccumulator('createCrc32cStream', opts, [...ACCUMULATOR_OPTIONS, 'passThrough']);
    this.#pass = opts.passThrough ?? true;
    if (typeof this.#pass !== 'boolean') throw new TypeError('createCrc32cStream: passThrough must be a boolean');
    this.crc = new Promise<number>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.crc.catch(() => {}); // a stream nobody asks the CRC of must not raise an unhandled rejection
    if (!this.#pass) this.resume(); // a sink: its (empty) readable side ends by itself
  }

  /** Bytes that went through so far. */
  get bytes(): number {
    return this.#acc.bytes;
  }

  override _transform(chunk: unknown, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!(chunk instanceof Uint8Array)) return cb(chunkError('createCrc32cStream', chunk));
    let wait: Promise<void> | undefined;
    try {
      wait = this.#acc.update(chunk);
    } catch (e) {
      return cb(e as Error);
    }
    if (wait === undefined) {
      if (this.#pass) this.push(chunk);
      return cb();
    }
    wait.then(
      () => {
        if (this.#pass) this.push(chunk);
        cb();
      },
      (e: Error) => cb(e),
    );
  }

  override _flush(cb: TransformCallback): void {
    this.#acc.digest().then(
      (crc) => {
        this.#crc = crc;
        this.#resolve(crc);
        cb();
      },
      (e: Error) => cb(e),
    );
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#acc.release();
    if (this.#crc === null) this.#reject(err ?? new Error('createCrc32cStream: destroyed before it finished'));
    cb(err);
  }

  /** The CRC-32C of everything that went through: 'number' (default), 'hex', 'base64' or 'buffer'. Throws before the end. */
  digest(): number;
  digest(format: 'number'): number;
  digest(format: 'hex' | 'base64'): string;
  digest(format: 'buffer'): Buffer;
  digest(format: Crc32cFormat = 'number'): number | string | Buffer {
    if (this.#crc === null) throw notReady();
    return formatCrc32c(this.#crc, format);
  }
}

/** A Transform (usable in pipeline()) that passes chunks through and gives their CRC-32C at the end. */
export function createCrc32cStream(opts?: Crc32cStreamOptions): Crc32cStream {
  return new Crc32cStream(opts);
}

/** The WHATWG twin: a TransformStream passing chunks through; `crc` resolves at the end, `digest()` after. */
export class Crc32cTransformStream extends TransformStream<Uint8Array, Uint8Array> {
  readonly crc: Promise<number>;
  readonly #state: { crc: number | null; acc: Crc32cAccumulator };

  constructor(opts: Omit<Crc32cStreamOptions, 'passThrough'> = {}) {
    const acc = new Crc32cAccumulator('crc32cTransformStream', opts);
    const state = { crc: null as number | null, acc };
    let resolve!: (crc: number) => void;
    let reject!: (e: unknown) => void;
    const crc = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    crc.catch(() => {});
    const fail = (e: unknown): never => {
      acc.release();
      reject(e);
      throw e;
    };
    super({
      transform(chunk: unknown, controller) {
        let u8: Uint8Array;
        if (chunk instanceof Uint8Array) u8 = chunk;
        else if (ArrayBuffer.isView(chunk)) u8 = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        else if (chunk instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && chunk instanceof SharedArrayBuffer)) u8 = new Uint8Array(chunk);
        else return fail(chunkError('crc32cTransformStream', chunk));
        let wait: Promise<void> | undefined;
        try {
          wait = acc.update(u8);
        } catch (e) {
          return fail(e);
        }
        if (wait === undefined) return controller.enqueue(chunk as Uint8Array);
        return wait.then(() => controller.enqueue(chunk as Uint8Array), fail);
      },
      flush() {
        return acc.digest().then((v) => {
          state.crc = v;
          resolve(v);
        }, fail);
      },
      cancel(reason: unknown) {
        acc.release();
        reject(reason ?? new Error('crc32cTransformStream: cancelled'));
      },
    } as Transformer<Uint8Array, Uint8Array>);
    this.crc = crc;
    this.#state = state;
  }

  /** Bytes that went through so far. */
  get bytes(): number {
    return this.#state.acc.bytes;
  }

  /** The CRC-32C: 'number' (default), 'hex', 'base64' or 'buffer'. Throws before the end. */
  digest(): number;
  digest(format: 'number'): number;
  digest(format: 'hex' | 'base64'): string;
  digest(format: 'buffer'): Buffer;
  digest(format: Crc32cFormat = 'number'): number | string | Buffer {
    if (this.#state.crc === null) throw notReady();
    return formatCrc32c(this.#state.crc, format);
  }
}

/** A WHATWG TransformStream that passes chunks through and gives their CRC-32C (`crc`, `digest()`). */
export function crc32cTransformStream(opts?: Omit<Crc32cStreamOptions, 'passThrough'>): Crc32cTransformStream {
  return new Crc32cTransformStream(opts);
}
