// The device: one shared arena (the address space), its work queues (one by default; a
// configuration's groups and WQs with Device.fromConfig), engines that drain them, and
// completions through interrupt vectors. `Device.open` builds it on the thread that owns it;
// `Device.attach` joins it from another thread of the program (attached_device.ts), with a part
// of the arena it lends (lend). A thread's connection, its portal and interrupts, is
// device/connection.ts; the drop-in calls and arena buffers on top of it, api/calls.ts.
import { Allocator } from './device/allocator.ts';
import { coreModule } from './device/core.ts';
import { type EngineFailure, Engines } from './device/engines.ts';
import { argCoded, Errors, SoftDsaError, typeName } from './device/errors.ts';
import { own } from './device/own.ts';
import { checkRule, type FaultHandle, type FaultRule, type FaultStats, FaultTable } from './device/faults.ts';
import { type EventFdAddon, eventFdUnavailableReason, loadEventFd } from './device/eventfd.ts';
import { Ctx, Limit, Status } from './device/format.ts';
import { computeLayout, type Layout, MAX_ENGINES, MAX_VECTORS, PAGE, scratchOf, VECTOR_WORDS, Vec } from './device/layout.ts';
import { configFile, parseAccelConfig, readConfigFile, toAccelConfig } from './device/accel_config.ts';
import { nextPow2, singleQueue, type Topology, topologyLayout } from './device/topology.ts';
import { DEVICE_MAGIC } from './device/spaces.ts';
import { WARM_BYTES, warmLongCrc } from './device/warm_up.ts';
import { checkAttach, checkHost, coreLoading, cores } from './device/host.ts';
import { WorkQueue } from './device/work_queue.ts';
import { Descriptor } from './device/descriptor.ts';
import { DeviceCalls, hereBytes, keptRanges, releaseOwn } from './api/calls.ts';
import { AttachedDevice, beginReclaim, endReclaim, LEND_MIN, markLent } from './attached_device.ts';
import { DeviceConnection, type DeviceHandle, type InterruptHandle, rejectOffDevice, throwOffDevice } from './device/connection.ts';
import type { EngineData } from '../workers/engine.ts';
import { blockBytes } from './api/batcher.ts';
import { type DeviceAccess, Ops } from './api/ops.ts';
import { descriptorChannel } from './device/trace.ts';
import type { OpsSnapshot } from './api/stats.ts';
import { clearInterval, clearTimeout, setInterval, setTimeout } from './device/timers.ts';
import { isSharedBuffer } from './device/views.ts';

export interface DeviceStats {
  /** per operation called at least once: `stats().ops.memcpy?.placement` */
  ops: OpsSnapshot;
  /** same-tick batching: batch descriptors submitted and the calls they carried */
  batches: { batches: number; descriptors: number };
  inlineThresholds: { copy: number; compare: number; crc: number } | null;
  completionPath: 'eventfd' | 'atomics';
  /** descriptors the engines completed (top level: a batch counts once) */
  completed: number;
  engineFailures: number;
  /** descriptors that dead engines held, completed with status 0x20 */
  recovered: number;
  /** resources in use: interrupt vectors (this device's own, attached threads', allocated handles) and foreign address spaces */
  resources: { vectors: number; addressSpaces: number };
  /** fault injection: the seed, descriptors rules fired on, and by effect */
  faults: FaultStats;
}

export interface DeviceOptions {
  /** engine threads; default: one per core */
  engines?: number | undefined;
  /** work queue slots, a power of two from 4 to 65536; default 128 */
  wqSize?: number | undefined;
  /** 'dedicated': only the opening thread submits; 'shared': any attached thread may (default 'dedicated') */
  wqMode?: 'dedicated' | 'shared' | undefined;
  /** bytes of arena descriptors can address; default 256 MiB (reserved, committed as touched) */
  arenaBytes?: number | undefined;
  /** largest batch descriptor count; default 1024 (1: no batches; the calls then go one descriptor each) */
  maxBatch?: number | undefined;
  /** largest transfer size; default 2 GiB (the arena bounds it anyway) */
  maxTransfer?: number | undefined;
  /** how completions reach the opening thread; default 'auto' (eventfd where the addon is built) */
  completion?: 'auto' | 'eventfd' | 'atomics' | undefined;
  /** high-level calls below this many bytes run inline; 'auto' (default): measured at start-up */
  inlineThreshold?: number | 'auto' | undefined;
  /**
   * high-level calls of at least this many bytes are split across engines (a number: for every
   * call). 'auto' (default): CRCs (crc32c, copyCrc32c) and compares from 2 MiB, copies, fills
   * and dualcasts from 4 MiB. One engine is as fast below: waking the others costs about what
   * the split saves, and a copy, bound by memory, gains less from a second engine (measured
   * with calls awaited one at a time, 2 engines on 2 cores)
   */
  splitThreshold?: number | 'auto' | undefined;
  /** engines spin up to this long on an empty queue before parking; default 50 */
  engineSpinMicros?: number | undefined;
  /** the submitter spins up to this long for a completion before sleeping on its vector; default 50 */
  pollSpinMicros?: number | undefined;
  /**
   * engine threads raise their nice value by this much (0 to 19) at start, so the kernel runs the
   * main thread first when both want a core and engines get the idle cycles; 0 leaves them at the
   * process's priority. Linux, with the addon built (elsewhere, or if the call fails, ignored).
   * Default 10: on 2 cores, copying 1 GiB across both engines, it kept the event-loop delay p99
   * under 2 ms (2-5 ms at 0) with no loss of throughput, and, unlike 19, still leaves
   * engines about a tenth of a core against a busy thread of normal priority
   * (bench/priority.bench.ts, bench/results/priority.json)
   */
  engineNice?: number | undefined;
  /**
   * engine threads ask the kernel for an EEVDF slice this long (µs, 100 to 100000) at start;
   * 0 leaves the kernel's (about 0.75 ms times 1 + log2 of the cores, up to 8). Linux 6.12+ with
   * the addon built (elsewhere ignored). Default 10000: a waking thread with a shorter slice (the
   * main thread, at the kernel's) may then cut an engine's slice short, so the event loop waits
   * for no engine; with the kernel's slice it waited up to one (the main thread's wake-to-run
   * p99 0.15-1.0 ms, 3.6 ms at worst, perf sched on 2 cores copying 1 GiB; 0.08-0.41 ms with
   * 10 ms slices). Shorter slices than the main thread's make it worse (1.4-2.5 ms at 0.1 ms).
   */
  engineSliceMicros?: number | undefined;
  /**
   * engine copies (MEMMOVE) of at least this many bytes whose descriptor leaves Flag.CC clear (as
   * the drop-in calls do) write their destination with stores that bypass the cache, as DSA
   * writes to memory unless CC asks for the cache; so do the calling thread's own copies of arena
   * memory, and a split copy's pieces are cut to reach it where each engine's share does; 0:
   * never. x86-64 Linux with the addon (elsewhere ignored). Default 8 MiB: beyond the cache such
   * a copy moves ~1.3x the bytes a second, as it does not read each destination line before
   * writing it; below, a copy in the cache is faster through it (bench/cache_bypass.bench.ts)
   */
  cacheBypassBytes?: number | undefined;
  /** fault-injection rules set from the start (more with dev.inject()); see FaultRule */
  faults?: readonly FaultRule[] | undefined;
  /** the seed of the rules' probabilities (0 to 2^32-1); default: a random one, in stats().faults.seed */
  faultSeed?: number | undefined;
}

