// An explicit batch: queue calls, then run them together. Calls between two fences are
// issued in the same tick (batched where they run on the device); a fence
// waits for everything before it, and if anything before it failed, nothing after it
// runs: DSA's FENCE rule, across inline and device work alike.
import type { Bytes } from './args.ts';
import type { Ops } from './ops.ts';
import { Errors } from '../device/errors.ts';

type Call = () => Promise<unknown>;

export class BatchBuilder {
  readonly #ops: Ops;
  readonly #segments: Call[][] = [[]];
  #submitted = false;

  readonly #closed: () => boolean;

  /** `closed`: whether the device has begun closing (a batch submitted then is refused, as a call is) */
  constructor(ops: Ops, closed: () => boolean = () => false) {
    this.#ops = ops;
    this.#closed = closed;
  }

  #add(call: Call): this {
    if (this.#submitted) throw Errors.batchSubmitted();
    this.#segments[this.#segments.length - 1].push(call);
    return this;
  }

  memcpy(dst: Bytes, src: Bytes, length?: number): this {
    return this.#add(() => this.#ops.memcpy(dst, src, length));
  }
  memmove(dst: Bytes, src: Bytes, length?: number): this {
    return this.#add(() => this.#ops.memmove(dst, src, length));
  }
  fill(dst: Bytes, pattern: number | bigint | Bytes, offset?: number, length?: number): this {
    return this.#add(() => this.#ops.fill(dst, pattern, offset, length));
  }
  compare(a: Bytes, b: Bytes): this {
    return this.#add(() => this.#ops.compare(a, b));
  }
  firstDifference(a: Bytes, b: Bytes): this {
    return this.#add(() => this.#ops.firstDifference(a, b));
  }
  crc32c(data: Bytes, seed?: number): this {
    return this.#add(() => this.#ops.crc32c(data, seed));
  }
  copyCrc32c(dst: Bytes, src: Bytes, seed?: number): this {
    return this.#add(() => this.#ops.copyCrc32c(dst, src, seed));
  }
  dualcast(dst1: Bytes, dst2: Bytes, src: Bytes, length?: number): this {
    return this.#add(() => this.#ops.dualcast(dst1, dst2, src, length));
  }
  createDelta(a: Bytes, b: Bytes): this {
    return this.#add(() => this.#ops.createDelta(a, b));
  }
  applyDelta(dst: Bytes, delta: Bytes): this {
    return this.#add(() => this.#ops.applyDelta(dst, delta));
  }

  /** What follows runs only after everything before has succeeded. */
  fence(): this {
    if (this.#segments[this.#segments.length - 1].length > 0) this.#segments.push([]);
    return this;
  }

  /** Runs the calls; resolves to their results in order, or rejects with the first failure. */
  async submit(): Promise<unknown[]> {
    if (this.#submitted) throw Errors.batchSubmitted();
    this.#submitted = true;
    if (this.#closed()) throw Errors.closed();
    // In flight as a whole: close() or shutdown() begun meanwhile waits for all of it.
    return this.#ops.during(async () => {
      // Every call's arguments first: a batch with a bad one runs none of its calls, and rejects
      // as that call would (the README's promise: nothing runs before the arguments are checked).
      for (const segment of this.#segments) for (const call of segment) await this.#ops.checkArgs(call);
      const results: unknown[] = [];
      for (const segment of this.#segments) {
        const settled = await Promise.allSettled(segment.map((call) => call()));
        for (const r of settled) {
          if (r.status === 'rejected') throw r.reason;
          results.push(r.value);
        }
      }
      return results;
    });
  }
}
