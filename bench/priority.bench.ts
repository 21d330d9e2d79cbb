// Engine priority (DeviceOptions.engineNice): what lowering the engines' scheduling priority does
// to the main thread's event loop while the engines copy, and to throughput. Each setting is
// measured in the same run, interleaved (setting A, B, C, then A, B, C again, ...), REPS times;
// medians are reported.
//   loop:  event-loop delay p99 (perf_hooks.monitorEventLoopDelay, 1 ms resolution, a 1 ms timer
//          asking for the loop) and GB/s while 1 GiB is copied: 16 x 64 MiB dev.memcpy(dst, src)
//          on arena buffers, Device.open({ arenaBytes: 256 MiB }) (engines: one per core; each
//          copy is split across all). 1 GiB takes ~70-100 ms here, so a p99 of ~100 one-ms samples
//          is close to the worst delay: noisy, hence the interleaving and the medians.
//   small: 4 KiB awaited memcpy on the device (inlineThreshold: 0), 64 in flight, ops/s.
//
// node --import tsx bench/priority.bench.ts [--quick] [--nice 0,5,10,19]   (the default list)
//   -> table on stdout, bench/results/priority.json
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Device } from '../src/index.ts';
import { fingerprint, load, median } from './harness.ts';

const quick = process.argv.includes('--quick');
const niceArg = process.argv.indexOf('--nice');
const NICES = niceArg > 0 ? process.argv[niceArg + 1].split(',').map(Number) : [0, 5, 10, 19];
const REPS = quick ? 1 : 3;
const SMALL_MS = quick ? 300 : 1000;
const MiB = 1 << 20;
const round = (x: number, d = 2): number => +x.toFixed(d);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Thread ids of this process. */
function readdirTasks(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [];
  }
}

interface LoopResult { p50ms: number; p99ms: number; maxMs: number; GBps: number; samples: number }

async function loopDelay(nice: number): Promise<LoopResult & { engineNices: number[] }> {
  const dev = await Device.open({ arenaBytes: 256 * MiB, engineNice: nice });
  try {
    const n = 64 * MiB;
    const rounds = 16; // 1 GiB
    const src = dev.buffer(n).fill(5);
    const dst = dev.buffer(n);
    await dev.memcpy(dst, src); // warm-up: pages touched
    // Engines load their module (and set their nice value) after Device.open has returned: wait
    // until every engine thread runs at the requested nice value, so each copy uses both.
    let engineNices = nicesOfNewThreads();
    for (const until = performance.now() + 3000; performance.now() < until; await sleep(20)) {
      engineNices = nicesOfNewThreads();
      if (engineNices.length >= dev.options.engines && engineNices.every((v) => v === nice)) break;
    }
    await dev.memcpy(dst, src);
    const h = monitorEventLoopDelay({ resolution: 1 });
    const tick = setInterval(() => {}, 1); // a timer that keeps asking for the loop
    h.enable();
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) await dev.memcpy(dst, src);
    const ms = performance.now() - t0;
    h.disable();
    clearInterval(tick);
    const placement = dev.stats().ops.memcpy?.placement as Record<string, number>;
    if (!placement.split) throw new Error(`64 MiB memcpy was not split: ${JSON.stringify(placement)}`);
    return {
      p50ms: round(h.percentile(50) / 1e6, 3),
      p99ms: round(h.percentile(99) / 1e6, 3),
      maxMs: round(h.max / 1e6, 3),
      GBps: round((rounds * n) / (ms * 1e6)),
      samples: h.count,
      engineNices,
    };
  } finally {
    await dev.close();
  }
}