/**
 * What a device sets aside of its arena for the high-level calls as it opens, on top of
 * arenaBytes: a block of same-tick calls (96 bytes a member, maxBatch of them, at most an eighth
 * of arenaBytes: 96 KiB by default) and the thread's own area (calls.ts hereBytes).
 */
function callsReserve(o: Required<DeviceOptions>): { maxBatch: number; block: number; here: number } {
  const maxBatch = Math.max(1, Math.min(o.maxBatch, Math.floor(o.arenaBytes / 8 / 96)));
  return { maxBatch, block: blockBytes(maxBatch), here: hereBytes(o.arenaBytes) };
}
/** (each block set aside from the arena's top is 64-aligned: up to 63 bytes each lost to that) */
const CALLS_SLACK = 128;

/** Arena bytes this thread's core checksums as buffer() makes it: enough to reach every level of its folds (the first from 32 KiB). */
const WARM_CRC_BYTES = 32 << 10;
/** The opener's warm-up batches at most this many calls (a block of 768 bytes in the engines' warm-up area). */
const WARM_BATCH = 8;

const DEFAULTS = {
  wqSize: 128,
  wqMode: 'dedicated' as const,
  arenaBytes: 256 << 20,
  inlineThreshold: 'auto' as const,
  splitThreshold: 'auto' as const,
  maxBatch: Limit.MAX_BATCH_DEFAULT as number,
  maxTransfer: Limit.MAX_TRANSFER_DEFAULT as number,
  completion: 'auto' as const,
  engineSpinMicros: 50,
  pollSpinMicros: 50,
  engineNice: 10,
  engineSliceMicros: 10000,
  cacheBypassBytes: 8 << 20,
  faults: [] as readonly FaultRule[],
};

/** Every option Device.open takes: a name outside these is a typo to say, not an option left at its default. */
const OPTION_NAMES: ReadonlySet<string> = new Set([...Object.keys(DEFAULTS), 'engines', 'faultSeed']);

/** Throws for an option name Device.open does not take. */
function checkOptionNames(options: object): void {
  for (const k of Object.keys(options)) {
    if (!OPTION_NAMES.has(k)) throw argCoded(new TypeError(`unknown device option ${k} (the options: ${[...OPTION_NAMES].join(', ')})`));
  }
}

/** `or`: one more value the option takes (0: off, 'auto'), named in the error. */
function checkInt(name: string, v: number | 'auto', min: number, max: number, or?: 0 | 'auto'): void {
  if (or !== undefined && v === or) return;
  const also = or === 'auto' ? "'auto' or " : or === 0 ? '0 or ' : '';
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
    const why = `must be ${also}an integer from ${min} to ${max}, got ${typeof v === 'number' ? v : typeof v === 'string' ? `the string ${JSON.stringify(v)}` : typeName(v)}`;
    throw typeof v === 'number' ? Errors.option(name, why) : Errors.optionType(name, why); // (a wrong kind of value, not one out of range)
  }
}

/** An option that takes one of `names`: a RangeError for another string, a TypeError for anything else. */
function oneOf(name: string, v: unknown, names: string[]): Error {
  const why = `must be ${names.map((n) => `'${n}'`).join(', ').replace(/, ([^,]*)$/, ' or $1')}, got `;
  return typeof v === 'string' ? Errors.option(name, why + JSON.stringify(v)) : Errors.optionType(name, why + typeName(v));
}

/**
 * The options a device opens with: the defaults, then those given (an option given as
 * undefined takes its default), then a topology's, each checked: a TypeError or ConfigError
 * naming the option that is wrong.
 */
