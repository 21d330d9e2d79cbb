// Small measurement helpers: latency sampling with percentiles (benny has none),
// medians of repetitions, the machine fingerprint.
import { cpus, availableParallelism, loadavg, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

export interface Latency {
  /** microseconds */
  p50: number;
  p99: number;
  mean: number;
  /** samples per repetition (the smallest) */
  samples: number;
  /** round trips per second, from the mean */
  opsPerSec: number;
  /** per-repetition p50/p99, µs */
  reps: { p50: number; p99: number; samples: number }[];
}

const percentile = (sorted: Float64Array, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const MAX_SAMPLES = 1 << 21;
const buf = new Float64Array(MAX_SAMPLES);

function summarise(n: number): { p50: number; p99: number; mean: number } {
  const s = buf.subarray(0, n).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i];
  return { p50: percentile(s, 0.5) * 1000, p99: percentile(s, 0.99) * 1000, mean: (sum / n) * 1000 };
}

export interface SampleOptions {
  /** ms per repetition */
  ms?: number;
  /** at least this many samples per repetition */
  minSamples?: number;
  reps?: number;
  warmupMs?: number;
}

function combine(reps: { p50: number; p99: number; mean: number; samples: number }[]): Latency {
  const mean = median(reps.map((r) => r.mean));
  return {
    p50: median(reps.map((r) => r.p50)),
    p99: median(reps.map((r) => r.p99)),
    mean,
    samples: Math.min(...reps.map((r) => r.samples)),
    opsPerSec: 1e6 / mean,
    reps: reps.map(({ p50, p99, samples }) => ({ p50, p99, samples })),
  };
}

/** Times a synchronous round trip: each call of `once` is one sample. */
export function sampleSync(once: () => void, o: SampleOptions = {}): Latency {
  const { ms = 1000, minSamples = 20000, reps = 3, warmupMs = 200 } = o;
  const end = performance.now() + warmupMs;
  while (performance.now() < end) once();
  const out = [];
  for (let r = 0; r < reps; r++) {
    let n = 0;
    const until = performance.now() + ms;
    for (;;) {
      const t0 = performance.now();
      once();
      const t1 = performance.now();
      buf[n++] = t1 - t0;
      if ((t1 >= until && n >= minSamples) || n === MAX_SAMPLES) break;
    }
    out.push({ ...summarise(n), samples: n });
  }
  return combine(out);
}

/** Times an asynchronous round trip, one at a time; `between` runs outside the timing. */
export async function sampleAsync(once: () => Promise<unknown>, o: SampleOptions & { between?: () => Promise<void> | void } = {}): Promise<Latency> {
  const { ms = 1000, minSamples = 20000, reps = 3, warmupMs = 200, between } = o;
  const end = performance.now() + warmupMs;
  while (performance.now() < end) {
    await once();
    if (between) await between();
  }
  const out = [];
  for (let r = 0; r < reps; r++) {
    let n = 0;
    const until = performance.now() + ms;
    for (;;) {
      if (between) await between();
      const t0 = performance.now();
      await once();
      const t1 = performance.now();
      buf[n++] = t1 - t0;
      if ((t1 >= until && n >= minSamples) || n === MAX_SAMPLES || t1 >= until + 4 * ms) break;
    }
    out.push({ ...summarise(n), samples: n });
  }
  return combine(out);
}

export function fingerprint(): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    availableParallelism: availableParallelism(),
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    v8: process.versions.v8,
    os: `${process.platform} ${release()}`,
    softdsa: pkg.version,
    date: new Date().toISOString(),
  };
}

export const load = (): number[] => loadavg().map((x) => +x.toFixed(2));
