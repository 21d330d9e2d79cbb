// The drop-in API: module-level functions on a default device, opened shortly after first use.
// An idle device holds nothing that keeps the process alive, so a program that uses
// these and never calls shutdown() still exits on its own.
import type { Bytes } from './args.ts';
import type { BatchBuilder } from './batch_builder.ts';
import type { DifOptions, DifUpdateOptions } from './dif.ts';
import { checkedOptions, Device, type DeviceOptions, type DeviceStats, openLater } from '../device.ts';
import { argCoded, typeName } from '../device/errors.ts';
import { checkHost } from '../device/host.ts';
import { Ops } from './ops.ts';
import { DeviceCalls } from './calls.ts';
import { isConnection } from '../device/connection.ts';
import { setImmediate, setTimeout } from '../device/timers.ts';

let current: Device | null = null;
let options: DeviceOptions = {};
/**
 * The first calls' operations, until the default device is open. Opening it costs this thread
 * 3-5 ms the first time in a process (most of it V8 compiling its code; 0.6-0.9 ms the next
 * time), and a call made before its engines boot runs inline here anyway ('inline:booting').
 * So the first call has it opened a moment later (OPEN_AFTER_MS), not in itself, and the calls
 * made until then run inline on operations with no device behind them (Ops.beforeDevice): a
 * program's first result does not wait for a device it cannot use yet. Their counts go to the
 * device's stats as it opens.
 */
let early: Ops | null = null;
/**
 * How long after the first call the default device opens, if the program is still running: an
 * unref'd timer, so that a program that makes its calls and ends exits without starting engines
 * it will not use (a one-shot 1 MiB crc32c script took 0.39 s, 0.19 s of it after its last
 * line, starting and stopping engines; @node-rs/crc32's took 0.19 s in all). 10 ms was too
 * short on a loaded machine, where a process's own exit can take that long (half of such scripts
 * then started engines). Short beside the engines' own start (50-60 ms), during which calls
 * run here anyway.
 */
const OPEN_AFTER_MS = 50;
/** How long after the default device opens its engines start (unless asked to sooner): as OPEN_AFTER_MS. */
const START_AFTER_MS = 50;
/**
 * The deferred open failed (no memory for its arena, NO_ARENA_MEMORY, or no WebAssembly): the
 * drop-in calls go on inline on the early operations (they had all failed with its reason,
 * a 9-byte crc32c of a plain Buffer too), and what needs the device (alloc(), ready(), a large
 * file) opens it then, and says why it cannot. configure() and shutdown() start afresh.
 */
let failed = false;

/**
 * Why an open of the default device was refused (NO_ARENA_MEMORY, NO_WASM), thrown again at once
 * by the calls that need it: each tried the open again, 13-40 ms of the event loop a call (50
 * crc32cFile calls on 9 MiB files held it 719 ms; copyFileCrc32c, createDelta, the DIF calls
 * alike). configure() and shutdown() forget it.
 */
let refused: unknown = null;

/** The default device, or null where it cannot open (NO_ARENA_MEMORY, NO_WASM): the file calls then go on on this thread. */
export function defaultDeviceOrNull(): Device | null {
  try {
    return defaultDevice();
  } catch (e) {
    if (e !== refused) throw e;
    return null;
  }
}

/**
 * The default device (opened now if it is not open; `startNow`: its engines start at once, not a
 * moment later; `warmLater`: its calls' code is compiled on the next turn, not in this one).
 */
export function defaultDevice(startNow = false, warmLater = false): Device {
  // (closed by the program's own dev.close(), not shutdown(): as after shutdown(), the next call opens another)
  if (current?.isClosing === true) {
    retired.set(current.memory.buffer, current);
    current = null;
  }
  if (current === null && refused !== null) throw refused;
  if (current === null) {
    // Its engines start a moment later (or when ready() is asked): the calls a program makes
    // meanwhile run here anyway, as while engines boot; one that made them and ended never
    // started engines (alloc() and a 1 MiB crc32c: 277 ms of wall time, 180 now). Opened by the
    // early calls' timer, the program has run that long already: at once.
    try {
      current = startNow ? Device.openSync(options) : Device[openLater](options, START_AFTER_MS);
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code;
      if (code === 'NO_ARENA_MEMORY' || code === 'NO_WASM') refused = e;
      throw e;
    }
    // It exists to serve the calls below: their operations are made now, with the device, not in
    // the first call (0.3 ms of it here when the device opened earlier, e.g. for alloc(): a first
    // 16 MiB memcpy went from 2.2-2.3x a later one to 1.9-2.0x).
    const ops = current.ops;
    if (warmLater) {
      const dev = current;
      setImmediate(() => {
        if (current === dev) ops.warm();
      }).unref();
    } else ops.warm();
    if (early !== null) {
      ops.stats.absorb(early.stats);
      early = null; // (the open it had coming finds none to do)
    }
  }
  return current;
}

