// softdsa device benchmarks.
//
//   throughput  benny suites: descriptors/s of 64 B and 4 KiB memmove, submitted in
//               batches of 32 (lists prebuilt in the arena, WINDOW batches in flight)
//               through the raw portal verbs, with 1 and 2 engines; the same through
//               the promise API for comparison; baselines (piscina task per copy,
//               Buffer.copy / TypedArray.set on the main thread).
//   latency     a small custom harness (benny has no percentiles): p50/p99 of one
//               4 KiB memmove round trip, hot / parked (eventfd, Atomics) / default
//               submit / idle 40 ms (parked engine woken), and a piscina task per copy.
//   idle        process CPU (all threads) over 1 s of idleness after some work.
import b from 'benny';
import { Piscina } from 'piscina';
import { Device, Descriptor, Status, type DeviceOptions } from '../src/index.ts';
import { sampleAsync, sampleSync, median, type Latency } from './harness.ts';

export const BATCH = 32;
export const WINDOW = Number(process.env.BENCH_WINDOW ?? 32);
const COPY = 4096;
const ARENA = 16 << 20;
/** Byte offsets inside the device memory (bench introspection only, see src/device/layout.ts). */
const SPINNER_WORD = 33;
const ENGINE_STATE_WORD = 2; // engine block: 16 bytes, state at byte 8
const PARKED = 2;

export interface Throughput {
  name: string;
  /** benny operations per second (one operation = one batch, or one copy) */
  opsPerSec: number;
  /** from the median benny sample */
  opsPerSecMedian: number;
  /** descriptors (batch members) per second, median-based */
  descPerSec?: number;
  /** relative margin of error, % */
  rme: number;
  samples: number;
}

// benny case options: each case runs ~1-1.5 s, samples of >= 50 ms each.
const CASES = { minSamples: 8, maxTime: 1, minTime: 0.05, delay: 0.002 };

async function suite(name: string, ...cases: ReturnType<typeof b.add>[]): Promise<Throughput[]> {
  const summary = await b.suite(name, ...cases, b.configure({ cases: CASES }), b.cycle((r) => {
    console.log(`  ${r.name}: ${Math.round(r.ops).toLocaleString('en-US')} ops/s ±${r.margin.toFixed(1)}% (${r.samples} samples)`);
  }));
  return summary.results.map((r) => ({
    name: r.name,
    opsPerSec: r.ops,
    opsPerSecMedian: 1 / r.details.median,
    rme: +r.margin.toFixed(2),
    samples: r.samples,
  }));
}

const napWord = new Int32Array(new SharedArrayBuffer(4));
/** The raw pipeline's caller spins this long for a completion, then naps (yields its core) this long at a time. */
export const CALLER_SPIN_US = 20;
export const CALLER_NAP_US = 20;

/**
 * Waits until position pos completes; returns its status. Throws if the device stalls.
 * nap: after CALLER_SPIN_US of spinning, sleep CALLER_NAP_US at a time (Atomics.wait on
 * the main thread) so that on a 2-core machine the caller does not take the core the
 * engine needs; without it the pipeline collapses under load (see the README notes).
 */
function spinFor(dev: Device, pos: number, nap = false): number {
  let s: number;
  let spins = 0;
  let since = 0;
  while ((s = dev.portal.completed(pos)) === Status.NONE) {
    if ((++spins & (nap ? 0x3f : 0xfff)) === 0) {
      const now = performance.now();
      if (since === 0) since = now;
      else if (nap && now - since > CALLER_SPIN_US / 1000) Atomics.wait(napWord, 0, 0, CALLER_NAP_US / 1000);
      if (now - since > 3000) throw new Error(`bench: position ${pos} did not complete in 3 s: ${describe(dev)}`);
    }
  }
  return s;
}

/** Queue and engine words, for a stall report. */
function describe(dev: Device): string {
  const buf = dev.memory.buffer as unknown as SharedArrayBuffer;
  const eng = new Int32Array(buf, dev.layout.engines, 4 * dev.options.engines);
  const w = dev.portal.wq.words;
  const st = new Int32Array(buf, dev.layout.wqStates, 4 * dev.layout.wqSize);
  const head = w[16];
  const slots = [];
  for (let p = head - 1; p !== w[0] + 1; p++) slots.push(`${p}:${st[(p & dev.portal.wq.mask) * 4] & 0xff}`);
  const states = Array.from({ length: dev.options.engines }, (_, e) => eng[e * 4 + ENGINE_STATE_WORD]);
  return `engine states ${states.join(',')} (1 running, 2 parked), head ${head}, tail ${w[0]}, doorbell ${w[32]}, spinner ${w[SPINNER_WORD]}, slot states ${slots.join(' ')}`;
}

