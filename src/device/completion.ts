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
// and virtio event indexes. It arms it for a number of its completions (the armed
// word counts them down; the last one signals): a call split into 8 pieces settles
// only when all are done, and its submitter sleeps through the first 7.
import type { EventFdAddon, EventFdHandle } from './eventfd.ts';
import { Ctx } from './format.ts';
import { threadGone as tidGone, TID } from './host.ts';
import { ENGINE_BYTES, Eng, type Layout, MAX_VECTORS, VECTOR_WORDS, Vec } from './layout.ts';
import { WorkQueue } from './work_queue.ts';
import { clearInterval, performance, setInterval } from './timers.ts';

/** Set in a vector's in-use word while a gone thread's vector is being released (above the epoch bits). */
const RECLAIMING = 0x1000000;

/** How often /proc is asked again whether a token's thread has ended (per token). */
const GONE_RECHECK_MS = 5;

export class Vectors {
  readonly #w: Int32Array;
  /**
   * the device context's interrupt-handle mask (u64 as two words): bit v set while vector v is
   * claimed; #copies: the same mask in the other WQs' contexts (each WQ's descriptors run under its own)
   */
  readonly #handles: Int32Array;
  readonly #copies: Int32Array[];
  /** the engines' blocks: each one's RCI marks (Eng.IRQ) */
  readonly #irqs: Int32Array;
  readonly #addon: () => EventFdAddon | null;
  readonly #memory: WebAssembly.Memory;
  readonly #layout: Layout;
  /**
   * What /proc said of each owner token's thread (threadGone). Per token, not per thread id: once a
   * thread is gone its id may be given to a new thread, whose token differs. And per device: tokens
   * are a device's (vector + epoch), and the same token of another device (a program that opens
   * devices one after another) named another thread, perhaps under a reused id: a cache shared by a
   * thread's devices could take a live submitter for gone (its half-written slot then skipped).
   */
  readonly #gone = new Map<number, { tid: number; gone: boolean; at: number }>();
  #wqs: WorkQueue[] | null = null;

  /** `addon`: the eventfd addon, none, or how to get it when first needed (loading it costs 1-3 ms). */
  constructor(memory: WebAssembly.Memory, layout: Layout, addon: EventFdAddon | null | (() => EventFdAddon | null)) {
    const buf = memory.buffer as unknown as SharedArrayBuffer;
    this.#w = new Int32Array(buf, layout.vectors, MAX_VECTORS * VECTOR_WORDS);
    this.#handles = new Int32Array(buf, layout.ctx + Ctx.INT_HANDLES, 2);
    this.#irqs = new Int32Array(buf, layout.engines, (ENGINE_BYTES / 4) * layout.engineCount);
    this.#copies = layout.wqs.filter((w) => w.ctx !== layout.ctx).map((w) => new Int32Array(buf, w.ctx + Ctx.INT_HANDLES, 2));
    this.#addon = typeof addon === 'function' ? addon : () => addon;
    this.#memory = memory;
    this.#layout = layout;
  }

  /** Raises vector v: always, as RCI asks. */
  signal(v: number): void {
    const w = this.#w;
    const base = v * VECTOR_WORDS;
    Atomics.add(w, base + Vec.COUNT, 1);
    Atomics.notify(w, base + Vec.COUNT);
    const fd = Atomics.load(w, base + Vec.FD);
    const addon = fd >= 0 ? this.#addon() : null;
    if (addon !== null) {
      try {
        addon.signal(fd);
      } catch {
        // The owner closed its fd after we read the number (the addon writes only to its own
        // live eventfds): the counter bump above stands, and the owner no longer listens.
      }
    }
  }

  /**
   * One of the owner's descriptors completed: if the owner armed vector v (is waiting), counts
   * the completion, and raises (and disarms) it at the last of those it armed it for.
   */
  signalIfArmed(v: number): void {
    const w = this.#w;
    const i = v * VECTOR_WORDS + Vec.ARMED;
    for (let k = Atomics.load(w, i); k > 0; k = Atomics.load(w, i)) {
      if (Atomics.compareExchange(w, i, k, k - 1) !== k) continue;
      if (k === 1) this.signal(v);
      return;
    }
  }

