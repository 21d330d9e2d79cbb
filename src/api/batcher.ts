// Same-tick batching: every high-level call made in one tick of the event loop becomes a
// member of one BATCH descriptor, and the doorbell rings once, when the tick ends, or as soon
// as the calls hold enough work to start on (SUBMIT_NOW_BYTES).
//
// A block of arena memory holds a tick's descriptor list and, after it, one completion
// record per member (RCR set: every member writes its record, status last):
//
//   block: | desc 0 | desc 1 | ... | desc 1023 | rec 0 | rec 1 | ... | rec 1023 |
//            64 B each (the BATCH list)          32 B each
//
// Members that must run on other engines at the same time (the ranges of a split
// operation) are "solo": submitted as descriptors of their own, their records still in
// the block. The block goes back to the pool when everything in it has completed.
//
// Where the arena has no room for another full block (buffers fill it, and the pooled
// blocks are all in flight), a tick takes a smaller one, down to a single member, and gives
// it back to the arena once done; with no room even for that, calls wait, in order, for a
// block to come back (the device sets one full block aside at open, before any buffer can
// take its room: keptBlock). Calls then batch less, or wait, but they do not fail.
import { Desc, Flag, Opcode, Record } from '../device/format.ts';
import { Errors } from '../device/errors.ts';
import { ownView } from '../device/portal.ts';

// Up to 1024 calls a batch (the device's maxBatch bounds it too): one tick, one batch
// descriptor, one doorbell. (Smaller blocks, so that batches pipeline, measured no better
// here: callers that keep many calls in flight pipeline across ticks anyway.)
export const BLOCK_MEMBERS = 1024;

/** Bytes of a full block for a device of this maxBatch: its descriptor list and records. */
export const blockBytes = (maxBatch: number): number => Math.min(BLOCK_MEMBERS, maxBatch) * (Desc.SIZE + Record.SIZE);

export interface Member {
  /** called with the member's completion record address once its descriptor finished */
  done(record: number, status: number): void;
  /** called instead when the descriptor could not be submitted (e.g. the device closed) */
  fail(error: unknown): void;
  /** > 0: a piece of a split call, whose caller awaits every piece of its group (the portal's #needed) */
  readonly group?: number;
  /**
   * true: done() reads the record there and then, and nothing reads it later, so the block of a
   * lone such member goes back to the pool as it is done, before its caller's next call wants one
   */
  readonly readsNow?: boolean;
}

/**
 * Work a block holds (bytes its calls move or read) from which it goes to the engines at once,
 * not when its tick ends: a caller may work on before awaiting (`const p = crc32c(big); work();
 * await p`), and the engines should run meanwhile (a 64 MiB memcpy and 3 ms of work took 8.2 ms
 * held to the tick's end: 3 + 4.5 in turn). Less waits for its tick's other calls, one batch and
 * one doorbell for them all; more in one batch would run on one engine while the other idles.
 */
export const SUBMIT_NOW_BYTES = 1 << 20;

/**
 * Full blocks kept for the next ticks once done (and at most a 16th of the arena: on a 4 MiB
 * one, a burst of 30 file calls left 1.1 MiB in the pool, and a 3 MiB buffer no longer fit with
 * nothing allocated); more go back to the arena. Ticks overlap when calls made one per
 * microtask are in flight at once, each tick with a block of its own: 1500 of them had left
 * 140 MiB of the arena in the pool until close.
 */
const POOL_BLOCKS = 16;

/** (a resolved promise's then: cheaper than queueMicrotask, see add()) */
export const RESOLVED = Promise.resolve();

/** The device's memory, as far as the API uses it (its buffer). */
export interface ArenaMemory {
  readonly buffer: ArrayBufferLike;
}

export interface Submitter {
  submit(desc: Uint8Array): Promise<number>;
  /**
   * submit(), or the status itself when the descriptor completed before it returned; `group`:
   * see Member; `traced` false: not published on softdsa:descriptor (the device's own measuring)
   */
  submitNow(desc: Uint8Array, group?: number, traced?: boolean): number | Promise<number>;
  /** wakes up to n parked engines for work about to be submitted */
  wake(n: number): void;
  /** top: a block kept long (see Allocator.alloc) */
  alloc(bytes: number, align: number, top?: boolean): number;
  free(addr: number): void;
  /** members a block may hold: the device's maxBatch, less where the arena is small */
  maxBatch: number;
  /** bytes of the arena (or lent part) the blocks come from: the pool keeps at most a 16th of them */
  arenaBytes: number;
}

