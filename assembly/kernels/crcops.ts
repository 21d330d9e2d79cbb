// CRCGEN and COPY_CRC descriptors. The seed comes from @40, or with CRC_SEED_ADDR from the
// u32 at @48 (read first; an unmapped seed faults with nothing done and CRC 0).
// A partial run reports the CRC of the bytes completed, so it can seed a resubmission.
import { Desc, Flag, Status } from "../../src/device/format";
import { prefix, min64 } from "../bounds";
import { fault, setSpecific } from "../record";
import { crc32cRun } from "./crc32c";

// The seed, or a fault status (high bit 32 set) when the seed address is not mapped.
function seedOf(desc: u32, flags: u32): u64 {
  if ((flags & Flag.CRC_SEED_ADDR) == 0) return <u64>load<u32>(desc + Desc.CRC_SEED);
  const a = load<u64>(desc + Desc.CRC_SEED_ADDR);
  const p = prefix(a, 4);
  if (p < 4) return (<u64>1 << 32) | <u64>fault(a + p, 0, false);
  return <u64>load<u32>(<usize>a);
}

export function crcgen(desc: u32, flags: u32): u32 {
  const seed = seedOf(desc, flags);
  if (seed >> 32) return <u32>seed;
  const src = load<u64>(desc + Desc.SRC);
  const size = <u64>load<u32>(desc + Desc.XFER_SIZE);
  const n = prefix(src, size);
  setSpecific(crc32cRun(<usize>src, <usize>n, <u32>seed, flags, 0));
  if (n < size) return fault(src + n, n, false);
  return Status.SUCCESS;
}

export function copyCrc(desc: u32, flags: u32): u32 {
  const seed = seedOf(desc, flags);
  if (seed >> 32) return <u32>seed;
  const src = load<u64>(desc + Desc.SRC);
  const dst = load<u64>(desc + Desc.DST);
  const size = <u64>load<u32>(desc + Desc.XFER_SIZE);
  const vs = prefix(src, size);
  const vd = prefix(dst, size);
  const n = min64(vs, vd);
  // one pass: the CRC reads src and copies it (validation rejected overlapping buffers)
  setSpecific(crc32cRun(<usize>src, <usize>n, <u32>seed, flags, <usize>dst));
  if (n < size) return vs <= vd ? fault(src + n, n, false) : fault(dst + n, n, true);
  return Status.SUCCESS;
}
