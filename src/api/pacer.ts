// Calls that settle without a turn of the event loop (inline calls, and lone descriptors the
// submitter spun for) resolve their promises as microtasks: a loop that awaits them one after
// another never gives the event loop a turn. Its timers and I/O then wait, and so do the
// engines of a device still starting (each start step takes a turn): such a loop stayed on the
// main thread, inline, for as long as it ran (5 s of awaited memcpy/crc32c calls, no turn).
// So a result is held for one turn (setImmediate) once the loop has gone HOG_MS without one,
// and so is every result after it until the turn comes, when all are given at once: a pool of
// calls, each started as another settles (Promise.race over 64 in flight), went on through the
// others' results when only one was held, for seconds. The clock is read every call at first,
// then at most every CHECK_CALLS calls or CHECK_BYTES bytes while calls come that fast: a
// fixed 256 calls between reads gave a loop doing 2 ms of its own work a call no turn at all
// (half a second between reads; the watch began with the first read).
import { performance, setImmediate } from '../device/timers.ts';

/** Without a turn for this long, results wait for one. */
const HOG_MS = 5;
const CHECK_CALLS = 256;
const CHECK_BYTES = 4 << 20;

export class Pacer {
  #calls = 0;
  #bytes = 0;
  /** calls between reads of the clock now: doubles while they pass in well under HOG_MS, 1 again when not */
  #every = 1;
  /** when the clock was last read, or -1 */
  #read = -1;
  /** when the watch began (a turn is pending), or -1: none pending */
  #since = -1;
  /** the watch's immediate: the turn */
  #turn: NodeJS.Immediate | null = null;
  /** the loop went too long without a turn, and it has not come yet: every result waits for it, here */
  #held: Array<() => void> | null = null;
  readonly #turned = (): void => {
    this.#since = -1;
    this.#turn = null;
    const held = this.#held;
    this.#held = null;
    // All at once, in the turn: released one by one, the first's caller ran on for another 5 ms
    // while the rest waited, and each Promise.race of a pool added a reaction to every one.
    if (held !== null) for (const release of held) release();
  };

  /** `value` now, or a promise of it after a turn of the event loop when the loop has gone too long without one. */
  pace<T>(value: T, bytes: number): T | Promise<T> {
    if (this.#held !== null) return this.#hold(value);
    this.#bytes += bytes;
    if (++this.#calls < this.#every && this.#bytes < CHECK_BYTES) return value;
    const now = performance.now();
    this.#every = this.#read >= 0 && now - this.#read < HOG_MS / 8 ? Math.min(CHECK_CALLS, this.#every * 2) : 1;
    this.#read = now;
    this.#calls = 0;
    this.#bytes = 0;
    if (this.#since < 0) {
      // Watch this turn: the immediate runs when the loop next turns. Unref'd: it only watches,
      // and must not keep a program that is done alive for a turn (the default device's deferred
      // open would run in it, and start engines for a process about to exit).
      this.#since = now;
      this.#turn = setImmediate(this.#turned).unref();
      return value;
    }
    if (now - this.#since < HOG_MS) return value;
    this.#held = [];
    this.#turn?.ref(); // (a result it holds keeps the program alive until given)
    return this.#hold(value);
  }

  #hold<T>(value: T): Promise<T> {
    return new Promise((resolve) => this.#held!.push(() => resolve(value)));
  }
}