interface Block {
  readonly base: number;
  /** members it has room for (a full block: the batcher's #members) */
  readonly cap: number;
  readonly members: Member[];
  readonly solo: boolean[];
  /**
   * its descriptors' 64-byte views, made as first used: kept with the block in the pool (a view is
   * ~80 ns to make); null until then, never a hole (a hole reads Array.prototype: a program that
   * set Array.prototype[0] had its descriptor submitted in place of a call's)
   */
  readonly views: Array<Uint8Array | null>;
  /** members submitted already: a block goes out in parts once its calls hold enough work (weigh) */
  sent: number;
  /** parts submitted and not yet done: the block goes back once none is, and it takes no more */
  parts: number;
}

/** A call that found no room for its descriptor: placed once a block comes back. */
interface Waiting {
  member: Member;
  opcode: number;
  solo: boolean;
  fill: (d: number) => void;
}

/** A block of `cap` members at base, empty. */
const block = (base: number, cap: number): Block => ({ base, cap, members: [], solo: [], views: new Array<Uint8Array | null>(cap).fill(null), sent: 0, parts: 0 });

export class Batcher {
  readonly #dev: Submitter;
  readonly #mem: Uint8Array;
  readonly #dv: DataView;
  readonly #i32: Int32Array;
  /** full blocks done with, for the next ticks (as objects: a tick's block is then no new allocation) */
  readonly #pool: Block[] = [];
  /** members per (full) block; a block's records follow its descriptor list */
  readonly #members: number;
  /** full blocks the pool keeps at most */
  readonly #poolMax: number;
  /** the block kept for good (set aside for this batcher, or taken as it was made), or -1: it always goes back to the pool */
  #kept = -1;
  #block: Block | null = null;
  /** blocks taken from the pool or the arena and not yet back: while any is, a call with no room can wait for it */
  #out = 0;
  /** calls waiting for room, in the order they were made (later calls queue behind them) */
  readonly #waiting: Waiting[] = [];
  #closed = false;
  /** batches submitted (for stats: same-tick batching is visible) */
  batches = 0;
  descriptors = 0;

  /** `kept`: a full block (blockBytes(dev.maxBatch)) set aside for this batcher; without it, one is taken now if there is room */
  constructor(dev: Submitter, memory: ArenaMemory, kept = 0) {
    this.#dev = dev;
    this.#members = Math.min(BLOCK_MEMBERS, dev.maxBatch);
    this.#poolMax = Math.max(1, Math.min(POOL_BLOCKS, Math.floor(dev.arenaBytes / 16 / blockBytes(this.#members))));
    // One full block from the start, kept for good: the calls have their room even when
    // buffers later take the rest of the arena.
    const buf = memory.buffer as unknown as SharedArrayBuffer;
    this.#mem = new Uint8Array(buf);
    this.#dv = new DataView(buf);
    this.#i32 = new Int32Array(buf);
    if (kept !== 0) this.#pool.push(block((this.#kept = kept), this.#members));
    else {
      try {
        this.#pool.push(block((this.#kept = dev.alloc(blockBytes(dev.maxBatch), 64, true)), this.#members));
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
      }
    }
  }

