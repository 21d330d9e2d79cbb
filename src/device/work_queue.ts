// A work queue: a ring of 64-byte descriptor slots in the device's shared memory.
//
// It is a bounded multi-producer, multi-consumer queue in the manner of Vyukov's:
// each slot has a sequence word that names the lap (position) it is on and its state,
// so submitters and engines agree on every slot without a lock.
//
//            head: engines claim here            tail: submitters push here
//               v                                  v
//   +-------+-------+-------+-------+-------+-------+-------+-------+
//   | DONE  |CLAIMED|CLAIMED|  PUB  |  PUB  |  PUB  | FREE  | DONE  |   size = 2^n slots
//   +-------+-------+-------+-------+-------+-------+-------+-------+
//       ^ the submitter of a DONE slot reaps its status, then frees the slot for the
//         next lap. A slot is only reused once its submitter has seen the result, so
//         a full queue is back-pressure from unreaped work, as with DPDK's completed().
//
//   seq = (pos << 8) | state      state: FREE 0, PUB 1, DONE 2, ABORTING 3,
//                                        CLAIMED 16 + engine, RESERVED 128 + vector
//
// A submitter takes a slot by one CAS of its sequence word (FREE -> RESERVED, naming its
// vector), then moves the tail (anyone who sees the reservation helps), copies the
// descriptor and publishes it by CAS (RESERVED -> PUB). Nothing in between can throw (the
// descriptor was checked and staged before), and a thread that ends in between (terminate() stops JS anywhere)
// leaves a reservation that names it: once its thread is gone, the slot is skipped
// (recycled for the next lap) instead of blocking every later descriptor.
// The engine's number inside CLAIMED is what lets the supervisor finish, exactly once,
// the descriptors an engine held when it died. Positions wrap at 2^32; only equality
// of sequence words is ever tested, so the wrap is harmless (size divides 2^24).
import { Desc, Flag, Limit, Opcode, PasidWord } from './format.ts';
import { type Layout, SLOT_WORDS, WqWord } from './layout.ts';
import { performance } from './timers.ts';

export const FREE = 0;
export const PUB = 1;
export const DONE = 2;
/** PUB taken by the device's closing sweep (or the submitter itself) to finish unrun. */
export const ABORTING = 3;
export const CLAIMED = 16;
export const RESERVED = 128;

/** How long a reservation whose thread has ended stands before claimers skip it (see claim). */
const DEAD_RESERVATION_MS = 50;

const seqOf = (pos: number, state: number): number => (pos << 8) | state;
const popcount = (x: number): number => {
  let n = 0;
  for (let b = x; b !== 0; b &= b - 1) n++;
  return n;
};
/** The next lap's FREE word for the slot whose word is seq. */
const nextLap = (seq: number, size: number): number => (((seq >>> 8) + size) << 8) | FREE;

export class WorkQueue {
  readonly size: number;
  readonly mask: number;
  /** index in layout.wqs */
  readonly index: number;
  /** the device context (its limits) the WQ's descriptors run under */
  readonly ctx: number;
  readonly #words: Int32Array; // header words
  /** the group's doorbell, spinner and turn words (this header's own for a group's first WQ) */
  readonly bell: Int32Array;
  readonly #states: Int32Array; // SLOT_WORDS per slot: seq, status, owner, fault tag
  readonly #bytes: Uint8Array;
  readonly #dv: DataView;
  readonly #slots: number; // byte address of slot 0
  /** refuse at this many descriptors waiting unclaimed; 0: only a full ring refuses */
  readonly #cap: number;

  constructor(memory: WebAssembly.Memory, layout: Layout, index = 0) {
    const buf = memory.buffer as unknown as SharedArrayBuffer;
    const w = layout.wqs[index];
    this.index = index;
    this.size = w.ring;
    this.mask = w.ring - 1;
    this.ctx = w.ctx;
    this.#words = new Int32Array(buf, w.header, 48);
    this.bell = w.bell === w.header ? this.#words : new Int32Array(buf, w.bell, 48);
    this.#states = new Int32Array(buf, w.states, SLOT_WORDS * w.ring);
    this.#bytes = new Uint8Array(buf);
    this.#dv = new DataView(buf);
    this.#slots = w.slots;
    this.#cap = w.cap;
  }

  /** Every WQ of the device, by index. */
  static all(memory: WebAssembly.Memory, layout: Layout): WorkQueue[] {
    return layout.wqs.map((_, i) => new WorkQueue(memory, layout, i));
  }

