// Descriptor builders: the 64 bytes of a DSA descriptor from named fields, written
// at the offsets of format.ts (the layout's one source of truth).
import { Desc, Flag, Opcode } from './format.ts';

export interface Common {
  /** descriptor flags; default CRAV | RCR when `completion` is given, else 0 */
  flags?: number;
  /** completion record address (32-byte aligned) */
  completion?: number;
  /** interrupt handle, used with Flag.RCI */
  intHandle?: number;
  pasid?: number;
}

/** Every field a descriptor can carry; what a field means depends on the opcode. */
export interface Fields extends Common {
  opcode: number;
  /** @16: source, fill pattern, batch list or delta record */
  src?: number | bigint;
  /** @24: destination, second source or compare pattern */
  dst?: number | bigint;
  /** @32: transfer size or batch count */
  size?: number;
  /** @40.. operation-specific u64 at 40, u32 at 48, u8 at 56 */
  op40?: number | bigint;
  op48?: number | bigint;
  op56?: number;
  /** @56 as a u64 (DIF destination tags); instead of op56 */
  op56u64?: number | bigint;
}

/** Writes a u64 field; numbers (the common case) without a BigInt round trip. */
function setU64(dv: DataView, at: number, v: number | bigint): void {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
    dv.setUint32(at, v >>> 0, true);
    dv.setUint32(at + 4, Math.floor(v / 0x100000000), true);
  } else {
    dv.setBigUint64(at, BigInt.asUintN(64, BigInt(v)), true);
  }
}

/** Encodes a descriptor into `out` (64 bytes, zeroed first) or a new array. */
export function encode(f: Fields, out: Uint8Array = new Uint8Array(Desc.SIZE)): Uint8Array {
  out.fill(0, 0, Desc.SIZE);
  const dv = new DataView(out.buffer, out.byteOffset, Desc.SIZE);
  const flags = f.flags ?? (f.completion !== undefined ? Flag.CRAV | Flag.RCR : 0);
  dv.setUint32(Desc.PASID, f.pasid ?? 0, true);
  dv.setUint32(Desc.FLAGS, (flags & 0xffffff) | ((f.opcode & 0xff) << 24), true);
  setU64(dv, Desc.COMPLETION, f.completion ?? 0);
  setU64(dv, Desc.SRC, f.src ?? 0);
  setU64(dv, Desc.DST, f.dst ?? 0);
  dv.setUint32(Desc.XFER_SIZE, (f.size ?? 0) >>> 0, true);
  dv.setUint16(Desc.INT_HANDLE, f.intHandle ?? 0, true);
  if (f.op40 !== undefined) setU64(dv, 40, f.op40);
  if (f.op48 !== undefined) setU64(dv, 48, f.op48);
  if (f.op56 !== undefined) dv.setUint8(56, f.op56);
  if (f.op56u64 !== undefined) setU64(dv, 56, f.op56u64);
  return out;
}

type Addr = number | bigint;

