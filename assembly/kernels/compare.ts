// COMPARE and COMPVAL. Both find the first differing byte inside the mapped part with SIMD,
// so a difference before an unmapped byte is reported as a difference, not a fault.
import { Desc, Flag, Status } from "../../src/device/format";
import { prefix, min64 } from "../bounds";
import { fault, setResult, setBytes } from "../record";

/** Index of the first byte where [a, a+n) and [b, b+n) differ, or n. */
export function firstDiff(a: usize, b: usize, n: usize): usize {
  let i: usize = 0;
  // 128 bytes a round: xor the pairs, or them together, one ptest (any_true). The exact byte is
  // found below, from the start of the round that differed.
  while (i + 128 <= n) {
    const x = v128.or(
      v128.or(
        v128.or(v128.xor(v128.load(a + i), v128.load(b + i)), v128.xor(v128.load(a + i, 16), v128.load(b + i, 16))),
        v128.or(v128.xor(v128.load(a + i, 32), v128.load(b + i, 32)), v128.xor(v128.load(a + i, 48), v128.load(b + i, 48))),
      ),
      v128.or(
        v128.or(v128.xor(v128.load(a + i, 64), v128.load(b + i, 64)), v128.xor(v128.load(a + i, 80), v128.load(b + i, 80))),
        v128.or(v128.xor(v128.load(a + i, 96), v128.load(b + i, 96)), v128.xor(v128.load(a + i, 112), v128.load(b + i, 112))),
      ),
    );
    if (v128.any_true(x)) break;
    i += 128;
  }
  while (i + 16 <= n) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(a + i), v128.load(b + i)));
    if (m != 0xffff) return i + <usize>ctz(~m);
    i += 16;
  }
  while (i < n) {
    if (load<u8>(a + i) != load<u8>(b + i)) return i;
    i++;
  }
  return n;
}

/** Index of the first byte of [a, a+n) that differs from the pattern (phase from a), or n. */
export function firstDiffPattern(a: usize, n: usize, pattern: u64): usize {
  const p = i64x2.splat(<i64>pattern);
  let i: usize = 0;
  while (i + 128 <= n) {
    const x = v128.or(
      v128.or(
        v128.or(v128.xor(v128.load(a + i), p), v128.xor(v128.load(a + i, 16), p)),
        v128.or(v128.xor(v128.load(a + i, 32), p), v128.xor(v128.load(a + i, 48), p)),
      ),
      v128.or(
        v128.or(v128.xor(v128.load(a + i, 64), p), v128.xor(v128.load(a + i, 80), p)),
        v128.or(v128.xor(v128.load(a + i, 96), p), v128.xor(v128.load(a + i, 112), p)),
      ),
    );
    if (v128.any_true(x)) break;
    i += 128;
  }
  while (i + 16 <= n) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(a + i), p));
    if (m != 0xffff) return i + <usize>ctz(~m);
    i += 16;
  }
  while (i < n) {
    if (<u64>load<u8>(a + i) != ((pattern >> (<u64>(i & 7) << 3)) & 0xff)) return i;
    i++;
  }
  return n;
}

// Success, or "success, predicate false" when CR is set and the result is not the expected one.
function checked(desc: u32, flags: u32, result: u32): u32 {
  if ((flags & Flag.CR) != 0 && <u32>load<u8>(desc + Desc.EXPECTED) != result) return Status.SUCCESS_PRED;
  return Status.SUCCESS;
}

export function compare(desc: u32, flags: u32): u32 {
  const a = load<u64>(desc + Desc.SRC);
  const b = load<u64>(desc + Desc.SRC2);
  const size = <u64>load<u32>(desc + Desc.XFER_SIZE);
  const va = prefix(a, size);
  const vb = prefix(b, size);
  const v = min64(va, vb);
  const m = v != 0 ? <u64>firstDiff(<usize>a, <usize>b, <usize>v) : 0;
  if (m < v) {
    setResult(1);
    setBytes(<u32>m);
    return checked(desc, flags, 1);
  }
  // src1 is read before src2 at each byte
  if (v < size) return va <= vb ? fault(a + v, v, false) : fault(b + v, v, false);
  return checked(desc, flags, 0);
}

// [decided] COMPVAL: a mismatch reports the start of its 8-byte word within the whole words,
// or the exact byte within the last size mod 8 bytes (Intel DML's software path).
export function compval(desc: u32, flags: u32): u32 {
  const a = load<u64>(desc + Desc.SRC);
  const size = <u64>load<u32>(desc + Desc.XFER_SIZE);
  const v = prefix(a, size);
  const m = v != 0 ? <u64>firstDiffPattern(<usize>a, <usize>v, load<u64>(desc + Desc.COMP_PATTERN)) : 0;
  if (m < v) {
    setResult(1);
    setBytes(<u32>(m < (size & ~7) ? m & ~7 : m));
    return checked(desc, flags, 1);
  }
  if (v < size) return fault(a + v, v, false);
  return checked(desc, flags, 0);
}
