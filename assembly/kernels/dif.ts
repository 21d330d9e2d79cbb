// DIF check (0x12), insert (0x13), strip (0x14), update (0x15), DIX generate (0x17) and
// translation fetch (0x0A). Layout: Linux include/uapi/linux/idxd.h; semantics: Intel DML's
// software path (dif_impl/dml_dif.c) except where the hardware is known to differ (docs/format.md,
// "DIF", the [decided] points):
// - Blocks of 512/520/4096/4104 data bytes (DIF flags bits 1:0), each followed by an 8-byte
//   tuple: guard (CRC-16 T10-DIF, poly 0x8BB7, seed 0 or 0xFFFF, result optionally inverted),
//   app tag, ref tag, all big-endian. The transfer size counts source bytes.
// - Check order per block: all-F detect (error with ENABLE_ALL_F_DETECT_ERROR, else the block is
//   not checked), app+ref F detect, app F detect (skip), then guard, app tag (bits where the mask
//   is 0: the hardware's rule; mask 0xFFFF checks nothing), ref tag; all mismatches are reported
//   together in dif_status (record byte 1), status 0x09, bytes completed = the failing block's
//   source offset.
// - Block by block, as the hardware streams: the blocks before a failing one are written
//   (DML checks the whole source first and then writes nothing).
// - Page faults at block granularity: a block whose source (read, first) or destination (write,
//   after its check) is not entirely mapped faults at its first unmapped byte; bytes completed
//   counts the source bytes of the whole blocks done, nothing of the faulting block is written.
// - The record's tag fields (which DML leaves 0) hold the tags of the next block to process: the
//   one at bytes completed (after the last block on success), and the descriptor's masks.
import { Desc, DifFlag, DifStatus, DifTuple, DstDif, Opcode, SrcDif, Status } from "../../src/device/format";
import { prefix } from "../bounds";
import { fault, setBytes, setResult, setSpecific64 } from "../record";
import { CRC16_TABLES } from "./crc16_tables";
import { crcScratch } from "./crc32c";

/** Data bytes per block for DIF flags bits 1:0. */
export function difBlockSize(difFlags: u32): u32 {
  const s = difFlags & 3;
  return s == 0 ? 512 : s == 1 ? 520 : s == 2 ? 4096 : 4104;
}

// Long inputs are first reduced modulo a sparse multiple of P, as the CRC-32C kernel does:
// Q = x^(8*63) + x^(8*27) + x^(8*7) + 1 is divisible by P(x) = x^16 + 0x8BB7 (found by search
// over byte-aligned exponents), so CRC(M) = CRC(M mod Q), and M mod Q is a byte-wise linear
// recurrence with no tables: reading M from its first byte, f[j] = m[j] ^ f[j-36] ^ f[j-56] ^
// f[j-63], where f[k] counts only for the bytes that still have Q's degree below them
// (k < n - 63; the others are zeros). All distances are >= 16, so 16 bytes at a time on v128.
// The last 63 bytes of f are M mod Q: they go through the tables. The seed is XORed into the
// first 2 bytes (an MSB-first register is what the next 2 bytes will be XORed with).
const QD: usize = 63;
const QA: usize = 36; // 63 - 27
const QB: usize = 56; // 63 - 7
const QZ: usize = 32; // zeros after the head: >= 27, the largest inner exponent
const FOLD16_MIN: usize = 256;
const FOLD16_MAX: usize = 16384; // longer inputs run in parts of this size (the scratch holds f)

/** CRC-16 T10-DIF (MSB-first register, no inversion) of n bytes at p from `crc`. */
export function crc16(p: usize, n: usize, crc: u32): u32 {
  while (n > FOLD16_MAX) {
    crc = crc16Fold(p, FOLD16_MAX, crc);
    p += FOLD16_MAX;
    n -= FOLD16_MAX;
  }
  return n < FOLD16_MIN ? crc16Tables(p, n, crc) : crc16Fold(p, n, crc);
}

// f in this instance's scratch: 64 zero bytes (f below index 0), the head's f, QZ zeros; then
// the 63-byte rest.
function crc16Fold(p: usize, n: usize, crc: u32): u32 {
  const f = crcScratch() + 64;
  const h = n - QD; // bytes of the head: those with Q's degree below them
  memory.fill(f - 64, 0, 64);
  let v = v128.load(p);
  v = i8x16.replace_lane(v, 0, <i8>(<u32>i8x16.extract_lane_u(v, 0) ^ (crc >> 8)));
  v = i8x16.replace_lane(v, 1, <i8>(<u32>i8x16.extract_lane_u(v, 1) ^ (crc & 0xff)));
  v128.store(f, v128.xor(v128.xor(v, v128.load(f - QA)), v128.xor(v128.load(f - QB), v128.load(f - QD))));
  let j: usize = 16;
  const h16 = h & ~15;
  for (; j < h16; j += 16) {
    const q = f + j;
    v128.store(q, v128.xor(v128.xor(v128.load(p + j), v128.load(q - QA)), v128.xor(v128.load(q - QB), v128.load(q - QD))));
  }
  for (; j < h; j++) {
    const q = f + j;
    store<u8>(q, load<u8>(p + j) ^ load<u8>(q - QA) ^ load<u8>(q - QB) ^ load<u8>(q - QD));
  }
  memory.fill(f + h, 0, QZ);
  const r = f + h + QZ + 16; // the rest, M mod Q
  for (let t: usize = 0; t < 48; t += 16) {
    const q = f + h + t;
    v128.store(r + t, v128.xor(v128.xor(v128.load(p + h + t), v128.load(q - QA)), v128.xor(v128.load(q - QB), v128.load(q - QD))));
  }
  for (let t: usize = 48; t < QD; t++) {
    const q = f + h + t;
    store<u8>(r + t, load<u8>(p + h + t) ^ load<u8>(q - QA) ^ load<u8>(q - QB) ^ load<u8>(q - QD));
  }
  return crc16Tables(r, QD, 0);
}

