// A portal: one thread's window onto a work queue, named after the DSA portal page
// that ENQCMD writes to. It keeps the data path to DPDK's verbs (enqueue, doorbell,
// completed) and builds the promise API on them:
//
//   submit(d) -> enqueue + doorbell -> [engine runs it] -> poll: reap DONE slots,
//   resolve their promises; nothing done yet: spin a few microseconds, then arm the
//   vector and sleep on the event fd (or Atomics) until an engine signals it.
//   (submitNow(d), for the API's batcher: the status itself when the lone descriptor
//   completed during that spin, a promise otherwise.)
import { type Interrupt, Vectors } from './completion.ts';
import { argCoded, Errors } from './errors.ts';
import { own } from './own.ts';
import { Desc, Flag, Opcode, Status } from './format.ts';
import { recordAt } from './record.ts';
import { Dev, type Layout, Stop, WqWord } from './layout.ts';
import { SpinPolicy } from './spin.ts';
import { Unrun } from './unrun.ts';
import { WorkQueue } from './work_queue.ts';
import { EngineStates } from './engine_states.ts';
import { FaultTable, REFUSED } from './faults.ts';
import { descriptorChannel, traced } from './trace.ts';
import { measured, plainBytes } from './views.ts';
import { cores } from './host.ts';
import { performance, setImmediate } from './timers.ts';

const CORES = cores();

export interface SubmitOptions {
  /** wait for room when the queue is full (default); false: reject with QUEUE_FULL */
  retry?: boolean | undefined;
}

/** A status the device could not write into a completion record (DSA's software error register). */
export interface ErrorLogEntry {
  /** the work queue id (the M of wqN.M) the descriptor was submitted to */
  wq: number;
  status: number;
  opcode: number;
  completion: bigint;
  time: number;
  /** a batch member's status: its index in the batch's list (the first such member of the batch) */
  batchIndex?: number;
  /** more members of that batch had records that could not be written */
  more?: boolean;
}

interface Pending {
  pos: number;
  resolve: (status: number) => void;
  reject: (e: unknown) => void;
  /** > 0: a piece of a split call, settled only when all of its group are (submitNow) */
  group: number;
}

interface Waiting {
  desc: Uint8Array;
  resolve: (status: number) => void;
  reject: (e: unknown) => void;
  group: number;
}

/** Views ownView made: checked as they were made (the checks cost ~0.1 us of each round trip). */
const OWN_VIEWS = new WeakSet<object>();

/** A plain view of the descriptor at `at` of `mem`, which descriptorView takes as it is (the API's batcher keeps one per descriptor slot). */
export function ownView(mem: Uint8Array, at: number): Uint8Array {
  const v = mem.subarray(at, at + Desc.SIZE);
  OWN_VIEWS.add(v);
  return v;
}

/**
 * A plain Uint8Array over a descriptor's 64 bytes, or a TypeError: anything that is not a
 * 64-byte TypedArray or DataView is refused before a slot is taken.
 */
export function descriptorView(desc: unknown): Uint8Array {
  if (OWN_VIEWS.has(desc as object)) return desc as Uint8Array;
  // (its real bytes, views.ts: the copy into the ring must take exactly 64 of them)
  const m = measured(desc);
  if (m === null) throw Errors.descriptorType(desc);
  if (m.length !== Desc.SIZE) throw Errors.descriptorSize(m.length, m.detached);
  return plainBytes(desc as ArrayBufferView);
}

const ERROR_LOG_SIZE = 64;
/** #push: a fault rule refused the descriptor (the queue itself had room) */
const REFUSED_BY_RULE = -2;

/** A portal a fault rule refuses naps this long at first, and at most (see #nap). */
const NAP_MIN_MS = 1;
const NAP_MAX_MS = 2;
/**
 * How long a portal waiting for room sleeps between looks when no reap wakes it: at first, and at
 * most, doubled after each look that found none (see #nap). A reap or a claim wakes it at once;
 * the looks are for room nothing announces (a dead thread's slots). At 2 ms each, a thread
 * waiting behind slots held for long cost 5.7% of a core.
 */
