// Kernel throughput of the Wasm core, each beside its native baseline, in one process.
// Run: node --import tsx bench/kernels.bench.ts [--quick] [--only=<name part>]   (writes bench/results/kernels.json)
//
// One core instance over a shared WebAssembly.Memory laid out as the device lays it out (context,
// table region, arena); every kernel runs through execute() on a real descriptor (flags 0: no
// completion record), except "raw export": the core's crc32c export, no descriptor. Baselines run on
// Buffer views of the same arena memory: @node-rs/crc32 (N-API, SSE4.2), Buffer.compare,
// Buffer.copy and buffer.fill. One row runs an instance lent the addon's CRC (as engines are
// where the addon loads): its CRCGENs from 4 KiB run on three streams of the CPU's instruction.
// The machine is shared and noisy: each cell alternates kernel and baseline repetitions (7 each,
// >= 25 ms), reports the median of each, and the ratio of the medians. Wasm is warmed up past
// V8's tier-up (Liftoff -> TurboFan) before anything is timed.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Opcode, Desc, Ctx, Flag, Limit } from '../src/device/format.ts';
import { instantiateCore } from '../src/device/core.ts';
import { addonCrc } from '../src/device/cpu_crc.ts';
import { fingerprint, load, median } from './harness.ts';
import { bindNode, crc16Table, difProtect, loadNpmCrc16, type CrcFn } from '../src/cli/kernels.ts';

const require = createRequire(import.meta.url);
const { crc32c: nativeCrc32c } = require('@node-rs/crc32') as { crc32c(b: Buffer, init?: number): number };

const quick = process.argv.includes('--quick');
/** --only=<text>: the kernels whose name contains it (case-insensitive) */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).toLowerCase();
const KiB = 1024, MiB = 1024 * KiB;
const SIZES = [4 * KiB, 64 * KiB, MiB, 16 * MiB];
const DELTA_MAX_SIZE = 512 * KiB; // create-delta transfers are at most 512 KiB (status 0x13 above)

// ---- device memory: ctx, descriptor, table region, arena with three 16 MiB buffers
const CTX = 4096, DESC = 4224, IRQ = 4160, TABLES = 65536;
const SCRATCH = TABLES + Limit.CORE_TABLE_BYTES;
const ARENA = Math.ceil((SCRATCH + Limit.CORE_SCRATCH_BYTES) / 65536) * 65536;
const A = ARENA, B = A + 16 * MiB + 4096, C = B + 16 * MiB + 4096, REC = C + 16 * MiB + 4096, END = REC + 65536;
const memory = new WebAssembly.Memory({ initial: Math.ceil(END / 65536), maximum: 65535, shared: true });
const wasm = new WebAssembly.Module(readFileSync(new URL('../build/core.wasm', import.meta.url)));
type Core = { init(ctx: number, scratch: number): void; execute(d: number, c: number, i: number): number; crc32c(a: number, l: number, s: number, f: number): number };
const core = instantiateCore(wasm, memory) as unknown as Core;
// An instance lent the addon's CRC (three streams of the CPU's instruction), as engines are where it loads.
const lentCrc = addonCrc();
const hosted = lentCrc === null ? null : (instantiateCore(wasm, memory, { crc: lentCrc }) as unknown as Core);
const view = new DataView(memory.buffer);
const mem = new Uint8Array(memory.buffer);
view.setUint32(CTX + Ctx.ARENA_BASE, ARENA, true);
view.setUint32(CTX + Ctx.ARENA_END, END, true);
view.setUint32(CTX + Ctx.MAX_TRANSFER, Limit.MAX_TRANSFER_DEFAULT, true);
view.setUint32(CTX + Ctx.MAX_BATCH, 32, true);
view.setUint32(CTX + Ctx.TABLES, TABLES, true);
core.init(CTX, SCRATCH);
hosted?.init(CTX, SCRATCH); // (one instance runs at a time: they can share the scratch)

