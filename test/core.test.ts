// Tests of the Wasm core (build/core.wasm) against the spec and against test/reference.ts.
// Run: node --import tsx node_modules/uvu/bin.js test core.test
// Fuzz seed: FUZZ_SEED=<n> (printed on failure); FUZZ_N=<count> (default 100000).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageChannel } from 'node:worker_threads';
import { type Core, HOST_CRC_FROM, instantiateCore } from '../src/device/core.ts';
import { ForeignSpaces, runForeign } from '../src/device/foreign.ts';
import { Opcode, Flag, Status, Desc, Record as Rec, Limit, DeltaEntry } from '../src/device/format.ts';
import { referenceExecute, referenceCrc32c, ALLOWED_FLAGS, type RefCtx } from './reference.ts';
import { ARENA_LO, coreWasm, CTX, DESC, IRQ, PAGE, SCRATCH, TABLES, writeCtx } from './core_rig.ts';
import { crc32c as nodeRsCrc32c } from '@node-rs/crc32';
import { crc32c as awsCrc32c } from '@aws-crypto/crc32c';

// ---- memory layout of the test device (test/core_rig.ts): an arena of two pages
const PAGES = ARENA_LO / PAGE + 2;
const MEM_END = PAGES * PAGE;

const wasmModule = coreWasm();
const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
// env.foreign: the host's JS path for foreign address spaces (PASID != 0), here with no
// space registered: every PASID is an unmapped space, as the reference models it.
const noSpaces = new ForeignSpaces(new MessageChannel().port1);
const foreign = (desc: number, op: number, flags: number): number =>
  runForeign(new Uint8Array(memory.buffer as unknown as SharedArrayBuffer), desc, op, flags, noSpaces, core.setOutcome);
// env.streamCopy: the host's copy past the cache (the addon's, in engines); here a plain copy,
// counted, so that the kernel's choice of it can be checked against the reference.
let streamed = 0;
const streamCopy = (dst: number, src: number, n: number): void => {
  streamed++;
  mem.copyWithin(dst >>> 0, src >>> 0, (src >>> 0) + (n >>> 0));
};
// (instantiated as the host does it: src/device/core.ts)
const core = instantiateCore(wasmModule, memory, { foreign, streamCopy });
const mem = new Uint8Array(memory.buffer);
const view = new DataView(memory.buffer);

const CTX_DEFAULT: RefCtx = { arenaBase: ARENA_LO, arenaEnd: MEM_END, maxTransfer: Limit.MAX_TRANSFER_DEFAULT, maxBatch: 32, handles: 0b1011n | (1n << 63n) };
let ctx: RefCtx = CTX_DEFAULT;
function setCtx(c: Partial<RefCtx>) {
  ctx = { ...ctx, ...c };
  writeCtx(view, ctx);
}
setCtx({});
core.init(CTX, SCRATCH);
test.before.each(() => setCtx(CTX_DEFAULT)); // a failed test must not leave odd bounds behind

// ---- descriptors
interface D {
  op: number; flags?: number; rec?: number | bigint; src?: number | bigint; dst?: number | bigint; size?: number;
  handle?: number; w40?: bigint; w48?: bigint; w56?: bigint; res38?: number;
}
const RECORD = ARENA_LO + 32 * 1024; // default record slot, inside the arena
const big = (v: number | bigint | undefined) => BigInt.asUintN(64, BigInt(v ?? 0));
function writeDesc(m: DataView, at: number, d: D) {
  for (let i = 0; i < 64; i += 8) m.setBigUint64(at + i, 0n, true);
  m.setUint32(at + Desc.FLAGS, (d.flags ?? Flag.CRAV | Flag.RCR) & 0xffffff, true);
  m.setUint8(at + Desc.OPCODE, d.op);
  m.setBigUint64(at + Desc.COMPLETION, big(d.rec ?? RECORD), true);
  m.setBigUint64(at + Desc.SRC, big(d.src), true);
  m.setBigUint64(at + Desc.DST, big(d.dst), true);
  m.setUint32(at + Desc.XFER_SIZE, d.size ?? 0, true);
  m.setUint16(at + Desc.INT_HANDLE, d.handle ?? 0, true);
  m.setUint16(at + Desc.RESERVED, d.res38 ?? 0, true);
  m.setBigUint64(at + 40, d.w40 ?? 0n, true);
  m.setBigUint64(at + 48, d.w48 ?? 0n, true);
  m.setBigUint64(at + 56, d.w56 ?? 0n, true);
}
interface Rcd { status: number; result: number; bytes: number; fault: bigint; specific: number; }
function readRecord(at: number): Rcd {
  return {
    status: view.getUint8(at), result: view.getUint8(at + Rec.RESULT), bytes: view.getUint32(at + Rec.BYTES_COMPLETED, true),
    fault: view.getBigUint64(at + Rec.FAULT_ADDR, true), specific: view.getUint32(at + Rec.OP_SPECIFIC, true),
  };
}
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.compare(a, b) === 0) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return a.length;
}

/** Runs the descriptor at `at` on the core (or instance `on`) and on the reference (on a copy); both must agree. */
function execAt(at: number, on: Core = core): { status: number; irq: bigint } {
  const copy = mem.slice();
  view.setBigUint64(IRQ, 0n, true);
  const status = on.execute(at, CTX, IRQ);
  const irq = view.getBigUint64(IRQ, true);
  const ref = referenceExecute(copy, at, ctx);
  copy.set(mem.subarray(IRQ, IRQ + 8), IRQ); // the irq word is the engine's, not the device's
  copy.set(mem.subarray(SCRATCH, SCRATCH + Limit.CORE_SCRATCH_BYTES), SCRATCH); // and so is the scratch
  assert.is(status, ref.status, `status core 0x${status.toString(16)} ref 0x${ref.status.toString(16)}`);
  assert.is(irq, ref.irq, 'irq');
  const diff = firstDiff(mem, copy);
  assert.is(diff, -1, `memory differs at ${diff}: core ${mem[diff]} ref ${copy[diff]}`);
  return { status, irq };
}
/** Writes d at DESC, clears its record, runs both; returns the status and the record. */
function exec(d: D, on: Core = core): Rcd & { ret: number; irq: bigint } {
  writeDesc(view, DESC, d);
  const recAt = d.rec === undefined ? RECORD : Number(d.rec);
  const { status, irq } = execAt(DESC, on);
  const r = recAt >= ctx.arenaBase && recAt + 32 <= ctx.arenaEnd ? readRecord(recAt) : { status: 0, result: 0, bytes: 0, fault: 0n, specific: 0 };
  return { ...r, ret: status, irq };
}

// ---- deterministic randomness
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { f: next, int: (n: number) => Math.floor(next() * n), chance: (p: number) => next() < p };
}
function randomize(from: number, to: number, seed: number) {
  const r = rng(seed);
  for (let i = from; i < to; i++) mem[i] = r.int(256);
}
const bytes = (s: string) => new TextEncoder().encode(s);

// =====================================================================================
test('module shape: imports memory, the foreign-space and CRC hooks, exports the contract, static data below 4096', () => {
  const imps = WebAssembly.Module.imports(wasmModule).map((i) => `${i.module}.${i.name}:${i.kind}`).sort();
  assert.equal(imps, ['env.foreign:function', 'env.hostCrc:function', 'env.memory:memory', 'env.streamCopy:function']);
  const exps = WebAssembly.Module.exports(wasmModule).map((e) => e.name).sort();
  for (const name of ['crc32c', 'execute', 'heapBase', 'init']) assert.ok(exps.includes(name), name);
  assert.ok(core.heapBase() <= 4096, `heapBase ${core.heapBase()}`);
});

test('two instances on one memory: init is idempotent and the tables identical', () => {
  const before = mem.slice(TABLES, TABLES + Limit.CORE_TABLE_BYTES);
  const other = instantiateCore(wasmModule, memory, { foreign, streamCopy });
  other.init(CTX, SCRATCH + Limit.CORE_SCRATCH_BYTES);
  assert.is(firstDiff(before, mem.subarray(TABLES, TABLES + Limit.CORE_TABLE_BYTES)), -1);
  mem.set(bytes('123456789'), ARENA_LO);
  assert.is(other.crc32c(ARENA_LO, 9, 0, 0) >>> 0, 0xe3069283);
});

