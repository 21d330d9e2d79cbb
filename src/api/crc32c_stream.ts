// CRC-32C of data as it streams by (issue 13), as a node:stream Transform: passes its chunks
// through unchanged and gives the CRC at the end (crc32c_accumulator.ts says where each chunk is
// checksummed). Its WHATWG twin, which a browser has too: crc32c_transform_stream.ts.
import { Transform, type TransformCallback } from 'node:stream';
import { ACCUMULATOR_OPTIONS, chunkBytes, Crc32cAccumulator, type Crc32cStreamOptions, notReady } from './crc32c_accumulator.ts';
import { type Crc32cFormat, formatAs } from './crc32c_digest.ts';
import { argCoded, typeName } from '../device/errors.ts';
import { own } from '../device/own.ts';

export type { Crc32cStreamOptions } from './crc32c_accumulator.ts';

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
    // (Node's options of no prototype: Object.prototype.signal had Node abort the stream inside super())
    super(own({ decodeStrings: false }));
    this.#acc = new Crc32cAccumulator('createCrc32cStream', opts, [...ACCUMULATOR_OPTIONS, 'passThrough']);
    this.#pass = this.#acc.options.passThrough ?? true;
    if (typeof this.#pass !== 'boolean') throw argCoded(new TypeError(`createCrc32cStream: passThrough must be a boolean; got ${typeName(this.#pass)}`));
    this.crc = new Promise<number>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.crc.catch(() => {}); // a stream nobody asks the CRC of must not raise an unhandled rejection
    if (!this.#pass) this.resume(); // a sink: its (empty) readable side ends by itself
  }

  /**
   * A chunk is checked as it is written, and by end(chunk) too: Writable.write makes a Buffer of a
   * view before _transform sees it, and a view past the end of a shrunk resizable ArrayBuffer came
   * out as an empty Buffer (its CRC: of nothing, with no error), a detached one as V8's own error
   * (from end(), which left the stream open and its crc unsettled for good); anything but bytes
   * was thrown at the writer (in a pipeline, at the source's 'data' event: uncaught, and the
   * pipeline resolved). A bad chunk fails the stream instead; an ArrayBuffer goes on as a view
   * of it, as the WHATWG twin takes it.
   */
  override write(chunk: unknown, encoding?: BufferEncoding | ((error: Error | null | undefined) => void), cb?: (error: Error | null | undefined) => void): boolean {
    const c = this.#checked(chunk, typeof encoding === 'function' ? encoding : cb);
    if (c === null) return false;
    return typeof encoding === 'function' ? super.write(c, encoding) : super.write(c, encoding as BufferEncoding, cb);
  }

  override end(...args: unknown[]): this {
    const [chunk, encoding, cb] = args;
    if (typeof chunk !== 'function' && chunk !== undefined && chunk !== null) {
      const c = this.#checked(chunk, (typeof encoding === 'function' ? encoding : cb) as ((error: Error | null | undefined) => void) | undefined);
      if (c === null) return this;
      args[0] = c;
    }
    return (Transform.prototype.end as (...a: unknown[]) => this).apply(this, args);
  }

  /**
   * The chunk to write, or null: not bytes, or none left (the stream fails with why; `done` is told).
   * A Buffer goes on as it is; any other view or buffer as a Buffer over the bytes it really
   * covers, as Node would make one of a Uint8Array, but measured through the intrinsic getters:
   * Node's own took a subclass's lying byteLength (a RangeError thrown at the pipeline's source,
   * uncaught, and the chunk left out of the CRC; from end(), the CRC unsettled for good).
   */
  #checked(chunk: unknown, done: ((error: Error | null | undefined) => void) | undefined): unknown {
    try {
      const bytes = chunkBytes('createCrc32cStream', chunk);
      return Object.getPrototypeOf(chunk) === Buffer.prototype ? chunk : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (e) {
      this.destroy(e as Error);
      if (done !== undefined) process.nextTick(done, e as Error);
      return null;
    }
  }

  /** Bytes that went through so far. */
  get bytes(): number {
    return this.#acc.bytes;
  }

  override _transform(chunk: unknown, _enc: BufferEncoding, cb: TransformCallback): void {
    let wait: Promise<void> | undefined;
    try {
      wait = this.#acc.update(chunkBytes('createCrc32cStream', chunk));
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
    if (this.#crc === null) this.#reject((this.#failed = err ?? Object.assign(new Error('createCrc32cStream: destroyed before it finished'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })));
    cb(err);
  }

  /** why the stream ended without its CRC (undefined: it has not) */
  #failed: unknown = undefined;

  /** The CRC-32C of everything that went through: 'number' (default), 'hex', 'base64' or 'buffer'. Throws before the end. */
  digest(): number;
  digest(format: 'number'): number;
  digest(format: 'hex' | 'base64'): string;
  digest(format: 'buffer'): Buffer;
  digest(format: Crc32cFormat): number | string | Buffer; // (a format held in a variable of the union type)
  digest(format: Crc32cFormat = 'number'): number | string | Buffer {
    if (this.#crc === null) throw notReady(this.#failed);
    return formatAs('createCrc32cStream: digest()', this.#crc, format);
  }
}

/** A Transform (usable in pipeline()) that passes chunks through and gives their CRC-32C at the end. */
export function createCrc32cStream(opts?: Crc32cStreamOptions): Crc32cStream {
  return new Crc32cStream(opts);
}
