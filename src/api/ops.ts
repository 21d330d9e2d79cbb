// The high-level operations (memcpy, crc32c, compare, ...) on a device.
//
// Each call is placed where it runs best:
//   device  - all its buffers are in the arena: it becomes a descriptor, batched with the
//             other calls of the same tick (batcher.ts);
//   split   - large: ranges on every engine at once (CRC ranges combined in GF(2));
//   inline  - small (below a threshold measured at start-up: doing it costs this thread
//             less than handing it off), or a buffer no engine can reach (memory that is
//             not shared, or another SharedArrayBuffer): run here, on the calling thread.
// stats() says how many went where and why; every call is published on the
// diagnostics channel "softdsa:op".
import { Pacer } from './pacer.ts';
import { inSlices, isSliced, pacing } from './slices.ts';
import { throughWindow } from './through_window.ts';
import { HERE_SLOT } from './calls.ts';
import { allDone } from './all_done.ts';
import { type ArenaInfo, type Bytes, MAX_PIECES, pattern as patternOf, argError, goneFrom, seedOf, type Span, span, stillThere } from './args.ts';
import { type ArenaMemory, Batcher, type Member, RESOLVED, type Submitter } from './batcher.ts';
import { crc32cCombine } from './crc_combine.ts';
import { argCoded, Errors } from '../device/errors.ts';
import { addonCrc, channel, compareBytes, crc32cOf, newBytes, stagesNotShared } from '../device/host.ts';
import { firstDifference } from '../device/first_difference.ts';
import { fillPattern } from '../device/pattern.ts';
import { AddressSpaces, windowOf } from '../device/spaces.ts';
import { Desc, DeltaEntry, Opcode, Record, Status } from '../device/format.ts';
import { type OpName, placementOf, Stats, type Placement, type Where } from './stats.ts';
import { DifOps } from './dif.ts';
import { applyInline, checkEntries, deltaInline, framed, parseFrames, TAIL_FRAME } from './delta_frames.ts';
import { backgroundTurn, performance, setTimeout } from '../device/timers.ts';
import { asleepLimit, STAND_IN, type Thresholds, thresholds } from './inline_thresholds.ts';

/** The longest piece a device of this maxTransfer takes: 64-byte aligned where it can be. */
const longestPiece = (max: number): number => (max >= 64 ? max - (max % 64) : max);

/** The RangeError of an `op` call of n bytes cut into pieces of `step`, when that is too many (an argument error: nothing ran); else null. */
function tooManyPieces(op: OpName, n: number, step: number, max: number): RangeError | null {
  const count = Math.ceil(n / step);
  if (count <= MAX_PIECES) return null;
  return argCoded(new RangeError(`${op}: a call of ${n} bytes would take ${count} descriptors at this device's maxTransfer of ${max} bytes (at most ${MAX_PIECES} a call): make smaller calls, or open the device with a larger maxTransfer (one from an accel-config file: a larger max_transfer_size on its first WQ)`)) as RangeError;
}

/** What a call checked by Ops.checkArgs resolves to (nothing ran). */
const CHECKED: Promise<unknown> = Promise.resolve();

export interface OpsConfig {
  engines: number;
  maxBatch: number;
  /** 'auto': measured at start-up; a number: bytes below which calls run inline (0: never) */
  inlineThreshold: number | 'auto';
  /** operations at least this large are split across engines; 'auto': SPLIT_AUTO, per kind */
  splitThreshold: number | 'auto';
  /** the device's largest transfer: longer operations are cut into descriptors of at most this */
  maxTransfer: number;
  /** engines copy past the cache from this many bytes a descriptor (0: never): a split copy's pieces reach it where they can */
  cacheBypassBytes?: number;
}

const opChannel = channel('softdsa:op');
/** The arena buffers a staged CRC copies through (two of them). */
const STAGE_BYTES = 8 << 20;
/** One call in this many is timed for the latency percentiles (a power of two). */
const LATENCY_SAMPLE = 8;
/**
 * A split call is cut into this many pieces per engine, which the engines take from the
 * queue as they come free: an engine that wakes late, or whose vCPU the host holds back,
 * then costs the call its share of pieces, not half of it (64 MiB copies alternating with
 * main-thread work: 0.88x -> 1.04x Buffer.copy on average over 4 alternating runs here).
 */
const PIECES_PER_ENGINE = 4;
/** Below this (or with the addon's CRC), the CPU's CRC in place (a copy first costs more than it saves). */
const STAGED_CRC_MIN = 4096;
/** No smaller pieces than this (each costs a descriptor and, for a CRC, a combine step) */
const MIN_PIECE = 4 << 20;
/**
 * Where splitting starts to pay, per kind, awaited one call at a time on 2 engines (2 cores):
 * CRCs and compares at 2 MiB (2 MiB: 0.92-1.08x one engine, 3 MiB: 0.73-0.84x), copies and fills
 * only at 4 MiB (2 MiB: 1.12-1.21x, 3 MiB: 1.01-1.20x, 4 MiB: 0.85-1.02x): a copy is bound by
 * memory, which a second engine adds less to, and one engine does it in less time than a CRC.
 */
const SPLIT_AUTO: Thresholds = { copy: 4 << 20, compare: 2 << 20, crc: 2 << 20 };

/** What an operation needs from the device. */
export interface DeviceAccess extends Submitter {
  arena: ArenaInfo;
  /** what this thread's allocator asks to give memory back when an allocation finds no room (Allocator.reclaim) */
  reclaimWith?(fn: () => boolean): void;
  /** CRC-32C of arena bytes on this thread, by the device's own instance of the core (its folds beat the CPU's CRC instruction through @node-rs/crc32) */
  crc(addr: number, length: number, seed: number): number;
  /** the PASIDs engines reach other SharedArrayBuffers by (an attached thread's: none, -1) */
  spaces: Pick<AddressSpaces, 'id' | 'hold' | 'release'>;
  /** true once every engine has booted (until then calls run inline) */
  ready(): boolean;
  /** no engine is spinning or running: a call handed over now waits for a wake-up */
  asleep(): boolean;
  /** fault rules are in force (the device's own measurements then submit nothing: see calibrate) */
  faulting(): boolean;
  /** this thread's instance of the core is made (crc(), copy() and the others cost nothing to start) */
  hasCore(): boolean;
  /** CRC-16 T10-DIF of arena bytes on this thread (the core's) */
  crc16(addr: number, length: number, seed: number): number;
  /** runs the descriptor at this arena address on this thread (the core's); its status */
  execute(desc: number): number;
  /** memmove of arena bytes on this thread (the core's memory.copy) */
  copy(dst: number, src: number, length: number): void;
  /** MEMFILL of arena bytes on this thread (the core's kernel) */
  fill(dst: number, length: number, pattern: bigint): void;
  /** a full block of blockBytes(maxBatch) the device set aside at open for the calls (0: none) */
  keptBlock?: number;
  /**
   * arena bytes set aside at open for this thread's own synchronous work, so that it needs no
   * room the caller's buffers could have taken: a descriptor and its record (HERE_SLOT bytes),
   * then a staging window for memory outside the arena
   */
  here?: { base: number; bytes: number };
}

type Kind = keyof Thresholds;

export class Ops {
  stats = new Stats();
  readonly #dev: DeviceAccess;
  readonly #batcher: Batcher;
  readonly #cfg: OpsConfig;
  readonly #dv: DataView;
  readonly #mem: Uint8Array;
  #inline: Thresholds;
  /** bytes from which calls are split across the engines, per kind */
  readonly #split: Thresholds;
  readonly #memory: ArenaMemory;
  /** the engines have booted (checked until they have; a relaunch later does not matter) */
  #ready = false;
  /** device calls of this thread in flight: calibration waits for none */
  #busy = 0;
  #dif: DifOps | null = null;

  /**
   * Operations with no device behind them yet: its engines never ready and no arena, so every
   * call runs inline on this thread ('inline:booting', as on a device whose engines boot). The
   * default device's first calls run on these while it opens (default_device.ts).
   */
  static beforeDevice(): Ops {
    // (an empty SharedArrayBuffer, not a Wasm memory: V8 reserves ~10 GB of address space for each of those)
    const buffer = new SharedArrayBuffer(0);
    const never = (): never => {
      throw new Error('softdsa: a call reached a device that is not open yet');
    };
    const access: DeviceAccess = {
      arena: { buffer, base: 0, end: 0 },
      ready: () => false,
      hasCore: () => false,
      asleep: () => false,
      faulting: () => false,
      alloc: () => {
        throw new RangeError('no arena yet'); // (the batcher's block: none, and none needed)
      },
      maxBatch: 2,
      arenaBytes: 0,
      crc: never,
      crc16: never,
      execute: never,
      copy: never,
      fill: never,
      submit: never,
      submitNow: never,
      wake: never,
      free: never,
      spaces: new AddressSpaces(never),
    };
    return new Ops(access, { buffer }, { engines: 1, maxBatch: 2, inlineThreshold: 'auto', splitThreshold: Number.MAX_SAFE_INTEGER, maxTransfer: 0xffffffff });
  }

