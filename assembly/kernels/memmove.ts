// MEMMOVE: memmove semantics (overlap capability on). The valid part is found analytically,
// then copied with memory.copy (bulk memory, itself overlap-safe).
// A forward copy faults at the first unmapped byte from the start; a backward copy (dst above
// src, overlapping) runs from the end, so it faults at the last unmapped byte and reports
// result = 1: bytes completed then counts from the end, and resubmitting with
// size - bytesCompleted (same addresses) finishes the job.
import { Desc, Status } from "../../src/device/format";
import { prefix, suffix, min64 } from "../bounds";
import { fault, setResult } from "../record";

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
  if (n != 0) memory.copy(<usize>dst, <usize>src, <usize>n);
  if (n < size) return vs <= vd ? fault(src + n, n, false) : fault(dst + n, n, true);
  return Status.SUCCESS;
}
