// The device arena's allocator: free ranges kept by size class (a power of two) for alloc(), and
// by their two ends for free(), which joins a block to its free neighbours at once. Runs on the
// thread that owns the arena (or its lent part). Kept as a sorted array, its free ranges made
// each alloc() and free() cost as many as there were: 100,000 small buffers freed in random
// order took 10 s, 20,000 allocations past 20,000 holes 3 s.
import { argCoded, Errors, typeName } from './errors.ts';

/**
 * Blocks start and end on 64-byte lines (a cache line; DSA's records want 32): a block of 1 byte
 * takes 64. Cut to the byte, each small block left the bytes up to the next aligned address as
 * a free range too small for anything, which every later alloc() stepped over (first fit): 32,000
 * one-byte buffers took 6.4 s, each taking longer than the last.
 */
const LINE = 64;

export class Allocator {
  /**
   * The free ranges: their end by their start, and their start by their end. Dictionaries, not
   * Maps: a Map keeps a deleted key in its bucket's chain, and an address taken and freed again
   * (alloc() and free() of one block, over and over) made that chain, and each look-up, longer
   * until the next rehash (14 us an operation with 20,000 free ranges).
   */
  readonly #ends: { [start: number]: number } = Object.create(null) as { [start: number]: number };
  readonly #starts: { [end: number]: number } = Object.create(null) as { [end: number]: number };
  /**
   * The free ranges' starts by size class (bin k: sizes from 2^k to 2^(k+1) - 1), pushed as each
   * range is made; one that has gone since (joined to a freed block, say) is dropped where met,
   * and a bin holding more such entries than live ones is swept (#live counts them).
   */
  readonly #bins: number[][] = Array.from({ length: 33 }, () => []);
  readonly #live: number[] = new Array<number>(33).fill(0);
  /** the blocks taken: their end by their address (a dictionary, as the free ranges are) */
  readonly #used: { [addr: number]: number } = Object.create(null) as { [addr: number]: number };

  /** the bytes it allocates from */
  readonly size: number;

  /** What a full arena's error suggests beside freeing buffers (an attached thread's part grows through its opener's lend()). */
  larger = 'open the device with a larger arenaBytes';

  /**
   * What holds arena memory it could give back (the batcher's pool of descriptor blocks, kept to
   * reuse; blocks waiting to be zeroed, wiper.ts), asked to give it back when an allocation finds
   * no room: true when it gave some. Kept blocks may lie in
   * the middle of the arena (taken from the top while buffers held it), and cut the room a large
   * buffer needs for good.
   */
  reclaim: (() => boolean) | null = null;

  constructor(base: number, end: number) {
    this.size = end - base;
    if (end > base) this.#add(base, end);
  }

  /**
   * A block of `bytes` at an `align`ed address. `top`: the last fit, from the arena's end, for
   * blocks kept long (the batcher's pool): they then do not split the room callers' buffers
   * are cut from.
   */
  alloc(bytes: number, align = 64, top = false): number {
    if (typeof bytes !== 'number' || typeof align !== 'number') throw argCoded(new TypeError(`alloc(bytes, align): both must be numbers; got ${typeName(bytes)}, ${typeName(align)}`));
    if (!Number.isInteger(bytes) || bytes <= 0) throw argCoded(new RangeError(`alloc: size must be a positive integer, got ${bytes}`));
    if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0) throw argCoded(new RangeError(`alloc: alignment must be a power of two, got ${align}`));
    if (align > this.size) throw argCoded(new RangeError(`alloc: alignment ${align} is larger than the arena (${this.size} bytes): no block of it can be aligned so`));
    const at = Math.max(align, LINE);
    const addr = this.#fit(bytes, at, top);
    if (addr >= 0) return addr;
    if (this.reclaim?.() === true) {
      const again = this.#fit(bytes, at, top);
      if (again >= 0) return again;
    }
    let largest = 0;
    for (const key in this.#ends) largest = Math.max(largest, this.#ends[Number(key)] - Number(key));
    throw Errors.arenaFull(bytes, this.size, largest, largest >= bytes ? align : undefined, this.larger);
  }

