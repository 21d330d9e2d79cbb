// Baseline: the best any two-thread offload of a copy can do on this machine. Two plain worker
// threads, parked on a futex between calls like the engines, each Buffer.copy one half of the
// same SharedArrayBuffer bytes; the caller awaits both (Atomics.waitAsync). No descriptors, no
// queue, no completion records: what is left is the memory bandwidth of two cores and the
// wakes, the ceiling a 64 MiB softdsa copy is measured against.
import { Worker } from 'node:worker_threads';

const WORKER = `
const { workerData: { sab, words, src, dst, n, k } } = require('node:worker_threads');
const ctl = new Int32Array(sab, words, 2);
const h = Math.ceil(n / 2);
const from = Buffer.from(sab, src + k * h, k === 0 ? h : n - h);
const to = Buffer.from(sab, dst + k * h, k === 0 ? h : n - h);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  if (seen < 0) break;
  from.copy(to);
  if (Atomics.add(ctl, 1, 1) === 1) Atomics.notify(ctl, 1);
}`;

export class TwoThreadCopy {
  readonly #ctl: Int32Array;
  readonly #workers: Worker[];

  /** Copies n bytes from src to dst, two offsets in sab; words: 8 free bytes of sab for the two control words. */
  constructor(sab: SharedArrayBuffer, src: number, dst: number, n: number, words: number) {
    this.#ctl = new Int32Array(sab, words, 2);
    this.#workers = [0, 1].map((k) => new Worker(WORKER, { eval: true, workerData: { sab, words, src, dst, n, k } }));
  }

  async copy(): Promise<void> {
    Atomics.store(this.#ctl, 1, 0);
    Atomics.add(this.#ctl, 0, 1);
    Atomics.notify(this.#ctl, 0);
    for (;;) {
      const done = Atomics.load(this.#ctl, 1);
      if (done >= 2) return;
      const w = Atomics.waitAsync(this.#ctl, 1, done);
      if (w.async) await w.value;
    }
  }

  async close(): Promise<void> {
    Atomics.store(this.#ctl, 0, -1);
    Atomics.notify(this.#ctl, 0);
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
