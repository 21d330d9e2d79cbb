// DIF check/insert/strip/update, DIX generate, translation fetch: the core against the reference
// model (test/reference.ts, byte at a time) and against published values.
// Where Intel DML's software path and the hardware differ, softdsa follows the hardware; the
// tests that pin those points say "hardware, not DML" (docs/format.md, DIF [decided]).
// Run: node --import tsx node_modules/uvu/bin.js test dif.test
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Opcode, Flag, Status, Desc, Record as Rec, Limit, DifFlag, SrcDif, DstDif, DifStatus } from '../src/device/format.ts';
import { instantiateCore } from '../src/device/core.ts';
import { Descriptor } from '../src/device/descriptor.ts';
import { referenceExecute, referenceCrc16, referenceGuard, tupleBytes, DIF_BLOCK_SIZES, type RefCtx } from './reference.ts';
import { ARENA_LO, coreWasm, CTX, DESC, IRQ, PAGE, SCRATCH, writeCtx } from './core_rig.ts';

const PAGES = ARENA_LO / PAGE + 3;
const MEM_END = PAGES * PAGE;
const RECORD = ARENA_LO; // the record slot; data from ARENA_LO + 64
const A = ARENA_LO + 64;

const wasmModule = coreWasm();
const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
// (instantiated as the host does it, with no foreign spaces: 0x10 for a PASID, and no streamCopy)
const core = instantiateCore(wasmModule, memory);
const mem = new Uint8Array(memory.buffer);
const view = new DataView(memory.buffer);

const CTX_DEFAULT: RefCtx = { arenaBase: ARENA_LO, arenaEnd: MEM_END, maxTransfer: Limit.MAX_TRANSFER_DEFAULT, maxBatch: 32, handles: 1n };
let ctx: RefCtx = CTX_DEFAULT;
function setCtx(c: Partial<RefCtx>) {
  ctx = { ...CTX_DEFAULT, ...c };
  writeCtx(view, ctx);
}
setCtx({});
core.init(CTX, SCRATCH);
test.before.each(() => setCtx({}));