/** A device with WINDOW batch lists of BATCH memmoves of `size` bytes prebuilt in its arena. */
function prebuild(dev: Device, size: number): { batches: Uint8Array[] } {
  const src = dev.alloc(BATCH * size, 4096);
  dev.view(src, BATCH * size).forEach((_, i, a) => (a[i] = (i * 31) & 0xff));
  const dst = dev.alloc(WINDOW * BATCH * size, 4096);
  dev.view(dst, WINDOW * BATCH * size).fill(1); // first touch outside the timing
  const lists = dev.alloc(WINDOW * BATCH * 64, 64);
  const batches: Uint8Array[] = [];
  for (let w = 0; w < WINDOW; w++) {
    const list = lists + w * BATCH * 64;
    for (let i = 0; i < BATCH; i++) {
      const d = Descriptor.memmove({ src: src + i * size, dst: dst + (w * BATCH + i) * size, size });
      dev.view(list + i * 64, 64).set(d);
    }
    batches.push(Descriptor.batch({ list, count: BATCH }));
  }
  return { batches };
}

/**
 * One benny operation: reap the oldest of WINDOW batches in flight (spinning on the
 * raw verb), enqueue the next one, ring the doorbell.
 */
function rawPipeline(dev: Device, batches: Uint8Array[], nap: boolean): { op: () => void; drain: () => void; errors: () => number } {
  const pos = new Array<number>(WINDOW).fill(-1);
  let k = 0;
  let errors = 0;
  const op = (): void => {
    const i = k++ % WINDOW;
    if (pos[i] >= 0 && spinFor(dev, pos[i], nap) !== Status.SUCCESS) errors++;
    pos[i] = dev.portal.enqueue(batches[i]);
    if (pos[i] < 0) throw new Error('bench: queue full');
    dev.portal.doorbell();
  };
  const drain = (): void => {
    for (let i = 0; i < WINDOW; i++) if (pos[i] >= 0) {
      if (spinFor(dev, pos[i]) !== Status.SUCCESS) errors++;
      pos[i] = -1;
    }
  };
  return { op, drain, errors: () => errors };
}

/** The same through dev.submit(): WINDOW batch promises in flight, await the oldest. */
function promisePipeline(dev: Device, batches: Uint8Array[]): { op: () => Promise<void>; drain: () => Promise<void>; errors: () => number } {
  const q: Promise<number>[] = [];
  let k = 0;
  let errors = 0;
  const op = async (): Promise<void> => {
    q.push(dev.submit(batches[k++ % WINDOW]));
    if (q.length >= WINDOW && (await q.shift()!) !== Status.SUCCESS) errors++;
  };
  const drain = async (): Promise<void> => {
    for (const s of await Promise.all(q.splice(0))) if (s !== Status.SUCCESS) errors++;
  };
  return { op, drain, errors: () => errors };
}

/** Runs some copies through the promise API first (engines started, code warm) before a sync loop starts. */
async function warm(dev: Device, desc: Uint8Array, n = 200): Promise<void> {
  for (let i = 0; i < n; i++) if ((await dev.submit(desc)) !== Status.SUCCESS) throw new Error('bench: warm-up descriptor failed');
}

export async function throughput(): Promise<Throughput[]> {
  const out: Throughput[] = [];
  for (const engines of [1, 2]) {
    const dev = await Device.open({ engines, arenaBytes: ARENA, wqSize: 256 });
    try {
      for (const size of [64, COPY]) {
        const { batches } = prebuild(dev, size);
        await warm(dev, batches[0], 50);
        const label = `memmove ${size === 64 ? '64 B' : '4 KiB'}, batch ${BATCH} x ${WINDOW} in flight, ${engines} engine${engines > 1 ? 's' : ''}`;
        // One suite per pipeline: a position left unreaped (benny calls each case once
        // while preparing) blocks the ring when the tail comes round to it.
        const raw = rawPipeline(dev, batches, true);
        const res = await suite(label, b.add(`raw verbs: ${label}`, raw.op));
        raw.drain();
        if (size === 64) {
          // The same with a caller that only spins: what a DPDK-style poller does on a core of its own.
          const spin = rawPipeline(dev, batches, false);
          res.push(...(await suite(label, b.add(`raw verbs, caller spin only: ${label}`, spin.op))));
          spin.drain();
          if (spin.errors() > 0) throw new Error(`bench: ${spin.errors()} batches failed`);
        }
        if (size === 64) {
          const prom = promisePipeline(dev, batches);
          res.push(...(await suite(label, b.add(`submit(): ${label}`, prom.op))));
          await prom.drain();
          if (prom.errors() > 0) throw new Error(`bench: ${prom.errors()} batches failed`);
        }
        if (raw.errors() > 0) throw new Error(`bench: ${raw.errors()} batches failed`);
        for (const r of res) out.push({ ...r, descPerSec: r.opsPerSecMedian * BATCH });
      }
    } finally {
      await dev.close();
    }
  }
  return out;
}

