// A device joined from another thread of the program (Device.attach): submit and the raw verbs
// into the device's first shared WQ, on a vector of its own. With a handle from Device.lend, the
// thread also has a part of the arena of its own: buffers from it, and the drop-in calls
// (memcpy, crc32c, ...) on the opener's engines, as a DSA client process keeps its buffers in
// its own address space. The opener owns the device: close, fault rules, mapped files.
//
// A lent part starts with a 64-byte header: an owner word the attaching thread claims (one
// thread a part) and gives back as it detaches, and the part's key and end, which the
// handle carries: a handle whose key and end the header does not hold (its part reclaimed, its
// bytes someone else's now, a range never lent, or widened) attaches to nothing.
//
//   part: | owner (i32) | key (2 x u32) | end (u32) | ... | the thread's scratch, descriptor block, own area and buffers |
//   owner: 0 free, -1 being reclaimed, else the attached thread's vector owner token (Vectors.owner)
import { DeviceCalls, hereArea } from './api/calls.ts';
import { blockBytes } from './api/batcher.ts';
import { Ops } from './api/ops.ts';
import { type DeviceHandle, rejectOffDevice, throwOffDevice } from './device/connection.ts';
import type { DeviceStats } from './device.ts';
import { coreModule } from './device/core.ts';
import { argCoded, Errors } from './device/errors.ts';
import { FaultTable } from './device/faults.ts';
import { loadEventFd } from './device/eventfd.ts';
import { Ctx, Limit } from './device/format.ts';
import { Dev, layoutDigest, Stop } from './device/layout.ts';

/** The smallest part of the arena lend() lends: its header, a core's scratch area, a descriptor block, its own area, and room for buffers. */
export const LEND_MIN = 256 << 10;

/** Bytes of a lent part's header (owner, key, end). */
export const PART_HEADER = 64;
const RECLAIMING = -1;

const headerOf = (memory: WebAssembly.Memory, base: number): Int32Array => new Int32Array(memory.buffer as unknown as SharedArrayBuffer, base, 4);

/** Marks [base, end) a lent part, free, under a new random key (the handle's). */
export function markLent(memory: WebAssembly.Memory, base: number, end: number): [number, number] {
  const key = crypto.getRandomValues(new Uint32Array(2));
  key[0] |= 1; // (never all zeros: zeroed memory holds no key)
  const h = headerOf(memory, base);
  Atomics.store(h, 1, key[0] | 0);
  Atomics.store(h, 2, key[1] | 0);
  Atomics.store(h, 3, end | 0);
  Atomics.store(h, 0, 0);
  return [key[0], key[1]];
}

/** Whether the header at `base` holds this part's key and end (else it is no lent part of that handle's). */
function holds(h: Int32Array, part: { end: number; key: [number, number] }): boolean {
  return Atomics.load(h, 1) === (part.key[0] | 0) && Atomics.load(h, 2) === (part.key[1] | 0) && Atomics.load(h, 3) === (part.end | 0);
}

/**
 * Starts taking the part at `base` back: true once no thread holds it (none attached, or the one
 * that did has detached or ended: `isLive` of its owner token is false), and no thread can
 * attach to it from then on; false while one holds it.
 */
export function beginReclaim(memory: WebAssembly.Memory, base: number, isLive: (owner: number) => boolean): boolean {
  const h = headerOf(memory, base);
  for (;;) {
    const owner = Atomics.load(h, 0);
    if (owner === RECLAIMING) return true;
    if (owner !== 0 && isLive(owner)) return false;
    if (Atomics.compareExchange(h, 0, owner, RECLAIMING) === owner) return true;
  }
}

/** Ends a reclaim: the key wiped (the owner left reclaiming), so no handle of the part attaches to its bytes again. */
export function endReclaim(memory: WebAssembly.Memory, base: number): void {
  headerOf(memory, base).fill(0, 1);
}

/** The lent part a handle names, checked against its layout: [base, end) in the arena, 64-aligned, at least `least` bytes, and a key. */
function partOf(handle: DeviceHandle, least: number): { base: number; end: number; key: [number, number] } | null {
  const a = handle.arena;
  if (a === undefined) return null;
  const { arenaBase, arenaEnd } = handle.layout;
  const ok = a !== null && typeof a === 'object' && Number.isInteger(a.base) && Number.isInteger(a.end) && a.base % 64 === 0 && a.base >= arenaBase && a.end <= arenaEnd && a.end - a.base >= least &&
    Array.isArray(a.key) && a.key.length === 2 && a.key.every((k) => Number.isInteger(k) && k >= 0 && k <= 0xffffffff);
  if (!ok) throw argCoded(new TypeError('Device.attach(handle): handle.arena must be a part of the arena as lend() gives it'));
  return { base: a.base, end: a.end, key: [a.key![0], a.key![1]] };
}

/** What a thread's calls set aside of its part as it attaches, before any buffer can take the room. */
interface Reserved {
  maxBatch: number;
  /** its full descriptor block (0: the part had no room for one) */
  kept: number;
  here: { base: number; bytes: number } | undefined;
  /** its core's scratch area */
  scratch: number;
}

