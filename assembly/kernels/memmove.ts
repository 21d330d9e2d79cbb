// MEMMOVE: memmove semantics (overlap capability on). The valid part is found analytically,
// then copied with memory.copy (bulk memory, itself overlap-safe).
// A forward copy faults at the first unmapped byte from the start; a backward copy (dst above
// src, overlapping) runs from the end, so it faults at the last unmapped byte and reports
// result = 1: bytes completed then counts from the end, and resubmitting with
// size - bytesCompleted (same addresses) finishes the job.
//
// A forward copy of streamFrom bytes or more whose descriptor leaves the cache-control flag
// clear (DSA then writes the destination to memory, not into the cache) goes to the host's
// streamCopy: stores that bypass the cache, which Wasm has no instruction for. Beyond the
// cache they move ~1.3x the bytes a second (no read of each destination line before it is
// written). The host sets streamFrom where it has such a copy; 0: never.
import { Desc, Flag, Status } from "../../src/device/format";
import { prefix, suffix, min64 } from "../bounds";
import { fault, setResult } from "../record";

@external("env", "streamCopy")
declare function streamCopy(dst: u32, src: u32, n: u32): void;

let streamFrom: u64 = 0;

/** Copies of `bytes` or more (0: none) without the cache-control flag go through the host's streamCopy. */
export function setStreamFrom(bytes: u32): void {
  streamFrom = <u64>bytes;
}

export function memmove(desc: u32): u32 {
  const src = load<u64>(desc + Desc.SRC);
  const dst = load<u64>(desc + Desc.DST);
  const size = <u64>load<u32>(desc + Desc.XFER_SIZE);
  if (dst > src && dst - src < size) {
    const ss = suffix(src, size);
    const sd = suffix(dst, size);
    const n = min64(ss, sd);
    if (n != 0) memory.copy(<usize>(dst + size - n), <usize>(src + size - n), <usize>n);
    if (n < size) {
      setResult(1);
      const i = size - 1 - n; // the byte that faulted
      return ss <= sd ? fault(src + i, n, false) : fault(dst + i, n, true);
    }
    return Status.SUCCESS;
  }
  const vs = prefix(src, size);
  const vd = prefix(dst, size);
  const n = min64(vs, vd);
  if (n != 0) {
    const streamed = streamFrom != 0 && n >= streamFrom && (load<u32>(desc + Desc.FLAGS) & Flag.CC) == 0 && (dst + n <= src || src + n <= dst);
    if (streamed) streamCopy(<u32>dst, <u32>src, <u32>n);
    else memory.copy(<usize>dst, <usize>src, <usize>n);
  }
  if (n < size) return vs <= vd ? fault(src + n, n, false) : fault(dst + n, n, true);
  return Status.SUCCESS;
}