/** CRC-16 T10-DIF of n bytes at p from `crc`: slice-by-4 tables. */
export function crc16Tables(p: usize, n: usize, crc: u32): u32 {
  const t = CRC16_TABLES;
  while (n >= 8) {
    const x = bswap<u32>(load<u32>(p)) ^ (crc << 16);
    crc =
      <u32>load<u16>(t + (x >> 24 << 1), 1536) ^
      <u32>load<u16>(t + ((x >> 15) & 0x1fe), 1024) ^
      <u32>load<u16>(t + ((x >> 7) & 0x1fe), 512) ^
      <u32>load<u16>(t + ((x & 0xff) << 1));
    const y = bswap<u32>(load<u32>(p, 4)) ^ (crc << 16);
    crc =
      <u32>load<u16>(t + (y >> 24 << 1), 1536) ^
      <u32>load<u16>(t + ((y >> 15) & 0x1fe), 1024) ^
      <u32>load<u16>(t + ((y >> 7) & 0x1fe), 512) ^
      <u32>load<u16>(t + ((y & 0xff) << 1));
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    crc = ((crc << 8) & 0xffff) ^ <u32>load<u16>(t + ((((crc >> 8) ^ <u32>load<u8>(p)) & 0xff) << 1));
    p++;
    n--;
  }
  return crc;
}

/** The guard of a block of bs bytes at p under the DIF flags. */
@inline function guardOf(p: usize, bs: u32, df: u32): u32 {
  const c = crc16(p, bs, (df & DifFlag.INVERT_CRC_SEED) != 0 ? 0xffff : 0);
  return (df & DifFlag.INVERT_CRC_RESULT) != 0 ? c ^ 0xffff : c;
}

// Set by checkBlock when it computed the block's guard and found it equal to the tuple's: update
// then keeps that guard instead of computing the same CRC again.
let guardVerified = false;

/** dif_status bits of the block at p (its tuple at p + bs) against the expected tags; 0 = pass. */
function checkBlock(p: usize, bs: u32, sf: u32, df: u32, ref: u32, app: u32, mask: u32): u32 {
  const t = p + bs;
  guardVerified = false;
  const appF = <u32>bswap<u16>(load<u16>(t, DifTuple.APP_TAG));
  const refF = bswap<u32>(load<u32>(t, DifTuple.REF_TAG));
  if ((sf & SrcDif.ALL_F_DETECT) != 0 && load<u64>(t) == 0xffffffffffffffff)
    return (sf & SrcDif.ENABLE_ALL_F_DETECT_ERROR) != 0 ? DifStatus.ALL_F : 0;
  if ((sf & SrcDif.APP_AND_REF_TAG_F_DETECT) != 0 && appF == 0xffff && refF == 0xffffffff) return 0;
  if ((sf & SrcDif.APP_TAG_F_DETECT) != 0 && appF == 0xffff) return 0;
  let st: u32 = 0;
  if ((sf & SrcDif.GUARD_CHECK_DISABLE) == 0) {
    if (guardOf(p, bs, df) != <u32>bswap<u16>(load<u16>(t))) st |= DifStatus.GUARD;
    else guardVerified = true;
  }
  if (((appF ^ app) & ~mask & 0xffff) != 0) st |= DifStatus.APP_TAG;
  if ((sf & SrcDif.REF_TAG_CHECK_DISABLE) == 0 && refF != ref) st |= DifStatus.REF_TAG;
  return st;
}

@inline function putTuple(t: usize, guard: u32, app: u32, ref: u32): void {
  store<u16>(t, bswap<u16>(<u16>guard), DifTuple.GUARD);
  store<u16>(t, bswap<u16>(<u16>app), DifTuple.APP_TAG);
  store<u32>(t, bswap<u32>(ref), DifTuple.REF_TAG);
}

@inline function tags(ref: u32, mask: u32, app: u32): u64 {
  return <u64>ref | (<u64>(mask & 0xffff) << 32) | (<u64>(app & 0xffff) << 48);
}

/** Source bytes per block (the transfer size must be a multiple of it). */
export function difSourceStep(op: u32, bs: u32): u32 {
  return op == Opcode.DIF_INS || op == Opcode.DIX_GEN ? bs : bs + DifTuple.SIZE;
}