/** What attached devices of this thread give back when it exits: one 'exit' listener for all (one each warned past ten). */
const onExit = new Set<() => void>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const release of onExit) release();
  });
}

export class AttachedDevice extends DeviceCalls {
  readonly #vector: number;
  readonly #handle: DeviceHandle;
  /** the owner token this thread wrote into its part's header */
  readonly #owner: number;
  /** what the calls set aside of the part at attach; null: no part */
  readonly #reserved: Reserved | null = null;
  #ops: Ops | null = null;
  /** the device's control words: the opener's close sets STOP */
  readonly #stop: Int32Array;

  /**
   * Detaching or detached, or the opener closed the device: calls, buffers and ready() are
   * refused from then on (DEVICE_CLOSED). (Its close was seen only by calls that reached the
   * queue: a small call ran inline and resolved, a large one rejected, buffer() still handed out.)
   */
  override get isClosing(): boolean {
    return this.closed || Atomics.load(this.#stop, Dev.STOP) !== Stop.RUNNING;
  }

  constructor(handle: DeviceHandle, spin: number) {
    if (handle === null || typeof handle !== 'object' || !(handle.memory instanceof WebAssembly.Memory) || typeof handle.layout !== 'object') {
      throw argCoded(new TypeError('Device.attach(handle): handle must be the `handle` of an open device, or one from its lend()'));
    }
    if (!handle.shared) throw Errors.dedicated();
    const lent = partOf(handle, LEND_MIN);
    const part = lent === null ? null : { base: lent.base + PART_HEADER, end: lent.end };
    // The default portal: the first shared WQ (dedicated ones are the opener's).
    super(handle.memory, handle.layout, handle.eventfd ? loadEventFd() : null, spin, handle.layout.wqs.findIndex((w) => w.mode === 'shared'), part);
    this.#handle = handle;
    if (this.arena !== null) this.arena.larger = 'have the opener lend this thread a larger part (dev.lend(bytes))';
    const stop = (this.#stop = new Int32Array(handle.memory.buffer as unknown as SharedArrayBuffer, handle.layout.device, 16));
    if (Atomics.load(stop, Dev.LAYOUT) !== layoutDigest(handle.layout)) throw argCoded(new TypeError('Device.attach(handle): handle.layout is not the layout of the device it names (changed since lend() or handle() gave it): send the handle as it was given'));
    if (Atomics.load(stop, Dev.STOP) !== Stop.RUNNING) throw Errors.closed();
    this.#vector = this.vectors.claim();
    if (this.#vector < 0) throw Errors.noHandles();
    this.#owner = this.vectors.owner(this.#vector);
    if (lent !== null) {
      const h = headerOf(handle.memory, lent.base);
      // (the key first: a part reclaimed since holds none, and its bytes may be anyone's now;
      // again once claimed, in case the part was reclaimed between the two)
      const keyed = holds(h, lent);
      const was = keyed ? Atomics.compareExchange(h, 0, 0, this.#owner) : RECLAIMING;
      if (was !== 0 || !holds(h, lent)) {
        if (was === 0) Atomics.compareExchange(h, 0, this.#owner, 0);
        this.vectors.release(this.#vector);
        throw was === 0 || was === RECLAIMING ? Errors.partGone() : Errors.partTaken();
      }
      this.#reserved = this.#reserve(lent.end - lent.base);
    }
    this.connect(this.#vector);
    // A thread that ends without detaching gives its vector back, so that what it left in the
    // queue is reclaimed instead of jamming it. Not its part: what it left queued may still write
    // there (given back, the part went to the next thread that attached with the handle, a
    // worker respawned with the same workerData, and the old copies landed in its new buffers).
    // It stays taken, as a terminated thread's does, until reclaim() drains that work.
    hookExit();
    onExit.add(this.#release);
  }

  readonly #release = (): void => {
    this.vectors.release(this.#vector);
  };

  protected override setAsideBytes(): number {
    const r = this.#reserved;
    const a = this.arena;
    if (r === null || a === null) return 0;
    // (the part's header, before the allocator's range, and the blocks #reserve took)
    return this.arenaBytes - a.size + a.blockBytes(r.scratch) + (r.kept !== 0 ? a.blockBytes(r.kept) : 0) + (r.here?.bytes ?? 0);
  }

  /** the part was given back (detach, or the thread's end): its bytes are no longer this thread's to write */
  #given = false;

  protected override get wipesOwed(): boolean {
    return !this.#given;
  }

  #givePart(): void {
    this.#given = true;
    if (this.#reserved !== null) Atomics.compareExchange(headerOf(this.memory, this.#handle.arena!.base), 0, this.#owner, 0);
  }

  /**
   * Sets aside, in a part of `bytes`, what the calls need before any buffer can take its room (a
   * part filled with buffers before the first call had left the calls none): the core's scratch,
   * a full descriptor block and the thread's own area, as the opener's device does at open.
   */
  #reserve(bytes: number): Reserved {
    const arena = this.arena!;
    const index = this.portal.wq.index;
    // (the WQ's limit, from the device context its descriptors run under)
    const wqMaxBatch = new DataView(this.memory.buffer as unknown as SharedArrayBuffer, this.layout.wqs[index].ctx).getUint32(Ctx.MAX_BATCH, true);
    const maxBatch = Math.max(1, Math.min(wqMaxBatch, Math.floor(bytes / 8 / 96)));
    const scratch = arena.alloc(Limit.CORE_SCRATCH_BYTES, 64, true);
    let kept = 0;
    try {
      kept = arena.alloc(blockBytes(maxBatch), 64, true);
    } catch {
      // (a part too small for a full block: calls take blocks as they find room)
    }
    return { maxBatch, kept, here: hereArea(arena, bytes), scratch };
  }

  /** This thread's drop-in calls, over its part of the arena (a handle from Device.lend); made on first use. */
  override get ops(): Ops {
    if (this.isClosing) throw Errors.closed();
    if (this.#ops === null) {
      if (this.#reserved === null) throw Errors.noArena();
      const { maxBatch, kept, here } = this.#reserved;
      const layout = this.layout;
      const index = this.portal.wq.index;
      const maxTransfer = new DataView(this.memory.buffer as unknown as SharedArrayBuffer, layout.wqs[index].ctx).getUint32(Ctx.MAX_TRANSFER, true);
      const group = layout.groups.find((g) => g.wqs.includes(index)) ?? layout.groups[0];
      const access = this.callsAccess({
        copy: (dst, src, length) => this.coreHere().copy(dst, src, length),
        ready: () => true, // (the opener's engines: they run, or will, while the device is open)
        maxBatch,
        keptBlock: kept,
        here,
        // Other SharedArrayBuffers are registered by the opener only: calls on them run here.
        spaces: { id: () => -1, hold: () => {}, release: () => {} },
      }, keptOf(this.#handle.kept));
      this.#ops = new Ops(access, this.memory, { engines: group.engines.length, maxBatch, inlineThreshold: 'auto', splitThreshold: 'auto', maxTransfer, cacheBypassBytes: this.#handle.cacheBypassBytes });
      this.#ops.calibrate();
    }
    return this.#ops;
  }

  /** This thread's core: the opener's module (sent with the handle), its scratch area in the part. */
  protected override coreSource(): { module: WebAssembly.Module; scratch: number } {
    return { module: this.#handle.module ?? coreModule(), scratch: this.#reserved!.scratch };
  }

  /** Bytes of the part lent to this thread (0: none). */
  override get arenaBytes(): number {
    const a = this.#handle.arena;
    return a === undefined ? 0 : a.end - a.base;
  }

  /** The opener's engines run while the device is open. */
  override get isReady(): boolean {
    return !this.isClosing;
  }

  /** Resolves at once: the opener's engines run, or will, while the device is open (rejects with DEVICE_CLOSED once it is closed, or this thread detached). */
  override ready(): Promise<void> {
    return this.isClosing ? Promise.reject(Errors.closed()) : Promise.resolve();
  }

  /** Per-operation counts, bytes, placement and latency of this thread's drop-in calls; its batching; the device's injected faults (every thread's: the table is shared). */
  stats(): Pick<DeviceStats, 'ops' | 'batches' | 'inlineThresholds' | 'faults'> {
    const ops = this.#ops;
    return {
      ops: ops === null ? {} : ops.stats.snapshot(),
      batches: ops === null ? { batches: 0, descriptors: 0 } : ops.batches,
      inlineThresholds: ops === null ? null : { ...ops.thresholds },
      faults: new FaultTable(this.memory, this.layout).stats(),
    };
  }

  /**
   * Waits for this thread's work (its calls to their last step; done, or refused once the device
   * closed), then releases its vector and its part of the arena (the opener may reclaim it).
   */
  detach(): Promise<void> {
    // (a second call waits for the same end: it had resolved at once, the thread's calls still running)
    return (this.#detached ??= this.closed ? Promise.resolve() : this.#detach());
  }

  #detached: Promise<void> | null = null;

  async #detach(): Promise<void> {
    this.beginClosing(); // (new calls are refused; those in flight send their later steps)
    this.#ops?.flush();
    this.#ops?.stop(); // (its measuring, which would use the part after it is given back)
    await this.#ops?.idle();
    await this.arenaIoDone(); // (its file calls have rejected; a regular file's read or write still lands)
    await this.settlePortals();
    this.closeInterrupts();
    onExit.delete(this.#release);
    this.closePortals(); // closes this thread's interrupts: their vectors and handles go back
    this.finishWipes(); // (its blocks waiting to be zeroed: zeroed now, before the part goes back; a thread that attaches next takes them)
    this.#givePart();
  }
}

rejectOffDevice(AttachedDevice, ['ready', 'detach']);
throwOffDevice(AttachedDevice, ['stats']);

/** The opener's kept ranges a handle names (lend()), well formed; none where it names none. */
function keptOf(kept: unknown): Array<[number, number]> {
  if (!Array.isArray(kept)) return [];
  return kept.filter((r): r is [number, number] => Array.isArray(r) && Number.isInteger(r[0]) && Number.isInteger(r[1]));
}
