// The DSA record formats: the one source of truth for both sides.
//
// This file is compiled twice: by TypeScript for the host (src/, workers/) and by
// AssemblyScript for the Wasm core (assembly/ imports "../src/format"). It must
// therefore hold nothing but enums of integer literals, the one construct both
// languages read the same way. Values follow Linux include/uapi/linux/idxd.h and
// docs/format.md, the project's format reference, whose [decided] points the README sums up.

/** Operation codes (descriptor byte 7). DSA 1.0 numbering. */
export enum Opcode {
  NOOP = 0x00,
  BATCH = 0x01,
  DRAIN = 0x02,
  MEMMOVE = 0x03,
  MEMFILL = 0x04,
  COMPARE = 0x05,
  COMPVAL = 0x06,
  CR_DELTA = 0x07,
  AP_DELTA = 0x08,
  DUALCAST = 0x09,
  CRCGEN = 0x10,
  COPY_CRC = 0x11,
  CFLUSH = 0x20,
}

/** Descriptor flags (24-bit field at bytes 4-6). */
export enum Flag {
  FENCE = 0x000001,
  BOF = 0x000002,
  CRAV = 0x000004,
  RCR = 0x000008,
  RCI = 0x000010,
  CRSTS = 0x000020,
  CR = 0x000080,
  CC = 0x000100,
  ADDR1_TCS = 0x000200,
  ADDR2_TCS = 0x000400,
  ADDR3_TCS = 0x000800,
  CR_TCS = 0x001000,
  STORD = 0x002000,
  DRDBK = 0x004000,
  DSTS = 0x008000,
  /** CRC ops: read the 32-bit seed from the address at @48. Dualcast: dst2 steering tag. */
  CRC_SEED_ADDR = 0x010000,
  /** CRC ops: bypass the initial/final inversion and the result reflection. */
  CRC_BYPASS_INVERT = 0x020000,
  /** CRC ops: bypass data reflection. */
  CRC_BYPASS_DATA_REFLECT = 0x040000,
}

/** Completion status codes (record byte 0, bits 6:0). */
export enum Status {
  NONE = 0x00,
  SUCCESS = 0x01,
  SUCCESS_PRED = 0x02,
  PAGE_FAULT = 0x03,
  BATCH_FAIL = 0x05,
  BATCH_PAGE_FAULT = 0x06,
  DELTA_OFFSET_ORDER = 0x07,
  DELTA_OFFSET_RANGE = 0x08,
  INVALID_OPCODE = 0x10,
  INVALID_FLAGS = 0x11,
  RESERVED_NONZERO = 0x12,
  TRANSFER_SIZE = 0x13,
  BATCH_COUNT = 0x14,
  DELTA_SIZE = 0x15,
  BUFFER_OVERLAP = 0x16,
  DUALCAST_ALIGN = 0x17,
  BATCH_ALIGN = 0x18,
  INT_HANDLE = 0x19,
  COMPLETION_FAULT = 0x1a,
  COMPLETION_ALIGN = 0x1b,
  ADDR_ALIGN = 0x1c,
  HW_ERROR = 0x20,
  /**
   * Software-defined, as Linux's idxd driver (IDXD_COMP_DESC_ABORT): a descriptor the device
   * closed on before any engine ran it. The whole byte is 0xff (CODE_MASK would hide it).
   */
  ABORTED = 0xff,
  /** Status byte bit 7: the faulting access was a write. */
  WRITE_FAULT_BIT = 0x80,
  CODE_MASK = 0x7f,
}

/** Byte offsets of the 64-byte descriptor. */
export enum Desc {
  SIZE = 64,
  PASID = 0,
  FLAGS = 4,
  OP_FLAGS = 6,
  OPCODE = 7,
  COMPLETION = 8,
  SRC = 16,
  /** batch: descriptor list address */
  LIST = 16,
  /** fill / compare-pattern: the 8-byte pattern (fill at @16, compval at @24) */
  PATTERN = 16,
  DST = 24,
  SRC2 = 24,
  COMP_PATTERN = 24,
  XFER_SIZE = 32,
  /** batch: descriptor count */
  COUNT = 32,
  INT_HANDLE = 36,
  RESERVED = 38,
  /** compare, compare pattern: expected result */
  EXPECTED = 40,
  /** create delta */
  DELTA_ADDR = 40,
  DELTA_MAX = 48,
  EXPECTED_MASK = 56,
  /** apply delta */
  DELTA_SIZE = 40,
  /** dualcast */
  DST2 = 40,
  /** CRC ops */
  CRC_SEED = 40,
  CRC_SEED_ADDR = 48,
}

/** Byte offsets of the 32-byte completion record. */
export enum Record {
  SIZE = 32,
  ALIGN = 32,
  STATUS = 0,
  RESULT = 1,
  FAULT_INFO = 2,
  BYTES_COMPLETED = 4,
  FAULT_ADDR = 8,
  /** CRC value, delta record size, or the invalid flags (24 bits) */
  OP_SPECIFIC = 16,
}

/** Create-delta record entry: u16 word offset, 8 data bytes. */
export enum DeltaEntry {
  SIZE = 10,
  DATA = 2,
  /** largest source size a delta can cover: offsets are 16-bit word indexes */
  MAX_SOURCE = 0x80000,
  MIN_RECORD = 80,
}

/** Device limits and defaults. */
export enum Limit {
  BATCH_ALIGN = 64,
  MAX_BATCH_DEFAULT = 1024,
  /** 2 GiB; the arena bounds every transfer anyway */
  MAX_TRANSFER_DEFAULT = 0x80000000,
  /** interrupt handles: a 64-bit validity mask in the device context */
  MAX_INT_HANDLES = 64,
  /** bytes the Wasm core may use for its tables (CRC) in the control region */
  CORE_TABLE_BYTES = 16384,
  /** bytes of scratch each core instance owns in the control region (the CRC folds' windows) */
  CORE_SCRATCH_BYTES = 28672,
}

/**
 * Device context: a small block in the control region that every engine's core
 * reads (byte offsets). The host writes it before the engines start.
 */
export enum Ctx {
  SIZE = 64,
  /** first byte a descriptor may address (below it: unmapped, a page fault) */
  ARENA_BASE = 0,
  /** one past the last byte a descriptor may address */
  ARENA_END = 4,
  MAX_TRANSFER = 8,
  MAX_BATCH = 12,
  /** u64 mask: bit h set when interrupt handle h is allocated */
  INT_HANDLES = 16,
  /** address of the core's table region (Limit.CORE_TABLE_BYTES) */
  TABLES = 24,
  /** u32 'SDSA': marks a device memory, whose control region no other device may reach */
  MAGIC = 28,
}
