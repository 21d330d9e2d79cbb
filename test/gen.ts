// Seeded random descriptors for tests and fuzzers: mostly valid, with a share of every
// kind of wrong (bad opcode, flags, reserved bytes, sizes, alignment, addresses near and
// past the arena's edges), so that each run exercises both the kernels and the checks.
import { encode } from '../src/device/descriptor.ts';
import { Desc, Flag, Opcode } from '../src/device/format.ts';
import { difSteps } from './reference.ts';

/** xorshift32: small, fast, reproducible from its seed. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export interface Region {
  /** where buffers live: [base, base + size) */
  base: number;
  size: number;
  /** 32-aligned completion records area (count records) */
  records: number;
  recordCount: number;
  /** arena limits, for addresses near the edges */
  arenaBase: number;
  arenaEnd: number;
}

const OPS = [
  Opcode.NOOP, Opcode.MEMMOVE, Opcode.MEMMOVE, Opcode.MEMFILL, Opcode.COMPARE, Opcode.COMPVAL,
  Opcode.CR_DELTA, Opcode.AP_DELTA, Opcode.DUALCAST, Opcode.CRCGEN, Opcode.CRCGEN, Opcode.COPY_CRC,
  Opcode.CFLUSH, Opcode.DRAIN,
];
const DIF_OPS = [Opcode.DIF_CHECK, Opcode.DIF_INS, Opcode.DIF_STRP, Opcode.DIF_UPDT, Opcode.DIX_GEN, Opcode.TRANSL_FETCH];
const BASE_FLAGS = Flag.CRAV | Flag.RCR;
const OP_FLAGS = [Flag.FENCE, Flag.BOF, Flag.CC, Flag.CR, Flag.STORD, Flag.DRDBK, Flag.DSTS,
  Flag.CRC_SEED_ADDR, Flag.CRC_BYPASS_INVERT, Flag.CRC_BYPASS_DATA_REFLECT, Flag.ADDR1_TCS, Flag.ADDR2_TCS];

export interface GenOptions {
  /** share of descriptors with something wrong on purpose, 0..1 (default 0.2) */
  wrong?: number;
  /** largest transfer (default 4096) */
  maxSize?: number;
  /** allow BATCH (its list is written into memory through `write`) */
  write?: (addr: number, bytes: Uint8Array) => void;
  /** a 64-aligned area for batch lists: [lists, lists + 64 * listSlots) */
  lists?: number;
  listSlots?: number;
  /** also DIF check/insert/strip/update, DIX generate and translation fetch (default false) */
  dif?: boolean;
}

