// Arena bounds and range arithmetic: the "page tables" of the software device.
// Every descriptor address is a u64 byte offset; only [arenaBase, arenaEnd) is mapped.
// All checks are O(1) per range and overflow-safe: arenaEnd <= 2^32, and any address at or
// above arenaEnd is rejected before an addition could wrap.
import { Ctx } from "../src/device/format";

// Per-instance (per-engine) copies of the context bounds, loaded at the start of each execute().
export let arenaBase: u64 = 0;
export let arenaEnd: u64 = 0;

// An injected page fault (the host's fault injection): [holeStart, holeEnd) is unmapped for
// the next descriptor this instance runs, as a page the OS had not mapped. Empty: none.
let holeStart: u64 = 0;
let holeEnd: u64 = 0;

export function setHole(start: u64, end: u64): void {
  holeStart = start;
  holeEnd = end;
}

export function loadBounds(ctx: u32): void {
  arenaBase = <u64>load<u32>(ctx + Ctx.ARENA_BASE);
  arenaEnd = <u64>load<u32>(ctx + Ctx.ARENA_END);
}

/** Leading bytes of [addr, addr+len) that are mapped: a forward pass stops at addr + prefix. */
export function prefix(addr: u64, len: u64): u64 {
  if (addr < arenaBase || addr >= arenaEnd) return 0;
  const room = arenaEnd - addr;
  const n = len < room ? len : room;
  if (holeEnd <= holeStart || holeEnd <= addr) return n;
  if (holeStart <= addr) return 0;
  const before = holeStart - addr;
  return before < n ? before : n;
}

/** Trailing bytes of [addr, addr+len) that are mapped: a backward pass stops before them. */
export function suffix(addr: u64, len: u64): u64 {
  if (addr >= arenaEnd) return 0; // from here addr < 2^32: addr + len cannot wrap
  const end = addr + len;
  if (end > arenaEnd) return 0;
  const n = addr >= arenaBase ? len : end > arenaBase ? end - arenaBase : 0;
  if (holeEnd <= holeStart || holeStart >= end || holeEnd <= end - n) return n;
  return holeEnd < end ? end - holeEnd : 0;
}

/** True when [addr, addr+len) is entirely mapped. */
@inline export function mapped(addr: u64, len: u64): bool {
  return prefix(addr, len) == len;
}

/** Do [a, a+la) and [b, b+lb) share a byte? Written without a + la, which may wrap. */
export function overlaps(a: u64, la: u64, b: u64, lb: u64): bool {
  if (la == 0 || lb == 0) return false;
  return a < b ? b - a < la : a - b < lb;
}

@inline export function min64(a: u64, b: u64): u64 {
  return a < b ? a : b;
}
