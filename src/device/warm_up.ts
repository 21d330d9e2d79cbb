// The kernels' warm-up, run by each engine as it boots, before it says it is ready.
//
// The core is compiled for V8's optimizing tier from the start (core.ts), so a kernel's first
// run compiles it: a few ms, once per process (engines share the compiled code). Running
// every operation once here, on a few KiB of the engine's own warm-up area, pays that before
// any caller's descriptor arrives: a first 1 MiB CRC then takes what the hundredth takes.
// (With the baseline tier first, it took 5-11 ms instead of 0.1-0.3: the whole first input ran
// in unoptimized code.)
import type { Core } from './core.ts';
import { Desc, Limit, Opcode } from './format.ts';
import type { Layout } from './layout.ts';

/** Arena bytes each engine warms up on. */
export const WARM_BYTES = 8192;

/** Runs each operation once over [area, area + WARM_BYTES) (arena bytes this engine alone uses). */
export function warmUp(core: Core, mem: Uint8Array, layout: Layout, area: number): void {
  // [a: 4 KiB source][b: 1 KiB destination, then the delta record, ..., the descriptor (64 B)]
  const half = WARM_BYTES / 2;
  const a = area;
  const b = area + half;
  const delta = b + 1024;
  const d = area + WARM_BYTES - Desc.SIZE;
  const dv = new DataView(mem.buffer, mem.byteOffset);
  const run = (op: number, fill: () => void): void => {
    mem.fill(0, d, d + Desc.SIZE);
    dv.setUint32(d + Desc.FLAGS, op << 24, true);
    fill();
    core.execute(d, layout.ctx, 0);
  };
  const size = (n: number): void => dv.setUint32(d + Desc.XFER_SIZE, n, true);
  const addr = (field: number, v: number): void => dv.setBigUint64(d + field, BigInt(v), true);
  mem.fill(1, a, a + 1024);
  run(Opcode.MEMMOVE, () => { addr(Desc.SRC, a); addr(Desc.DST, b); size(1024); });
  run(Opcode.MEMFILL, () => { dv.setBigUint64(d + Desc.PATTERN, 0x0102030405060708n, true); addr(Desc.DST, b); size(1024); });
  run(Opcode.COMPARE, () => { addr(Desc.SRC, a); addr(Desc.SRC2, b); size(1024); });
  run(Opcode.COMPVAL, () => { addr(Desc.SRC, a); size(1024); });
  // dualcast: destinations 4 KiB apart (bits 11:0 equal), apart from the source
  run(Opcode.DUALCAST, () => { addr(Desc.SRC, a + 1024); addr(Desc.DST, a + 2048); addr(Desc.DST2, b + 2048); size(64); });
  run(Opcode.CR_DELTA, () => { addr(Desc.SRC, a); addr(Desc.SRC2, a + 512); size(512); addr(Desc.DELTA_ADDR, delta); dv.setUint32(d + Desc.DELTA_MAX, 1024, true); });
  run(Opcode.AP_DELTA, () => { addr(Desc.SRC, delta); addr(Desc.DST, b); size(512); dv.setUint32(d + Desc.DELTA_SIZE, 10, true); });
  // CRC (its folds share one driver for every level), copy + CRC, and the host's own entry.
  run(Opcode.CRCGEN, () => { addr(Desc.SRC, a); size(half); });
  run(Opcode.COPY_CRC, () => { addr(Desc.SRC, a); addr(Desc.DST, b); size(1024); });
  core.crc32c(a, half, 0, 0);
  warmLongCrc(core, mem);
}

/**
 * Runs the CRC's four-stream fold once (Limit.CRC_WAYS_MIN bytes from address 0: what is there
 * is read, never written), so that a first long CRC does not compile it (0.2-3 ms). Memories too
 * small for it have no input that long either.
 */
export function warmLongCrc(core: Core, mem: Uint8Array): void {
  if (mem.byteLength >= Limit.CRC_WAYS_MIN) core.crc32c(0, Limit.CRC_WAYS_MIN, 0, 0);
}