/** Destination bytes per block (0: no destination). */
export function difDestStep(op: u32, bs: u32): u32 {
  switch (op) {
    case Opcode.DIF_INS:
    case Opcode.DIF_UPDT: return bs + DifTuple.SIZE;
    case Opcode.DIF_STRP: return bs;
    case Opcode.DIX_GEN: return DifTuple.SIZE;
    default: return 0;
  }
}

export function dif(desc: u32, op: u32): u32 {
  const df = <u32>load<u8>(desc + Desc.DIF_FLAGS);
  const sf = <u32>load<u8>(desc + Desc.SRC_DIF_FLAGS);
  const tf = <u32>load<u8>(desc + Desc.DST_DIF_FLAGS);
  const bs = difBlockSize(df);
  const src = load<u64>(desc + Desc.SRC);
  const dst = load<u64>(desc + Desc.DST);
  const sstep = difSourceStep(op, bs);
  const dstep = difDestStep(op, bs);
  const n = load<u32>(desc + Desc.XFER_SIZE) / sstep;
  const hasSrc = op == Opcode.DIF_CHECK || op == Opcode.DIF_STRP || op == Opcode.DIF_UPDT;
  const hasDst = op == Opcode.DIF_INS || op == Opcode.DIF_UPDT || op == Opcode.DIX_GEN;
  // check/strip/update source tags at 48..55; insert/DIX/update destination tags at 56..63
  let sref = load<u32>(desc + Desc.CHK_REF_TAG);
  const smask = <u32>load<u16>(desc + Desc.CHK_APP_MASK);
  let sapp = <u32>load<u16>(desc + Desc.CHK_APP_TAG);
  let dref = load<u32>(desc + Desc.INS_REF_TAG);
  const dmask = <u32>load<u16>(desc + Desc.INS_APP_MASK);
  let dapp = <u32>load<u16>(desc + Desc.INS_APP_TAG);
  const sRefInc: u32 = (sf & SrcDif.REF_TAG_TYPE) != 0 ? 0 : 1;
  const sAppInc: u32 = (sf & SrcDif.APP_TAG_TYPE) != 0 ? 1 : 0;
  const dRefInc: u32 = (tf & DstDif.REF_TAG_TYPE) != 0 ? 0 : 1;
  const dAppInc: u32 = (tf & DstDif.APP_TAG_TYPE) != 0 ? 1 : 0;

  let status: u32 = Status.SUCCESS;
  for (let i: u32 = 0; i < n; i++) {
    const s = src + <u64>i * sstep;
    const d = dst + <u64>i * dstep;
    const done = i * sstep;
    const ps = prefix(s, sstep);
    if (ps < <u64>sstep) {
      status = fault(s + ps, done, false);
      break;
    }
    const sp = <usize>s;
    if (hasSrc) {
      const e = checkBlock(sp, bs, sf, df, sref, sapp, smask);
      if (e != 0) {
        setResult(e);
        setBytes(done);
        status = Status.DIF_ERR;
        break;
      }
    }
    if (dstep != 0) {
      const pd = prefix(d, dstep);
      if (pd < <u64>dstep) {
        status = fault(d + pd, done, true);
        break;
      }
      const dp = <usize>d;
      if (op == Opcode.DIF_STRP) {
        memory.copy(dp, sp, bs);
      } else if (op == Opcode.DIF_INS) {
        memory.copy(dp, sp, bs);
        putTuple(dp + bs, guardOf(sp, bs, df), dapp & ~dmask, dref);
      } else if (op == Opcode.DIX_GEN) {
        putTuple(dp, guardOf(sp, bs, df), dapp & ~dmask, dref);
      } else {
        // update: the block and its tuple, then the fields not passed through
        memory.copy(dp, sp, bs + DifTuple.SIZE);
        const t = dp + bs;
        // a verified source guard is the CRC of the same data under the same flags: already copied
        if ((tf & DstDif.GUARD_PASS) == 0 && !guardVerified) store<u16>(t, bswap<u16>(<u16>guardOf(sp, bs, df)), DifTuple.GUARD);
        if ((tf & DstDif.APP_TAG_PASS) == 0) store<u16>(t, bswap<u16>(<u16>(dapp & ~dmask)), DifTuple.APP_TAG);
        if ((tf & DstDif.REF_TAG_PASS) == 0) store<u32>(t, bswap<u32>(dref), DifTuple.REF_TAG);
      }
    }
    sref += sRefInc;
    sapp = (sapp + sAppInc) & 0xffff;
    dref += dRefInc;
    dapp = (dapp + dAppInc) & 0xffff;
  }
  setSpecific64(hasSrc ? tags(sref, smask, sapp) : 0, hasDst ? tags(dref, dmask, dapp) : 0);
  return status;
}

/** Translation fetch: the region is read-checked as a read would be (faulting at its first unmapped byte). */
export function translFetch(desc: u32): u32 {
  const a = load<u64>(desc + Desc.TRANSL_FETCH_ADDR);
  const size = <u64>load<u32>(desc + Desc.REGION_SIZE);
  const p = prefix(a, size);
  if (p < size) return fault(a + p, p, false);
  return Status.SUCCESS;
}
