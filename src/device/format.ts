// The DSA record formats: the one source of truth for both sides.
//
// This file is compiled twice: by TypeScript for the host (src/, workers/) and by
// AssemblyScript for the Wasm core (assembly/ imports "./format"). It must
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
  /** DSA 2.0: translation fetch (here: the region is checked as a read would be) */
  TRANSL_FETCH = 0x0a,
  CRCGEN = 0x10,
  COPY_CRC = 0x11,
  DIF_CHECK = 0x12,
  DIF_INS = 0x13,
  DIF_STRP = 0x14,
  DIF_UPDT = 0x15,
  /** DSA 2.0: DIX generate (the 8-byte tuples to a separate buffer) */
  DIX_GEN = 0x17,
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
  /** Translation fetch: the region stride at @48 is used */
  TRANSL_FETCH_STRIDE = 0x010000,
}

/** Completion status codes (record byte 0, bits 6:0). */
export enum Status {
  NONE = 0x00,
  SUCCESS = 0x01,
  SUCCESS_PRED = 0x02,
  PAGE_FAULT = 0x03,
  /** a page fault with the interrupt request (DSA_COMP_PAGE_FAULT_IR): hardware's, never written here */
  PAGE_FAULT_IR = 0x04,
  BATCH_FAIL = 0x05,
  BATCH_PAGE_FAULT = 0x06,
  DELTA_OFFSET_ORDER = 0x07,
  DELTA_OFFSET_RANGE = 0x08,
  /** DIF check failed: the dif_status bits (DifStatus) are in record byte 1 */
  DIF_ERR = 0x09,
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
  // 0x1d-0x1f, 0x21, 0x22, 0x26, 0x27: codes of idxd.h the core never writes (no privilege checks,
  // traffic classes, readback, event log or IOMMU here), named so that a record or a fault rule
  // carrying one decodes by its name
  PRIVILEGE = 0x1d,
  TRAFFIC_CLASS = 0x1e,
  READBACK_FAULT = 0x1f,
  HW_ERROR = 0x20,
  HW_ERROR_DRB = 0x21,
  TRANSLATION_FAIL = 0x22,
  DRAIN_EVL = 0x26,
  BATCH_EVL = 0x27,
  /**
   * Software-defined, as Linux's idxd driver (IDXD_COMP_DESC_ABORT): a descriptor the device
   * closed on before any engine ran it. The whole byte is 0xff (CODE_MASK would hide it).
   */
  ABORTED = 0xff,
  /** Status byte bit 7: the faulting access was a write. */
  WRITE_FAULT_BIT = 0x80,
  CODE_MASK = 0x7f,
}

/** The descriptor's first word (bytes 0-3): the address space and privilege it runs under. */
export enum PasidWord {
  /** bits 19:0: the PASID (here: 0 the arena, else a registered foreign space) */
  PASID_MASK = 0xfffff,
  /** bit 31: privileged (supervisor) */
  PRIVILEGED = 0x80000000,
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
  /** DIF ops: source DIF flags (SrcDif; check, strip, update) */
  SRC_DIF_FLAGS = 40,
  /** DIF ops: destination DIF flags (DstDif; insert, update, DIX generate) */
  DST_DIF_FLAGS = 41,
  /** DIF ops: DIF flags (DifFlag: block size, CRC seed/result inversion) */
  DIF_FLAGS = 42,
  /** DIF check, strip: source ref tag seed u32, app tag mask u16, app tag seed u16 */
  CHK_REF_TAG = 48,
  CHK_APP_MASK = 52,
  CHK_APP_TAG = 54,
  /** DIF insert, DIX generate: destination ref tag seed u32, app tag mask u16, app tag seed u16 */
  INS_REF_TAG = 56,
  INS_APP_MASK = 60,
  INS_APP_TAG = 62,
  /** DIF update: source tags at 48-55, destination tags at 56-63 */
  UPD_SRC_REF_TAG = 48,
  UPD_SRC_APP_MASK = 52,
  UPD_SRC_APP_TAG = 54,
  UPD_DST_REF_TAG = 56,
  UPD_DST_APP_MASK = 60,
  UPD_DST_APP_TAG = 62,
  /** translation fetch: region address @16, region size @32, stride @48 */
  TRANSL_FETCH_ADDR = 16,
  REGION_SIZE = 32,
  REGION_STRIDE = 48,
}

