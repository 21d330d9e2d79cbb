// softdsa Wasm core: the exports (the contract with the host engine).
// One module is instantiated by several engines over one shared memory, with a stub runtime:
// nothing here allocates, and the only state is per-instance globals. Static data is a few
// hundred bytes of read-only tables (validate.ts); the CRC tables are built by init() into the
// region the host reserves, and each instance has a scratch area of its own for the CRC fold.
import { Ctx } from "../src/device/format";
import { loadBounds, setHole } from "./bounds";
import { crcInit, crc32cRun } from "./kernels/crc32c";
import { runOne } from "./dispatch";
import { recordError } from "./batch";
import { crc16 as crc16Run } from "./kernels/dif";
import { fillBytes } from "./kernels/fill";
import { outFault, setBytes, setFault, setResult, setSpecific } from "./record";
export { setStreamFrom } from "./kernels/memmove";
export { setHostCrcFrom } from "./kernels/crc32c";

/**
 * Builds the CRC tables at load<u32>(ctx + Ctx.TABLES) (idempotent, safe to run concurrently)
 * and gives this instance `scratch`: Limit.CORE_SCRATCH_BYTES that no other instance uses.
 */
export function init(ctx: u32, scratch: u32): void {
  crcInit(load<u32>(ctx + Ctx.TABLES), scratch);
}

export function heapBase(): u32 {
  return <u32>__heap_base;
}

/** Raw CRC-32C for the host: no bounds checks, flags = the CRC flag bits of Flag. */
export function crc32c(addr: u32, len: u32, seed: u32, flags: u32): u32 {
  return crc32cRun(addr, len, seed, flags, 0);
}

/** Raw CRC-16 T10-DIF (MSB-first, polynomial 0x8BB7, no inversion) for the host: no bounds checks. */
export function crc16(addr: u32, len: u32, seed: u32): u32 {
  return crc16Run(addr, len, seed & 0xffff);
}

/**
 * memmove within the memory, for the host's inline copies in the arena: V8 copies a TypedArray
 * into shared memory a word at a time (relaxed atomics), 2-4x slower in cache than memory.copy.
 */
export function copy(dst: u32, src: u32, len: u32): void {
  memory.copy(dst, src, len);
}

/** MEMFILL's kernel, for the host's inline fills in the arena (TypedArray.fill into shared memory: 11x slower at 16 MiB). */
export function fill(dst: u32, len: u32, pattern: u64): void {
  fillBytes(dst, len, pattern);
}

/** The host's JS path reports a foreign-space operation's outcome here (see dispatch.ts). */
export function setOutcome(result: u32, bytes: u32, faultAddr: u64, specific: u32): void {
  setResult(result);
  setBytes(bytes);
  setFault(faultAddr);
  setSpecific(specific);
}

/**
 * Fault injection: the next descriptors this instance runs find [start, start + len) unmapped
 * (len 0: nothing), and fault there exactly as at the arena's end.
 */
export function injectHole(start: u32, len: u32): void {
  setHole(<u64>start, <u64>start + <u64>len);
}

/** The fault address of the descriptor just run (its record's, written or not): did an injected hole cause its fault? */
export function faultAddress(): u64 {
  return outFault;
}

/** After a BATCH: its first member whose record could not be written ((index + 1) << 8 | status, bit 20: more than one), or 0. */
export function batchRecordError(): u32 {
  return recordError;
}

/** Runs the descriptor at `desc`; returns the status byte (as written, or as it would be). */
export function execute(desc: u32, ctx: u32, irq: u32): u32 {
  loadBounds(ctx);
  return runOne(desc, ctx, irq, false);
}
