// A device joined from another thread of the program (Device.attach): submit and the raw verbs
// into the device's first shared WQ, on a vector of its own. With a handle from Device.lend, the
// thread also has a part of the arena of its own: buffers from it, and the drop-in calls
// (memcpy, crc32c, ...) on the opener's engines, as a DSA client process keeps its buffers in
// its own address space. The opener owns the device: close, fault rules, mapped files.
//
// A lent part starts with a 64-byte header whose first word the attaching thread claims (one
// thread a part) and gives back as it detaches or exits, so the opener can tell when reclaim()
// is safe: 0 free, else the attached thread's vector + 1 (one word: claimed and named at once).
//
//   part: | owner (i32) | ... | the thread's buffers, its descriptor block, its own area |
import { DeviceCalls, hereArea } from './api/calls.ts';
import { blockBytes } from './api/batcher.ts';
import { type DeviceAccess, Ops } from './api/ops.ts';
import type { DeviceHandle } from './device/connection.ts';
import type { DeviceStats } from './device.ts';
import { coreModule, instantiateCore, type Core } from './device/core.ts';
import { Errors } from './device/errors.ts';
import { loadEventFd } from './device/eventfd.ts';
import { Ctx, Limit } from './device/format.ts';
import { Dev, Stop } from './device/layout.ts';

/** The smallest part of the arena lend() lends: its header, a core's scratch area, a descriptor block, its own area, and room for buffers. */
export const LEND_MIN = 256 << 10;

/** Bytes of a lent part's header (its owner word). */
export const PART_HEADER = 64;

/** The owner word of the lent part at `base`: 0 free, else the attached thread's vector + 1. */
export const partOwner = (memory: WebAssembly.Memory, base: number): Int32Array => new Int32Array(memory.buffer as unknown as SharedArrayBuffer, base, 1);

/** Whether the part at `base` is attached by a thread that still runs (its vector's owner is live). */
export function partInUse(memory: WebAssembly.Memory, base: number, vectorLive: (v: number) => boolean): boolean {
  const owner = Atomics.load(partOwner(memory, base), 0);
  return owner !== 0 && vectorLive(owner - 1);
}

