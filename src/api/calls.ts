// The drop-in calls on a thread's connection to a device: arena buffers (buffer, alloc, free)
// and memcpy, crc32c, compare and the others, each through this thread's Ops. The opener's
// Device allocates from the whole arena; an attached thread from the part the opener lent it
// (Device.lend), as a DSA client process has its own buffers in its own address space.
import { Allocator } from '../device/allocator.ts';
import { Wiper } from '../device/wiper.ts';
import { DeviceConnection, isConnection, rejectOffDevice, throwOffDevice, unlisted } from '../device/connection.ts';
import { argCoded, Errors, typeName } from '../device/errors.ts';
import type { EventFdAddon } from '../device/eventfd.ts';
import { addonCrc, bytesAt } from '../device/host.ts';
import type { Bytes } from './args.ts';
import { BatchBuilder } from './batch_builder.ts';
import { blockBytes } from './batcher.ts';
import type { DifOptions, DifUpdateOptions } from './dif.ts';
import type { DeviceAccess, Ops } from './ops.ts';
import { type Core, instantiateCore } from '../device/core.ts';
import { CTX_ADDR, type Layout } from '../device/layout.ts';

/** A descriptor and its record, 64-aligned: the first bytes of a thread's here area (DeviceAccess.here). */
export const HERE_SLOT = 128;

/**
 * The least here area: its descriptor slot and one DIF block with its output, the largest
 * (4104-byte blocks and their 8-byte tuples, both ways): a DIF call on memory outside a full
 * small arena runs here (a 16th of a 64 KiB arena held no 4 KiB block).
 */
const HERE_MIN = HERE_SLOT + 2 * (4104 + 8) + 32;

/** The size of a thread's here area for an arena (or part) of arenaBytes: 64 KiB, or a 16th of a small one (at least HERE_MIN). */
export const hereBytes = (arenaBytes: number): number => Math.max(HERE_MIN, Math.min(64 << 10, Math.floor(arenaBytes / 16 / 64) * 64));

/**
 * Sets aside a thread's here area (DeviceAccess.here) in `arena`: a descriptor slot and a staging
 * window, 64 KiB, or a 16th of a small arena (at least HERE_MIN); undefined when even that does not fit.
 */
export function hereArea(arena: Allocator, arenaBytes: number): { base: number; bytes: number } | undefined {
  const bytes = hereBytes(arenaBytes);
  try {
    return { base: arena.alloc(bytes, 64, true), bytes };
  } catch {
    return undefined;
  }
}

/** Arena bytes [base, end): what a thread allocates its buffers from. */
export interface ArenaPart {
  base: number;
  end: number;
}

/** What waits for each device to begin closing (onClosing). */
const closers = new WeakMap<DeviceCalls, Set<() => void>>();

/**
 * Calls `fn` as dev begins to close (an attached thread's, to detach), or at once if it has: what a
 * call waits for outside the device, a file's read or write that can block for good (a FIFO whose
 * other end is idle), stops waiting then, and the call rejects with DEVICE_CLOSED. Returns what
 * takes `fn` off. (Callbacks, not an AbortSignal: a dozen file calls at once made Node warn of a
 * listener leak on it.)
 */
export function onClosing(dev: DeviceCalls, fn: () => void): () => void {
  if (dev.isClosing) {
    fn();
    return () => {};
  }
  let set = closers.get(dev);
  if (set === undefined) closers.set(dev, (set = new Set()));
  set.add(fn);
  return () => void set.delete(fn);
}

/** The arena ranges [from, to) a thread keeps for its own calls: its descriptor block (0 or absent: none), its here area. */
export function keptRanges(own: { keptBlock?: number | undefined; maxBatch: number; here?: { base: number; bytes: number } | undefined }): Array<[number, number]> {
  const kept: Array<[number, number]> = [];
  if (own.keptBlock) kept.push([own.keptBlock, own.keptBlock + blockBytes(own.maxBatch)]);
  if (own.here) kept.push([own.here.base, own.here.base + own.here.bytes]);
  return kept;
}

/** Each device's file reads and writes in flight on its arena memory (arenaIo), and what waits for none. */
const arenaIos = new WeakMap<DeviceCalls, { n: number; idle: Array<() => void> }>();