// ---- CRC-32C
const CRC_VECTORS: [Uint8Array, number][] = [
  [bytes('123456789'), 0xe3069283],
  [new Uint8Array(32), 0x8a9136aa],
  [new Uint8Array(32).fill(0xff), 0x62a8ab43],
  [Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
];
const FLAG_COMBOS = [0, Flag.CRC_BYPASS_DATA_REFLECT, Flag.CRC_BYPASS_INVERT, Flag.CRC_BYPASS_INVERT | Flag.CRC_BYPASS_DATA_REFLECT];
// spec table: columns (bypass inversion+reflection, bypass data reflection) = 0,0 / 0,1 / 1,0 / 1,1
const FLAG_VECTORS: [number, number[]][] = [
  [0, [0xe3069283, 0xa8f022a0, 0x045fc71a, 0xc052a8c8]],
  [0x12345678, [0x27d87b6a, 0x6c2ecb49, 0xa1b203f2, 0x65bf6c20]],
];

test('CRC-32C: standard vectors (raw export, descriptor, reference)', () => {
  for (const [data, want] of CRC_VECTORS) {
    mem.set(data, ARENA_LO);
    assert.is(core.crc32c(ARENA_LO, data.length, 0, 0) >>> 0, want);
    assert.is(referenceCrc32c(data, 0), want);
    const r = exec({ op: Opcode.CRCGEN, src: ARENA_LO, size: data.length });
    assert.is(r.status, Status.SUCCESS);
    assert.is(r.specific, want);
  }
});

test('CRC-32C: bypass-flag vectors, all four combinations, two seeds', () => {
  mem.set(bytes('123456789'), ARENA_LO);
  for (const [seed, wants] of FLAG_VECTORS) {
    FLAG_COMBOS.forEach((f, k) => {
      const want = wants[k];
      assert.is(core.crc32c(ARENA_LO, 9, seed, f) >>> 0, want, `export flags ${f.toString(16)} seed ${seed}`);
      assert.is(referenceCrc32c(bytes('123456789'), seed, f), want, `reference flags ${f.toString(16)}`);
      const r = exec({ op: Opcode.CRCGEN, flags: Flag.CRAV | Flag.RCR | f, src: ARENA_LO, size: 9, w40: BigInt(seed) });
      assert.is(r.specific, want);
      // the same through COPY_CRC, and with the seed read from memory
      view.setUint32(ARENA_LO + 4096, seed, true);
      const c = exec({ op: Opcode.COPY_CRC, flags: Flag.CRAV | Flag.RCR | Flag.CRC_SEED_ADDR | f, src: ARENA_LO, dst: ARENA_LO + 256, size: 9, w40: 0xdeadn, w48: BigInt(ARENA_LO + 4096) });
      assert.is(c.specific, want);
    });
  }
});

test('CRC-32C: chaining through the seed, every flag combination, lengths 0..300', () => {
  randomize(ARENA_LO, ARENA_LO + 4096, 7);
  const r = rng(11);
  for (const f of FLAG_COMBOS) {
    for (let n = 0; n < 300; n += 1 + r.int(7)) {
      const seed = r.int(2 ** 32);
      const whole = core.crc32c(ARENA_LO, n, seed, f) >>> 0;
      assert.is(whole, referenceCrc32c(mem.subarray(ARENA_LO, ARENA_LO + n), seed, f));
      const cut = r.int(n + 1);
      const part = core.crc32c(ARENA_LO, cut, seed, f) >>> 0;
      assert.is(core.crc32c(ARENA_LO + cut, n - cut, part, f) >>> 0, whole, `n ${n} cut ${cut} flags ${f}`);
    }
  }
});

// The folds (crc32c.ts): level 2 alone from 192 to 616 bytes, levels 1 and 2 from 617, all three
// from 32 KiB; rests of 5275, 290 and 104 bytes; blocks of 8192 and 2880 bytes.
const FOLD_EDGES = [192, 290, 616, 617, 290 + 2880, 290 + 2 * 2880, 32767, 32768, 5275 + 4 * 8192, 5275 + 5 * 8192]
  .flatMap((n) => [n - 1, n, n + 1, n + 15, n + 16, n + 63, n + 64]);

test('CRC-32C: lengths around the fold\'s edges chain and match the reference, every flag combination', () => {
  randomize(ARENA_LO, ARENA_LO + 65536 + 4096, 8);
  const r = rng(12);
  for (const f of FLAG_COMBOS) {
    for (const n of [...FOLD_EDGES, ...Array.from({ length: 24 }, () => 100 + r.int(60000))]) {
      const off = r.int(64);
      const seed = r.int(2 ** 32);
      const whole = core.crc32c(ARENA_LO + off, n, seed, f) >>> 0;
      assert.is(whole, referenceCrc32c(mem.subarray(ARENA_LO + off, ARENA_LO + off + n), seed, f), `n ${n} flags ${f}`);
      const cut = r.int(n + 1);
      const part = core.crc32c(ARENA_LO + off, cut, seed, f) >>> 0;
      assert.is(core.crc32c(ARENA_LO + off + cut, n - cut, part, f) >>> 0, whole);
    }
  }
});

test('COPY_CRC: the copy made inside the folds matches the reference at every level\'s edges, every flag combination', () => {
  randomize(ARENA_LO, ARENA_LO + 60000, 13);
  const r = rng(14);
  for (const f of FLAG_COMBOS) {
    for (const n of [1, 191, 192, 616, 617, 3200, 32767, 32768, 40000, 5275 + 8192 + 63]) {
      const src = ARENA_LO + r.int(64), dst = ARENA_LO + 65536 + r.int(64);
      const got = exec({ op: Opcode.COPY_CRC, flags: Flag.CRAV | Flag.RCR | f, src, dst, size: n, w40: BigInt(r.int(2 ** 32)) });
      assert.is(got.status, Status.SUCCESS, `${n} bytes, flags ${f}`);
    }
  }
});

test('CRC-32C: a buffer that ends at the end of memory is read no further (no trap), and the scratch is the only control-region write', () => {
  const n = 50_000;
  randomize(MEM_END - n, MEM_END, 9);
  const control = mem.slice(0, SCRATCH);
  for (const f of FLAG_COMBOS) {
    for (const len of [n, n - 1, 4096, 800]) {
      const at = MEM_END - len;
      assert.is(core.crc32c(at, len, 0x5eed, f) >>> 0, referenceCrc32c(mem.subarray(at, MEM_END), 0x5eed, f), `len ${len} flags ${f}`);
    }
  }
  assert.is(firstDiff(control, mem.subarray(0, SCRATCH)), -1);
});

test('CRC-32C: agrees with two independent implementations (@node-rs/crc32, @aws-crypto/crc32c) over random sizes, offsets and seeds', () => {
  const span = MEM_END - ARENA_LO;
  randomize(ARENA_LO, MEM_END, 21);
  const r = rng(22);
  for (let i = 0; i < 300; i++) {
    const n = i < 150 ? r.int(5000) : r.int(span - 64);
    const at = ARENA_LO + r.int(span - n);
    const data = Buffer.from(mem.buffer, at, n);
    const seed = r.int(2 ** 32);
    assert.is(core.crc32c(at, n, 0, 0) >>> 0, awsCrc32c(data) >>> 0, `${n} bytes at ${at}`);
    assert.is(core.crc32c(at, n, seed, 0) >>> 0, nodeRsCrc32c(data, seed) >>> 0, `${n} bytes at ${at}, seed ${seed}`);
  }
});

test('CRC-32C from Limit.CRC_WAYS_MIN (four streams at once, joined): matches the reference and @node-rs/crc32, and the one-stream fold in parts, every flag combination; COPY_CRC copies', () => {
  const K = Limit.CRC_WAYS_MIN;
  // an instance of its own, over 3 K and a little
  const pages = ARENA_LO / PAGE + Math.ceil((3 * K + 4 * PAGE) / PAGE);
  const end = pages * PAGE;
  const memory2 = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const c2 = instantiateCore(wasmModule, memory2, { foreign, streamCopy });
  const b = new Uint8Array(memory2.buffer);
  const v2 = new DataView(memory2.buffer);
  writeCtx(v2, { ...CTX_DEFAULT, arenaEnd: end });
  c2.init(CTX, SCRATCH);
  const r = rng(41);
  for (let i = ARENA_LO; i < end; i += 4) v2.setUint32(i, r.int(2 ** 32), true);
  const control = b.slice(0, SCRATCH);
  // around the threshold, the regions' 64-byte rounding, the joined tail (under 4 * 64 + 4 bytes)
  const sizes = [K, K + 1, K + 63, K + 64, K + 255, K + 256, K + 259, K + 65536 + 5];
  for (const f of FLAG_COMBOS) {
    for (const n of [...sizes, ...Array.from({ length: 3 }, () => K + r.int(K - 1))]) {
      const at = ARENA_LO + r.int(64);
      const seed = r.int(2 ** 32);
      const whole = c2.crc32c(at, n, seed, f) >>> 0;
      // in two parts under K, each by the one-stream fold (which the tests above hold to the reference)
      const cut = n - K + 1 + r.int(2 * K - n - 1);
      assert.is(c2.crc32c(at + cut, n - cut, c2.crc32c(at, cut, seed, f) >>> 0, f) >>> 0, whole, `n ${n} cut ${cut} flags ${f}`);
      if (f === 0) assert.is(whole, nodeRsCrc32c(Buffer.from(memory2.buffer, at, n), seed) >>> 0, `${n} bytes, @node-rs/crc32`);
    }
    // and one against the bitwise reference (170 ms per 2 MiB)
    const at = ARENA_LO + 3;
    assert.is(c2.crc32c(at, K + 77, 0x5eed, f) >>> 0, referenceCrc32c(b.subarray(at, at + K + 77), 0x5eed, f), `reference, flags ${f}`);
  }
  assert.is(firstDiff(control, b.subarray(0, SCRATCH)), -1, 'only the scratch is written');
  // COPY_CRC: the copy is made inside the folds, region by region and the tail
  for (const f of FLAG_COMBOS) {
    for (const n of [K, K + 259]) {
      const src = ARENA_LO + r.int(64);
      const dst = ARENA_LO + K + 2 * PAGE + r.int(64);
      b.fill(0, dst, dst + n + 64);
      const seed = r.int(2 ** 32);
      const rec = end - 64;
      writeDesc(v2, DESC, { op: Opcode.COPY_CRC, flags: Flag.CRAV | Flag.RCR | f, src, dst, size: n, rec, w40: BigInt(seed) });
      assert.is(c2.execute(DESC, CTX, IRQ), Status.SUCCESS);
      assert.is(v2.getUint32(rec + Rec.OP_SPECIFIC, true), c2.crc32c(src, n, seed, f) >>> 0, `COPY_CRC ${n} flags ${f}`);
      assert.is(Buffer.compare(b.subarray(src, src + n), b.subarray(dst, dst + n)), 0, `the copy of ${n} bytes`);
      assert.is(b[dst + n], 0, 'nothing past the destination');
    }
  }
});

test('CRC-32C through the host\'s CRC (from HOST_CRC_FROM, reflected data, no copy): the folds\' results, every flag combination, seeds and sizes around the threshold; called for those alone', () => {
  // an instance lent a host CRC (the engines lend the addon's; here @node-rs/crc32, counted)
  let calls = 0;
  const hostCrc = (u8: Uint8Array, seed: number): number => {
    calls++;
    return nodeRsCrc32c(Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength), seed) >>> 0;
  };
  const lent = instantiateCore(wasmModule, memory, { foreign, streamCopy, crc: hostCrc });
  lent.init(CTX, SCRATCH); // (the tables are shared and identical; the instances take turns with the scratch)
  const r = rng(43);
  for (let i = ARENA_LO; i < ARENA_LO + 4 * HOST_CRC_FROM + 256; i++) mem[i] = r.int(256);
  for (const f of FLAG_COMBOS) {
    for (const n of [HOST_CRC_FROM - 1, HOST_CRC_FROM, HOST_CRC_FROM + 1, 2 * HOST_CRC_FROM + 77, 4 * HOST_CRC_FROM]) {
      for (const seed of [0, 0xffffffff, r.int(2 ** 32)]) {
        const at = ARENA_LO + r.int(64);
        const before = calls;
        const got = lent.crc32c(at, n, seed, f) >>> 0;
        assert.is(got, core.crc32c(at, n, seed, f) >>> 0, `n ${n} flags ${f} seed ${seed}`);
        const hosted = n >= HOST_CRC_FROM && (f & Flag.CRC_BYPASS_DATA_REFLECT) === 0;
        assert.is(calls - before, hosted ? 1 : 0, `host CRC called for n ${n} flags ${f}`);
        // and through a descriptor, with a CRCGEN's record
        const d = exec({ op: Opcode.CRCGEN, flags: Flag.CRAV | Flag.RCR | f, src: at, size: n, w40: BigInt(seed) }, lent);
        assert.is(d.specific, got, `CRCGEN n ${n} flags ${f}`);
      }
    }
    // COPY_CRC keeps its one pass (the folds copy as they read): never the host's
    const before = calls;
    const c = exec({ op: Opcode.COPY_CRC, flags: Flag.CRAV | Flag.RCR | f, src: ARENA_LO, dst: ARENA_LO + 3 * HOST_CRC_FROM, size: HOST_CRC_FROM, w40: 7n }, lent);
    assert.is(c.specific, core.crc32c(ARENA_LO, HOST_CRC_FROM, 7, f) >>> 0, `COPY_CRC flags ${f}`);
    assert.is(calls, before, 'COPY_CRC does not call the host CRC');
  }
});

