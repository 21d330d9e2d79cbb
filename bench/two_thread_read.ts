// Baseline: reading a file on two plain worker threads and doing nothing with the bytes, the way
// a mapped crc32cFile reads it (each thread synchronous 1 MiB reads into a buffer of its own, one
// half of the file each). Beside the thread-pool reads into the arena, the limit crc32cFile's
// rate is measured against: the faster of the two.
import { Worker } from 'node:worker_threads';

const WORKER = `
const { workerData: { ctlBuf, path, size, k, window } } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const ctl = new Int32Array(ctlBuf);
const buf = Buffer.allocUnsafe(window);
const h = Math.ceil(size / 2);
const start = k * h, end = Math.min(size, start + h);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  if (seen < 0) break;
  const fd = openSync(path, 'r');
  for (let pos = start; pos < end; ) {
    const n = readSync(fd, buf, 0, Math.min(window, end - pos), pos);
    if (n === 0) break;
    pos += n;
  }
  closeSync(fd);
  if (Atomics.add(ctl, 1, 1) === 1) Atomics.notify(ctl, 1);
}`;

export class TwoThreadRead {
  readonly #ctl = new Int32Array(new SharedArrayBuffer(8));
  readonly #workers: Worker[];

  constructor(path: string, size: number, window = 1 << 20) {
    this.#workers = [0, 1].map((k) => new Worker(WORKER, { eval: true, workerData: { ctlBuf: this.#ctl.buffer, path, size, k, window } }));
  }

  async read(): Promise<void> {
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
