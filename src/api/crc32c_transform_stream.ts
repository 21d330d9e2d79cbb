// The WHATWG twin of crc32c_stream.ts: a TransformStream passing its chunks through unchanged and
// giving their CRC-32C at the end, in Node and in a browser (Response.body.pipeThrough(t)).
import { chunkBytes, Crc32cAccumulator, type Crc32cStreamOptions, notReady } from './crc32c_accumulator.ts';
import { type Crc32cFormat, formatAs } from './crc32c_digest.ts';

/** The WHATWG twin: a TransformStream passing chunks through; `crc` resolves at the end, `digest()` after. */
export class Crc32cTransformStream extends TransformStream<Uint8Array, Uint8Array> {
  readonly crc: Promise<number>;
  readonly #state: { crc: number | null; acc: Crc32cAccumulator; failed: unknown };

  constructor(opts: Omit<Crc32cStreamOptions, 'passThrough'> = {}) {
    const acc = new Crc32cAccumulator('crc32cTransformStream', opts);
    const state = { crc: null as number | null, acc, failed: undefined as unknown };
    let resolve!: (crc: number) => void;
    let reject!: (e: unknown) => void;
    const crc = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    crc.catch(() => {});
    const fail = (e: unknown): never => {
      acc.release();
      reject((state.failed = e));
      throw e;
    };
    super({
      transform(chunk: unknown, controller) {
        let wait: Promise<void> | undefined;
        // (a Uint8Array goes on as it came; any other view or an ArrayBuffer as a Uint8Array of the
        // same bytes, as this stream's type says: a DataView went on as one, and a reader's subarray() failed)
        let out: Uint8Array;
        try {
          // (what fails here fails the stream: crc rejects too)
          const bytes = chunkBytes('crc32cTransformStream', chunk);
          out = chunk instanceof Uint8Array ? chunk : bytes;
          wait = acc.update(bytes);
        } catch (e) {
          return fail(e);
        }
        if (wait === undefined) return controller.enqueue(out);
        return wait.then(() => controller.enqueue(out), fail);
      },
      flush() {
        return acc.digest().then((v) => {
          state.crc = v;
          resolve(v);
        }, fail);
      },
      cancel(reason: unknown) {
        acc.release();
        reject((state.failed = reason ?? Object.assign(new Error('crc32cTransformStream: cancelled'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })));
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
  digest(format: 'buffer'): Uint8Array; // (a Buffer in Node; a browser has none)
  digest(format: Crc32cFormat): number | string | Uint8Array; // (a format held in a variable of the union type)
  digest(format: Crc32cFormat = 'number'): number | string | Uint8Array {
    if (this.#state.crc === null) throw notReady(this.#state.failed);
    return formatAs('crc32cTransformStream: digest()', this.#state.crc, format);
  }
}

/** A WHATWG TransformStream that passes chunks through and gives their CRC-32C (`crc`, `digest()`). */
export function crc32cTransformStream(opts?: Omit<Crc32cStreamOptions, 'passThrough'>): Crc32cTransformStream {
  return new Crc32cTransformStream(opts);
}
