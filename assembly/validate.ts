// Descriptor validation, in the [decided] order: opcode (0x10) and record address (0x1B/0x1A)
// are checked by the dispatcher; here: flags (0x11), reserved fields (0x12), then the
// operation's own checks in the order 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1C.
// (Intel DML checks dualcast bits 11:0 before overlap; the softdsa order above wins.)
// Delta offsets (0x07/0x08) need the delta record read and live in kernels/delta.ts.
import { Opcode, Flag, Status, Desc, Ctx, Limit, DeltaEntry } from "../src/device/format";
import { overlaps } from "./bounds";
import { setSpecific } from "./record";
import { difBlockSize, difSourceStep, difDestStep } from "./kernels/dif";

const ALWAYS: u32 = Flag.CRAV | Flag.RCR | Flag.RCI | Flag.CRSTS | Flag.CR_TCS;
const WRITE_HINTS: u32 = Flag.STORD | Flag.DRDBK | Flag.DSTS;
const CRC_FLAGS: u32 = Flag.CRC_SEED_ADDR | Flag.CRC_BYPASS_INVERT | Flag.CRC_BYPASS_DATA_REFLECT;
const OPS: u32 = 19;
const DIF_WRITE: u32 = ALWAYS | Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | WRITE_HINTS;

// Opcode -> dense index (0..18) for the tables below; 0xFF = unsupported. Covers 0x00..0x20.
const OP_INDEX: usize = memory.data<u8>([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 0xff, 0xff, 0xff, 0xff, 0xff,
  10, 11, 14, 15, 16, 17, 0xff, 18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  12,
]);

// Allowed flags per dense opcode index (the spec's table, plus the always-allowed set).
const ALLOWED: usize = memory.data<u32>([
  /* NOOP     */ ALWAYS | Flag.FENCE,
  /* BATCH    */ ALWAYS | Flag.ADDR1_TCS,
  /* DRAIN    */ ALWAYS | Flag.FENCE,
  /* MEMMOVE  */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | WRITE_HINTS,
  /* MEMFILL  */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR2_TCS | WRITE_HINTS,
  /* COMPARE  */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.CR | Flag.ADDR1_TCS | Flag.ADDR2_TCS,
  /* COMPVAL  */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.CR | Flag.ADDR1_TCS,
  /* CR_DELTA */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.CR | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | Flag.ADDR3_TCS | WRITE_HINTS,
  /* AP_DELTA */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | WRITE_HINTS,
  /* DUALCAST */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | Flag.ADDR3_TCS | WRITE_HINTS | Flag.CRC_SEED_ADDR,
  /* CRCGEN   */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.ADDR1_TCS | Flag.ADDR3_TCS | CRC_FLAGS,
  /* COPY_CRC */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | Flag.ADDR3_TCS | WRITE_HINTS | CRC_FLAGS,
  /* CFLUSH   */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR2_TCS | WRITE_HINTS,
  /* TRANSL_FETCH */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.ADDR1_TCS,
  /* DIF_CHECK */ ALWAYS | Flag.FENCE | Flag.BOF | Flag.ADDR1_TCS,
  /* DIF_INS  */ DIF_WRITE,
  /* DIF_STRP */ DIF_WRITE,
  /* DIF_UPDT */ DIF_WRITE,
  /* DIX_GEN  */ DIF_WRITE,
]);

// Reserved bits of descriptor bytes 40-63 per dense index, as three little-endian u64 words
// (bytes 40-47, 48-55, 56-63). Bytes an opcode defines are never reserved, whatever the flags.
const ALL: u64 = 0xffffffffffffffff;
const RESERVED: usize = memory.data<u64>([
  /* NOOP     */ ALL, ALL, ALL,
  /* BATCH    */ ALL, ALL, ALL,
  /* DRAIN    */ ALL, ALL, ALL,
  /* MEMMOVE  */ ALL, ALL, ALL,
  /* MEMFILL  */ ALL, ALL, ALL,
  /* COMPARE  */ 0xffffffffffffff00, ALL, ALL, // u8 expected @40
  /* COMPVAL  */ 0xffffffffffffff00, ALL, ALL,
  /* CR_DELTA */ 0, 0xffffffff00000000, 0xfffffffffffffff8, // @40 u64, @48 u32, mask bits 0-2 @56
  /* AP_DELTA */ 0xffffffff00000000, ALL, ALL, // u32 delta size @40
  /* DUALCAST */ 0, ALL, ALL, // u64 dst2 @40
  /* CRCGEN   */ 0xffffffff00000000, 0, ALL, // u32 seed @40, u64 seed address @48
  /* COPY_CRC */ 0xffffffff00000000, 0, ALL,
  /* CFLUSH   */ ALL, ALL, ALL,
  /* TRANSL_FETCH */ ALL, 0xffffffff00000000, ALL, // u32 region stride @48
  // DIF: bytes 40 src flags, 41 dst flags (bits 2:0 reserved), 42 DIF flags (bits 7:4 reserved)
  /* DIF_CHECK */ 0xfffffffffff0ff00, 0, ALL, // src flags, DIF flags, tags @48
  /* DIF_INS  */ 0xfffffffffff007ff, ALL, 0, // dst flags, DIF flags, tags @56
  /* DIF_STRP */ 0xfffffffffff0ff00, 0, ALL,
  /* DIF_UPDT */ 0xfffffffffff00700, 0, 0, // both flags, source tags @48, destination tags @56
  /* DIX_GEN  */ 0xfffffffffff007ff, ALL, 0,
]);

/** Dense index of a supported opcode, or 0xFF. */
export function opIndex(op: u32): u32 {
  return op <= <u32>Opcode.CFLUSH ? <u32>load<u8>(OP_INDEX + op) : 0xff;
}

