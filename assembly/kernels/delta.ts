// CR_DELTA / AP_DELTA. A delta record is a list of 10-byte entries {u16 word index, u64 data}.
// Both work a word/entry at a time: a word or entry that is not entirely mapped faults before
// any of its bytes is used, at its first unmapped byte (addresses are 8-aligned, so this only
// differs from a byte model when the arena bounds are not).
import { Desc, Flag, Status, DeltaEntry } from "../../src/device/format";
import { prefix, min64 } from "../bounds";
import { fault, setResult, setSpecific } from "../record";
import { firstDiff } from "./compare";

// Words are read one at a time, after earlier entries were written: if the delta record overlaps
// a source (not forbidden), later words see those writes, as on a sequential engine.
export function createDelta(desc: u32, flags: u32): u32 {
  const s1 = load<u64>(desc + Desc.SRC);
  const s2 = load<u64>(desc + Desc.SRC2);
  const rec = load<u64>(desc + Desc.DELTA_ADDR);
  const max = <u64>load<u32>(desc + Desc.DELTA_MAX);
  const size = <u64>load<u32>(desc + Desc.XFER_SIZE);
  const mask = <u32>load<u8>(desc + Desc.EXPECTED_MASK); // before any write (see dispatch.ts)
  const words = size >> 3;
  // words readable in both sources, and delta bytes writable
  const okWords = min64(prefix(s1, size), prefix(s2, size)) >> 3;
  const okRec = prefix(rec, max);
  let used: u64 = 0;
  let overflow = false;
  let i: u64 = 0;
  for (; i < okWords; i++) {
    // Equal runs are skipped with the SIMD compare. It reads ahead, but only after every entry
    // so far was written, and words it passes over are equal (no writes among them), so each
    // word it skips reads as it would word by word; at a difference the walk goes on per word.
    const rest = <usize>((okWords - i) << 3);
    i += <u64>(firstDiff(<usize>(s1 + (i << 3)), <usize>(s2 + (i << 3)), rest) >> 3);
    if (i >= okWords) break;
    const d = load<u64>(<usize>(s2 + (i << 3)));
    if (load<u64>(<usize>(s1 + (i << 3))) == d) continue;
    if (used + DeltaEntry.SIZE > max) {
      overflow = true;
      break;
    }
    if (used + DeltaEntry.SIZE > okRec) {
      setSpecific(<u32>used);
      return fault(rec + okRec, i << 3, true);
    }
    const e = <usize>(rec + used);
    store<u16>(e, <u16>i);
    store<u64>(e + DeltaEntry.DATA, d);
    used += DeltaEntry.SIZE;
  }
  setSpecific(<u32>used);
  if (!overflow && i < words) {
    // word i is not entirely mapped: src1 is read first
    const a = s1 + (i << 3);
    const p = prefix(a, 8);
    if (p < 8) return fault(a + p, i << 3, false);
    const b = s2 + (i << 3);
    return fault(b + prefix(b, 8), i << 3, false);
  }
  const result: u32 = overflow ? 2 : used != 0 ? 1 : 0;
  setResult(result);
  // with CR, bit N of the mask means "result N is expected". (DML's software path special-cases
  // masks 0 and 7 and compares mask >> 1; the spec page wins.)
  if ((flags & Flag.CR) != 0 && ((mask >> result) & 1) == 0)
    return Status.SUCCESS_PRED;
  return Status.SUCCESS;
}

// Offsets are all validated (0x07 strictly increasing, 0x08 in range) over the readable part of
// the delta record before anything is written. Bytes completed counts delta record bytes
// applied (whole entries), so a resubmission continues at record + bytesCompleted.
export function applyDelta(desc: u32): u32 {
  const rec = load<u64>(desc + Desc.SRC);
  const dst = load<u64>(desc + Desc.DST);
  const size = <u64>load<u32>(desc + Desc.XFER_SIZE);
  const rsize = <u64>load<u32>(desc + Desc.DELTA_SIZE);
  const n = rsize / DeltaEntry.SIZE;
  const vr = prefix(rec, rsize);
  const readable = vr / DeltaEntry.SIZE;
  let prev: i32 = -1;
  for (let i: u64 = 0; i < readable; i++) {
    const off = <i32>load<u16>(<usize>(rec + i * DeltaEntry.SIZE));
    if (off <= prev) return Status.DELTA_OFFSET_ORDER;
    if ((<u64>off << 3) >= size) return Status.DELTA_OFFSET_RANGE;
    prev = off;
  }
  for (let i: u64 = 0; i < n; i++) {
    if (i >= readable) return fault(rec + vr, i * DeltaEntry.SIZE, false);
    const e = <usize>(rec + i * DeltaEntry.SIZE);
    const w = dst + (<u64>load<u16>(e) << 3);
    const pw = prefix(w, 8);
    if (pw < 8) return fault(w + pw, i * DeltaEntry.SIZE, true);
    store<u64>(<usize>w, load<u64>(e + DeltaEntry.DATA));
  }
  return Status.SUCCESS;
}