export function checkedOptions(options: DeviceOptions, topology: Topology | null = null): Required<DeviceOptions> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw argCoded(new TypeError(`device options must be an object; got ${typeName(options)}`));
  checkOptionNames(options);
  // An option given as undefined takes its default, as if it were absent.
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULTS, engines: Math.max(1, cores()), faultSeed: (Math.random() * 2 ** 32) >>> 0, ...given } as Required<DeviceOptions>;
  if (topology !== null) {
    // The default portal's WQ sets what the high-level API splits by.
    const q0 = [...topology.wqs].sort((a, b) => a.id - b.id)[0];
    Object.assign(o, { engines: topologyLayout(topology).engineCount, wqSize: q0.size, wqMode: q0.mode, maxBatch: q0.maxBatchSize, maxTransfer: q0.maxTransferSize });
  }
  checkInt('engines', o.engines, 1, MAX_ENGINES);
  if (topology === null) {
    checkInt('wqSize', o.wqSize, 4, 65536);
    if ((o.wqSize & (o.wqSize - 1)) !== 0) throw Errors.option('wqSize', `must be a power of two, got ${o.wqSize}`);
  }
  if (o.wqMode !== 'dedicated' && o.wqMode !== 'shared') throw oneOf('wqMode', o.wqMode, ['dedicated', 'shared']);
  checkInt('arenaBytes', o.arenaBytes, PAGE, 65000 * PAGE);
  checkInt('maxBatch', o.maxBatch, 1, Limit.MAX_BATCH_DEFAULT); // (DSA's largest batch, as a WQ's max_batch_size)
  checkInt('maxTransfer', o.maxTransfer, 1, Limit.MAX_TRANSFER_DEFAULT); // (DSA's largest transfer, 2 GiB)
  // A WQ keeps both as their log2 (WQCFG): rounded up to a power of two, as the driver rounds a
  // WQ's max_batch_size and max_transfer_size (and fromConfig, their accel-config fields), so that
  // dev.config() says what the device does and fromConfig reads it back (1000 read back as 1024).
  o.maxBatch = nextPow2(o.maxBatch);
  o.maxTransfer = nextPow2(o.maxTransfer);
  checkInt('engineSpinMicros', o.engineSpinMicros, 0, 1e6);
  checkInt('pollSpinMicros', o.pollSpinMicros, 0, 1e6);
  checkInt('engineNice', o.engineNice, 0, 19);
  checkInt('engineSliceMicros', o.engineSliceMicros, 100, 100000, 0);
  checkInt('cacheBypassBytes', o.cacheBypassBytes, 0, 0xffffffff);
  checkInt('faultSeed', o.faultSeed, 0, 0xffffffff);
  if (!Array.isArray(o.faults)) throw Errors.optionType('faults', `must be an array of fault rules, got ${typeName(o.faults)}`);
  checkInt('inlineThreshold', o.inlineThreshold, 0, 0xffffffff, 'auto');
  checkInt('splitThreshold', o.splitThreshold, 64, 0xffffffff, 'auto');
  if (!['auto', 'eventfd', 'atomics'].includes(o.completion)) throw oneOf('completion', o.completion, ['auto', 'eventfd', 'atomics']);
  if (o.completion === 'eventfd' && loadEventFd() === null) throw Errors.option('completion', `eventfd: the addon is unavailable here (${eventFdUnavailableReason()})`);
  o.faults.forEach((rule, i) => {
    try {
      checkRule(rule, topology === null ? [{ id: 0, name: 'wq0.0', dev: 'wq0.0' }] : topologyLayout(topology).wqs);
    } catch (e) {
      // (of the kind the rule's check gave: a field rules do not have is a TypeError, as an unknown option is)
      throw e instanceof TypeError ? Errors.optionType(`faults[${i}]`, e.message) : Errors.option(`faults[${i}]`, (e as Error).message);
    }
  });
  return o;
}

/** A file mapped into a device (Device.mapFile). */
export interface MappedFile {
  /** the PASID descriptors name it by (descriptor bytes 0-2) */
  readonly pasid: number;
  /** the bytes descriptors may reach: offsets [0, size) */
  readonly size: number;
  /** ends the mapping and gives its arena windows back (once nothing naming it is in flight) */
  unmap(): void;
}

/**
 * Bytes each engine reads a mapped file through at a time (pread into its arena window, then the
 * core's CRC while they are in the cache). 1 GiB in the page cache, session 21 (AMD EPYC VM):
 * 1 MiB reads as fast as any size from 256 KiB to 8 MiB. Mapping the file's pages over the window
 * instead (no read copy; sessions 13-20) ran 3.6x slower there: 4 KiB mappings of the page cache
 * under nested paging fault and miss the TLB where a read copies through the kernel's huge
 * pages, and each unmapping left the window small-paged.
 */
export const FILE_WINDOW = 1 << 20;

/** fromConfig's options checked: which device of the file, and those of Device.open the config leaves. */
type CheckedConfigOptions = { device: string | undefined; rest: Omit<ConfigOptions, 'device'> };

/** Device.fromConfig options: those of Device.open that the config does not set, and which device of the file. */
export type ConfigOptions = Omit<DeviceOptions, 'engines' | 'wqSize' | 'wqMode' | 'maxBatch' | 'maxTransfer'> & {
  /** the device of the config to open (dsaN); default: its first DSA device */
  device?: string | undefined;
};

/**
 * Asks the kernel for transparent huge pages over the arena (Linux, THP in its usual `madvise`
 * mode; where THP is `always` the arena has them anyway, where `never`, this does nothing).
 * Arena buffers are written and read in megabytes, and what a fresh 4 KiB page costs here
 * dominated the first calls on new buffers: 16 MiB of them took 4,096 page faults to fill
 * (7-10 ms; 2.5 with huge pages), and the first two passes over them ran at half speed (a CRC
 * of 16 MiB 1.3-1.9 ms, then 0.6-0.7), where huge pages, which the kernel hands out again from
 * those just freed, ran at full speed from the first pass (0.6). The control region before
 * the arena is left as it is.
 */
function adviseHuge(addon: EventFdAddon | null, buf: SharedArrayBuffer, layout: Layout): void {
  const at = Math.ceil(layout.arenaBase / PAGE) * PAGE;
  const end = Math.floor(layout.arenaEnd / PAGE) * PAGE;
  if (addon?.adviseHuge !== undefined && end > at) addon.adviseHuge(new Uint8Array(buf), at, end - at);
}

/** Device[openLater]: the default device's opener (not exported from the package). */
export const openLater = Symbol('softdsa.openLater');

export class Device extends DeviceCalls {
  readonly options: Readonly<Required<DeviceOptions>>;
  /** groups, engines and work queues (Device.open(): one group, one WQ) */
  readonly topology: Readonly<Topology>;
  /** what Device.fromConfig accepted and ignored (fields with no meaning in software), and defaults it took */
  readonly configWarnings: readonly string[];
  readonly #engines: Engines;
  /** members a block of the high-level calls holds, and the block set aside for them at open (0: none) */
  readonly #callsMaxBatch: number;
  readonly #callsBlock: number;
  /** this thread's own arena bytes for its synchronous work (DeviceAccess.here) */
  readonly #here: { base: number; bytes: number };
  #closing: Promise<void> | null = null;
  /** closed, and the free arena pages given back (#releaseFree): a block freed from now is given back as it is freed */
  #released = false;
  #ops: Ops | null = null;
  readonly #faults: FaultTable;

