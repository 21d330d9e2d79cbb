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
};

function crcFlags(o: Common & { seedAddr?: Addr }): number | undefined {
  if (o.seedAddr === undefined) return o.flags;
  return (o.flags ?? (o.completion !== undefined ? Flag.CRAV | Flag.RCR : 0)) | Flag.CRC_SEED_ADDR;
}