export function randomDescriptor(r: () => number, g: Region, o: GenOptions = {}, depth = 0): Uint8Array {
  const wrong = (o.wrong ?? 0.2) * 1000;
  const maxSize = o.maxSize ?? 4096;
  const pick = <T>(a: readonly T[]): T => a[r() % a.length];
  const chance = (perMille: number): boolean => r() % 1000 < perMille;
  const bad = chance(wrong);

  let opcode = o.dif && chance(300) ? pick(DIF_OPS) : pick(OPS);
  if (o.write && o.lists !== undefined && depth === 0 && chance(80)) opcode = Opcode.BATCH;
  if (bad && chance(100)) opcode = pick([0x0b, 0x0f, 0x16, 0x18, 0x30, 0xff]);
  const deltaOp = opcode === Opcode.CR_DELTA || opcode === Opcode.AP_DELTA;

  let size = 1 + (r() % maxSize);
  if (deltaOp) size = 8 * (1 + (r() % Math.max(1, maxSize >> 3)));
  if (bad && chance(150)) size = 0;

  const addr = (len: number, align = 1): number => {
    if (bad && chance(100)) return pick([0, 8, g.arenaBase - 8, g.arenaEnd - (r() % 64), g.arenaEnd + (r() % 4096), 0xfffffff0]);
    const span = Math.max(1, g.size - len);
    return (g.base + (r() % span)) & ~(align - 1);
  };
  let flags = BASE_FLAGS;
  if (chance(300)) flags = Flag.CRAV; // record only on failure
  if (chance(50)) flags = 0;
  if (chance(300)) flags |= pick(OP_FLAGS);
  if (bad && chance(100)) flags |= pick([0x40, 0x80000, 0x100000, 0x800000]);

  let completion = g.records + 32 * (r() % g.recordCount);
  if (bad && chance(80)) completion += pick([1, 8, 16]);
  if (bad && chance(40)) completion = g.arenaEnd - 16;

  const f = { opcode, flags, completion, size, src: 0 as number, dst: 0 as number, op40: 0 as number | undefined, op48: undefined as number | undefined, op56: undefined as number | undefined };
  const align8 = deltaOp ? 8 : 1;
  let difTags: bigint | undefined; // DIF: the u64 at 56 (insert/update destination tags)
  switch (opcode) {
    case Opcode.MEMMOVE:
    case Opcode.COPY_CRC:
      f.src = addr(size);
      f.dst = chance(100) ? f.src + (r() % 64) - 32 : addr(size);
      if (opcode === Opcode.COPY_CRC) f.op40 = r();
      if (flags & Flag.CRC_SEED_ADDR) f.op48 = addr(4);
      break;
    case Opcode.MEMFILL:
      f.src = r();
      f.dst = addr(size);
      break;
    case Opcode.COMPARE:
      f.src = addr(size);
      f.dst = chance(300) ? f.src : addr(size);
      f.op40 = r() % 2;
      break;
    case Opcode.COMPVAL:
      f.src = addr(size);
      f.dst = r();
      f.op40 = r() % 2;
      break;
    case Opcode.CR_DELTA:
      f.src = addr(size, align8);
      f.dst = chance(300) ? f.src : addr(size, align8);
      f.op40 = addr(size * 2, 8);
      f.op48 = 10 * (8 + (r() % 64));
      f.op56 = r() % 8;
      break;
    case Opcode.AP_DELTA:
      f.src = addr(400, 8);
      f.dst = addr(size, 8);
      f.op40 = 10 * (1 + (r() % 40));
      break;
    case Opcode.DUALCAST: {
      f.src = addr(size);
      f.dst = addr(size);
      const d2 = g.base + 4096 * (r() % Math.max(1, (g.size - size - 4096) >> 12)) + (f.dst & 0xfff);
      f.op40 = chance(100) ? d2 + 1 : d2;
      break;
    }
    case Opcode.CRCGEN:
      f.src = addr(size);
      f.op40 = r();
      if (flags & Flag.CRC_SEED_ADDR) f.op48 = addr(4);
      break;
    case Opcode.CFLUSH:
      f.dst = addr(size);
      break;
    case Opcode.TRANSL_FETCH:
      f.src = addr(size);
      if (chance(200)) f.op48 = r() % 8192;
      break;
    case Opcode.DIF_CHECK:
    case Opcode.DIF_INS:
    case Opcode.DIF_STRP:
    case Opcode.DIF_UPDT:
    case Opcode.DIX_GEN: {
      const df = (r() % 16) | (bad && chance(100) ? 0x10 << (r() % 4) : 0);
      const { src: sstep, dst: dstep } = difSteps(opcode, df);
      const blocks = 1 + (r() % Math.max(1, Math.floor(maxSize / sstep)));
      if (!(bad && chance(150))) f.size = blocks * sstep;
      f.src = addr(f.size);
      f.dst = opcode === Opcode.DIF_CHECK ? r() : chance(50) ? f.src + (r() % 64) - 32 : addr(blocks * dstep);
      let sf = opcode === Opcode.DIF_INS || opcode === Opcode.DIX_GEN ? 0 : r() % 256;
      if (chance(500)) sf |= 0x60; // guard and ref tag checks off: the blocks get further
      let tf = opcode === Opcode.DIF_CHECK || opcode === Opcode.DIF_STRP ? 0 : r() & 0xf8;
      if (bad && chance(100)) tf |= 1 + (r() % 7);
      const mask = chance(500) ? 0xffff : r() % 0x10000;
      f.op40 = sf | (tf << 8) | (df << 16);
      f.op48 = BigInt(r() >>> 0) | (BigInt(mask) << 32n) | (BigInt(r() % 0x10000) << 48n);
      difTags = BigInt(r() >>> 0) | (BigInt(chance(500) ? 0 : r() % 0x10000) << 32n) | (BigInt(r() % 0x10000) << 48n);
      break;
    }
    case Opcode.BATCH: {
      const count = 2 + (r() % 8);
      const slot = r() % Math.max(1, (o.listSlots ?? 16) - count);
      const list = o.lists! + 64 * slot;
      for (let i = 0; i < count; i++) o.write!(list + 64 * i, randomDescriptor(r, g, o, depth + 1));
      f.src = bad && chance(200) ? list + 8 : list;
      f.size = bad && chance(200) ? pick([0, 1]) : count;
      f.flags &= Flag.CRAV | Flag.RCR;
      break;
    }
  }
  const d = encode(f);
  if (difTags !== undefined) new DataView(d.buffer, d.byteOffset, 64).setBigUint64(56, difTags, true);
  if (bad && chance(80)) d[38 + (r() % 2)] = 1 + (r() % 255); // reserved field
  if (opcode === Opcode.NOOP || opcode === Opcode.DRAIN) d.fill(0, Desc.SRC, Desc.XFER_SIZE + 4);
  return d;
}