/** The default device if it is open, else null (opens nothing). */
export function defaultDeviceIfOpen(): Device | null {
  return current?.isClosing === true ? null : current;
}

/** The operations a drop-in call runs on: the default device's, or before it opens, the early ones. */
function opsNow(): Ops {
  if (current !== null) return defaultDevice().ops;
  if (early === null) {
    checkHost(); // (what the device would say first: in a browser, the headers a page needs)
    early = Ops.beforeDevice();
    if (!failed) setTimeout(openEarly, OPEN_AFTER_MS).unref();
  }
  return early;
}

/**
 * What a first drop-in call does for the device, without a call: has the default device open a
 * moment later (for a call served on this thread meanwhile, crc32cFile's of a small file).
 */
export function openSoon(): void {
  opsNow();
}

function openEarly(): void {
  if (early === null) return;
  try {
    // (no call waits on it: opening and warming up take a turn each, 3-9 and 1.5-5 ms, rather
    // than holding the program's event loop for both at once)
    defaultDevice(true, true);
  } catch {
    failed = true; // (the calls go on here; what needs the device tries again, and rejects with the reason)
  }
}

/** The device an options object names (checked), or the default device when it names none. */
export function deviceOption(call: string, d: unknown): DeviceCalls {
  if (d === undefined) return defaultDevice();
  // (by its shape, not instanceof: the ESM and CommonJS builds each have their own Device class)
  // (one of this copy's classes only as one it made: not Device.prototype, nor an object made from a device)
  const like = d instanceof DeviceCalls ? isConnection(d) : typeof d === 'object' && d !== null && ['crc32c', 'buffer', 'free', 'ready'].every((m) => typeof (d as Record<string, unknown>)[m] === 'function');
  if (!like) throw argCoded(new TypeError(`${call}: device must be a Device (from Device.open(), or Device.attach() of a lent part); got ${typeName(d)}`));
  return d as DeviceCalls;
}

/**
 * Resolves when the default device's engines are up (it opens now if it is not open). Calls
 * made before run inline on this thread instead of waiting; waiting here, e.g. while a program
 * starts, lets its first calls go to the engines.
 */
export function ready(): Promise<void> {
  const p = call((d) => d.ready());
  p.catch(() => {}); // (as a device's ready(): one asked only to start the engines, and not awaited, is no unhandled rejection; who awaits it hears why)
  return p;
}

/** Options for the default device; takes effect the next time it opens. */
export function configure(opts: DeviceOptions): void {
  // (checked now, not at the next call, which may run before the device opens)
  if (opts === null || typeof opts !== 'object') throw argCoded(new TypeError(`configure(options): options must be an object; got ${typeName(opts)}`));
  checkedOptions(opts);
  options = structuredClone(opts); // (a copy: a rule changed in the caller's array later is not one checked now)
  if (failed && early !== null) setTimeout(openEarly, OPEN_AFTER_MS).unref(); // (tried again, with these)
  failed = false;
  refused = null;
}

/** Closes the default device, as dev.close() does (its calls in flight finish; a file call in flight rejects with DEVICE_CLOSED at once); the next call opens a new one. */
export async function shutdown(): Promise<void> {
  const dev = current;
  current = null;
  failed = false;
  refused = null;
  early = null; // (its calls all ran inline: nothing in flight; the open it had coming finds none to do)
  if (dev === null) return;
  retired.set(dev.memory.buffer, dev);
  // Calls made in this tick are still in the batcher (it flushes in a microtask queued
  // before this one): let it submit them, so that close() waits for them.
  await Promise.resolve();
  await dev.close();
}