test('CRC-32C: large buffer matches the reference', () => {
  randomize(ARENA_LO, ARENA_LO + 65536, 3);
  for (const f of FLAG_COMBOS) {
    const want = referenceCrc32c(mem.subarray(ARENA_LO + 1, ARENA_LO + 65536), 0x9abc, f);
    assert.is(core.crc32c(ARENA_LO + 1, 65535, 0x9abc, f) >>> 0, want);
  }
});

test('MEMFILL: long fills (pattern, then copies of it) match the reference at every phase, up to a fault', () => {
  const r = rng(31);
  for (const n of [4095, 4096, 4097, 16383, 16640, 16641, 33024, 40000, 100000]) {
    const off = r.int(8);
    const pattern = BigInt(r.int(2 ** 32)) << 32n | BigInt(r.int(2 ** 32));
    const got = exec({ op: Opcode.MEMFILL, flags: Flag.CRAV | Flag.RCR, dst: ARENA_LO + off, size: n, src: pattern });
    assert.is(got.status, Status.SUCCESS, `${n} bytes at +${off}`);
  }
  // a long fill that runs into the end of the arena: the valid part is filled, then the fault
  setCtx({ arenaEnd: MEM_END - 100 });
  const got = exec({ op: Opcode.MEMFILL, flags: Flag.CRAV | Flag.RCR, dst: MEM_END - 100 - 20000 + 3, size: 30000, src: 0x0102030405060708n });
  assert.is(got.status, Status.PAGE_FAULT | Status.WRITE_FAULT_BIT);
  assert.is(got.bytes, 19997);
});

