// Descriptor builders: the 64 bytes of a DSA descriptor from named fields, written where
// fields.ts places each opcode's fields (at format.ts's offsets, the layout's one source of truth).
import { OPS, setU64, writeField } from './fields.ts';
import { Desc, Flag, Opcode, PasidWord } from './format.ts';
import { argCoded, typeName } from './errors.ts';
import { own } from './own.ts';

export interface Common {
  /** descriptor flags; default CRAV | RCR when `completion` is given, else 0 */
  flags?: number | undefined;
  /** completion record address (32-byte aligned) */
  completion?: number | bigint | undefined;
  /** interrupt handle, used with Flag.RCI */
  intHandle?: number | undefined;
  /** PASID (bits 19:0 of the first dword): the address space the descriptor runs in (0: the arena) */
  pasid?: number | undefined;
  /** bit 31 of the first dword: a supervisor request (idxd.h `priv`; decodeDescriptor reports it; the device runs it as any other) */
  privileged?: boolean | undefined;
}

/** Every field a descriptor can carry; what a field means depends on the opcode. */
export interface Fields extends Common {
  opcode: number;
  /** @16: source, fill pattern, batch list or delta record */
  src?: number | bigint | undefined;
  /** @24: destination, second source or compare pattern */
  dst?: number | bigint | undefined;
  /** @32: transfer size or batch count */
  size?: number | undefined;
  /** @40.. operation-specific u64 at 40, u32 at 48, u8 at 56 */
  op40?: number | bigint | undefined;
  op48?: number | bigint | undefined;
  op56?: number | undefined;
  /** @56 as a u64 (DIF destination tags); instead of op56 */
  op56u64?: number | bigint | undefined;
}

/** Writes the fields every descriptor has. */
function header(dv: DataView, opcode: number, flags: number, c: Common): void {
  dv.setUint32(Desc.PASID, ((c.pasid ?? 0) | (c.privileged === true ? PasidWord.PRIVILEGED : 0)) >>> 0, true);
  dv.setUint32(Desc.FLAGS, (flags & 0xffffff) | ((opcode & 0xff) << 24), true);
  setU64(dv, Desc.COMPLETION, c.completion ?? 0);
  dv.setUint16(Desc.INT_HANDLE, c.intHandle ?? 0, true);
}

const defaultFlags = (c: Common): number => c.flags ?? (c.completion !== undefined ? Flag.CRAV | Flag.RCR : 0);

/** Encodes a descriptor into `out` (64 bytes, zeroed first) or a new array. */
export function encode(given: Fields, out: Uint8Array = new Uint8Array(Desc.SIZE)): Uint8Array {
  const f = own(given); // (own fields only, each read once: as build's)
  out.fill(0, 0, Desc.SIZE);
  const dv = new DataView(out.buffer, out.byteOffset, Desc.SIZE);
  header(dv, f.opcode, defaultFlags(f), f);
  setU64(dv, Desc.SRC, f.src ?? 0);
  setU64(dv, Desc.DST, f.dst ?? 0);
  dv.setUint32(Desc.XFER_SIZE, (f.size ?? 0) >>> 0, true);
  if (f.op40 !== undefined) setU64(dv, 40, f.op40);
  if (f.op48 !== undefined) setU64(dv, 48, f.op48);
  if (f.op56 !== undefined) dv.setUint8(56, f.op56);
  if (f.op56u64 !== undefined) setU64(dv, 56, f.op56u64);
  return out;
}

/**
 * A descriptor of `opcode` from a builder's options, field by field as fields.ts places them
 * (the table decode.ts reads them back with). A field given that is present only under a flag
 * (seedAddr: CRC_SEED_ADDR) sets that flag.
 */