  constructor(dev: DeviceAccess, memory: ArenaMemory, cfg: OpsConfig) {
    this.#dev = dev;
    this.#cfg = cfg;
    this.#memory = memory;
    this.#batcher = new Batcher(dev, memory, dev.keptBlock);
    // (the pool of descriptor blocks is a cache: an allocation that finds no room takes it back)
    dev.reclaimWith?.(() => this.#batcher.releasePool());
    const buf = memory.buffer as unknown as SharedArrayBuffer;
    this.#dv = new DataView(buf);
    this.#mem = new Uint8Array(buf);
    const t = cfg.inlineThreshold;
    const { rates, handoffMs } = measured ?? STAND_IN;
    this.#inline = t === 'auto' ? thresholds(rates, handoffMs) : { copy: t, compare: t, crc: t };
    const s = cfg.splitThreshold;
    this.#split = s === 'auto' ? SPLIT_AUTO : { copy: s, compare: s, crc: s };
  }

  #booted(): boolean {
    return this.#ready || (this.#ready = this.#dev.ready());
  }

  /**
   * Runs the common calls' path once (memcpy, crc32c, compare, fill) on a few arena bytes, uncounted and unpublished:
   * V8 compiles a function at its first call, and a program's first memcpy or crc32c of 16 MiB
   * paid ~0.5 ms of that, a third of the call. For a device that is about to serve them (the
   * default device, as it opens); a few hundred µs of this thread, once.
   */
  warm(): void {
    let a: number;
    try {
      a = this.#dev.alloc(128, 64);
    } catch {
      return; // (no room: nothing to warm with)
    }
    // (on no channel either: a subscriber saw four calls the program never made; nor in the
    // stats, which may hold calls made before: counted apart, and dropped)
    const quiet = this.#quiet;
    const stats = this.stats;
    this.#quiet = true;
    this.stats = new Stats();
    try {
      const u = new Uint8Array(this.#memory.buffer, a, 128);
      // (64 bytes are below every inline threshold: each runs here, now)
      for (const p of [this.memcpy(u.subarray(64), u.subarray(0, 64)), this.crc32c(u), this.compare(u.subarray(0, 64), u.subarray(64)), this.fill(u, 0)]) p.catch(noop);
    } finally {
      this.#quiet = quiet;
      this.#dev.free(a);
      this.stats = stats;
      this.#calls.clear(); // (a program's first call of each is its first: timed, as on a device it opened)
    }
  }

  /**
   * Runs the device paths of the common calls once (memcpy, crc32c, compare, fill; split over
   * the engines, and as one descriptor) on 256 arena bytes, on operations of its own (its own
   * stats and batcher: `dev` must not hold the block set aside for the device's calls), so that
   * a program's first call handed to the engines finds this thread's code for it compiled.
   * Its calls go on no channel. `dev` decides what may go in: the opener's (Device #warmAccess)
   * refuses every submission while fault rules are in force (they would match descriptors the
   * program never submitted) or someone traces descriptors, which ends the warm-up.
   */
  static async warmDevice(dev: DeviceAccess, memory: ArenaMemory, cfg: Omit<OpsConfig, 'inlineThreshold' | 'splitThreshold'>): Promise<void> {
    let a: number;
    try {
      a = dev.alloc(256, 64);
    } catch {
      return; // (no room: nothing to warm with)
    }
    try {
      const u = new Uint8Array(memory.buffer, a, 256);
      for (const splitThreshold of [128, Number.MAX_SAFE_INTEGER]) {
        const ops = new Ops(dev, memory, { ...cfg, inlineThreshold: 0, splitThreshold });
        ops.#quiet = true;
        try {
          await Promise.all([ops.memcpy(u.subarray(128), u.subarray(0, 128)), ops.crc32c(u), ops.compare(u.subarray(0, 128), u.subarray(128)), ops.fill(u.subarray(0, 128), 0)]);
        } finally {
          ops.#batcher.close();
        }
      }
    } finally {
      dev.free(a);
    }
  }

  /**
   * Measures, once per thread, the inline thresholds ('auto'): the rates at which this thread
   * copies, compares and CRCs, and the time it spends handing a call to the device. Runs
   * when the device has nothing of this thread in flight (it waits, up to ~2 s, for such a
   * moment), in about 1-2 ms of this thread's time: never in the way of a caller's calls.
   * Until then (and after, on another device of this thread) stand-ins measured on this
   * project's machine kind, then these figures, hold. A device with fault rules in force
   * measures nothing: its rules would match the measuring descriptors, which the program never
   * submitted (the same submissions then faulted different descriptors, depending on when the
   * device was idle), and a latency rule would hold the process up after its last call.
   */
  calibrate(): void {
    if (this.#cfg.inlineThreshold !== 'auto' || measured !== null) return;
    let tries = 0;
    const attempt = (): void => {
      if (this.#stopped) return;
      if (measured !== null) {
        this.#inline = thresholds(measured.rates, measured.handoffMs);
        return;
      }
      if (this.#busy > 0 && ++tries < 40) {
        setTimeout(attempt, 50).unref();
        return;
      }
      void this.#measure().then((m) => {
        if (m === null) return;
        measured ??= m;
        this.#inline = thresholds(measured.rates, measured.handoffMs);
      });
    };
    setTimeout(attempt, 20).unref();
  }

  /** set by stop(): what calibrate() scheduled does nothing more */
  #stopped = false;

  /** No more measuring: the device closes, or its thread detaches (its arena part is to be given back). */
  stop(): void {
    this.#stopped = true;
  }

  async #measure(): Promise<{ rates: Thresholds; handoffMs: number } | null> {
    const rates = await measureRates(this.#dev, this.#memory, () => this.#stopped);
    if (rates === null) return null;
    // The handoff: 64 no-op calls through a batcher of their own (so that they neither join the
    // caller's batches nor count in its stats), issue and resolution; a round to warm up, then
    // the best of three (a preemption of 20 ms in a round is 0.3 ms a call, 100x).
    // (off the softdsa:descriptor trace, which shows what the program submitted)
    const dev = this.#dev;
    const batcher = new Batcher({ ...dev, submit: async (d) => dev.submitNow(d, 0, false), submitNow: (d, group) => dev.submitNow(d, group, false) }, this.#memory);
    const n = 64;
    let perCall = Infinity;
    try {
      for (let round = 0; round < 4; round++) {
        if (this.#stopped || this.#dev.faulting()) return null;
        const t0 = performance.now();
        const calls: Promise<number>[] = [];
        for (let i = 0; i < n; i++) calls.push(this.#desc('calibrate', Opcode.NOOP, () => {}, false, batcher));
        const issue = performance.now() - t0;
        let first = 0;
        let last = 0;
        await Promise.all(calls.map((c, i) => c.then(() => {
          if (i === 0) first = performance.now();
          if (i === n - 1) last = performance.now();
        })));
        if (round > 0) perCall = Math.min(perCall, (issue + (last - first)) / n);
      }
    } catch {
      return null; // the device closed under it: keep the stand-ins
    } finally {
      batcher.close();
    }
    return { rates, handoffMs: perCall };
  }

  /** The DIF calls (dif.ts) on this device, made on first use. */
  get dif(): DifOps {
    return (this.#dif ??= new DifOps({
      mem: this.#mem,
      dv: this.#dv,
      engines: this.#cfg.engines,
      splitThreshold: this.#split.crc,
      maxTransfer: this.#cfg.maxTransfer,
      inlineBytes: () => this.#inline.crc,
      booted: () => this.#booted(),
      span: (name, v) => this.#span(name, v),
      alloc: (n, a) => this.#dev.alloc(n, a),
      free: (a) => this.#dev.free(a),
      here: this.#dev.here === undefined ? null : { desc: this.#dev.here.base, window: this.#dev.here.base + HERE_SLOT, windowBytes: this.#dev.here.bytes - HERE_SLOT },
      submit: (call, opcode, fill, solo) => this.#batcher.add(call, opcode, solo, fill),
      executeHere: (d) => this.#dev.execute(d),
      crc16: (a, n, seed) => this.#dev.crc16(a, n, seed),
      track: (op, bytes, where, fn) => this.#track(op, bytes, where, fn),
    }));
  }

  /**
   * Resolves once no call of this thread is in flight here: close() waits for it, so that calls
   * made before it that go out in steps (createDelta, a DIF call staged a window at a time, an
   * overlapping memmove in pieces) send their later steps rather than have them refused.
   */
  idle(): Promise<void> {
    return this.#busy === 0 ? RESOLVED : new Promise((resolve) => this.#idlers.push(resolve));
  }

  #idlers: Array<() => void> = [];

  /**
   * Runs `work` as one call in flight here, which idle() (and so close()) waits for: a batch, from
   * its arguments' checks to its last fence's calls (its later calls had been refused as close()
   * began, after the earlier ones ran).
   */
  async during<T>(work: () => Promise<T>): Promise<T> {
    this.#busy++;
    try {
      return await work();
    } finally {
      this.#unbusy();
    }
  }

  #unbusy(): void {
    if (--this.#busy === 0 && this.#idlers.length > 0) for (const resolve of this.#idlers.splice(0)) resolve();
  }

  /** The most bytes one call takes on this device: MAX_PIECES descriptors of its maxTransfer (the file calls size their chunks within it). */
  get largestCall(): number {
    return this.#cfg.maxTransfer * MAX_PIECES;
  }

  /** The inline thresholds in force (bytes). */
  get thresholds(): Readonly<Thresholds> {
    return this.#inline;
  }

  /** Submits the calls of this tick now (close() must not wait for a later microtask). */
  flush(): void {
    this.#batcher.flush();
  }

  get batches(): { batches: number; descriptors: number } {
    return { batches: this.#batcher.batches, descriptors: this.#batcher.descriptors };
  }

  // ---- placement ----

  #span(name: string, v: unknown, offset?: number, length?: number): Span {
    return span(this.#dev.arena, name, v, offset, length);
  }

  /** While set, a call checks its arguments and goes no further (see checkArgs). */
  #checkOnly = false;

  /** What a call of n bytes checked by checkArgs resolves to: nothing, or the RangeError its pieces would give. */
  #checked(op: OpName, n: number): Promise<unknown> {
    const max = this.#cfg.maxTransfer;
    const e = tooManyPieces(op, n, longestPiece(max), max);
    return e === null ? CHECKED : Promise.reject(e);
  }

  /**
   * Runs `call` (one of this object's calls) only as far as its arguments' checks: resolves when
   * they pass, rejects as the call would. BatchBuilder checks every call of a batch first, so that
   * a batch with one bad argument runs none of them (its other calls' writes had landed).
   */
  checkArgs(call: () => Promise<unknown>): Promise<unknown> {
    this.#checkOnly = true;
    try {
      return call();
    } finally {
      this.#checkOnly = false;
    }
  }

  /** Where a call on these spans runs, and why when not on the device. */
  #place(kind: Kind, bytes: number, a: Span, b?: Span, c?: Span): Placement {
    // A call on arena memory longer than one call takes (MAX_PIECES descriptors) is refused
    // wherever it would have run (#pieces says so, before anything is submitted): placed inline
    // (engines booting, or a threshold measured high on a busy machine), the same call resolved.
    if (bytes > this.largestCall && a.placement === 'arena' && (b === undefined || b.placement === 'arena') && (c === undefined || c.placement === 'arena')) return 'device';
    return this.#placeWithin(kind, bytes, a, b, c);
  }

  /** #place, for a call one device call can take (the deltas, whose own checks come first, too). */
  #placeWithin(kind: Kind, bytes: number, a: Span, b?: Span, c?: Span): Placement {
    if (!this.#booted()) return 'inline:booting';
    if (a.placement === 'shared' && (bytes < this.#inline[kind] || bytes === 0)) return 'inline:small';
    if (a.placement === 'shared' && this.#foreign(a, b, c)) return 'foreign';
    if (a.placement !== 'arena') return away(a);
    if (b !== undefined && b.placement !== 'arena') return away(b);
    if (c !== undefined && c.placement !== 'arena') return away(c);
    if (bytes < this.#inline[kind] || bytes === 0) return 'inline:small';
    if (this.#asleepInline(kind, bytes)) return 'inline:asleep';
    if (this.#cfg.engines > 1 && bytes >= this.#split[kind]) return 'split';
    return 'device';
  }

  /**
   * A call that this thread does in less time than waking a parked engine takes, when every
   * engine is asleep: done here. The inline thresholds are measured with calls in flight, where
   * the hand-off is cheap; a call on its own pays the wake-up (28 KiB crc32c awaited one at a
   * time: 72 us on the device against 4.7 us here). The first such call of a tick only: a burst
   * goes to the engines, which it wakes.
   */
  #asleepInline(kind: Kind, bytes: number): boolean {
    if (this.#cfg.inlineThreshold !== 'auto' || this.#asleepTick || bytes >= asleepLimit(this.#inline[kind]) || !this.#dev.asleep()) return false;
    this.#asleepTick = true;
    void RESOLVED.then(this.#newTick);
    return true;
  }

  #asleepTick = false;
  readonly #newTick = (): void => {
    this.#asleepTick = false;
  };

  /**
   * True when every span lies in one other SharedArrayBuffer that engines can reach: its
   * PASID goes in the descriptor and the spans' addresses become offsets in it. (A
   * descriptor has one address space: calls mixing buffers run inline.)
   */
  #foreign(a: Span, b?: Span, c?: Span): boolean {
    const buffer = a.u8.buffer;
    for (const s of [b, c]) if (s !== undefined && s.u8.buffer !== buffer) return false;
    // Only what engines may reach of it: all of a plain buffer, the arena of another device.
    const [lo, hi] = windowOf(buffer as SharedArrayBuffer);
    for (const s of [a, b, c]) if (s !== undefined && (s.u8.byteOffset < lo || s.u8.byteOffset + s.u8.byteLength > hi)) return false;
    const space = this.#dev.spaces.id(buffer as SharedArrayBuffer);
    if (space <= 0) return false;
    for (const s of [a, b, c]) {
      if (s === undefined) continue;
      s.space = space;
      s.addr = s.u8.byteOffset;
    }
    return true;
  }

  /**
   * Runs fn, records the call in the stats and on the diagnostics channel. Inline work
   * (fn returns a value) is done and recorded now, and the promise is already resolved:
   * no async function, no extra hops on the hot path of small calls.
   */
  #track<T>(op: OpName, bytes: number, where: Where, fn: () => T | Promise<T>, keep?: Span): Promise<T> {
    // Two clock reads cost about as much as a 4 KiB copy: calls are timed one in
    // LATENCY_SAMPLE (their latency percentiles come from that sample; split calls, large
    // by definition, always), unless someone listens on the channel. Every call is counted: done or failed.
    const t0 = this.#clock(op, placementOf(where));
    let r: T | Promise<T>;
    try {
      r = fn();
    } catch (e) {
      return Promise.reject(this.#failed(op, bytes, placementOf(where), t0, e));
    }
    if (r instanceof Promise) {
      this.#batcher.weigh(bytes);
      return this.#settle(op, bytes, where, t0, r, keep);
    }
    return Promise.resolve(this.#record(op, bytes, placementOf(where), t0, r));
  }

  /**
   * Records a call once its descriptors are done (r); resolves to `value` where given (a copy's
   * destination: no extra promise hop to map to it), else to what r resolved to.
   */
  #settle<T>(op: OpName, bytes: number, where: Where, t0: number, r: Promise<unknown>, keep?: Span, value?: T): Promise<T> {
    // A foreign buffer stays registered, and alive (spaces.hold), until its descriptors are done.
    const space = keep !== undefined && keep.space > 0 ? keep.space : 0;
    this.#busy++;
    if (space > 0) this.#dev.spaces.hold(space);
    return r.then(
      (v) => {
        this.#unbusy();
        if (space > 0) this.#dev.spaces.release(space);
        return this.#record(op, bytes, placementOf(where), t0, value !== undefined ? value : (v as T));
      },
      (e: unknown) => {
        this.#unbusy();
        if (space > 0) this.#dev.spaces.release(space);
        throw this.#failed(op, bytes, placementOf(where), t0, e);
      },
    );
  }

  /** calls per operation: the sample is taken per operation (one count for all, a program alternating two calls had one of them never timed) */
  readonly #calls = new Map<OpName, number>();

  /** The start time of a call, or -1 when this one is not timed (see #track): its operation's first and then one in LATENCY_SAMPLE. */
  #clock(op: OpName, placement: Placement): number {
    const n = this.#calls.get(op) ?? 0;
    this.#calls.set(op, n + 1);
    return placement === 'split' || opChannel.hasSubscribers || (n & (LATENCY_SAMPLE - 1)) === 0 ? performance.now() : -1;
  }

  /** Counts a call that is done; its value, held for a turn of the event loop when the loop has gone too long without one (pacer.ts). */
  #record<T>(op: OpName, bytes: number, placement: Placement, t0: number, value: T): T | Promise<T> {
    if (t0 < 0) {
      this.stats.record(op, bytes, placement, -1);
      return this.#pacer.pace(value, bytes);
    }
    const ms = performance.now() - t0;
    this.stats.record(op, bytes, placement, ms);
    if (opChannel.hasSubscribers && !this.#quiet) opChannel.publish({ op, bytes, placement, durationMs: ms });
    return this.#pacer.pace(value, bytes);
  }

  /**
   * Counts a call taken that then failed; on the channel with its error (it has no placement in
   * the stats). Returns the error to reject with: a buffer gone mid-call, named as this call's.
   */
  #failed(op: OpName, bytes: number, placement: Placement, t0: number, failure: unknown): unknown {
    const error = goneFrom(op, failure);
    this.stats.fail(op);
    if (t0 >= 0 && opChannel.hasSubscribers && !this.#quiet) opChannel.publish({ op, bytes, placement, durationMs: performance.now() - t0, error });
    return error;
  }

  readonly #pacer = new Pacer();
  /** the opener's warm-up (warmDevice): its calls go on no channel */
  #quiet = false;

  /** One descriptor through the batcher; resolves to its record address and status. */
  #desc(op: string, opcode: number, fill: (d: number) => void, solo = false, batcher = this.#batcher, space = 0): Promise<number> {
    // A Call object rather than closures: fewer allocations per descriptor (and, under tsx,
    // no __name(defineProperty) per closure, which cost ~10% of the device path).
    const call = new Call(op);
    if (solo) call.group = this.#group;
    const p = call.promise();
    try {
      batcher.add(call, opcode, solo, space > 0 ? this.#inSpace(fill, space) : fill);
    } catch (e) {
      // No room for its descriptor, ever: rejected, not thrown, so that a call's pieces made
      // before this one still settle before the call does (allDone); they were added, and will run.
      return Promise.reject(e);
    }
    return p;
  }

  /** fill, then the descriptor's PASID: its addresses are in that address space. */
  #inSpace(fill: (d: number) => void, space: number): (d: number) => void {
    return (d) => {
      fill(d);
      this.#dv.setUint32(d + Desc.PASID, space, true);
    };
  }

  /**
   * A call that is one descriptor (the awaited round trip of small calls): the caller's promise
   * is the descriptor's own, settled as it completes with what `value` reads from its record,
   * and the call recorded there and then. (Chained, each step cost the round trip a microtask
   * hop and a promise.) A foreign buffer stays registered until then.
   */
  #one<T>(op: OpName, bytes: number, placement: Placement, keep: Span, opcode: number, fill: (d: number) => void, value: (rec: number) => T): Promise<T> {
    const call = new OneCall(op, this.#oneDone, bytes, placement, this.#clock(op, placement), keep.space > 0 ? keep.space : 0, value);
    const p = call.promise() as Promise<T>; // (resolved with a T, or a promise of one: the pacer's)
    try {
      this.#batcher.add(call, opcode, false, call.space > 0 ? this.#inSpace(fill, call.space) : fill);
    } catch (e) {
      return Promise.reject(e); // no room for its descriptor, ever: nothing taken yet
    }
    this.#busy++;
    if (call.space > 0) this.#dev.spaces.hold(call.space);
    this.#batcher.weigh(bytes);
    return p;
  }

  /** A OneCall's descriptor is done (rec: its record; -1: it failed): the value, recorded, or null. */
  readonly #oneDone = <T>(call: OneCall<T>, rec: number, error?: unknown): T | Promise<T> | null => {
    this.#unbusy();
    if (call.space > 0) this.#dev.spaces.release(call.space);
    if (rec >= 0) return this.#record(call.op, call.bytes, call.placement, call.t0, call.value(rec));
    this.#failed(call.op, call.bytes, call.placement, call.t0, error);
    return null;
  };

  /** Whether a call placed `where` on n bytes is one descriptor (#one): on the device, not split, within the largest transfer. */
  #single(where: Placement, n: number): boolean {
    return (where === 'device' || where === 'foreign') && n <= this.#cfg.maxTransfer;
  }

  #addr(d: number, field: number, addr: number): void {
    this.#dv.setUint32(d + field, addr, true);
  }

  #size(d: number, n: number): void {
    this.#dv.setUint32(d + Desc.XFER_SIZE, n, true);
  }