// ---- every status code, provoked on purpose
test('status codes: each one provoked', () => {
  setCtx({ arenaBase: ARENA_LO, arenaEnd: MEM_END, maxTransfer: 1 << 20, maxBatch: 32 });
  const A = ARENA_LO;
  randomize(A, A + 8192, 1);
  const S = Status;
  const cases: [string, D, number][] = [
    ['success', { op: Opcode.NOOP }, S.SUCCESS],
    ['predicate false', { op: Opcode.COMPARE, flags: Flag.CRAV | Flag.CR, src: A, dst: A + 64, size: 16, w40: 0n }, S.SUCCESS_PRED],
    ['page fault read', { op: Opcode.MEMMOVE, src: A - 8, dst: A, size: 16 }, S.PAGE_FAULT],
    ['page fault write', { op: Opcode.MEMFILL, dst: MEM_END - 8, size: 16 }, S.PAGE_FAULT | S.WRITE_FAULT_BIT],
    ['bad opcode', { op: 0x0b }, S.INVALID_OPCODE],
    ['opcode between DIF update and DIX generate', { op: 0x16 }, S.INVALID_OPCODE],
    ['invalid flags', { op: Opcode.NOOP, flags: Flag.CRAV | Flag.BOF | 0x40 }, S.INVALID_FLAGS],
    ['reserved bytes 38-39', { op: Opcode.NOOP, res38: 1 }, S.RESERVED_NONZERO],
    ['reserved byte 41 of compare', { op: Opcode.COMPARE, src: A, dst: A, size: 1, w40: 0x100n }, S.RESERVED_NONZERO],
    ['reserved create-delta mask bit 3', { op: Opcode.CR_DELTA, src: A, dst: A + 64, size: 8, w40: BigInt(A + 128), w48: 80n, w56: 8n }, S.RESERVED_NONZERO],
    ['zero size', { op: Opcode.MEMMOVE, src: A, dst: A + 64, size: 0 }, S.TRANSFER_SIZE],
    ['size above max', { op: Opcode.CRCGEN, src: A, size: (1 << 20) + 1 }, S.TRANSFER_SIZE],
    ['delta size not multiple of 8', { op: Opcode.CR_DELTA, src: A, dst: A + 64, size: 12, w40: BigInt(A + 128), w48: 80n }, S.TRANSFER_SIZE],
    ['batch count 1', { op: Opcode.BATCH, src: A, size: 1 }, S.BATCH_COUNT],
    ['batch count above max', { op: Opcode.BATCH, src: A, size: 33 }, S.BATCH_COUNT],
    ['max delta size 70', { op: Opcode.CR_DELTA, src: A, dst: A + 64, size: 8, w40: BigInt(A + 128), w48: 70n }, S.DELTA_SIZE],
    ['apply delta size 15', { op: Opcode.AP_DELTA, src: A, dst: A + 64, size: 8, w40: 15n }, S.DELTA_SIZE],
    ['copy+crc overlap', { op: Opcode.COPY_CRC, src: A, dst: A + 8, size: 16 }, S.BUFFER_OVERLAP],
    ['dualcast dst1/dst2 overlap', { op: Opcode.DUALCAST, src: A, dst: A + 4096, size: 16, w40: BigInt(A + 4096) }, S.BUFFER_OVERLAP],
    ['apply delta record over dst', { op: Opcode.AP_DELTA, src: A + 64, dst: A, size: 80, w40: 10n }, S.BUFFER_OVERLAP],
    ['dualcast bits 11:0', { op: Opcode.DUALCAST, src: A, dst: A + 4096, size: 16, w40: BigInt(A + 8192 + 8) }, S.DUALCAST_ALIGN],
    ['batch list alignment', { op: Opcode.BATCH, src: A + 32, size: 2 }, S.BATCH_ALIGN],
    ['interrupt handle', { op: Opcode.NOOP, flags: Flag.CRAV | Flag.RCI, handle: 2 }, S.INT_HANDLE],
    ['interrupt handle 64', { op: Opcode.NOOP, flags: Flag.CRAV | Flag.RCI, handle: 64 }, S.INT_HANDLE],
    ['delta misaligned', { op: Opcode.AP_DELTA, src: A + 4, dst: A + 64, size: 8, w40: 10n }, S.ADDR_ALIGN],
    ['batch list page fault', { op: Opcode.BATCH, src: MEM_END - 64, size: 2 }, S.BATCH_PAGE_FAULT],
    // overlap edges: adjacent buffers do not overlap, one shared byte does
    ['copy+crc adjacent above', { op: Opcode.COPY_CRC, src: A, dst: A + 16, size: 16 }, S.SUCCESS],
    ['copy+crc adjacent below', { op: Opcode.COPY_CRC, src: A + 16, dst: A, size: 16 }, S.SUCCESS],
    ['copy+crc one byte above', { op: Opcode.COPY_CRC, src: A, dst: A + 15, size: 16 }, S.BUFFER_OVERLAP],
    ['copy+crc one byte below', { op: Opcode.COPY_CRC, src: A + 15, dst: A, size: 16 }, S.BUFFER_OVERLAP],
    ['dualcast src just below dst2', { op: Opcode.DUALCAST, src: A + 4096 - 16, dst: A, size: 16, w40: BigInt(A + 4096) }, S.SUCCESS],
    ['dualcast src one byte into dst2', { op: Opcode.DUALCAST, src: A + 4096 - 15, dst: A, size: 16, w40: BigInt(A + 4096) }, S.BUFFER_OVERLAP],
    ['apply delta record right after dst', { op: Opcode.AP_DELTA, src: A + 80, dst: A, size: 80, w40: 10n }, S.DELTA_OFFSET_RANGE],
    ['apply delta record one word into dst', { op: Opcode.AP_DELTA, src: A + 72, dst: A, size: 80, w40: 10n }, S.BUFFER_OVERLAP],
    ['overlap near 2^64 (no wrap)', { op: Opcode.COPY_CRC, src: (1n << 64n) - 8n, dst: 0n, size: 16 }, S.PAGE_FAULT],
  ];
  view.setUint16(A + 80, 200, true); // the delta entry used above: word 200 of a 10-word dst
  for (const [name, d, want] of cases) {
    const r = exec(d);
    assert.is(r.ret, want, `${name}: got 0x${r.ret.toString(16)}`);
    assert.is(r.status, want, `${name}: record`);
  }
  // invalid flags: the offending bits @16
  assert.is(exec({ op: Opcode.DRAIN, flags: Flag.CRAV | Flag.DRDBK | 0x800000 }).specific, Flag.DRDBK | 0x800000);
  // delta offsets: order (0x07) and range (0x08)
  const rec = A + 1024;
  const entry = (i: number, off: number) => { view.setUint16(rec + 10 * i, off, true); view.setBigUint64(rec + 10 * i + 2, 0x1111n * BigInt(i + 1), true); };
  entry(0, 3); entry(1, 3);
  assert.is(exec({ op: Opcode.AP_DELTA, src: rec, dst: A + 2048, size: 64, w40: 20n }).status, S.DELTA_OFFSET_ORDER);
  entry(0, 3); entry(1, 8);
  assert.is(exec({ op: Opcode.AP_DELTA, src: rec, dst: A + 2048, size: 64, w40: 20n }).status, S.DELTA_OFFSET_RANGE);
  // record address: misaligned (0x1B) and outside the arena (0x1A): no record written
  mem.fill(0xee, A + 4096, A + 4096 + 64);
  let r = exec({ op: Opcode.NOOP, rec: A + 4096 + 8 });
  assert.is(r.ret, S.COMPLETION_ALIGN);
  assert.ok(mem.subarray(A + 4096, A + 4096 + 64).every((b) => b === 0xee));
  r = exec({ op: Opcode.NOOP, rec: MEM_END - 32 + 0 });
  assert.is(r.ret, S.SUCCESS);
  r = exec({ op: Opcode.NOOP, rec: A - 32 });
  assert.is(r.ret, S.COMPLETION_FAULT);
  r = exec({ op: Opcode.NOOP, rec: 1n << 40n });
  assert.is(r.ret, S.COMPLETION_FAULT);
  // ... once the descriptor has run and its record is due: not for a success without RCR
  assert.is(exec({ op: Opcode.NOOP, flags: Flag.CRAV, rec: 1n << 40n }).ret, S.SUCCESS);
  assert.is(exec({ op: Opcode.MEMMOVE, flags: Flag.CRAV, src: A, dst: A + 8192, size: 0, rec: 1n << 40n }).ret, S.COMPLETION_FAULT);
  // misaligned record is not checked without CRAV
  assert.is(exec({ op: Opcode.NOOP, flags: 0, rec: 3 }).ret, S.SUCCESS);
  // opcode is checked before the record alignment
  assert.is(exec({ op: 0x30, rec: A + 4096 + 8 }).ret, S.INVALID_OPCODE);
});

test('record write rules: CRAV, RCR, status byte and zeroed fields', () => {
  const A = ARENA_LO;
  mem.fill(0xaa, RECORD, RECORD + 32);
  exec({ op: Opcode.NOOP, flags: Flag.CRAV }); // success without RCR: no record
  assert.ok(mem.subarray(RECORD, RECORD + 32).every((b) => b === 0xaa));
  mem.fill(0xaa, RECORD, RECORD + 32);
  writeDesc(view, DESC, { op: Opcode.NOOP, flags: Flag.CRAV | Flag.RCR });
  execAt(DESC);
  assert.equal([...mem.subarray(RECORD, RECORD + 32)], [1, ...new Array(31).fill(0)]);
  // failure without RCR: written
  mem.set(bytes('abcdefgh'), A); mem.set(bytes('abcdefgX'), A + 64);
  const r = exec({ op: Opcode.COMPARE, flags: Flag.CRAV | Flag.CR, src: A, dst: A + 64, size: 8, w40: 0n });
  assert.equal([r.status, r.result, r.bytes], [Status.SUCCESS_PRED, 1, 7]);
  // no CRAV: nothing written, status still returned
  mem.fill(0xaa, RECORD, RECORD + 32);
  assert.is(exec({ op: Opcode.MEMMOVE, flags: 0, src: A, dst: A + 64, size: 0 }).ret, Status.TRANSFER_SIZE);
  assert.ok(mem.subarray(RECORD, RECORD + 32).every((b) => b === 0xaa));
});

test('interrupts: RCI with a valid handle sets its bit after the record', () => {
  assert.is(exec({ op: Opcode.NOOP, flags: Flag.CRAV | Flag.RCI, handle: 63 }).irq, 1n << 63n);
  assert.is(exec({ op: Opcode.NOOP, flags: Flag.CRAV | Flag.RCI, handle: 3 }).irq, 1n << 3n);
  assert.is(exec({ op: Opcode.NOOP, flags: Flag.CRAV | Flag.RCI, handle: 2 }).irq, 0n);
  // a failing descriptor still completes and interrupts
  assert.is(exec({ op: Opcode.MEMMOVE, flags: Flag.CRAV | Flag.RCI, size: 0, handle: 1 }).irq, 2n);
});

