// The browser bench's page (bundled by browser.bench.ts): in one page and one run, CRC-32C of
// the same bytes by softdsa (2 engines, Web Workers) and by hash-wasm on the main thread, and
// the main thread's requestAnimationFrame gaps meanwhile (how responsive the page stays).
import { createCRC32 } from 'hash-wasm';
// @ts-expect-error: a URL, resolved by the browser (the built browser module; its types are src/browser/index.ts)
import * as softdsaUrl from '/dist/browser/softdsa.js';

type Softdsa = typeof import('../src/browser/index.ts');
const softdsa = softdsaUrl as Softdsa;

const MiB = 1 << 20;
const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (xs: number[]): number => pct(xs, 0.5);

/** Gaps between animation frames while `fn` runs (the first frame after it starts, to the last before it ends). */
async function framesDuring<T>(fn: () => Promise<T>): Promise<{ value: T; gaps: number[] }> {
  const gaps: number[] = [];
  let last = -1;
  let on = true;
  const tick = (t: number): void => {
    if (last >= 0) gaps.push(t - last);
    last = t;
    if (on) requestAnimationFrame(tick);
  };
  await new Promise((r) => requestAnimationFrame(r)); // in step with the frames
  requestAnimationFrame(tick);
  const value = await fn();
  on = false;
  await new Promise((r) => requestAnimationFrame(r)); // the frame it delayed, if it did
  return { value, gaps };
}

/** Runs fn `reps` times, and more until `minMs` went by; the times in ms and the last result. */
async function repeat(reps: number, minMs: number, fn: () => Promise<number> | number): Promise<{ ms: number[]; crc: number }> {
  const ms: number[] = [];
  let crc = 0;
  const start = performance.now();
  while (ms.length < reps || performance.now() - start < minMs) {
    const t0 = performance.now();
    crc = await fn();
    ms.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 0)); // a turn for the page between calls (hash-wasm's hold it all along)
  }
  return { ms, crc };
}

async function crcBench(mib: number, reps: number): Promise<Record<string, unknown>> {
  softdsa.configure({ engines: 2, arenaBytes: (mib + 64) * MiB });
  await softdsa.ready();
  const size = mib * MiB;
  const data = softdsa.alloc(size);
  let x = 0x2545f491;
  const w = new Uint32Array(data.buffer, data.byteOffset, size >>> 2);
  for (let i = 0; i < w.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; w[i] = x; }
  const hasher = await createCRC32(0x82f63b78);
  const theirs = (): number => {
    hasher.init();
    hasher.update(data);
    return parseInt(hasher.digest('hex'), 16) >>> 0;
  };
  // Warm-up: each once over the whole input (tier-up, first touch by the engines).
  await softdsa.crc32c(data);
  theirs();
  const idle = await framesDuring(() => new Promise((r) => setTimeout(r, 1000)));
  const ours = await framesDuring(() => repeat(reps, 3000, () => softdsa.crc32c(data)));
  const hw = await framesDuring(() => repeat(reps, 0, theirs));
  // The same bytes in an ordinary ArrayBuffer (as File.arrayBuffer() gives): staged through the arena.
  const plain = data.slice();
  await softdsa.crc32c(plain);
  const staged = await framesDuring(() => repeat(reps, 0, () => softdsa.crc32c(plain)));
  const oursMs = median(ours.value.ms);
  const theirsMs = median(hw.value.ms);
  const frames = (g: number[]) => ({ frames: g.length, p50: pct(g, 0.5), p99: pct(g, 0.99), max: Math.max(...g), over25ms: g.filter((x) => x > 25).length });
  const st = softdsa.stats();
  await softdsa.shutdown();
  return {
    bytes: size,
    engines: 2,
    softdsa: { medianMs: oursMs, bestMs: Math.min(...ours.value.ms), gbps: size / oursMs / 1e6, reps: ours.value.ms.length, placement: st.ops.crc32c?.placement },
    staged: { medianMs: median(staged.value.ms), gbps: size / median(staged.value.ms) / 1e6, reps: staged.value.ms.length, sameCrc: staged.value.crc === ours.value.crc },
    hashWasm: { medianMs: theirsMs, bestMs: Math.min(...hw.value.ms), gbps: size / theirsMs / 1e6, reps: hw.value.ms.length },
    speedup: theirsMs / oursMs,
    sameCrc: ours.value.crc === hw.value.crc,
    crc: ours.value.crc,
    rafGapMs: { idle: frames(idle.gaps), softdsa: frames(ours.gaps), staged: frames(staged.gaps), hashWasm: frames(hw.gaps) },
    hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent,
  };
}

Object.assign(globalThis, { softdsaBench: { crcBench } });
document.title = 'ready';