/**
 * p, a read into or a write from dev's arena memory on Node's thread pool, counted until it ends:
 * it cannot be called back, and an attached thread's part is not given back (detach()) while one
 * is in flight (the lender took the part again, and a file call's read landed in it after).
 */
export function arenaIo<T>(dev: DeviceCalls, p: Promise<T>): Promise<T> {
  let io = arenaIos.get(dev);
  if (io === undefined) arenaIos.set(dev, (io = { n: 0, idle: [] }));
  const c = io;
  c.n++;
  const end = (): void => {
    if (--c.n === 0) for (const wake of c.idle.splice(0)) wake();
  };
  p.then(end, end);
  return p;
}

/**
 * DeviceCalls[releaseOwn](addr): free() of a block the API took for its own work (a file call's
 * chunks and records), zeroed first (Wiper: a large one over turns): the program never wrote there. (In the
 * global registry: a device of the CommonJS build passed to a call of the ES one has it too.)
 */
export const releaseOwn = Symbol.for('softdsa.releaseOwn');

/** DeviceCalls[setAside]: bytes of arenaBytes its calls keep for good (an attached thread's part: its scratch, descriptor block and own area), which no buffer can ever take. */
export const setAside = Symbol.for('softdsa.setAside');

export abstract class DeviceCalls extends DeviceConnection {
  /** this thread's allocator over its part of the arena; null: it has none (no buffers, no calls) */
  protected readonly arena: Allocator | null;
  /**
   * the Buffers buffer() gave out and not freed, by address: freed either way, a block is gone
   * from here (a dictionary, as the allocator's: a Map slowed down, 45 us a buffer() and free(),
   * with a block of one address taken and freed over and over beside 20,000 others)
   */
  readonly #buffers: { [addr: number]: Uint8Array } = Object.create(null) as { [addr: number]: Uint8Array };

