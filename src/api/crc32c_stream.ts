// CRC-32C of data as it streams by (issue 13), as a node:stream Transform: passes its chunks
// through unchanged and gives the CRC at the end (crc32c_accumulator.ts says where each chunk is
// checksummed). Its WHATWG twin, which a browser has too: crc32c_transform_stream.ts.
import { Transform, type TransformCallback } from 'node:stream';
import { ACCUMULATOR_OPTIONS, chunkBytes, Crc32cAccumulator, type Crc32cStreamOptions, notReady } from './crc32c_accumulator.ts';
import { type Crc32cFormat, formatCrc32c } from './crc32c_digest.ts';

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

  /**
   * A chunk is checked as it is written: Writable.write makes a Buffer of a view before
   * _transform sees it, and a view past the end of a shrunk resizable ArrayBuffer came out as an
   * empty Buffer (its CRC: of nothing, with no error), a detached one as V8's own error.
   */
  override write(chunk: unknown, encoding?: BufferEncoding | ((error: Error | null | undefined) => void), cb?: (error: Error | null | undefined) => void): boolean {
    if (ArrayBuffer.isView(chunk)) {
      try {
        chunkBytes('createCrc32cStream', chunk);
      } catch (e) {
        const done = typeof encoding === 'function' ? encoding : cb;
        this.destroy(e as Error);
        if (done !== undefined) process.nextTick(done, e as Error);
        return false;
      }
    }
    return typeof encoding === 'function' ? super.write(chunk, encoding) : super.write(chunk, encoding as BufferEncoding, cb);
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
    if (this.#crc === null) this.#reject((this.#failed = err ?? new Error('createCrc32cStream: destroyed before it finished')));
    cb(err);
  }

  /** why the stream ended without its CRC (undefined: it has not) */
  #failed: unknown = undefined;

  /** The CRC-32C of everything that went through: 'number' (default), 'hex', 'base64' or 'buffer'. Throws before the end. */
  digest(): number;
  digest(format: 'number'): number;
  digest(format: 'hex' | 'base64'): string;
  digest(format: 'buffer'): Buffer;
  digest(format: Crc32cFormat = 'number'): number | string | Buffer {
    if (this.#crc === null) throw notReady(this.#failed);
    return formatCrc32c(this.#crc, format);
  }
}

/** A Transform (usable in pipeline()) that passes chunks through and gives their CRC-32C at the end. */
export function createCrc32cStream(opts?: Crc32cStreamOptions): Crc32cStream {
  return new Crc32cStream(opts);
}