/** Arena memory as a Buffer: engines work on it with no copy. Give it back with free(). */
export function alloc(size: number): Buffer {
  if (typeof size !== 'number') throw argCoded(new TypeError(`alloc: size must be a number; got ${typeof size}`));
  if (!Number.isInteger(size) || size < 0) throw argCoded(new RangeError(`alloc: size must be a non-negative integer; got ${size}`));
  return defaultDevice().buffer(size);
}

/** Returns a Buffer from alloc() to the arena. */
export function free(buf: Buffer): void {
  // Only a Buffer alloc() returned, from the device open now: the byte offset of any other
  // view (a subarray, an empty view at a block's end) could be the address of someone else's block.
  const dev = current;
  if (!(buf instanceof Uint8Array)) throw argCoded(new TypeError('free: expects a Buffer from alloc()'));
  if (dev === null || buf.buffer !== dev.memory.buffer) {
    // (one of a default device shut down since: given back to it, as dev.free takes it after
    // close(); a request's `finally { free(buf) }` threw when a SIGTERM handler's shutdown() came first)
    const old = retired.get(buf.buffer);
    if (old !== undefined) return old.free(buf);
    throw argCoded(new RangeError('free: this buffer is not from alloc() on the open default device'));
  }
  dev.free(buf);
}

/** Default devices shut down, by their memory: free() takes their buffers still. */
const retired = new WeakMap<ArrayBufferLike, Device>();

const call = <T>(fn: (d: Device) => Promise<T>): Promise<T> => {
  try {
    return fn(defaultDevice());
  } catch (e) {
    return Promise.reject(e);
  }
};

/** A call that runs inline while its engines boot: on the early operations before the device opens. */
const op = <T>(fn: (o: Ops) => Promise<T>): Promise<T> => {
  try {
    return fn(opsNow());
  } catch (e) {
    return Promise.reject(e);
  }
};

export const memcpy = <T extends Bytes>(dst: T, src: Bytes, length?: number): Promise<T> => op((o) => o.memcpy(dst, src, length));
export const memmove = <T extends Bytes>(dst: T, src: Bytes, length?: number): Promise<T> => op((o) => o.memmove(dst, src, length));
export const fill = <T extends Bytes>(dst: T, pattern: number | bigint | Bytes, offset?: number, length?: number): Promise<T> =>
  op((o) => o.fill(dst, pattern, offset, length));
export const compare = (a: Bytes, b: Bytes): Promise<number> => op((o) => o.compare(a, b));
export const firstDifference = (a: Bytes, b: Bytes): Promise<number> => op((o) => o.firstDifference(a, b));
export const crc32c = (data: Bytes, seed?: number): Promise<number> => op((o) => o.crc32c(data, seed));
export const copyCrc32c = (dst: Bytes, src: Bytes, seed?: number): Promise<number> => op((o) => o.copyCrc32c(dst, src, seed));
export const dualcast = (dst1: Bytes, dst2: Bytes, src: Bytes, length?: number): Promise<void> => op((o) => o.dualcast(dst1, dst2, src, length));
export const createDelta = (a: Bytes, b: Bytes): Promise<Uint8Array> => call((d) => d.createDelta(a, b));
export const applyDelta = <T extends Bytes>(dst: T, delta: Bytes): Promise<T> => call((d) => d.applyDelta(dst, delta));
export const difInsert = (data: Bytes, opts?: DifOptions): Promise<Uint8Array> => call((d) => d.difInsert(data, opts));
export const difCheck = (data: Bytes, opts?: Omit<DifOptions, 'dst'>): Promise<void> => call((d) => d.difCheck(data, opts));
export const difStrip = (data: Bytes, opts?: DifOptions): Promise<Uint8Array> => call((d) => d.difStrip(data, opts));
export const difUpdate = (data: Bytes, opts?: DifUpdateOptions): Promise<Uint8Array> => call((d) => d.difUpdate(data, opts));
export const dixGenerate = (data: Bytes, opts?: DifOptions): Promise<Uint8Array> => call((d) => d.dixGenerate(data, opts));
export const crc16t10dif = (data: Bytes, seed?: number): Promise<number> => call((d) => d.crc16t10dif(data, seed));
export const batch = (): BatchBuilder => defaultDevice().batch();
export const stats = (): DeviceStats => defaultDevice().stats();
