// A plain, byte-at-a-time reference of the softdsa device (docs: docs/format.md).
//
// referenceExecute() runs one descriptor against a Uint8Array memory model exactly as the
// device should: same arena bounds, same validation order, same records, same memory effects.
// It is written independently of the Wasm core (no shared code beyond the format enums):
// every access is checked byte by byte, so page faults fall out of the loops instead of being
// computed. Clarity over speed; used by the core tests, device tests and fuzzers.
import { Opcode, Flag, Status, Desc, Record as Rec, Limit, DeltaEntry, DifFlag, SrcDif, DstDif, DifStatus } from '../src/device/format.ts';

export interface RefCtx {
  arenaBase: number;
  arenaEnd: number;
  maxTransfer: number;
  maxBatch: number;
  /** bit h set when interrupt handle h exists */
  handles: bigint;
}

export interface RefResult {
  /** the status byte: as written at record byte 0, or as it would have been */
  status: number;
  /** interrupt handles signalled by this call (bit h for handle h) */
  irq: bigint;
}

const U64 = (v: bigint) => BigInt.asUintN(64, v);
const TWO53 = 1n << 53n;

/** Outcome fields of one completion record. */
interface Outcome {
  result: number;
  bytes: number;
  fault: bigint;
  specific: number;
  /** DIF ops: the 8 record bytes at 16 and at 24 (tags), instead of `specific` */
  spec16?: bigint;
  spec24?: bigint;
}

/** Thrown by a kernel when it touches an unmapped byte. */
class PageFault {
  constructor(
    readonly addr: bigint,
    readonly done: number,
    readonly write: boolean,
  ) {}
}

// Allowed flags per opcode, from the spec's table.
const ALWAYS = Flag.CRAV | Flag.RCR | Flag.RCI | Flag.CRSTS | Flag.CR_TCS;
const HINTS = Flag.STORD | Flag.DRDBK | Flag.DSTS;
const CRCF = Flag.CRC_SEED_ADDR | Flag.CRC_BYPASS_INVERT | Flag.CRC_BYPASS_DATA_REFLECT;
export const ALLOWED_FLAGS: ReadonlyMap<number, number> = new Map([
  [Opcode.NOOP, Flag.FENCE],
  [Opcode.BATCH, Flag.ADDR1_TCS],
  [Opcode.DRAIN, Flag.FENCE],
  [Opcode.MEMMOVE, Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | HINTS],
  [Opcode.MEMFILL, Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR2_TCS | HINTS],
  [Opcode.COMPARE, Flag.FENCE | Flag.BOF | Flag.CR | Flag.ADDR1_TCS | Flag.ADDR2_TCS],
  [Opcode.COMPVAL, Flag.FENCE | Flag.BOF | Flag.CR | Flag.ADDR1_TCS],
  [Opcode.CR_DELTA, Flag.FENCE | Flag.BOF | Flag.CR | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | Flag.ADDR3_TCS | HINTS],
  [Opcode.AP_DELTA, Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | HINTS],
  [Opcode.DUALCAST, Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | Flag.ADDR3_TCS | HINTS | Flag.CRC_SEED_ADDR],
  [Opcode.CRCGEN, Flag.FENCE | Flag.BOF | Flag.ADDR1_TCS | Flag.ADDR3_TCS | CRCF],
  [Opcode.COPY_CRC, Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | Flag.ADDR3_TCS | HINTS | CRCF],
  [Opcode.CFLUSH, Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR2_TCS | HINTS],
  [Opcode.TRANSL_FETCH, Flag.FENCE | Flag.BOF | Flag.ADDR1_TCS],
  [Opcode.DIF_CHECK, Flag.FENCE | Flag.BOF | Flag.ADDR1_TCS],
  [Opcode.DIF_INS, Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | HINTS],
  [Opcode.DIF_STRP, Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | HINTS],
  [Opcode.DIF_UPDT, Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | HINTS],
  [Opcode.DIX_GEN, Flag.FENCE | Flag.BOF | Flag.CC | Flag.ADDR1_TCS | Flag.ADDR2_TCS | HINTS],
].map(([op, f]) => [op, f | ALWAYS]));