// ---- batch
function batchOf(list: number, ds: D[]) { ds.forEach((d, j) => writeDesc(view, list + 64 * j, d)); }
test('batch: all succeed, fence after a failure, nested batch/drain, record counts', () => {
  const A = ARENA_LO;
  const list = A + 8192;
  const recs = A + 12288;
  randomize(A, A + 4096, 5);
  const rec = (j: number) => recs + 32 * j;
  batchOf(list, [
    { op: Opcode.MEMMOVE, rec: rec(0), src: A, dst: A + 1024, size: 100, flags: Flag.CRAV | Flag.RCR | Flag.RCI, handle: 1 },
    { op: Opcode.MEMFILL, rec: rec(1), dst: A + 2048, size: 77, w40: 0n, src: 0x0807060504030201n },
    { op: Opcode.CRCGEN, rec: rec(2), src: A, size: 100 },
  ]);
  let r = exec({ op: Opcode.BATCH, src: list, size: 3, flags: Flag.CRAV | Flag.RCR | Flag.RCI, handle: 0 });
  assert.equal([r.status, r.bytes], [Status.SUCCESS, 3]);
  assert.is(r.irq, 0b11n);
  assert.is(readRecord(rec(2)).specific, referenceCrc32c(mem.subarray(A, A + 100), 0));

  // failure at 1; 2 has no fence (runs); 3 has fence (abandoned, with 4)
  mem.fill(0, recs, recs + 256);
  mem.fill(0, A + 3100, A + 3110);
  batchOf(list, [
    { op: Opcode.NOOP, rec: rec(0) },
    { op: Opcode.MEMMOVE, rec: rec(1), src: A, dst: A + 1024, size: 0 },
    { op: Opcode.MEMFILL, rec: rec(2), dst: A + 3000, size: 10, src: 0x4242424242424242n },
    { op: Opcode.MEMFILL, rec: rec(3), flags: Flag.CRAV | Flag.RCR | Flag.FENCE, dst: A + 3100, size: 10, src: 0x4343434343434343n },
    { op: Opcode.NOOP, rec: rec(4) },
  ]);
  r = exec({ op: Opcode.BATCH, src: list, size: 5 });
  assert.equal([r.status, r.bytes], [Status.BATCH_FAIL, 3]);
  assert.equal([0, 1, 2, 3, 4].map((j) => readRecord(rec(j)).status), [1, Status.TRANSFER_SIZE, 1, 0, 0]);
  assert.ok(mem.subarray(A + 3100, A + 3110).every((b) => b === 0), 'fenced fill abandoned');
  assert.ok(mem.subarray(A + 3000, A + 3010).every((b) => b === 0x42), 'unfenced fill ran');

  // predicate-false is a failure too; fence on the very next stops the rest
  mem.fill(0, recs, recs + 256);
  batchOf(list, [
    { op: Opcode.COMPVAL, flags: Flag.CRAV | Flag.CR, rec: rec(0), src: A, size: 8, w40: 0n, dst: 0n },
    { op: Opcode.NOOP, rec: rec(1), flags: Flag.CRAV | Flag.RCR | Flag.FENCE },
  ]);
  r = exec({ op: Opcode.BATCH, src: list, size: 2 });
  assert.equal([r.status, r.bytes, readRecord(rec(0)).status, readRecord(rec(1)).status], [Status.BATCH_FAIL, 1, Status.SUCCESS_PRED, 0]);

  // nested BATCH / DRAIN: 0x10 for that descriptor
  mem.fill(0, recs, recs + 256);
  batchOf(list, [{ op: Opcode.DRAIN, rec: rec(0) }, { op: Opcode.BATCH, rec: rec(1), src: list, size: 2 }, { op: Opcode.NOOP, rec: rec(2) }]);
  r = exec({ op: Opcode.BATCH, src: list, size: 3 });
  assert.equal([r.status, r.bytes], [Status.BATCH_FAIL, 3]);
  assert.equal([0, 1, 2].map((j) => readRecord(rec(j)).status), [Status.INVALID_OPCODE, Status.INVALID_OPCODE, 1]);

  // a member that overwrites its own descriptor: the descriptor as fetched decides (handle 1)
  mem.fill(0, A, A + 64);
  batchOf(list, [
    { op: Opcode.MEMMOVE, rec: rec(0), flags: Flag.CRAV | Flag.RCR | Flag.RCI, handle: 1, src: A, dst: list, size: 64 },
    { op: Opcode.NOOP, rec: rec(1) },
  ]);
  r = exec({ op: Opcode.BATCH, src: list, size: 2 });
  assert.equal([r.status, r.irq, readRecord(rec(0)).status], [Status.SUCCESS, 2n, Status.SUCCESS]);

  // list fault runs none
  setCtx({ arenaEnd: list + 128 + 64 });
  mem.fill(0, recs, recs + 256);
  r = exec({ op: Opcode.BATCH, src: list, size: 4, rec: A + 64 });
  assert.equal([r.ret, r.bytes, r.fault], [Status.BATCH_PAGE_FAULT, 0, BigInt(list + 192)]);
  assert.is(readRecord(rec(0)).status, 0);
  setCtx({ arenaEnd: MEM_END });
});

// ---- page faults at both arena edges, byte-exact, with resubmission
test('page faults: memmove forward/backward at both edges, resubmission completes', () => {
  const lo = ARENA_LO + 5, hi = MEM_END - 1997; // odd bounds on purpose
  setCtx({ arenaBase: lo, arenaEnd: hi });
  const rec = ARENA_LO + 4096;
  // forward, read fault at the top edge
  randomize(lo, hi, 9);
  let r = exec({ op: Opcode.MEMMOVE, rec, src: hi - 100, dst: lo + 1000, size: 300 });
  assert.equal([r.ret, r.bytes, r.fault, r.result], [Status.PAGE_FAULT, 100, BigInt(hi), 0]);
  // forward, write fault at the top edge; then resubmit the rest after moving the window
  r = exec({ op: Opcode.MEMMOVE, rec, src: lo + 1000, dst: hi - 50, size: 300 });
  assert.equal([r.ret, r.bytes, r.fault], [Status.PAGE_FAULT | 0x80, 50, BigInt(hi)]);
  setCtx({ arenaEnd: MEM_END });
  r = exec({ op: Opcode.MEMMOVE, rec, src: lo + 1000 + 50, dst: hi, size: 250 });
  assert.is(r.status, Status.SUCCESS);
  assert.is(Buffer.compare(mem.subarray(lo + 1000, lo + 1300), mem.subarray(hi - 50, hi + 250)), 0);
  setCtx({ arenaEnd: hi });
  // read fault at the bottom edge: nothing done, fault address = src
  r = exec({ op: Opcode.MEMMOVE, rec, src: lo - 10, dst: lo + 2000, size: 30 });
  assert.equal([r.ret, r.bytes, r.fault], [Status.PAGE_FAULT, 0, BigInt(lo - 10)]);
  // backward overlapping copy whose source starts below the arena: the end is done first
  const src = lo - 20, dst = lo + 12, size = 64;
  const before = mem.slice(lo, lo + 200);
  r = exec({ op: Opcode.MEMMOVE, rec, src, dst, size });
  const done = size - 20; // bytes 20..63 of the source are mapped
  assert.equal([r.ret, r.result, r.bytes, r.fault], [Status.PAGE_FAULT, 1, done, BigInt(lo - 1)]);
  assert.is(Buffer.compare(mem.subarray(dst + 20, dst + 64), before.subarray(0, 44)), 0);
  // backward overlapping copy running past the top: faults on its last byte, nothing done
  r = exec({ op: Opcode.MEMMOVE, rec, src: hi - 40, dst: hi - 30, size: 40 });
  assert.equal([r.ret, r.result, r.bytes, r.fault], [Status.PAGE_FAULT | 0x80, 1, 0, BigInt(hi - 30 + 39)]);
  // backward resubmission: size - bytesCompleted continues
  setCtx({ arenaBase: ARENA_LO });
  randomize(ARENA_LO, ARENA_LO + 4096, 10);
  const model = mem.slice(ARENA_LO, ARENA_LO + 4096);
  model.copyWithin(300, 100, 100 + 500);
  setCtx({ arenaBase: ARENA_LO + 150 });
  r = exec({ op: Opcode.MEMMOVE, rec: ARENA_LO + 2048, src: ARENA_LO + 100, dst: ARENA_LO + 300, size: 500 });
  assert.equal([r.ret, r.result, r.bytes, r.fault], [Status.PAGE_FAULT, 1, 450, BigInt(ARENA_LO + 149)]);
  setCtx({ arenaBase: ARENA_LO });
  r = exec({ op: Opcode.MEMMOVE, rec: ARENA_LO + 2048, src: ARENA_LO + 100, dst: ARENA_LO + 300, size: 500 - r.bytes });
  assert.is(r.status, Status.SUCCESS);
  assert.is(Buffer.compare(mem.subarray(ARENA_LO + 300, ARENA_LO + 800), model.subarray(300, 800)), 0);
  setCtx({ arenaBase: ARENA_LO, arenaEnd: MEM_END });
});