  /**
   * Takes a free vector, or -1. Vector 0 is the device's. The in-use word counts claims
   * (2 * epoch, +1 while in use), so a descriptor's owner token (vector + epoch) tells
   * whether the thread that submitted it is still there to reap it. A claimed vector is a
   * valid interrupt handle (its bit in the device context). Vectors of threads that ended
   * without giving them back (terminate() runs no exit handler) are taken back first.
   */
  claim(from = 1): number {
    if (from > 0) this.reclaimGone();
    for (let v = from; v < MAX_VECTORS; v++) {
      const i = v * VECTOR_WORDS + Vec.IN_USE;
      const word = Atomics.load(this.#w, i);
      if ((word & 1) !== 0 || (v > 0 && this.#mayBeRaised(v))) continue;
      if (Atomics.compareExchange(this.#w, i, word, word + 1) === word) {
        Atomics.store(this.#w, v * VECTOR_WORDS + Vec.FD, -1);
        Atomics.store(this.#w, v * VECTOR_WORDS + Vec.ARMED, 0);
        Atomics.store(this.#w, v * VECTOR_WORDS + Vec.TID, TID);
        this.#setHandle(v, true);
        return v;
      }
    }
    return -1;
  }

  /**
   * Whether vector v may yet be raised for its last owner, so that handing it out now would give
   * the new owner those interrupts: an engine has marked it (RCI of a descriptor it completed) and
   * not raised it yet, or a descriptor still queued was submitted from it or asks for it by RCI.
   * (Such an RCI finds it given back: invalid, 0x19, as a revoked handle.)
   */
  #mayBeRaised(v: number): boolean {
    const m = this.#irqs;
    for (let e = 0; e < this.#layout.engineCount; e++) if ((Atomics.load(m, e * (ENGINE_BYTES / 4) + Eng.IRQ / 4 + (v >> 5)) >>> (v & 31)) & 1) return true;
    return (this.#wqs ??= WorkQueue.all(this.#memory, this.#layout)).some((wq) => wq.mayRaise(v));
  }

  /** Takes back the vectors of threads that have ended without giving them back. */
  reclaimGone(): void {
    for (let v = 1; v < MAX_VECTORS; v++) this.isLive(this.owner(v));
  }

  /** Gives vector v back: no longer a valid handle, its fd number out of shared memory. */
  release(v: number): void {
    const i = v * VECTOR_WORDS + Vec.IN_USE;
    this.#setHandle(v, false);
    Atomics.store(this.#w, v * VECTOR_WORDS + Vec.FD, -1);
    // (a later claim stores its TID after it takes the vector: until then 0, which reads as live, not the old thread's)
    Atomics.store(this.#w, v * VECTOR_WORDS + Vec.TID, 0);
    const word = Atomics.load(this.#w, i);
    if ((word & 1) !== 0) Atomics.store(this.#w, i, (word + 1) & 0xffffff);
  }

  /** Marks handle v valid (or not) in every context descriptors run under. */
  #setHandle(v: number, valid: boolean): void {
    for (const mask of [this.#handles, ...this.#copies]) {
      if (valid) Atomics.or(mask, v >> 5, 1 << (v & 31));
      else Atomics.and(mask, v >> 5, ~(1 << (v & 31)));
    }
  }

  /** True while handle h is allocated (descriptors naming another get 0x19). */
  isHandle(h: number): boolean {
    return h >= 0 && h < MAX_VECTORS && (Atomics.load(this.#handles, h >> 5) & (1 << (h & 31))) !== 0;
  }

  /** The owner token of a claimed vector: what a submitter stamps on its slots. */
  owner(v: number): number {
    return v | ((Atomics.load(this.#w, v * VECTOR_WORDS + Vec.IN_USE) >>> 1) << 8);
  }

  /** False once vector v's thread has gone (the vector is then taken back): see isLive. */
  vectorLive(v: number): boolean {
    return this.isLive(this.owner(v));
  }

  /**
   * False once the thread behind an owner token has gone: it released its vector (on exit
   * too), or the vector was claimed again, or, on Linux, the thread no longer exists. That
   * last case is a worker stopped by terminate(), which runs no exit handler: its vector is
   * released here (after recycling any queue slot it had reserved and not published), so
   * the finished slots it left are reclaimed instead of jamming the queue.
   * (A thread id reused by a new thread can only make a gone thread look alive: a leak, never
   * a live thread's slots taken.)
   */
  isLive(owner: number): boolean {
    const v = owner & 0xff;
    const i = v * VECTOR_WORDS + Vec.IN_USE;
    const word = Atomics.load(this.#w, i);
    if ((word & 1) === 0 || word >>> 1 !== owner >>> 8) return false;
    const tid = Atomics.load(this.#w, v * VECTOR_WORDS + Vec.TID);
    if (tid === 0 || tid === TID || !this.#threadGone(owner, tid)) return true;
    // (the vector changed hands while /proc was asked: not the thread that was asked about)
    if (Atomics.load(this.#w, i) !== word || Atomics.load(this.#w, v * VECTOR_WORDS + Vec.TID) !== tid) return this.isLive(owner);
    // One thread releases it: the RECLAIMING bit keeps it claimed (odd) while the fd is cleared
    // and its reservations are swept, so neither can touch a new owner's.
    if (Atomics.compareExchange(this.#w, i, word, word | RECLAIMING) === word) {
      this.#wqs ??= WorkQueue.all(this.#memory, this.#layout);
      for (const wq of this.#wqs) wq.sweepReservations(v);
      this.#setHandle(v, false);
      Atomics.store(this.#w, v * VECTOR_WORDS + Vec.FD, -1);
      Atomics.store(this.#w, v * VECTOR_WORDS + Vec.ARMED, 0);
      Atomics.store(this.#w, v * VECTOR_WORDS + Vec.TID, 0);
      Atomics.store(this.#w, i, (word + 1) & 0xffffff);
    }
    return false;
  }

  /** Whether the thread `tid` behind owner token `owner` has ended, asked of /proc at most every GONE_RECHECK_MS per token. */
  #threadGone(owner: number, tid: number): boolean {
    const now = performance.now();
    let seen = this.#gone.get(owner);
    if (seen === undefined || seen.tid !== tid || (!seen.gone && now - seen.at > GONE_RECHECK_MS)) {
      seen = { tid, gone: tidGone(tid), at: now };
      this.#gone.set(owner, seen);
    }
    return seen.gone;
  }

  /** Every claimed vector (the closing device wakes their owners). */
  claimed(): number[] {
    const out: number[] = [];
    for (let v = 0; v < MAX_VECTORS; v++) if ((Atomics.load(this.#w, v * VECTOR_WORDS + Vec.IN_USE) & 1) !== 0) out.push(v);
    return out;
  }

  setFd(v: number, fd: number): void {
    Atomics.store(this.#w, v * VECTOR_WORDS + Vec.FD, fd);
  }

  /** Arms vector v for the owner's next `completions` completions (the last signals it). */
  arm(v: number, completions = 1): void {
    Atomics.store(this.#w, v * VECTOR_WORDS + Vec.ARMED, completions);
  }

  /** An armed vector v signals after at most `completions` more (a disarmed one stays so). */
  lower(v: number, completions: number): void {
    const w = this.#w;
    const i = v * VECTOR_WORDS + Vec.ARMED;
    for (let k = Atomics.load(w, i); k > completions; k = Atomics.load(w, i)) if (Atomics.compareExchange(w, i, k, completions) === k) return;
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
 * the addon is built, else Atomics.waitAsync. While `ref()`'d it keeps the process alive
 * (a pending waitAsync does not, so the Atomics path holds a timer); `unref()` when
 * nothing is in flight.
 *
 * `onSignal` runs on the event loop once per wake-up in which the vector's counter moved:
 * a real signal. The safety nets (a 50 ms timer while ref'd, the Atomics wait's timeout)
 * only look at the counter; they call `onSignal` for a signal whose wake-up went missing,
 * never for nothing. `onCheck`, when given, runs on every wake, signalled or not: the
 * portal re-polls its queue there (a completion can be missed by a wake-up, never by a poll).
 */
export class Interrupt {
  readonly vector: number;
  readonly #vectors: Vectors;
  readonly #efd: EventFdHandle | null;
  readonly #onSignal: () => void;
  readonly #onCheck: (() => void) | null;
  #keepAlive: NodeJS.Timeout | null = null;
  #waiting = false;
  #closed = false;
  /** the counter value last delivered to onSignal */
  #seen: number;

  constructor(vectors: Vectors, vector: number, addon: EventFdAddon | null, onSignal: () => void, onCheck?: () => void) {
    this.vector = vector;
    this.#vectors = vectors;
    this.#onSignal = onSignal;
    this.#onCheck = onCheck ?? null;
    this.#seen = vectors.count(vector);
    this.#efd = addon === null ? null : new addon.EventFd();
    if (this.#efd !== null) {
      vectors.setFd(vector, this.#efd.fd);
      this.#efd.start(() => this.#wake());
      this.#efd.unref();
    }
  }

  get path(): 'eventfd' | 'atomics' {
    return this.#efd === null ? 'atomics' : 'eventfd';
  }

  /**
   * Arms the vector for the next `completions` completions of the owner's descriptors (1: the
   * next signal) and waits; onSignal runs once then. Already waiting: waits for at most that many.
   */
  wait(completions = 1): void {
    if (this.#closed || completions < 1) return; // (armed for 0, it would wait disarmed)
    if (this.#waiting) return this.#vectors.lower(this.vector, completions);
    this.#waiting = true;
    this.#vectors.arm(this.vector, completions);
    if (this.#efd === null) this.#waitAtomics();
  }

  #waitAtomics(): void {
    void this.#vectors.waitAsync(this.vector, this.#seen, 1000).then(() => this.#wake());
  }

  /** A wake-up from the fd, the Atomics wait or a safety net: deliver a signal if there was one. */
  #wake(): void {
    if (!this.#waiting || this.#closed) return;
    const count = this.#vectors.count(this.vector);
    if (count !== this.#seen) {
      this.#seen = count;
      this.#waiting = false;
      this.#onSignal();
    } else if (this.#onCheck !== null) {
      this.#waiting = false;
      this.#onCheck();
    } else if (this.#efd === null) {
      this.#waitAtomics(); // timed out with nothing signalled: wait on
    }
  }

  ref(): void {
    if (this.#efd !== null) this.#efd.ref();
    if (this.#keepAlive === null) this.#keepAlive = setInterval(this.#tick, 50); // also a safety net
    this.#keepAlive.ref();
  }

  // The timer is unref'd, not cleared: a lone awaited call refs and unrefs once a call, and
  // making and clearing an interval each time cost it ~8% of its main-thread time. An idle
  // interface's timer goes at its next tick.
  unref(): void {
    if (this.#efd !== null) this.#efd.unref();
    this.#keepAlive?.unref();
  }

  readonly #tick = (): void => {
    if (this.#keepAlive?.hasRef() === true) return this.#wake();
    clearInterval(this.#keepAlive ?? undefined);
    this.#keepAlive = null;
  };

  close(): void {
    if (this.#closed) return;
    this.unref();
    clearInterval(this.#keepAlive ?? undefined);
    this.#keepAlive = null;
    this.#closed = true;
    this.#vectors.disarm(this.vector);
    // The fd number leaves shared memory first; an engine that read it just before writes to a
    // closed eventfd, which the addon refuses (it writes only to its own live eventfds).
    this.#vectors.release(this.vector);
    this.#efd?.close();
  }
}
