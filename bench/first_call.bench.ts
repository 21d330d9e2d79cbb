// How a user's first and occasional calls fare, not only tight loops (issue 12).
//
//   (a) cold start: fresh processes (bench/cold-child.mjs, the compiled package as a user
//       imports it): import, the first call, the first ten calls; the same for the native
//       baselines (@node-rs/crc32, Buffer.copy) in fresh processes of their own. Reported as
//       min / median / max over REPS processes, alternating softdsa and baseline.
//   (b) occasional calls: a gap of 0, 5 or 50 ms of idle before each call (16 MiB crc32c of
//       arena bytes; 64 MiB memcpy), against the same gaps for the baseline on the same bytes,
//       and the 64 MiB memcpy alternating with main-thread work (a 64 MiB Buffer.copy of other
//       buffers) against Buffer.copy and against two plain threads copying the same bytes (the
//       ceiling of memory bandwidth on two cores): median of 15, p90; and started, overlapped
//       with 3 ms of main-thread work, then awaited, against Buffer.copy and the same work.
//   (c) the awaited round trip: await dev.submit() of one 4 KiB memmove and await memcpy()
//       forced onto the device (inlineThreshold 0), one in flight, in a process of its own on the
//       compiled package (bench/round-trip-child.mjs).
//   (d) event-loop delay p99 over windows of 1 GiB copied (default options), beside the same
//       copies by two plain threads and idle windows of the same length (the machine's floor).
//   (e) whole programs: a one-shot script's wall time from spawn to exit (crc32cFile of a
//       100 KB file; alloc() and a 1 MiB crc32c; `softdsa crc32c` of the file), against the same
//       script on fs and @node-rs/crc32, alternating, min / median / max over REPS processes.
// Writes bench/results/first_call.json.
//   node --import tsx bench/first_call.bench.ts [--quick]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { Device } from '../src/index.ts';
import { fingerprint, load, median } from './harness.ts';
import { TwoThreadCopy } from './two_threads.ts';

const quick = process.argv.includes('--quick');
const REPS = quick ? 3 : 9;
const MiB = 1 << 20;
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
const stats = (xs: number[]): { min: number; median: number; max: number } => ({ min: round(Math.min(...xs)), median: round(median(xs)), max: round(Math.max(...xs)) });
const p = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- (a) cold start

interface Child { importMs: number; firstMs: number; first10Ms: number[]; deviceWarmMs?: number[]; openMs?: number; setupMs?: number; deferredOpenMs?: number; holdMaxMs?: number; placement?: Record<string, number> }

