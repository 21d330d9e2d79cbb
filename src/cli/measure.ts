// The measuring loops: the device through the raw verbs (busy poll) or through
// submit() (eventfd / atomics completions), and the two baselines: the same work on the
// main thread, and one piscina task per operation. Each loop yields to the event loop
// every SLICE_MS so that Ctrl-C and the progress bar get their turn.
import { readFileSync } from 'node:fs';
import type { Piscina } from 'piscina';
import type { Device } from '../index.ts';
import { Status } from '../index.ts';
import type { Kit, Mirror } from './kit.ts';
import { bindNode, type Crcs } from './kernels.ts';

const SLICE_MS = 50;
const STALL_MS = 5000;
const MAX_SAMPLES = 1 << 22;
/** Busy poll: spin this long for a completion before napping between polls. */
export const NAP_AFTER_MS = 0.05;
const napWord = new Int32Array(new SharedArrayBuffer(4));

/** What stops a phase: a wall-clock deadline, or a number of transfers. */
export interface Phase {
  /** seconds */
  seconds: number;
  /** transfers; 0 = time-based */
  transfers: number;
}

export interface Control {
  aborted: boolean;
  /** progress within the current measurement, 0..1 */
  progress(fraction: number): void;
}

export interface Measure {
  /** transfers (operations) completed while measuring */
  ops: number;
  /** work descriptors completed while measuring (a batch counts once) */
  descs: number;
  seconds: number;
  latency: Latency;
  cpu: { mainNs: number; processNs: number; mainSource: 'schedstat' | 'process' };
  verified: number;
  errors: number;
  firstError?: string;
  /** cut short by Ctrl-C */
  partial: boolean;
}

export interface Latency {
  /** µs; null where there are too few samples */
  p50: number | null;
  p99: number | null;
  p999: number | null;
  mean: number | null;
  samples: number;
}

// ---- CPU time of the main thread ----

let schedstat = true;
/** CPU time of the calling (main) thread in ns, from /proc (Linux); null elsewhere. */
function threadCpuNs(): number | null {
  if (!schedstat) return null;
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
  } catch {
    schedstat = false;
    return null;
  }
}
const processCpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

class CpuClock {
  readonly #t0 = threadCpuNs();
  readonly #p0 = processCpuNs();
  read(): Measure['cpu'] {
    const t = threadCpuNs();
    const p = processCpuNs() - this.#p0;
    return t !== null && this.#t0 !== null ? { mainNs: t - this.#t0, processNs: p, mainSource: 'schedstat' } : { mainNs: p, processNs: p, mainSource: 'process' };
  }
}

// ---- latency samples ----

