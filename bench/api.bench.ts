// The drop-in async API (issue #3, item 6), each figure beside its baseline measured in the
// same run:
//   (a) 4 KiB memcpy, each call awaited: ops/s, one at a time and with many in flight, on the
//       default device (4 KiB is below the measured inline threshold: it runs inline; stats()
//       says so) and forced onto the device (inlineThreshold: 0); the batch builder,
//       descriptors/s. Baseline: Buffer.copy of 4 KiB.
//   (b) 64 MiB memcpy (split across engines) against Buffer.copy on the same buffers, GB/s.
//   (c) event-loop delay p99 (perf_hooks.monitorEventLoopDelay) while 1 GiB is copied
//       (16 x 64 MiB) with memcpy, against the same with Buffer.copy.
//   (d) crc32c against @node-rs/crc32 (native) and @aws-crypto/crc32c (what the AWS SDK uses).
//
// node --import tsx bench/api.bench.ts [--quick]   -> table on stdout, bench/results/api.json
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { crc32c as nativeCrc } from '@node-rs/crc32';
import { crc32c as awsCrc } from '@aws-crypto/crc32c';
import { Device } from '../src/index.ts';
import { fingerprint, load, median } from './harness.ts';

const quick = process.argv.includes('--quick');
const MS = quick ? 300 : 1000; // per repetition
const REPS = quick ? 1 : 3;
const loads: { at: string; load: number[] }[] = [];
const mark = (at: string): void => {
  loads.push({ at, load: load() });
};
const KiB = 1024;
const MiB = 1024 * KiB;

/** Calls of fn per second, fn awaited by `concurrency` loops at once; median of REPS. */
async function awaitedOps(fn: () => Promise<unknown>, concurrency: number): Promise<number> {
  const run = async (ms: number): Promise<number> => {
    // The clock, not a timer: inline calls resolve in microtasks, a timer would never fire.
    let n = 0;
    const t0 = performance.now();
    const end = t0 + ms;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (;;) {
        await fn();
        if ((++n & 63) === 0 && performance.now() >= end) break;
      }
    }));
    return (n * 1000) / (performance.now() - t0);
  };
  await run(MS / 4); // warm-up
  const reps: number[] = [];
  for (let r = 0; r < REPS; r++) reps.push(await run(MS));
  return median(reps);
}

/** Synchronous calls of fn per second; median of REPS. */
function syncOps(fn: () => void): number {
  const run = (ms: number): number => {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < ms) {
      for (let i = 0; i < 256; i++) fn();
      n += 256;
      t = performance.now();
    }
    return (n * 1000) / (t - t0);
  };
  run(MS / 4);
  const reps: number[] = [];
  for (let r = 0; r < REPS; r++) reps.push(run(MS));
  return median(reps);
}

/** GB/s of `bytes` per call of fn (awaited), median of `reps` timed calls after one warm-up. */
async function gbps(bytes: number, fn: () => unknown, reps: number): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await fn();
    xs.push(bytes / ((performance.now() - t0) * 1e6));
  }
  return median(xs);
}

const round = (x: number, d = 2): number => +x.toFixed(d);

// ---------------------------------------------------------------- (a) 4 KiB awaited memcpy

async function smallCopies(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  // Baselines: Buffer.copy on arena buffers (the same memory the API calls use: shared memory
  // copies are slower than on ordinary Buffers) and on ordinary Buffers; synchronous, so the
  // upper bound of any promise API. The ratios are against the arena one.
  let baseline = 0;
  {
    const dev = await Device.open({ engines: 1 });
    const src = dev.buffer(4 * KiB).fill(1);
    const dsts = Array.from({ length: 256 }, () => dev.buffer(4 * KiB));
    let k = 0;
    baseline = syncOps(() => src.copy(dsts[k++ & 255]));
    await dev.close();
  }
  const plainSrc = Buffer.alloc(4 * KiB, 1);
  const plainDst = Buffer.alloc(4 * KiB);
  out.bufferCopy4k = { opsPerSec: Math.round(baseline), plainBuffersOpsPerSec: Math.round(syncOps(() => plainSrc.copy(plainDst))) };

  for (const [name, opts] of [['default', {}], ['device', { inlineThreshold: 0 }]] as const) {
    const dev = await Device.open(opts);
    try {
      const slots = 256;
      const src = dev.buffer(4 * KiB).fill(7);
      const dsts = Array.from({ length: slots }, () => dev.buffer(4 * KiB));
      await dev.memcpy(dsts[0], src);
      await new Promise((r) => setTimeout(r, 100)); // the 'auto' calibration finishes
      const row: Record<string, unknown> = {};
      for (const c of [1, 64, 256]) {
        let k = 0;
        const ops = await awaitedOps(() => dev.memcpy(dsts[k++ % slots], src), c);
        row[`inFlight${c}`] = { opsPerSec: Math.round(ops), vsBufferCopy: round(ops / baseline, 3) };
      }
      const s = dev.stats();
      row.placement = s.ops.memcpy?.placement;
      row.inlineThresholds = s.inlineThresholds;
      row.batches = s.batches;
      // the batch builder: 256 memcpys per builder, several builders in flight
      for (const inflight of [1, 4]) {
        const per = 256;
        let k = 0;
        const builderOps = await awaitedOps(() => {
          const b = dev.batch();
          for (let i = 0; i < per; i++) b.memcpy(dsts[k++ % slots], src);
          return b.submit();
        }, inflight);
        row[`builder${per}x${inflight}`] = { descriptorsPerSec: Math.round(builderOps * per), vsBufferCopy: round((builderOps * per) / baseline, 3) };
      }
      out[name] = row;
    } finally {
      await dev.close();
    }
  }
  return out;
}