test('page faults: fill, compare, compval, crc, copy+crc, dualcast, deltas; huge addresses', () => {
  const lo = ARENA_LO + 3, hi = MEM_END - 1995;
  setCtx({ arenaBase: lo, arenaEnd: hi });
  const rec = ARENA_LO + 64;
  randomize(lo, hi, 12);
  let r = exec({ op: Opcode.MEMFILL, rec, dst: hi - 13, size: 40, src: 0x1122334455667788n });
  assert.equal([r.ret, r.bytes, r.fault], [Status.PAGE_FAULT | 0x80, 13, BigInt(hi)]);
  // compare: equal up to the edge is a fault; a difference before it is a result
  mem.copyWithin(hi - 20, lo + 500, lo + 520);
  r = exec({ op: Opcode.COMPARE, rec, src: lo + 500, dst: hi - 20, size: 64 });
  assert.equal([r.ret, r.bytes, r.fault], [Status.PAGE_FAULT, 20, BigInt(hi)]);
  mem[hi - 3] ^= 1;
  r = exec({ op: Opcode.COMPARE, rec, src: lo + 500, dst: hi - 20, size: 64 });
  assert.equal([r.ret, r.result, r.bytes], [Status.SUCCESS, 1, 17]);
  // crc partial = crc of the bytes completed; resubmission with it as the seed continues
  const n = 1000, start = hi - 600;
  r = exec({ op: Opcode.CRCGEN, rec, src: start, size: n });
  assert.equal([r.ret, r.bytes, r.fault], [Status.PAGE_FAULT, 600, BigInt(hi)]);
  setCtx({ arenaEnd: MEM_END });
  const full = exec({ op: Opcode.CRCGEN, rec, src: start, size: n }).specific;
  const rest = exec({ op: Opcode.CRCGEN, rec, src: start + 600, size: n - 600, w40: BigInt(r.specific) }).specific;
  assert.is(rest, full);
  setCtx({ arenaEnd: hi });
  // copy+crc write fault below the arena; dualcast faults on dst2
  r = exec({ op: Opcode.COPY_CRC, rec, src: lo + 100, dst: lo - 4, size: 20 });
  assert.equal([r.ret, r.bytes, r.fault], [Status.PAGE_FAULT | 0x80, 0, BigInt(lo - 4)]);
  r = exec({ op: Opcode.DUALCAST, rec, src: lo + 100, dst: hi - 4096 - 10, size: 30, w40: BigInt(hi - 10) });
  assert.equal([r.ret, r.bytes, r.fault], [Status.PAGE_FAULT | 0x80, 10, BigInt(hi)]);
  // seed address unmapped
  r = exec({ op: Opcode.CRCGEN, flags: Flag.CRAV | Flag.CRC_SEED_ADDR, rec, src: lo, size: 8, w48: BigInt(hi - 2) });
  assert.equal([r.ret, r.bytes, r.fault], [Status.PAGE_FAULT, 0, BigInt(hi)]);
  // addresses at and beyond 2^32, and near 2^64 (no wrap-around)
  r = exec({ op: Opcode.MEMMOVE, rec, src: 1n << 32n, dst: lo + 8, size: 8 });
  assert.equal([r.ret, r.fault], [Status.PAGE_FAULT, 1n << 32n]);
  r = exec({ op: Opcode.MEMMOVE, rec, src: lo + 8, dst: (1n << 64n) - 4n, size: 8 });
  assert.equal([r.ret, r.fault], [Status.PAGE_FAULT | 0x80, (1n << 64n) - 4n]);
  r = exec({ op: Opcode.MEMMOVE, rec, src: (1n << 64n) - 8n, dst: (1n << 64n) - 4n, size: 16 });
  assert.equal([r.ret, r.result, r.fault], [Status.PAGE_FAULT, 1, 7n]); // backward: last byte, address wraps as u64
  r = exec({ op: Opcode.COMPVAL, rec, src: 0xffffffffn, size: 8 });
  assert.equal([r.ret, r.fault], [Status.PAGE_FAULT, 0xffffffffn]);
  // create delta: the word straddling the top faults as a whole; apply delta record read fault
  const A8 = (hi - 40) & ~7;
  r = exec({ op: Opcode.CR_DELTA, rec, src: A8, dst: lo + 2045, size: 48, w40: BigInt((lo + 4096) & ~7), w48: 800n });
  assert.is(r.ret & 0x7f, Status.PAGE_FAULT);
  const drec = (hi - 25) & ~7; // three entries, the third one runs past the top
  for (let i = 0; i < 3; i++) if (drec + 10 * i + 2 <= hi) view.setUint16(drec + 10 * i, i, true);
  r = exec({ op: Opcode.AP_DELTA, rec, src: drec, dst: (lo + 1024) & ~7, size: 64, w40: 30n });
  assert.equal([r.ret, r.bytes, r.fault], [Status.PAGE_FAULT, 10 * Math.floor((hi - drec) / 10), BigInt(hi)]);
  setCtx({ arenaBase: ARENA_LO, arenaEnd: MEM_END });
});

test('compare pattern: word rule for whole words, exact byte in the tail', () => {
  const A = ARENA_LO;
  const pat = 0x0102030405060708n;
  for (let i = 0; i < 30; i++) mem[A + i] = Number((pat >> BigInt(8 * (i % 8))) & 0xffn);
  assert.equal([exec({ op: Opcode.COMPVAL, src: A, size: 30, dst: pat }).result], [0]);
  mem[A + 13] ^= 0xff;
  let r = exec({ op: Opcode.COMPVAL, src: A, size: 30, dst: pat });
  assert.equal([r.result, r.bytes], [1, 8]);
  mem[A + 13] ^= 0xff; mem[A + 27] ^= 0xff;
  r = exec({ op: Opcode.COMPVAL, src: A, size: 30, dst: pat });
  assert.equal([r.result, r.bytes], [1, 27]); // 27 >= 24: in the tail
  mem[A + 27] ^= 0xff; mem[A + 29] ^= 0xff;
  r = exec({ op: Opcode.COMPVAL, src: A, size: 30, dst: pat });
  assert.equal([r.result, r.bytes], [1, 29]); // tail: exact byte
});

test('deltas: create (results 0/1/2, CR mask) then apply reproduces src2', () => {
  const A = ARENA_LO, s1 = A, s2 = A + 8192, drec = A + 16384, out = A + 24576;
  randomize(s1, s1 + 4096, 21);
  mem.copyWithin(s2, s1, s1 + 4096);
  let r = exec({ op: Opcode.CR_DELTA, src: s1, dst: s2, size: 4096, w40: BigInt(drec), w48: 800n, w56: 1n, flags: Flag.CRAV | Flag.RCR | Flag.CR });
  assert.equal([r.status, r.result, r.specific], [Status.SUCCESS, 0, 0]);
  for (const w of [0, 5, 6, 100, 511]) mem[s2 + 8 * w + 3] ^= 0x5a;
  r = exec({ op: Opcode.CR_DELTA, src: s1, dst: s2, size: 4096, w40: BigInt(drec), w48: 800n, w56: 1n, flags: Flag.CRAV | Flag.RCR | Flag.CR });
  assert.equal([r.status, r.result, r.specific], [Status.SUCCESS_PRED, 1, 50]);
  mem.copyWithin(out, s1, s1 + 4096);
  r = exec({ op: Opcode.AP_DELTA, src: drec, dst: out, size: 4096, w40: 50n });
  assert.is(r.status, Status.SUCCESS);
  assert.is(Buffer.compare(mem.subarray(out, out + 4096), mem.subarray(s2, s2 + 4096)), 0);
  for (let w = 0; w < 20; w++) mem[s2 + 8 * (200 + w)] ^= 1;
  r = exec({ op: Opcode.CR_DELTA, src: s1, dst: s2, size: 4096, w40: BigInt(drec), w48: 100n, w56: 4n, flags: Flag.CRAV | Flag.RCR | Flag.CR });
  assert.equal([r.status, r.result, r.specific], [Status.SUCCESS, 2, 100]);
});