const ROOM_NAP_MIN_MS = 2;
const ROOM_NAP_MAX_MS = 32;
/**
 * Once the device is closing, how long descriptors waiting for room go on waiting with no room
 * coming (and none of this portal's own work in flight to free some) before they are refused.
 */
const CLOSING_ROOM_WAIT_MS = 1000;
/**
 * How long submit() spins for a lone descriptor's completion when an engine is awake (ms):
 * an engine that spins claims in under a microsecond and a 4 KiB copy takes about one.
 */
const SUBMIT_SPIN_MS = 0.004;

export class Portal {
  readonly wq: WorkQueue;
  /** Statuses that could not be written into a record (0x1A, 0x1B), newest last: shared by the portals of a device (DSA's SWERR is the device's). */
  readonly errorLog: ErrorLogEntry[];
  readonly #engines: EngineStates;
  readonly #device: Int32Array;
  #irq: Interrupt | null = null;
  #makeIrq: (() => Interrupt) | null = null;
  #vector = 0;
  #owner = 0;
  readonly #isLive: (owner: number) => boolean;
  readonly #inflight: Pending[] = [];
  readonly #waiting: Waiting[] = [];
  #scheduled = false;
  readonly #policy: SpinPolicy;
  #idleWaiters: Array<() => void> = [];
  #closed = false;
  /** the device is closing (closing()): see #admit */
  #closing = false;
  /** while closing: when room last came for what waits here (or closing began) */
  #roomSince = 0;

  readonly #unrun: Unrun;
  readonly #faults: FaultTable;
  readonly #mem: Uint8Array;
  readonly #layout: Layout;
  /** the work queue's id (the M of wqN.M): what fault rules with a `wq` match */
  readonly wqId: number;

  /** `index`: which WQ (layout.wqs) this portal submits to; 0, the default, is the device's */
  constructor(memory: WebAssembly.Memory, layout: Layout, vectors: Vectors, spinMicros: number, index = 0, errorLog: ErrorLogEntry[] = []) {
    this.errorLog = errorLog;
    this.wq = new WorkQueue(memory, layout, index);
    this.wqId = layout.wqs[index].id;
    this.#faults = new FaultTable(memory, layout);
    this.#mem = new Uint8Array(memory.buffer as unknown as SharedArrayBuffer);
    this.#layout = layout;
    this.#engines = new EngineStates(memory, layout, layout.groups[layout.wqs[index].group].engines);
    this.#device = new Int32Array(memory.buffer as unknown as SharedArrayBuffer, layout.device, 16);
    this.#unrun = new Unrun(this.wq, vectors, memory, layout);
    this.#isLive = (owner) => vectors.isLive(owner);
    this.#releaseVector = () => vectors.release(this.#vector);
    this.#policy = new SpinPolicy(spinMicros);
  }

  readonly #releaseVector: () => void;

  /**
   * Connects the portal to its vector; the interrupt (which calls back into poll()) is made
   * when first needed: its event fd needs the addon, and a thread whose calls all complete
   * at once (or run inline) never loads it.
   */
  attachInterrupt(vector: number, owner: number, makeIrq: () => Interrupt): void {
    this.#vector = vector;
    this.#owner = owner;
    this.#makeIrq = makeIrq;
  }

  /** This thread's interrupt, made now if need be (null once closed). */
  get #interrupt(): Interrupt | null {
    if (this.#irq === null && this.#makeIrq !== null && !this.#closed) this.#irq = this.#makeIrq();
    return this.#irq;
  }

  get vector(): number {
    return this.#vector;
  }

