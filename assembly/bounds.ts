// Arena bounds and range arithmetic: the "page tables" of the software device.
// Every descriptor address is a u64 byte offset; only [arenaBase, arenaEnd) is mapped.
// All checks are O(1) per range and overflow-safe: arenaEnd <= 2^32, and any address at or
// above arenaEnd is rejected before an addition could wrap.
import { Ctx } from "../src/device/format";

// Per-instance (per-engine) copies of the context bounds, loaded at the start of each execute().
export let arenaBase: u64 = 0;
export let arenaEnd: u64 = 0;

export function loadBounds(ctx: u32): void {
  arenaBase = <u64>load<u32>(ctx + Ctx.ARENA_BASE);
  arenaEnd = <u64>load<u32>(ctx + Ctx.ARENA_END);
}

/** Leading bytes of [addr, addr+len) that are mapped: a forward pass stops at addr + prefix. */
export function prefix(addr: u64, len: u64): u64 {
  if (addr < arenaBase || addr >= arenaEnd) return 0;
  const room = arenaEnd - addr;
  return len < room ? len : room;
}

/** Trailing bytes of [addr, addr+len) that are mapped: a backward pass stops before them. */
export function suffix(addr: u64, len: u64): u64 {
  if (addr >= arenaEnd) return 0; // from here addr < 2^32: addr + len cannot wrap
  const end = addr + len;
  if (end > arenaEnd) return 0;
  if (addr >= arenaBase) return len;
  return end > arenaBase ? end - arenaBase : 0;
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