const PATTERN = 0x0123456789abcdefn;
for (let i = 0; i < 16 * MiB; i++) mem[A + i] = (Math.imul(i, 2654435761) >>> 13) & 0xff;
mem.copyWithin(B, A, A + 16 * MiB); // equal sources: compare and create-delta scan everything
const patBuf = Buffer.alloc(8);
patBuf.writeBigUInt64LE(PATTERN);
const buf = (at: number, n: number) => Buffer.from(memory.buffer, at, n);

function desc(op: number, n: number, w16: bigint, w24: bigint, w40 = 0n, w48 = 0n, flags = 0): void {
  for (let i = 0; i < 64; i += 8) view.setBigUint64(DESC + i, 0n, true);
  view.setUint32(DESC + Desc.FLAGS, flags & 0xffffff, true);
  view.setUint8(DESC + Desc.OPCODE, op);
  view.setBigUint64(DESC + 16, w16, true);
  view.setBigUint64(DESC + 24, w24, true);
  view.setUint32(DESC + Desc.XFER_SIZE, n, true);
  view.setBigUint64(DESC + 40, w40, true);
  view.setBigUint64(DESC + 48, w48, true);
}
const exec = (): void => {
  const s = core.execute(DESC, CTX, IRQ);
  if (s !== 1) throw new Error(`status 0x${s.toString(16)}`);
};