  /** Position, or -1 when the queue is full, REFUSED_BY_RULE when a fault rule refuses the descriptor (as a full shared WQ would). */
  #push(desc: Uint8Array): number {
    if (!this.#faults.active()) return this.wq.push(desc, this.#owner, this.#isLive);
    // Rules see only descriptors that go in (a full queue's attempts would skew every N-th and the seed's draws).
    if (this.wq.hasRoom() && this.#faults.match(desc, this.wqId, true) === REFUSED) return REFUSED_BY_RULE;
    return this.wq.push(desc, this.#owner, this.#isLive, this.#tag);
  }

  readonly #tag = (desc: Uint8Array): number => this.#faults.match(desc, this.wqId, false);

  /** Descriptors submitted through this portal and not yet reaped (or waiting for room). */
  get inflight(): number {
    return this.#inflight.length + this.#waiting.length;
  }

  /** The device is closing or closed: nothing new goes into its queue. */
  #stopping(): boolean {
    return this.#closed || Atomics.load(this.#device, Dev.STOP) !== Stop.RUNNING;
  }

  /**
   * After a push: if the device finished closing meanwhile, its sweep may already have run,
   * so the descriptor would never run. Abort it here unless the sweep (or an engine) took it.
   */
  #pushedLate(pos: number): boolean {
    return Atomics.load(this.#device, Dev.STOP) === Stop.STOPPED && this.#unrun.abortPublished(pos, Status.ABORTED);
  }

  // ---- the raw verbs ----

  /** Puts a descriptor in the queue without ringing the doorbell. Position, or -1 when full. */
  enqueue(desc: Uint8Array): number {
    if (this.#stopping()) throw Errors.closed();
    const pos = this.#push(descriptorView(desc));
    if (pos >= 0) {
      this.#enqueued.add(pos);
      // Aborted at once: the caller's completed(pos) reads the status as for any other.
      this.#pushedLate(pos);
    }
    return Math.max(pos, -1); // (refused by a rule: full, as far as the caller can tell)
  }

  /**
   * The positions enqueue() gave out and completed() has not reaped: completed() takes only
   * these. Told by the slot alone, a position submit() or a drop-in call held (the one after the
   * caller's own, say) was reaped from under it, and that call never settled, nor close(); and
   * one 2^24 laps away stood in for a real one.
   */
  readonly #enqueued = new Set<number>();

  /**
   * Wakes a parked engine of the WQ's group, or up to `engines` of them for that many
   * descriptors. A spinning engine sees the work by itself, and an engine already rung and not
   * yet up needs no second ring: no futex wake (a system call) for them. Rung before the
   * descriptors are enqueued, it lets the engines' wake-ups (tens to hundreds of microseconds
   * on a VM) overlap the enqueueing: a woken engine that finds no work waits a moment for it
   * before it parks again.
   */
  doorbell(engines = 1): void {
    const n = Atomics.load(this.wq.bell, WqWord.SPINNER) === 0 ? engines : engines - 1;
    if (n > 0) this.#engines.wake(n);
  }

  /** Status of position pos once done (and reaps it), else Status.NONE. */
  completed(pos: number): number {
    if (!Number.isInteger(pos)) throw argCoded(new TypeError(`completed(pos): pos must be a position from enqueue(); got ${String(pos)}`));
    // (its slots went back with the portal: another thread's by now, read as not done for good)
    if (this.#closed) throw Errors.closed();
    // (a position reaped already, or never enqueued, would read NONE for good: a poller spun forever)
    if (!this.#enqueued.has(pos)) throw argCoded(new RangeError(`completed(pos): position ${pos} is not in flight from this portal's enqueue() (reaped already by an earlier completed(), or not one enqueue() returned)`));
    if (!this.wq.isDone(pos)) return Status.NONE;
    this.#enqueued.delete(pos);
    this.#logIfUnwritten(this.wq.statusOf(pos), pos);
    const status = this.wq.take(pos);
    this.wq.roomMade();
    return status;
  }

  // ---- the promise API ----

  submit(desc: Uint8Array, opts: SubmitOptions = {}): Promise<number> {
    let view: Uint8Array;
    let r: number | Promise<number>;
    try {
      view = this.#checked(desc);
      r = this.#submit(view, submitRetry(opts));
    } catch (e) {
      return Promise.reject(e);
    }
    const p = typeof r === 'number' ? Promise.resolve(r) : r;
    return descriptorChannel.hasSubscribers ? traced(p, view, this.#mem, this.#layout.arenaBase, this.#layout.arenaEnd, this.wqId) : p;
  }

  /**
   * submit() for the API's own batcher: the status itself when the descriptor completed before
   * this returns (the awaited round trip's spin), so its caller settles with no promise hop;
   * else the promise. Throws what submit() would reject with at once.
   */
  submitNow(desc: Uint8Array, group = 0, traced = true): number | Promise<number> {
    if (traced && descriptorChannel.hasSubscribers) return this.submit(desc);
    return this.#submit(this.#checked(desc), true, group);
  }

  /** The descriptor's 64 bytes, on a portal still open. */
  #checked(desc: Uint8Array): Uint8Array {
    if (this.#stopping()) throw Errors.closed();
    return descriptorView(desc);
  }

  /** `group` > 0: one of the pieces of a split call, which its caller awaits all of (see #needed). */
  #submit(view: Uint8Array, retry: boolean, group = 0): number | Promise<number> {
    const alone = this.inflight === 0;
    // Keep submission order: while others wait for room, queue behind them.
    const pos = this.#waiting.length === 0 && !(this.#defers() && this.wq.roomLeftBy(this.#vector) <= 0) ? this.#push(view) : -1;
    // Rung either way: a refusal means the queue is full of work for the engines.
    this.doorbell();
    // The awaited round trip: nothing else of ours in flight and an engine spinning (it
    // claims within a microsecond): spin here for the completion, a few microseconds at
    // most, and settle now, with no turn of the event loop in between (an immediate costs
    // more than a short descriptor takes).
    if (alone && pos >= 0 && this.#spinFor(pos)) {
      const status = this.#reapOne(pos);
      if (status === Status.ABORTED) return Promise.reject(Errors.closed());
      return status;
    }
    return new Promise<number>((resolve, reject) => {
      // Work in flight keeps the process alive (the completion wait alone would not).
      if (alone) this.#interrupt?.ref();
      if (pos >= 0) {
        this.#inflight.push({ pos, resolve, reject, group });
        if (this.#pushedLate(pos)) this.#schedule();
      } else if (!retry) {
        if (this.inflight === 0) this.#irq?.unref();
        reject(Errors.queueFull());
        return;
      } else {
        this.#waiting.push({ desc: new Uint8Array(view), resolve, reject, group }); // (a copy: a Buffer's slice() is a view)
      }
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.poll);
  }

  /** Reaps every finished descriptor of this portal; returns how many. */
  #reap(): number {
    const list = this.#inflight;
    let kept = 0;
    let done = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (this.wq.isDone(p.pos)) {
        const status = this.wq.statusOf(p.pos);
        // (read before take(): the slot may be reused right after)
        this.#logIfUnwritten(status, p.pos);
        this.wq.take(p.pos);
        if (status === Status.ABORTED) p.reject(Errors.closed());
        else p.resolve(status);
        done++;
      } else {
        list[kept++] = p;
      }
    }
    list.length = kept;
    return done;
  }

  /** Fault rules are in force: every descriptor that goes in is matched against them. */
  faulting(): boolean {
    return this.#faults.active();
  }

  /** No engine of this WQ's group is spinning or running: work given now waits for a wake-up (tens of microseconds on a VM). */
  enginesAsleep(): boolean {
    return Atomics.load(this.wq.bell, WqWord.SPINNER) === 0 && this.#engines.parked() === this.#engines.count;
  }

  /** Spins up to SUBMIT_SPIN_MS for pos while an engine is spinning or running; true once it is done. */
  #spinFor(pos: number): boolean {
    if (this.#starves() || this.enginesAsleep()) return false;
    const start = performance.now();
    while (!this.wq.isDone(pos)) if (performance.now() - start > SUBMIT_SPIN_MS) return false;
    return true;
  }

  /** Reaps one done position of this portal that is not tracked (the fast path of submit). */
  #reapOne(pos: number): number {
    const status = this.wq.statusOf(pos);
    this.#logIfUnwritten(status, pos);
    this.wq.take(pos);
    this.wq.roomMade();
    return status;
  }

  /**
   * Keeps in the error log a status no record could take: the descriptor's own (0x1A, 0x1B), or,
   * for a batch that failed, a member's (the engine's note). Before take(): the slot may be reused.
   */
  #logIfUnwritten(status: number, pos: number): void {
    const code = status & Status.CODE_MASK;
    if (code === Status.COMPLETION_ALIGN || code === Status.COMPLETION_FAULT || (code === Status.INVALID_OPCODE && this.#recordUnwritable(pos))) {
      const d = this.wq.descriptor(pos);
      this.#log({ wq: this.wqId, status, opcode: d[Desc.OPCODE], completion: new DataView(d.buffer, d.byteOffset, Desc.SIZE).getBigUint64(Desc.COMPLETION, true), time: Date.now() });
    } else if (code === Status.BATCH_FAIL) {
      const note = this.wq.noteOf(pos);
      const d = this.wq.descriptor(pos);
      if (note === 0 || d[Desc.OPCODE] !== Opcode.BATCH) return;
      const index = ((note >>> 8) & 0xfff) - 1;
      // (the member as it is now: what the batch ran may have rewritten it)
      const at = Number(new DataView(d.buffer, d.byteOffset, Desc.SIZE).getBigUint64(Desc.LIST, true)) + index * Desc.SIZE;
      const m = new DataView(this.#mem.buffer, this.#mem.byteOffset + at, Desc.SIZE);
      this.#log({ wq: this.wqId, status: note & 0xff, opcode: m.getUint8(Desc.OPCODE), completion: m.getBigUint64(Desc.COMPLETION, true), time: Date.now(), batchIndex: index, more: (note & (1 << 20)) !== 0 });
    }
  }

  /**
   * Whether pos's descriptor asked for a record (CRAV) where none can be written: an
   * unsupported opcode keeps its 0x10 then (dispatch.ts), and is logged, as 0x1A and 0x1B are,
   * or it went unseen by a caller who reads its record.
   */
  #recordUnwritable(pos: number): boolean {
    const d = this.wq.descriptor(pos);
    return (d[Desc.FLAGS] & Flag.CRAV) !== 0 && recordAt(d, this.#layout.arenaBase, this.#layout.arenaEnd) < 0;
  }

  #log(entry: ErrorLogEntry): void {
    this.errorLog.push(entry);
    if (this.errorLog.length > ERROR_LOG_SIZE) this.errorLog.shift();
  }

  /** Moves descriptors that waited for room into the queue (or, once the device is closing, refuses them). */
  #admit(): number {
    if (this.#waiting.length > 0 && this.#stopping()) return this.#refuseWaiting();
    // (while other threads sleep for room, a slot each is left to them; this portal's own work
    // in flight brings it back here, and once none is, it sleeps for room too and takes its turn)
    let left = this.#defers() ? this.wq.roomLeftBy(this.#vector) : Infinity;
    let n = 0;
    while (this.#waiting.length > 0 && left-- > 0) {
      const w = this.#waiting[0];
      const pos = this.#push(w.desc);
      if (pos === REFUSED_BY_RULE && this.#closing) {
        // A queue that is being closed takes nothing more: what a rule keeps refusing would
        // otherwise wait for room for ever, and close() with it.
        this.#waiting.shift();
        w.reject(Errors.closed());
        n++;
        continue;
      }
      if (pos < 0 && this.#closing && this.#inflight.length === 0 && performance.now() - this.#roomSince >= CLOSING_ROOM_WAIT_MS) {
        // Closing, no room came for a while and none will of this portal's own work: the slots
        // are other threads' (or raw enqueue()'s) and unreaped. Waited for, close() waited with
        // them for ever; refused at once, calls started before close() failed while other
        // threads' reaps were making room for them.
        return n + this.#refuseWaiting();
      }
      if (pos < 0) {
        // A full queue of published work is work for the engines: make sure one is awake. (A
        // rule's refusal leaves the queue as it was, and slots done and unreaped are no work:
        // ringing for them woke an engine to nothing, each nap.)
        if (pos !== REFUSED_BY_RULE && this.wq.hasWork()) this.doorbell();
        this.#refused = pos === REFUSED_BY_RULE;
        break;
      }
      this.#waiting.shift();
      this.#inflight.push({ pos, resolve: w.resolve, reject: w.reject, group: w.group });
      this.#pushedLate(pos);
      n++;
    }
    if (n > 0) {
      if (this.#closing) this.#roomSince = performance.now();
      this.doorbell();
      this.#napMs = NAP_MIN_MS;
      this.#roomNapMs = ROOM_NAP_MIN_MS;
    }
    // (asleep only with nothing of its own in flight: once some went in, its reaps bring it back)
    if (n > 0 || this.#waiting.length === 0) this.#asleep(false);
    return n;
  }

  /** Refuses every descriptor waiting for room (DEVICE_CLOSED); returns how many. */
  #refuseWaiting(): number {
    const refused = this.#waiting.splice(0);
    for (const w of refused) w.reject(Errors.closed());
    this.#asleep(false);
    return refused.length;
  }

  /** whether this portal is marked asleep for room in its queue (WorkQueue.asleep) */
  #sleeping = false;

  #asleep(on: boolean): void {
    if (this.#sleeping === on) return;
    this.#sleeping = on;
    this.wq.asleep(this.#vector, on);
  }

  /** Leaves the queue's room to another thread asleep for it: while work of its own is in flight (its reaps bring this portal back). */
  #defers(): boolean {
    return this.#inflight.length > 0 && this.wq.othersAsleep(this.#vector);
  }

  #napping = false;
  /** The next nap's length while a rule refuses: doubled after each that found no room, back to the least once there was. */
  #napMs = NAP_MIN_MS;
  /** The next sleep's longest for room (whenRoom): doubled after each that no reap ended, back to the least once one did. */
  #roomNapMs = ROOM_NAP_MIN_MS;
  /** the last offer was refused by a fault rule, not for want of room */
  #refused = false;
  /** a word nobody notifies, to sleep on while a rule refuses (see #nap) */
  readonly #napWord = new Int32Array(new SharedArrayBuffer(4));

  /**
   * poll() again once room may have come: for a portal waiting for room that other threads' slots
   * hold. It sleeps until one of them reaps (WorkQueue.whenRoom), 2 to 32 ms at most; a
   * setImmediate loop there would take the cores those threads and the engines need. While a fault
   * rule refuses (no reap makes room for it) the naps double from 1 ms to 2 ms, on a word nobody
   * notifies: napping must not wait on a word such as the doorbell, or a notify meant for a parked
   * engine could wake this waiter instead (it did).
   */
  #nap(): void {
    if (this.#napping) return;
    this.#napping = true;
    let slept: Promise<unknown>;
    if (this.#refused) {
      const ms = this.#napMs;
      this.#napMs = Math.min(NAP_MAX_MS, ms * 2);
      const r = Atomics.waitAsync(this.#napWord, 0, 0, ms);
      slept = r.async ? r.value : Promise.resolve();
    } else {
      this.#napMs = NAP_MIN_MS;
      this.#asleep(true);
      const ms = this.#roomNapMs;
      slept = this.wq.whenRoom(ms).then((how) => {
        this.#roomNapMs = how === 'timed-out' ? Math.min(ROOM_NAP_MAX_MS, ms * 2) : ROOM_NAP_MIN_MS;
      });
    }
    void slept.then(() => {
      this.#napping = false;
      this.poll();
    });
  }

  /**
   * True when a spin here would take a core from a working engine: this thread has work in
   * flight for every engine and there is no core to spare for it (2 engines on 2 cores,
   * the default there). The engines run at a raised nice value, so the spinning thread wins
   * that core: a split 1 MiB crc32c took 190-240 us p50 with the spin, 150-190 without.
   */
  #starves(): boolean {
    const engines = this.#engines.count;
    return engines >= CORES && this.#inflight.length >= engines;
  }

  /**
   * Reaps what finished and fills the slots freed with descriptors waiting for room; returns how
   * many of either. Slots left free are announced to other threads' portals sleeping for room.
   */
  #turnover(): number {
    const reaped = this.#reap();
    const n = reaped + this.#admit();
    if (reaped > 0 && (this.#waiting.length === 0 || this.#defers())) this.wq.roomMade();
    return n;
  }

  #anyDone(): boolean {
    const list = this.#inflight;
    for (let i = 0; i < list.length; i++) if (this.wq.isDone(list[i].pos)) return true;
    return false;
  }

  /** One round of completion handling; runs from setImmediate or the interrupt. */
  readonly poll = (): void => {
    this.#scheduled = false;
    let n = this.#turnover();
    if (this.#inflight.length === 0 && this.#waiting.length === 0) return this.#idle();
    if (n === 0) {
      // Only spins teach the policy: a wait that ended in a sleep would count the wake-up
      // too, and make spinning look useless exactly when it would help.
      const start = performance.now();
      const budget = this.#starves() ? 0 : this.#policy.budget;
      while (!this.#anyDone() && performance.now() - start < budget);
      n = this.#turnover();
      if (budget > 0) this.#policy.record(n > 0 ? performance.now() - start : budget);
    }
    if (n > 0) {
      this.#schedule(); // progress: look again soon
      return;
    }
    if (this.#waiting.length > 0 && this.#inflight.length === 0) {
      this.#nap(); // waiting for room only
      return;
    }
    // Nothing finished: arm the vector for the completions a caller needs and sleep; count
    // again after arming so that a completion between the count and the arm is not missed
    // (counted twice, it only wakes this thread early). One that finished since the reap above
    // (a count of 0): poll again, rather than arm for 0 and wait on a disarmed vector.
    const needed = this.#needed();
    const irq = this.#interrupt;
    if (needed === 0 || irq === null) {
      if (needed === 0) this.#schedule();
      return;
    }
    irq.wait(needed);
    const now = this.#needed();
    if (now === 0) this.#schedule();
    else if (now < needed) irq.wait(now);
  };

  /**
   * How many completions of its descriptors in flight before one of its callers can settle: 1,
   * or while only split calls' pieces are in flight, the fewest any of those calls has left (its
   * caller awaits them all: the pieces before need not wake this thread); 0: one can now.
   */
  #needed(): number {
    const list = this.#inflight;
    let fewest = Infinity;
    let left: Map<number, number> | null = null;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      const done = this.wq.isDone(p.pos);
      if (p.group === 0) {
        if (done) return 0;
        fewest = 1;
        continue;
      }
      left ??= new Map();
      left.set(p.group, (left.get(p.group) ?? 0) + (done ? 0 : 1));
    }
    if (left !== null) for (const n of left.values()) if (n < fewest) fewest = n;
    return fewest === Infinity ? 1 : fewest; // (none in flight: waiting for room only)
  }

  #idle(): void {
    this.#irq?.unref();
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /** The device is closing (or this thread detaching): descriptors a fault rule refuses are refused for good (DEVICE_CLOSED), not waited with. */
  closing(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#roomSince = performance.now();
    if (this.#waiting.length > 0) this.#schedule();
  }

  /** Resolves once nothing submitted here is in flight or waiting. */
  settled(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Closes the portal and gives its vector back: with its interrupt, or, where none was made (nothing here ever waited), here. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#enqueued.clear();
    this.#asleep(false);
    if (this.#irq !== null) this.#irq.close();
    else if (this.#makeIrq !== null) this.#releaseVector();
  }
}

function submitRetry(opts: unknown): boolean {
  if (opts === undefined || opts === null) return true;
  if (typeof opts !== 'object') throw argCoded(new TypeError(`submit options must be an object; got ${typeof opts}`));
  const given = own(opts) as SubmitOptions; // (not Object.prototype.retry)
  for (const k of Object.keys(given)) if (k !== 'retry') throw argCoded(new TypeError(`submit: unknown option ${k} (the options: retry)`));
  const retry = given.retry;
  if (retry !== undefined && typeof retry !== 'boolean') throw argCoded(new TypeError(`submit option retry must be a boolean; got ${typeof retry}`));
  return retry !== false;
}

export { Vectors };