  /**
   * The descriptors' ranges [start, end) of an n-byte operation: when split, PIECES_PER_ENGINE
   * per engine (none under MIN_PIECE unless that leaves an engine idle; 64-byte aligned cut
   * points), else one; each cut again to the device's largest transfer (a longer descriptor
   * would get 0x13). Split, it wakes the engines that will take the pieces.
   */
  #pieces(op: OpName, n: number, split = true, atLeast = 0): Array<[number, number]> {
    const max = this.#cfg.maxTransfer;
    const engines = this.#cfg.engines;
    let step = split ? Math.max(align64(n / engines / PIECES_PER_ENGINE), Math.min(align64(n / engines), MIN_PIECE)) : n;
    // A copy's pieces reach the size from which engines copy past the cache wherever each engine's
    // share does (a 64 MiB copy over 4 engines had 4 MiB pieces: all through the cache).
    if (split && step < atLeast && n / engines >= atLeast) step = align64(atLeast);
    if (step > max) step = longestPiece(max);
    if (step === 0) return [[0, 0]];
    // (at most MAX_PIECES: see there why)
    const tooMany = tooManyPieces(op, n, step, max);
    if (tooMany !== null) throw tooMany;
    const out: Array<[number, number]> = [];
    for (let s = 0; s < n; s += step) out.push([s, Math.min(n, s + step)]);
    // The engines that will take the pieces are woken now, with one call, while the pieces'
    // descriptors are built and submitted (after a cold cache, that took 0.2-1 ms here).
    if (split && out.length > 1) this.#dev.wake(Math.min(out.length, this.#cfg.engines));
    // The pieces #desc makes next (solo) are one group: their caller awaits them all, so the
    // submitter sleeps until the last is done rather than wake for each (portal.ts #needed).
    if (split) this.#group = (this.#group & 0x3fffffff) + 1;
    return out;
  }

  /** the group of the split call whose pieces are being made (see #pieces) */
  #group = 0;

  // ---- copies ----

  memcpy<T extends Bytes>(dst: T, src: Bytes, length?: number): Promise<T> {
    return this.#copy('memcpy', dst, src, length);
  }

  memmove<T extends Bytes>(dst: T, src: Bytes, length?: number): Promise<T> {
    return this.#copy('memmove', dst, src, length);
  }

  #copy<T extends Bytes>(op: OpName, dst: T, src: Bytes, length: number | undefined): Promise<T> {
    let s: Span;
    let d: Span;
    try {
      s = this.#span('src', src, undefined, length);
      d = this.#span('dst', dst);
      if (d.n < s.n) throw new RangeError(`dst (${d.n} bytes) is smaller than the ${s.n} bytes to copy`);
    } catch (e) {
      return Promise.reject(argError(op, e));
    }
    if (this.#checkOnly) return this.#checked(op, s.n) as Promise<T>;
    const n = s.n;
    let where = this.#place('copy', n, s, d);
    // Ranges of an overlapping copy could overwrite each other's source (memcpy too: it
    // must give what its inline path, TypedArray.set, gives: memmove's result).
    if (where === 'split' && overlaps(s, d, n)) where = 'device';
    if (where === 'foreign' && overlaps(s, d, n)) where = 'inline:overlap';
    if (where !== 'device' && where !== 'split' && where !== 'foreign') {
      if (sliced(where, n)) return this.#track(op, n, where, () => this.#copyHereSliced(d, s, n, where).then(() => dst));
      // inline: done now, no closure, one resolved promise (the hot path of small calls)
      const t0 = this.#clock(op, where);
      this.#copyHere(d, s);
      return Promise.resolve(this.#record(op, n, where, t0, dst));
    }
    // One descriptor (the awaited round trip of small copies): settled and recorded as it completes.
    if (this.#single(where, n)) return this.#one(op, n, where, s, Opcode.MEMMOVE, this.#moveFill(s.addr, d.addr, n), () => dst);
    return this.#track(op, n, where, (): Promise<T> => {
      const split = where === 'split';
      const ranges = this.#pieces(op, n, split, this.#cfg.cacheBypassBytes);
      // Pieces of one overlapping copy run in order (each a memmove), so none overwrites a later one's source.
      if (ranges.length > 1 && overlaps(s, d, n)) return this.#inOrder(d.addr > s.addr ? ranges.reverse() : ranges, ([a, b]) => this.#move(op, s.addr + a, d.addr + a, b - a, false, s.space)).then(() => dst);
      return allDone(ranges.map(([a, b]) => this.#move(op, s.addr + a, d.addr + a, b - a, split, s.space))).then(() => dst);
    }, s);
  }

  /**
   * Copies all of s to the start of d on this thread: within the arena by the core's
   * memory.copy (TypedArray.set copies into shared memory a word at a time, 2.4x slower at
   * 4 KiB, 4x at 64 KiB), once this thread's core is made (Device.buffer() makes it while the
   * engines boot).
   */
  #copyHere(d: Span, s: Span): void {
    this.#copyRange(d, s, 0, s.n, true);
  }

  /** #copyHere, in slices with turns of the event loop between them (slices.ts): a large call on memory no engine reaches. */
  #copyHereSliced(d: Span, s: Span, n: number, where: Placement): Promise<void> {
    const back = d.u8.buffer === s.u8.buffer && d.u8.byteOffset > s.u8.byteOffset && d.u8.byteOffset < s.u8.byteOffset + n;
    return inSlices(n, (a, b) => this.#copyRange(d, s, a, b), back, booting(where));
  }

  /** Bytes [a, b) of s to d on this thread. `whole`: all of them, in the same turn as the arguments' checks (no view to check again). */
  #copyRange(d: Span, s: Span, a: number, b: number, whole = false): void {
    if (this.#coreReady() && s.placement === 'arena' && d.placement === 'arena') this.#dev.copy(d.addr + a, s.addr + a, b - a);
    else if (whole) d.u8.set(s.u8);
    else stillThere(d.u8, a, b, 'destination').set(stillThere(s.u8, a, b));
  }

  /** CRC-32C of bytes [a, b) of s on this thread, from `seed`: the core's folds in the arena, @node-rs/crc32 elsewhere. */
  #crcRange(s: Span, a: number, b: number, seed: number, what: 'source' | 'destination' = 'source'): number {
    if (s.placement === 'arena' && this.#coreReady()) return this.#dev.crc(s.addr + a, b - a, seed);
    return this.crcHere(stillThere(s.u8, a, b, what), seed);
  }

  /**
   * CRC-32C of bytes no engine reaches, on this thread: where they lie by the addon's CRC (three
   * streams of the CPU's instruction: 3 us for 64 KiB here); without it, copied through its own
   * area into the core's folds where it has both (~2x @node-rs/crc32 here: the instruction, one
   * stream, ran 4 GB/s on 64 KiB), else @node-rs/crc32.
   */
  crcHere(u8: Uint8Array, seed: number): number {
    const here = this.#dev.here;
    if (here === undefined || u8.byteLength < STAGED_CRC_MIN || addonCrc() !== null || !this.#coreReady()) return crc32cOf(u8, seed);
    return throughWindow(this.#mem, u8, 0, u8.byteLength, here.base + HERE_SLOT, here.bytes - HERE_SLOT, seed, this.#dev.crc);
  }

  /** #crcRange of the first n bytes, in slices (slices.ts). */
  async #crcHereSliced(s: Span, n: number, seed: number, where: Placement, what: 'source' | 'destination' = 'source'): Promise<number> {
    let crc = seed;
    await inSlices(n, (a, b) => void (crc = this.#crcRange(s, a, b, crc, what)), false, booting(where));
    return crc;
  }

  /** Runs the pieces one after the other. */
  async #inOrder(ranges: Array<[number, number]>, run: (r: [number, number]) => Promise<unknown>): Promise<void> {
    for (const r of ranges) await run(r);
  }

  #move(op: string, src: number, dst: number, n: number, solo: boolean, space = 0): Promise<number> {
    return this.#desc(op, Opcode.MEMMOVE, this.#moveFill(src, dst, n), solo, this.#batcher, space);
  }

  /** Fills in a MEMMOVE descriptor. */
  #moveFill(src: number, dst: number, n: number): (d: number) => void {
    return (d) => {
      this.#addr(d, Desc.SRC, src);
      this.#addr(d, Desc.DST, dst);
      this.#size(d, n);
    };
  }

  /** Fills in a MEMFILL descriptor for bytes [a, b) of d. */
  #fillFill(d: Span, pat: bigint, a: number, b: number): (x: number) => void {
    return (x) => {
      // The pattern's phase starts at each range's start: rotated to where the range begins.
      this.#dv.setBigUint64(x + Desc.PATTERN, rotate(pat, a % 8), true);
      this.#addr(x, Desc.DST, d.addr + a);
      this.#size(x, b - a);
    };
  }

  fill<T extends Bytes>(dst: T, value: number | bigint | Bytes, offset?: number, length?: number): Promise<T> {
    let d: Span;
    let pat: bigint;
    try {
      d = this.#span('dst', dst, offset, length);
      pat = patternOf(value);
    } catch (e) {
      return Promise.reject(argError('fill', e));
    }
    if (this.#checkOnly) return this.#checked('fill', d.n) as Promise<T>;
    const n = d.n;
    const where = this.#place('copy', n, d);
    if (this.#single(where, n)) return this.#one('fill', n, where, d, Opcode.MEMFILL, this.#fillFill(d, pat, 0, n), () => dst);
    return this.#track('fill', n, where, (): T | Promise<T> => {
      if (where.startsWith('inline')) {
        // (arena bytes by the core: TypedArray.fill stores into shared memory an element at a time;
        // slices start at multiples of 8, where the pattern's phase is its start's)
        const fillRange = (a: number, b: number): void => {
          if (d.placement === 'arena' && this.#coreReady()) this.#dev.fill(d.addr + a, b - a, pat);
          else fillInline(stillThere(d.u8, a, b, 'destination'), pat);
        };
        if (sliced(where, n)) return inSlices(n, fillRange, false, booting(where)).then(() => dst);
        fillRange(0, n);
        return dst;
      }
      const ranges = this.#pieces('fill', n, where === 'split');
      return allDone(ranges.map(([a, b]) => this.#desc('fill', Opcode.MEMFILL, this.#fillFill(d, pat, a, b), where === 'split', this.#batcher, d.space))).then(() => dst);
    }, d);
  }

  dualcast(dst1: Bytes, dst2: Bytes, src: Bytes, length?: number): Promise<void> {
    let s: Span;
    let d1: Span;
    let d2: Span;
    try {
      s = this.#span('src', src, undefined, length);
      d1 = this.#span('dst1', dst1);
      d2 = this.#span('dst2', dst2);
      const n = s.n;
      if (d1.n < n || d2.n < n) throw new RangeError(`dst1 and dst2 must each hold the ${n} bytes of src`);
      if (sharesBytes(s.u8, d1.u8) && sharesBytes(s.u8, d2.u8)) throw new RangeError('dualcast: dst1 and dst2 both overlap src (the device refuses overlapping dualcast buffers: 0x16): whichever were written first would change the bytes the other gets');
      // (as the device refuses them: 0x16; the bytes they share would hold src's at two offsets at once)
      if (n > 0 && sharesBytes(d1.u8.subarray(0, n), d2.u8.subarray(0, n))) throw new RangeError('dualcast: dst1 and dst2 overlap (the device refuses overlapping dualcast buffers: 0x16)');
    } catch (e) {
      return Promise.reject(argError('dualcast', e));
    }
    if (this.#checkOnly) return this.#checked('dualcast', s.n) as Promise<void>;
    const n = s.n;
    const where = this.#place('copy', n, s, d1, d2);
    // Both destinations get src's bytes as they were: one that overlaps src is written last.
    const [first, last] = clobbers(s.u8, d1.u8) ? [d2, d1] : [d1, d2];
    return this.#track('dualcast', n, where, async () => {
      if (where.startsWith('inline') && sliced(where, n)) {
        await this.#copyHereSliced(first, s, n, where);
        await this.#copyHereSliced(last, s, n, where);
      } else if (where.startsWith('inline')) {
        this.#copyHere(first, s);
        this.#copyHere(last, s);
      } else if ((d1.addr & 0xfff) === (d2.addr & 0xfff) && !overlaps(s, d1, n) && !overlaps(s, d2, n) && !overlaps(d1, d2, n)) {
        // Both destinations move by the same offset: bits 11:0 stay equal in every range.
        const ranges = this.#pieces('dualcast', n, where === 'split');
        await allDone(ranges.map(([a, b]) => this.#desc('dualcast', Opcode.DUALCAST, (x) => {
          this.#addr(x, Desc.SRC, s.addr + a);
          this.#addr(x, Desc.DST, d1.addr + a);
          this.#addr(x, Desc.DST2, d2.addr + a);
          this.#size(x, b - a);
        }, where === 'split', this.#batcher, s.space)));
      } else if (!overlaps(s, d1, n) && !overlaps(s, d2, n) && !overlaps(d1, d2, n)) {
        // DSA's dualcast needs destinations with equal bits 11:0; two moves (per range) do the rest.
        const ranges = this.#pieces('dualcast', n, where === 'split');
        await allDone(ranges.flatMap(([a, b]) => [
          this.#move('dualcast', s.addr + a, d1.addr + a, b - a, where === 'split', s.space),
          this.#move('dualcast', s.addr + a, d2.addr + a, b - a, where === 'split', s.space),
        ]));
      } else {
        // Overlapping buffers: two whole copies, one after the other, the one over src last.
        for (const d of [first, last]) {
          const ranges = this.#pieces('dualcast', n, false);
          await this.#inOrder(d.addr > s.addr && overlaps(s, d, n) ? ranges.reverse() : ranges, ([a, b]) => this.#move('dualcast', s.addr + a, d.addr + a, b - a, false, s.space));
        }
      }
    }, s);
  }

  // ---- compares ----

  /** Like Buffer.compare: negative, 0 or positive. */
  compare(a: Bytes, b: Bytes): Promise<number> {
    return this.#firstDiff('compare', a, b, (x, y, at) => {
      if (at < 0) return 0;
      if (at >= x.byteLength || at >= y.byteLength) return x.byteLength < y.byteLength ? -1 : 1;
      return x[at] < y[at] ? -1 : 1;
    });
  }

  /** Offset of the first byte that differs, or -1 when a and b are equal. */
  firstDifference(a: Bytes, b: Bytes): Promise<number> {
    return this.#firstDiff('firstDifference', a, b, (_x, _y, at) => at);
  }

  #firstDiff(op: OpName, a: Bytes, b: Bytes, result: (x: Uint8Array, y: Uint8Array, at: number) => number): Promise<number> {
    let x: Span;
    let y: Span;
    try {
      x = this.#span('a', a);
      y = this.#span('b', b);
    } catch (e) {
      return Promise.reject(argError(op, e));
    }
    if (this.#checkOnly) return this.#checked(op, Math.min(x.n, y.n)) as Promise<number>;
    const n = Math.min(x.n, y.n);
    const tail = x.n === y.n ? -1 : n;
    const where = this.#place('compare', n, x, y);
    const answer = (at: number): number => result(x.u8, y.u8, at >= 0 ? at : tail);
    const fill = (s: number, e: number) => (d: number): void => {
      this.#addr(d, Desc.SRC, x.addr + s);
      this.#addr(d, Desc.SRC2, y.addr + s);
      this.#size(d, e - s);
    };
    /** the first difference a COMPARE record of the range from s reports, or -1 */
    const found = (s: number) => (rec: number): number => (this.#mem[rec + Record.RESULT] === 0 ? -1 : s + this.#dv.getUint32(rec + Record.BYTES_COMPLETED, true));
    if (this.#single(where, n)) {
      const at = found(0);
      return this.#one(op, n, where, x, Opcode.COMPARE, fill(0, n), (rec) => answer(at(rec)));
    }
    return this.#track(op, n, where, (): number | Promise<number> => {
      if (where.startsWith('inline') && sliced(where, n)) {
        let at = -1;
        return inSlices(n, (a, b) => (at = firstDifference(stillThere(x.u8, a, b, 'a'), stillThere(y.u8, a, b, 'b'))) >= 0 && ((at += a), true), false, booting(where)).then(() => answer(at));
      }
      if (where.startsWith('inline')) return answer(firstDifference(x.u8.subarray(0, n), y.u8.subarray(0, n)));
      const ranges = this.#pieces(op, n, where === 'split');
      return allDone(ranges.map(([s, e]) => this.#desc(op, Opcode.COMPARE, fill(s, e), where === 'split', this.#batcher, x.space).then(found(s))))
        .then((all) => answer(all.find((v) => v >= 0) ?? -1));
    }, x);
  }

  // ---- CRC-32C ----

  /** CRC-32C (Castagnoli) of data; chains through seed: crc32c(b, crc32c(a)) === crc32c(a + b). */
  crc32c(data: Bytes, seed?: number): Promise<number> {
    let s: Span;
    let init: number;
    try {
      s = this.#span('data', data);
      init = seedOf(seed);
    } catch (e) {
      return Promise.reject(argError('crc32c', e));
    }
    if (this.#checkOnly) return this.#checked('crc32c', s.n) as Promise<number>;
    const n = s.n;
    let where = this.#place('crc', n, s);
    if (where === 'inline:not-shared' && n >= this.#split.crc && stagesNotShared()) where = 'staged';
    if (this.#single(where, n)) return this.#one('crc32c', n, where, s, Opcode.CRCGEN, this.#crcFill(Opcode.CRCGEN, s.addr, 0, n, init), this.#crcOf);
    return this.#track('crc32c', n, where, (): number | Promise<number> => {
      if (where === 'staged') return this.#crcStaged(s, n, init);
      if (where.startsWith('inline')) return sliced(where, n) ? this.#crcHereSliced(s, n, init, where) : this.#crcRange(s, 0, n, init);
      const ranges = this.#pieces('crc32c', n, where === 'split');
      if (ranges.length === 1) return this.#crc(Opcode.CRCGEN, s.addr, 0, n, init, false, s.space);
      return allDone(ranges.map(([a, b], i) => this.#crc(Opcode.CRCGEN, s.addr + a, 0, b - a, i === 0 ? init : 0, where === 'split', s.space))).then((parts) => combine(parts, ranges));
    }, s);
  }

  /** Copies src to dst and returns the CRC-32C of the data. */
  copyCrc32c(dst: Bytes, src: Bytes, seed?: number): Promise<number> {
    let s: Span;
    let d: Span;
    let init: number;
    try {
      s = this.#span('src', src);
      d = this.#span('dst', dst);
      init = seedOf(seed);
      if (d.n < s.n) throw new RangeError(`dst (${d.n} bytes) is smaller than src (${s.n} bytes)`);
    } catch (e) {
      return Promise.reject(argError('copyCrc32c', e));
    }
    if (this.#checkOnly) return this.#checked('copyCrc32c', s.n) as Promise<number>;
    const n = s.n;
    let where = this.#place('crc', n, s, d);
    if (where !== 'split' && where !== 'inline:small' && !where.startsWith('inline') && overlaps(s, d, n)) where = 'inline:overlap';
    if (where === 'split' && overlaps(s, d, n)) where = 'inline:overlap';
    if (this.#single(where, n)) return this.#one('copyCrc32c', n, where, s, Opcode.COPY_CRC, this.#crcFill(Opcode.COPY_CRC, s.addr, d.addr, n, init), this.#crcOf);
    return this.#track('copyCrc32c', n, where, (): number | Promise<number> => {
      if (where.startsWith('inline') && sliced(where, n)) return this.#copyHereSliced(d, s, n, where).then(() => this.#crcHereSliced(d, n, init, where, 'destination'));
      if (where.startsWith('inline')) {
        this.#copyHere(d, s);
        return this.#crcRange(d, 0, n, init);
      }
      const ranges = this.#pieces('copyCrc32c', n, where === 'split');
      return allDone(ranges.map(([a, b], i) => this.#crc(Opcode.COPY_CRC, s.addr + a, d.addr + a, b - a, i === 0 ? init : 0, where === 'split', s.space))).then((parts) => combine(parts, ranges));
    }, s);
  }

  /** This thread's core may run a call here: the engines are up, or buffer() made it while they boot (else the native paths: making it in a call costs that call ~5 ms). */
  #coreReady(): boolean {
    // (#booted(), not its memo: a thread whose calls all came here, a checksum stream's, never
    // placed one, and its CRCs ran on @node-rs/crc32 at a third of the core's speed)
    return this.#booted() || this.#dev.hasCore();
  }

  /**
   * CRC-32C of memory no engine reaches, staged through the arena (host.ts stagesNotShared: a
   * browser, which has no native CRC for it): this thread copies chunk k + 1 into one of two
   * arena buffers while the engines CRC chunk k in the other; the chunks' CRCs are combined.
   * With no arena room for the buffers, it runs inline.
   */
  async #crcStaged(s: Span, n: number, seed: number): Promise<number> {
    const chunk = Math.min(n, STAGE_BYTES);
    const bufs: number[] = [];
    try {
      for (let i = 0; i < 2; i++) bufs.push(this.#dev.alloc(chunk, 64));
    } catch {
      for (const b of bufs) this.#dev.free(b);
      return this.#crcRange(s, 0, n, seed);
    }
    const busy: Array<Promise<unknown>> = [Promise.resolve(), Promise.resolve()];
    const parts: Array<Promise<number>> = [];
    try {
      for (let off = 0, k = 0; off < n; off += chunk, k++) {
        const len = Math.min(chunk, n - off);
        const buf = bufs[k & 1];
        await busy[k & 1]; // that buffer's previous chunk is done
        this.#mem.set(stillThere(s.u8, off, off + len), buf);
        const ranges = this.#pieces('crc32c', len, true);
        const part = allDone(ranges.map(([a, b]) => this.#crc(Opcode.CRCGEN, buf + a, 0, b - a, 0, true))).then((p) => combine(p, ranges));
        busy[k & 1] = part.catch(() => {});
        parts.push(part);
      }
      const crcs = await allDone(parts);
      // crc(seed, A) = combine(seed, crc(0, A), |A|): the seed is the CRC of what came before.
      let crc = seed;
      for (let i = 0; i < crcs.length; i++) crc = crc32cCombine(crc, crcs[i], Math.min(chunk, n - i * chunk));
      return crc;
    } finally {
      await Promise.all(busy);
      for (const b of bufs) this.#dev.free(b);
    }
  }

  #crc(opcode: number, src: number, dst: number, n: number, seed: number, solo: boolean, space = 0): Promise<number> {
    return this.#desc(opcode === Opcode.CRCGEN ? 'crc32c' : 'copyCrc32c', opcode, this.#crcFill(opcode, src, dst, n, seed), solo, this.#batcher, space).then(this.#crcOf);
  }

  #crcFill(opcode: number, src: number, dst: number, n: number, seed: number): (d: number) => void {
    return (d) => {
      this.#addr(d, Desc.SRC, src);
      if (opcode === Opcode.COPY_CRC) this.#addr(d, Desc.DST, dst);
      this.#size(d, n);
      this.#dv.setUint32(d + Desc.CRC_SEED, seed, true);
    };
  }

  /** The CRC a CRC descriptor's record holds. */
  readonly #crcOf = (rec: number): number => this.#dv.getUint32(rec + Record.OP_SPECIFIC, true);

  // ---- deltas ----

  /** A delta record turning a into b (equal sizes): see delta_frames.ts for its frames. */
  async createDelta(a: Bytes, b: Bytes): Promise<Uint8Array> {
    let x: Span;
    let y: Span;
    try {
      x = this.#span('a', a);
      y = this.#span('b', b);
      if (y.n !== x.n) throw new RangeError(`a and b must be of equal sizes; got ${x.n} and ${y.n} bytes`);
    } catch (e) {
      throw argError('createDelta', e);
    }
    const n = x.n;
    if (this.#checkOnly) return newBytes(0);
    let where = unsplit(this.#placeWithin('compare', n, x, y));
    // CR_DELTA needs 8-byte aligned sources (0x1C otherwise).
    if (where === 'device' && ((x.addr | y.addr) & 7) !== 0) where = 'inline:unaligned';
    const seen = { placement: where };
    return this.#track('createDelta', n, seen, async () => {
      const frames: Array<[number, Uint8Array]> = [];
      const words = n - (n % 8);
      // (windows made here give the event loop turns in a large call, as sliced calls do)
      const pace = sliced(where, n) ? pacing(booting(where)) : null;
      const here = (w: number, len: number): Uint8Array => deltaInline(stillThere(x.u8, w, w + len, 'a'), stillThere(y.u8, w, w + len, 'b'));
      for (let w = 0; w < words; w += DeltaEntry.MAX_SOURCE) {
        const len = Math.min(DeltaEntry.MAX_SOURCE, words - w);
        // (a window longer than the device's largest transfer runs here too: its entries index the whole window)
        const entries = where.startsWith('inline') || len < 8 || len > this.#cfg.maxTransfer
          ? here(w, len)
          : ((await this.#deltaDevice(x.addr + w, y.addr + w, len)) ?? ((seen.placement = 'inline:no-room'), here(w, len)));
        if (entries.byteLength > 0) frames.push([w / DeltaEntry.MAX_SOURCE, entries]);
        await pace?.(len);
      }
      if (words < n && firstDifference(stillThere(x.u8, words, n, 'a'), stillThere(y.u8, words, n, 'b')) >= 0) frames.push([TAIL_FRAME, stillThere(y.u8, words, n, 'b')]);
      return framed(n, frames, pace);
    });
  }

  /** A window's delta entries by the engines, or null when the arena has no room for them (the caller's buffers took it): then this thread makes them. */
  async #deltaDevice(a: number, b: number, len: number): Promise<Uint8Array | null> {
    const max = Math.ceil((len / 8) * DeltaEntry.SIZE / DeltaEntry.SIZE) * DeltaEntry.SIZE + DeltaEntry.MIN_RECORD;
    const out = this.#room(max, 8);
    if (out === 0) return null;
    try {
      const rec = await this.#desc('createDelta', Opcode.CR_DELTA, (d) => {
        this.#addr(d, Desc.SRC, a);
        this.#addr(d, Desc.SRC2, b);
        this.#size(d, len);
        this.#addr(d, Desc.DELTA_ADDR, out);
        this.#dv.setUint32(d + Desc.DELTA_MAX, max, true);
      });
      const size = this.#dv.getUint32(rec + Record.OP_SPECIFIC, true);
      return this.#mem.slice(out, out + size);
    } finally {
      this.#dev.free(out);
    }
  }

  /** Applies a delta from createDelta to dst (which holds a's contents); resolves to dst. */
  async applyDelta<T extends Bytes>(dst: T, delta: Bytes): Promise<T> {
    let d: Span;
    let rec: Uint8Array;
    try {
      d = this.#span('dst', dst);
      rec = this.#span('delta', delta).u8;
    } catch (e) {
      throw argError('applyDelta', e);
    }
    // (its record is data, not an argument's shape: a batch's earlier call may write it)
    if (this.#checkOnly) return dst;
    const n = d.n;
    let frames: ReturnType<typeof parseFrames>;
    try {
      frames = parseFrames(rec, n);
    } catch (e) {
      throw argError('applyDelta', e);
    }
    // (a large delta's entries checked with turns of the event loop between frames: its buffer
    // may be detached or shrunk meanwhile, BUFFER_GONE, not a bad entry)
    const pace = isSliced(rec.byteLength) ? pacing() : null;
    for (const f of frames) {
      try {
        stillThere(rec, f[1], f[2], 'delta');
      } catch (e) {
        throw goneFrom('applyDelta', e);
      }
      try {
        checkEntries(rec, f, n);
      } catch (e) {
        throw argError('applyDelta', e);
      }
      await pace?.(f[2] - f[1]);
    }
    let where = unsplit(this.#placeWithin('compare', rec.byteLength, d));
    // AP_DELTA needs an 8-byte aligned destination (0x1C otherwise).
    if (where === 'device' && (d.addr & 7) !== 0) where = 'inline:unaligned';
    // (a delta kept in dst's own bytes is read whole before dst is written)
    const from = sharesBytes(rec, d.u8) ? new Uint8Array(rec) : rec;
    return this.#track('applyDelta', n, where, async () => {
      const pace = sliced(where, n) ? pacing(booting(where)) : null;
      for (const [window, a, b] of frames) {
        const body = stillThere(from, a, b, 'delta');
        if (window === TAIL_FRAME) {
          stillThere(d.u8, n - body.byteLength, n, 'destination').set(body);
          continue;
        }
        const start = window * DeltaEntry.MAX_SOURCE;
        const len = Math.min(DeltaEntry.MAX_SOURCE, n - (n % 8) - start);
        if (where.startsWith('inline') || len > this.#cfg.maxTransfer || !(await this.#applyDevice(d.addr + start, len, body))) {
          applyInline(stillThere(d.u8, start, start + len, 'destination'), body);
        }
        await pace?.(len);
      }
      return dst;
    });
  }

  /** Applies a window's entries on the engines; false, doing nothing, when the arena has no room for them. */
  async #applyDevice(dst: number, len: number, body: Uint8Array): Promise<boolean> {
    const at = this.#room(body.byteLength, 8);
    if (at === 0) return false;
    try {
      this.#mem.set(body, at);
      await this.#desc('applyDelta', Opcode.AP_DELTA, (d) => {
        this.#addr(d, Desc.SRC, at);
        this.#addr(d, Desc.DST, dst);
        this.#size(d, len);
        this.#dv.setUint32(d + Desc.DELTA_SIZE, body.byteLength, true);
      });
      return true;
    } finally {
      this.#dev.free(at);
    }
  }

  /** Arena bytes for a call's own use, or 0 when there is no room (the caller's buffers took it). */
  #room(bytes: number, align: number): number {
    try {
      return this.#dev.alloc(bytes, align);
    } catch (e) {
      if (e instanceof RangeError) return 0;
      throw e;
    }
  }
}

