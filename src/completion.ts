// Completions: interrupt vectors and the two ways a thread waits on one.
//
// A vector is a few words in shared memory: a counter, an "armed" flag, an event fd,
// an in-use flag and the owner's thread id. Interrupt handle h (descriptor @36, flag RCI) is vector h;
// every submitting thread owns one too, and handle 0 is the device's own.
//
// The engine signals a vector by bumping its counter (Atomics.notify wakes an
// Atomics waiter) and writing its event fd (libuv wakes the owner's event loop).
// A submitter arms its vector only when it is about to sleep, so a busy device
// makes no system call per completion: the interrupt-suppression trick of NVMe
// and virtio event indexes.
import { existsSync, readlinkSync } from 'node:fs';
import type { EventFdAddon, EventFdHandle } from './eventfd.ts';
import { type Layout, MAX_VECTORS, VECTOR_WORDS, Vec } from './layout.ts';

/** This thread's Linux thread id (every worker loads this module anew), or 0 without /proc. */
const TID = ((): number => {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop()) || 0;
  } catch {
    return 0;
  }
})();

/** Set in a vector's in-use word while a gone thread's vector is being released (above the epoch bits). */
const RECLAIMING = 0x1000000;

/**
 * Whether the thread `tid` behind owner token `owner` has ended, asked of /proc at most every
 * 5 ms per token. Remembered per token, not per thread id: once a thread is gone its id may be
 * given to a new thread, whose token differs.
 */
const GONE_RECHECK_MS = 5;
const goneSeen = new Map<number, { tid: number; gone: boolean; at: number }>();
function threadGone(owner: number, tid: number): boolean {
  const now = performance.now();
  let seen = goneSeen.get(owner);
  if (seen === undefined || seen.tid !== tid || (!seen.gone && now - seen.at > GONE_RECHECK_MS)) {
    seen = { tid, gone: !existsSync(`/proc/self/task/${tid}`), at: now };
    goneSeen.set(owner, seen);
  }
  return seen.gone;
}

export class Vectors {
  readonly #w: Int32Array;
  readonly #addon: EventFdAddon | null;

  constructor(memory: WebAssembly.Memory, layout: Layout, addon: EventFdAddon | null) {
    this.#w = new Int32Array(memory.buffer as unknown as SharedArrayBuffer, layout.vectors, MAX_VECTORS * VECTOR_WORDS);
    this.#addon = addon;
  }

  /** Raises vector v: always, as RCI asks. */
  signal(v: number): void {
    const w = this.#w;
    const base = v * VECTOR_WORDS;
    Atomics.add(w, base + Vec.COUNT, 1);
    Atomics.notify(w, base + Vec.COUNT);
    const fd = Atomics.load(w, base + Vec.FD);
    if (fd >= 0 && this.#addon !== null) {
      try {
        this.#addon.signal(fd);
      } catch {
        // The owner closed its fd after we read the number, or the number no longer names an
        // eventfd (the addon refuses to write to anything else): the counter bump above stands.
      }
    }
  }