  protected constructor(memory: WebAssembly.Memory, layout: Layout, addon: EventFdAddon | null, spin: number, wqIndex: number, part: ArenaPart | null) {
    super(memory, layout, addon, spin, wqIndex);
    this.arena = part === null ? null : new Allocator(part.base, part.end);
    unlisted(this, 'arena');
    if (this.arena !== null) {
      // Fresh arena memory is zeros, and a program's block holds only what its own calls wrote
      // there (the warm-up's descriptors, a file's bytes read into the device's windows, did; a
      // new device's first buffer held 122 bytes of them): blocks the device used go back zeroed.
      // (this thread's core's MEMFILL where it is made, at memory speed; a typed array's fill of
      // shared memory goes an element at a time)
      // (not once no block is handed out again: see wipesOwed)
      const arena = this.arena;
      this.#wiper = new Wiper(
        (addr, bytes) => {
          if (!this.wipesOwed) return;
          if (this.hasCoreHere) this.coreHere().fill(addr, bytes, 0n);
          else new Uint8Array(memory.buffer, addr, bytes).fill(0);
        },
        (addr) => {
          arena.free(addr);
          this.blockFreed(addr);
        },
      );
      arena.reclaim = () => this.reclaimHeld();
    }
  }

  /** zeroes the blocks the device used for its own work as they go back ([releaseOwn]); null: no arena */
  readonly #wiper: Wiper | null = null;

  /** The high-level operations of this thread (memcpy, crc32c, ...), made on first use. */
  abstract get ops(): Ops;

  /** Bytes of arena this thread's buffers come from: the device's arenaBytes, or the part lent to an attached thread (0: none). */
  abstract get arenaBytes(): number;

  /** The engines run (an attached thread's: the opener's, while the device is open). */
  abstract get isReady(): boolean;

  /** Resolves once the engines run. */
  abstract ready(): Promise<void>;

  /** This thread's allocator; throws when the device is closed or the thread has no part of the arena. */
  protected get allocator(): Allocator {
    if (this.isClosing) throw Errors.closed();
    if (this.arena === null) throw Errors.noArena();
    return this.arena;
  }

  /** Arena bytes: an address never 0, aligned (default 64), holding what was last written there (as Buffer.allocUnsafe). Throws RangeError when full. */
  alloc(bytes: number, align = 64): number {
    const addr = this.allocator.alloc(bytes, align);
    this.#handedOut.add(addr);
    return addr;
  }

  /**
   * The blocks alloc() and buffer() handed out and not freed: the program's to free by address.
   * The device's own (its descriptor block, its area, a mapped file's windows) were freed too,
   * and buffers cut from them were then written by the device (1536 bytes), or a window given
   * back on a timer threw there and ended the process.
   */
  readonly #handedOut = new Set<number>();

  /**
   * Gives arena memory back: an address alloc() returned, or a Buffer exactly as buffer()
   * returned it (the byte offset of any other view, a subarray or an empty view at a block's
   * end, could be the address of someone else's block). Free a buffer once the calls on it have
   * settled: one still in flight writes into whoever takes the block next.
   */
  free(addr: number | Uint8Array): void {
    if (this.arena === null) throw Errors.noArena();
    if (addr instanceof Uint8Array) {
      if (addr.buffer !== this.memory.buffer) throw argCoded(new RangeError('free: this buffer is not from this device\'s buffer() or alloc() (another device\'s, or memory of its own): free it where it was made'));
      if (this.#buffers[addr.byteOffset] !== addr) throw argCoded(new RangeError('free: expects a Buffer exactly as buffer() or alloc() returned it (not a view of one), not freed already'));
      delete this.#buffers[addr.byteOffset];
      this.#handedOut.delete(addr.byteOffset);
      this.arena.free(addr.byteOffset);
      this.blockFreed(addr.byteOffset);
      return;
    }
    if (typeof addr !== 'number') throw argCoded(new TypeError(`free(addr): addr must be an address alloc() returned or a Buffer from buffer(); got ${typeName(addr)}`));
    const why = this.notFreeable(addr);
    if (why !== null) throw Errors.notFreeable(addr, why);
    if (!this.#handedOut.has(addr)) {
      // (a block of the device's own, or one freed already: being zeroed, say)
      if (!this.#wiper!.has(addr) && this.arena.holds(addr)) throw Errors.notFreeable(addr, 'the device uses that block for its own work (its descriptors, its own area, a mapped file\'s windows): only what alloc() and buffer() return is the program\'s to free');
      throw Errors.badFree(addr);
    }
    this.#handedOut.delete(addr);
    this.arena.free(addr);
    // (a Buffer's block freed by its address: the Buffer no longer frees it, by then perhaps someone else's)
    delete this.#buffers[addr];
    this.blockFreed(addr);
  }

  /** free() of a block the API took for its own work (releaseOwn): zeroed first, as far as `written` says anything was written there; `freed` is called once it is free (a large block: some turns later). */
  [releaseOwn](addr: number, written = Infinity, freed?: () => void): void {
    if (this.arena === null) throw Errors.noArena();
    if (this.#wiper!.has(addr)) throw Errors.badFree(addr);
    const bytes = Math.min(written, this.arena.blockBytes(addr));
    delete this.#buffers[addr];
    this.#handedOut.delete(addr);
    this.#wiper!.release(addr, this.wipesOwed ? Math.max(bytes, 0) : 0, freed);
  }

  /**
   * Whether blocks going back must still be zeroed: the opener's arena until it closes (no block
   * is handed out after that, and its free pages are given back); an attached thread's part until
   * it is given back (it outlives the detach: another thread may attach to it).
   */
  protected get wipesOwed(): boolean {
    return !this.closed;
  }

  /** Bytes of arenaBytes no buffer can ever take (setAside): none on the opener, whose arenaBytes is what its buffers have. */
  get [setAside](): number {
    return this.setAsideBytes();
  }

  protected setAsideBytes(): number {
    return 0;
  }

  /** Gives back now what the device holds but could free (an allocation found no room): true when it gave some. */
  protected reclaimHeld(): boolean {
    return this.finishWipes();
  }

  /** Zeroes and frees now the blocks still waiting for it (at close: no zeroing then, only the freeing). */
  protected finishWipes(): boolean {
    return this.#wiper?.flush() ?? false;
  }

  /** Called as a block goes back to the arena, by free() or [releaseOwn] (the opener gives its pages back after close()). */
  protected blockFreed(_addr: number): void {}


  /** Why the block at addr, allocated by this device, may not be freed by its address (null: it may). */
  protected notFreeable(_addr: number): string | null {
    return null;
  }

  /** Resolves once no file read or write on this device's arena memory is in flight (arenaIo). */
  protected arenaIoDone(): Promise<void> {
    const io = arenaIos.get(this);
    return io === undefined || io.n === 0 ? Promise.resolve() : new Promise((resolve) => io.idle.push(resolve));
  }

  /** Marks the device closing: calls are refused from now, and what waits for that (onClosing) is called. */
  protected beginClosing(): void {
    this.closed = true;
    const waiting = closers.get(this);
    closers.delete(this);
    for (const fn of waiting ?? []) fn();
  }

  /** A Buffer of arena memory: what engines reach with no copy, holding what was last written there (as Buffer.allocUnsafe). Give it back with free(buf). */
  buffer(size: number): Buffer {
    if (typeof size !== 'number') throw argCoded(new TypeError(`buffer(size): size must be a number; got ${typeof size === 'string' ? `the string ${JSON.stringify(size)}` : typeName(size)}`));
    if (!Number.isInteger(size) || size < 0) throw argCoded(new RangeError(`buffer(size): size must be a non-negative integer; got ${size}`));
    const addr = this.alloc(Math.max(1, size));
    const buf = bytesAt(this.memory.buffer, addr, size);
    this.#buffers[addr] = buf;
    this.bufferTaken();
    return buf;
  }

  /** Called as buffer() hands out a buffer (the opener readies its core for the first calls). */
  protected bufferTaken(): void {}

  #core: Core | null = null;

  /** The module and scratch area of this thread's core: the opener's slot in the control region, an attached thread's in its part. */
  protected abstract coreSource(): { module: WebAssembly.Module; scratch: number };

  /**
   * This thread's instance of the core, made on first use: it runs inline calls and CRCs of arena
   * bytes in its own scratch area (the CRC tables are built by the engines too: idempotent).
   */
  protected coreHere(): Core {
    if (this.#core === null) {
      const { module, scratch } = this.coreSource();
      const core = instantiateCore(module, this.memory, { crc: addonCrc() });
      if (core.heapBase() > CTX_ADDR) throw new Error('softdsa: the core static data overlaps the control region');
      core.init(this.layout.ctx, scratch);
      this.#core = core;
    }
    return this.#core;
  }

  /** Whether this thread's core is made yet. */
  protected get hasCoreHere(): boolean {
    return this.#core !== null;
  }

  /**
   * What this thread's Ops needs of it: the portal's verbs, this thread's core (made on first
   * use), its allocator; `own`: what differs between the opener and an attached thread.
   */
  protected callsAccess(own: Pick<DeviceAccess, 'copy' | 'ready' | 'maxBatch' | 'keptBlock' | 'here' | 'spaces'>, othersKept: ReadonlyArray<[number, number]> = []): DeviceAccess {
    const arena = this.allocator;
    const ctx = this.layout.ctx;
    const core = (): Core => this.coreHere();
    const kept = [...othersKept, ...keptRanges(own)];
    return {
      ...own,
      hasCore: () => this.hasCoreHere,
      arena: { buffer: this.memory.buffer as unknown as SharedArrayBuffer, base: this.layout.arenaBase, end: this.layout.arenaEnd, kept },
      crc: (addr, length, seed) => core().crc32c(addr, length, seed, 0) >>> 0,
      crc16: (addr, length, seed) => core().crc16(addr, length, seed) & 0xffff,
      fill: (addr, length, pattern) => core().fill(addr, length, pattern),
      execute: (desc) => core().execute(desc, ctx, 0),
      asleep: () => this.portal.enginesAsleep(),
      faulting: () => this.portal.faulting(),
      submit: (d) => this.portal.submit(d),
      submitNow: (d, group, traced) => this.portal.submitNow(d, group, traced),
      wake: (n) => this.portal.doorbell(n),
      alloc: (n, a, top) => arena.alloc(n, a, top),
      free: (a) => this[releaseOwn](a), // (only blocks the calls took for their own work come back here)
      // (both: blocks waiting to be zeroed, and the batcher's pool)
      reclaimWith: (fn) => void (arena.reclaim = () => {
        const held = this.reclaimHeld();
        return fn() || held;
      }),
      arenaBytes: arena.size,
    };
  }

  memcpy<T extends Bytes>(dst: T, src: Bytes, length?: number): Promise<T> {
    return this.#op((o) => o.memcpy(dst, src, length));
  }
  memmove<T extends Bytes>(dst: T, src: Bytes, length?: number): Promise<T> {
    return this.#op((o) => o.memmove(dst, src, length));
  }
  fill<T extends Bytes>(dst: T, pattern: number | bigint | Bytes, offset?: number, length?: number): Promise<T> {
    return this.#op((o) => o.fill(dst, pattern, offset, length));
  }
  compare(a: Bytes, b: Bytes): Promise<number> {
    return this.#op((o) => o.compare(a, b));
  }
  firstDifference(a: Bytes, b: Bytes): Promise<number> {
    return this.#op((o) => o.firstDifference(a, b));
  }
  crc32c(data: Bytes, seed?: number): Promise<number> {
    return this.#op((o) => o.crc32c(data, seed));
  }
  copyCrc32c(dst: Bytes, src: Bytes, seed?: number): Promise<number> {
    return this.#op((o) => o.copyCrc32c(dst, src, seed));
  }
  dualcast(dst1: Bytes, dst2: Bytes, src: Bytes, length?: number): Promise<void> {
    return this.#op((o) => o.dualcast(dst1, dst2, src, length));
  }
  createDelta(a: Bytes, b: Bytes): Promise<Uint8Array> {
    return this.#op((o) => o.createDelta(a, b));
  }
  applyDelta<T extends Bytes>(dst: T, delta: Bytes): Promise<T> {
    return this.#op((o) => o.applyDelta(dst, delta));
  }
  /** Protects data (whole blocks): each block followed by its 8-byte DIF tuple; resolves to the output. */
  difInsert(data: Bytes, opts?: DifOptions): Promise<Uint8Array> {
    return this.#op((o) => o.dif.run('difInsert', data, opts) as Promise<Uint8Array>);
  }
  /** Checks protected data (blocks with tuples); rejects with a DifCheckError naming the first failing block. */
  difCheck(data: Bytes, opts?: Omit<DifOptions, 'dst'>): Promise<void> {
    return this.#op((o) => o.dif.run('difCheck', data, opts).then(() => undefined));
  }
  /** Checks protected data and resolves to the data without its tuples. */
  difStrip(data: Bytes, opts?: DifOptions): Promise<Uint8Array> {
    return this.#op((o) => o.dif.run('difStrip', data, opts) as Promise<Uint8Array>);
  }
  /** Checks protected data and resolves to a copy with new tuples (opts.to: the new tags). */
  difUpdate(data: Bytes, opts?: DifUpdateOptions): Promise<Uint8Array> {
    return this.#op((o) => o.dif.run('difUpdate', data, opts) as Promise<Uint8Array>);
  }
  /** The DIX protection information of data (whole blocks): 8 bytes per block, in a buffer of their own. */
  dixGenerate(data: Bytes, opts?: DifOptions): Promise<Uint8Array> {
    return this.#op((o) => o.dif.run('dixGenerate', data, opts) as Promise<Uint8Array>);
  }
  /** CRC-16 T10-DIF (the DIF guard: polynomial 0x8BB7, no reflection, no inversion) of data, from seed. */
  crc16t10dif(data: Bytes, seed?: number): Promise<number> {
    return this.#op((o) => o.dif.crc16(data, seed));
  }

  /** Runs a high-level call: every failure, a closed device included, through its promise. */
  #op<T>(fn: (ops: Ops) => Promise<T>): Promise<T> {
    try {
      return fn(this.ops);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** An explicit batch: calls queued, then run together; fence() orders what follows after what came before. */
  batch(): BatchBuilder {
    // (a batch() taken off its device builds nothing: its submit() would fail, saying less)
    if (!isConnection(this)) throw Errors.offDevice('batch', this);
    return new BatchBuilder(() => this.ops, () => this.closed);
  }
}

throwOffDevice(DeviceCalls, ['alloc', 'free', 'buffer']);
rejectOffDevice(DeviceCalls, ['memcpy', 'memmove', 'fill', 'compare', 'firstDifference', 'crc32c', 'copyCrc32c', 'dualcast', 'createDelta', 'applyDelta', 'difInsert', 'difCheck', 'difStrip', 'difUpdate', 'dixGenerate', 'crc16t10dif']);