// ---- inline kernels: the calling thread's own work ----

const noop = (): void => {};

/** the Settles whose promise is being made: `settle` hands it its functions (see Settles.promise) */
let making: Settles<never> | null = null;
const settle = (resolve: (v: never) => void, reject: (e: unknown) => void): void => {
  making!.resolve = resolve;
  making!.reject = reject;
};

/** A promise's settling functions, kept on the object (one executor for all: no closure a call). */
class Settles<T> {
  resolve: (v: T) => void = noop;
  reject: (e: unknown) => void = noop;

  /** A new promise, settled through this object's resolve and reject. */
  promise(): Promise<T> {
    // (the executor runs now, within the constructor; another call's made meanwhile, by an async
    // hook's init, say, makes its own and gives this one back)
    const outer = making;
    making = this as unknown as Settles<never>;
    try {
      return new Promise<T>(settle as (resolve: (v: T) => void, reject: (e: unknown) => void) => void);
    } finally {
      making = outer;
    }
  }
}

/** One descriptor's caller: the batcher settles it from the completion record. */
class Call extends Settles<number> implements Member {
  readonly op: string;
  /** > 0: a piece of a split call (see Member) */
  group = 0;

  constructor(op: string) {
    super();
    this.op = op;
  }

  done(rec: number, status: number): void {
    if (succeeded(this.op, status)) this.resolve(rec);
    else this.reject(failure(this.op, status));
  }