/** One builder per operation, named as the DSA operations are. */
export const Descriptor = {
  encode,
  noop: (c: Common = {}) => encode({ ...c, opcode: Opcode.NOOP }),
  drain: (c: Common = {}) => encode({ ...c, opcode: Opcode.DRAIN }),
  batch: (o: Common & { list: Addr; count: number }) => encode({ ...o, opcode: Opcode.BATCH, src: o.list, size: o.count }),
  memmove: (o: Common & { src: Addr; dst: Addr; size: number }) => encode({ ...o, opcode: Opcode.MEMMOVE }),
  /** pattern: the 8-byte little-endian pattern (dst[i] = byte i mod 8 of it) */
  fill: (o: Common & { dst: Addr; size: number; pattern: number | bigint }) =>
    encode({ ...o, opcode: Opcode.MEMFILL, src: o.pattern }),
  compare: (o: Common & { src1: Addr; src2: Addr; size: number; expected?: number }) =>
    encode({ ...o, opcode: Opcode.COMPARE, src: o.src1, dst: o.src2, op40: o.expected ?? 0 }),
  comparePattern: (o: Common & { src: Addr; pattern: number | bigint; size: number; expected?: number }) =>
    encode({ ...o, opcode: Opcode.COMPVAL, dst: o.pattern, op40: o.expected ?? 0 }),
  createDelta: (o: Common & { src1: Addr; src2: Addr; size: number; delta: Addr; maxDeltaSize: number; expectedMask?: number }) =>
    encode({ ...o, opcode: Opcode.CR_DELTA, src: o.src1, dst: o.src2, op40: o.delta, op48: o.maxDeltaSize, op56: o.expectedMask ?? 0 }),
  applyDelta: (o: Common & { delta: Addr; deltaSize: number; dst: Addr; size: number }) =>
    encode({ ...o, opcode: Opcode.AP_DELTA, src: o.delta, op40: o.deltaSize }),
  dualcast: (o: Common & { src: Addr; dst1: Addr; dst2: Addr; size: number }) =>
    encode({ ...o, opcode: Opcode.DUALCAST, dst: o.dst1, op40: o.dst2 }),
  /** seedAddr: read the seed from this address (sets Flag.CRC_SEED_ADDR when given) */
  crc32c: (o: Common & { src: Addr; size: number; seed?: number; seedAddr?: Addr }) =>
    encode({ ...o, opcode: Opcode.CRCGEN, flags: crcFlags(o), op40: (o.seed ?? 0) >>> 0, op48: o.seedAddr }),
  copyCrc32c: (o: Common & { src: Addr; dst: Addr; size: number; seed?: number; seedAddr?: Addr }) =>
    encode({ ...o, opcode: Opcode.COPY_CRC, flags: crcFlags(o), op40: (o.seed ?? 0) >>> 0, op48: o.seedAddr }),
  cflush: (o: Common & { dst: Addr; size: number }) => encode({ ...o, opcode: Opcode.CFLUSH }),
  /** DSA 2.0 translation fetch: here a read check of [addr, addr + size) */
  translationFetch: (o: Common & { addr: Addr; size: number }) => encode({ ...o, opcode: Opcode.TRANSL_FETCH, src: o.addr }),
  /** size: source bytes, a multiple of block + 8; difFlags: DifFlag (block size, CRC inversions); srcDifFlags: SrcDif */
  difCheck: (o: Common & DifTags & { src: Addr; size: number; difFlags?: number; srcDifFlags?: number }) =>
    encode({ ...o, opcode: Opcode.DIF_CHECK, op40: difBytes(o.srcDifFlags, 0, o.difFlags), op48: tagWord(o) }),
  /** size: data bytes, a multiple of the block size; dst receives block + 8 bytes per block; dstDifFlags: DstDif */
  difInsert: (o: Common & DifTags & { src: Addr; dst: Addr; size: number; difFlags?: number; dstDifFlags?: number }) =>
    encode({ ...o, opcode: Opcode.DIF_INS, op40: difBytes(0, o.dstDifFlags, o.difFlags), op56u64: tagWord(o) }),
  difStrip: (o: Common & DifTags & { src: Addr; dst: Addr; size: number; difFlags?: number; srcDifFlags?: number }) =>
    encode({ ...o, opcode: Opcode.DIF_STRP, op40: difBytes(o.srcDifFlags, 0, o.difFlags), op48: tagWord(o) }),
  /** src tags check the source, dst tags are written (unless passed through by dstDifFlags) */
  difUpdate: (o: Common & { src: Addr; dst: Addr; size: number; difFlags?: number; srcDifFlags?: number; dstDifFlags?: number; srcTags?: DifTags; dstTags?: DifTags }) =>
    encode({ ...o, opcode: Opcode.DIF_UPDT, op40: difBytes(o.srcDifFlags, o.dstDifFlags, o.difFlags), op48: tagWord(o.srcTags ?? {}), op56u64: tagWord(o.dstTags ?? {}) }),
  /** DSA 2.0 DIX generate: the 8-byte tuples of the data at src, one per block, to pi */
  dixGenerate: (o: Common & DifTags & { src: Addr; pi: Addr; size: number; difFlags?: number; dstDifFlags?: number }) =>
    encode({ ...o, opcode: Opcode.DIX_GEN, dst: o.pi, op40: difBytes(0, o.dstDifFlags, o.difFlags), op56u64: tagWord(o) }),
};

/** DIF tags: reference tag seed, application tag seed and mask (mask bits set are not compared). */
export interface DifTags {
  refTag?: number;
  appTag?: number;
  appTagMask?: number;
}

function difBytes(src = 0, dst = 0, dif = 0): number {
  return (src & 0xff) | ((dst & 0xff) << 8) | ((dif & 0xff) << 16);
}

function tagWord(t: DifTags): bigint {
  return BigInt((t.refTag ?? 0) >>> 0) | (BigInt((t.appTagMask ?? 0) & 0xffff) << 32n) | (BigInt((t.appTag ?? 0) & 0xffff) << 48n);
}

function crcFlags(o: Common & { seedAddr?: Addr }): number | undefined {
  if (o.seedAddr === undefined) return o.flags;
  return (o.flags ?? (o.completion !== undefined ? Flag.CRAV | Flag.RCR : 0)) | Flag.CRC_SEED_ADDR;
}