  /** The block's address, taken, or -1 when no free range fits it. */
  #fit(bytes: number, align: number, top: boolean): number {
    if (top) {
      // (the range that holds it highest: rare, long-kept blocks, so a walk over them all)
      let best = -1;
      let from = -1;
      for (const key in this.#ends) {
        const start = Number(key);
        const addr = Math.floor((this.#ends[start] - bytes) / align) * align;
        if (addr >= start && addr > best) [best, from] = [addr, start];
      }
      return best < 0 ? -1 : this.#take(from, best, bytes);
    }
    // Every range of a class from `sure` up holds it (but for an alignment past a line), the
    // smallest class first; the size's own class, whose ranges may be shorter, is looked through last.
    const own = sizeClass(bytes);
    const sure = 2 ** own === bytes ? own : own + 1;
    for (let k = sure; k < this.#bins.length; k++) {
      if (this.#live[k] === 0) continue;
      const addr = this.#fitIn(k, bytes, align);
      if (addr >= 0) return addr;
    }
    return sure > own && this.#live[own] > 0 ? this.#fitIn(own, bytes, align) : -1;
  }

  /** The block taken from a range of bin k (the newest first), or -1; entries of ranges gone are dropped on the way. */
  #fitIn(k: number, bytes: number, align: number): number {
    const bin = this.#bins[k];
    for (let i = bin.length - 1; i >= 0; i--) {
      const start = bin[i];
      if (!this.#inBin(start, k)) {
        dropAt(bin, i);
        continue;
      }
      const addr = Math.ceil(start / align) * align;
      if (addr + bytes > this.#ends[start]) continue;
      dropAt(bin, i);
      return this.#take(start, addr, bytes);
    }
    return -1;
  }

  /** Takes [addr, addr + bytes) (in whole lines, but for a block that ends where the arena does) out of the free range from `start`. */
  #take(start: number, addr: number, bytes: number): number {
    const end = this.#ends[start];
    const to = Math.min(addr + Math.ceil(bytes / LINE) * LINE, end);
    this.#remove(start);
    if (start < addr) this.#add(start, addr);
    if (to < end) this.#add(to, end);
    this.#used[addr] = to;
    return addr;
  }

  #add(start: number, end: number): void {
    this.#ends[start] = end;
    this.#starts[end] = start;
    const k = sizeClass(end - start);
    const bin = this.#bins[k];
    bin.push(start);
    this.#live[k]++;
    // (more entries of ranges gone than live ones: swept, so that a bin does not grow for good)
    if (bin.length > 2 * this.#live[k] + 16) {
      const kept = new Set(bin.filter((s) => this.#inBin(s, k)));
      bin.length = 0;
      bin.push(...kept);
    }
  }

  /** Whether a free range starts at `start`, of size class k (a bin's entry for it is live). */
  #inBin(start: number, k: number): boolean {
    const end = this.#ends[start];
    return end !== undefined && sizeClass(end - start) === k;
  }

  /** Takes the free range from `start` out (an entry of its bin may stay, to be dropped where met). */
  #remove(start: number): void {
    const end = this.#ends[start];
    delete this.#ends[start];
    delete this.#starts[end];
    this.#live[sizeClass(end - start)]--;
  }

  /** The ranges no block holds now, in address order. */
  freeRanges(): ReadonlyArray<readonly [start: number, end: number]> {
    return Object.keys(this.#ends).map(Number).sort((a, b) => a - b).map((s) => [s, this.#ends[s]] as const);
  }

  /** Whether a block starts at addr. */
  holds(addr: number): boolean {
    return this.#used[addr] !== undefined;
  }

  /** The bytes of the block at addr (whole lines, as taken); throws as free() does where no block starts. */
  blockBytes(addr: number): number {
    const end = this.#used[addr];
    if (end === undefined) throw Errors.badFree(addr);
    return end - addr;
  }

  free(addr: number): void {
    let end = this.#used[addr];
    if (end === undefined) throw Errors.badFree(addr);
    delete this.#used[addr];
    let start = addr;
    // Joined with the free ranges on either side.
    const before = this.#starts[start];
    if (before !== undefined) {
      this.#remove(before);
      start = before;
    }
    const after = this.#ends[end];
    if (after !== undefined) {
      this.#remove(end);
      end = after;
    }
    this.#add(start, end);
  }
}

/** Drops bin[i], swapped with the last entry (which a walk from the end has seen already). */
function dropAt(bin: number[], i: number): void {
  bin[i] = bin[bin.length - 1];
  bin.pop();
}

/** The size class of a free range of `n` bytes (n < 2^33): floor(log2(n)). */
function sizeClass(n: number): number {
  return n < 2 ** 32 ? 31 - Math.clz32(n) : 32;
}