interface Kernel {
  name: string;
  baseline: string;
  sizes: number[];
  /** prepares memory and the descriptor for n bytes; returns the two timed bodies */
  setup(n: number): { wasm: () => void; native: () => void };
}
const big = BigInt;
const kernels: Kernel[] = [
  {
    name: 'CRC-32C (CRCGEN)', baseline: '@node-rs/crc32 crc32c', sizes: SIZES,
    setup: (n) => { desc(Opcode.CRCGEN, n, big(A), 0n); const b = buf(A, n); return { wasm: exec, native: () => nativeCrc32c(b) }; },
  },
  ...(hosted === null ? [] : [{
    name: "CRC-32C (CRCGEN), through the addon's CRC", baseline: '@node-rs/crc32 crc32c', sizes: SIZES,
    setup: (n: number) => {
      desc(Opcode.CRCGEN, n, big(A), 0n);
      const b = buf(A, n);
      return { wasm: () => void hosted.execute(DESC, CTX, IRQ), native: () => nativeCrc32c(b) };
    },
  }]),
  {
    name: 'CRC-32C, data reflection bypassed', baseline: '@node-rs/crc32 crc32c', sizes: SIZES,
    setup: (n) => { desc(Opcode.CRCGEN, n, big(A), 0n, 0n, 0n, Flag.CRC_BYPASS_DATA_REFLECT); const b = buf(A, n); return { wasm: exec, native: () => nativeCrc32c(b) }; },
  },
  {
    name: 'CRC-32C, raw export', baseline: '@node-rs/crc32 crc32c', sizes: SIZES,
    setup: (n) => { const b = buf(A, n); return { wasm: () => core.crc32c(A, n, 0, 0), native: () => nativeCrc32c(b) }; },
  },
  {
    name: 'copy + CRC-32C (COPY_CRC)', baseline: 'Buffer.copy, then @node-rs/crc32', sizes: SIZES,
    setup: (n) => {
      desc(Opcode.COPY_CRC, n, big(A), big(C));
      const a = buf(A, n), c = buf(C, n);
      return { wasm: exec, native: () => { a.copy(c); nativeCrc32c(c); } };
    },
  },
  {
    name: 'compare (equal)', baseline: 'Buffer.compare', sizes: SIZES,
    setup: (n) => { desc(Opcode.COMPARE, n, big(A), big(B)); const a = buf(A, n), b = buf(B, n); return { wasm: exec, native: () => Buffer.compare(a, b) }; },
  },
  {
    name: 'compare pattern (match)', baseline: 'Buffer.compare', sizes: SIZES,
    setup: (n) => {
      buf(C, n).fill(patBuf); // C holds the pattern, B a copy for the baseline
      buf(B, n).fill(patBuf);
      desc(Opcode.COMPVAL, n, big(C), PATTERN);
      const c = buf(C, n), b = buf(B, n);
      return { wasm: exec, native: () => Buffer.compare(c, b) };
    },
  },
  {
    name: 'create delta (equal sources)', baseline: 'Buffer.compare', sizes: [4 * KiB, 64 * KiB, DELTA_MAX_SIZE],
    setup: (n) => {
      mem.copyWithin(B, A, A + n);
      desc(Opcode.CR_DELTA, n, big(A), big(B), big(REC), 80n);
      const a = buf(A, n), b = buf(B, n);
      return { wasm: exec, native: () => Buffer.compare(a, b) };
    },
  },
  {
    name: 'memmove', baseline: 'Buffer.copy', sizes: SIZES,
    setup: (n) => { desc(Opcode.MEMMOVE, n, big(A), big(B)); const a = buf(A, n), b = buf(B, n); return { wasm: exec, native: () => a.copy(b) }; },
  },
  {
    name: 'fill', baseline: 'buffer.fill (8-byte pattern)', sizes: SIZES,
    setup: (n) => { desc(Opcode.MEMFILL, n, PATTERN, big(B)); const b = buf(B, n); return { wasm: exec, native: () => b.fill(patBuf) }; },
  },
  {
    name: 'dualcast', baseline: '2 × Buffer.copy', sizes: SIZES,
    setup: (n) => {
      desc(Opcode.DUALCAST, n, big(A), big(B), big(C));
      const a = buf(A, n), b = buf(B, n), c = buf(C, n);
      return { wasm: exec, native: () => { a.copy(b); a.copy(c); } };
    },
  },
  // DIF on 4 KiB blocks (the bench CLI's layout: data at A, its protected form at C, an update's
  // output after it), beside the per-block table CRC-16 a user would write, and the check beside
  // polycrc, the fastest CRC-16 T10-DIF on npm we measured.
  ...(['dif-check', 'dif-insert', 'dif-strip', 'dif-update'] as const).flatMap((op): Kernel[] => {
    const opcode = { 'dif-check': Opcode.DIF_CHECK, 'dif-insert': Opcode.DIF_INS, 'dif-strip': Opcode.DIF_STRP, 'dif-update': Opcode.DIF_UPDT }[op];
    const setup = (crc16: CrcFn) => (n: number) => {
      const prot = difProtect(mem.subarray(A, A + n));
      mem.set(prot, C);
      const insert = op === 'dif-insert';
      // src, dst, size: the protected form is the source of every op but insert
      desc(opcode, insert ? n : prot.length, big(insert ? A : C), big(op === 'dif-strip' ? B : insert ? C : C + prot.length), 0x20000n /* 4096-byte blocks */);
      return { wasm: exec, native: bindNode(memory.buffer, { op, size: n, a: op === 'dif-strip' ? B : A, b: 0, c: C, n: 0 }, { crc32c: (b) => nativeCrc32c(b as Buffer), crc16 }) as () => void };
    };
    const sizes = [4 * KiB, 64 * KiB, MiB];
    const rows: Kernel[] = [{ name: `DIF ${op.slice(4)} (4 KiB blocks)`, baseline: 'per-block table CRC-16', sizes, setup: setup(crc16Table) }];
    const npm = loadNpmCrc16();
    if (op === 'dif-check' && npm !== null) rows.push({ name: `DIF ${op.slice(4)} (4 KiB blocks)`, baseline: `${npm.name} CRC-16 per block`, sizes, setup: setup(npm.crc16) });
    return rows;
  }),
];

const REPS = quick ? 3 : 7;
const REP_MS = quick ? 10 : 25;
/** GB/s of one repetition: calls fn for at least REP_MS. */
function rep(fn: () => void, n: number): number {
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    for (let i = 0; i < 8; i++) fn();
    calls += 8;
    t = performance.now();
  } while (t - t0 < REP_MS);
  return (calls * n) / ((t - t0) * 1e6);
}
function warm(fn: () => void, ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) fn();
}