/** DIF flags (descriptor byte 42). Bits 7:4 are reserved. */
export enum DifFlag {
  /** bits 1:0: 0 = 512, 1 = 520, 2 = 4096, 3 = 4104 data bytes per block */
  BLOCK_SIZE_MASK = 0x03,
  BLOCK_512 = 0x00,
  BLOCK_520 = 0x01,
  BLOCK_4096 = 0x02,
  BLOCK_4104 = 0x03,
  /** the CRC-16 starts from 0xFFFF instead of 0 */
  INVERT_CRC_SEED = 0x04,
  /** the CRC-16 result is inverted */
  INVERT_CRC_RESULT = 0x08,
  RESERVED = 0xf0,
}

/** Source DIF flags (descriptor byte 40). */
export enum SrcDif {
  /** with ALL_F_DETECT: an all-F tuple is an error (dif_status ALL_F) instead of a skip */
  ENABLE_ALL_F_DETECT_ERROR = 0x01,
  /** a block whose 8 tuple bytes are all 0xFF is not checked */
  ALL_F_DETECT = 0x02,
  /** a block whose app tag is 0xFFFF is not checked */
  APP_TAG_F_DETECT = 0x04,
  /** a block whose app tag is 0xFFFF and ref tag 0xFFFFFFFF is not checked */
  APP_AND_REF_TAG_F_DETECT = 0x08,
  /** app tag: 0 fixed, 1 incrementing */
  APP_TAG_TYPE = 0x10,
  GUARD_CHECK_DISABLE = 0x20,
  REF_TAG_CHECK_DISABLE = 0x40,
  /** ref tag: 0 incrementing, 1 fixed */
  REF_TAG_TYPE = 0x80,
}

/** Destination DIF flags (descriptor byte 41). Bits 2:0 are reserved. */
export enum DstDif {
  RESERVED = 0x07,
  /** update: the source app tag is copied */
  APP_TAG_PASS = 0x08,
  /** app tag: 0 fixed, 1 incrementing */
  APP_TAG_TYPE = 0x10,
  /** update: the source guard is copied */
  GUARD_PASS = 0x20,
  /** update: the source ref tag is copied */
  REF_TAG_PASS = 0x40,
  /** ref tag: 0 incrementing, 1 fixed */
  REF_TAG_TYPE = 0x80,
}

/** dif_status bits (record byte 1) with Status.DIF_ERR. */
export enum DifStatus {
  GUARD = 0x01,
  APP_TAG = 0x02,
  REF_TAG = 0x04,
  ALL_F = 0x08,
}

/** The DIF tuple after each block: guard, app tag, ref tag, all big-endian. */
export enum DifTuple {
  SIZE = 8,
  GUARD = 0,
  APP_TAG = 2,
  REF_TAG = 4,
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
  /** DIF byte 1: dif_status (DifStatus) */
  DIF_STATUS = 1,
  /** DIF check, strip: ref tag u32, app tag mask u16, app tag u16 */
  DIF_CHK_REF_TAG = 16,
  DIF_CHK_APP_MASK = 20,
  DIF_CHK_APP_TAG = 22,
  /** DIF insert, DIX generate */
  DIF_INS_REF_TAG = 24,
  DIF_INS_APP_MASK = 28,
  DIF_INS_APP_TAG = 30,
  /** DIF update: source at 16-23, destination at 24-31 */
  DIF_UPD_SRC_REF_TAG = 16,
  DIF_UPD_SRC_APP_MASK = 20,
  DIF_UPD_SRC_APP_TAG = 22,
  DIF_UPD_DST_REF_TAG = 24,
  DIF_UPD_DST_APP_MASK = 28,
  DIF_UPD_DST_APP_TAG = 30,
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
  /** bytes of scratch each core instance owns in the control region (the CRC folds' windows: level 0's, one stream's or four's, and levels 1 and 2) */
  CORE_SCRATCH_BYTES = 131072,
  /** CRC-32C inputs of this many bytes and more are read as four streams at once (assembly/kernels/crc32c.ts: faster from memory, slower in the cache) */
  CRC_WAYS_MIN = 2097152,
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