interface DifDesc {
  op: number; flags?: number; src: number; dst?: number; size: number;
  srcFlags?: number; dstFlags?: number; difFlags?: number;
  /** check/strip/update source tags (@48) */
  ref?: number; appMask?: number; app?: number;
  /** insert/update/DIX destination tags (@56) */
  dRef?: number; dAppMask?: number; dApp?: number;
  /** raw bytes to poke after the fields: [offset, value] */
  poke?: [number, number][];
}
function writeDesc(d: DifDesc) {
  mem.fill(0, DESC, DESC + 64);
  view.setUint32(DESC + Desc.FLAGS, (d.flags ?? Flag.CRAV | Flag.RCR) & 0xffffff, true);
  view.setUint8(DESC + Desc.OPCODE, d.op);
  view.setBigUint64(DESC + Desc.COMPLETION, BigInt(RECORD), true);
  view.setBigUint64(DESC + Desc.SRC, BigInt(d.src), true);
  view.setBigUint64(DESC + Desc.DST, BigInt(d.dst ?? 0), true);
  view.setUint32(DESC + Desc.XFER_SIZE, d.size, true);
  view.setUint8(DESC + Desc.SRC_DIF_FLAGS, d.srcFlags ?? 0);
  view.setUint8(DESC + Desc.DST_DIF_FLAGS, d.dstFlags ?? 0);
  view.setUint8(DESC + Desc.DIF_FLAGS, d.difFlags ?? 0);
  const checks = d.op === Opcode.DIF_CHECK || d.op === Opcode.DIF_STRP || d.op === Opcode.DIF_UPDT;
  const writes = d.op === Opcode.DIF_INS || d.op === Opcode.DIF_UPDT || d.op === Opcode.DIX_GEN;
  if (checks) {
    view.setUint32(DESC + 48, d.ref ?? 0, true);
    view.setUint16(DESC + 52, d.appMask ?? 0, true);
    view.setUint16(DESC + 54, d.app ?? 0, true);
  }
  if (writes) {
    view.setUint32(DESC + 56, d.dRef ?? 0, true);
    view.setUint16(DESC + 60, d.dAppMask ?? 0, true);
    view.setUint16(DESC + 62, d.dApp ?? 0, true);
  }
  for (const [at, v] of d.poke ?? []) view.setUint8(DESC + at, v);
}
interface Rcd { status: number; difStatus: number; bytes: number; fault: bigint; at16: bigint; at24: bigint; }
function readRecord(): Rcd {
  return {
    status: view.getUint8(RECORD), difStatus: view.getUint8(RECORD + Rec.DIF_STATUS), bytes: view.getUint32(RECORD + Rec.BYTES_COMPLETED, true),
    fault: view.getBigUint64(RECORD + Rec.FAULT_ADDR, true), at16: view.getBigUint64(RECORD + 16, true), at24: view.getBigUint64(RECORD + 24, true),
  };
}
/** Runs d on the core and on the reference (on a copy of memory); both must agree byte for byte. */
function exec(d: DifDesc): Rcd & { ret: number } {
  writeDesc(d);
  mem.fill(0, RECORD, RECORD + 32);
  const copy = mem.slice();
  const ret = core.execute(DESC, CTX, IRQ);
  const ref = referenceExecute(copy, DESC, ctx);
  copy.set(mem.subarray(IRQ, IRQ + 8), IRQ);
  copy.set(mem.subarray(SCRATCH, SCRATCH + Limit.CORE_SCRATCH_BYTES), SCRATCH);
  assert.is(ret, ref.status, `status core 0x${ret.toString(16)} ref 0x${ref.status.toString(16)}`);
  if (Buffer.compare(mem, copy) !== 0) {
    let i = 0;
    while (mem[i] === copy[i]) i++;
    assert.unreachable(`memory differs at ${i} (${i - A} from A): core ${mem[i]} ref ${copy[i]}`);
  }
  return { ...readRecord(), ret };
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
function randomize(from: number, to: number, seed: number) {
  const r = rng(seed);
  for (let i = from; i < to; i++) mem[i] = r() & 0xff;
}
const tags = (ref: number, mask: number, app: number) => BigInt(ref >>> 0) | (BigInt(mask) << 32n) | (BigInt(app) << 48n);
const be16 = (a: number) => (mem[a] << 8) | mem[a + 1];
const be32 = (a: number) => ((mem[a] << 24) | (mem[a + 1] << 16) | (mem[a + 2] << 8) | mem[a + 3]) >>> 0;

/** Protected data at `at`: `blocks` blocks of random data, each with a correct tuple (built here, not by the core). */
function protect(at: number, blocks: number, df: number, ref: number, app: number, seed: number, o: { fixedRef?: boolean; incApp?: boolean } = {}) {
  const bs = DIF_BLOCK_SIZES[df & 3];
  randomize(at, at + blocks * (bs + 8), seed);
  for (let b = 0; b < blocks; b++) {
    const p = at + b * (bs + 8);
    const g = referenceGuard(mem.subarray(p, p + bs), df);
    mem.set(tupleBytes(g, (app + (o.incApp ? b : 0)) & 0xffff, (ref + (o.fixedRef ? 0 : b)) >>> 0), p + bs);
  }
}

// ---- the CRC-16
test('CRC-16 T10-DIF: the published check value ("123456789" -> 0xD0DB), core and reference', () => {
  const s = new TextEncoder().encode('123456789');
  assert.is(referenceCrc16(s), 0xd0db);
  mem.set(s, A);
  assert.is(core.crc16(A, 9, 0), 0xd0db);
  // chaining through the seed
  assert.is(core.crc16(A + 4, 5, core.crc16(A, 4, 0)), 0xd0db);
});

test('CRC-16: core agrees with the bit-at-a-time reference for every length 0..300 and random seeds, and long buffers', () => {
  randomize(A, A + 70000, 1);
  const r = rng(2);
  for (let n = 0; n <= 300; n++) {
    const seed = r() & 0xffff;
    const off = r() % 64;
    assert.is(core.crc16(A + off, n, seed), referenceCrc16(mem.subarray(A + off, A + off + n), seed), `len ${n}`);
  }
  // the fold's edges (tables below 256 bytes, parts of 16 KiB above)
  for (const n of [255, 256, 257, 271, 272, 319, 320, 1000, 4096 + 7, 16383, 16384, 16385, 2 * 16384 + 255, 2 * 16384 + 256, 65536 + 3]) {
    for (const off of [0, 5]) assert.is(core.crc16(A + off, n, n & 0xffff), referenceCrc16(mem.subarray(A + off, A + off + n), n & 0xffff), `fold len ${n}`);
  }
  for (const n of [4096, 4104, 65536 + 3]) assert.is(core.crc16(A + 1, n, 0xffff), referenceCrc16(mem.subarray(A + 1, A + 1 + n), 0xffff), `len ${n}`);
});

// ---- insert, then check, strip, update, DIX
test('DIF insert: tuples byte-exact (guard, app tag, ref tag big-endian) for every block size and DIF flags value', () => {
  for (let df = 0; df < 16; df++) {
    const bs = DIF_BLOCK_SIZES[df & 3];
    randomize(A, A + 3 * bs, 10 + df);
    const dst = A + 3 * bs + 64;
    const r = exec({ op: Opcode.DIF_INS, src: A, dst, size: 3 * bs, difFlags: df, dRef: 0xfffffffe, dApp: 0x1234 });
    assert.is(r.ret, Status.SUCCESS);
    for (let b = 0; b < 3; b++) {
      const t = dst + b * (bs + 8) + bs;
      assert.is(be16(t), referenceGuard(mem.subarray(A + b * bs, A + (b + 1) * bs), df), `guard df ${df} block ${b}`);
      assert.is(be16(t + 2), 0x1234);
      assert.is(be32(t + 4), (0xfffffffe + b) >>> 0, 'ref tag increments and wraps');
      assert.equal(mem.subarray(dst + b * (bs + 8), t), mem.subarray(A + b * bs, A + (b + 1) * bs), 'data copied');
    }
    // record: insert tags at 24 (next block's), nothing at 16
    assert.is(r.at16, 0n);
    assert.is(r.at24, tags(1, 0, 0x1234), 'next ref tag (wrapped), mask, app tag');
  }
});

test('DIF insert: destination tag types (fixed ref, incrementing app) and the app tag mask', () => {
  randomize(A, A + 4 * 512, 3);
  const dst = A + 8192;
  exec({ op: Opcode.DIF_INS, src: A, dst, size: 4 * 512, dstFlags: DstDif.REF_TAG_TYPE | DstDif.APP_TAG_TYPE, dRef: 77, dApp: 0xfffe, dAppMask: 0x00f0 });
  for (let b = 0; b < 4; b++) {
    const t = dst + b * 520 + 512;
    assert.is(be32(t + 4), 77);
    assert.is(be16(t + 2), ((0xfffe + b) & 0xffff) & ~0x00f0, 'app tag increments, wraps, written with masked bits 0 (as DML)');
  }
  assert.is(readRecord().at24, tags(77, 0x00f0, 2));
});

test('DIF check: data protected by insert passes; every source flag value, every block size', () => {
  const r = rng(5);
  for (let df = 0; df < 16; df++) {
    const bs = DIF_BLOCK_SIZES[df & 3];
    const blocks = bs > 600 ? 2 : 4;
    randomize(A, A + blocks * bs, 20 + df);
    const prot = A + 65536;
    const ref = r(), app = r() & 0xffff;
    exec({ op: Opcode.DIF_INS, src: A, dst: prot, size: blocks * bs, difFlags: df, dRef: ref, dApp: app });
    for (let sf = 0; sf < 256; sf += df < 4 ? 1 : 37) {
      // source tag types must match how they were written: fixed app tag, incrementing ref
      const okTypes = (sf & (SrcDif.APP_TAG_TYPE | SrcDif.REF_TAG_TYPE)) === 0;
      const c = exec({ op: Opcode.DIF_CHECK, src: prot, size: blocks * (bs + 8), difFlags: df, srcFlags: sf, ref, app });
      if (okTypes) assert.is(c.ret, Status.SUCCESS, `df ${df} sf ${sf}`);
    }
  }
});

test('DIF check: a corrupted guard, app tag or ref tag in a random block: 0x09, dif_status bits, bytes completed = block offset, record tags', () => {
  const r = rng(7);
  for (let iter = 0; iter < 60; iter++) {
    const df = r() % 16;
    const bs = DIF_BLOCK_SIZES[df & 3];
    const blocks = 1 + (r() % (bs > 600 ? 5 : 12));
    const ref = r(), app = r() & 0xffff;
    protect(A, blocks, df, ref, app, iter);
    const k = r() % blocks;
    const which = r() % 3; // 0 guard, 1 app, 2 ref
    const byte = A + k * (bs + 8) + bs + [0, 2, 4][which] + (r() % (which === 2 ? 4 : 2));
    mem[byte] ^= 1 << (r() % 8);
    const c = exec({ op: Opcode.DIF_CHECK, src: A, size: blocks * (bs + 8), difFlags: df, ref, app });
    assert.is(c.ret, Status.DIF_ERR);
    assert.is(c.status, Status.DIF_ERR);
    assert.is(c.difStatus, [DifStatus.GUARD, DifStatus.APP_TAG, DifStatus.REF_TAG][which], `iter ${iter}`);
    assert.is(c.bytes, k * (bs + 8));
    assert.is(c.at16, tags(ref + k, 0, app), 'tags of the failing block (hardware, not DML: DML leaves them 0)');
    // the same with the flag that disables that check (app: mask 0xFFFF) passes
    const off = exec({
      op: Opcode.DIF_CHECK, src: A, size: blocks * (bs + 8), difFlags: df, ref, app,
      srcFlags: which === 0 ? SrcDif.GUARD_CHECK_DISABLE : which === 2 ? SrcDif.REF_TAG_CHECK_DISABLE : 0,
      appMask: which === 1 ? 0xffff : 0,
    });
    assert.is(off.ret, Status.SUCCESS, `disabled check, iter ${iter}`);
    // data corruption: guard only
    mem[byte] ^= 0xff; mem[byte] ^= 0xff ^ (1 << 0); // restore nothing in particular: re-protect below
  }
  protect(A, 3, 0, 5, 6, 99);
  mem[A + 520 + 17] ^= 0x40;
  const c = exec({ op: Opcode.DIF_CHECK, src: A, size: 3 * 520, ref: 5, app: 6 });
  assert.equal([c.ret, c.difStatus, c.bytes], [Status.DIF_ERR, DifStatus.GUARD, 520]);
  // all three at once
  mem.set([0, 0, 0, 0, 0, 0, 0, 0], A + 512);
  const all = exec({ op: Opcode.DIF_CHECK, src: A, size: 3 * 520, ref: 5, app: 6 });
  assert.equal([all.difStatus, all.bytes], [DifStatus.GUARD | DifStatus.APP_TAG | DifStatus.REF_TAG, 0]);
});

test('DIF check: source tag types (fixed ref, incrementing app) and the app tag mask (hardware, not DML)', () => {
  protect(A, 4, 0, 900, 0xfffe, 8, { fixedRef: true, incApp: true });
  const size = 4 * 520;
  assert.is(exec({ op: Opcode.DIF_CHECK, src: A, size, ref: 900, app: 0xfffe, srcFlags: SrcDif.REF_TAG_TYPE | SrcDif.APP_TAG_TYPE }).ret, Status.SUCCESS);
  assert.is(readRecord().at16, tags(900, 0, 2), 'next block: ref fixed, app incremented and wrapped');
  const r = exec({ op: Opcode.DIF_CHECK, src: A, size, ref: 900, app: 0xfffe, srcFlags: SrcDif.REF_TAG_TYPE });
  assert.equal([r.ret, r.difStatus, r.bytes], [Status.DIF_ERR, DifStatus.APP_TAG, 520]);
  // mask: bits set in it are not compared. Block 1's app tag is 0xffff, the seed 0xfffe: bit 0 differs.
  assert.is(exec({ op: Opcode.DIF_CHECK, src: A, size, ref: 900, app: 0xfffe, appMask: 0x0001, srcFlags: SrcDif.REF_TAG_TYPE }).bytes, 2 * 520);
  // mask 0x0000 compares all 16 bits (hardware; DML skips the app tag check for mask 0x0000)
  protect(A, 1, 0, 0, 0x00ff, 9);
  assert.equal(exec({ op: Opcode.DIF_CHECK, src: A, size: 520, app: 0x01ff, appMask: 0 }).difStatus, DifStatus.APP_TAG);
  // mask 0xFFFF compares nothing (hardware; DML compares the field with 0)
  assert.is(exec({ op: Opcode.DIF_CHECK, src: A, size: 520, app: 0x1234, appMask: 0xffff }).ret, Status.SUCCESS);
});

test('DIF check: all-F tuples and the F-detect flags', () => {
  protect(A, 3, 0, 10, 20, 11);
  mem.fill(0xff, A + 520 + 512, A + 520 + 520); // block 1: all-F tuple
  const base = { op: Opcode.DIF_CHECK, src: A, size: 3 * 520, ref: 10, app: 20 };
  const none = exec(base);
  assert.equal([none.ret, none.bytes], [Status.DIF_ERR, 520], 'no F detect: checked, fails');
  assert.is(exec({ ...base, srcFlags: SrcDif.ALL_F_DETECT }).ret, Status.SUCCESS, 'all-F detect alone: block not checked (hardware)');
  const err = exec({ ...base, srcFlags: SrcDif.ALL_F_DETECT | SrcDif.ENABLE_ALL_F_DETECT_ERROR });
  assert.equal([err.ret, err.difStatus, err.bytes], [Status.DIF_ERR, DifStatus.ALL_F, 520], 'all-F error: 0x08 alone');
  assert.is(exec({ ...base, srcFlags: SrcDif.ENABLE_ALL_F_DETECT_ERROR }).bytes, 520, 'the error enable alone does nothing');
  assert.is(exec({ ...base, srcFlags: SrcDif.APP_TAG_F_DETECT }).ret, Status.SUCCESS);
  assert.is(exec({ ...base, srcFlags: SrcDif.APP_AND_REF_TAG_F_DETECT }).ret, Status.SUCCESS);
  // app tag 0xFFFF with a good guard and a ref tag that is not all-F
  mem.set([0xff, 0xff, 0, 0, 0, 0], A + 520 + 514);
  assert.is(exec({ ...base, srcFlags: SrcDif.APP_TAG_F_DETECT }).ret, Status.SUCCESS, 'app F detect skips');
  const both = exec({ ...base, srcFlags: SrcDif.APP_AND_REF_TAG_F_DETECT });
  assert.equal([both.ret, both.bytes], [Status.DIF_ERR, 520], 'app+ref F detect needs the ref tag all-F too');
  assert.equal(exec({ ...base, srcFlags: SrcDif.ALL_F_DETECT | SrcDif.ENABLE_ALL_F_DETECT_ERROR }).bytes, 520, 'not all 8 bytes F: normal check');
});

test('DIF strip: data copied, tuples dropped; a failing block stops it with the blocks before it written', () => {
  for (let df = 0; df < 4; df++) {
    const bs = DIF_BLOCK_SIZES[df];
    protect(A, 3, df, 1, 2, 30 + df);
    const dst = A + 20000;
    mem.fill(0, dst, dst + 3 * bs + 64);
    assert.is(exec({ op: Opcode.DIF_STRP, src: A, dst, size: 3 * (bs + 8), difFlags: df, ref: 1, app: 2 }).ret, Status.SUCCESS);
    for (let b = 0; b < 3; b++) assert.equal(mem.subarray(dst + b * bs, dst + (b + 1) * bs), mem.subarray(A + b * (bs + 8), A + b * (bs + 8) + bs));
    assert.is(readRecord().at16, tags(4, 0, 2));
    mem[A + 2 * (bs + 8) + 3] ^= 1;
    mem.fill(0, dst, dst + 3 * bs + 64);
    const r = exec({ op: Opcode.DIF_STRP, src: A, dst, size: 3 * (bs + 8), difFlags: df, ref: 1, app: 2 });
    assert.equal([r.ret, r.difStatus, r.bytes], [Status.DIF_ERR, DifStatus.GUARD, 2 * (bs + 8)]);
    assert.ok(mem.subarray(dst + 2 * bs, dst + 3 * bs).every((x) => x === 0), 'the failing block is not written');
    assert.ok(mem.subarray(dst + bs, dst + 2 * bs).some((x) => x !== 0), 'the blocks before it are (hardware, not DML)');
  }
});

test('DIF update: checked with the source tags, rewritten with the destination tags; each pass-through flag', () => {
  const r = rng(12);
  for (let tf = 0; tf < 256; tf += 8) {
    const df = r() % 16;
    const bs = DIF_BLOCK_SIZES[df & 3];
    const blocks = bs > 600 ? 2 : 3;
    protect(A, blocks, df, 100, 200, tf);
    const dst = A + 20000;
    const d = { op: Opcode.DIF_UPDT, src: A, dst, size: blocks * (bs + 8), difFlags: df, srcFlags: 0, ref: 100, app: 200, dstFlags: tf, dRef: 5000, dApp: 7, dAppMask: r() & 0xffff };
    const u = exec(d);
    assert.is(u.ret, Status.SUCCESS, `tf ${tf}`);
    for (let b = 0; b < blocks; b++) {
      const s = A + b * (bs + 8) + bs, t = dst + b * (bs + 8) + bs;
      assert.is(be16(t), be16(s), 'guard: same data and flags, same guard');
      assert.is(be16(t + 2), tf & DstDif.APP_TAG_PASS ? be16(s + 2) : ((7 + (tf & DstDif.APP_TAG_TYPE ? b : 0)) & ~d.dAppMask) & 0xffff);
      assert.is(be32(t + 4), tf & DstDif.REF_TAG_PASS ? be32(s + 4) : 5000 + (tf & DstDif.REF_TAG_TYPE ? 0 : b));
    }
    assert.is(u.at16, tags(100 + blocks, 0, 200));
  }
  // guard pass-through copies a guard that was not recomputed: check disabled, bad guard kept
  protect(A, 2, 0, 0, 0, 50);
  mem[A + 512] ^= 0xff;
  exec({ op: Opcode.DIF_UPDT, src: A, dst: A + 20000, size: 1040, srcFlags: SrcDif.GUARD_CHECK_DISABLE, dstFlags: DstDif.GUARD_PASS });
  assert.is(be16(A + 20000 + 512), be16(A + 512));
  exec({ op: Opcode.DIF_UPDT, src: A, dst: A + 20000, size: 1040, srcFlags: SrcDif.GUARD_CHECK_DISABLE });
  assert.is(be16(A + 20000 + 512), be16(A + 512) ^ 0xff00, 'recomputed');
});

test('DIX generate: the tuples alone, 8 bytes per block, as insert writes them', () => {
  for (let df = 0; df < 16; df += 3) {
    const bs = DIF_BLOCK_SIZES[df & 3];
    randomize(A, A + 3 * bs, 40 + df);
    const ins = A + 20000, dix = A + 40000;
    exec({ op: Opcode.DIF_INS, src: A, dst: ins, size: 3 * bs, difFlags: df, dRef: 9, dApp: 3, dstFlags: DstDif.APP_TAG_TYPE });
    const r = exec({ op: Opcode.DIX_GEN, src: A, dst: dix, size: 3 * bs, difFlags: df, dRef: 9, dApp: 3, dstFlags: DstDif.APP_TAG_TYPE });
    assert.is(r.ret, Status.SUCCESS);
    for (let b = 0; b < 3; b++) assert.equal(mem.subarray(dix + 8 * b, dix + 8 * b + 8), mem.subarray(ins + b * (bs + 8) + bs, ins + (b + 1) * (bs + 8)));
    assert.is(r.at24, tags(12, 0, 6));
  }
});

test('page faults at block edges: block granularity, bytes completed = whole blocks, read before write', () => {
  const bs = 512;
  for (const op of [Opcode.DIF_CHECK, Opcode.DIF_INS, Opcode.DIF_STRP, Opcode.DIF_UPDT, Opcode.DIX_GEN]) {
    const sstep = op === Opcode.DIF_INS || op === Opcode.DIX_GEN ? bs : bs + 8;
    const dstep = op === Opcode.DIF_CHECK ? 0 : op === Opcode.DIF_STRP ? bs : op === Opcode.DIX_GEN ? 8 : bs + 8;
    for (const cut of [0, 1, bs - 1, bs, bs + 3, sstep - 1].filter((c) => c < sstep)) {
      // source ends `cut` bytes into block 2
      const src = MEM_END - 2 * sstep - cut;
      if (sstep === bs) randomize(src, MEM_END, cut);
      else { protect(src, 2, 0, 0, 0, cut); randomize(src + 2 * sstep, MEM_END, 1); }
      const r = exec({ op, src, dst: ARENA_LO + 4096, size: 4 * sstep });
      assert.is(r.ret, Status.PAGE_FAULT, `op ${op} cut ${cut}`);
      assert.is(r.bytes, 2 * sstep);
      assert.is(r.fault, BigInt(MEM_END));
      if (op !== Opcode.DIF_CHECK) assert.is(readRecord().at24 !== 0n || op === Opcode.DIF_STRP, true);
    }
    if (dstep === 0) continue;
    // destination ends inside block 1
    protect(A, 3, 0, 0, 0, 60);
    for (const cut of [0, 1, dstep - 1]) {
      const dst = MEM_END - dstep - cut;
      const r = exec({ op, src: A, dst, size: 3 * sstep });
      assert.is(r.ret, Status.PAGE_FAULT | Status.WRITE_FAULT_BIT, `write, op ${op} cut ${cut}`);
      assert.is(r.bytes, sstep);
      assert.is(r.fault, BigInt(MEM_END));
    }
  }
  // arena base: the source starts below it
  const r = exec({ op: Opcode.DIF_INS, src: ARENA_LO - 24, dst: A + 8192, size: 1024 });
  assert.equal([r.ret, r.bytes, r.fault], [Status.PAGE_FAULT, 0, BigInt(ARENA_LO - 24)]);
});

test('validation: transfer size, reserved bits, overlap, flags', () => {
  protect(A, 2, 0, 0, 0, 70);
  const S = Status;
  const cases: [string, DifDesc, number][] = [
    ['check size not a multiple of 520', { op: Opcode.DIF_CHECK, src: A, size: 1039 }, S.TRANSFER_SIZE],
    ['check size 512 (the data size, not the step)', { op: Opcode.DIF_CHECK, src: A, size: 512 }, S.TRANSFER_SIZE],
    ['insert size not a multiple of 512', { op: Opcode.DIF_INS, src: A, dst: A + 8192, size: 520 }, S.TRANSFER_SIZE],
    ['zero size', { op: Opcode.DIF_CHECK, src: A, size: 0 }, S.TRANSFER_SIZE],
    ['DIF flags reserved bit', { op: Opcode.DIF_CHECK, src: A, size: 1040, difFlags: 0x10 }, S.RESERVED_NONZERO],
    ['dst flags reserved bits', { op: Opcode.DIF_INS, src: A, dst: A + 8192, size: 1024, dstFlags: 0x01 }, S.RESERVED_NONZERO],
    ['check: byte 41 reserved', { op: Opcode.DIF_CHECK, src: A, size: 1040, poke: [[41, 1]] }, S.RESERVED_NONZERO],
    ['check: bytes 56.. reserved', { op: Opcode.DIF_CHECK, src: A, size: 1040, poke: [[60, 1]] }, S.RESERVED_NONZERO],
    ['insert: byte 40 reserved', { op: Opcode.DIF_INS, src: A, dst: A + 8192, size: 1024, poke: [[40, 1]] }, S.RESERVED_NONZERO],
    ['insert: bytes 48.. reserved', { op: Opcode.DIF_INS, src: A, dst: A + 8192, size: 1024, poke: [[50, 1]] }, S.RESERVED_NONZERO],
    ['update: bytes 43..47 reserved', { op: Opcode.DIF_UPDT, src: A, dst: A + 8192, size: 1040, poke: [[45, 1]] }, S.RESERVED_NONZERO],
    ['insert: destination overlaps the source', { op: Opcode.DIF_INS, src: A, dst: A + 1023, size: 1024 }, S.BUFFER_OVERLAP],
    ['insert: destination just after', { op: Opcode.DIF_INS, src: A, dst: A + 1024, size: 1024 }, S.SUCCESS],
    ['insert: destination just before', { op: Opcode.DIF_INS, src: A + 1040, dst: A, size: 1024 }, S.SUCCESS],
    ['insert: destination one byte into the source', { op: Opcode.DIF_INS, src: A + 1039, dst: A, size: 1024 }, S.BUFFER_OVERLAP],
    ['strip: destination (1024 bytes) just before', { op: Opcode.DIF_STRP, src: A, dst: A - 1024, size: 1040 }, S.PAGE_FAULT | S.WRITE_FAULT_BIT],
    ['DIX: 16 bytes of tuples right after the data', { op: Opcode.DIX_GEN, src: A, dst: A + 1024, size: 1024 }, S.SUCCESS],
    ['DIX: tuples one byte into the data', { op: Opcode.DIX_GEN, src: A, dst: A + 1023, size: 1024 }, S.BUFFER_OVERLAP],
    ['check: no destination, CC not allowed', { op: Opcode.DIF_CHECK, src: A, size: 1040, flags: Flag.CRAV | Flag.CC }, S.INVALID_FLAGS],
    ['insert: CC allowed', { op: Opcode.DIF_INS, src: A, dst: A + 8192, size: 1024, flags: Flag.CRAV | Flag.RCR | Flag.CC | Flag.DSTS }, S.SUCCESS],
    ['insert: a CRC flag is not', { op: Opcode.DIF_INS, src: A, dst: A + 8192, size: 1024, flags: Flag.CRAV | Flag.CRC_BYPASS_INVERT }, S.INVALID_FLAGS],
  ];
  for (const [name, d, want] of cases) {
    const r = exec(d);
    assert.is(r.ret, want, `${name}: got 0x${r.ret.toString(16)}`);
  }
});

test('translation fetch (0x0A): success on a mapped region, a read page fault at its first unmapped byte', () => {
  const base = { op: Opcode.TRANSL_FETCH, src: A, size: 65536 };
  assert.is(exec(base).ret, Status.SUCCESS);
  const r = exec({ ...base, src: MEM_END - 100, size: 4096 });
  assert.equal([r.ret, r.bytes, r.fault], [Status.PAGE_FAULT, 100, BigInt(MEM_END)]);
  assert.is(exec({ ...base, size: 0 }).ret, Status.TRANSFER_SIZE);
  assert.is(exec({ ...base, flags: Flag.CRAV | Flag.TRANSL_FETCH_STRIDE }).ret, Status.INVALID_FLAGS);
  assert.is(exec({ ...base, poke: [[44, 1]] }).ret, Status.RESERVED_NONZERO);
});

test('random DIF descriptors: core and reference agree byte for byte (records and memory)', () => {
  const r = rng(Number(process.env.FUZZ_SEED ?? 4242));
  const ops = [Opcode.DIF_CHECK, Opcode.DIF_INS, Opcode.DIF_STRP, Opcode.DIF_UPDT, Opcode.DIX_GEN];
  for (let i = 0; i < 300; i++) {
    const op = ops[r() % ops.length];
    const df = r() % 16;
    const bs = DIF_BLOCK_SIZES[df & 3];
    const blocks = 1 + (r() % (bs > 600 ? 3 : 8));
    const ref = r(), app = r() & 0xffff;
    const sstep = op === Opcode.DIF_INS || op === Opcode.DIX_GEN ? bs : bs + 8;
    const src = ARENA_LO + 64 + (r() % 4096);
    protect(src, blocks, df, ref, app, i, { fixedRef: (r() & 1) === 1, incApp: (r() & 1) === 1 });
    // corrupt sometimes: a random byte, or a whole all-F tuple
    if (r() % 3 === 0) mem[src + (r() % (blocks * (bs + 8)))] ^= 1 << (r() % 8);
    if (r() % 6 === 0) mem.fill(0xff, src + (r() % blocks) * (bs + 8) + bs, src + (r() % blocks) * (bs + 8) + bs + 8);
    let dst = src + blocks * (bs + 8) + (r() % 9000);
    if (r() % 8 === 0) dst = MEM_END - (r() % (blocks * (bs + 8) + 1)); // fault somewhere
    mem.fill(0, dst, Math.min(MEM_END, dst + blocks * (bs + 8)));
    exec({
      op, src, dst, size: blocks * sstep, difFlags: df, srcFlags: r() & 0xff, dstFlags: r() & 0xf8,
      ref: r() % 2 ? ref : r(), app: r() % 2 ? app : r() & 0xffff, appMask: [0, 0xffff, r() & 0xffff][r() % 3],
      dRef: r(), dApp: r() & 0xffff, dAppMask: r() % 2 ? 0 : r() & 0xffff,
    });
  }
});

test('descriptor builders: the DIF descriptors as idxd.h lays them out', () => {
  const completion = RECORD;
  randomize(A, A + 1024, 80);
  const run = (bytes: Uint8Array) => {
    mem.set(bytes, DESC);
    mem.fill(0, RECORD, RECORD + 32);
    const copy = mem.slice();
    const ret = core.execute(DESC, CTX, IRQ);
    assert.is(ret, referenceExecute(copy, DESC, ctx).status);
    return ret;
  };
  const ins = Descriptor.difInsert({ src: A, dst: A + 4096, size: 1024, difFlags: DifFlag.INVERT_CRC_SEED, dstDifFlags: DstDif.APP_TAG_TYPE, refTag: 0x01020304, appTag: 0x0506, appTagMask: 0x0700, completion });
  assert.equal([ins[7], ins[40], ins[41], ins[42], ins[56], ins[59], ins[60], ins[61], ins[62], ins[63]], [Opcode.DIF_INS, 0, DstDif.APP_TAG_TYPE, DifFlag.INVERT_CRC_SEED, 4, 1, 0, 7, 6, 5]);
  assert.is(run(ins), Status.SUCCESS);
  const chk = { src: A + 4096, size: 1040, difFlags: DifFlag.INVERT_CRC_SEED, srcDifFlags: SrcDif.APP_TAG_TYPE, refTag: 0x01020304, appTag: 0x0506 & ~0x0700, completion };
  assert.is(run(Descriptor.difCheck(chk)), Status.SUCCESS);
  assert.is(run(Descriptor.difStrip({ ...chk, dst: A + 8192 })), Status.SUCCESS);
  assert.equal(mem.subarray(A + 8192, A + 8192 + 512), mem.subarray(A, A + 512));
  assert.is(run(Descriptor.difUpdate({ src: A + 4096, dst: A + 12288, size: 1040, difFlags: DifFlag.INVERT_CRC_SEED, srcDifFlags: SrcDif.APP_TAG_TYPE, srcTags: { refTag: 0x01020304, appTag: 0x0006 }, dstTags: { refTag: 9 }, completion })), Status.SUCCESS);
  assert.is(be32(A + 12288 + 512 + 4), 9);
  assert.is(run(Descriptor.dixGenerate({ src: A, pi: A + 16384, size: 1024, difFlags: DifFlag.INVERT_CRC_SEED, refTag: 0x01020304, appTag: 0x0506, appTagMask: 0x0700, dstDifFlags: DstDif.APP_TAG_TYPE, completion })), Status.SUCCESS);
  assert.equal(mem.subarray(A + 16384, A + 16392), mem.subarray(A + 4096 + 512, A + 4096 + 520));
  assert.is(run(Descriptor.translationFetch({ addr: A, size: 100, completion })), Status.SUCCESS);
});

test.run();
