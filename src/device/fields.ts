// The fields of a descriptor and of a completion record, per opcode: each field's name, offset
// (format.ts's) and width. The Descriptor builders write descriptors from this table and
// decode.ts reads them back with it: one description of which field lives where, under the
// builders' option names.
import { Desc, Flag, Opcode, Record as Rec } from './format.ts';

export type Width = 1 | 2 | 4 | 8;
/** How a value reads (decode.ts prints addr and hex in hex, size in decimal; the DIF flag bytes get their bits' names too). */
export type Kind = 'addr' | 'size' | 'hex' | 'dif' | 'srcDif' | 'dstDif';
export interface FieldSpec {
  /** the builder's option name; "srcTags.refTag" for a nested one */
  name: string;
  at: number;
  width: Width;
  kind: Kind;
  /** present only when this descriptor flag is set (a builder given the field sets it) */
  when?: number;
}

const f = (name: string, at: number, width: Width, kind: Kind, when?: number): FieldSpec => ({ name, at, width, kind, when });
const src = f('src', Desc.SRC, 8, 'addr');
const dst = f('dst', Desc.DST, 8, 'addr');
const size = f('size', Desc.XFER_SIZE, 4, 'size');
const crc = [f('seed', Desc.CRC_SEED, 4, 'hex'), f('seedAddr', Desc.CRC_SEED_ADDR, 8, 'addr', Flag.CRC_SEED_ADDR)];
const tags = (prefix: string, at: number): FieldSpec[] => [f(`${prefix}refTag`, at, 4, 'hex'), f(`${prefix}appTagMask`, at + 4, 2, 'hex'), f(`${prefix}appTag`, at + 6, 2, 'hex')];
const difFlags = f('difFlags', Desc.DIF_FLAGS, 1, 'dif');
const srcDifFlags = f('srcDifFlags', Desc.SRC_DIF_FLAGS, 1, 'srcDif');
const dstDifFlags = f('dstDifFlags', Desc.DST_DIF_FLAGS, 1, 'dstDif');

/** Per opcode: its Descriptor builder and the fields it has besides the common ones. */
export const OPS: Record<number, { builder: string; fields: FieldSpec[] }> = {
  [Opcode.NOOP]: { builder: 'noop', fields: [] },
  [Opcode.BATCH]: { builder: 'batch', fields: [f('list', Desc.LIST, 8, 'addr'), f('count', Desc.COUNT, 4, 'size')] },
  [Opcode.DRAIN]: { builder: 'drain', fields: [] },
  [Opcode.MEMMOVE]: { builder: 'memmove', fields: [src, dst, size] },
  [Opcode.MEMFILL]: { builder: 'fill', fields: [f('pattern', Desc.PATTERN, 8, 'hex'), dst, size] },
  [Opcode.COMPARE]: { builder: 'compare', fields: [f('src1', Desc.SRC, 8, 'addr'), f('src2', Desc.SRC2, 8, 'addr'), size, f('expected', Desc.EXPECTED, 1, 'size')] },
  [Opcode.COMPVAL]: { builder: 'comparePattern', fields: [src, f('pattern', Desc.COMP_PATTERN, 8, 'hex'), size, f('expected', Desc.EXPECTED, 1, 'size')] },
  [Opcode.CR_DELTA]: {
    builder: 'createDelta',
    fields: [f('src1', Desc.SRC, 8, 'addr'), f('src2', Desc.SRC2, 8, 'addr'), size, f('delta', Desc.DELTA_ADDR, 8, 'addr'), f('maxDeltaSize', Desc.DELTA_MAX, 4, 'size'), f('expectedMask', Desc.EXPECTED_MASK, 1, 'hex')],
  },
  [Opcode.AP_DELTA]: { builder: 'applyDelta', fields: [f('delta', Desc.SRC, 8, 'addr'), dst, size, f('deltaSize', Desc.DELTA_SIZE, 4, 'size')] },
  [Opcode.DUALCAST]: { builder: 'dualcast', fields: [src, f('dst1', Desc.DST, 8, 'addr'), size, f('dst2', Desc.DST2, 8, 'addr')] },
  [Opcode.TRANSL_FETCH]: { builder: 'translationFetch', fields: [f('addr', Desc.TRANSL_FETCH_ADDR, 8, 'addr'), f('size', Desc.REGION_SIZE, 4, 'size'), f('stride', Desc.REGION_STRIDE, 4, 'size', Flag.TRANSL_FETCH_STRIDE)] },
  [Opcode.CRCGEN]: { builder: 'crc32c', fields: [src, size, ...crc] },
  [Opcode.COPY_CRC]: { builder: 'copyCrc32c', fields: [src, dst, size, ...crc] },
  [Opcode.DIF_CHECK]: { builder: 'difCheck', fields: [src, size, srcDifFlags, difFlags, ...tags('', Desc.CHK_REF_TAG)] },
  [Opcode.DIF_INS]: { builder: 'difInsert', fields: [src, dst, size, dstDifFlags, difFlags, ...tags('', Desc.INS_REF_TAG)] },
  [Opcode.DIF_STRP]: { builder: 'difStrip', fields: [src, dst, size, srcDifFlags, difFlags, ...tags('', Desc.CHK_REF_TAG)] },
  [Opcode.DIF_UPDT]: {
    builder: 'difUpdate',
    fields: [src, dst, size, srcDifFlags, dstDifFlags, difFlags, ...tags('srcTags.', Desc.UPD_SRC_REF_TAG), ...tags('dstTags.', Desc.UPD_DST_REF_TAG)],
  },
  [Opcode.DIX_GEN]: { builder: 'dixGenerate', fields: [src, f('pi', Desc.DST, 8, 'addr'), size, dstDifFlags, difFlags, ...tags('', Desc.INS_REF_TAG)] },
  [Opcode.CFLUSH]: { builder: 'cflush', fields: [dst, size] },
};