export interface Cell { size: number; wasm: number; native: number; ratio: number; wasmReps: number[]; nativeReps: number[] }
export interface Row { kernel: string; baseline: string; cells: Cell[] }

export function run(): Row[] {
  const rows: Row[] = [];
  for (const k of kernels) {
    if (only !== undefined && !k.name.toLowerCase().includes(only)) continue;
    const cells: Cell[] = [];
    for (const n of k.sizes) {
      const { wasm, native } = k.setup(n);
      warm(wasm, quick ? 100 : 300); // past Liftoff, into TurboFan code
      warm(native, 50);
      const w: number[] = [], b: number[] = [];
      for (let r = 0; r < REPS; r++) {
        w.push(rep(wasm, n));
        b.push(rep(native, n));
      }
      const wm = median(w), bm = median(b);
      cells.push({ size: n, wasm: wm, native: bm, ratio: wm / bm, wasmReps: w, nativeReps: b });
    }
    rows.push({ kernel: k.name, baseline: k.baseline, cells });
  }
  return rows;
}

/**
 * The CRC of 16 MiB that is not in the cache, as a first call, a call after idle or a mapped
 * file's pages meet it: 256 MiB of other memory is written before each call (median of REPS
 * alternating calls, each timed alone).
 */
export function cold(): { size: number; wasm: number; native: number; ratio: number } {
  const n = 16 * MiB;
  const other = Buffer.alloc(256 * MiB);
  const b = buf(A, n);
  const once = (fn: () => void): number => {
    other.fill(other[0] + 1);
    const t = performance.now();
    fn();
    return n / ((performance.now() - t) * 1e6);
  };
  const w: number[] = [], x: number[] = [];
  for (let r = 0; r < 2 * REPS + 1; r++) {
    w.push(once(() => core.crc32c(A, n, 0, 0)));
    x.push(once(() => nativeCrc32c(b)));
  }
  const wm = median(w), xm = median(x);
  return { size: n, wasm: wm, native: xm, ratio: wm / xm };
}

const label = (n: number): string => (n >= MiB ? `${n / MiB} MiB` : `${n / KiB} KiB`);
export function table(rows: Row[]): string {
  const out = ['| kernel | baseline | ' + ['4 KiB', '64 KiB', '512 KiB / 1 MiB', '16 MiB'].join(' | ') + ' |', '|---|---|---:|---:|---:|---:|'];
  for (const r of rows) {
    const cells = [0, 1, 2, 3].map((i) => {
      const c = r.cells[i];
      return c ? `${c.wasm.toFixed(1)} / ${c.native.toFixed(1)} = **${c.ratio.toFixed(2)}**${c.size === DELTA_MAX_SIZE ? ' (512 KiB)' : ''}` : '—';
    });
    out.push(`| ${r.kernel} | ${r.baseline} | ${cells.join(' | ')} |`);
  }
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('kernels.bench.ts')) {
  const loadBefore = load();
  const started = performance.now();
  const rows = run();
  const fromMemory = only === undefined || 'crc-32c, from memory'.includes(only) ? cold() : null;
  const loadAfter = load();
  console.log(`softdsa kernels, GB/s: wasm / native = ratio (median of ${REPS} alternating reps); load ${loadBefore.join(' ')} -> ${loadAfter.join(' ')}`);
  console.log(table(rows));
  if (fromMemory !== null) console.log(`CRC-32C (raw export) of 16 MiB from memory (256 MiB written before each call): ${fromMemory.wasm.toFixed(1)} / ${fromMemory.native.toFixed(1)} = ${fromMemory.ratio.toFixed(2)}`);
  if (!quick && only === undefined) {
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    const file = new URL('./results/kernels.json', import.meta.url);
    writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine: fingerprint(), load: { before: loadBefore, after: loadAfter }, seconds: (performance.now() - started) / 1000, sizes: SIZES.map(label), rows, crcFromMemory: fromMemory }, null, 2) + '\n');
    console.log(`wrote ${file.pathname}`);
  }
}