/** The lent part a handle names, checked against its layout: [base, end) in the arena, 64-aligned, at least `least` bytes. */
function partOf(handle: DeviceHandle, least: number): { base: number; end: number } | null {
  const a = handle.arena;
  if (a === undefined) return null;
  const { arenaBase, arenaEnd } = handle.layout;
  if (a === null || typeof a !== 'object' || !Number.isInteger(a.base) || !Number.isInteger(a.end) || a.base % 64 !== 0 || a.base < arenaBase || a.end > arenaEnd || a.end - a.base < least) {
    throw new TypeError('Device.attach(handle): handle.arena must be a part of the arena as lend() gives it');
  }
  return { base: a.base, end: a.end };
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
  #ops: Ops | null = null;
  #core: Core | null = null;
  /** this thread's core's scratch area (in its part), taken with the core */
  #scratch = 0;

  constructor(handle: DeviceHandle, spin: number) {
    if (handle === null || typeof handle !== 'object' || !(handle.memory instanceof WebAssembly.Memory) || typeof handle.layout !== 'object') {
      throw new TypeError('Device.attach(handle): handle must be the `handle` of an open device, or one from its lend()');
    }
    if (!handle.shared) throw Errors.dedicated();
    const lent = partOf(handle, LEND_MIN);
    const part = lent === null ? null : { base: lent.base + PART_HEADER, end: lent.end };
    // The default portal: the first shared WQ (dedicated ones are the opener's).
    super(handle.memory, handle.layout, handle.eventfd ? loadEventFd() : null, spin, handle.layout.wqs.findIndex((w) => w.mode === 'shared'), part);
    this.#handle = handle;
    const stop = new Int32Array(handle.memory.buffer as unknown as SharedArrayBuffer, handle.layout.device, 16);
    if (Atomics.load(stop, Dev.STOP) !== Stop.RUNNING) throw Errors.closed();
    this.#vector = this.vectors.claim();
    if (this.#vector < 0) throw Errors.noHandles();
    if (lent !== null && Atomics.compareExchange(partOwner(handle.memory, lent.base), 0, 0, this.#vector + 1) !== 0) {
      this.vectors.release(this.#vector);
      throw Errors.partTaken();
    }
    this.connect(this.#vector);
    // A thread that ends without detaching gives its vector (and its part) back, so that what it
    // left in the queue is reclaimed instead of jamming it.
    hookExit();
    onExit.add(this.#release);
  }

  readonly #release = (): void => {
    this.#givePart();
    this.vectors.release(this.#vector);
  };

  #givePart(): void {
    if (this.#handle.arena !== undefined) Atomics.compareExchange(partOwner(this.memory, this.#handle.arena.base), 0, this.#vector + 1, 0);
  }

  /** This thread's drop-in calls, over its part of the arena (a handle from Device.lend); made on first use. */
  override get ops(): Ops {
    if (this.closed) throw Errors.closed();
    if (this.#ops === null) {
      const arena = this.allocator; // (throws NO_ARENA without a part)
      const layout = this.layout;
      const index = this.portal.wq.index;
      // (the WQ's limits, from the device context its descriptors run under)
      const ctx = new DataView(this.memory.buffer as unknown as SharedArrayBuffer, layout.wqs[index].ctx);
      const wqMaxBatch = ctx.getUint32(Ctx.MAX_BATCH, true);
      const maxTransfer = ctx.getUint32(Ctx.MAX_TRANSFER, true);
      const group = layout.groups.find((g) => g.wqs.includes(index)) ?? layout.groups[0];
      const maxBatch = Math.max(2, Math.min(wqMaxBatch, Math.floor((this.#handle.arena!.end - this.#handle.arena!.base) / 8 / 96)));
      let kept = 0;
      try {
        kept = arena.alloc(blockBytes(maxBatch), 64, true);
      } catch {
        // (a part too small for a full block: calls take blocks as they find room)
      }
      const here = hereArea(arena, this.#handle.arena!.end - this.#handle.arena!.base);
      const core = (): Core => this.#coreHere();
      const access: DeviceAccess = {
        arena: { buffer: this.memory.buffer as unknown as SharedArrayBuffer, base: layout.arenaBase, end: layout.arenaEnd },
        crc: (addr, length, seed) => core().crc32c(addr, length, seed, 0) >>> 0,
        crc16: (addr, length, seed) => core().crc16(addr, length, seed) & 0xffff,
        execute: (desc) => core().execute(desc, layout.ctx, 0),
        copy: (dst, src, length) => core().copy(dst, src, length),
        hasCore: () => this.#core !== null,
        ready: () => true, // (the opener's engines: they run, or will, while the device is open)
        asleep: () => this.portal.enginesAsleep(),
        submit: (d) => this.portal.submit(d),
        submitNow: (d, g) => this.portal.submitNow(d, g),
        wake: (n) => this.portal.doorbell(n),
        alloc: (n, a, top) => arena.alloc(n, a, top),
        free: (a) => arena.free(a),
        maxBatch,
        keptBlock: kept,
        here,
        // Other SharedArrayBuffers are registered by the opener only: calls on them run here.
        spaces: { id: () => -1, hold: () => {}, release: () => {} },
      };
      this.#ops = new Ops(access, this.memory, { engines: group.engines.length, maxBatch, inlineThreshold: 'auto', splitThreshold: 'auto', maxTransfer, cacheBypassBytes: this.#handle.cacheBypassBytes });
      this.#ops.calibrate();
    }
    return this.#ops;
  }

  /** This thread's instance of the core (inline calls), its scratch area taken from the part. */
  #coreHere(): Core {
    if (this.#core === null) {
      const core = instantiateCore(this.#handle.module ?? coreModule(), this.memory);
      this.#scratch = this.allocator.alloc(Limit.CORE_SCRATCH_BYTES, 64);
      core.init(this.layout.ctx, this.#scratch);
      this.#core = core;
    }
    return this.#core;
  }

  /** Per-operation counts, bytes, placement and latency of this thread's drop-in calls; its batching. */
  stats(): Pick<DeviceStats, 'ops' | 'batches' | 'inlineThresholds'> {
    const ops = this.#ops;
    return {
      ops: ops === null ? {} : ops.stats.snapshot(),
      batches: ops === null ? { batches: 0, descriptors: 0 } : ops.batches,
      inlineThresholds: ops === null ? null : { ...ops.thresholds },
    };
  }

  /**
   * Waits for this thread's work (its calls to their last step; done, or refused once the device
   * closed), then releases its vector and its part of the arena (the opener may reclaim it).
   */
  async detach(): Promise<void> {
    if (this.closed) return;
    this.closed = true; // (new calls are refused; those in flight send their later steps)
    this.#ops?.flush();
    await this.#ops?.idle();
    await this.settlePortals();
    this.closeInterrupts();
    onExit.delete(this.#release);
    this.closePortals(); // closes this thread's interrupts: their vectors and handles go back
    this.#givePart();
  }
}
