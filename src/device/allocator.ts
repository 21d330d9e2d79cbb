// First-fit allocator over the device arena, with coalescing of freed blocks.
// Runs on the thread that opened the device; the arena is small in block count
// (buffers, records, batch lists), so sorted arrays beat anything cleverer.
import { Errors, typeName } from './errors.ts';

/**
 * Blocks start and end on 64-byte lines (a cache line; DSA's records want 32): a block of 1 byte
 * takes 64. Cut to the byte, each small block left the bytes up to the next aligned address as
 * a free range too small for anything, which every later alloc() stepped over (first fit): 32,000
 * one-byte buffers took 6.4 s, each taking longer than the last.
 */
const LINE = 64;

export class Allocator {
  #free: Array<[start: number, end: number]>;
  readonly #used = new Map<number, [start: number, end: number]>();

  /** the bytes it allocates from */
  readonly size: number;

  /**
   * What holds arena memory only to reuse it (the batcher's pool of descriptor blocks), asked to
   * give it back when an allocation finds no room: true when it gave some. Kept blocks may lie in
   * the middle of the arena (taken from the top while buffers held it), and cut the room a large
   * buffer needs for good.
   */
  reclaim: (() => boolean) | null = null;

  /**
   * Zeroes a block the device used for its own work as release() gives it back: fresh arena
   * memory is zeros, and a program's block holds only what its own calls wrote there (the
   * warm-up's descriptors, a file's bytes read into the device's windows, did; a new device's
   * first buffer held 122 bytes of them).
   */
  wipe: ((addr: number, bytes: number) => void) | null = null;

  constructor(base: number, end: number) {
    this.#free = [[base, end]];
    this.size = end - base;
  }

  /**
   * A block of `bytes` at an `align`ed address. `top`: the last fit, from the arena's end, for
   * blocks kept long (the batcher's pool): they then do not split the room callers' buffers
   * are cut from.
   */
  alloc(bytes: number, align = 64, top = false): number {
    if (typeof bytes !== 'number' || typeof align !== 'number') throw new TypeError(`alloc(bytes, align): both must be numbers; got ${typeName(bytes)}, ${typeName(align)}`);
    if (!Number.isInteger(bytes) || bytes <= 0) throw new RangeError(`alloc: size must be a positive integer, got ${bytes}`);
    if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0) throw new RangeError(`alloc: alignment must be a power of two, got ${align}`);
    if (align > this.size) throw new RangeError(`alloc: alignment ${align} is larger than the arena (${this.size} bytes): no block of it can be aligned so`);
    const at = Math.max(align, LINE);
    const addr = this.#fit(bytes, at, top);
    if (addr >= 0) return addr;
    if (this.reclaim?.() === true) {
      const again = this.#fit(bytes, at, top);
      if (again >= 0) return again;
    }
    const largest = this.#free.reduce((m, [s, e]) => Math.max(m, e - s), 0);
    throw Errors.arenaFull(bytes, this.size, largest, largest >= bytes ? align : undefined);
  }

  /** The block's address, taken, or -1 when no free range fits it. */
  #fit(bytes: number, align: number, top: boolean): number {
    const n = this.#free.length;
    for (let k = 0; k < n; k++) {
      const i = top ? n - 1 - k : k;
      const [start, end] = this.#free[i];
      const addr = top ? Math.floor((end - bytes) / align) * align : Math.ceil(start / align) * align;
      if (addr < start || addr + bytes > end) continue;
      // (whole lines, but for a block that ends where the arena does, which need not be on one)
      const to = Math.min(addr + Math.ceil(bytes / LINE) * LINE, end);
      const rest: Array<[number, number]> = [];
      if (start < addr) rest.push([start, addr]);
      if (to < end) rest.push([to, end]);
      this.#free.splice(i, 1, ...rest);
      this.#used.set(addr, [addr, to]);
      return addr;
    }
    return -1;
  }

  /** The ranges no block holds now, in address order. */
  freeRanges(): ReadonlyArray<readonly [start: number, end: number]> {
    return this.#free.map(([s, e]) => [s, e] as const);
  }

  /** free() of a block the device used for its own work: its first `written` bytes (all by default) zeroed first (wipe). */
  release(addr: number, written = Infinity): void {
    const block = this.#used.get(addr);
    if (block !== undefined && written > 0) this.wipe?.(block[0], Math.min(written, block[1] - block[0]));
    this.free(addr);
  }

  free(addr: number): void {
    const block = this.#used.get(addr);
    if (block === undefined) throw Errors.badFree(addr);
    this.#used.delete(addr);
    const free = this.#free;
    // (where it goes among the free ranges, in address order: a binary search)
    let i = 0;
    for (let hi = free.length; i < hi; ) {
      const mid = (i + hi) >>> 1;
      if (free[mid][0] < block[0]) i = mid + 1;
      else hi = mid;
    }
    free.splice(i, 0, block);
    // Coalesce with the neighbours.
    if (i + 1 < free.length && free[i][1] === free[i + 1][0]) free.splice(i, 2, [free[i][0], free[i + 1][1]]);
    if (i > 0 && free[i - 1][1] === free[i][0]) free.splice(i - 1, 2, [free[i - 1][0], free[i][1]]);
  }
}