async function smallCopies(nice: number): Promise<number> {
  const dev = await Device.open({ inlineThreshold: 0, engineNice: nice });
  try {
    const slots = 256;
    const src = dev.buffer(4096).fill(7);
    const dsts = Array.from({ length: slots }, () => dev.buffer(4096));
    await sleep(100); // engines started
    let k = 0;
    const run = async (ms: number): Promise<number> => {
      let count = 0;
      let stop = false;
      const t0 = performance.now();
      const end = t0 + ms;
      await Promise.all(Array.from({ length: 64 }, async () => {
        while (!stop) {
          await dev.memcpy(dsts[k++ % slots], src);
          if ((++count & 63) === 0 && performance.now() >= end) stop = true;
        }
      }));
      return (count * 1000) / (performance.now() - t0);
    };
    await run(SMALL_MS / 4);
    return await run(SMALL_MS);
  } finally {
    await dev.close();
  }
}

// The nice values (/proc stat field 19) of threads started since this script began: the engines of
// the open device (the previous device's are gone once it has closed), besides any helper threads
// Node started meanwhile. A check that engineNice took effect.
const baseline = new Set(readdirTasks());
function nicesOfNewThreads(): number[] {
  const out: number[] = [];
  for (const tid of readdirTasks()) {
    if (baseline.has(tid)) continue;
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      out.push(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // thread gone
    }
  }
  return out.sort((a, b) => a - b);
}

const started = performance.now();
const loads: { at: string; load: number[] }[] = [{ at: 'start', load: load() }];
const loopReps = new Map<number, (LoopResult & { engineNices: number[] })[]>(NICES.map((n) => [n, []]));
const smallReps = new Map<number, number[]>(NICES.map((n) => [n, []]));
for (let r = 0; r < REPS; r++) {
  for (const nice of NICES) {
    loopReps.get(nice)!.push(await loopDelay(nice));
    await sleep(50);
  }
  for (const nice of NICES) {
    smallReps.get(nice)!.push(await smallCopies(nice));
    await sleep(50);
  }
  loads.push({ at: `rep ${r + 1}`, load: load() });
}

const defaultNice = (await Device.open({ engines: 1 }).then(async (d) => { const v = d.options.engineNice; await d.close(); return v; }));
const results: Record<string, unknown> = {};
console.log(`default engineNice: ${defaultNice}`);
console.log(`engineNice  loop p99 ms (reps)            p50 ms  GB/s   4 KiB ops/s (64 in flight)`);
for (const nice of NICES) {
  const lr = loopReps.get(nice)!;
  const sr = smallReps.get(nice)!;
  const row = {
    loop: {
      p99ms: round(median(lr.map((x) => x.p99ms)), 3),
      p50ms: round(median(lr.map((x) => x.p50ms)), 3),
      maxMs: round(median(lr.map((x) => x.maxMs)), 3),
      GBps: round(median(lr.map((x) => x.GBps))),
      reps: lr,
    },
    small4k: { opsPerSec: Math.round(median(sr)), reps: sr.map(Math.round) },
  };
  results[String(nice)] = row;
  console.log(
    `${String(nice).padEnd(10)}  ${String(row.loop.p99ms).padEnd(6)} (${lr.map((x) => x.p99ms).join(', ')})`.padEnd(40) +
      `  ${String(row.loop.p50ms).padEnd(6)}  ${String(row.loop.GBps).padEnd(5)}  ${row.small4k.opsPerSec}`,
  );
}

const out = {
  fingerprint: fingerprint(),
  loads,
  seconds: round((performance.now() - started) / 1000, 1),
  quick,
  reps: REPS,
  defaultEngineNice: defaultNice,
  setup: {
    loop: '16 x 64 MiB dev.memcpy(dst, src) on arena buffers, Device.open({ arenaBytes: 256 MiB, engineNice }), engines: one per core (split across all); monitorEventLoopDelay resolution 1 ms with a 1 ms setInterval',
    small4k: '4 KiB awaited dev.memcpy, 64 in flight, Device.open({ inlineThreshold: 0, engineNice })',
    order: 'interleaved: every setting once per repetition, same run',
  },
  byEngineNice: results,
};
const file = join(dirname(fileURLToPath(import.meta.url)), 'results', 'priority.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
console.log(`wrote ${file} (${out.seconds} s)`);