function build(opcode: Opcode, o: Common): Uint8Array {
  const { builder, fields } = OPS[opcode];
  const where = `Descriptor.${builder}`;
  if (o === null || typeof o !== 'object') throw argCoded(new TypeError(`${where}: its fields come as an object; got ${typeName(o)}`));
  const out = new Uint8Array(Desc.SIZE);
  const dv = new DataView(out.buffer);
  // The fields as given (own.ts: an inherited completion, as Object.prototype.completion, had the
  // device write a record into the program's memory), nested ones too.
  const c = own(o) as Record<string, unknown>;
  const { names, nested } = namesOf(opcode);
  for (const k of Object.keys(c)) {
    if (!names.has(k)) throw argCoded(new TypeError(`${where}: unknown field ${k} (its fields: ${[...new Set(fields.map((s) => s.name.replace(/\..*/, '')))].concat(COMMON_NAMES).join(', ')})`));
    const inner = nested.get(k);
    const v = c[k];
    if (inner === undefined || v === null || typeof v !== 'object') continue;
    // (srcTags: { refTg: 77 } wrote a ref tag of 0)
    for (const n of Object.keys(v)) if (!inner.includes(n)) throw argCoded(new TypeError(`${where}: unknown field ${k}.${n} (the fields of ${k}: ${inner.join(', ')})`));
    c[k] = own(v);
  }
  // (decodeDescriptor's names are taken, as its output builds the same bytes: not saying another operation)
  if (c.opcode !== undefined && c.opcode !== opcode) throw argCoded(new TypeError(`${where}: opcode ${String(c.opcode)} is not this builder's (${opcode}): use Descriptor.encode, or the builder of that opcode`));
  if (c.builder !== undefined && c.builder !== builder) throw argCoded(new TypeError(`${where}: builder ${String(c.builder)} is not this one: call Descriptor.${String(c.builder)}`));
  checkValue(where, 'flags', c.flags, 3);
  checkValue(where, 'completion', c.completion, 8);
  checkValue(where, 'intHandle', c.intHandle, 2);
  if (c.pasid !== undefined && !(Number.isInteger(c.pasid) && (c.pasid as number) >= 0 && (c.pasid as number) <= PasidWord.PASID_MASK)) {
    // (bits 19:0 of the first dword: a larger value would run the descriptor in another space)
    throw argCoded(new RangeError(`${where}: pasid must be an integer from 0 to ${PasidWord.PASID_MASK} (20 bits); got ${String(c.pasid)}`));
  }
  if (c.privileged !== undefined && typeof c.privileged !== 'boolean') throw argCoded(new TypeError(`${where}: privileged must be a boolean; got ${typeName(c.privileged)}`));
  let flags = defaultFlags(c);
  for (const spec of fields) {
    const dot = spec.name.indexOf('.');
    const v = (dot < 0 ? c[spec.name] : ((c[spec.name.slice(0, dot)] ?? {}) as Record<string, unknown>)[spec.name.slice(dot + 1)]) as number | bigint | undefined;
    if (v === undefined) continue;
    checkValue(where, spec.name, v, spec.width);
    if (spec.when !== undefined) flags |= spec.when;
    writeField(dv, spec, v);
  }
  header(dv, opcode, flags, c);
  return out;
}

/** The fields every builder takes. */
const COMMON_NAMES = ['flags', 'completion', 'intHandle', 'pasid', 'privileged'];
/** What decodeDescriptor adds beside the fields: its output builds the same bytes back. */
const DECODED_NAMES = ['opcode', 'opcodeName', 'builder', 'flagNames', 'unusedNonZero', 'blockSize', 'difFlagNames', 'srcDifFlagNames', 'dstDifFlagNames'];
const NAMES = new Map<number, { names: Set<string>; nested: Map<string, string[]> }>();

/**
 * The names a builder of `opcode` takes (a typo, as `sizee`, built a descriptor of size 0), and
 * those inside its nested fields (srcTags: refTag, ...): worked out once per opcode.
 */
function namesOf(opcode: Opcode): { names: Set<string>; nested: Map<string, string[]> } {
  let known = NAMES.get(opcode);
  if (known === undefined) {
    const { fields } = OPS[opcode];
    const nested = new Map<string, string[]>();
    for (const s of fields) {
      const dot = s.name.indexOf('.');
      if (dot >= 0) nested.set(s.name.slice(0, dot), [...(nested.get(s.name.slice(0, dot)) ?? []), s.name.slice(dot + 1)]);
    }
    known = { names: new Set([...COMMON_NAMES, ...DECODED_NAMES, ...fields.map((s) => s.name.replace(/\..*/, ''))]), nested };
    NAMES.set(opcode, known);
  }
  return known;
}

/** A field's value fits its `width` bytes as an unsigned integer (a number or a bigint), or the error says which field and why. */
function checkValue(where: string, name: string, v: unknown, width: number): void {
  if (v === undefined) return;
  if (typeof v === 'number') {
    // (every number past 2^53 is an integer, if not always the one written: exact ones, as 2 ** 63, are welcome)
    if (Number.isInteger(v) && v >= 0 && v < 2 ** (8 * width)) return;
  } else if (typeof v === 'bigint') {
    if (v >= 0n && v < 1n << BigInt(8 * width)) return;
  } else {
    throw argCoded(new TypeError(`${where}: ${name} must be a number or a bigint; got ${typeName(v)}`));
  }
  const max = width === 8 ? '2^64 - 1' : String(2 ** (8 * width) - 1);
  throw argCoded(new RangeError(`${where}: ${name} must be an integer from 0 to ${max} (${width * 8} bits); got ${String(v)}`));
}