export interface Baselines {
  throughput: Throughput[];
  piscinaLatency: Latency;
}

export async function baselines(): Promise<Baselines> {
  const sab = new SharedArrayBuffer(2 * COPY);
  const a = new Uint8Array(sab, 0, COPY).map((_, i) => i & 0xff);
  const bview = new Uint8Array(sab, COPY, COPY);
  const bufA = Buffer.alloc(COPY, 7);
  const bufB = Buffer.alloc(COPY);
  // One task per copy, on a pool kept warm: piscina's defaults here (minThreads 1, maxThreads 3,
  // idleTimeout 0) terminate and respawn workers around every burst, which measured ~100 ops/s
  // with 32 tasks in flight: a start-up cost, not the per-task cost we compare against.
  const pool = new Piscina({
    filename: new URL('./copy-worker.ts', import.meta.url).href,
    workerData: { sab, size: COPY },
    minThreads: 2,
    maxThreads: 2,
    idleTimeout: Infinity,
  });
  try {
    for (let i = 0; i < 500; i++) await pool.run(null);
    const q: Promise<unknown>[] = [];
    const thr = await suite(
      '4 KiB copy baselines',
      b.add('main thread: Buffer.copy 4 KiB', () => {
        bufA.copy(bufB, 0, 0, COPY);
      }),
      b.add('main thread: TypedArray.set 4 KiB (SharedArrayBuffer)', () => {
        bview.set(a);
      }),
      b.add('piscina: one task per 4 KiB copy, awaited one at a time', async () => {
        await pool.run(null);
      }),
      b.add(`piscina: one task per 4 KiB copy, ${WINDOW} in flight`, async () => {
        q.push(pool.run(null));
        if (q.length >= WINDOW) await q.shift();
      }),
    );
    await Promise.all(q);
    const piscinaLatency = await sampleAsync(() => pool.run(null), { ms: 1000, reps: 3 });
    return { throughput: thr, piscinaLatency };
  } finally {
    await pool.destroy();
  }
}

export interface LatencyCase extends Latency {
  name: string;
  note: string;
  /** the engine's state at submission as intended (spinning / parked), fraction of samples */
  intendedState?: number;
}

async function oneCopy(opts: DeviceOptions): Promise<{ dev: Device; desc: Uint8Array; engineState: () => number; spinner: () => number }> {
  const dev = await Device.open({ arenaBytes: ARENA, ...opts });
  const src = dev.alloc(COPY, 4096);
  const dst = dev.alloc(COPY, 4096);
  dev.view(src, COPY).forEach((_, i, v) => (v[i] = i & 0xff));
  dev.view(dst, COPY).fill(0);
  const desc = Descriptor.memmove({ src, dst, size: COPY });
  const buf = dev.memory.buffer as unknown as SharedArrayBuffer;
  const eng = new Int32Array(buf, dev.layout.engines, 4);
  return {
    dev,
    desc,
    engineState: () => Atomics.load(eng, ENGINE_STATE_WORD),
    spinner: () => Atomics.load(dev.portal.wq.words, SPINNER_WORD),
  };
}

