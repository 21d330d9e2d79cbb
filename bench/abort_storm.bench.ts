// The event loop while many file calls are aborted at once: 12 calls on a 256 MiB file (half
// crc32cFile read into arena chunks, half copyFileCrc32c to tmpfs) aborted 40 ms in; the longest
// gap between 1 ms ticks over the next 300 ms, beside the same window with no calls (the same
// process, engines up). Their arena chunks go back zeroed: once zeroed in one go (20-40 ms of the
// loop here), now a slice per turn (src/device/wiper.ts). Medians and the worst of 7 rounds.
//
// node --import tsx bench/abort_storm.bench.ts  -> stdout, bench/results/abort_storm.json
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFileCrc32c, crc32cFile, defaultDevice, ready, shutdown } from '../src/index.ts';
import { fingerprint, load, median } from './harness.ts';

const ROUNDS = 7;
const CALLS = 12;
const dir = join(tmpdir(), `softdsa-abort-storm-${process.pid}`);
mkdirSync(dir, { recursive: true });
const file = join(dir, 'data.bin');
writeFileSync(file, randomBytes(256 << 20));
const outDir = existsSync('/dev/shm') ? '/dev/shm' : dir;
const outs = Array.from({ length: CALLS }, (_, i) => join(outDir, `softdsa-abort-storm-${process.pid}-${i}.bin`));

/** The longest gap between 1 ms interval ticks over `ms`, while `during` runs at its start. */
async function longestGap(ms: number, during: () => void = () => {}): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  during();
  await new Promise((r) => setTimeout(r, ms));
  clearInterval(tick);
  return worst;
}

const fp = fingerprint();
console.log(`softdsa ${fp.softdsa} on ${fp.cpu} (${fp.cores} cores), Node ${fp.node}; load ${load().join(' ')}`);
defaultDevice();
await ready();
await crc32cFile(file); // (in the page cache, and the paths warm)
const idle: number[] = [];
const storm: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  idle.push(await longestGap(300));
  const ac = new AbortController();
  const calls = outs.map((out, i) => (i % 2 === 0 ? crc32cFile(file, { signal: ac.signal }) : copyFileCrc32c(file, out, { signal: ac.signal })).then(
    () => 'done',
    (e: { code?: string }) => e.code ?? String(e),
  ));
  await new Promise((r) => setTimeout(r, 40));
  storm.push(await longestGap(300, () => ac.abort()));
  const codes = await Promise.all(calls);
  if (codes.some((c) => c !== 'ABORT_ERR' && c !== 'done')) throw new Error(`unexpected outcomes: ${codes.join(', ')}`);
}
await shutdown();
rmSync(dir, { recursive: true, force: true });
for (const o of outs) rmSync(o, { force: true });

const row = (name: string, xs: number[]): { name: string; medianMs: number; worstMs: number; reps: number[] } => {
  console.log(`${name.padEnd(58)} median ${median(xs).toFixed(1).padStart(5)} ms, worst ${Math.max(...xs).toFixed(1).padStart(5)} ms`);
  return { name, medianMs: median(xs), worstMs: Math.max(...xs), reps: xs };
};
const rows = [row('longest event-loop gap, idle (engines up, no calls)', idle), row(`longest event-loop gap, ${CALLS} file calls aborted at once`, storm)];
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/abort_storm.json', import.meta.url), JSON.stringify({ machine: fp, date: new Date().toISOString(), rows }, null, 2) + '\n');
console.log('saved bench/results/abort_storm.json');