  fail(e: unknown): void {
    this.reject(e);
  }
}

/**
 * Whether a call's descriptor succeeded: 0x01, or 0x02 (success, predicate false) for the
 * operations that have a predicate (compare, compare-pattern, create delta); any other would
 * not have run (a fault rule's status), its result not made.
 */
const succeeded = (op: string, status: number): boolean =>
  status === Status.SUCCESS || (status === Status.SUCCESS_PRED && (op === 'compare' || op === 'firstDifference' || op === 'createDelta'));

/** The error of a call whose descriptor completed with `status` (not a success). */
const failure = (op: string, status: number): Error => (status === Status.HW_ERROR ? Errors.hwError(op) : Errors.status(op, status));

/** The member of a call that is one descriptor (Ops.#one): it settles the caller's promise. */
class OneCall<T> extends Settles<T | Promise<T>> implements Member {
  readonly readsNow = true;

  constructor(
    readonly op: OpName,
    /** rec -1: the call failed, with `error` */
    readonly finish: (call: OneCall<T>, rec: number, error?: unknown) => T | Promise<T> | null,
    readonly bytes: number,
    readonly placement: Placement,
    readonly t0: number,
    readonly space: number,
    readonly value: (rec: number) => T,
  ) {
    super();
  }

  done(rec: number, status: number): void {
    if (!succeeded(this.op, status)) return this.fail(failure(this.op, status));
    let v: T | Promise<T> | null;
    try {
      v = this.finish(this, rec);
    } catch (e) {
      return this.reject(e);
    }
    this.resolve(v!);
  }