  /** Writes a new queue's slots free for lap 0. */
  reset(): void {
    this.#words.fill(0);
    for (let i = 0; i < this.size; i++) this.#states[i * SLOT_WORDS] = seqOf(i, FREE);
  }

  /** Byte address of the descriptor slot that holds position pos. */
  slotAddress(pos: number): number {
    return this.#slots + (pos & this.mask) * Desc.SIZE;
  }

  // ---- submitters ----

  /**
   * Claims the next position, copies the 64-byte descriptor into it and publishes it.
   * Returns the position, or -1 when the queue is full, or holds its cap of descriptors waiting
   * for an engine (a shared WQ's threshold; the ENQCMD refusal: retry later).
   * `desc` must be a Uint8Array of at least 64 bytes (the portal checks and stages it):
   * between the reservation and the publication nothing may throw. `owner` is the
   * submitter's token (low byte: its interrupt vector, signalled when it waits). A finished
   * slot whose owner is gone (`isLive` false: the thread exited without reaping) is
   * reclaimed here, so it cannot jam the queue. `tag`, when given, is asked for the slot's fault
   * tag (faults.ts) once the slot is taken, so that only descriptors that go in are matched.
   */
  push(desc: Uint8Array, owner: number, isLive?: (owner: number) => boolean, tag?: (desc: Uint8Array) => number): number {
    const words = this.#words;
    const states = this.#states;
    const size = this.size;
    let tagged = -1; // the fault tag, asked once however many reservations it takes
    for (;;) {
      const pos = Atomics.load(words, WqWord.TAIL);
      // A WQ smaller than its ring, or a shared WQ at its threshold: refused as a full one is.
      if (this.#cap !== 0 && ((pos - Atomics.load(words, WqWord.HEAD)) | 0) >= this.#cap) return -1;
      const s = (pos & this.mask) * SLOT_WORDS;
      const seq = Atomics.load(states, s);
      if (seq === seqOf(pos, FREE)) {
        const reserved = seqOf(pos, RESERVED + (owner & 0x7f));
        if (Atomics.compareExchange(states, s, seq, reserved) !== seq) continue;
        Atomics.compareExchange(words, WqWord.TAIL, pos, (pos + 1) | 0);
        if (tagged < 0) tagged = tag === undefined ? 0 : tag(desc);
        // A claimer skips a reservation whose thread it judges gone (claim): if this thread was
        // judged so while preempted here, the slot is another lap's now. Write only while the
        // reservation still stands, and publish by CAS: a late publication must never overwrite a
        // recycled slot (the queue jammed there). Lost: take a new position.
        if (Atomics.load(states, s) !== reserved) continue;
        this.#bytes.set(desc.length === Desc.SIZE ? desc : desc.subarray(0, Desc.SIZE), this.slotAddress(pos)); // (a view made only when needed: ~80 ns)
        states[s + 2] = owner;
        states[s + 3] = tagged;
        if (Atomics.compareExchange(states, s, reserved, seqOf(pos, PUB)) !== reserved) continue;
        return pos;
      }
      const lap = seq >>> 8;
      // Reserved (or even done and recycled) at pos while the tail still names it: the
      // reserving submitter has not moved the tail yet, or ended before it could. Help.
      if ((lap === (pos & 0xffffff) && (seq & 0xff) !== FREE) || lap === ((pos + size) & 0xffffff)) {
        Atomics.compareExchange(words, WqWord.TAIL, pos, (pos + 1) | 0);
        continue;
      }
      const orphan = seq === seqOf(pos - size, DONE) && isLive !== undefined && !isLive(states[s + 2]);
      if (orphan) Atomics.compareExchange(states, s, seq, seqOf(pos, FREE));
      else if (Atomics.load(words, WqWord.TAIL) === pos) return -1;
      // reclaimed, or another submitter took pos: try again
    }
  }

  /** True when the next push finds its slot free (a snapshot: other submitters may take it first). */
  hasRoom(): boolean {
    const pos = Atomics.load(this.#words, WqWord.TAIL);
    return Atomics.load(this.#states, (pos & this.mask) * SLOT_WORDS) === seqOf(pos, FREE);
  }

  /**
   * Marks (or clears) vector v as a submitter asleep for room here. While one is, the portals
   * with work of their own in flight leave the slots they free to it (othersAsleep): a thread
   * that reaped and refilled at once kept a small queue to itself, and another's one submit()
   * waited up to a second.
   */
  asleep(v: number, on: boolean): void {
    const bit = 1 << (v & 31);
    if (on) Atomics.or(this.#words, WqWord.SLEEPERS + (v >> 5), bit);
    else Atomics.and(this.#words, WqWord.SLEEPERS + (v >> 5), ~bit);
  }

  /** Sleeper word k's bits (0: vectors 0-31, 1: 32-63) less vector v's own. */
  #sleepersBut(v: number, k: number): number {
    return Atomics.load(this.#words, WqWord.SLEEPERS + k) & (v >> 5 === k ? ~(1 << (v & 31)) : -1);
  }

  /** Whether a submitter other than vector v's sleeps for room here. */
  othersAsleep(v: number): boolean {
    return this.#sleepersBut(v, 0) !== 0 || this.#sleepersBut(v, 1) !== 0;
  }

  /**
   * The slots vector v may take while others sleep for room: those free, less one for each of
   * them (a scan of the ring: only while someone sleeps). Taking them all kept the sleepers out;
   * taking none left the queue idle while they woke (the taker ran 40% slower).
   */
  roomLeftBy(v: number): number {
    const w = this.#words;
    const asleep = popcount(this.#sleepersBut(v, 0)) + popcount(this.#sleepersBut(v, 1));
    let free = 0;
    for (let i = 0; i < this.size; i++) if ((Atomics.load(this.#states, i * SLOT_WORDS) & 0xff) === FREE) free++;
    if (this.#cap !== 0) free = Math.min(free, this.#cap - ((Atomics.load(w, WqWord.TAIL) - Atomics.load(w, WqWord.HEAD)) | 0));
    return free - asleep;
  }

  /**
   * Settles once a slot is made free here (a reap, or a claim under a cap), or after ms at most:
   * the sleep of a submitter marked asleep() that found the queue full of other threads' slots. A
   * timed sleep alone cannot be short (Atomics.waitAsync under 1 ms returns at once: a busy loop
   * that took the cores those threads and the engines needed; a 4-thread storm ran 3 times
   * slower). The timeout covers room no reap announces (a dead thread's slot, reclaimed by push()).
   */
  whenRoom(ms: number): Promise<unknown> {
    const words = this.#words;
    const seen = Atomics.load(words, WqWord.ROOM);
    const pos = Atomics.load(words, WqWord.TAIL);
    // (after asleep(): a slot freed from here on moves ROOM)
    const full = !this.hasRoom() || (this.#cap !== 0 && ((pos - Atomics.load(words, WqWord.HEAD)) | 0) >= this.#cap);
    const r = full ? Atomics.waitAsync(words, WqWord.ROOM, seen, ms) : null;
    return r === null || !r.async ? Promise.resolve() : r.value;
  }

  /**
   * Wakes the submitters asleep for room, if any (two loads when none is). Called by a portal once
   * it has reaped and filled what it could of its own (waking a sleeper for the slots a reaper
   * takes back at once was a wake-up for nothing: the storm ran a third slower), and by a claim
   * under a cap.
   */
  roomMade(): void {
    const w = this.#words;
    if ((Atomics.load(w, WqWord.SLEEPERS) | Atomics.load(w, WqWord.SLEEPERS + 1)) === 0) return;
    Atomics.add(w, WqWord.ROOM, 1);
    Atomics.notify(w, WqWord.ROOM);
  }

  /** True once the engine has finished position pos (its status can be taken). */
  isDone(pos: number): boolean {
    return Atomics.load(this.#states, (pos & this.mask) * SLOT_WORDS) === seqOf(pos, DONE);
  }

  /** The status of a DONE position (before take()). */
  statusOf(pos: number): number {
    return this.#states[(pos & this.mask) * SLOT_WORDS + 1];
  }

  /** The descriptor bytes of position pos, live in the ring. */
  descriptor(pos: number): Uint8Array {
    const a = this.slotAddress(pos);
    return this.#bytes.subarray(a, a + Desc.SIZE);
  }

  /** Reaps a DONE position: returns its status and frees the slot for the next lap. */
  take(pos: number): number {
    const s = (pos & this.mask) * SLOT_WORDS;
    const status = this.#states[s + 1];
    Atomics.store(this.#states, s, seqOf(pos + this.size, FREE));
    return status;
  }

  // ---- engines ----

  /** True when the position at head is published (work is waiting). */
  hasWork(): boolean {
    const pos = Atomics.load(this.#words, WqWord.HEAD);
    return Atomics.load(this.#states, (pos & this.mask) * SLOT_WORDS) === seqOf(pos, PUB);
  }

  /**
   * Claims the oldest published position for `engine`; -1 when there is none. A position
   * reserved by a submitter whose thread is gone (`reserverLive(vector)` false) is
   * skipped: it would never be published.
   */
  claim(engine: number, reserverLive?: (vector: number) => boolean): number {
    const words = this.#words;
    const states = this.#states;
    for (;;) {
      const pos = Atomics.load(words, WqWord.HEAD);
      const s = (pos & this.mask) * SLOT_WORDS;
      const seq = Atomics.load(states, s);
      if (seq === seqOf(pos, PUB)) {
        if (Atomics.compareExchange(states, s, seq, seqOf(pos, CLAIMED + engine)) !== seq) continue;
        Atomics.compareExchange(words, WqWord.HEAD, pos, (pos + 1) | 0);
        if (this.#cap !== 0) this.roomMade(); // (a WQ under its ring's size refuses by what waits unclaimed)
        return pos;
      }
      const lap = seq >>> 8;
      const state = seq & 0xff;
      if (lap === (pos & 0xffffff) && state >= RESERVED) {
        // Being written by a submitter. Gone for good only if its thread has ended, and the
        // reservation has stood a while: a live submitter preempted between its reservation and its
        // publication (a loaded machine) whose slot was skipped publishes into the next lap's slot
        // all the same, and the queue jams there.
        if (reserverLive === undefined || reserverLive(state - RESERVED) || !this.#standing(pos)) return -1;
        this.#skip(s, seq, pos);
        continue;
      }
      // Claimed, done or even reaped at head: its claimer has not moved head yet (or
      // died before it could). Help, then retry. FREE for pos or an older lap: empty.
      if ((lap === (pos & 0xffffff) && state !== FREE) || lap === ((pos + this.size) & 0xffffff)) {
        Atomics.compareExchange(words, WqWord.HEAD, pos, (pos + 1) | 0);
        continue;
      }
      return -1;
    }
  }

  /** the reservation at head this claimer found and since when (performance.now()) */
  #reservedAt = -1;
  #reservedSince = 0;

  /** True once the reservation at pos has stood DEAD_RESERVATION_MS, as this claimer saw it. */
  #standing(pos: number): boolean {
    const now = performance.now();
    if (this.#reservedAt !== pos) {
      this.#reservedAt = pos;
      this.#reservedSince = now;
    }
    return now - this.#reservedSince >= DEAD_RESERVATION_MS;
  }

  /** Recycles a dead reservation at pos for the next lap and moves tail and head past it. */
  #skip(s: number, seq: number, pos: number): void {
    Atomics.compareExchange(this.#states, s, seq, nextLap(seq, this.size));
    Atomics.compareExchange(this.#words, WqWord.TAIL, pos, (pos + 1) | 0);
    Atomics.compareExchange(this.#words, WqWord.HEAD, pos, (pos + 1) | 0);
  }

  /** True when the head position is reserved but not yet published (its submitter is mid-push). */
  stalled(): boolean {
    const pos = Atomics.load(this.#words, WqWord.HEAD);
    const seq = Atomics.load(this.#states, (pos & this.mask) * SLOT_WORDS);
    return seq >>> 8 === (pos & 0xffffff) && (seq & 0xff) >= RESERVED;
  }

  /**
   * Recycles every reservation by `vector` (its thread is gone; called before the vector
   * can be handed to another thread, so no live reservation is taken).
   */
  sweepReservations(vector: number): void {
    this.asleep(vector, false); // (a thread ended while asleep for room)
    for (let i = 0; i < this.size; i++) {
      const seq = Atomics.load(this.#states, i * SLOT_WORDS);
      if ((seq & 0xff) === RESERVED + vector) Atomics.compareExchange(this.#states, i * SLOT_WORDS, seq, nextLap(seq, this.size));
    }
  }

  /**
   * Finishes a published, unclaimed position without running it (the device closed):
   * true if this call did it, false if an engine or another aborter got there first.
   */
  abort(pos: number, status: number, settle?: (desc: Uint8Array) => void): boolean {
    const s = (pos & this.mask) * SLOT_WORDS;
    if (Atomics.compareExchange(this.#states, s, seqOf(pos, PUB), seqOf(pos, ABORTING)) !== seqOf(pos, PUB)) return false;
    settle?.(this.descriptor(pos)); // its record, before the submitter can see it done
    this.#states[s + 1] = status;
    Atomics.store(this.#states, s, seqOf(pos, DONE));
    return true;
  }

  /**
   * Whether a descriptor published, running, or being written here may yet raise vector h: its
   * submitter's (signalled as it completes), or asked for as interrupt handle h (RCI), itself or
   * as a member of a batch whose list is in the arena. A vector given back is not handed out
   * again while one may, or its new owner would get the old one's interrupts.
   */
  mayRaise(h: number): boolean {
    const m = this.#bytes;
    const dv = this.#dv;
    const asks = (d: number): boolean => (dv.getUint32(d + Desc.FLAGS, true) & Flag.RCI) !== 0 && dv.getUint16(d + Desc.INT_HANDLE, true) === h;
    for (let i = 0; i < this.size; i++) {
      const state = Atomics.load(this.#states, i * SLOT_WORDS) & 0xff;
      if (state !== PUB && state !== ABORTING && state < CLAIMED) continue; // (free or done: it raises nothing more)
      if ((state >= RESERVED ? state - RESERVED : this.#states[i * SLOT_WORDS + 2] & 0xff) === h) return true;
      const d = this.#slots + i * Desc.SIZE;
      if (asks(d)) return true;
      if (m[d + Desc.OPCODE] !== Opcode.BATCH || (dv.getUint32(d + Desc.PASID, true) & PasidWord.PASID_MASK) !== 0) continue;
      const list = dv.getUint32(d + Desc.LIST, true);
      const count = Math.min(dv.getUint32(d + Desc.COUNT, true), Limit.MAX_BATCH_DEFAULT);
      if (dv.getUint32(d + Desc.LIST + 4, true) !== 0 || list + count * Desc.SIZE > m.byteLength) continue; // (the device refuses it: it raises nothing)
      for (let j = 0; j < count; j++) if (asks(list + j * Desc.SIZE)) return true;
    }
    return false;
  }

  /** Positions published and not claimed (what is left once the engines have stopped). */
  published(): number[] {
    return this.#inState(PUB, true);
  }

  /** The vector to signal for position pos: read before complete(), the slot may be reused after. */
  vectorOf(pos: number): number {
    return this.#states[(pos & this.mask) * SLOT_WORDS + 2] & 0xff;
  }

  /** The fault tag of a claimed position (0: run it as usual). */
  tagOf(pos: number): number {
    return this.#states[(pos & this.mask) * SLOT_WORDS + 3];
  }

  /**
   * A BATCH's note for its submitter (the core's batchRecordError: a member whose record could not
   * be written), in the tag word, which is the engine's once it has read the tag; read at reap.
   */
  setNote(pos: number, note: number): void {
    this.#states[(pos & this.mask) * SLOT_WORDS + 3] = note;
  }

  noteOf(pos: number): number {
    return this.#states[(pos & this.mask) * SLOT_WORDS + 3];
  }

  /** Marks a claimed position done with its status. */
  complete(pos: number, status: number): void {
    const s = (pos & this.mask) * SLOT_WORDS;
    this.#states[s + 1] = status;
    Atomics.store(this.#states, s, seqOf(pos, DONE));
  }

  /** True while an earlier position, pos - distance, is still published or claimed (DRAIN waits on it). */
  isPending(pos: number): boolean {
    const seq = Atomics.load(this.#states, (pos & this.mask) * SLOT_WORDS);
    if (seq >>> 8 !== (pos & 0xffffff)) return false;
    const state = seq & 0xff;
    return state === PUB || state >= CLAIMED;
  }

  /**
   * Positions claimed by `engine` and not finished: what a dead engine held.
   * The supervisor completes each exactly once.
   */
  claimedBy(engine: number): number[] {
    return this.#inState(CLAIMED + engine, false);
  }

  /** Positions in `state`: at or after head (`ahead`), else before it. */
  #inState(state: number, ahead: boolean): number[] {
    const held: number[] = [];
    for (let i = 0; i < this.size; i++) {
      const seq = Atomics.load(this.#states, i * SLOT_WORDS);
      if ((seq & 0xff) !== state) continue;
      // Rebuild the full position from its low 24 bits and the slot index.
      const low = seq >>> 8;
      const head = Atomics.load(this.#words, WqWord.HEAD);
      held.push(ahead ? (head + ((low - (head & 0xffffff)) & 0xffffff)) | 0 : (head - (((head & 0xffffff) - low) & 0xffffff)) | 0);
    }
    return held;
  }

  /** Header word access for parking and doorbells. */
  get words(): Int32Array {
    return this.#words;
  }
}
