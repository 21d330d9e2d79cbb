// Baselines of what two plain threads do on this machine, the ceilings softdsa's two engines are
// measured against. Two worker threads, parked on a futex between runs like the engines, each
// run their half of the work when told to; the caller awaits both (Atomics.waitAsync). No
// descriptors, no queue, no completion records.
//   TwoThreadCopy - each Buffer.copy one half of the same SharedArrayBuffer bytes: the memory
//                   bandwidth of two cores and the wakes, the ceiling of a 64 MiB softdsa copy;
//   TwoThreadRead - each reads one half of a file with 1 MiB synchronous reads into a buffer of
//                   its own and does nothing with it (own file descriptor, in order): how fast the
//                   file can be read, beside crc32cFile (whose engines read a mapped file in
//                   1 MiB synchronous reads too, but alternate ranges through one open).
import { Worker } from 'node:worker_threads';

/**
 * Two threads that each run `setup` once (with `k`, 0 or 1, and the workerData) and then `work`
 * at every run(). Both are bodies of JS run in the worker, as CommonJS.
 */
class TwoThreads {
  readonly #ctl = new Int32Array(new SharedArrayBuffer(8));
  readonly #workers: Worker[];

  constructor(setup: string, work: string, data: object) {
    const source = `
const { workerData } = require('node:worker_threads');
const { ctl: ctlBuf, k } = workerData;
const ctl = new Int32Array(ctlBuf);
${setup}
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  if (seen < 0) break;
  ${work}
  if (Atomics.add(ctl, 1, 1) === 1) Atomics.notify(ctl, 1);
}`;
    this.#workers = [0, 1].map((k) => new Worker(source, { eval: true, workerData: { ...data, ctl: this.#ctl.buffer, k } }));
  }

  /** One run of both threads; resolves when both are done. */
  async run(): Promise<void> {
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

export class TwoThreadCopy extends TwoThreads {
  /** Copies n bytes from src to dst, two offsets in sab. */
  constructor(sab: SharedArrayBuffer, src: number, dst: number, n: number) {
    super(`
const { sab, src, dst, n } = workerData;
const h = Math.ceil(n / 2);
const from = Buffer.from(sab, src + k * h, k === 0 ? h : n - h);
const to = Buffer.from(sab, dst + k * h, k === 0 ? h : n - h);`, 'from.copy(to);', { sab, src, dst, n });
  }

  copy(): Promise<void> {
    return this.run();
  }
}

export class TwoThreadRead extends TwoThreads {
  /** Reads the file's `size` bytes, `window` at a time. */
  constructor(path: string, size: number, window = 1 << 20) {
    super(`
const { openSync, readSync, closeSync } = require('node:fs');
const { path, size, window } = workerData;
const buf = Buffer.allocUnsafe(window);
const h = Math.ceil(size / 2);
const start = k * h, end = Math.min(size, start + h);`, `
  const fd = openSync(path, 'r');
  for (let pos = start; pos < end; ) {
    const got = readSync(fd, buf, 0, Math.min(window, end - pos), pos);
    if (got === 0) break;
    pos += got;
  }
  closeSync(fd);`, { path, size, window });
  }

  read(): Promise<void> {
    return this.run();
  }
}
