// Copies whose stores bypass the cache (cacheBypassBytes, DSA's cache-control flag left clear)
// against the same copies through the cache (cacheBypassBytes: 0), and Buffer.copy beside them,
// in one run: awaited memcpy of 1, 4, 16 and 64 MiB of arena memory, back-to-back (the bytes
// still in the cache from the last copy, where they fit) and after 64 MiB of other main-thread
// copying (cold, as a call after other work finds them). The two devices take turns, round by
// round; medians of ROUNDS calls.
//
// node --import tsx bench/cache_bypass.bench.ts [--quick]  -> table on stdout, bench/results/cache_bypass.json
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Device } from '../src/index.ts';
import { fingerprint, load, median } from './harness.ts';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 5 : 15;
const MiB = 1 << 20;
const SIZES = [1, 4, 16, 64].map((m) => m * MiB);
const other = [Buffer.alloc(64 * MiB, 1), Buffer.alloc(64 * MiB, 2)];
const evict = (): void => void other[0].copy(other[1]);
const round = (x: number): number => Math.round(x * 1000) / 1000;

const devices = { bypass: await Device.open(), cached: await Device.open({ cacheBypassBytes: 0 }) };
const bufs = Object.fromEntries(Object.entries(devices).map(([k, d]) => [k, { src: d.buffer(64 * MiB).fill(3), dst: d.buffer(64 * MiB) }]));
const rows: Array<Record<string, unknown>> = [];
console.log(`cache bypass (${devices.bypass.options.cacheBypassBytes / MiB} MiB and up) against copies through the cache; load ${load().join(' ')}`);
try {
  for (const n of SIZES) {
    for (const cold of [false, true]) {
      const t: Record<string, number[]> = { bypass: [], cached: [], 'Buffer.copy': [] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const [k, dev] of Object.entries(devices)) {
          const { src, dst } = bufs[k];
          if (cold) evict();
          else await dev.memcpy(dst.subarray(0, n), src.subarray(0, n));
          const t0 = performance.now();
          await dev.memcpy(dst.subarray(0, n), src.subarray(0, n));
          t[k].push(performance.now() - t0);
        }
        const { src, dst } = bufs.cached;
        if (cold) evict();
        else src.copy(dst, 0, 0, n);
        const t0 = performance.now();
        src.copy(dst, 0, 0, n);
        t['Buffer.copy'].push(performance.now() - t0);
      }
      const m = Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, median(xs)]));
      const row = { MiB: n / MiB, data: cold ? 'cold' : 'in cache', bypassMs: round(m.bypass), cachedMs: round(m.cached), bufferCopyMs: round(m['Buffer.copy']), cachedOverBypass: round(m.cached / m.bypass), bufferCopyOverBypass: round(m['Buffer.copy'] / m.bypass) };
      rows.push(row);
      console.log(`  ${String(n / MiB).padStart(2)} MiB ${row.data.padEnd(8)}: bypass ${row.bypassMs} ms, through the cache ${row.cachedMs} ms (${row.cachedOverBypass}x), Buffer.copy ${row.bufferCopyMs} ms (${row.bufferCopyOverBypass}x)`);
    }
  }
} finally {
  for (const d of Object.values(devices)) await d.close();
}
const out = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}cache_bypass.json`, `${JSON.stringify({ date: new Date().toISOString(), machine: fingerprint(), rounds: ROUNDS, rows }, null, 2)}\n`);
