// Worker threads making drop-in calls, two ways, in one run, taking turns round by round:
//   own device  - each worker opens a device of its own (what the module-level calls do in a
//                 worker): engines of its own, one per core, all of them competing for the cores;
//   lent part   - the main thread opens one shared device and lends each worker a part of its
//                 arena (dev.lend): the workers' calls run on its engines.
// Each worker runs CALLS awaited crc32c calls of SIZE bytes of its arena memory, 8 in flight;
// reported: the wall time for all workers (median of ROUNDS), and the threads the process ran.
//
// node --import tsx bench/attached.bench.ts [--quick]  -> table on stdout, bench/results/attached.json
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Device } from '../src/index.ts';
import { fingerprint, load, median } from './harness.ts';

const quick = process.argv.includes('--quick');
const WORKERS = 2;
const ROUNDS = quick ? 3 : 7;
const SIZE = 1 << 20;
const CALLS = quick ? 200 : 1000;
const threads = (): number => readdirSync('/proc/self/task').length;

/** One worker's body, as a module evaluated through tsx's require hook (bench/attached_worker.ts). */
const entry = fileURLToPath(new URL('./attached_worker.ts', import.meta.url));
const boot = fileURLToPath(new URL('../test/fixtures/boot.cjs', import.meta.url));

async function round(mode: 'own' | 'lent', dev: Device | null): Promise<{ ms: number; threads: number }> {
  const handles = mode === 'lent' ? Array.from({ length: WORKERS }, () => dev!.lend(12 << 20)) : [];
  const workers = Array.from({ length: WORKERS }, (_, i) => new Worker(boot, { workerData: { entry, mode, handle: handles[i], size: SIZE, calls: CALLS } }));
  const ready = workers.map((w) => new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  }));
  await Promise.all(ready);
  const t0 = performance.now();
  const done = workers.map((w) => new Promise<number>((resolve) => w.once('message', (m: { threads: number }) => resolve(m.threads))));
  for (const w of workers) w.postMessage('go');
  await Promise.all(done);
  const ms = performance.now() - t0;
  const n = threads();
  await Promise.all(workers.map((w) => w.terminate()));
  for (const h of handles) {
    for (;;) {
      try {
        await dev!.reclaim(h);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }
  return { ms, threads: n };
}

const shared = await Device.open({ wqMode: 'shared' });
const res: Record<'own' | 'lent', { ms: number; threads: number }[]> = { own: [], lent: [] };
console.log(`${WORKERS} workers x ${CALLS} crc32c of ${SIZE >> 10} KiB (8 in flight each): own devices against parts lent by one; load ${load().join(' ')}`);
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of r % 2 ? (['lent', 'own'] as const) : (['own', 'lent'] as const)) res[mode].push(await round(mode, shared));
  }
} finally {
  await shared.close();
}
const rows = (['own', 'lent'] as const).map((mode) => {
  const ms = median(res[mode].map((x) => x.ms));
  const gbps = (WORKERS * CALLS * SIZE) / (ms / 1000) / 1e9;
  return { mode, ms: Math.round(ms * 10) / 10, gbps: Math.round(gbps * 10) / 10, threads: Math.max(...res[mode].map((x) => x.threads)), reps: res[mode].map((x) => Math.round(x.ms)) };
});
for (const r of rows) console.log(`  ${r.mode === 'own' ? 'a device per worker' : 'one device, lent parts'}: ${r.ms} ms (${r.gbps} GB/s), ${r.threads} threads in the process`);
console.log(`  lent / own: ${(rows[0].ms / rows[1].ms).toFixed(2)}x the throughput`);
const out = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}attached.json`, `${JSON.stringify({ date: new Date().toISOString(), machine: fingerprint(), workers: WORKERS, calls: CALLS, size: SIZE, rows }, null, 2)}\n`);