// Bytes of 40..63 each opcode defines, as [offset, length]; every other byte there is reserved.
const DEFINED: ReadonlyMap<number, [number, number][]> = new Map([
  [Opcode.COMPARE, [[Desc.EXPECTED, 1]]],
  [Opcode.COMPVAL, [[Desc.EXPECTED, 1]]],
  [Opcode.CR_DELTA, [[Desc.DELTA_ADDR, 8], [Desc.DELTA_MAX, 4], [Desc.EXPECTED_MASK, 1]]],
  [Opcode.AP_DELTA, [[Desc.DELTA_SIZE, 4]]],
  [Opcode.DUALCAST, [[Desc.DST2, 8]]],
  [Opcode.CRCGEN, [[Desc.CRC_SEED, 4], [Desc.CRC_SEED_ADDR, 8]]],
  [Opcode.COPY_CRC, [[Desc.CRC_SEED, 4], [Desc.CRC_SEED_ADDR, 8]]],
  [Opcode.TRANSL_FETCH, [[Desc.REGION_STRIDE, 4]]],
  [Opcode.DIF_CHECK, [[Desc.SRC_DIF_FLAGS, 1], [Desc.DIF_FLAGS, 1], [Desc.CHK_REF_TAG, 8]]],
  [Opcode.DIF_STRP, [[Desc.SRC_DIF_FLAGS, 1], [Desc.DIF_FLAGS, 1], [Desc.CHK_REF_TAG, 8]]],
  [Opcode.DIF_INS, [[Desc.DST_DIF_FLAGS, 1], [Desc.DIF_FLAGS, 1], [Desc.INS_REF_TAG, 8]]],
  [Opcode.DIX_GEN, [[Desc.DST_DIF_FLAGS, 1], [Desc.DIF_FLAGS, 1], [Desc.INS_REF_TAG, 8]]],
  [Opcode.DIF_UPDT, [[Desc.SRC_DIF_FLAGS, 3], [Desc.UPD_SRC_REF_TAG, 16]]],
]);

// ---- DIF
const DIF_OPS = new Set<number>([Opcode.DIF_CHECK, Opcode.DIF_INS, Opcode.DIF_STRP, Opcode.DIF_UPDT, Opcode.DIX_GEN]);
/** Data bytes per block for DIF flags bits 1:0. */
export const DIF_BLOCK_SIZES = [512, 520, 4096, 4104];
/** Source and destination bytes per block of a DIF opcode. */
export function difSteps(op: number, difFlags: number): { block: number; src: number; dst: number } {
  const block = DIF_BLOCK_SIZES[difFlags & 3];
  const src = op === Opcode.DIF_INS || op === Opcode.DIX_GEN ? block : block + 8;
  const dst = op === Opcode.DIF_CHECK ? 0 : op === Opcode.DIF_STRP ? block : op === Opcode.DIX_GEN ? 8 : block + 8;
  return { block, src, dst };
}