  private constructor(opts: Required<DeviceOptions>, memory: WebAssembly.Memory, layout: Layout, addon: EventFdAddon | null, topology: Topology, warnings: string[]) {
    // (private to TypeScript only: from JavaScript, `new Device()` met "Cannot read properties of undefined")
    if (!(memory instanceof WebAssembly.Memory)) throw argCoded(new TypeError('new Device(): a device is opened with Device.open(options) (or Device.fromConfig, Device.attach from another thread)'));
    super(memory, layout, addon, opts.pollSpinMicros, 0, { base: layout.arenaBase, end: layout.arenaEnd });
    this.options = Object.freeze(opts);
    this.topology = topology;
    this.configWarnings = Object.freeze(warnings);
    // Set aside now, before buffer() can take their room (an arena filled with buffers before the
    // first call had left the calls none: all but a few of 100 calls refused), and on top of
    // arenaBytes (the layout has room for them), so the caller's arenaBytes stay the caller's.
    const r = callsReserve(opts);
    this.#callsMaxBatch = r.maxBatch;
    this.#callsBlock = this.#alloc().alloc(r.block, 64, true);
    this.#here = { base: this.#alloc().alloc(r.here, 64, true), bytes: r.here };
    this.#faults = new FaultTable(memory, layout);
    // Vector 0 is the device's own: completions of this thread, and interrupt handle 0.
    this.vectors.claim(0);
    this.connect(0);
    // Each engine warms its kernels on a few KiB of its own as it boots (warm_up.ts); the area
    // goes back once they are ready. A small arena with no room for it: no warm-up.
    let warm = 0;
    try {
      warm = this.#alloc().alloc(WARM_BYTES * layout.engineCount, 64);
    } catch {
      warm = 0;
    }
    // Engines load the addon themselves; they write an event fd only where a thread put one.
    const data: EngineData = { memory, layout, warm, spinMicros: opts.engineSpinMicros, eventfd: addon !== null, nice: opts.engineNice, sliceMicros: opts.engineSliceMicros, streamFrom: opts.cacheBypassBytes };
    this.#engines = new Engines(data, this.vectors);
    // (started by the opener: at once, or a moment later for the default device, #startEngines)
    // Once they are up, this thread warms its own paths to them in the same area (#warmPaths),
    // and then it goes back. Engines that cannot start: no warm-up, and calls run inline (the
    // rejection is handled here, so that a device nobody asks ready() of goes on, as before;
    // engines that start on a later try find the paths cold).
    this.#ready = this.#engines.ready().then(
      () => this.#warmPaths(warm),
      (e: unknown) => {
        this.#warmed = true;
        if (warm !== 0) this[releaseOwn](warm);
        throw e;
      },
    );
    this.#ready.catch(() => {});
  }

  /** the engines are up and this thread's paths to them warmed (#warmPaths): what ready() waits for */
  readonly #ready: Promise<void>;
  #warmed = false;
  /** resolved as close() begins (the warm-up waits no longer) */
  readonly #closeBegun = withResolvers<void>();
  /** the warm-up was still waiting when close() began (ready() is told DEVICE_CLOSED) */
  #warmAbandoned = false;
  /** descriptors the engines completed for #warmPaths: not the program's (stats().completed) */
  #warmCompleted = 0;

  /**
   * This thread's own warm-up, once the engines run (theirs warmed their kernels): the calls'
   * device paths run once (Ops.warmDevice), so that the program's first call handed to the
   * engines does not pay for V8 compiling them (a first 16 MiB memcpy 300 ms after open: 5-7 ms,
   * 2.3-2.7 ms after it; later ones 1.0-1.6). Until it is done, calls run inline, as while the
   * engines boot. It never fails: what goes wrong leaves the paths cold.
   */
  async #warmPaths(area: number): Promise<void> {
    try {
      // (a close() meanwhile ends the wait: whatever the warm-up waits for, ready() must settle)
      const warming = !this.closed && area !== 0 ? Ops.warmDevice(this.#warmAccess(area, WARM_BYTES * this.layout.engineCount), this.memory, { engines: this.options.engines, maxBatch: WARM_BATCH, maxTransfer: this.options.maxTransfer, cacheBypassBytes: this.options.cacheBypassBytes }) : undefined;
      await Promise.race([warming, this.#closeBegun.promise]);
      // (close() marks the device closed as it begins: the race lost to it, or closed before the
      // warm-up, its threads booted while close() waited for them: a pending ready() resolved on
      // the closed device, 29 of 30 runs; an outside pass)
      if (this.closed) this.#warmAbandoned = true;
    } catch {
      // (the device closed under it, an engine died, a rule or a tracer came: cold paths, nothing else)
    } finally {
      this.#warmed = true;
      if (area !== 0 && !this.closed) this[releaseOwn](area);
    }
  }

  /**
   * What the warm-up's operations reach the device through: its bytes and its batcher's blocks
   * come from `area` (the engines' warm-up area, held since open: no room is taken from the
   * caller); a descriptor goes in only while no fault rule is in force and nobody traces
   * descriptors (checked at each submission: a rule or a tracer that comes meanwhile finds none
   * of its descriptors); and what the engines complete for it is counted out of stats().completed.
   */
  #warmAccess(area: number, bytes: number): DeviceAccess {
    let next = area;
    const sizes = new Map<number, number>();
    const freed = new Map<number, number[]>();
    const quiet = (): boolean => !this.portal.faulting() && !descriptorChannel.hasSubscribers;
    const counted = (status: number): number => {
      if (status === Status.SUCCESS) this.#warmCompleted++;
      return status;
    };
    const base = this.callsAccess({ copy: (dst, src, length) => this.#copyHere(dst, src, length), ready: () => true, maxBatch: WARM_BATCH, keptBlock: 0, spaces: this.#engines.spaces });
    return {
      ...base,
      reclaimWith: undefined,
      // (blocks freed are taken again, by size: a small maxTransfer cuts the warm-up's calls into
      // many descriptors, whose batcher waits for blocks to come back; it waited for good when
      // the area ran out, and ready() with it: one engine, maxTransfer 8)
      alloc: (n, align = 64) => {
        const list = freed.get(n);
        const i = list?.findIndex((at) => at % align === 0) ?? -1;
        if (list !== undefined && i >= 0) return list.splice(i, 1)[0];
        const at = Math.ceil(next / align) * align;
        if (at + n > area + bytes) throw new RangeError('softdsa: the warm-up area is full');
        next = at + n;
        sizes.set(at, n);
        return at;
      },
      free: (at) => {
        const n = sizes.get(at);
        if (n !== undefined) freed.set(n, [...(freed.get(n) ?? []), at]);
      },
      submit: (d) => (quiet() ? base.submit(d).then(counted) : Promise.reject(Errors.closed())),
      submitNow: (d, group) => {
        if (!quiet()) return Promise.reject(Errors.closed());
        const r = base.submitNow(d, group);
        return typeof r === 'number' ? counted(r) : r.then(counted);
      },
    };
  }

  /**
   * Opens a device; resolves once its engines are running, with their kernels warmed (about
   * 50-60 ms in a fresh process on a 2-core machine, mostly thread start-up; less for later devices, whose compiled code is shared).
   */
  static async open(options: DeviceOptions = {}): Promise<Device> {
    return Device.#whenReady(Device.openSync(options));
  }

  /** The device once its engines run; closed, and the reason thrown, when they cannot start. */
  static async #whenReady(dev: Device): Promise<Device> {
    try {
      await dev.ready();
    } catch (e) {
      await dev.close();
      throw e;
    }
    return dev;
  }

  /**
   * Resolves once the engines have booted and this thread's paths to them are warm (at once when
   * they are); rejects with ENGINE_START_FAILED when they cannot start, and with DEVICE_CLOSED when
   * the device is closed before they ran (a program that gates its work on ready() must not be
   * told a device that never ran is ready) or was closed before the call.
   */
  override ready(): Promise<void> {
    if (this.closed) return Promise.reject(Errors.closed()); // (as every other verb: nothing will be ready)
    this.#startEngines();
    const up = this.#warmed ? this.#ready : held(this.#ready);
    const p = up.then(() => {
      // (the engines' wait ends when the device stops, and the warm-up's as close() begins: closed first)
      if (!this.#engines.booted || this.#warmAbandoned) throw Errors.closed();
    });
    // (a ready() asked only to start the engines, and not awaited, is no unhandled rejection when
    // the device closes first: the caller who awaits it still hears DEVICE_CLOSED)
    p.catch(() => {});
    return p;
  }

  /**
   * Starts the engines (`start` false: never, the device closing with no work for them), unless
   * that was decided already (each device's once). The default device's opener defers it
   * (openLater): a program that makes its calls and ends, all inline while engines would boot,
   * then never starts them, nor waits at its exit for them to stop.
   */
  #startEngines(start = true): void {
    if (this.#engineStart === 'decided') return;
    if (this.#engineStart !== null) clearTimeout(this.#engineStart);
    this.#engineStart = 'decided';
    if (start) this.#engines.start();
  }

  /** null: not yet; a timer: deferred (openLater); 'decided': started, or never will be (closed first) */
  #engineStart: ReturnType<typeof setTimeout> | 'decided' | null = null;

  /**
   * Opens a device whose engines start `ms` later (an unref'd timer), or at once when ready() is
   * asked (open() included) or it closes with work queued: the default device (default_device.ts),
   * opened by a program's first alloc() or file call. Until they start, calls run here, as while
   * they boot. (Not part of the API: the symbol is not exported from the package.)
   */
  static [openLater](options: DeviceOptions, ms: number): Device {
    const dev = Device.#build(options, null, [], false);
    if (dev.#engineStart === null) {
      dev.#engineStart = setTimeout(() => dev.#startEngines(), ms);
      dev.#engineStart.unref?.();
    }
    return dev;
  }

  /** The opener's core: the process's module, the control region's last scratch slot. */
  protected override coreSource(): { module: WebAssembly.Module; scratch: number } {
    return { module: coreModule(), scratch: scratchOf(this.layout, this.layout.engineCount) };
  }

  /**
   * Opens a device configured as an accel-config file says (JSON text, a path, or the parsed
   * JSON): `accel-config save-config` output, or a config written for `accel-config load-config`.
   * Resolves once its engines run; rejects with a ConfigError (code CONFIG_INVALID, `target` and
   * `field` naming what is wrong) for a configuration accel-config or the driver would refuse.
   */
  static async fromConfig(source: unknown, options: ConfigOptions = {}): Promise<Device> {
    const checked = Device.#configOptions(options);
    // (the file read off this thread: a slow disk or a large file holds no event loop)
    const path = configFile(source);
    const text = path === null ? undefined : await readConfigFile(path);
    return Device.#whenReady(Device.#fromConfig(source, checked, text));
  }

  /** Device.fromConfig without the promise. */
  static fromConfigSync(source: unknown, options: ConfigOptions = {}): Device {
    return Device.#fromConfig(source, Device.#configOptions(options));
  }

  static #fromConfig(source: unknown, { device, rest }: CheckedConfigOptions, text?: string): Device {
    const { topology, warnings } = parseAccelConfig(source, device, text);
    return Device.#build(rest, topology, warnings);
  }

  /** fromConfig's options, checked: which device of the file, and those of Device.open the config leaves. */
  static #configOptions(options: ConfigOptions): CheckedConfigOptions {
    if (options === null || typeof options !== 'object') throw argCoded(new TypeError(`device options must be an object; got ${options === null ? 'null' : typeof options}`));
    const { device, ...rest } = own(options); // (not Object.prototype.device)
    const set = ['engines', 'wqSize', 'wqMode', 'maxBatch', 'maxTransfer'];
    for (const k of Object.keys(rest)) {
      if (!OPTION_NAMES.has(k)) throw argCoded(new TypeError(`unknown Device.fromConfig option ${k} (the options: device, ${[...OPTION_NAMES].filter((n) => !set.includes(n)).join(', ')})`));
    }
    for (const k of set) {
      if ((rest as Record<string, unknown>)[k] !== undefined) throw Errors.option(k, 'is set by the config (its engines and work queues)');
    }
    return { device, rest };
  }

  /** The device's configuration in accel-config's JSON (what save-config writes; fromConfig reads it back). */
  config(): Array<Record<string, unknown>> {
    return toAccelConfig(this.topology);
  }

  /** Device.open without the promise: everything it does is synchronous. */
  static openSync(options: DeviceOptions = {}): Device {
    return Device.#build(options, null, []);
  }

  /** A device of `topology` (null: one WQ, as the options say). */
  static #build(options: DeviceOptions, topology: Topology | null, warnings: string[], start = true): Device {
    checkHost();
    if (typeof WebAssembly !== 'object') throw Errors.noWasm();
    const o = checkedOptions(options, topology);
    const addon = o.completion === 'atomics' ? null : loadEventFd();

    const topo = topology ?? singleQueue(o);
    const placed = topologyLayout(topo);
    const r = callsReserve(o);
    const layout = computeLayout(o.arenaBytes + r.block + r.here + CALLS_SLACK, placed.wqs, placed.groups, placed.engineCount);
    const pages = layout.bytes / PAGE;
    if (pages > 65535) throw Errors.option('arenaBytes', 'the arena and control region exceed 4 GiB');
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    } catch (e) {
      throw Object.assign(Errors.noArenaMemory(layout.bytes), { cause: e });
    }
    const buf = memory.buffer as unknown as SharedArrayBuffer;
    adviseHuge(addon, buf, layout);
    const ctx = new DataView(buf, layout.ctx, Ctx.SIZE);
    ctx.setUint32(Ctx.ARENA_BASE, layout.arenaBase, true);
    ctx.setUint32(Ctx.ARENA_END, layout.arenaEnd, true);
    ctx.setUint32(Ctx.MAX_TRANSFER, o.maxTransfer, true);
    ctx.setUint32(Ctx.MAX_BATCH, o.maxBatch, true);
    ctx.setBigUint64(Ctx.INT_HANDLES, 1n, true); // handle 0: the device's completion vector
    ctx.setUint32(Ctx.TABLES, layout.tables, true);
    ctx.setUint32(Ctx.MAGIC, DEVICE_MAGIC, true);
    // Every other WQ runs its descriptors under a copy of the context with its own limits.
    const bytes = new Uint8Array(buf);
    const byId = new Map(topo.wqs.map((w) => [w.id, w]));
    for (const w of layout.wqs) {
      if (w.ctx === layout.ctx) continue;
      bytes.copyWithin(w.ctx, layout.ctx, layout.ctx + Ctx.SIZE);
      const c = new DataView(buf, w.ctx, Ctx.SIZE);
      c.setUint32(Ctx.MAX_TRANSFER, byId.get(w.id)!.maxTransferSize, true);
      c.setUint32(Ctx.MAX_BATCH, byId.get(w.id)!.maxBatchSize, true);
    }
    new Int32Array(buf, layout.vectors, MAX_VECTORS * VECTOR_WORDS).forEach((_, i, w) => {
      if (i % VECTOR_WORDS === Vec.FD) w[i] = -1;
    });
    for (const wq of WorkQueue.all(memory, layout)) wq.reset();
    const faults = new FaultTable(memory, layout);
    faults.setSeed(o.faultSeed);
    o.faults.forEach((rule, i) => {
      try {
        faults.add(rule);
      } catch (e) {
        throw Errors.option(`faults[${i}]`, (e as Error).message);
      }
    });
    const dev = new Device(o, memory, layout, addon, topo, warnings);
    if (start) dev.#startEngines();
    return dev;
  }

  /** Joins an open device from another thread (shared work queue only). */
  static attach(handle: DeviceHandle, options: { pollSpinMicros?: number | undefined } = {}): AttachedDevice {
    checkAttach();
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw argCoded(new TypeError(`Device.attach: options must be an object; got ${typeName(options)}`));
    const o = own(options);
    for (const k of Object.keys(o)) if (k !== 'pollSpinMicros') throw argCoded(new TypeError(`unknown Device.attach option ${k} (the options: pollSpinMicros)`));
    const spin = o.pollSpinMicros === undefined ? DEFAULTS.pollSpinMicros : o.pollSpinMicros; // (null is a value given, refused as Device.open refuses it)
    checkInt('pollSpinMicros', spin, 0, 1e6);
    return new AttachedDevice(handle, spin);
  }

  /** Send this to another thread to let it attach (shared mode). */
  get handle(): DeviceHandle {
    return { memory: this.memory, layout: this.layout, shared: this.layout.wqs.some((w) => w.mode === 'shared'), eventfd: this.addon !== null, cacheBypassBytes: this.options.cacheBypassBytes };
  }

  /**
   * A handle that lends `bytes` of the arena (at least LEND_MIN) to the one thread that attaches
   * with it: there, Device.attach(handle) also takes buffers from that part and makes the drop-in
   * calls (memcpy, crc32c, ...) on this device's engines. The part is that thread's until this
   * device closes, or reclaim(handle) once the thread detached or ended. Shared mode only.
   */
  lend(bytes: number): DeviceHandle {
    if (typeof bytes !== 'number') throw argCoded(new TypeError(`lend(bytes): bytes must be a number; got ${typeName(bytes)}`));
    if (this.isClosing) throw Errors.closed(); // (before what the handle says: a closed device lends nothing, of either kind)
    const handle = this.handle;
    if (!handle.shared) throw Errors.dedicated();
    if (!Number.isInteger(bytes) || bytes < LEND_MIN) throw argCoded(new RangeError(`lend(bytes): bytes must be an integer of at least ${LEND_MIN}; got ${bytes}`));
    const base = this.allocator.alloc(bytes, 64); // (DEVICE_CLOSED when closed, RangeError when it does not fit)
    const key = markLent(this.memory, base, base + bytes);
    this.#lent.set(base, key);
    const kept = keptRanges({ keptBlock: this.#callsBlock, maxBatch: this.#callsMaxBatch, here: this.#here });
    return { ...handle, arena: { base, end: base + bytes, key }, module: coreModule(), kept };
  }

  /** parts of the arena lent (lend) and not reclaimed: their keys, by base address */
  readonly #lent = new Map<number, [number, number]>();

  protected override notFreeable(addr: number): string | null {
    return this.#lent.has(addr) ? 'that block is a part of the arena lent to another thread (lend()): reclaim(handle) takes it back' : null;
  }

  /**
   * Takes back the part of the arena a lend() handle lent, once the thread that attached with it
   * detached or ended (PART_IN_USE before; a terminated thread ends a moment after terminate()
   * resolves); resolves once its descriptors still queued have finished (a thread that ended
   * without detaching can leave some), so nothing writes there once it is the arena's again.
   */
  async reclaim(handle: DeviceHandle): Promise<void> {
    const a = handle?.arena;
    const key = a === undefined || a === null ? undefined : this.#lent.get(a.base);
    if (handle?.memory !== this.memory || key === undefined || a!.key?.[0] !== key[0] || a!.key?.[1] !== key[1]) {
      throw argCoded(new RangeError('reclaim(handle): expects a handle lend() returned on this device, not reclaimed already'));
    }
    const base = a!.base;
    if (this.#reclaiming.has(base)) throw argCoded(new RangeError('reclaim(handle): that part is being reclaimed already'));
    // (an owner token naming no vector is no thread's: what a header overwritten by someone holds)
    if (!beginReclaim(this.memory, base, (owner) => (owner & 0xff) < MAX_VECTORS && this.vectors.isLive(owner))) throw Errors.partInUse();
    // Still lent until it is freed below: free(base) meanwhile is refused (it was taken, and the
    // block given out again, then freed a second time here under its new owner).
    this.#reclaiming.add(base);
    try {
      // A DRAIN on each shared WQ (attached threads submit to any) completes after everything queued before it.
      await Promise.all(this.layout.wqs.flatMap((w, i) => (w.mode !== 'shared' ? [] : [(i === this.portal.wq.index ? this.portal : this.wq(w.id)).submit(Descriptor.drain())])));
      endReclaim(this.memory, base);
      // (the attached thread's own blocks too: its descriptors; resolved once the part is zeroed
      // and free, a slice per turn: the lender's next buffer may be cut from it)
      await new Promise<void>((freed) => this[releaseOwn](base, Infinity, freed));
    } finally {
      this.#reclaiming.delete(base);
      this.#lent.delete(base);
    }
  }

  /** bases of lent parts reclaim() is taking back (their DRAINs in flight) */
  readonly #reclaiming = new Set<number>();

  protected override get ownsDedicated(): boolean {
    return true;
  }

  /** Bytes of arena the caller's buffers may take (the options' arenaBytes). */
  override get arenaBytes(): number {
    return this.options.arenaBytes;
  }

  /** The completion path of this thread. */
  get completionPath(): 'eventfd' | 'atomics' {
    return this.addon === null ? 'atomics' : 'eventfd';
  }

  /** The high-level operations (memcpy, crc32c, ...), made on first use. */
  override get ops(): Ops {
    if (this.closed) throw Errors.closed();
    if (this.#ops === null) {
      const access = this.callsAccess({
        copy: (dst, src, length) => this.#copyHere(dst, src, length),
        ready: () => this.isReady,
        maxBatch: this.#callsMaxBatch,
        keptBlock: this.#callsBlock,
        here: this.#here,
        spaces: this.#engines.spaces,
      });
      const o = this.options;
      const ops = new Ops(access, this.memory, { engines: o.engines, maxBatch: access.maxBatch, inlineThreshold: o.inlineThreshold, splitThreshold: o.splitThreshold, maxTransfer: o.maxTransfer, cacheBypassBytes: o.cacheBypassBytes });
      this.#ops = ops;
      void this.#engines.ready().then(() => {
        if (!this.closed) ops.calibrate();
      }, () => {}); // (engines that cannot start: nothing to measure the hand-off to)
    }
    return this.#ops;
  }

  /** The opener's allocator: over the whole arena, never null. */
  #alloc(): Allocator {
    return this.arena!;
  }

  /**
   * Calls on a buffer taken before the engines are up run here: on this thread's core, made now,
   * not in the first of them (its CRC compiled, 1.5-7 ms once): a first 16 MiB crc32c from
   * alloc() took 2.7-3.0 ms on the CPU's CRC instruction, 2.3-2.6x a warm call on the device;
   * 1.3-1.4 ms so.
   */
  protected override bufferTaken(): void {
    // (not before the core is there to make: a browser still fetching it runs such calls on its JS paths)
    if (!this.hasCoreHere && !this.#engines.isReady && coreLoading() === null) {
      const core = this.coreHere();
      core.crc32c(this.layout.arenaBase, WARM_CRC_BYTES, 0, 0);
      warmLongCrc(core, this.bytes);
    }
  }

  /** An inline copy of arena bytes on this thread: past the cache from cacheBypassBytes, as the engines copy (with the addon). */
  #copyHere(dst: number, src: number, n: number): void {
    const bypass = this.options.cacheBypassBytes;
    const stream = bypass > 0 && n >= bypass ? this.addon?.streamCopy : undefined;
    if (stream !== undefined && (dst + n <= src || src + n <= dst)) stream(this.bytes, dst, src, n);
    else this.coreHere().copy(dst, src, n);
  }

  /** Per-operation counts, bytes, placement (and why inline), latency; batching; engines. */
  stats(): DeviceStats {
    const ops = this.#ops;
    return {
      ops: ops === null ? {} : ops.stats.snapshot(),
      batches: ops === null ? { batches: 0, descriptors: 0 } : ops.batches,
      inlineThresholds: ops === null ? null : { ...ops.thresholds },
      completionPath: this.completionPath,
      completed: this.#engines.completed - this.#warmCompleted,
      engineFailures: this.#engines.failures.length,
      recovered: this.#engines.failures.reduce((n, f) => n + f.finished, 0),
      resources: { vectors: this.#vectorsInUse(), addressSpaces: this.#engines.spaces.size },
      faults: this.#faults.stats(),
    };
  }

  #vectorsInUse(): number {
    this.vectors.reclaimGone(); // those of threads that ended without detaching are free
    return this.vectors.claimed().length;
  }

  /**
   * The PASID under which engines reach another SharedArrayBuffer (descriptor bytes 0-2):
   * a descriptor with it has its data addresses in that buffer, its record in the arena.
   * -1 when every PASID is taken.
   */
  addressSpace(buffer: SharedArrayBuffer): number {
    if (this.closed) throw Errors.closed();
    // (one of another realm, a vm context's, is one too; a Proxy of one has no memory to reach)
    if (!isSharedBuffer(buffer)) throw argCoded(new TypeError(`an address space is a SharedArrayBuffer (itself, not a Proxy of one); got ${typeName(buffer)}`));
    if (buffer === (this.memory.buffer as unknown)) return 0;
    return this.#engines.spaces.id(buffer, true); // the caller's raw descriptors may name it any time: never evicted
  }

  /**
   * Maps the file open at `fd` into the device, as a process mmaps a file and DSA reaches it
   * through the process's PASID: descriptors with the returned PASID have their source
   * addresses in the file (byte offsets), its first `size` bytes. CRC-32C generation runs there
   * (other operations get 0x10); a read past the file's end (it shrank) or one that fails
   * completes as a page fault at that offset, with the bytes done and their CRC. Each engine
   * reads the file into an arena window of its own (FILE_WINDOW bytes each, taken until
   * unmap()). Keep fd open while descriptors naming the PASID are in flight: unmap() ends them
   * (each at the next window its engine reads, as a page fault there; one not yet begun at once),
   * so a call that gives up unmaps first, and closes fd once they have completed.
   */
  mapFile(fd: number, size: number): MappedFile {
    if (this.closed) throw Errors.closed();
    if (!Number.isInteger(fd) || fd < 0) throw argCoded(new TypeError(`mapFile: fd must be a file descriptor (a non-negative integer); got ${String(fd)}`));
    if (!Number.isSafeInteger(size) || size < 0) throw argCoded(new RangeError(`mapFile: size must be a non-negative integer of at most 2^53 - 1 bytes; got ${String(size)}`));
    const window = FILE_WINDOW;
    const staging = this.#alloc().alloc(window * this.layout.engineCount, 4096);
    const pasid = this.#engines.spaces.file({ fd, staging, window }, size);
    if (pasid < 0) {
      this[releaseOwn](staging);
      throw Errors.noSpaces();
    }
    let mapped = true;
    return {
      pasid,
      size,
      unmap: () => {
        if (!mapped) return;
        mapped = false;
        this.#engines.spaces.end(pasid);
        // An engine may still be reading a range into its window (a descriptor submitted before
        // the unmap): the windows go back to the arena once none can be, or a buffer allocated
        // there next would take the file's bytes (it did, with a wrong CRC reported as success).
        const quiet = this.#engines.quiescence();
        // (tried again each millisecond, and at once by an allocation that finds no room: a call
        // that failed and unmapped left 2 MiB of windows taken past its rejection, ARENA_FULL next)
        const tryBack = (): boolean => {
          if (this.closed || !quiet()) return false;
          this.#windowsOut.delete(tryBack);
          this[releaseOwn](staging);
          return true;
        };
        const giveBack = (): void => {
          if (this.#windowsOut.has(tryBack) && !tryBack() && !this.closed) setTimeout(giveBack, 1).unref();
        };
        this.#windowsOut.add(tryBack);
        giveBack();
      },
    };
  }

  /** unmapped files' windows not given back yet (an engine may still read into them): each tries */
  readonly #windowsOut = new Set<() => boolean>();

  protected override reclaimHeld(): boolean {
    let back = false;
    for (const tryBack of [...this.#windowsOut]) back = tryBack() || back;
    return super.reclaimHeld() || back;
  }

  /** True once every engine has booted (until then the API's calls run inline); ready() waits for it. */
  override get isReady(): boolean {
    return this.#warmed && this.#engines.isReady;
  }

  /** Engines that died, and how many descriptors each held (completed with 0x20). */
  get engineFailures(): readonly EngineFailure[] {
    return this.#engines.failures;
  }

  /**
   * Fault injection: from now on, descriptors the rule matches fail as it says (a page fault
   * part-way, a status, a refusal, an engine death, latency, a lost interrupt), in every thread
   * that submits to this device. Returns a handle to remove it.
   */
  inject(rule: FaultRule): FaultHandle {
    if (this.closed) throw Errors.closed();
    return this.#faults.add(rule);
  }

  /**
   * Finishes this thread's in-flight work, stops the engines (they finish what is queued),
   * then settles what attached threads could not get run: every promise of every thread
   * settles (done, or rejected with DEVICE_CLOSED). Safe to call twice.
   */
  close(): Promise<void> {
    if (this.#closing === null) {
      this.#closeBegun.resolve();
      this.beginClosing();
      this.#closing = (async () => {
        this.#ops?.flush(); // this tick's calls, still in the batcher, are in flight too
        this.#ops?.stop();
        // Engines not started yet (openLater) start for work queued (this thread's, or an attached one's), and else never.
        this.#startEngines(this.inflight > 0 || this.#engines.queued());
        // (neither a call a fault rule keeps refusing nor an injected latency holds the wait below)
        this.closingPortals();
        this.#engines.closing();
        await this.#ops?.idle(); // the later steps of calls that go out in steps go out too
        // (engines that cannot start would never run what is queued: stop() aborts it)
        await Promise.race([this.settlePortals(), this.#engines.cannotStart()]);
        await this.#engines.stop();
        await this.settlePortals(); // (at once, unless the engines could not start: what stop() aborted)
        this.closeInterrupts();
        this.closePortals();
        await this.arenaIoDone();
        this.finishWipes();
        this.#released = true;
        this.#releaseFree();
      })();
    }
    return this.#closing;
  }

  /**
   * Gives the pages of the arena that no block holds back to the system (fresh zero pages over
   * them, with the addon): V8 frees a closed device's memory only once it collects it, and it
   * does not count that memory towards collecting, so a service that opened and closed devices
   * grew by gigabytes (3 GiB over 15 devices that copied files). The blocks still allocated keep
   * their bytes: a buffer the program did not free may still be read; one freed later (a file
   * call's chunk, once its read has landed) is given back then. `around`: only the free range
   * that holds this address.
   */
  #releaseFree(around?: number): void {
    const addon = this.addon ?? loadEventFd(); // (a device on the Atomics path has the addon too, where it loads)
    const page = addon?.pageSize;
    if (addon?.releasePages === undefined || page === undefined) return;
    for (const [start, end] of this.#alloc().freeRanges()) {
      if (around !== undefined && (around < start || around >= end)) continue;
      const at = Math.ceil(start / page) * page;
      const to = Math.floor(end / page) * page;
      if (to > at) addon.releasePages(this.bytes, at, to - at);
    }
  }

  /** A block freed after close() (a file call's chunk, once its read has landed): its pages go back at once. */
  protected override blockFreed(addr: number): void {
    if (this.#released) this.#releaseFree(addr);
  }
}

rejectOffDevice(Device, ['ready', 'close', 'reclaim']);
throwOffDevice(Device, ['stats', 'config', 'lend', 'addressSpace', 'mapFile', 'inject']);

export { AttachedDevice, DeviceConnection, LEND_MIN, SoftDsaError, type DeviceHandle, type InterruptHandle };

/** Promise.withResolvers (Node 22+). */
function withResolvers<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * p, holding the process until it settles: the engines' boot holds nothing (pool_node.ts), and a
 * program awaiting ready() or open() with nothing else to do ended there, its await unsettled.
 */
function held<T>(p: Promise<T>): Promise<T> {
  const hold = setInterval(() => {}, 1 << 30);
  return p.finally(() => clearInterval(hold));
}