function child(which: string): Child {
  const script = fileURLToPath(new URL('./cold-child.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script, which], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cold-child ${which} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Child;
}

function coldStart(): Record<string, unknown> {
  const pairs: Array<[string, string]> = [
    ['crc-plain-1m', 'native-1m'],
    ['crc-arena-16m', 'native-16m'],
    ['copy-arena-16m', 'copy-native-16m'],
    ['open', 'native-1m'],
    ['hold-1m', 'hold-native-1m'],
  ];
  const out: Record<string, unknown> = {};
  for (const [mine, base] of pairs) {
    const a: Child[] = [];
    const b: Child[] = [];
    for (let r = 0; r < REPS; r++) {
      a.push(child(mine));
      b.push(child(base));
    }
    const warm = (c: Child): number => median(c.first10Ms.slice(5));
    out[mine] = {
      baseline: base,
      importMs: stats(a.map((c) => c.importMs)),
      baselineImportMs: stats(b.map((c) => c.importMs)),
      ...(mine === 'open' ? { openMs: stats(a.map((c) => c.openMs!)) } : {}),
      /** the default device's open, which comes after the first calls (what it costs this thread then) */
      ...(a[0].deferredOpenMs !== undefined ? { deferredOpenMs: stats(a.map((c) => c.deferredOpenMs!)) } : {}),
      firstMs: stats(a.map((c) => c.firstMs)),
      baselineFirstMs: stats(b.map((c) => c.firstMs)),
      /** the first call against a warm call of the same process (calls 6-10) */
      firstOverWarm: stats(a.map((c) => c.firstMs / warm(c))),
      /** the first call against warm calls on the device once its engines are ready (the first ten ran inline while they booted) */
      ...(a[0].deviceWarmMs !== undefined ? { firstOverDeviceWarm: stats(a.map((c) => c.firstMs / median(c.deviceWarmMs!))), deviceWarmMs: stats(a.map((c) => median(c.deviceWarmMs!))) } : {}),
      /** the event loop's longest hold in the 400 ms after the first call (the default device opening and starting its engines behind the program) */
      ...(a[0].holdMaxMs !== undefined ? { loopHoldMaxMs: stats(a.map((c) => c.holdMaxMs!)), baselineLoopHoldMaxMs: stats(b.map((c) => c.holdMaxMs!)) } : {}),
      first10TotalMs: stats(a.map((c) => c.first10Ms.reduce((x, y) => x + y, 0))),
      baselineFirst10TotalMs: stats(b.map((c) => c.first10Ms.reduce((x, y) => x + y, 0))),
      placement: a[0].placement,
    };
    const hold = out[mine] as { loopHoldMaxMs?: unknown; baselineLoopHoldMaxMs?: unknown };
    if (hold.loopHoldMaxMs !== undefined) console.log(`  (a) ${mine}: the event loop's longest hold in the 400 ms after the first call ${JSON.stringify(hold.loopHoldMaxMs)} ms; after ${base}'s ${JSON.stringify(hold.baselineLoopHoldMaxMs)} ms`);
    const later = (out[mine] as { deferredOpenMs?: unknown }).deferredOpenMs;
    const dw = (out[mine] as { firstOverDeviceWarm?: { median: number } }).firstOverDeviceWarm;
    console.log(`  (a) ${mine}: first ${JSON.stringify((out[mine] as { firstMs: unknown }).firstMs)} ms${dw === undefined ? '' : ` (${dw.median}x a warm device call)`}; baseline ${base} ${JSON.stringify((out[mine] as { baselineFirstMs: unknown }).baselineFirstMs)}${later === undefined ? '' : `; the device's open after them ${JSON.stringify(later)} ms`}`);
  }
  return out;
}

// ---------------------------------------------------------------- (b) occasional calls

async function occasional(): Promise<Record<string, unknown>> {
  const dev = await Device.open();
  const out: Record<string, unknown> = {};
  try {
    const n = 16 * MiB;
    const a = dev.buffer(n).fill(3);
    const plain = Buffer.from(a);
    await dev.crc32c(a);
    const times = quick ? 7 : 15;
    for (const gap of [0, 5, 50]) {
      const mine: number[] = [];
      const base: number[] = [];
      for (let i = 0; i < times; i++) {
        if (gap) await sleep(gap);
        let t = performance.now();
        await dev.crc32c(a);
        mine.push(performance.now() - t);
        if (gap) await sleep(gap);
        t = performance.now();
        nativeCrc32c(plain);
        base.push(performance.now() - t);
      }
      out[`crc32c 16 MiB, ${gap} ms idle before each`] = { ms: stats(mine), baselineMs: stats(base), ratioAtMedian: round(median(base) / median(mine)) };
      console.log(`  (b) crc32c 16 MiB after ${gap} ms idle: ${round(median(mine))} ms, @node-rs/crc32 ${round(median(base))} ms`);
    }
    const gap0 = (out['crc32c 16 MiB, 0 ms idle before each'] as { ms: { median: number } }).ms.median;
    const gap50 = (out['crc32c 16 MiB, 50 ms idle before each'] as { ms: { median: number } }).ms.median;
    out['crc32c 16 MiB: 50 ms idle over back-to-back'] = round(gap50 / gap0);
    dev.free(a.byteOffset);

    // 64 MiB memcpy alternating with main-thread work (a Buffer.copy of other 64 MiB), against
    // Buffer.copy, and against the ceiling: two plain threads copying the same bytes (two_threads.ts).
    const m = 64 * MiB;
    const src = dev.buffer(m).fill(5);
    const dst = dev.buffer(m).fill(0);
    const workA = Buffer.alloc(m, 1);
    const workB = Buffer.alloc(m, 2);
    const two = new TwoThreadCopy(dev.memory.buffer as unknown as SharedArrayBuffer, src.byteOffset, dst.byteOffset, m);
    await dev.memcpy(dst, src);
    src.copy(dst);
    await two.copy();
    const mine: number[] = [];
    const base: number[] = [];
    const ceiling: number[] = [];
    for (let i = 0; i < times; i++) {
      workA.copy(workB); // main-thread work between calls
      let t = performance.now();
      await dev.memcpy(dst, src);
      mine.push(performance.now() - t);
      workA.copy(workB);
      t = performance.now();
      src.copy(dst);
      base.push(performance.now() - t);
      workA.copy(workB);
      t = performance.now();
      await two.copy();
      ceiling.push(performance.now() - t);
    }
    await two.close();
    out['memcpy 64 MiB alternating with main-thread work'] = {
      ms: stats(mine),
      p90Ms: round(p(mine, 0.9)),
      baselineMs: stats(base),
      speedupAtMedian: round(median(base) / median(mine)),
      p90OverMedian: round(p(mine, 0.9) / median(mine)),
      /** two plain threads, each copying half, alternating the same way: what two cores' memory bandwidth allows */
      twoThreadCeilingMs: stats(ceiling),
      ceilingSpeedupAtMedian: round(median(base) / median(ceiling)),
      placement: dev.stats().ops.memcpy?.placement,
    };
    console.log(`  (b) memcpy 64 MiB alternating: ${round(median(mine))} ms vs Buffer.copy ${round(median(base))} ms (${round(median(base) / median(mine))}x); two plain threads ${round(median(ceiling))} ms (${round(median(base) / median(ceiling))}x)`);

    // The same call started, then WORK_MS of this thread's own work, then awaited (what an
    // offload is for), against Buffer.copy followed by the same work.
    const WORK_MS = 3;
    const work = (): void => {
      const end = performance.now() + WORK_MS;
      while (performance.now() < end);
    };
    const over: number[] = [];
    const overBase: number[] = [];
    for (let i = 0; i < times; i++) {
      workA.copy(workB);
      let t = performance.now();
      const pending = dev.memcpy(dst, src);
      work();
      await pending;
      over.push(performance.now() - t);
      workA.copy(workB);
      t = performance.now();
      src.copy(dst);
      work();
      overBase.push(performance.now() - t);
    }
    out[`memcpy 64 MiB started, ${WORK_MS} ms of main-thread work, then awaited`] = { ms: stats(over), baselineMs: stats(overBase), speedupAtMedian: round(median(overBase) / median(over)) };
    console.log(`  (b) memcpy 64 MiB overlapped with ${WORK_MS} ms of work: ${round(median(over))} ms vs Buffer.copy then the work ${round(median(overBase))} ms (${round(median(overBase) / median(over))}x)`);
  } finally {
    await dev.close();
  }
  return out;
}

// ---------------------------------------------------------------- (c) awaited round trip

async function roundTrip(): Promise<Record<string, unknown>> {
  // A process of its own on the compiled package (bench/round-trip-child.mjs), as a user's program.
  const script = fileURLToPath(new URL('./round-trip-child.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script, String(quick ? 5000 : 30000), '3'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`round-trip-child failed: ${r.stderr}`);
  const res = JSON.parse(r.stdout) as { submit: { p50: number; p99: number }[]; memcpy: { p50: number; p99: number }[]; placement: unknown };
  const med = (xs: { p50: number; p99: number }[], k: 'p50' | 'p99'): number => round(median(xs.map((x) => x[k])));
  const out = {
    'await submit() 4 KiB memmove, one in flight': { p50us: med(res.submit, 'p50'), p99us: med(res.submit, 'p99'), repsP50us: res.submit.map((x) => round(x.p50)) },
    'await memcpy() 4 KiB on the device, one in flight': { p50us: med(res.memcpy, 'p50'), p99us: med(res.memcpy, 'p99'), repsP50us: res.memcpy.map((x) => round(x.p50)), placement: res.placement },
  };
  console.log(`  (c) await submit() p50 ${out['await submit() 4 KiB memmove, one in flight'].p50us} us; await memcpy() p50 ${out['await memcpy() 4 KiB on the device, one in flight'].p50us} us`);
  return out;
}

// ---------------------------------------------------------------- (d) event-loop delay

/**
 * The event loop's delay (monitorEventLoopDelay, 1 ms resolution, a 1 ms timer asking for the
 * loop) over windows of three kinds, interleaved: 1 GiB copied through the API with the default
 * options (16 awaited 64 MiB memcpy calls on arena buffers, about 50 ms), the same 1 GiB by two
 * plain threads (two_threads.ts), and 50 ms of doing nothing. The idle windows are the machine's
 * own floor: with ~50 one-millisecond samples a window's p99 is about its worst delay, and a
 * vCPU the host holds back shows up there too.
 */
async function loopDelay(): Promise<Record<string, unknown>> {
  const reps = quick ? 3 : 10;
  const dev = await Device.open();
  const m = 64 * MiB;
  const src = dev.buffer(m).fill(1);
  const dst = dev.buffer(m);
  const two = new TwoThreadCopy(dev.memory.buffer as unknown as SharedArrayBuffer, src.byteOffset, dst.byteOffset, m);
  await dev.memcpy(dst, src);
  await two.copy();
  const kinds = { softdsa: () => dev.memcpy(dst, src), 'two plain threads': () => two.copy(), idle: null } as const;
  const p99s: Record<string, number[]> = { softdsa: [], 'two plain threads': [], idle: [] };
  try {
    for (let r = 0; r < reps; r++) {
      for (const [kind, copy] of Object.entries(kinds)) {
        const h = monitorEventLoopDelay({ resolution: 1 });
        const timer = setInterval(() => {}, 1);
        h.enable();
        if (copy === null) await sleep(50);
        else for (let i = 0; i < 16; i++) await copy();
        h.disable();
        clearInterval(timer);
        p99s[kind].push(h.percentile(99) / 1e6);
      }
    }
  } finally {
    await two.close();
    await dev.close();
  }
  const out: Record<string, unknown> = {};
  for (const [kind, xs] of Object.entries(p99s)) {
    out[kind] = { p99Ms: stats(xs), windowsOver2ms: `${xs.filter((x) => x >= 2).length}/${xs.length}` };
    console.log(`  (d) loop delay p99, ${kind}: median ${round(median(xs))} ms, max ${round(Math.max(...xs))} ms, ${xs.filter((x) => x >= 2).length}/${xs.length} windows over 2 ms`);
  }
  return out;
}

// ---------------------------------------------------------------- (e) whole programs

function wholePrograms(): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'softdsa-whole-'));
  const file = join(dir, 'f100k');
  writeFileSync(file, randomBytes(100_000));
  const dist = new URL('../dist/src/index.js', import.meta.url).href;
  const bin = fileURLToPath(new URL('../bin/softdsa.js', import.meta.url));
  const f = JSON.stringify(file);
  const native = `const { crc32c } = (await import('node:module')).createRequire(${JSON.stringify(import.meta.url)})('@node-rs/crc32');`;
  const script = (code: string): string[] => ['--input-type=module', '-e', code];
  const cases: Array<[string, string[], string[]]> = [
    ['crc32cFile 100 KB', script(`const m = await import('${dist}'); console.log(await m.crc32cFile(${f}));`), script(`${native} const { readFile } = await import('node:fs/promises'); console.log(crc32c(await readFile(${f})));`)],
    ['alloc() + crc32c 1 MiB', script(`const m = await import('${dist}'); console.log(await m.crc32c(m.alloc(1 << 20).fill(7)));`), script(`${native} console.log(crc32c(Buffer.alloc(1 << 20, 7)));`)],
    ['softdsa crc32c 100 KB', [bin, 'crc32c', file], script(`${native} const { readFileSync } = await import('node:fs'); console.log(crc32c(readFileSync(${f})).toString(16).padStart(8, '0') + '  ' + ${f});`)],
  ];
  const out: Record<string, unknown> = {};
  const wall = (args: string[]): number => {
    const t = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    return performance.now() - t;
  };
  for (const [name, mine, base] of cases) {
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < REPS; r++) {
      a.push(wall(mine));
      b.push(wall(base));
    }
    out[name] = { wallMs: stats(a), baselineWallMs: stats(b), overBaseline: round(median(a) / median(b)) };
    console.log(`  (e) ${name}: ${JSON.stringify(stats(a))} ms; fs + @node-rs/crc32 ${JSON.stringify(stats(b))} ms (${round(median(a) / median(b))}x)`);
  }
  rmSync(dir, { recursive: true, force: true });
  return out;
}

const loadBefore = load();
const started = performance.now();
console.log(`softdsa first and occasional calls${quick ? ' (--quick)' : ''}; load ${loadBefore.join(' ')}`);
const result = {
  date: new Date().toISOString(),
  machine: fingerprint(),
  coldStart: coldStart(),
  occasional: await occasional(),
  roundTrip: await roundTrip(),
  loopDelay: await loopDelay(),
  wholePrograms: wholePrograms(),
  load: { before: loadBefore, after: load() },
  seconds: 0,
};
result.seconds = round((performance.now() - started) / 1000, 1);
if (!quick) {
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL('./results/first_call.json', import.meta.url);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${file.pathname}`);
}