  fail(e: unknown): void {
    this.finish(this, -1, e);
    this.reject(e);
  }
}

/** The CRC of consecutive ranges from each range's own (the first seeded, the rest from 0). */
function combine(parts: number[], ranges: Array<[number, number]>): number {
  let crc = parts[0];
  for (let i = 1; i < parts.length; i++) crc = crc32cCombine(crc, parts[i], ranges[i][1] - ranges[i][0]);
  return crc;
}

/** An 8-byte fill pattern as seen from k bytes further on (little-endian: byte j becomes byte j + k's). */
function rotate(pat: bigint, k: number): bigint {
  if (k === 0) return pat;
  const bits = BigInt(8 * k);
  return ((pat >> bits) | (pat << (64n - bits))) & 0xffffffffffffffffn;
}

/** A call done here in slices (slices.ts): a large one (while the engines boot, a longer one). */
const sliced = (where: Placement, n: number): boolean => isSliced(n, where === 'inline:booting');
const booting = (where: Placement): boolean => where === 'inline:booting';

const away = (s: Span): Placement => (s.placement === 'local' ? 'inline:not-shared' : 'inline:foreign');

/** Deltas run as one descriptor per 512 KiB window, never split further, and need the arena. */
const align64 = (x: number): number => Math.ceil(x / 64) * 64;
const unsplit = (p: Placement): Placement => (p === 'split' ? 'device' : p === 'foreign' ? 'inline:foreign' : p);