export const COMMON: FieldSpec[] = [f('completion', Desc.COMPLETION, 8, 'addr'), f('intHandle', Desc.INT_HANDLE, 2, 'size')];
/** Bytes every descriptor has a meaning for: PASID word, flags, opcode. */
export const HEADER_BYTES = [0, 1, 2, 3, 4, 5, 6, 7];

/** The record fields each opcode defines at @16..31 (besides the common ones). */
export const RECORD_FIELDS: Record<number, FieldSpec[]> = {
  [Opcode.CRCGEN]: [f('crc', Rec.OP_SPECIFIC, 4, 'hex')],
  [Opcode.COPY_CRC]: [f('crc', Rec.OP_SPECIFIC, 4, 'hex')],
  [Opcode.CR_DELTA]: [f('deltaRecordSize', Rec.OP_SPECIFIC, 4, 'size')],
  [Opcode.DIF_CHECK]: tags('', Rec.DIF_CHK_REF_TAG),
  [Opcode.DIF_STRP]: tags('', Rec.DIF_CHK_REF_TAG),
  [Opcode.DIF_INS]: tags('', Rec.DIF_INS_REF_TAG),
  [Opcode.DIX_GEN]: tags('', Rec.DIF_INS_REF_TAG),
  [Opcode.DIF_UPDT]: [...tags('srcTags.', Rec.DIF_UPD_SRC_REF_TAG), ...tags('dstTags.', Rec.DIF_UPD_DST_REF_TAG)],
};
/** A field's value: a u64 as a number while it is exact, else a bigint. */
export function readField(dv: DataView, spec: FieldSpec): number | bigint {
  switch (spec.width) {
    case 1: return dv.getUint8(spec.at);
    case 2: return dv.getUint16(spec.at, true);
    case 4: return dv.getUint32(spec.at, true);
    default: {
      const v = dv.getBigUint64(spec.at, true);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
  }
}

/** Writes a field's value (numbers, or bigints for u64s), truncated to its width. */
export function writeField(dv: DataView, spec: FieldSpec, v: number | bigint): void {
  const n = (bits: number): number => (typeof v === 'number' ? v : Number(BigInt.asUintN(bits, v)));
  switch (spec.width) {
    case 1: dv.setUint8(spec.at, n(8)); break;
    case 2: dv.setUint16(spec.at, n(16), true); break;
    case 4: dv.setUint32(spec.at, n(32) >>> 0, true); break;
    default: setU64(dv, spec.at, v);
  }
}

/** Writes a u64 field; numbers (the common case) without a BigInt round trip. */
export function setU64(dv: DataView, at: number, v: number | bigint): void {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
    dv.setUint32(at, v >>> 0, true);
    dv.setUint32(at + 4, Math.floor(v / 0x100000000), true);
  } else {
    dv.setBigUint64(at, BigInt.asUintN(64, BigInt(v)), true);
  }
}