// ---- random descriptors: core vs reference, byte for byte
function fuzzSetup(seed: number) {
  const R = rng(seed);
  // every byte the generator writes is noted, so the reference's mirror can follow cheaply
  const dirty: [number, number][] = [];
  const touch = (a: number | bigint, n: number) => { dirty.push([Number(a), n]); };
  const pick = <T>(xs: T[]) => xs[R.int(xs.length)];
  const u64 = () => (BigInt(R.int(2 ** 32)) << 32n) | BigInt(R.int(2 ** 32));
  const ops = [Opcode.NOOP, Opcode.DRAIN, Opcode.MEMMOVE, Opcode.MEMFILL, Opcode.COMPARE, Opcode.COMPVAL, Opcode.CR_DELTA, Opcode.AP_DELTA, Opcode.DUALCAST, Opcode.CRCGEN, Opcode.COPY_CRC, Opcode.CFLUSH];
  const size = (mult8: boolean) => {
    const x = R.f();
    let n = x < 0.04 ? 0 : x < 0.07 ? ctx.maxTransfer + 1 + R.int(64) : x < 0.8 ? 1 + R.int(256) : x < 0.97 ? 257 + R.int(3000) : 1 + R.int(16);
    if (mult8 && R.chance(0.9)) n -= n % 8;
    return n;
  };
  const addr = (len: number, align = 1): bigint => {
    const x = R.f();
    const { arenaBase: lo, arenaEnd: hi } = ctx;
    let a: number | bigint;
    if (x < 0.84) a = lo + R.int(Math.max(1, hi - lo - len));
    else if (x < 0.91) a = hi - R.int(Math.min(len, 64) + 8);
    else if (x < 0.96) a = lo - R.int(Math.min(len, 64) + 8);
    else a = pick([0n, 1n << 32n, (1n << 32n) - BigInt(R.int(16)), (1n << 64n) - BigInt(R.int(4096)), u64()]);
    if (typeof a === 'number' && R.chance(0.9)) a -= a % align;
    return BigInt(a);
  };
  const inArena = (a: bigint, n: number) => a >= BigInt(ctx.arenaBase) && a + BigInt(n) <= BigInt(ctx.arenaEnd);
  const flagsFor = (op: number) => {
    const allowed = ALLOWED_FLAGS.get(op) ?? 0xffffff;
    let f = R.chance(0.92) ? Flag.CRAV : 0;
    if (R.chance(0.7)) f |= Flag.RCR;
    if (R.chance(0.15)) f |= Flag.RCI;
    for (let b = 0; b < 24; b++) if ((allowed >> b) & 1 && R.chance(0.12)) f |= 1 << b;
    if (R.chance(0.03)) f |= 1 << R.int(24);
    return f;
  };
  const gen = (at: number, depth: number, forceOp?: number): void => {
    const op = forceOp ?? R.chance(0.03) ? R.int(256) : depth === 0 && R.chance(0.07) ? Opcode.BATCH : depth > 0 && R.chance(0.02) ? pick([Opcode.BATCH, Opcode.DRAIN]) : pick(ops);
    const isDelta = op === Opcode.CR_DELTA || op === Opcode.AP_DELTA;
    const d: D = { op, flags: flagsFor(op), size: size(isDelta) };
    const n = d.size!;
    d.rec = R.chance(0.93) ? BigInt(ctx.arenaBase + 31 - ((ctx.arenaBase + 31) % 32) + 32 * R.int(Math.floor((ctx.arenaEnd - ctx.arenaBase) / 32) - 1)) : R.chance(0.5) ? addr(32) : addr(32, 32);
    d.handle = R.chance(0.85) ? pick([0, 1, 3, 63]) : R.int(70);
    d.src = addr(n, isDelta ? 8 : 1);
    d.dst = addr(n, isDelta ? 8 : 1);
    switch (op) {
      case Opcode.MEMFILL: d.src = u64(); break;
      case Opcode.COMPARE:
        d.w40 = BigInt(R.int(3) === 2 ? R.int(4) : R.int(2));
        if (R.chance(0.5) && inArena(d.src!, n) && inArena(d.dst!, n)) {
          mem.copyWithin(Number(d.dst), Number(d.src), Number(d.src) + n);
          if (n > 0 && R.chance(0.5)) mem[Number(d.dst) + R.int(n)] ^= 1 << R.int(8);
          touch(d.dst!, n);
        }
        break;
      case Opcode.COMPVAL: {
        d.dst = R.chance(0.3) ? BigInt(pick([0, 0x4141414141414141])) : u64();
        d.w40 = BigInt(R.int(2));
        if (R.chance(0.5) && inArena(d.src!, n)) {
          for (let i = 0; i < n; i++) mem[Number(d.src) + i] = Number((d.dst! >> BigInt(8 * (i % 8))) & 0xffn);
          if (n > 0 && R.chance(0.6)) mem[Number(d.src) + R.int(n)] ^= 1 << R.int(8);
          touch(d.src!, n);
        }
        break;
      }
      case Opcode.CR_DELTA: {
        const rec = addr(R.int(800), 8);
        const max = R.chance(0.9) ? 80 + 10 * R.int(60) : R.int(200);
        d.w40 = rec; d.w48 = BigInt(max); d.w56 = BigInt(R.chance(0.95) ? R.int(8) : R.int(256));
        if (R.chance(0.6) && inArena(d.src!, n) && inArena(d.dst!, n)) {
          mem.copyWithin(Number(d.dst), Number(d.src), Number(d.src) + n);
          const k = n > 0 ? R.int(12) : 0;
          for (let i = 0; i < k; i++) mem[Number(d.dst) + R.int(n)] ^= 1 << R.int(8);
          touch(d.dst!, n);
        }
        break;
      }
      case Opcode.AP_DELTA: {
        const words = Math.max(1, n >> 3);
        const count = 1 + R.int(Math.min(words, 40));
        d.w40 = BigInt(R.chance(0.93) ? 10 * count : R.int(100));
        if (inArena(d.src!, 10 * count)) {
          touch(d.src!, 10 * count);
          let off = R.int(3);
          for (let i = 0; i < count; i++) {
            const o = R.chance(0.03) ? R.int(words + 4) : off;
            view.setUint16(Number(d.src) + 10 * i, o, true);
            for (let k = 2; k < 10; k++) mem[Number(d.src) + 10 * i + k] = R.int(256);
            off += 1 + R.int(Math.max(1, Math.floor(words / count)));
          }
        }
        break;
      }
      case Opcode.DUALCAST: {
        const d1 = d.dst!;
        d.w40 = R.chance(0.85) ? d1 + BigInt(4096 * (R.chance(0.5) ? 1 : -1) * (1 + R.int(2))) : addr(n);
        break;
      }
      case Opcode.CRCGEN:
      case Opcode.COPY_CRC:
        d.w40 = BigInt(R.int(2 ** 32));
        d.w48 = R.chance(0.9) ? addr(4) : u64();
        break;
      case Opcode.BATCH: {
        const count = R.chance(0.9) ? 2 + R.int(6) : R.int(40);
        const list = R.chance(0.9) ? BigInt(ctx.arenaBase + 63 - ((ctx.arenaBase + 63) % 64) + 64 * R.int(Math.floor((ctx.arenaEnd - ctx.arenaBase) / 64) - 10)) : addr(64 * count, 64);
        d.src = list; d.size = count;
        if (depth === 0 && inArena(list, 64 * Math.min(count, 8))) for (let j = 0; j < Math.min(count, 8); j++) gen(Number(list) + 64 * j, depth + 1);
        break;
      }
    }
    if (R.chance(0.04)) {
      // a stray non-zero in a possibly reserved byte
      const b = 38 + R.int(26);
      const at8 = (k: 'w40' | 'w48' | 'w56', base: number) => { d[k] = (d[k] ?? 0n) | (BigInt(1 + R.int(255)) << BigInt(8 * (b - base))); };
      if (b < 40) d.res38 = 1 + R.int(255); else if (b < 48) at8('w40', 40); else if (b < 56) at8('w48', 48); else at8('w56', 56);
    }
    writeDesc(view, at, d);
    touch(at, 64);
  };
  return { R, gen, dirty };
}