export class Samples {
  #buf = new Float64Array(4096);
  n = 0;
  push(ms: number): void {
    if (this.n === this.#buf.length) {
      if (this.n >= MAX_SAMPLES) return;
      const b = new Float64Array(this.n * 2);
      b.set(this.#buf);
      this.#buf = b;
    }
    this.#buf[this.n++] = ms;
  }
  summary(): Latency {
    const n = this.n;
    if (n === 0) return { p50: null, p99: null, p999: null, mean: null, samples: 0 };
    const s = this.#buf.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s[i];
    const q = (p: number): number => +(s[Math.min(n - 1, Math.ceil(p * n) - 1)] * 1000).toFixed(3);
    // A percentile is reported only with at least ten samples beyond it.
    return { p50: q(0.5), p99: n >= 1000 ? q(0.99) : null, p999: n >= 10000 ? q(0.999) : null, mean: +((sum / n) * 1000).toFixed(3), samples: n };
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Time-sliced driver shared by every loop: runs warm-up then the measured phase. */
abstract class Loop {
  protected recording = false;
  ops = 0;
  descs = 0;
  verified = 0;
  errors = 0;
  firstError: string | undefined;
  readonly lat = new Samples();
  protected readonly ctl: Control;
  protected readonly verify: boolean;

  constructor(ctl: Control, verify: boolean) {
    this.ctl = ctl;
    this.verify = verify;
  }

  protected fail(why: string): void {
    this.errors++;
    this.firstError ??= why;
  }

  /** Operations in flight (transfers). */
  abstract get inflightOps(): number;
  /** Starts one more operation (reaping the oldest first if the window is full). */
  abstract issue(): void | Promise<void>;
  /** Reaps the oldest operation in flight. */
  abstract reap(): void | Promise<void>;

  async drain(): Promise<void> {
    while (this.inflightOps > 0) {
      const r = this.reap();
      if (r !== undefined) await r;
    }
  }

  async #phase(p: Phase, onProgress: boolean): Promise<boolean> {
    const t0 = performance.now();
    const until = t0 + p.seconds * 1000;
    let slice = t0 + SLICE_MS;
    const start = this.ops;
    for (let i = 0; ; i++) {
      // Synchronous loops return undefined: no await (a microtask per operation) for them.
      let r: void | Promise<void>;
      if (p.transfers > 0 && this.ops - start + this.inflightOps >= p.transfers) {
        if (this.inflightOps === 0) return true;
        r = this.reap();
      } else r = this.issue();
      if (r !== undefined) await r;
      if ((i & 15) === 0) {
        const now = performance.now();
        if (p.transfers === 0 && now >= until) return true;
        if (now >= slice) {
          if (onProgress) this.ctl.progress(p.transfers > 0 ? (this.ops - start) / p.transfers : (now - t0) / (until - t0));
          await tick();
          if (this.ctl.aborted) return false;
          slice = performance.now() + SLICE_MS;
        }
      }
    }
  }

  async run(warmup: Phase, measure: Phase): Promise<Measure> {
    let complete = true;
    if (warmup.seconds > 0) complete = await this.#phase(warmup, false);
    // A count (-n N) is of transfers issued in the measured phase: what the warm-up left in flight
    // finishes first (it was counted, and its latency timed from before the clock started). A
    // duration measures the steady state the warm-up reached.
    if (measure.transfers > 0) await this.drain();
    let seconds = 0;
    let cpu: Measure['cpu'] = { mainNs: 0, processNs: 0, mainSource: 'schedstat' };
    if (complete) {
      this.recording = true;
      const clock = new CpuClock();
      const t0 = performance.now();
      complete = await this.#phase(measure, true);
      // Time-based: what completed inside the window. Count-based: until the last one.
      seconds = (performance.now() - t0) / 1000;
      cpu = clock.read();
      this.recording = false;
    }
    await this.drain();
    return {
      ops: this.ops,
      descs: this.descs,
      seconds,
      latency: this.lat.summary(),
      cpu,
      verified: this.verified,
      errors: this.errors,
      ...(this.firstError !== undefined ? { firstError: this.firstError } : {}),
      partial: !complete,
    };
  }
}

/**
 * The device through the raw verbs: `qd` work descriptors in flight, the submitter
 * polls completed() for the oldest (head-of-line: a later one that finished first
 * waits for it), then enqueues the next and rings the doorbell. It spins; after 50 µs
 * without the completion it naps `napMicros` between polls (0: spins only).
 */
export class BusyLoop extends Loop {
  readonly #dev: Device;
  readonly #kit: Kit;
  readonly #qd: number;
  readonly #pos: Int32Array;
  readonly #t: Float64Array;
  readonly #g: Int32Array;
  #head = 0;
  #count = 0;
  #next = 0;

  readonly #napMs: number;

  constructor(dev: Device, kit: Kit, qd: number, ctl: Control, verify: boolean, napMicros: number) {
    super(ctl, verify);
    this.#dev = dev;
    this.#kit = kit;
    this.#qd = qd;
    this.#napMs = napMicros / 1000;
    this.#pos = new Int32Array(qd);
    this.#t = new Float64Array(qd);
    this.#g = new Int32Array(qd);
  }

  get inflightOps(): number {
    return this.#count * this.#kit.batch;
  }

  issue(): void {
    if (this.#count === this.#qd) this.reap();
    const kit = this.#kit;
    const g = this.#next;
    this.#next = g + 1 === kit.groups.length ? 0 : g + 1;
    if (this.verify) kit.poisonGroup(g);
    const portal = this.#dev.portal;
    let pos = portal.enqueue(kit.groups[g].desc);
    while (pos < 0) {
      // Full: only when the queue is smaller than the window (or shared with others).
      if (this.#count > 0) this.reap();
      pos = portal.enqueue(kit.groups[g].desc);
    }
    portal.doorbell();
    const tail = (this.#head + this.#count) % this.#qd;
    this.#pos[tail] = pos;
    this.#g[tail] = g;
    this.#t[tail] = performance.now();
    this.#count++;
  }

  reap(): void {
    const h = this.#head;
    const portal = this.#dev.portal;
    const pos = this.#pos[h];
    let status: number;
    let spins = 0;
    let since = 0;
    const nap = this.#napMs;
    while ((status = portal.completed(pos)) === Status.NONE) {
      if ((++spins & (nap > 0 ? 0x3f : 0xfff)) === 0) {
        const now = performance.now();
        if (since === 0) since = now;
        else if (now - since > STALL_MS) throw new Error(`the device did not complete a descriptor in ${STALL_MS / 1000} s (position ${pos})`);
        // Back-off: after NAP_AFTER_MS without the completion, give the core away
        // (the engine may need it: a spinning submitter on a shared core starves it).
        else if (nap > 0 && now - since > NAP_AFTER_MS) Atomics.wait(napWord, 0, 0, nap);
      }
    }
    const now = performance.now();
    this.#head = h + 1 === this.#qd ? 0 : h + 1;
    this.#count--;
    this.#account(this.#g[h], status & Status.CODE_MASK, now - this.#t[h]);
  }

  #account(g: number, status: number, ms: number): void {
    if (!this.recording) return;
    const kit = this.#kit;
    this.lat.push(ms);
    this.ops += kit.batch;
    this.descs++;
    if (status !== kit.expectedStatus(g)) this.fail(`status 0x${status.toString(16)} from ${kit.batch > 1 ? 'a batch' : 'a descriptor'}, expected 0x${kit.expectedStatus(g).toString(16)}`);
    if (this.verify) {
      for (let j = 0; j < kit.batch; j++) {
        const why = kit.checkDevice(g * kit.batch + j);
        if (why !== null) this.fail(`set ${g * kit.batch + j}: ${why}`);
        this.verified++;
      }
    }
  }
}

/** Where SubmitLoop sends its descriptors: the device, or one WQ's portal (dev.wq()). */
export interface Submitter {
  submit(desc: Uint8Array): Promise<number>;
}

/** The device through `await dev.submit()`: `qd` promises in flight, the oldest awaited. */
export class SubmitLoop extends Loop {
  readonly #dev: Submitter;
  readonly #kit: Kit;
  readonly #qd: number;
  readonly #fifo: { p: Promise<number>; t: number; g: number }[] = [];
  #next = 0;

  constructor(dev: Submitter, kit: Kit, qd: number, ctl: Control, verify: boolean) {
    super(ctl, verify);
    this.#dev = dev;
    this.#kit = kit;
    this.#qd = qd;
  }

  get inflightOps(): number {
    return this.#fifo.length * this.#kit.batch;
  }

  async issue(): Promise<void> {
    if (this.#fifo.length >= this.#qd) await this.reap();
    const kit = this.#kit;
    const g = this.#next;
    this.#next = g + 1 === kit.groups.length ? 0 : g + 1;
    if (this.verify) kit.poisonGroup(g);
    this.#fifo.push({ p: this.#dev.submit(kit.groups[g].desc), t: performance.now(), g });
  }

  async reap(): Promise<void> {
    const e = this.#fifo.shift()!;
    const status = (await e.p) & Status.CODE_MASK;
    const ms = performance.now() - e.t;
    if (!this.recording) return;
    const kit = this.#kit;
    this.lat.push(ms);
    this.ops += kit.batch;
    this.descs++;
    if (status !== kit.expectedStatus(e.g)) this.fail(`status 0x${status.toString(16)}, expected 0x${kit.expectedStatus(e.g).toString(16)}`);
    if (this.verify) {
      for (let j = 0; j < kit.batch; j++) {
        const why = kit.checkDevice(e.g * kit.batch + j);
        if (why !== null) this.fail(`set ${e.g * kit.batch + j}: ${why}`);
        this.verified++;
      }
    }
  }
}

/**
 * Baseline: the same operations, one after another on the main thread, cycling
 * through the same buffer sets. Latency is sampled on every `stride`-th call (timing
 * every call would cost more than a small copy).
 */
export class NodeLoop extends Loop {
  readonly #kit: Kit;
  readonly #mirror: Mirror;
  readonly #fns: Array<() => number>;
  #next = 0;
  #stride = 1;
  #k = 0;

  constructor(kit: Kit, crcs: Crcs, ctl: Control, verify: boolean) {
    super(ctl, verify);
    this.#kit = kit;
    this.#mirror = kit.mirror();
    this.#fns = this.#mirror.tasks.map((t) => bindNode(this.#mirror.bytes.buffer, t, crcs));
    // Cost of one call, to choose the sampling stride: timer overhead ≤ ~2 %.
    const n = Math.min(this.#fns.length, 64);
    for (let i = 0; i < n; i++) this.#fns[i]();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) this.#fns[i]();
    const per = ((performance.now() - t0) * 1e6) / n; // ns
    this.#stride = Math.max(1, Math.min(1024, Math.ceil(3000 / Math.max(per, 1))));
  }

  get inflightOps(): number {
    return 0;
  }

  issue(): void {
    const i = this.#next;
    this.#next = i + 1 === this.#fns.length ? 0 : i + 1;
    if (this.verify) this.#kit.poison(i, this.#mirror);
    let v: number;
    if (this.recording && ++this.#k >= this.#stride) {
      this.#k = 0;
      const t = performance.now();
      v = this.#fns[i]();
      this.lat.push(performance.now() - t);
    } else v = this.#fns[i]();
    if (!this.recording) return;
    this.ops++;
    this.descs++;
    if (this.verify) {
      const why = this.#kit.checkBaseline(i, v, this.#mirror);
      if (why !== null) this.fail(`set ${i}: ${why}`);
      this.verified++;
    }
  }

  reap(): void {}
}

/** Baseline: one piscina task per operation, `inflight` tasks in flight, the oldest awaited. */
export class PiscinaLoop extends Loop {
  readonly #pool: Piscina;
  readonly #kit: Kit;
  readonly #inflight: number;
  readonly #fifo: { p: Promise<number>; t: number; i: number }[] = [];
  #next = 0;

  constructor(pool: Piscina, kit: Kit, inflight: number, ctl: Control, verify: boolean) {
    super(ctl, verify);
    this.#pool = pool;
    this.#kit = kit;
    this.#inflight = inflight;
  }

  get inflightOps(): number {
    return this.#fifo.length;
  }

  async issue(): Promise<void> {
    if (this.#fifo.length >= this.#inflight) await this.reap();
    const i = this.#next;
    this.#next = i + 1 === this.#kit.tasks.length ? 0 : i + 1;
    if (this.verify) this.#kit.poison(i);
    this.#fifo.push({ p: this.#pool.run(this.#kit.tasks[i]) as Promise<number>, t: performance.now(), i });
  }

  async reap(): Promise<void> {
    const e = this.#fifo.shift()!;
    const v = await e.p;
    const ms = performance.now() - e.t;
    if (!this.recording) return;
    this.lat.push(ms);
    this.ops++;
    this.descs++;
    if (this.verify) {
      const why = this.#kit.checkBaseline(e.i, v);
      if (why !== null) this.fail(`set ${e.i}: ${why}`);
      this.verified++;
    }
  }
}