  /**
   * Adds a member: `fill` writes its 64-byte descriptor (zeroed, opcode and flags set: CRAV |
   * RCR, its completion record in the block), now, or once a block comes back when none has
   * room (fill must not throw). Throws RangeError only when none can: no room, and no block out.
   */
  add(member: Member, opcode: number, solo: boolean, fill: (d: number) => void): void {
    if (this.#waiting.length === 0) {
      const d = this.#slot(member, opcode, solo);
      if (d >= 0) return fill(d);
      if (this.#out === 0) throw Object.assign(new RangeError(`the device arena is full: no room for a call's descriptor and completion record (${Desc.SIZE + Record.SIZE} bytes); free arena buffers`), { code: 'ARENA_FULL' });
    }
    this.#waiting.push({ member, opcode, solo, fill });
  }

  /** A member's descriptor slot in the current block (a new one when there is none or it is full), or -1: no room for a block. */
  #slot(member: Member, opcode: number, solo: boolean): number {
    let b = this.#block;
    if (b === null || b.members.length === b.cap) {
      if (b !== null) this.flush();
      b = this.#newBlock();
      if (b === null) return -1;
      this.#block = b;
      // (a resolved promise's then: Node's queueMicrotask wraps each callback in an
      // AsyncResource, 0.1-0.18 us against 0.04-0.06 here)
      void RESOLVED.then(this.#flushTick);
    }
    const i = b.members.length;
    b.members.push(member);
    b.solo.push(solo);
    const d = b.base + i * Desc.SIZE;
    const rec = b.base + b.cap * Desc.SIZE + i * Record.SIZE;
    // (16 words: TypedArray.fill stores into shared memory a byte at a time, 3x as long)
    this.#i32.fill(0, d >>> 2, (d + Desc.SIZE) >>> 2);
    this.#mem[rec] = 0;
    this.#dv.setUint32(d + Desc.FLAGS, Flag.CRAV | Flag.RCR | (opcode << 24), true);
    this.#dv.setUint32(d + Desc.COMPLETION, rec, true);
    return d;
  }

  /** a drain is running: a block that comes back meanwhile (a part done as it was sent) asks it to look again */
  #draining = false;
  #again = false;

  /** Places the waiting calls, in order, while blocks have room; sends what was placed. */
  #drain(): void {
    // Not reentrant: sending a part can complete it at once (the submitter's spin), and its block
    // coming back would drain again from inside #slot, placing the same waiting call twice.
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = true;
    try {
      do {
        this.#again = false;
        let placed = false;
        while (this.#waiting.length > 0 && !this.#closed) {
          const w = this.#waiting[0];
          const d = this.#slot(w.member, w.opcode, w.solo);
          if (d < 0) break;
          this.#waiting.shift();
          w.fill(d);
          placed = true;
        }
        if (placed) this.flush(); // (they waited already: not for the end of this tick too)
      } while (this.#again && this.#waiting.length > 0);
    } finally {
      this.#draining = false;
    }
  }

  readonly #flushTick = (): void => this.flush();

  /** bytes of work the current block's calls hold (see weigh) */
  #weight = 0;

  /**
   * Adds the bytes of the call just added to the work its block holds unsent: from SUBMIT_NOW_BYTES,
   * what it holds goes out now, and the block takes the tick's next calls (one block a tick, as
   * when it goes out whole: many parts do not take many blocks of the arena).
   */
  weigh(bytes: number): void {
    const b = this.#block;
    if (b === null || b.sent === b.members.length || this.#waiting.length > 0) return; // (the call put nothing here: it ran inline, or waits)
    this.#weight += bytes;
    if (this.#weight < SUBMIT_NOW_BYTES) return;
    if (b.members.length === b.cap) this.flush();
    else this.#send(b, false);
  }

  /** A pooled block, a new full one, or (no room for that) the largest smaller one that fits; null: not even one member's fits. */
  #newBlock(): Block | null {
    const pooled = this.#pool.pop();
    if (pooled !== undefined) {
      this.#out++;
      return pooled;
    }
    let base: number | undefined;
    let cap = this.#members;
    while (base === undefined) {
      try {
        // (full blocks are kept for good: from the top of the arena, out of the buffers' way)
        base = this.#dev.alloc(cap * (Desc.SIZE + Record.SIZE), 64, cap === this.#members);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        if (cap === 1) return null;
        cap = Math.max(1, cap >>> 2);
      }
    }
    this.#out++;
    return block(base, cap);
  }

  /** Gives the pooled blocks but the calls' own back to the arena (an allocation found no room); true when there were some. */
  releasePool(): boolean {
    const give = this.#pool.filter((b) => b.base !== this.#kept);
    if (give.length === 0) return false;
    const kept = this.#pool.find((b) => b.base === this.#kept); // (the calls' own block, if it is in the pool now)
    this.#pool.length = 0;
    if (kept !== undefined) this.#pool.push(kept);
    for (const b of give) this.#dev.free(b.base);
    return true;
  }

  /** Gives pooled blocks back to the arena (blocks still in flight stay with their batch). */
  close(): void {
    this.flush();
    this.#closed = true;
    for (const b of this.#pool.splice(0)) this.#dev.free(b.base);
    for (const w of this.#waiting.splice(0)) w.member.fail(Errors.closed());
  }

  #release(b: Block): void {
    this.#out--;
    if (this.#closed || b.cap !== this.#members || (this.#pool.length >= this.#poolMax && b.base !== this.#kept)) this.#dev.free(b.base);
    else {
      b.members.length = 0;
      b.solo.length = 0;
      b.sent = 0;
      b.parts = 0;
      this.#pool.push(b);
    }
    if (this.#waiting.length > 0) this.#drain();
  }

  /** Submits what the current block holds unsent; the tick's next call takes a new block. */
  flush(): void {
    const b = this.#block;
    if (b === null) return;
    this.#block = null;
    this.#send(b, true);
  }

  /** Submits b's members not sent yet; `last`: b takes no more, and goes back once its parts are done. */
  #send(b: Block, last: boolean): void {
    this.#weight = 0;
    const from = b.sent;
    const n = b.members.length;
    b.sent = n;
    if (n === from) {
      if (last && b.parts === 0) this.#release(b);
      return;
    }
    this.descriptors += n - from;
    b.parts++;
    if (n - from === 1 && b.members[from].readsNow === true) {
      // a lone call, done with its record as it is done: its part ends there and then, so the
      // block can be back before its caller's next call wants one
      void this.#submitOne(b, from, true);
      return;
    }
    const batched: number[] = [];
    const runs: Array<Promise<unknown>> = [];
    for (let i = from; i < n; i++) {
      if (b.solo[i]) runs.push(this.#submitOne(b, i));
      else batched.push(i);
    }
    if (batched.length === 1) runs.push(this.#submitOne(b, batched[0]));
    else if (batched.length > 1) runs.push(this.#submitBatch(b, batched, from));
    void (runs.length === 1 ? runs[0] : Promise.all(runs)).then(() => this.#partDone(b));
  }

  /** One of b's parts is done: b goes back once none is in flight and it takes no more. */
  #partDone(b: Block): void {
    if (--b.parts === 0 && this.#block !== b) this.#release(b);
  }

  #finish(b: Block, i: number, fallback: number): void {
    const rec = b.base + b.cap * Desc.SIZE + i * Record.SIZE;
    const status = Atomics.load(this.#mem, rec) || fallback;
    b.members[i].done(rec, status);
  }

  /** Submits member i on its own; `ends`: it is its part, which ends as it is done (see #send). */
  #submitOne(b: Block, i: number, ends = false): Promise<void> {
    const d = b.base + i * Desc.SIZE;
    this.batches++;
    let p: number | Promise<number>;
    try {
      p = this.#dev.submitNow((b.views[i] ??= ownView(this.#mem, d)), b.members[i].group);
    } catch (e) {
      p = Promise.reject(e);
    }
    // Done already (the awaited round trip's spin): its caller is settled now, no hop.
    if (typeof p === 'number') {
      this.#finish(b, i, p);
      if (ends) this.#partDone(b);
      return RESOLVED;
    }
    // (a then, not an async function: one frame less on the awaited round trip)
    return p.then(
      (status) => {
        this.#finish(b, i, status);
        if (ends) this.#partDone(b);
      },
      // Not submitted: its caller hears why (an unhandled rejection here would end the process).
      (e: unknown) => {
        b.members[i].fail(e);
        if (ends) this.#partDone(b);
      },
    );
  }

  /** Submits members (indices from `at` on, in order) as one BATCH descriptor, its list at member `at` of the block. */
  async #submitBatch(b: Block, members: number[], at: number): Promise<void> {
    // The list must be contiguous: solo members were taken out, so close the gaps.
    members.forEach((from, k) => {
      const to = at + k;
      if (from !== to) this.#mem.copyWithin(b.base + to * Desc.SIZE, b.base + from * Desc.SIZE, b.base + (from + 1) * Desc.SIZE);
    });
    const desc = new Uint8Array(Desc.SIZE);
    const dv = new DataView(desc.buffer);
    dv.setUint32(Desc.FLAGS, Opcode.BATCH << 24, true);
    dv.setUint32(Desc.LIST, b.base + at * Desc.SIZE, true);
    dv.setUint32(Desc.COUNT, members.length, true);
    this.batches++;
    let status: number;
    try {
      status = await this.#dev.submit(desc);
    } catch (e) {
      for (const i of members) b.members[i].fail(e);
      return;
    }
    // A member's record holds its status once it ran (every member has RCR, and these batches
    // have no fence to abandon members after). One that did not: its batch's status (its list
    // unreadable, a fault rule's status, an engine lost, the device closed), so the caller hears why.
    for (const i of members) this.#finish(b, i, status);
  }
}
