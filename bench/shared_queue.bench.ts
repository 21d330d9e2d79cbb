// A submission storm on one shared work queue: T threads (1, 2, 4) each submitting their share of
// N 8-byte fills through a 16-slot shared WQ, 64 in flight per thread, every first try with
// { retry: false } and, when refused (QUEUE_FULL), again waiting for room: the test's storm
// (test/reliability.test.ts) in figures. Reported: descriptors/s (median of ROUNDS, thread counts
// taking turns within a round), refusals, and each count's rate against one thread's in the run.
// Where more threads than cores wait for room, how they wait decides: polling for it took the
// cores from the threads that hold the slots and from the engines (4 threads: 0.13x one thread's
// rate); a sleep until a reap (WorkQueue.whenRoom) does not.
//
// node --import tsx bench/shared_queue.bench.ts [--quick]  -> table on stdout, bench/results/shared_queue.json
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Device } from '../src/index.ts';
import { fingerprint, load, median } from './harness.ts';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;
const N = quick ? 40_000 : 100_000;
const COUNTS = [1, 2, 4];
const CELLS = 4096;
const entry = fileURLToPath(new URL('../test/fixtures/storm.ts', import.meta.url));
const boot = fileURLToPath(new URL('../test/fixtures/boot.cjs', import.meta.url));

/** One storm of N descriptors from `threads` threads: seconds and refusals. */
async function storm(dev: Device, threads: number): Promise<{ s: number; refused: number }> {
  const bases = Array.from({ length: threads }, () => dev.alloc(8 * CELLS, 8));
  const t0 = performance.now();
  const ws = bases.map((base, id) => new Worker(boot, { workerData: { entry, handle: dev.handle, base, cells: CELLS, count: N / threads, id: id + 1 } }));
  try {
    const rs = await Promise.all(ws.map((w) => new Promise<{ ok: number; refused: number }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    })));
    const s = (performance.now() - t0) / 1000;
    if (rs.some((r) => r.ok !== N / threads)) throw new Error('a storm thread completed fewer descriptors than it submitted');
    return { s, refused: rs.reduce((a, r) => a + r.refused, 0) };
  } finally {
    await Promise.all(ws.map((w) => w.terminate()));
    for (const b of bases) dev.free(b);
  }
}

const dev = await Device.open({ engines: 2, wqSize: 16, wqMode: 'shared', arenaBytes: 4 << 20 });
const res = new Map<number, { s: number; refused: number }[]>(COUNTS.map((t) => [t, []]));
console.log(`${N} fills of 8 bytes through a 16-slot shared WQ, 2 engines, from 1, 2 and 4 threads (64 in flight each); load ${load().join(' ')}`);
try {
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [...COUNTS].reverse() : COUNTS;
    for (const t of order) res.get(t)!.push(await storm(dev, t));
  }
} finally {
  await dev.close();
}
const rows = COUNTS.map((threads) => {
  const s = median(res.get(threads)!.map((x) => x.s));
  return { threads, perSecond: Math.round(N / s), refused: Math.round(median(res.get(threads)!.map((x) => x.refused))), reps: res.get(threads)!.map((x) => Math.round(N / x.s)) };
});
for (const r of rows) console.log(`  ${r.threads} thread${r.threads > 1 ? 's' : ''}: ${r.perSecond} descriptors/s (${(r.perSecond / rows[0].perSecond).toFixed(2)}x one thread), ${r.refused} refused first`);
const out = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}shared_queue.json`, `${JSON.stringify({ date: new Date().toISOString(), machine: fingerprint(), descriptors: N, rows }, null, 2)}\n`);
