// An explicit batch: queue calls, then run them together. Calls between two fences are
// issued in the same tick (batched where they run on the device); a fence
// waits for everything before it, and if anything before it failed, nothing after it
// runs: DSA's FENCE rule, across inline and device work alike.
import type { Bytes } from './args.ts';
import type { Ops } from './ops.ts';
import { Errors } from '../device/errors.ts';
import { rejectOffDevice } from '../device/connection.ts';

type Call = (ops: Ops) => Promise<unknown>;

/**
 * `R` is the tuple of the results `submit()` resolves to, one per call in the order they were
 * added: `batch().memcpy(d, s).crc32c(d).submit()` is a `Promise<[typeof d, number]>`.
 */
export class BatchBuilder<R extends unknown[] = []> {
  readonly #opsOf: () => Ops;
  readonly #segments: Call[][] = [[]];
  #submitted = false;

  readonly #closed: () => boolean;

  /**
   * `ops`: the device's calls, asked for as the batch runs (a batch built on a closed device
   * rejects at submit(), as a call does, rather than throw as it is built); `closed`: whether
   * the device has begun closing (a batch submitted then is refused, as a call is)
   */
  constructor(ops: () => Ops, closed: () => boolean = () => false) {
    this.#opsOf = ops;
    this.#closed = closed;
  }


  // One builder throughout: only its type grows by the call's result.
  #add<T>(call: (ops: Ops) => Promise<T>): BatchBuilder<[...R, T]> {
    if (this.#submitted) throw Errors.batchSubmitted();
    this.#segments[this.#segments.length - 1].push(call);
    return this as unknown as BatchBuilder<[...R, T]>;
  }

  memcpy<T extends Bytes>(dst: T, src: Bytes, length?: number): BatchBuilder<[...R, T]> {
    return this.#add((o) => o.memcpy(dst, src, length));
  }
  memmove<T extends Bytes>(dst: T, src: Bytes, length?: number): BatchBuilder<[...R, T]> {
    return this.#add((o) => o.memmove(dst, src, length));
  }
  fill<T extends Bytes>(dst: T, pattern: number | bigint | Bytes, offset?: number, length?: number): BatchBuilder<[...R, T]> {
    return this.#add((o) => o.fill(dst, pattern, offset, length));
  }
  compare(a: Bytes, b: Bytes): BatchBuilder<[...R, number]> {
    return this.#add((o) => o.compare(a, b));
  }
  firstDifference(a: Bytes, b: Bytes): BatchBuilder<[...R, number]> {
    return this.#add((o) => o.firstDifference(a, b));
  }
  crc32c(data: Bytes, seed?: number): BatchBuilder<[...R, number]> {
    return this.#add((o) => o.crc32c(data, seed));
  }
  copyCrc32c(dst: Bytes, src: Bytes, seed?: number): BatchBuilder<[...R, number]> {
    return this.#add((o) => o.copyCrc32c(dst, src, seed));
  }
  dualcast(dst1: Bytes, dst2: Bytes, src: Bytes, length?: number): BatchBuilder<[...R, void]> {
    return this.#add((o) => o.dualcast(dst1, dst2, src, length));
  }
  createDelta(a: Bytes, b: Bytes): BatchBuilder<[...R, Uint8Array]> {
    return this.#add((o) => o.createDelta(a, b));
  }
  applyDelta<T extends Bytes>(dst: T, delta: Bytes): BatchBuilder<[...R, T]> {
    return this.#add((o) => o.applyDelta(dst, delta));
  }

  /** What follows runs only after everything before has succeeded. */
  fence(): this {
    if (this.#segments[this.#segments.length - 1].length > 0) this.#segments.push([]);
    return this;
  }

  /** Runs the calls; resolves to their results in order, or rejects with the first failure. */
  async submit(): Promise<R> {
    if (this.#submitted) throw Errors.batchSubmitted();
    this.#submitted = true;
    if (this.#closed()) throw Errors.closed();
    const ops = this.#opsOf();
    // In flight as a whole: close() or shutdown() begun meanwhile waits for all of it.
    return ops.during(async () => {
      // Every call's arguments first: a batch with a bad one runs none of its calls, and rejects
      // as that call would (the README's promise: nothing runs before the arguments are checked).
      let at = 0;
      for (const segment of this.#segments) {
        for (const call of segment) {
          await ops.checkArgs(() => call(ops)).catch((e: unknown) => {
            throw failedAt(e, at);
          });
          at++;
        }
      }
      const results: unknown[] = [];
      for (const segment of this.#segments) {
        const settled = await Promise.allSettled(segment.map((call) => call(ops)));
        for (const r of settled) {
          if (r.status === 'rejected') throw failedAt(r.reason, results.length);
          results.push(r.value);
        }
      }
      return results as R;
    });
  }
}

/**
 * A call's failure as the batch's: `batchIndex` says which call it was (its place among the
 * calls added, from 0), where a batch of like calls gave no way to tell. (Each call's error is
 * its own object; anything else, thrown as is.)
 */
function failedAt(reason: unknown, index: number): unknown {
  if (reason !== null && typeof reason === 'object' && Object.isExtensible(reason) && !Object.hasOwn(reason, 'batchIndex')) {
    Object.defineProperty(reason, 'batchIndex', { value: index, enumerable: true, configurable: true, writable: true });
  }
  return reason;
}

rejectOffDevice(BatchBuilder, ['submit'], 'batch');
