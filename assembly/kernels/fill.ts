// MEMFILL: dst[i] = pattern byte (i mod 8), the phase counted from dst itself.
import { Desc, Status } from "../../src/device/format";
import { prefix } from "../bounds";
import { fault } from "../record";

/** Multi-byte fills of at least this many bytes are mostly copies (see below). */
const LONG: usize = 4096;

export function fillBytes(dst: usize, n: usize, pattern: u64): void {
  // A pattern of one repeated byte (zeroing, most often) is memory.fill: the engine's memset.
  if (pattern == (pattern & 0xff) * 0x0101010101010101) {
    memory.fill(dst, <u8>pattern, n);
    return;
  }
  // Stores write the pattern itself, 16 bytes at a time (16 is a multiple of 8, so every vector
  // store starts in phase). A long fill stores only 256 bytes and copies the rest from what is
  // done: memory.copy is the engine's memcpy, with vectors wider than Wasm's (as Node's
  // buffer.fill does), doubling up to 16 KiB, then 16 KiB at a time from the start, which stays
  // in L1.
  const stored: usize = n >= LONG ? 256 : n;
  const v = i64x2.splat(<i64>pattern);
  let i: usize = 0;
  while (i + 64 <= stored) {
    v128.store(dst + i, v);
    v128.store(dst + i, v, 16);
    v128.store(dst + i, v, 32);
    v128.store(dst + i, v, 48);
    i += 64;
  }
  while (i + 16 <= stored) {
    v128.store(dst + i, v);
    i += 16;
  }
  while (i < stored) {
    store<u8>(dst + i, <u8>(pattern >> (<u64>(i & 7) << 3)));
    i++;
  }
  while (i < n) {
    const k = min(min(i, 16384), n - i);
    memory.copy(dst + i, dst, k);
    i += k;
  }
}

export function fill(desc: u32): u32 {
  const dst = load<u64>(desc + Desc.DST);
  const size = <u64>load<u32>(desc + Desc.XFER_SIZE);
  const n = prefix(dst, size);
  if (n != 0) fillBytes(<usize>dst, <usize>n, load<u64>(desc + Desc.PATTERN));
  if (n < size) return fault(dst + n, n, true);
  return Status.SUCCESS;
}