type Addr = number | bigint;

/** One builder per operation, named as the DSA operations are. */
export const Descriptor = {
  encode,
  noop: (c: Common = {}): Uint8Array => build(Opcode.NOOP, c),
  drain: (c: Common = {}): Uint8Array => build(Opcode.DRAIN, c),
  batch: (o: Common & { list: Addr; count: number }): Uint8Array => build(Opcode.BATCH, o),
  memmove: (o: Common & { src: Addr; dst: Addr; size: number }): Uint8Array => build(Opcode.MEMMOVE, o),
  /** pattern: the 8-byte little-endian pattern (dst[i] = byte i mod 8 of it) */
  fill: (o: Common & { dst: Addr; size: number; pattern: number | bigint }): Uint8Array => build(Opcode.MEMFILL, o),
  compare: (o: Common & { src1: Addr; src2: Addr; size: number; expected?: number | undefined }): Uint8Array => build(Opcode.COMPARE, o),
  comparePattern: (o: Common & { src: Addr; pattern: number | bigint; size: number; expected?: number | undefined }): Uint8Array => build(Opcode.COMPVAL, o),
  createDelta: (o: Common & { src1: Addr; src2: Addr; size: number; delta: Addr; maxDeltaSize: number; expectedMask?: number | undefined }): Uint8Array => build(Opcode.CR_DELTA, o),
  applyDelta: (o: Common & { delta: Addr; deltaSize: number; dst: Addr; size: number }): Uint8Array => build(Opcode.AP_DELTA, o),
  dualcast: (o: Common & { src: Addr; dst1: Addr; dst2: Addr; size: number }): Uint8Array => build(Opcode.DUALCAST, o),
  /** seedAddr: read the seed from this address (sets Flag.CRC_SEED_ADDR when given) */
  crc32c: (o: Common & { src: Addr; size: number; seed?: number | undefined; seedAddr?: Addr | undefined }): Uint8Array => build(Opcode.CRCGEN, o),
  copyCrc32c: (o: Common & { src: Addr; dst: Addr; size: number; seed?: number | undefined; seedAddr?: Addr | undefined }): Uint8Array => build(Opcode.COPY_CRC, o),
  cflush: (o: Common & { dst: Addr; size: number }): Uint8Array => build(Opcode.CFLUSH, o),
  /** DSA 2.0 translation fetch: here a read check of [addr, addr + size); stride sets Flag.TRANSL_FETCH_STRIDE */
  translationFetch: (o: Common & { addr: Addr; size: number; stride?: number | undefined }): Uint8Array => build(Opcode.TRANSL_FETCH, o),
  /** size: source bytes, a multiple of block + 8; difFlags: DifFlag (block size, CRC inversions); srcDifFlags: SrcDif */
  difCheck: (o: Common & DifTags & { src: Addr; size: number; difFlags?: number | undefined; srcDifFlags?: number | undefined }): Uint8Array => build(Opcode.DIF_CHECK, o),
  /** size: data bytes, a multiple of the block size; dst receives block + 8 bytes per block; dstDifFlags: DstDif */
  difInsert: (o: Common & DifTags & { src: Addr; dst: Addr; size: number; difFlags?: number | undefined; dstDifFlags?: number | undefined }): Uint8Array => build(Opcode.DIF_INS, o),
  difStrip: (o: Common & DifTags & { src: Addr; dst: Addr; size: number; difFlags?: number | undefined; srcDifFlags?: number | undefined }): Uint8Array => build(Opcode.DIF_STRP, o),
  /** src tags check the source, dst tags are written (unless passed through by dstDifFlags) */
  difUpdate: (o: Common & { src: Addr; dst: Addr; size: number; difFlags?: number | undefined; srcDifFlags?: number | undefined; dstDifFlags?: number | undefined; srcTags?: DifTags | undefined; dstTags?: DifTags | undefined }): Uint8Array =>
    build(Opcode.DIF_UPDT, o),
  /** DSA 2.0 DIX generate: the 8-byte tuples of the data at src, one per block, to pi */
  dixGenerate: (o: Common & DifTags & { src: Addr; pi: Addr; size: number; difFlags?: number | undefined; dstDifFlags?: number | undefined }): Uint8Array => build(Opcode.DIX_GEN, o),
};

/** DIF tags: reference tag seed, application tag seed and mask (mask bits set are not compared). */
export interface DifTags {
  refTag?: number | undefined;
  appTag?: number | undefined;
  appTagMask?: number | undefined;
}