/** Is bit h of the context's interrupt-handle mask set? */
export function handleValid(h: u32, ctx: u32): bool {
  return h < <u32>Limit.MAX_INT_HANDLES && ((load<u64>(ctx + Ctx.INT_HANDLES) >> <u64>h) & 1) != 0;
}

function badHandle(desc: u32, ctx: u32, flags: u32): bool {
  return (flags & Flag.RCI) != 0 && !handleValid(<u32>load<u16>(desc + Desc.INT_HANDLE), ctx);
}

// Transfer size: non-zero and within the work queue's limit (delta ops add their own limits).
function sizeOk(size: u32, ctx: u32): bool {
  return size != 0 && size <= load<u32>(ctx + Ctx.MAX_TRANSFER);
}

function deltaSizeOk(size: u32, ctx: u32): bool {
  return sizeOk(size, ctx) && (size & 7) == 0 && size <= <u32>DeltaEntry.MAX_SOURCE;
}

/** Every check after the opcode and record address. 0 when the descriptor may run. */
export function validate(desc: u32, ctx: u32, idx: u32, op: u32, flags: u32): u32 {
  const bad = flags & ~load<u32>(ALLOWED + (idx << 2));
  if (bad != 0) {
    setSpecific(bad);
    return Status.INVALID_FLAGS;
  }
  const r = RESERVED + idx * 24;
  if (
    load<u16>(desc + Desc.RESERVED) != 0 ||
    (load<u64>(desc + 40) & load<u64>(r)) != 0 ||
    (load<u64>(desc + 48) & load<u64>(r, 8)) != 0 ||
    (load<u64>(desc + 56) & load<u64>(r, 16)) != 0
  ) return Status.RESERVED_NONZERO;

  const size = load<u32>(desc + Desc.XFER_SIZE);
  switch (op) {
    case Opcode.NOOP:
    case Opcode.DRAIN:
      break;
    case Opcode.BATCH: {
      if (size < 2 || size > load<u32>(ctx + Ctx.MAX_BATCH)) return Status.BATCH_COUNT;
      if ((load<u64>(desc + Desc.LIST) & (Limit.BATCH_ALIGN - 1)) != 0) return Status.BATCH_ALIGN;
      break;
    }
    case Opcode.CR_DELTA: {
      if (!deltaSizeOk(size, ctx)) return Status.TRANSFER_SIZE;
      const max = load<u32>(desc + Desc.DELTA_MAX);
      if (max % DeltaEntry.SIZE != 0 || max < <u32>DeltaEntry.MIN_RECORD) return Status.DELTA_SIZE;
      if (badHandle(desc, ctx, flags)) return Status.INT_HANDLE;
      if (((load<u64>(desc + Desc.SRC) | load<u64>(desc + Desc.SRC2) | load<u64>(desc + Desc.DELTA_ADDR)) & 7) != 0)
        return Status.ADDR_ALIGN;
      return 0;
    }
    case Opcode.AP_DELTA: {
      if (!deltaSizeOk(size, ctx)) return Status.TRANSFER_SIZE;
      const dsize = load<u32>(desc + Desc.DELTA_SIZE);
      if (dsize == 0 || dsize % DeltaEntry.SIZE != 0) return Status.DELTA_SIZE;
      if (overlaps(load<u64>(desc + Desc.SRC), dsize, load<u64>(desc + Desc.DST), size)) return Status.BUFFER_OVERLAP;
      if (badHandle(desc, ctx, flags)) return Status.INT_HANDLE;
      if (((load<u64>(desc + Desc.SRC) | load<u64>(desc + Desc.DST)) & 7) != 0) return Status.ADDR_ALIGN;
      return 0;
    }
    case Opcode.DUALCAST: {
      if (!sizeOk(size, ctx)) return Status.TRANSFER_SIZE;
      const src = load<u64>(desc + Desc.SRC);
      const d1 = load<u64>(desc + Desc.DST);
      const d2 = load<u64>(desc + Desc.DST2);
      if (overlaps(src, size, d1, size) || overlaps(src, size, d2, size) || overlaps(d1, size, d2, size))
        return Status.BUFFER_OVERLAP;
      if (((d1 ^ d2) & 0xfff) != 0) return Status.DUALCAST_ALIGN;
      break;
    }
    case Opcode.COPY_CRC: {
      if (!sizeOk(size, ctx)) return Status.TRANSFER_SIZE;
      if (overlaps(load<u64>(desc + Desc.SRC), size, load<u64>(desc + Desc.DST), size)) return Status.BUFFER_OVERLAP;
      break;
    }
    case Opcode.DIF_CHECK:
    case Opcode.DIF_INS:
    case Opcode.DIF_STRP:
    case Opcode.DIF_UPDT:
    case Opcode.DIX_GEN: {
      const bs = difBlockSize(<u32>load<u8>(desc + Desc.DIF_FLAGS));
      const sstep = difSourceStep(op, bs);
      if (!sizeOk(size, ctx) || size % sstep != 0) return Status.TRANSFER_SIZE;
      const dsize = <u64>(size / sstep) * difDestStep(op, bs);
      if (overlaps(load<u64>(desc + Desc.SRC), size, load<u64>(desc + Desc.DST), dsize)) return Status.BUFFER_OVERLAP;
      break;
    }
    default: // MEMMOVE, MEMFILL, COMPARE, COMPVAL, CRCGEN, CFLUSH, TRANSL_FETCH: size only
      if (!sizeOk(size, ctx)) return Status.TRANSFER_SIZE;
  }
  if (badHandle(desc, ctx, flags)) return Status.INT_HANDLE;
  return 0;
}