function overlaps(a: Span, b: Span, n: number): boolean {
  return a.addr < b.addr + n && b.addr < a.addr + n;
}

/** Whether writing src's bytes to dst changes src's bytes (dst overlaps src, in the same memory, and is not src itself). */
function clobbers(src: Uint8Array, dst: Uint8Array): boolean {
  const n = src.byteLength;
  return src.buffer === dst.buffer && dst.byteOffset !== src.byteOffset && dst.byteOffset < src.byteOffset + n && src.byteOffset < dst.byteOffset + n;
}

/** Whether a and b share bytes (the same ones too). */
function sharesBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteLength > 0 && b.byteLength > 0 && b.byteOffset < a.byteOffset + a.byteLength && a.byteOffset < b.byteOffset + b.byteLength;
}

function fillInline(u8: Uint8Array, pat: bigint): void {
  const p = new Uint8Array(8);
  new DataView(p.buffer).setBigUint64(0, pat, true);
  if (p.every((v) => v === p[0])) u8.fill(p[0]);
  else fillPattern(u8, p);
}

/** What this thread measured (calibrate()), shared by its devices. */
let measured: { rates: Thresholds; handoffMs: number } | null = null;

/** Bytes per ms this thread copies, compares and CRCs, on 16 KiB of arena memory; null without room. */
async function measureRates(dev: DeviceAccess, memory: ArenaMemory, stopped: () => boolean): Promise<Thresholds | null> {
  // 2 x 16 KiB of arena, or less where the arena is small (or full).
  let size = 0;
  let a = -1;
  for (const s of [16384, 4096, 1024]) {
    try {
      a = dev.alloc(s * 2, 64);
      size = s;
      break;
    } catch {
      // smaller, then
    }
  }
  if (a < 0) return null;
  try {
    const mem = new Uint8Array(memory.buffer as unknown as SharedArrayBuffer);
    const src = mem.subarray(a, a + size);
    const dst = mem.subarray(a + size, a + 2 * size);
    // The best of three 0.2 ms windows, after a warm-up: a cold first call (JIT, first touch)
    // or a moment of preemption (the engines start now, on the same cores) must not set the
    // threshold for the device's lifetime. A turn of the event loop before each: the nine
    // windows in one go held it 2-4 ms, a gap a program saw once, in its first idle moment.
    const rate = async (fn: () => void): Promise<number> => {
      for (let i = 0; i < 4; i++) fn();
      let best = 0;
      for (let w = 0; w < 3; w++) {
        await new Promise<void>((r) => backgroundTurn(r)); // (holding no program that has ended)
        if (stopped()) throw new Error('stopped'); // (the device closes: its arena goes)
        let reps = 0;
        const t0 = performance.now();
        let t = t0;
        while (t - t0 < 0.2 || reps < 4) {
          fn();
          reps++;
          t = performance.now();
        }
        best = Math.max(best, (size * reps) / (t - t0)); // bytes per ms
      }
      return best;
    };
    return { copy: await rate(() => dev.copy(a + size, a, size)), compare: await rate(() => compareBytes(src, dst)), crc: await rate(() => dev.crc(a, size, 0)) };
  } catch {
    return null; // stopped, or the device closed under it: keep the stand-ins
  } finally {
    try {
      dev.free(a);
    } catch {
      // the device closed under it: its arena is gone with it
    }
  }
}