function fuzz(seed: number, iterations: number, onlyOp?: number) {
  const { R, gen, dirty } = fuzzSetup(seed);
  const mirror = new Uint8Array(MEM_END);
  let counts = new Map<number, number>();
  for (let it = 0; it < iterations; it++) {
    if (it % 2000 === 0) {
      // a new arena: odd or aligned bounds, sometimes flush with the end of memory
      const top = R.chance(0.3); // flush with the end of memory: a stray access would trap
      const span = 16384 + 8192 + R.int(64);
      const lo = top ? MEM_END - span : ARENA_LO + (R.chance(0.5) ? R.int(64) : 0);
      const hi = top ? MEM_END : lo + span;
      setCtx({ arenaBase: lo, arenaEnd: hi, maxTransfer: R.chance(0.5) ? 4096 : Limit.MAX_TRANSFER_DEFAULT, maxBatch: 6 + R.int(4) });
      randomize(ARENA_LO, MEM_END, R.int(2 ** 31));
      mirror.set(mem);
    }
    gen(DESC, 0, onlyOp);
    // the generator wrote into the wasm memory; bring the mirror up to date
    for (const [a, n] of dirty) mirror.set(mem.subarray(a, a + n), a);
    dirty.length = 0;
    view.setBigUint64(IRQ, 0n, true);
    const st = core.execute(DESC, CTX, IRQ);
    const irq = view.getBigUint64(IRQ, true);
    const ref = referenceExecute(mirror, DESC, ctx);
    counts.set(st, (counts.get(st) ?? 0) + 1);
    const lo = ctx.arenaBase - 64, hi = Math.min(MEM_END, ctx.arenaEnd + 64);
    let diff = firstDiff(mem.subarray(lo, hi), mirror.subarray(lo, hi));
    if (diff === -1 && it % 997 === 0) {
      mirror.set(mem.subarray(IRQ, IRQ + 8), IRQ);
      mirror.set(mem.subarray(SCRATCH, SCRATCH + Limit.CORE_SCRATCH_BYTES), SCRATCH); // the core's own
      diff = firstDiff(mem, mirror);
      if (diff !== -1) diff -= lo;
    }
    if (st !== ref.status || irq !== ref.irq || diff !== -1) {
      const hex = Buffer.from(mem.subarray(DESC, DESC + 64)).toString('hex');
      const list = mem[DESC + 7] === 1 ? Buffer.from(mem.subarray(Number(view.getBigUint64(DESC + 16, true)), Number(view.getBigUint64(DESC + 16, true)) + 64 * 4)).toString('hex') : '';
      assert.unreachable(
        `fuzz seed ${seed} iteration ${it}: status core 0x${st.toString(16)} ref 0x${ref.status.toString(16)}, irq ${irq} vs ${ref.irq}, ` +
          `memory diff at ${diff === -1 ? 'none' : lo + diff} (core ${mem[lo + diff]} ref ${mirror[lo + diff]})\n desc ${hex}\n ctx ${JSON.stringify({ ...ctx, handles: String(ctx.handles) })}\n list ${list}`,
      );
    }
  }
  setCtx({ arenaBase: ARENA_LO, arenaEnd: MEM_END, maxTransfer: Limit.MAX_TRANSFER_DEFAULT, maxBatch: 32 });
  return counts;
}

test('every opcode vs the reference over random inputs', () => {
  for (const op of [Opcode.NOOP, Opcode.BATCH, Opcode.DRAIN, Opcode.MEMMOVE, Opcode.MEMFILL, Opcode.COMPARE, Opcode.COMPVAL, Opcode.CR_DELTA, Opcode.AP_DELTA, Opcode.DUALCAST, Opcode.CRCGEN, Opcode.COPY_CRC, Opcode.CFLUSH]) {
    const counts = fuzz(1000 + op, 1500, op);
    assert.ok(counts.get(Status.SUCCESS)! > 0 || op === Opcode.BATCH, `op ${op}: some successes`);
  }
});

test('MEMMOVE through the host\'s copy past the cache (from 16 bytes): the reference\'s results, the copy chosen only without CC and without overlap', () => {
  core.setStreamFrom(16);
  try {
    streamed = 0;
    const counts = fuzz(4242, 3000, Opcode.MEMMOVE);
    assert.ok(counts.get(Status.SUCCESS)! > 0 && counts.get(Status.PAGE_FAULT)! > 0, JSON.stringify([...counts]));
    assert.ok(streamed >= 10, `streamed ${streamed}`);
    // not with CC set, not when the ranges overlap, not below the size
    const d = new DataView(memory.buffer);
    const desc = ARENA_LO + 8192;
    const run = (src: number, dst: number, size: number, flags: number): number => {
      mem.fill(0, desc, desc + 64);
      d.setUint32(desc + Desc.FLAGS, flags | (Opcode.MEMMOVE << 24), true);
      d.setBigUint64(desc + Desc.SRC, BigInt(src), true);
      d.setBigUint64(desc + Desc.DST, BigInt(dst), true);
      d.setUint32(desc + Desc.XFER_SIZE, size, true);
      const before = streamed;
      assert.is(core.execute(desc, CTX, 0), Status.SUCCESS);
      return streamed - before;
    };
    const a = ARENA_LO + 16384;
    assert.is(run(a, a + 4096, 1024, 0), 1, 'streamed');
    assert.is(run(a, a + 4096, 1024, Flag.CC), 0, 'CC: through the cache');
    assert.is(run(a, a + 512, 1024, 0), 0, 'overlapping forwards');
    assert.is(run(a + 512, a, 1024, 0), 0, 'overlapping backwards');
    assert.is(run(a, a + 4096, 15, 0), 0, 'below the size');
  } finally {
    core.setStreamFrom(0);
  }
});

test('fuzz: random descriptors, core vs reference byte for byte', () => {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : (Math.random() * 2 ** 31) >>> 0;
  const n = process.env.FUZZ_N ? Number(process.env.FUZZ_N) : 100000;
  try {
    const counts = fuzz(seed, n);
    const summary = [...counts].sort((a, b) => a[0] - b[0]).map(([s, c]) => `${s.toString(16)}:${c}`).join(' ');
    console.log(`  fuzz seed ${seed}, ${n} descriptors, statuses ${summary}`);
  } catch (e) {
    console.error(`fuzz failed with FUZZ_SEED=${seed}`);
    throw e;
  }
});

// ---- the SIMD fast paths: rounds of 128 (compare, compval) and 64 bytes (create delta)
test('compare and compare pattern: a single difference at every position around the SIMD rounds', () => {
  const A = ARENA_LO, B = ARENA_LO + 4096, P = 0x1122334455667788n;
  for (const n of [1, 15, 16, 17, 127, 128, 129, 255, 256, 300, 1000]) {
    for (let at = 0; at <= n; at += at < 40 || n - at < 40 ? 1 : 37) {
      for (const off of [0, 3]) {
        randomize(A + off, A + off + n, n * 7 + at);
        mem.copyWithin(B + off, A + off, A + off + n);
        if (at < n) mem[B + off + at] ^= 1 << (at & 7);
        const r = exec({ op: Opcode.COMPARE, src: A + off, dst: B + off, size: n });
        assert.is(r.result, at < n ? 1 : 0, `compare n ${n} at ${at}`);
        if (at < n) assert.is(r.bytes, at);
        for (let i = 0; i < n; i++) mem[A + off + i] = Number((P >> BigInt(8 * (i & 7))) & 0xffn);
        if (at < n) mem[A + off + at] ^= 0x80;
        const v = exec({ op: Opcode.COMPVAL, src: A + off, size: n, w40: 0n, dst: P });
        assert.is(v.result, at < n ? 1 : 0, `compval n ${n} at ${at}`);
      }
    }
  }
});

test('create delta: sparse differences around the 64-byte skip, record overlapping a source', () => {
  const S1 = ARENA_LO, S2 = ARENA_LO + 16384, REC = ARENA_LO + 40000;
  const r = rng(99);
  for (let k = 0; k < 300; k++) {
    const n = 8 * (1 + r.int(k < 150 ? 80 : 1000));
    randomize(S1, S1 + n, k);
    mem.copyWithin(S2, S1, S1 + n);
    const diffs = r.int(4);
    for (let d = 0; d < diffs; d++) mem[S2 + r.int(n)] ^= 1 + r.int(255);
    const max = 10 * (8 + r.int(8));
    // the record in a later part of src2 in a third of the cases: later words see the entries
    const rec = k % 3 === 0 ? S2 + 8 * (r.int(n >> 3)) : REC;
    exec({ op: Opcode.CR_DELTA, src: S1, dst: S2, size: n, w40: BigInt(rec), w48: BigInt(max) });
  }
});

test.run();
