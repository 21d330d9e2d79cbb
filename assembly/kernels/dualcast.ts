// DUALCAST: src copied to dst1 and dst2 (validation already rejected any overlap).
import { Desc, Status } from "../../src/device/format";
import { prefix, min64 } from "../bounds";
import { fault } from "../record";

export function dualcast(desc: u32): u32 {
  const src = load<u64>(desc + Desc.SRC);
  const d1 = load<u64>(desc + Desc.DST);
  const d2 = load<u64>(desc + Desc.DST2);
  const size = <u64>load<u32>(desc + Desc.XFER_SIZE);
  const vs = prefix(src, size);
  const v1 = prefix(d1, size);
  const v2 = prefix(d2, size);
  const n = min64(vs, min64(v1, v2));
  if (n != 0) {
    memory.copy(<usize>d1, <usize>src, <usize>n);
    memory.copy(<usize>d2, <usize>src, <usize>n);
  }
  if (n < size) {
    // per byte: read src, write dst1, write dst2
    if (vs == n) return fault(src + n, n, false);
    return v1 == n ? fault(d1 + n, n, true) : fault(d2 + n, n, true);
  }
  return Status.SUCCESS;
}
