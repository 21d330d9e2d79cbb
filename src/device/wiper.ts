// Zeroes the blocks the device used for its own work as they go back to the arena, a few
// slices per event-loop turn: an abort storm gave back hundreds of MiB of file chunks at once,
// and zeroing them in one go held the loop for 20-40 ms (12 file calls of 256 MiB aborted together).
//
//   release(addr, n) --> n <= SLICE: zeroed and freed now
//                    \-> queue: [ block | block | ... ]  -- TURN_BYTES a timer turn --> freed once zeroed
//
// A queued block stays allocated until it is zeroed, so nothing hands its bytes out first;
// an allocation that finds no room finishes the queue at once (flush).
import { setTimeout } from './timers.ts';

/** Bytes zeroed at a time (about 0.1 ms), and the most a release zeroes at once. */
export const WIPE_SLICE = 1 << 20;
/** Bytes zeroed a turn. */
export const TURN_BYTES = 4 * WIPE_SLICE;

interface Pending {
  addr: number;
  /** called once it is freed */
  freed: (() => void) | undefined;
  /** next byte to zero */
  at: number;
  end: number;
}

export class Wiper {
  readonly #queue: Pending[] = [];
  readonly #zero: (addr: number, bytes: number) => void;
  readonly #free: (addr: number) => void;
  #scheduled = false;

  /** `zero`: zeroes bytes of the arena; `free`: gives a zeroed block back. */
  constructor(zero: (addr: number, bytes: number) => void, free: (addr: number) => void) {
    this.#zero = zero;
    this.#free = free;
  }

  /** Zeroes [addr, addr + bytes), then frees the block at addr (and calls `freed`): now when it is one slice or less, else over turns. */
  release(addr: number, bytes: number, freed?: () => void): void {
    if (bytes <= WIPE_SLICE) {
      if (bytes > 0) this.#zero(addr, bytes);
      this.#free(addr);
      freed?.();
      return;
    }
    this.#queue.push({ addr, freed, at: addr, end: addr + bytes });
    this.#schedule();
  }

  /** Whether the block at addr waits to be zeroed (it is not the program's to free). */
  has(addr: number): boolean {
    return this.#queue.some((p) => p.addr === addr);
  }

  /** Zeroes and frees every queued block now; true when there was one (an allocation found no room). */
  flush(): boolean {
    const had = this.#queue.length > 0;
    while (this.#queue.length > 0) this.#finish(this.#queue.shift()!, Infinity);
    return had;
  }

  readonly #turn = (): void => {
    this.#scheduled = false;
    let budget = TURN_BYTES;
    while (budget > 0 && this.#queue.length > 0) {
      const p = this.#queue[0];
      budget -= this.#finish(p, Math.min(budget, WIPE_SLICE));
      if (p.at === p.end) this.#queue.shift();
    }
    this.#schedule();
  };

  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    // A timer, unref'd: a program whose work is done exits without waiting for its blocks to be
    // zeroed (not while a caller awaits one, a reclaim()), and one whose loop waits on something
    // else has them zeroed meanwhile (an unref'd immediate ran only when the loop woke for other work).
    const turn = setTimeout(this.#turn, 0);
    if (!this.#queue.some((p) => p.freed !== undefined)) turn.unref();
  }

  /** Zeroes up to `most` bytes of p, and frees it once all are: the bytes zeroed. */
  #finish(p: Pending, most: number): number {
    const n = Math.min(most, p.end - p.at);
    this.#zero(p.at, n);
    p.at += n;
    if (p.at === p.end) {
      this.#free(p.addr);
      p.freed?.();
    }
    return n;
  }
}
