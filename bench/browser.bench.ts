// softdsa in the browser, measured in headless Chromium (npm run bench:browser; part of npm run
// bench): CRC-32C of 256 MiB with 2 engines (Web Workers) against hash-wasm's CRC-32C on the main
// thread, in the same page and run, and the main thread's requestAnimationFrame gaps meanwhile.
// -> bench/results/browser.json
import { mkdirSync, writeFileSync } from 'node:fs';
import { fingerprint, load } from './harness.ts';
import { startRig } from '../test/browser_rig.ts';

const MIB = Number(process.env.BENCH_MIB ?? 256);
const REPS = Number(process.env.BENCH_REPS ?? 10);

const before = load();
const rig = await startRig('bench/browser_page.ts', 'bench');
try {
  const page = await rig.open();
  const version = await rig.browser.version();
  const r = (await page.evaluate((m, n) => (globalThis as any).softdsaBench.crcBench(m, n), MIB, REPS)) as Record<string, any>;
  const result = { date: new Date().toISOString(), machine: fingerprint(), browser: version, loadBefore: before, loadAfter: load(), ...r };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/browser.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
  const f = (x: number | null, d = 2): string => (typeof x === 'number' ? x.toFixed(d) : '-');
  console.log(`${version}, ${r.hardwareConcurrency} cores; load ${before.join(' ')}`);
  console.log(`CRC-32C of ${MIB} MiB: softdsa (2 engines) ${f(r.softdsa.gbps)} GB/s (median of ${r.softdsa.reps}, ${f(r.softdsa.medianMs, 1)} ms); hash-wasm (main thread) ${f(r.hashWasm.gbps)} GB/s (${f(r.hashWasm.medianMs, 1)} ms): ${f(r.speedup, 1)}x; same CRC: ${r.sameCrc}`);
  console.log(`the same bytes in an ordinary ArrayBuffer (staged through the arena): ${f(r.staged.gbps)} GB/s (${f(r.staged.medianMs, 1)} ms); same CRC: ${r.staged.sameCrc}`);
  const g = r.rafGapMs;
  console.log(`requestAnimationFrame gap p50/p99/max, ms: idle ${f(g.idle.p50, 1)}/${f(g.idle.p99, 1)}/${f(g.idle.max, 1)}; during softdsa ${f(g.softdsa.p50, 1)}/${f(g.softdsa.p99, 1)}/${f(g.softdsa.max, 1)} (${g.softdsa.frames} frames, ${g.softdsa.over25ms} over 25 ms); staged ${f(g.staged.p50, 1)}/${f(g.staged.p99, 1)}/${f(g.staged.max, 1)}; during hash-wasm ${f(g.hashWasm.p50, 1)}/${f(g.hashWasm.p99, 1)}/${f(g.hashWasm.max, 1)}`);
  console.log('-> bench/results/browser.json');
} finally {
  await rig.close();
}