  /** Raises vector v only if its owner armed it (is waiting), and disarms it. */
  signalIfArmed(v: number): void {
    const i = v * VECTOR_WORDS + Vec.ARMED;
    if (Atomics.load(this.#w, i) !== 0 && Atomics.exchange(this.#w, i, 0) !== 0) this.signal(v);
  }

  /**
   * Takes a free vector, or -1. Vector 0 is the device's. The in-use word counts claims
   * (2 * epoch, +1 while in use), so a descriptor's owner token (vector + epoch) tells
   * whether the thread that submitted it is still there to reap it.
   */
  claim(from = 1): number {
    for (let v = from; v < MAX_VECTORS; v++) {
      const i = v * VECTOR_WORDS + Vec.IN_USE;
      const word = Atomics.load(this.#w, i);
      if ((word & 1) === 0 && Atomics.compareExchange(this.#w, i, word, word + 1) === word) {
        Atomics.store(this.#w, v * VECTOR_WORDS + Vec.FD, -1);
        Atomics.store(this.#w, v * VECTOR_WORDS + Vec.ARMED, 0);
        Atomics.store(this.#w, v * VECTOR_WORDS + Vec.TID, TID);
        return v;
      }
    }
    return -1;
  }

  release(v: number): void {
    const i = v * VECTOR_WORDS + Vec.IN_USE;
    Atomics.store(this.#w, v * VECTOR_WORDS + Vec.FD, -1);
    const word = Atomics.load(this.#w, i);
    if ((word & 1) !== 0) Atomics.store(this.#w, i, (word + 1) & 0xffffff);
  }

  /** The owner token of a claimed vector: what a submitter stamps on its slots. */
  owner(v: number): number {
    return v | ((Atomics.load(this.#w, v * VECTOR_WORDS + Vec.IN_USE) >>> 1) << 8);
  }

  /**
   * False once the thread behind an owner token has gone: it released its vector (on exit
   * too), or the vector was claimed again, or, on Linux, the thread no longer exists. That
   * last case is a worker stopped by terminate(), which runs no exit handler: its vector is
   * released here, so the finished slots it left are reclaimed instead of jamming the queue.
   * (A thread id reused by a new thread can only make a gone thread look alive: a leak, never
   * a live thread's slots taken.)
   */
  isLive(owner: number): boolean {
    const v = owner & 0xff;
    const i = v * VECTOR_WORDS + Vec.IN_USE;
    const word = Atomics.load(this.#w, i);
    if ((word & 1) === 0 || word >>> 1 !== owner >>> 8) return false;
    const tid = Atomics.load(this.#w, v * VECTOR_WORDS + Vec.TID);
    if (tid === 0 || tid === TID || !threadGone(owner, tid)) return true;
    // One thread releases it: the RECLAIMING bit keeps it claimed (odd) while the fd is cleared,
    // so a new owner's fd can never be overwritten.
    if (Atomics.compareExchange(this.#w, i, word, word | RECLAIMING) === word) {
      Atomics.store(this.#w, v * VECTOR_WORDS + Vec.FD, -1);
      Atomics.store(this.#w, v * VECTOR_WORDS + Vec.ARMED, 0);
      Atomics.store(this.#w, i, (word + 1) & 0xffffff);
    }
    return false;
  }

  setFd(v: number, fd: number): void {
    Atomics.store(this.#w, v * VECTOR_WORDS + Vec.FD, fd);
  }

  arm(v: number): void {
    Atomics.store(this.#w, v * VECTOR_WORDS + Vec.ARMED, 1);
  }

  disarm(v: number): void {
    Atomics.store(this.#w, v * VECTOR_WORDS + Vec.ARMED, 0);
  }

  count(v: number): number {
    return Atomics.load(this.#w, v * VECTOR_WORDS + Vec.COUNT);
  }

  /** Resolves when vector v's counter moves from `seen` (Atomics path) or after timeoutMs. */
  waitAsync(v: number, seen: number, timeoutMs: number): Promise<unknown> {
    const r = Atomics.waitAsync(this.#w, v * VECTOR_WORDS + Vec.COUNT, seen, timeoutMs);
    return r.async ? r.value : Promise.resolve(r.value);
  }
}

/**
 * The waiting side of one vector on one thread: an event fd watched by libuv where
 * the addon is built, else Atomics.waitAsync. `onSignal` runs on the event loop.
 * While `ref()`'d it keeps the process alive (a pending waitAsync does not, so the
 * Atomics path holds a timer); `unref()` when nothing is in flight.
 */
export class Interrupt {
  readonly vector: number;
  readonly #vectors: Vectors;
  readonly #efd: EventFdHandle | null;
  readonly #onSignal: () => void;
  #keepAlive: NodeJS.Timeout | null = null;
  #waiting = false;
  #closed = false;

  constructor(vectors: Vectors, vector: number, addon: EventFdAddon | null, onSignal: () => void) {
    this.vector = vector;
    this.#vectors = vectors;
    this.#onSignal = onSignal;
    this.#efd = addon === null ? null : new addon.EventFd();
    if (this.#efd !== null) {
      vectors.setFd(vector, this.#efd.fd);
      this.#efd.start(() => this.#fire());
      this.#efd.unref();
    }
  }

  get path(): 'eventfd' | 'atomics' {
    return this.#efd === null ? 'atomics' : 'eventfd';
  }

  /** Arms the vector and waits for the next signal; onSignal runs once then. */
  wait(): void {
    if (this.#closed || this.#waiting) return;
    this.#waiting = true;
    if (this.#efd === null) {
      const seen = this.#vectors.count(this.vector);
      this.#vectors.arm(this.vector);
      void this.#vectors.waitAsync(this.vector, seen, 1000).then(() => this.#fire());
    } else {
      this.#vectors.arm(this.vector);
    }
  }

  #fire(): void {
    if (!this.#waiting || this.#closed) return;
    this.#waiting = false;
    this.#onSignal();
  }

  ref(): void {
    if (this.#efd !== null) this.#efd.ref();
    if (this.#keepAlive === null) this.#keepAlive = setInterval(() => this.#fire(), 50); // also a safety net
    this.#keepAlive.ref();
  }

  unref(): void {
    if (this.#efd !== null) this.#efd.unref();
    if (this.#keepAlive !== null) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = null;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.unref();
    this.#closed = true;
    this.#vectors.disarm(this.vector);
    this.#vectors.release(this.vector); // the fd number leaves shared memory first
    // An engine may have read the number just before: close a little later, so that its
    // write cannot land in a file that reuses the number.
    const efd = this.#efd;
    if (efd !== null) setTimeout(() => efd.close(), 20).unref();
  }
}