// ---------------------------------------------------------------- (b) 64 MiB memcpy

async function bigCopy(dev: Device): Promise<Record<string, unknown>> {
  const n = 64 * MiB;
  const src = dev.buffer(n).fill(3);
  const dst = dev.buffer(n).fill(0);
  const reps = quick ? 3 : 9;
  // interleaved, so that both see the same machine
  const api: number[] = [];
  const copy: number[] = [];
  await dev.memcpy(dst, src);
  src.copy(dst);
  for (let r = 0; r < reps; r++) {
    api.push(await gbps(n, () => dev.memcpy(dst, src), 1));
    copy.push(await gbps(n, () => src.copy(dst), 1));
  }
  const placement = dev.stats().ops.memcpy?.placement;
  dev.free(src.byteOffset);
  dev.free(dst.byteOffset);
  const a = median(api);
  const c = median(copy);
  return { memcpyGBps: round(a), bufferCopyGBps: round(c), ratio: round(a / c), placement, reps };
}

// ---------------------------------------------------------------- (c) event-loop delay

async function loopDelay(dev: Device): Promise<Record<string, unknown>> {
  const n = 64 * MiB;
  const rounds = 16; // 1 GiB
  const src = dev.buffer(n).fill(5);
  const dst = dev.buffer(n);
  await dev.memcpy(dst, src);
  const measure = async (copyOnce: () => Promise<unknown>): Promise<Record<string, number>> => {
    const h = monitorEventLoopDelay({ resolution: 1 });
    // a timer that keeps asking for the loop, as a server's traffic would
    const tick = setInterval(() => {}, 1);
    h.enable();
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) await copyOnce();
    const ms = performance.now() - t0;
    h.disable();
    clearInterval(tick);
    return { p50ms: round(h.percentile(50) / 1e6, 3), p99ms: round(h.percentile(99) / 1e6, 3), maxMs: round(h.max / 1e6, 3), GBps: round((rounds * n) / (ms * 1e6)) };
  };
  // Buffer.copy: each 64 MiB copy blocks the loop; yield between copies (the kind version).
  // Interleaved repetitions (1 GiB each); the median repetition by p99 is reported.
  const apiReps: Record<string, number>[] = [];
  const copyReps: Record<string, number>[] = [];
  for (let r = 0; r < (quick ? 1 : 5); r++) {
    apiReps.push(await measure(() => dev.memcpy(dst, src)));
    copyReps.push(await measure(async () => {
      src.copy(dst);
      await yieldToLoop();
    }));
  }
  const mid = (xs: Record<string, number>[]): Record<string, number> => [...xs].sort((x, y) => x.p99ms - y.p99ms)[xs.length >> 1];
  const api = mid(apiReps);
  const copy = mid(copyReps);
  dev.free(src.byteOffset);
  dev.free(dst.byteOffset);
  return {
    bytes: rounds * n,
    memcpy: api,
    bufferCopy: copy,
    p99Ratio: round(copy.p99ms / api.p99ms),
    reps: { memcpyP99ms: apiReps.map((x) => x.p99ms), bufferCopyP99ms: copyReps.map((x) => x.p99ms) },
  };
}

// ---------------------------------------------------------------- (d) CRC-32C

