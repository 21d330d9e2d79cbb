// What the device needs from its host, Node's side. The browser build swaps this module for
// src/browser/host.ts (scripts/build.mjs): the rest of the device is the same source in both.
import { channel } from 'node:diagnostics_channel';
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { addonCrc, crc32cHere, nativeHere } from './cpu_crc.ts';
import { isMainThread, workerData as nodeWorkerData } from 'node:worker_threads';
import { buildPath, packageRoot } from './paths.ts';
import { setV8Flags } from './v8_flags.ts';

/** Cores to size the engine pool by. */
export const cores = (): number => availableParallelism();

/** Throws when a device cannot open here (in Node it always can). */
export function checkHost(): void {}

/** The largest config file read: accel-config's save-config of a whole machine is tens of KiB. */
const TEXT_FILE_MAX = 64 << 20;
/** Opened without waiting: a FIFO's open waits for a writer (for ever, with none). */
const TEXT_FILE_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** Refuses what is not a regular file of at most TEXT_FILE_MAX bytes: a FIFO, a device (/dev/zero read for ever), a directory. */
function checkTextFile(path: string, st: Stats): void {
  if (!st.isFile()) {
    const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'something else';
    throw new Error(`${path} is ${kind}, not a regular file`);
  }
  if (st.size > TEXT_FILE_MAX) throw new Error(`${path} is ${st.size} bytes, over the ${TEXT_FILE_MAX >> 20} MiB a config file may be`);
}

/** A text file's contents (an accel-config file named by its path): a regular file only. */
export function readTextFile(path: string): string {
  const fd = openSync(path, TEXT_FILE_FLAGS);
  try {
    checkTextFile(path, fstatSync(fd));
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** readTextFile, read off the calling thread (Device.fromConfig). */
export async function readTextFileAsync(path: string): Promise<string> {
  const fh = await open(path, TEXT_FILE_FLAGS);
  try {
    checkTextFile(path, await fh.stat());
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** Throws where other threads cannot attach to a device (in Node they can). */
export function checkAttach(): void {}

/** What the engine thread was started with (piscina's workerData). */
export const workerData: unknown = nodeWorkerData;

/** Ends this engine thread at once (an injected engine death, a descriptor held). */
export function exitThread(code: number): never {
  process.exit(code);
}

export function warn(message: string, code: string): void {
  process.emitWarning(message, { code });
}

/** Fresh bytes for a result, as the host's byte type (a Buffer, uninitialised: the caller writes them all). */
export const newBytes = (size: number): Buffer => Buffer.allocUnsafe(size);

/** Arena bytes as the host's byte type (a Buffer). */
export const bytesAt = (buffer: ArrayBufferLike, addr: number, size: number): Buffer => Buffer.from(buffer as ArrayBuffer, addr, size);

// The CPU's CRC (cpu_crc.ts): loaded with softdsa on the main thread, as a first small call
// should not pay for it; other threads at first use (engines: the addon's, lent to their core).
if (isMainThread) nativeHere();

/** CRC-32C of bytes outside the arena. */
export const crc32cOf = crc32cHere;

/** The addon's CRC of bytes where they lie (three streams of the CPU's instruction), or null. */
export { addonCrc };

/** Whether memory outside the arena is better CRC'd by the engines, staged through the arena, than here: yes without the CPU's CRC (JavaScript's is slower), as in a browser. */
export const stagesNotShared = (): boolean => !nativeHere();

/** Like Buffer.compare: negative, 0 or positive (a native compare). */
export const compareBytes = (a: Uint8Array, b: Uint8Array): number => rangeComparer(a, b)(0, Math.min(a.byteLength, b.byteLength)) || Math.sign(a.byteLength - b.byteLength);

/** Compares a[start, end) with b[start, end), natively, as often as asked (the views are made once). */
export function rangeComparer(a: Uint8Array, b: Uint8Array): (start: number, end: number) => number {
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return (start, end) => x.compare(y, start, end, start, end);
}

/** A diagnostics channel (softdsa:op, softdsa:descriptor). */
export { channel };

/** This thread's Linux thread id (every worker loads this module anew), or 0 without /proc. */
export const TID = ((): number => {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop()) || 0;
  } catch {
    return 0;
  }
})();

/** Whether Linux thread `tid` has ended (asked of /proc). */
export const threadGone = (tid: number): boolean => !existsSync(`/proc/self/task/${tid}`);

/** What to wait for before this thread's core can be made: nothing here (compileCore() is synchronous); a browser fetches it. */
export const coreLoading = (): Promise<unknown> | null => null;

/**
 * The Wasm core, compiled (synchronously: read from disk): build/core.wasm, which the build
 * makes; the package ships it once, beside the browser build (dist/browser/core.wasm, the same
 * file), and a checkout that has run only `npm run build` has build/'s.
 */
export function compileCore(): WebAssembly.Module {
  for (const path of [buildPath('core.wasm'), join(packageRoot, 'dist', 'browser', 'core.wasm')]) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      continue;
    }
    return optimizedModule(new Uint8Array(bytes));
  }
  throw new Error('softdsa: build/core.wasm is missing; run `npm run build` (npm install builds it)');
}

/**
 * The module compiled for V8's optimizing tier (TurboFan) from the start. V8's default runs a
 * function first in its baseline tier (Liftoff) and optimizes it after use: the core's kernels
 * are long loops over the caller's whole input, and a first 1 MiB CRC ran 5-11 ms in baseline
 * code against 0.1-0.3 ms optimized. Liftoff is off only while this module is compiled
 * (functions are still compiled lazily, each at its first call: the engines' warm-up makes those
 * calls, see warm_up.ts).
 *
 * Every flag the switch changes is put back: --no-liftoff also implies --no-wasm-dynamic-tiering,
 * and a process left with any flag off its default has V8 reject the code cache every new
 * thread's bootstrap uses (the cache is keyed by the flags): each Worker, the engines' and the
 * program's own, then took 35-40 ms to start instead of 17-20, and the program's own Wasm lost
 * dynamic tier-up. A flag the process was started with is kept.
 */
function optimizedModule(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map((a) => a.replaceAll('_', '-'));
  try {
    setV8Flags('--no-liftoff');
    return new WebAssembly.Module(bytes);
  } finally {
    for (const flag of ['liftoff', 'wasm-dynamic-tiering']) {
      if (!given.includes(`--no-${flag}`)) setV8Flags(`--${flag}`);
    }
  }
}