/** CRC-16 T10-DIF, bit by bit: MSB-first register, polynomial 0x8BB7, no reflection, no final XOR. */
export function referenceCrc16(data: ArrayLike<number>, seed = 0): number {
  let crc = seed & 0xffff;
  for (let i = 0; i < data.length; i++) {
    crc ^= data[i] << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8bb7) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The guard of one block's data under the DIF flags byte. */
export function referenceGuard(data: ArrayLike<number>, difFlags: number): number {
  const g = referenceCrc16(data, difFlags & DifFlag.INVERT_CRC_SEED ? 0xffff : 0);
  return difFlags & DifFlag.INVERT_CRC_RESULT ? g ^ 0xffff : g;
}

/** The 8 tuple bytes: guard, app tag, ref tag, big-endian. */
export function tupleBytes(guard: number, app: number, ref: number): number[] {
  return [guard >> 8, guard & 0xff, (app >> 8) & 0xff, app & 0xff, (ref >>> 24) & 0xff, (ref >>> 16) & 0xff, (ref >>> 8) & 0xff, ref & 0xff];
}

/**
 * dif_status bits of one source block (data then its 8 tuple bytes) against the expected tags
 * (0: it passes or is not checked). The hardware's rules: an app tag bit is compared where the
 * mask bit is 0; ALL_F_DETECT alone skips an all-F block, with ENABLE_ALL_F_DETECT_ERROR it fails.
 */
export function referenceDifCheck(block: number[], dataLen: number, sf: number, df: number, ref: number, app: number, mask: number): number {
  const t = block.slice(dataLen, dataLen + 8);
  const appF = (t[2] << 8) | t[3];
  const refF = ((t[4] << 24) | (t[5] << 16) | (t[6] << 8) | t[7]) >>> 0;
  if (sf & SrcDif.ALL_F_DETECT && t.every((b) => b === 0xff)) return sf & SrcDif.ENABLE_ALL_F_DETECT_ERROR ? DifStatus.ALL_F : 0;
  if (sf & SrcDif.APP_AND_REF_TAG_F_DETECT && appF === 0xffff && refF === 0xffffffff) return 0;
  if (sf & SrcDif.APP_TAG_F_DETECT && appF === 0xffff) return 0;
  let bits = 0;
  if (!(sf & SrcDif.GUARD_CHECK_DISABLE) && referenceGuard(block.slice(0, dataLen), df) !== ((t[0] << 8) | t[1])) bits |= DifStatus.GUARD;
  for (let b = 0; b < 16; b++) {
    if ((mask >> b) & 1) continue;
    if (((appF >> b) & 1) !== ((app >> b) & 1)) bits |= DifStatus.APP_TAG;
  }
  if (!(sf & SrcDif.REF_TAG_CHECK_DISABLE) && refF !== ref >>> 0) bits |= DifStatus.REF_TAG;
  return bits;
}
const tagsOf = (ref: number, mask: number, app: number) => BigInt(ref >>> 0) | (BigInt(mask & 0xffff) << 32n) | (BigInt(app & 0xffff) << 48n);

// ---- CRC-32C, bit by bit, as Intel DML's software path (MSB-first register, poly 0x1EDC6F41)
const rev8 = (b: number) => {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 0x80 >> i;
  return r;
};
const rev32 = (v: number) => {
  let r = 0;
  for (let i = 0; i < 32; i++) if (v & (1 << i)) r |= 1 << (31 - i);
  return r >>> 0;
};

/** CRC-32C of `data` from `seed` with the CRC flag bits of `flags` (DSA semantics). */
export function referenceCrc32c(data: Uint8Array, seed: number, flags = 0): number {
  const invert = (flags & Flag.CRC_BYPASS_INVERT) === 0;
  const reflectData = (flags & Flag.CRC_BYPASS_DATA_REFLECT) === 0;
  let crc = seed >>> 0;
  if (invert) crc = rev32(~crc >>> 0);
  for (const byte of data) {
    crc = (crc ^ ((reflectData ? rev8(byte) : byte) << 24)) >>> 0;
    for (let bit = 0; bit < 8; bit++) crc = (crc & 0x80000000 ? (crc << 1) ^ 0x1edc6f41 : crc << 1) >>> 0;
  }
  if (invert) crc = ~rev32(crc) >>> 0;
  return crc;
}

/** What the host's JS path runs in a foreign address space (src/device/foreign.ts). */
const FOREIGN_OPS = new Set<number>([Opcode.NOOP, Opcode.CFLUSH, Opcode.MEMMOVE, Opcode.MEMFILL, Opcode.COMPARE, Opcode.COMPVAL, Opcode.DUALCAST, Opcode.CRCGEN, Opcode.COPY_CRC]);

// ---- the device
class Device {
  readonly view: DataView;
  irq = 0n;
  constructor(
    readonly mem: Uint8Array,
    readonly ctx: RefCtx,
  ) {
    this.view = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  }

  /** While a descriptor with a PASID runs: its space is one this model does not have. */
  foreign = false;

  /** Is the byte at a (a number, Infinity for huge addresses) mapped? */
  mapped(a: number): boolean {
    return !this.foreign && a >= this.ctx.arenaBase && a < this.ctx.arenaEnd;
  }
  u8(a: number) { return this.view.getUint8(a); }
  u16(a: number) { return this.view.getUint16(a, true); }
  u32(a: number) { return this.view.getUint32(a, true); }
  u64(a: number) { return this.view.getBigUint64(a, true); }

  /** A byte access at address base + i; faults (reporting `done`) if it is unmapped. */
  check(base: bigint, i: number, done: number, write: boolean): number {
    const a = base < TWO53 ? Number(base) + i : Infinity;
    if (!this.mapped(a)) throw new PageFault(U64(base + BigInt(i)), done, write);
    return a;
  }

  writeRecord(at: number, status: number, o: Outcome) {
    this.mem.fill(0, at, at + Rec.SIZE);
    this.view.setUint8(at + Rec.RESULT, o.result);
    this.view.setUint32(at + Rec.BYTES_COMPLETED, o.bytes, true);
    this.view.setBigUint64(at + Rec.FAULT_ADDR, o.fault, true);
    this.view.setUint32(at + Rec.OP_SPECIFIC, o.specific, true);
    if (o.spec16 !== undefined) this.view.setBigUint64(at + Rec.OP_SPECIFIC, o.spec16, true);
    if (o.spec24 !== undefined) this.view.setBigUint64(at + Rec.OP_SPECIFIC + 8, o.spec24, true);
    this.view.setUint8(at + Rec.STATUS, status); // last, as the device does
  }

  run(d: number, inBatch: boolean): number {
    const flags = this.u32(d + Desc.FLAGS) & 0xffffff;
    const op = this.u8(d + Desc.OPCODE);
    const rec = this.u64(d + Desc.COMPLETION);
    const crav = (flags & Flag.CRAV) !== 0;
    const handleOk = this.handleOk(d); // the descriptor as fetched, before its own work runs
    const handle = this.u16(d + Desc.INT_HANDLE);
    let recWritable = false;
    if (crav && rec % 32n === 0n) {
      recWritable = true;
      for (let i = 0; i < Rec.SIZE; i++) if (!this.mapped(rec < TWO53 ? Number(rec) + i : Infinity)) recWritable = false;
    }
    const o: Outcome = { result: 0, bytes: 0, fault: 0n, specific: 0 };
    let status: number;
    if (!ALLOWED_FLAGS.has(op) || (inBatch && (op === Opcode.BATCH || op === Opcode.DRAIN))) {
      status = Status.INVALID_OPCODE;
    } else if (crav && rec % 32n !== 0n) {
      return Status.COMPLETION_ALIGN;
    } else {
      status = this.validate(d, op, flags, o);
      // A PASID names another address space: the model knows none, so it is unmapped (the
      // host's JS path runs what it can there; deltas and batches need the arena: 0x10).
      const pasid = this.u32(d + Desc.PASID) & 0xfffff;
      const bypass = flags & (Flag.CRC_BYPASS_INVERT | Flag.CRC_BYPASS_DATA_REFLECT);
      if (status === 0 && pasid !== 0) {
        if (!FOREIGN_OPS.has(op)) status = Status.INVALID_OPCODE;
        else if ((op === Opcode.CRCGEN || op === Opcode.COPY_CRC) && bypass !== 0) {
          o.specific = bypass;
          status = Status.INVALID_FLAGS;
        }
      }
      if (status === 0) {
        try {
          this.foreign = pasid !== 0;
          status = this.kernel(d, op, flags, o);
        } catch (e) {
          if (!(e instanceof PageFault)) throw e;
          o.bytes = e.done;
          o.fault = e.addr;
          status = Status.PAGE_FAULT | (e.write ? Status.WRITE_FAULT_BIT : 0);
        } finally {
          this.foreign = false;
        }
      }
      // a record outside memory faults as it is written, after the work: 0x1A, no interrupt
      if (crav && !recWritable && ((flags & Flag.RCR) !== 0 || status !== Status.SUCCESS)) return Status.COMPLETION_FAULT;
    }
    if (recWritable && ((flags & Flag.RCR) !== 0 || status !== Status.SUCCESS)) this.writeRecord(Number(rec), status, o);
    if (flags & Flag.RCI && handleOk) this.irq |= 1n << BigInt(handle);
    return status;
  }

  handleOk(d: number): boolean {
    const h = this.u16(d + Desc.INT_HANDLE);
    return h < Limit.MAX_INT_HANDLES && ((this.ctx.handles >> BigInt(h)) & 1n) === 1n;
  }

  validate(d: number, op: number, flags: number, o: Outcome): number {
    const bad = flags & ~ALLOWED_FLAGS.get(op)!;
    if (bad) {
      o.specific = bad;
      return Status.INVALID_FLAGS;
    }
    if (this.u16(d + Desc.RESERVED) !== 0) return Status.RESERVED_NONZERO;
    const defined = new Set<number>();
    for (const [at, len] of DEFINED.get(op) ?? []) for (let i = at; i < at + len; i++) defined.add(i);
    for (let i = 40; i < 64; i++) if (!defined.has(i) && this.u8(d + i) !== 0) return Status.RESERVED_NONZERO;
    if (op === Opcode.CR_DELTA && this.u8(d + Desc.EXPECTED_MASK) & 0xf8) return Status.RESERVED_NONZERO;
    if (DIF_OPS.has(op) && this.u8(d + Desc.DIF_FLAGS) & DifFlag.RESERVED) return Status.RESERVED_NONZERO;
    if ((op === Opcode.DIF_INS || op === Opcode.DIF_UPDT || op === Opcode.DIX_GEN) && this.u8(d + Desc.DST_DIF_FLAGS) & DstDif.RESERVED)
      return Status.RESERVED_NONZERO;

    const size = this.u32(d + Desc.XFER_SIZE);
    const badSize = size === 0 || size > this.ctx.maxTransfer;
    const badDeltaSize = badSize || size % 8 !== 0 || size > DeltaEntry.MAX_SOURCE;
    const src = this.u64(d + Desc.SRC);
    const dst = this.u64(d + Desc.DST);
    const overlap = (a: bigint, la: number, b: bigint, lb: number) =>
      la > 0 && lb > 0 && a < b + BigInt(lb) && b < a + BigInt(la);
    const handleBad = (flags & Flag.RCI) !== 0 && !this.handleOk(d);
    switch (op) {
      case Opcode.NOOP:
      case Opcode.DRAIN:
        break;
      case Opcode.BATCH:
        if (size < 2 || size > this.ctx.maxBatch) return Status.BATCH_COUNT;
        if (src % BigInt(Limit.BATCH_ALIGN) !== 0n) return Status.BATCH_ALIGN;
        break;
      case Opcode.CR_DELTA: {
        const max = this.u32(d + Desc.DELTA_MAX);
        if (badDeltaSize) return Status.TRANSFER_SIZE;
        if (max % DeltaEntry.SIZE !== 0 || max < DeltaEntry.MIN_RECORD) return Status.DELTA_SIZE;
        if (handleBad) return Status.INT_HANDLE;
        if (src % 8n || dst % 8n || this.u64(d + Desc.DELTA_ADDR) % 8n) return Status.ADDR_ALIGN;
        break;
      }
      case Opcode.AP_DELTA: {
        const rsize = this.u32(d + Desc.DELTA_SIZE);
        if (badDeltaSize) return Status.TRANSFER_SIZE;
        if (rsize === 0 || rsize % DeltaEntry.SIZE !== 0) return Status.DELTA_SIZE;
        if (overlap(src, rsize, dst, size)) return Status.BUFFER_OVERLAP;
        if (handleBad) return Status.INT_HANDLE;
        if (src % 8n || dst % 8n) return Status.ADDR_ALIGN;
        break;
      }
      case Opcode.DUALCAST: {
        const dst2 = this.u64(d + Desc.DST2);
        if (badSize) return Status.TRANSFER_SIZE;
        if (overlap(src, size, dst, size) || overlap(src, size, dst2, size) || overlap(dst, size, dst2, size))
          return Status.BUFFER_OVERLAP;
        if (dst % 4096n !== dst2 % 4096n) return Status.DUALCAST_ALIGN;
        break;
      }
      case Opcode.COPY_CRC:
        if (badSize) return Status.TRANSFER_SIZE;
        if (overlap(src, size, dst, size)) return Status.BUFFER_OVERLAP;
        break;
      case Opcode.DIF_CHECK:
      case Opcode.DIF_INS:
      case Opcode.DIF_STRP:
      case Opcode.DIF_UPDT:
      case Opcode.DIX_GEN: {
        const st = difSteps(op, this.u8(d + Desc.DIF_FLAGS));
        if (badSize || size % st.src !== 0) return Status.TRANSFER_SIZE;
        if (overlap(src, size, dst, (size / st.src) * st.dst)) return Status.BUFFER_OVERLAP;
        break;
      }
      default:
        if (badSize) return Status.TRANSFER_SIZE;
    }
    if (handleBad) return Status.INT_HANDLE;
    return 0;
  }

  kernel(d: number, op: number, flags: number, o: Outcome): number {
    const size = this.u32(d + Desc.XFER_SIZE);
    const src = this.u64(d + Desc.SRC);
    const dst = this.u64(d + Desc.DST);
    const cr = (flags & Flag.CR) !== 0;
    const m = this.mem;
    switch (op) {
      case Opcode.NOOP:
      case Opcode.DRAIN:
      case Opcode.CFLUSH:
        return Status.SUCCESS;

      case Opcode.MEMMOVE: {
        const backward = dst > src && dst < src + BigInt(size);
        for (let k = 0; k < size; k++) {
          const i = backward ? size - 1 - k : k;
          o.result = backward ? 1 : 0; // reported only with a fault
          const s = this.check(src, i, k, false);
          const t = this.check(dst, i, k, true);
          m[t] = m[s];
        }
        o.result = 0;
        return Status.SUCCESS;
      }

      case Opcode.MEMFILL: {
        const pattern = this.u64(d + Desc.PATTERN);
        for (let i = 0; i < size; i++) m[this.check(dst, i, i, true)] = Number((pattern >> BigInt(8 * (i % 8))) & 0xffn);
        return Status.SUCCESS;
      }

      case Opcode.COMPARE: {
        let result = 0;
        for (let i = 0; i < size; i++) {
          const a = this.check(src, i, i, false);
          const b = this.check(dst, i, i, false);
          if (m[a] !== m[b]) {
            result = 1;
            o.bytes = i;
            break;
          }
        }
        o.result = result;
        return cr && this.u8(d + Desc.EXPECTED) !== result ? Status.SUCCESS_PRED : Status.SUCCESS;
      }

      case Opcode.COMPVAL: {
        const pattern = this.u64(d + Desc.COMP_PATTERN);
        const whole = size - (size % 8);
        let result = 0;
        for (let i = 0; i < size; i++) {
          const a = this.check(src, i, i, false);
          if (m[a] !== Number((pattern >> BigInt(8 * (i % 8))) & 0xffn)) {
            result = 1;
            o.bytes = i < whole ? i - (i % 8) : i;
            break;
          }
        }
        o.result = result;
        return cr && this.u8(d + Desc.EXPECTED) !== result ? Status.SUCCESS_PRED : Status.SUCCESS;
      }

      case Opcode.CR_DELTA: {
        const rec = this.u64(d + Desc.DELTA_ADDR);
        const max = this.u32(d + Desc.DELTA_MAX);
        const mask = this.u8(d + Desc.EXPECTED_MASK);
        let used = 0;
        let result = 0;
        for (let w = 0; w < size / 8; w++) {
          o.specific = used;
          const a: number[] = [];
          const b: number[] = [];
          for (let k = 0; k < 8; k++) a.push(this.check(src, 8 * w + k, 8 * w, false));
          for (let k = 0; k < 8; k++) b.push(this.check(dst, 8 * w + k, 8 * w, false));
          const data = b.map((x) => m[x]);
          if (a.every((x, k) => m[x] === data[k])) continue;
          if (used + DeltaEntry.SIZE > max) {
            result = 2;
            break;
          }
          const e: number[] = [];
          for (let k = 0; k < DeltaEntry.SIZE; k++) e.push(this.check(rec, used + k, 8 * w, true));
          m[e[0]] = w & 0xff;
          m[e[1]] = w >> 8;
          for (let k = 0; k < 8; k++) m[e[2 + k]] = data[k];
          used += DeltaEntry.SIZE;
          result = 1;
        }
        o.specific = used;
        o.result = result;
        if (cr && ((mask >> result) & 1) === 0) return Status.SUCCESS_PRED;
        return Status.SUCCESS;
      }

      case Opcode.AP_DELTA: {
        const rsize = this.u32(d + Desc.DELTA_SIZE);
        const n = rsize / DeltaEntry.SIZE;
        const entryMapped = (i: number) => {
          for (let k = 0; k < DeltaEntry.SIZE; k++) {
            const a = src < TWO53 ? Number(src) + DeltaEntry.SIZE * i + k : Infinity;
            if (!this.mapped(a)) return false;
          }
          return true;
        };
        // validate the offsets of every readable entry before writing anything
        let prev = -1;
        for (let i = 0; i < n && entryMapped(i); i++) {
          const off = this.u16(Number(src) + DeltaEntry.SIZE * i);
          if (off <= prev) return Status.DELTA_OFFSET_ORDER;
          if (off * 8 >= size) return Status.DELTA_OFFSET_RANGE;
          prev = off;
        }
        for (let i = 0; i < n; i++) {
          const e: number[] = [];
          for (let k = 0; k < DeltaEntry.SIZE; k++) e.push(this.check(src, DeltaEntry.SIZE * i + k, DeltaEntry.SIZE * i, false));
          const off = m[e[0]] | (m[e[1]] << 8);
          const t: number[] = [];
          for (let k = 0; k < 8; k++) t.push(this.check(dst, 8 * off + k, DeltaEntry.SIZE * i, true));
          for (let k = 0; k < 8; k++) m[t[k]] = m[e[2 + k]];
        }
        return Status.SUCCESS;
      }

      case Opcode.DUALCAST: {
        const dst2 = this.u64(d + Desc.DST2);
        for (let i = 0; i < size; i++) {
          const s = this.check(src, i, i, false);
          const t1 = this.check(dst, i, i, true);
          const t2 = this.check(dst2, i, i, true);
          m[t1] = m[s];
          m[t2] = m[s];
        }
        return Status.SUCCESS;
      }

      case Opcode.CRCGEN:
      case Opcode.COPY_CRC: {
        let seed = this.u32(d + Desc.CRC_SEED);
        if (flags & Flag.CRC_SEED_ADDR) {
          const sa = this.u64(d + Desc.CRC_SEED_ADDR);
          const b = [0, 1, 2, 3].map((k) => m[this.check(sa, k, 0, false)]);
          seed = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
        }
        const data: number[] = [];
        try {
          for (let i = 0; i < size; i++) {
            const s = this.check(src, i, i, false);
            if (op === Opcode.COPY_CRC) m[this.check(dst, i, i, true)] = m[s];
            data.push(m[s]);
          }
        } finally {
          o.specific = referenceCrc32c(Uint8Array.from(data), seed, flags); // partial: CRC of the bytes done
        }
        return Status.SUCCESS;
      }

      case Opcode.TRANSL_FETCH:
        for (let i = 0; i < size; i++) this.check(src, i, i, false);
        return Status.SUCCESS;

      case Opcode.DIF_CHECK:
      case Opcode.DIF_INS:
      case Opcode.DIF_STRP:
      case Opcode.DIF_UPDT:
      case Opcode.DIX_GEN: {
        const df = this.u8(d + Desc.DIF_FLAGS);
        const sf = this.u8(d + Desc.SRC_DIF_FLAGS);
        const tf = this.u8(d + Desc.DST_DIF_FLAGS);
        const st = difSteps(op, df);
        const bs = st.block;
        const checks = op === Opcode.DIF_CHECK || op === Opcode.DIF_STRP || op === Opcode.DIF_UPDT;
        const writesTags = op === Opcode.DIF_INS || op === Opcode.DIF_UPDT || op === Opcode.DIX_GEN;
        const sMask = this.u16(d + 52);
        const dMask = this.u16(d + 60);
        let sRef = this.u32(d + 48);
        let sApp = this.u16(d + 54);
        let dRef = this.u32(d + 56);
        let dApp = this.u16(d + 62);
        try {
          for (let i = 0; i < size / st.src; i++) {
            const done = i * st.src;
            const block: number[] = [];
            for (let k = 0; k < st.src; k++) block.push(m[this.check(src, done + k, done, false)]);
            if (checks) {
              const bits = referenceDifCheck(block, bs, sf, df, sRef, sApp, sMask);
              if (bits) {
                o.result = bits;
                o.bytes = done;
                return Status.DIF_ERR;
              }
            }
            let out: number[] = [];
            const newApp = dApp & ~dMask & 0xffff;
            if (op === Opcode.DIF_STRP) out = block.slice(0, bs);
            else if (op === Opcode.DIF_INS) out = [...block, ...tupleBytes(referenceGuard(block, df), newApp, dRef)];
            else if (op === Opcode.DIX_GEN) out = tupleBytes(referenceGuard(block, df), newApp, dRef);
            else if (op === Opcode.DIF_UPDT) {
              const fresh = tupleBytes(referenceGuard(block.slice(0, bs), df), newApp, dRef);
              out = block.slice();
              for (let k = 0; k < 8; k++) {
                const pass = k < 2 ? tf & DstDif.GUARD_PASS : k < 4 ? tf & DstDif.APP_TAG_PASS : tf & DstDif.REF_TAG_PASS;
                if (!pass) out[bs + k] = fresh[k];
              }
            }
            // the whole destination block is checked before any of it is written
            const at = out.map((_, k) => this.check(dst, i * st.dst + k, done, true));
            at.forEach((a, k) => (m[a] = out[k]));
            sRef = (sRef + (sf & SrcDif.REF_TAG_TYPE ? 0 : 1)) >>> 0;
            sApp = (sApp + (sf & SrcDif.APP_TAG_TYPE ? 1 : 0)) & 0xffff;
            dRef = (dRef + (tf & DstDif.REF_TAG_TYPE ? 0 : 1)) >>> 0;
            dApp = (dApp + (tf & DstDif.APP_TAG_TYPE ? 1 : 0)) & 0xffff;
          }
        } finally {
          o.spec16 = checks ? tagsOf(sRef, sMask, sApp) : 0n;
          o.spec24 = writesTags ? tagsOf(dRef, dMask, dApp) : 0n;
        }
        return Status.SUCCESS;
      }

      case Opcode.BATCH: {
        const count = size;
        for (let i = 0; i < count * Desc.SIZE; i++) {
          const a = src < TWO53 ? Number(src) + i : Infinity;
          if (!this.mapped(a)) {
            o.fault = U64(src + BigInt(i));
            return Status.BATCH_PAGE_FAULT;
          }
        }
        let failed = false;
        let ran = 0;
        for (let j = 0; j < count; j++) {
          const sub = Number(src) + Desc.SIZE * j;
          if (failed && this.u32(sub + Desc.FLAGS) & Flag.FENCE) break;
          if (this.run(sub, true) !== Status.SUCCESS) failed = true;
          ran++;
        }
        o.bytes = ran;
        return failed ? Status.BATCH_FAIL : Status.SUCCESS;
      }
    }
    throw new Error(`unreachable opcode ${op}`);
  }
}

/**
 * Executes the descriptor at `desc` (64 bytes of `mem`, anywhere) against memory `mem`,
 * mutating it exactly as the device does. Returns the status byte and the interrupt handles
 * signalled.
 */
export function referenceExecute(mem: Uint8Array, desc: number, ctx: RefCtx): RefResult {
  const dev = new Device(mem, ctx);
  const status = dev.run(desc, false);
  return { status, irq: dev.irq };
}