export async function latency(): Promise<LatencyCase[]> {
  const out: LatencyCase[] = [];

  // (a) hot: the engine spins on the queue, the caller enqueues, rings and spins on completed().
  {
    const { dev, desc, spinner, engineState } = await oneCopy({ engines: 1 });
    try {
      await warm(dev, desc);
      let spinning = 0;
      let parked = 0;
      let total = 0;
      let bad = 0;
      const r = sampleSync(() => {
        if (spinner() !== 0) spinning++;
        else if (engineState() === PARKED) parked++;
        total++;
        const pos = dev.portal.enqueue(desc);
        dev.portal.doorbell();
        if (spinFor(dev, pos) !== Status.SUCCESS) bad++;
      });
      if (bad) throw new Error(`bench: ${bad} hot copies failed`);
      out.push({
        name: '(a) hot: raw verbs, engine spinning, caller spinning',
        note: `1 engine, engineSpinMicros 50; at enqueue the engine was spinning ${((100 * spinning) / total).toFixed(0)}%, parked ${((100 * parked) / total).toFixed(0)}%`,
        ...r,
        intendedState: 1 - parked / total, // not parked: spinning, or still running its loop
      });
    } finally {
      await dev.close();
    }
  }

  // (b), (c) parked: engineSpinMicros 0 (the engine parks on the doorbell futex as soon as
  // the queue is empty), pollSpinMicros 0 (the caller sleeps on its vector at once).
  for (const completion of ['eventfd', 'atomics'] as const) {
    const { dev, desc, engineState } = await oneCopy({ engines: 1, completion, engineSpinMicros: 0, pollSpinMicros: 0 });
    try {
      if (dev.completionPath !== completion) throw new Error(`bench: asked for ${completion}, got ${dev.completionPath}`);
      await warm(dev, desc);
      let parked = 0;
      let total = 0;
      const r = await sampleAsync(() => dev.submit(desc), {
        between: () => {
          total++;
          if (engineState() === PARKED) parked++;
        },
      });
      out.push({
        name: `(${completion === 'eventfd' ? 'b' : 'c'}) parked: await submit(), ${completion} completion`,
        note: '1 engine, engineSpinMicros 0, pollSpinMicros 0',
        ...r,
        intendedState: parked / total,
      });
    } finally {
      await dev.close();
    }
  }

  // (d) awaited submit() one at a time, default options (engines = cores, spin 50 / 20 µs).
  {
    const { dev, desc } = await oneCopy({});
    try {
      await warm(dev, desc);
      const r = await sampleAsync(() => dev.submit(desc));
      out.push({ name: '(d) await submit() one at a time, defaults', note: `${dev.options.engines} engines, ${dev.completionPath}, engineSpinMicros 50, pollSpinMicros 20`, ...r });
    } finally {
      await dev.close();
    }
  }

  // (e) informational: the device idle for 40 ms between copies. The engine has long parked
  // on the doorbell futex (an idle engine parks until work comes, whatever the idle time);
  // submit() rings the doorbell and sleeps on its vector.
  {
    const { dev, desc, engineState } = await oneCopy({ engines: 1 });
    try {
      await warm(dev, desc);
      let parked = 0;
      let total = 0;
      const r = await sampleAsync(() => dev.submit(desc), {
        ms: 1500, minSamples: 1, reps: 1, warmupMs: 0,
        between: async () => {
          await new Promise((res) => setTimeout(res, 40));
          total++;
          if (engineState() === PARKED) parked++;
        },
      });
      out.push({ name: '(e) idle 40 ms between copies: await submit() wakes the parked engine', note: '1 engine, defaults, 40 ms between copies', ...r, intendedState: parked / total });
    } finally {
      await dev.close();
    }
  }
  return out;
}

export interface IdleCpu {
  /** CPU ms (user + system, all threads) over the 1 s after the work */
  cpuMs: number;
  /** the same over 1 s starting 300 ms after the work (engines parked) */
  cpuMsParked: number;
  engineStates: number[];
  wallMs: number;
}

export async function idleCpu(): Promise<IdleCpu> {
  const { dev, desc } = await oneCopy({});
  try {
    await warm(dev, desc, 2000);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    const c1 = process.cpuUsage(c0);
    const wallMs = performance.now() - t0;
    await warm(dev, desc, 2000);
    await new Promise((r) => setTimeout(r, 300));
    const c2 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1000));
    const c3 = process.cpuUsage(c2);
    const buf = dev.memory.buffer as unknown as SharedArrayBuffer;
    const eng = new Int32Array(buf, dev.layout.engines, dev.options.engines * 4);
    const engineStates = Array.from({ length: dev.options.engines }, (_, e) => Atomics.load(eng, e * 4 + ENGINE_STATE_WORD));
    return { cpuMs: (c1.user + c1.system) / 1000, cpuMsParked: (c3.user + c3.system) / 1000, engineStates, wallMs };
  } finally {
    await dev.close();
  }
}

export { median };