async function crc(dev: Device): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const n of [4 * KiB, 1 * MiB, 64 * MiB]) {
    const data = dev.buffer(n);
    for (let i = 0; i < n; i += 4096) data[i] = i * 31;
    const reps = n >= 64 * MiB ? (quick ? 3 : 5) : n >= MiB ? 15 : 0;
    let api: number;
    let native: number;
    if (reps > 0) {
      api = await gbps(n, () => dev.crc32c(data), reps);
      native = await gbps(n, () => nativeCrc(data), reps);
    } else {
      // small: calls per second, awaited one at a time (inline here: below the threshold)
      api = ((await awaitedOps(() => dev.crc32c(data), 1)) * n) / 1e9;
      native = (syncOps(() => nativeCrc(data)) * n) / 1e9;
    }
    // the pure-JS one is ~0.1 GB/s: fewer repetitions on 64 MiB
    const aws = await gbps(n, () => awsCrc(data), n >= 64 * MiB ? 1 : 5);
    if ((await dev.crc32c(data)) !== nativeCrc(data) || awsCrc(data) !== nativeCrc(data)) throw new Error('CRC-32C results differ');
    out[`${n / KiB} KiB`] = {
      crc32cGBps: round(api),
      nodeRsGBps: round(native),
      awsGBps: round(aws, 3),
      vsNodeRs: round(api / native),
      vsAws: round(api / aws, 1),
      placement: dev.stats().ops.crc32c?.placement,
    };
    dev.free(data.byteOffset);
  }
  return out;
}

// ---------------------------------------------------------------- run

const fp = fingerprint();
console.log(`softdsa api bench on ${fp.cpu} (${fp.cores} cores), Node ${fp.node}; load average ${load().join(' ')}`);
const started = performance.now();
mark('start');
const a = await smallCopies();
mark('a');
const dev = await Device.open({ arenaBytes: 512 * MiB });
let b: Record<string, unknown>;
let c: Record<string, unknown>;
let d: Record<string, unknown>;
try {
  b = await bigCopy(dev);
  mark('b');
  c = await loopDelay(dev);
  mark('c');
  d = await crc(dev);
  mark('d');
} finally {
  await dev.close();
}

const result = { fingerprint: fp, loads, seconds: round((performance.now() - started) / 1000, 1), quick, a, b, c, d };
const here = dirname(fileURLToPath(import.meta.url));
if (!quick) {
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'api.json'), `${JSON.stringify(result, null, 2)}\n`);
}

// a compact table
const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
const rows: string[][] = [['case', 'softdsa', 'baseline (same run)', 'ratio']];
const base4k = (a.bufferCopy4k as { opsPerSec: number }).opsPerSec;
for (const name of ['default', 'device'] as const) {
  const r = a[name] as Record<string, { opsPerSec?: number; descriptorsPerSec?: number }>;
  for (const c of [1, 64, 256]) {
    const ops = r[`inFlight${c}`].opsPerSec as number;
    rows.push([`(a) 4 KiB memcpy awaited, ${c} in flight, ${name}`, `${n0(ops)} ops/s`, `Buffer.copy ${n0(base4k)}/s`, (ops / base4k).toFixed(2)]);
  }
  for (const k of ['builder256x1', 'builder256x4']) {
    const v = r[k].descriptorsPerSec as number;
    rows.push([`(a) batch builder, ${k.replace('builder', '').replace('x', ' calls, ')} in flight, ${name}`, `${n0(v)} desc/s`, '', (v / base4k).toFixed(2)]);
  }
  rows.push([`    placement (${name})`, JSON.stringify((a[name] as Record<string, unknown>).placement), '', '']);
}
const B = b as { memcpyGBps: number; bufferCopyGBps: number; ratio: number };
rows.push(['(b) 64 MiB memcpy', `${B.memcpyGBps} GB/s`, `Buffer.copy ${B.bufferCopyGBps} GB/s`, String(B.ratio)]);
const C = c as { memcpy: Record<string, number>; bufferCopy: Record<string, number>; p99Ratio: number };
rows.push(['(c) loop delay p99 while copying 1 GiB', `${C.memcpy.p99ms} ms (max ${C.memcpy.maxMs}, ${C.memcpy.GBps} GB/s)`, `Buffer.copy ${C.bufferCopy.p99ms} ms (max ${C.bufferCopy.maxMs}, ${C.bufferCopy.GBps} GB/s)`, String(C.p99Ratio)]);
for (const [size, v] of Object.entries(d as Record<string, Record<string, number>>)) {
  rows.push([`(d) crc32c ${size}`, `${v.crc32cGBps} GB/s`, `@node-rs ${v.nodeRsGBps}, @aws-crypto ${v.awsGBps} GB/s`, `${v.vsNodeRs} / ${v.vsAws}`]);
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((x, i) => x.padEnd(w[i])).join('  '));
console.log(`load average: ${loads.map((l) => `${l.at} ${l.load[0]}`).join(', ')}; ${result.seconds} s`);
