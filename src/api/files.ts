// CRC-32C of files, and copies of files with the CRC of what was written (issue 13).
//
// A file is read straight into arena Buffers (fh.read into memory the engines reach:
// no copy), several reads in flight; each chunk's CRC runs on the engines as soon as it has
// landed, while the next chunks are being read, and the chunks' CRCs are combined in file
// order with the GF(2) shift (crc_combine.ts). The arena only needs slots x chunkSize, so
// files of any size go through a device of any size.
//
// Regular files are read with positioned reads, `inFlight` at once. Other files (pipes,
// character devices) are read one read after the other to their end, their CRCs still
// overlapping the next read; a FIFO, source or destination, through a libuv pipe that an abort
// ends (pipe_handle.ts). A regular file is read to its end too: one that grew while
// it was read counts what was read; one that ended before the size it had at the start
// (it shrank) is an error, FILE_SHRANK.
//
// crc32cFile on the default device before it opens, of a regular file of at most 8 MiB, reads
// and checksums it on this thread instead (crcBeforeDevice): a script that hashes a small file
// does not pay for a device, nor wait for its engines, to exit.
//
// crc32cFile on a regular file of 1 MiB or more, once the engines run, goes further: the file is mapped into
// the device (Device.mapFile) and its CRC descriptors name ranges of the file itself. Each
// engine reads the range it takes, 1 MiB at a time, into a small arena window of its own and
// checksums it there, still in the cache: no thread-pool read and no hand-off per chunk stand
// between a read and its CRC (256 MiB in the page cache, session 21: 9.7 GB/s, where the
// thread pool's reads alone ran at 17 and reading the file into arena Buffers with a CRC per
// chunk at 2-3). The reads then run on the engines, and cold, on a slow disk, other work waits
// behind them.
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isAbsolute, sep } from 'node:path';
import { ftruncate, realpathSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { DEFAULT_CHUNK, DEFAULT_IN_FLIGHT, MAPPED_CHUNK } from './file_chunks.ts';
import { intOption, ownOptions } from './args.ts';
import { argCoded } from '../device/errors.ts';
import { allDone } from './all_done.ts';
import { CrcFold } from './crc_combine.ts';
import { bufferLeavingRoom, reserveOf } from './arena_room.ts';
import { anotherFileCallEnds, enterFileCall, stepAside, throwIfStopped, whenStopped } from './file_gate.ts';
import { type Claim, claimFile, claimPath, type FileIo, type Made, openDestination, openSource, PipeHandle, release, removeMade } from './pipe_handle.ts';
import { defaultDevice, defaultDeviceIfOpen, defaultDeviceOrNull, deviceOption, openSoon } from './default_device.ts';
import type { Device, MappedFile } from '../device.ts';
import { arenaIo, type DeviceCalls, releaseOwn, setAside } from './calls.ts';
import { Descriptor } from '../device/descriptor.ts';
import { abortError, Errors, FileCrcError } from '../device/errors.ts';
import { Record, Status } from '../device/format.ts';
import { channel, crc32cOf } from '../device/host.ts';
import { clearTimeout, performance, setImmediate, setTimeout } from '../device/timers.ts';

export { DEFAULT_CHUNK, DEFAULT_IN_FLIGHT, MAPPED_CHUNK };
const ftruncateP = promisify(ftruncate);

export interface FileCrcOptions {
  /** bytes per read (and per CRC); default 8 MiB. A file crc32cFile maps into the device: bytes per CRC descriptor (at most 64 MiB), by default 8 MiB (less for a small file, so that every engine gets two) */
  chunkSize?: number | undefined;
  /** chunks in flight (reads, CRCs, writes) at once, each an arena buffer of chunkSize (a mapped file: descriptors, no buffers); default 4 */
  inFlight?: number | undefined;
  /** aborts the call: it rejects at once with an AbortError (code ABORT_ERR, cause: the signal's reason) */
  signal?: AbortSignal | undefined;
  /** called as chunks are done: bytes done and the file's size (bytes done can pass it if the file grows; 0 when it has none: a pipe, a character device); an error it throws, or its promise rejects with, fails the call (a promise still pending a turn after the last bytes' call does not hold the call up) */
  onProgress?: ((bytesDone: number, totalBytes: number) => void | Promise<void>) | undefined;
  /** the device whose engines do the work (an attached thread's too: its file calls read into its part); default: the default device */
  device?: DeviceCalls | undefined;
  /** CRC to continue from, as crc32c(data, seed); default 0 */
  seed?: number | undefined;
}

export interface CopyFileCrcOptions extends FileCrcOptions {
  /**
   * how each chunk is checksummed: 'crc32c' (default): the engines CRC the chunk read into the
   * arena while the same buffer is being written out (each byte read from memory once by the
   * CRC, once by write()); 'copyCrc32c': DSA's COPY_CRC into a second arena buffer, then that
   * buffer is written (the bytes written are the ones the engine produced along with the CRC)
   */
  via?: 'crc32c' | 'copyCrc32c' | undefined;
}

/** A mapped file's bytes per descriptor: at least this (file_chunks.ts has the most). */
const MAPPED_CHUNK_MIN = 1 << 20;
/**
 * ...and at most this, whatever chunkSize says: the work queue runs in order, and an aborted
 * call's ranges waited behind another call's 1 GiB ones (2.9 s); 8 to 64 MiB ranges ran within
 * noise of each other on a 1 GiB file.
 */
const MAPPED_CHUNK_MAX = 64 << 20;
/** A pipe's chunks when chunkSize is not given (its reads bring 64 KiB at most each). */
const PIPE_CHUNK = 1 << 20;
/** Regular files of this size and more are mapped into the device (once the engines run). */
const MAP_MIN = 1 << 20;
/** The smallest chunk, a page: chunks of a byte read a 1 MiB file in 20-70 s, a call per byte (less is taken as this). */
const MIN_CHUNK = 4096;
const MAX_CHUNK = 1 << 30;

interface Checked {
  chunkSize: number;
  /** chunkSize was given */
  chunkGiven: boolean;
  inFlight: number;
  signal: AbortSignal | undefined;
  onProgress: ((done: number, total: number) => unknown) | undefined;
  seed: number;
  via: 'crc32c' | 'copyCrc32c';
  /** the device given, checked (none: the default device, opened when the call needs it) */
  device: DeviceCalls | undefined;
}

/**
 * Tells the caller's onProgress: an error it throws, or the rejection of the promise it returns
 * (an async callback; unhandled, it ended the program), fails the call with `fail`.
 */
function tell(o: Checked, done: number, total: number, fail: (e: unknown) => void): void {
  if (o.onProgress === undefined) return;
  let r: unknown;
  try {
    r = o.onProgress(done, total);
  } catch (e) {
    fail(e);
    return;
  }
  if (typeof (r as PromiseLike<unknown> | undefined)?.then === 'function') Promise.resolve(r).then(undefined, fail);
}

/**
 * Runs `then` once a call is done, a turn of the event loop later when it has an onProgress: the
 * promise an async callback returns for the last bytes, rejected as it returns (it threw), then
 * fails the call, as one for earlier bytes does (a mapped file's call resolved past it). One that
 * settles later than that does not hold the call.
 */
function afterProgress(o: Checked, then: () => void): void {
  if (o.onProgress === undefined) then();
  else setImmediate(then);
}

/** The options of crc32cFile; copyFileCrc32c takes `via` too. */
const FILE_OPTIONS = ['chunkSize', 'inFlight', 'signal', 'onProgress', 'seed', 'device'] as const;

/**
 * A file call on diagnostics_channel softdsa:op, as itself (placement 'file'), once it settles,
 * with `error` if it failed: the crc32c calls its chunks are made of are published as such.
 */
async function published(fn: string, run: () => Promise<{ crc: number; bytes: number }>): Promise<{ crc: number; bytes: number }> {
  if (!opChannel.hasSubscribers) return run();
  const t0 = performance.now();
  try {
    const r = await run();
    opChannel.publish({ op: fn, bytes: r.bytes, placement: 'file', durationMs: performance.now() - t0 });
    return r;
  } catch (error) {
    opChannel.publish({ op: fn, bytes: 0, placement: 'file', durationMs: performance.now() - t0, error });
    throw error;
  }
}
const opChannel = channel('softdsa:op');

/**
 * fs's error of a call on an open file (a read, a write, an fstat, an ftruncate), said with that
 * file, as fs says an open's ("ENOSPC: no space left on device, write '/dev/full'", and `path`):
 * fs names none there. Given only what the call's own file operations threw (not a callback's).
 */
function onFile(e: unknown, path: FilePath): unknown {
  const x = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof x.syscall !== 'string' || typeof x.errno !== 'number' || x.path !== undefined) return e;
  x.path = String(path);
  x.message = `${x.message} '${x.path}'`;
  return x;
}

/** A catch handler that throws onFile's error for `path`. */
const atFile = (path: FilePath) => (e: unknown): never => {
  throw onFile(e, path);
};

/** The file call's checked arguments (`fn`: the function called, as its errors name it), or its argument error, coded as Node codes one. */
function checkedArgs(fn: string, paths: { [name: string]: unknown }, o: CopyFileCrcOptions | undefined, copy: boolean): { paths: FilePath[]; o: Checked } {
  try {
    return { paths: Object.entries(paths).map(([name, p]) => checkPath(fn, name, p)), o: checkOptions(fn, o, copy) };
  } catch (e) {
    throw argCoded(e);
  }
}

function checkOptions(fn: string, o: CopyFileCrcOptions | undefined, copy: boolean): Checked {
  if (o === undefined || o === null) o = {};
  if (typeof o !== 'object') throw new TypeError(`${fn}: options must be an object; got ${typeof o}`);
  o = ownOptions(fn, o, copy ? [...FILE_OPTIONS, 'via'] : FILE_OPTIONS);
  // (a tuning, not a result: a smaller one is taken as MIN_CHUNK, and the CRC is the same)
  const chunkSize = Math.max(MIN_CHUNK, intOption(fn, 'chunkSize', o.chunkSize, DEFAULT_CHUNK, 1, MAX_CHUNK));
  const inFlight = intOption(fn, 'inFlight', o.inFlight, DEFAULT_IN_FLIGHT, 1, 64);
  const seed = intOption(fn, 'seed', o.seed, 0, 0, 0xffffffff);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError(`${fn}: signal must be an AbortSignal`);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new TypeError(`${fn}: onProgress must be a function`);
  const via = (copy ? o.via : undefined) ?? 'crc32c';
  if (via !== 'crc32c' && via !== 'copyCrc32c') throw new TypeError(`${fn}: via must be 'crc32c' or 'copyCrc32c'; got ${String(via)}`);
  const device = o.device === undefined ? undefined : deviceOption(fn, o.device);
  return { chunkSize, chunkGiven: o.chunkSize !== undefined, inFlight, signal: o.signal, onProgress: o.onProgress, seed, via, device };
}

/** A path as the fs functions take it: a Buffer path keeps its bytes (a name need not be UTF-8). */
type FilePath = string | Buffer;

function checkPath(fn: string, name: string, p: unknown): FilePath {
  // A relative path is taken against the working directory of the call, as fs takes it: opened
  // later (calls wait their turn), it would follow a chdir() made meanwhile. Joined, not
  // normalized: 'link/..' stays for the file system to resolve.
  if (typeof p === 'string' && p !== '') return isAbsolute(p) ? p : inWorkingDirectory(p);
  if (p instanceof URL) return fileURLToPath(p); // as fs does: file: URLs only, no host, no encoded '/'
  if (Buffer.isBuffer(p) && p.length > 0) return isAbsolute(p.toString('latin1')) ? p : inWorkingDirectory(p);
  if (p === '' || (Buffer.isBuffer(p) && p.length === 0)) throw new RangeError(`${fn}: ${name} must be a path (a non-empty string, Buffer or file: URL); got an empty ${typeof p === 'string' ? 'string' : 'Buffer'}`);
  throw new TypeError(`${fn}: ${name} must be a path (a non-empty string, Buffer or file: URL); got ${p === null ? 'null' : typeof p}`);
}

/** A relative path joined to the working directory: its bytes where its name is not UTF-8 (process.cwd() would have changed them). */
function inWorkingDirectory(p: FilePath): FilePath {
  const cwd = process.cwd();
  const dir = cwd.includes('\uFFFD') ? realpathSync.native('.', { encoding: 'buffer' }) : cwd;
  const slash = dir[dir.length - 1] === (typeof dir === 'string' ? sep : sep.charCodeAt(0)) ? '' : sep;
  return typeof dir === 'string' && typeof p === 'string' ? dir + slash + p : Buffer.concat([Buffer.from(dir), Buffer.from(slash), Buffer.from(p)]);
}

/**
 * Up to `count` arena buffers of `size` bytes (fewer when the arena has no more room: they leave
 * the API's reserve free, arena_room.ts); a RangeError when not even one fits. `what`: a slot, in
 * that error.
 */
function slotsOf(fn: string, dev: DeviceCalls, size: number, count: number, what: string): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const slot = bufferLeavingRoom(dev, size);
    if (slot === null) break;
    out.push(slot);
  }
  if (out.length === 0) {
    throw Object.assign(new RangeError(`${fn}: the device arena has no room for ${what} beside what is in use (arenaBytes ${dev.arenaBytes}, of which ${reserveOf(dev)} are kept for the calls' descriptors); free arena buffers, or pass a smaller chunkSize`), { code: 'ARENA_FULL' });
  }
  return out;
}


/** The smallest chunk a chunk size the caller did not give is halved to (slotsFitting): a page (a lent part of the least size, 256 KiB, had no room for 64 KiB beside the reserve). */
const MIN_FITTED_CHUNK = 4096;

/**
 * The arena slots a file call reads st's file through: `chunkSize` bytes each (a small regular
 * file needs no more than itself, rounded up to 4 KiB, and fewer slots), `inFlight` of them,
 * fewer where fewer fit; two chunks each when `pair` (a chunk and its copy). A chunk size the
 * caller did not give is halved, down to MIN_FITTED_CHUNK, while not one slot fits: the default
 * 8 MiB did not fit an attached thread's small part, where smaller ones do.
 */
async function slotsFitting(fn: string, dev: DeviceCalls, st: Stats, o: Checked, pair = false, stepped?: boolean): Promise<{ slots: Buffer[]; chunk: number }> {
  // (a pipe is read one chunk at a time, the next while the last is checksummed, and may wait for
  // good with its buffers held: two, of at most PIPE_CHUNK unless a size is given)
  const pipe = st.isFIFO() || st.isSocket();
  /** the call stepped aside (file_gate.ts): one on a pipe did, unless the caller says */
  const aside = stepped ?? pipe;
  const asked = st.isFile() && st.size + 1 < o.chunkSize ? Math.min(o.chunkSize, Math.max(4096, st.size + 1)) : pipe && !o.chunkGiven ? Math.min(o.chunkSize, PIPE_CHUNK) : o.chunkSize;
  // (within what one call takes on this device: 8 MiB at a maxTransfer of 64 bytes was 131,072
  // descriptors, and the copy failed with a RangeError of a crc32c call the program never made)
  const chunk = Math.min(asked, Math.max(4096, Math.floor(dev.ops.largestCall / 4096) * 4096));
  const count = st.isFile() ? Math.max(1, Math.min(o.inFlight, Math.ceil((st.size + 1) / chunk))) : pipe ? Math.min(o.inFlight, 2) : o.inFlight;
  // Smaller chunks first, then a wait for another file call to end and give its buffers back
  // (the other way round, a call waited for one reading a FIFO that may never end).
  for (;;) {
    let refused: unknown;
    for (let c = chunk; ; c = Math.max(MIN_FITTED_CHUNK, Math.floor(c / 2 / 4096) * 4096)) {
      try {
        return { slots: slotsOf(fn, dev, pair ? 2 * c : c, count, pair ? `one ${c}-byte chunk and its copy` : `one ${c}-byte chunk`), chunk: c };
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        refused = e; // (what is said: the smallest chunk tried)
        // A chunk size given waits for room where the arena can hold one such chunk; one it never
        // could is halved too (the mapped path, which needs no chunk buffers, takes it whatever the
        // arena: the same call failed or not by whether the engines ran yet).
        // (of what buffers can have: an attached thread's part keeps some for good)
        const couldFit = (pair ? 2 * c : c) + reserveOf(dev) <= dev.arenaBytes - dev[setAside];
        if ((o.chunkGiven && couldFit) || c <= MIN_FITTED_CHUNK) break;
      }
    }
    if (!(await anotherFileCallEnds(dev, o.signal, aside))) throw refused;
  }
}

/**
 * Gives the chunks back, zeroed (the file's bytes stay in no block the program takes next) as far
 * as `written` says each was written (all of each when not given): zeroing chunks no read reached
 * held the event loop (100 calls on FIFOs with no writer, aborted: 380 ms; one 64 MiB chunk's: 200).
 */
function freeAll(dev: DeviceCalls, bufs: Buffer[], written?: readonly number[]): void {
  for (const [i, b] of bufs.entries()) {
    try {
      dev[releaseOwn](b.byteOffset, written === undefined ? Infinity : (written[i] ?? 0));
    } catch {
      // the device was closed under us: its arena is gone with it
    }
  }
  bufs.length = 0;
}

/**
 * The most one read or write of a chunk asks for: an abort (or a close) waits for the one in
 * flight, and one of a 256 MiB chunk held an aborted call 374 ms.
 */
const IO_PIECE = 8 << 20;

/**
 * Fills buf[0, len) from the file (at pos, or at the file's position when pos is null); stops at
 * end of file, or once `stop()` says the call has ended (a terminal's reads went on after an
 * abort, taking the lines typed for the program until the chunk was full).
 */
async function readFull(fh: FileIo, buf: Buffer, len: number, pos: number | null, path: FilePath, stop: () => boolean): Promise<number> {
  let got = 0;
  while (got < len && !stop()) {
    const { bytesRead } = await fh.read(buf, got, Math.min(IO_PIECE, len - got), pos === null ? null : pos + got).catch(atFile(path));
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** Writes buf[0, len) (at pos, or at the file's position when pos is null), IO_PIECE at most at a time, until `stop()` says the call has ended. */
async function writeFull(fh: FileIo, buf: Buffer, len: number, pos: number | null, path: FilePath, stop: () => boolean): Promise<void> {
  let done = 0;
  while (done < len && !stop()) {
    const { bytesWritten } = await fh.write(buf, done, Math.min(IO_PIECE, len - done), pos === null ? null : pos + done).catch(atFile(path));
    done += bytesWritten;
  }
}

interface Chunk {
  index: number;
  pos: number;
  slot: number;
}

/**
 * The pump both calls share: reads chunks into arena slots, hands each to `work` (which
 * resolves to its CRC once the slot may be reused), combines the CRCs in order.
 */
function pump(
  fn: string,
  /** the device: as it closes, a read or write blocked for good (a FIFO) is waited for no more */
  dev: DeviceCalls,
  path: FilePath,
  fh: FileIo,
  st: Stats,
  o: Checked,
  slotCount: number,
  slotBuf: (slot: number) => Buffer,
  work: (slot: number, len: number, pos: number) => Promise<number>,
  /** once nothing is in flight: `written`, each slot's bytes that reads (may have) reached */
  cleanup: (failed: boolean, written: readonly number[]) => Promise<void>,
  from = { bytes: 0, crc: o.seed },
  handoff?: () => boolean,
  /** work ends on its own (a CRC, a write to a regular file; not a pipe's write, which can wait for good) */
  workEnds = true,
): Promise<{ crc: number; bytes: number }> {
  const size = st.isFile() ? st.size : 0;
  const positioned = st.isFile();
  return new Promise((resolve, reject) => {
    const free: number[] = [];
    for (let i = 0; i < slotCount; i++) free.push(i);
    let next = from.bytes; // file position of the next read
    let issued = 0; // chunks issued
    let inflight = 0;
    let eof = false;
    /** where a regular file's reads found its end (-1: not yet): progress's total from then on */
    let end = -1;
    let reading = false; // a read in progress (sequential files read one at a time)
    let settled = false;
    const fold = new CrcFold(from.crc, from.bytes);

    /** done (null) or failed: boxed, since a callback can throw anything, null and undefined too */
    const settle = (failure: { e: unknown } | null): void => {
      if (settled) return;
      settled = true;
      offStopped();
      // A failure is said once the reads, CRCs and writes in flight are done and the files
      // closed, where each ends on its own (a regular file read, written to a regular file): a
      // write landing after the rejection could overwrite what the caller wrote there since, and
      // a caller counting its descriptors found the file open still (for up to 15 ms). Else at
      // once: a pipe's read or write can block for good, on a FIFO whose other end is idle.
      const late = failure !== null && positioned && workEnds;
      if (failure !== null && !late) reject(failure.e);
      // The slots are given back once nothing reads into or from them any more.
      const release = (): void => {
        if (inflight > 0) {
          waitIdle = release;
          return;
        }
        cleanup(failure !== null, written).then(
          () => {
            if (failure === null) resolve({ crc: fold.crc, bytes: fold.bytes });
            else if (late) reject(failure.e);
          },
          (e: unknown) => {
            reject(failure === null ? e : failure.e);
          },
        );
      };
      release();
    };
    const fail = (e: unknown): void => settle({ e });
    let waitIdle: (() => void) | null = null;
    let offStopped = (): void => {};
    /** a pipe's reads land here first (one at a time) */
    let pipeBuf: Buffer | null = null;
    /** each slot's bytes a read reached (freeAll zeroes those) */
    const written: number[] = new Array<number>(slotCount).fill(0);

    const run = async (c: Chunk): Promise<void> => {
      const buf = slotBuf(c.slot);
      let len: number;
      try {
        // A regular file is read into the arena slot; a pipe into memory of this thread's, then
        // copied: a read from a pipe can wait for good, and must not land in a part of the arena
        // given back meanwhile (detach()), where a regular file's read is waited for.
        if (positioned) {
          try {
            len = await arenaIo(dev, readFull(fh, buf, buf.byteLength, c.pos, path, () => settled));
          } catch (e) {
            written[c.slot] = buf.byteLength; // (a read that fails may have reached any of it)
            throw e;
          }
          written[c.slot] = Math.max(written[c.slot], len);
        } else {
          const mine = (pipeBuf ??= Buffer.allocUnsafe(buf.byteLength));
          len = await readFull(fh, mine, mine.byteLength, null, path, () => settled);
          written[c.slot] = Math.max(written[c.slot], len);
          buf.set(mine.subarray(0, len));
        }
      } finally {
        reading = false;
      }
      if (settled) return;
      if (len < buf.byteLength) {
        eof = true;
        // Short of its size: it shrank, unless its size is still what it said (a sysfs file
        // says 4096 bytes and holds fewer: what it holds is its content, as for cat).
        if (positioned && c.pos + len < size) {
          const now = (await fh.stat().catch(atFile(path))).size;
          if (now < size) throw shrank(fn, path, size, c.pos + len, now);
        }
        if (positioned) end = c.pos + len;
        if (settled) return;
      }
      if (!positioned) next += len;
      pumpMore(); // the next read overlaps this chunk's CRC
      let crc = 0;
      if (len > 0) {
        try {
          crc = await work(c.slot, len, c.pos);
        } catch (e) {
          throw Errors.restated(fn, e); // (the chunk's crc32c named only itself)
        }
      }
      if (settled) return;
      const before = fold.bytes;
      fold.add(c.index, crc, len);
      // (a chunk done ahead of an earlier one moves nothing: progress counts the folded prefix; an
      // empty file's one call says 0 of 0, so that a progress bar ends)
      // A file that held less than its size said (sysfs): its total is where it ended, so that a progress bar ends.
      if (fold.bytes > before || (fold.bytes === 0 && eof)) tell(o, fold.bytes, !st.isFile() ? 0 : end >= 0 ? end : Math.max(size, fold.bytes), fail);
    };

    const pumpMore = (): void => {
      // Handing over (a regular file's rest goes to the mapping): no more reads; done once the last lands.
      if (handoff !== undefined && !eof && next < size && handoff()) eof = true;
      while (!settled && !eof && free.length > 0 && !(reading && !positioned)) {
        // Past the size the file had at the start, one read at a time, until a short read.
        if (positioned && next >= size && inflight > 0) break;
        const c: Chunk = { index: issued++, pos: next, slot: free.pop()! };
        if (positioned) next += slotBuf(c.slot).byteLength;
        reading = true;
        inflight++;
        run(c).then(
          () => {
            inflight--;
            free.push(c.slot);
            if (settled) {
              if (inflight === 0 && waitIdle !== null) waitIdle();
              return;
            }
            if (!eof) pumpMore();
            if (eof && inflight === 0) afterProgress(o, () => settle(null));
          },
          (e: unknown) => {
            inflight--;
            free.push(c.slot);
            fail(e);
            if (inflight === 0 && waitIdle !== null) waitIdle();
          },
        );
        if (!positioned) break;
      }
    };

    offStopped = whenStopped(o.signal, dev, fail); // (an abort, or the device's closing, fails the call: see settle)
    if (settled) return;
    pumpMore();
    if (eof && inflight === 0) afterProgress(o, () => settle(null)); // (handed over before the first read)
  });
}

/** Whether dev maps files into the device (the opener's Device; by its shape: the ESM and CommonJS builds each have their own class). */
const mapsFiles = (dev: DeviceCalls): dev is Device => typeof (dev as Partial<Device>).mapFile === 'function';

/** How long an abort waits for an open in flight to land (microseconds, unless Node's pool is held by others' blocking calls). */
const OPEN_GRACE_MS = 100;

/**
 * A turn for a file call on dev (null: on no device, file_gate.ts), and the file open for reading; leave() gives the
 * turn back (the call's to do, once it holds nothing more). On failure nothing is kept.
 */
async function openForReading(fn: string, path: FilePath, dev: DeviceCalls | null, signal: AbortSignal | undefined): Promise<{ fh: FileIo; st: Stats; leave: () => void }> {
  const leave = await enterFileCall(dev, signal);
  let fh: FileIo | null = null;
  try {
    throwIfStopped(signal, dev);
    // The open never waits, and a FIFO is read through a pipe an abort ends (pipe_handle.ts). (It
    // can wait its turn on Node's pool behind others' blocking calls: an abort waits OPEN_GRACE_MS
    // at most for it to land and be closed, then rejects, and what opens later is closed then.)
    let st: Stats;
    ({ fh, st } = await untilStopped(openSource(path, signal, dev), signal, dev, (late) => late.fh.close().catch(() => {}), OPEN_GRACE_MS));
    if (st.isDirectory()) throw new FileCrcError('EISDIR', `${fn}: ${path} is a directory`, String(path));
    return { fh, st, leave: fh instanceof PipeHandle ? stepAside(dev, leave) : leave };
  } catch (e) {
    await fh?.close().catch(() => {});
    leave();
    throw e;
  }
}

/**
 * p, or an AbortError as soon as `signal` aborts, or DEVICE_CLOSED as soon as dev begins to close:
 * for a call that can wait behind others on Node's pool (an open, a stat). What p brings after
 * that is given to `dispose`; within `graceMs` of the stop, first (an open that lands then is
 * closed before the call rejects: nothing of it is open when it does), else once it comes.
 */
function untilStopped<T>(p: Promise<T>, signal: AbortSignal | undefined, dev: DeviceCalls | null, dispose: (late: T) => unknown, graceMs = 0): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let gone = false;
    // (whenStopped calls stop at once when the signal has aborted or the device is closing)
    let off = (): void => {};
    const stop = (e: unknown): void => {
      if (gone) return;
      gone = true;
      off();
      if (graceMs === 0) {
        reject(e);
        p.then(dispose, () => {});
        return;
      }
      const late = setTimeout(() => reject(e), graceMs);
      p.then(dispose, () => {})
        .catch(() => {})
        .finally(() => {
          clearTimeout(late);
          reject(e);
        });
    };
    off = whenStopped(signal, dev, stop);
    p.then(
      (v) => {
        if (gone) return;
        gone = true;
        off();
        resolve(v);
      },
      (e: unknown) => {
        if (gone) return;
        gone = true;
        off();
        reject(e);
      },
    );
  });
}

/** Whether the file has a byte at `pos` now (rejects with a read's own error). */
async function hasByteAt(fh: FileIo, pos: number, path: FilePath): Promise<boolean> {
  return (await fh.read(Buffer.alloc(1), 0, 1, pos).catch(atFile(path))).bytesRead > 0;
}

/**
 * Attempts in a row at one range of a mapped file that fault where the file has bytes (injected
 * faults) and get less than a page further: then it is an error. (A fault that gets further is
 * resubmitted however many come: a cap on those made a file pass or fail by its chunk size.)
 */
const MAX_STALLS = 16;
const STALL_BYTES = 4096;

/**
 * The CRC of a regular file's first `size` bytes with the file mapped into the device: CRC
 * descriptors over ranges of the file (chunkSize each, inFlight at once), combined in order.
 * A range that faults is looked at here, as DSA software looks at a partial completion: at the
 * file's end (it shrank) FILE_SHRANK, a read that fails its error, else (an injected fault) the
 * rest of the range goes again, seeded with the CRC of what was done. `cleanup` runs once no
 * descriptor is in flight, and a failure (an abort too) rejects after it. Null, at once, when the
 * device has no room to map the file (arena windows, a PASID).
 */
async function crcMapped(fn: string, path: FilePath, fh: FileIo, size: number, dev: DeviceCalls, o: Checked, from: { bytes: number; crc: number }, cleanup: (failed: boolean) => Promise<void>): Promise<{ crc: number; bytes: number } | null> {
  if (!mapsFiles(dev)) return null; // (an attached thread's: the opener maps files)
  const share = Math.ceil((size - from.bytes) / (2 * dev.layout.engineCount) / MAPPED_CHUNK_MIN) * MAPPED_CHUNK_MIN;
  const piece = Math.max(1, Math.min(o.chunkGiven ? o.chunkSize : Math.max(MAPPED_CHUNK_MIN, Math.min(MAPPED_CHUNK, share)), MAPPED_CHUNK_MAX, dev.options.maxTransfer));
  const slots = Math.min(o.inFlight, Math.ceil((size - from.bytes) / piece));
  let map: MappedFile;
  let records: number;
  try {
    map = dev.mapFile(fh.fd, size);
    try {
      records = dev.alloc(slots * Record.SIZE, Record.ALIGN);
    } catch (e) {
      map.unmap();
      throw e;
    }
  } catch (e) {
    const noRoom = e instanceof RangeError || (e as NodeJS.ErrnoException).code === 'NO_PASID';
    await cleanup(!noRoom);
    if (!noRoom) throw e;
    return null;
  }
  const dv = new DataView(dev.memory.buffer);
  const release = async (failed: boolean): Promise<void> => {
    map.unmap();
    try {
      dev[releaseOwn](records);
    } catch {
      // the device was closed under us: its arena is gone with it
    }
    await cleanup(failed);
  };

  /** the call failed: ranges still in flight are not sent again (they end with what they have) */
  let halted = false;
  /** The CRC (from 0) of [pos, pos + len), through record slot `slot`. */
  const range = async (pos: number, len: number, slot: number): Promise<number> => {
    const rec = records + slot * Record.SIZE;
    let crc = 0;
    let done = 0;
    for (let stalls = 0; !halted; ) {
      const status = await dev.submit(Descriptor.crc32c({ pasid: map.pasid, src: pos + done, size: len - done, seed: crc, completion: rec }));
      if (halted) break; // (its fault may be the unmap's)
      const code = status & Status.CODE_MASK;
      crc = dv.getUint32(rec + Record.OP_SPECIFIC, true);
      if (code === Status.SUCCESS) return crc;
      if (code !== Status.PAGE_FAULT) throw status === Status.HW_ERROR ? Errors.hwError(`${fn} reading ${path}`) : Errors.status(fn, status);
      const got = dv.getUint32(rec + Record.BYTES_COMPLETED, true);
      done += got;
      const at = pos + done;
      if (!(await hasByteAt(fh, at, path))) throw shrank(fn, path, size, at, await fh.stat().then((s) => s.size, () => -1));
      stalls = got >= STALL_BYTES ? 0 : stalls + 1;
      if (stalls === MAX_STALLS) throw Errors.status(fn, status);
    }
    return crc; // (not used: the call failed)
  };

  return new Promise<{ crc: number; bytes: number }>((resolve, reject) => {
    const free = Array.from({ length: slots }, (_, i) => i);
    const fold = new CrcFold(from.crc, from.bytes);
    let next = from.bytes;
    let issued = 0;
    let inflight = 0;
    /** boxed: a callback can throw anything, null and undefined too */
    let failure: { e: unknown } | null = null;
    let settled = false;
    /** done or failed, and nothing in flight: the mapping and records are being given back */
    let ended = false;
    let waited = false;

    const end = (): void => {
      if (ended || inflight > 0 || (failure === null && fold.bytes < size)) return;
      if (failure === null && !waited) {
        waited = true;
        return afterProgress(o, end);
      }
      ended = true;
      offStopped();
      // (a failure too is said once nothing is in flight and the file is closed: see pump)
      release(failure !== null).then(() => (failure === null ? resolve({ crc: fold.crc, bytes: fold.bytes }) : reject(failure.e)), (e: unknown) => reject(failure === null ? e : failure.e));
    };
    const fail = (e: unknown): void => {
      if (settled || ended) return;
      settled = true;
      halted = true;
      failure = { e };
      // The ranges in flight end at their engines' next window (a fault there), not at their end:
      // an abort, or a close, waited for whole ranges (1 GiB chunks: seconds). The file is closed
      // once they have completed (release).
      map.unmap();
      end();
    };
    let offStopped = (): void => {};

    const more = (): void => {
      while (!settled && free.length > 0 && next < size) {
        const slot = free.pop()!;
        const index = issued++;
        const pos = next;
        const len = Math.min(piece, size - pos);
        next += len;
        inflight++;
        range(pos, len, slot).then(
          (crc) => {
            inflight--;
            free.push(slot);
            if (settled) return end();
            const before = fold.bytes;
            fold.add(index, crc, len);
            if (fold.bytes > before) tell(o, fold.bytes, size, fail);
            if (settled) return end();
            more();
            end();
          },
          (e: unknown) => {
            inflight--;
            free.push(slot);
            fail(e);
            end();
          },
        );
      }
    };

    // (an abort, also one made while an earlier stage ended, or the device closing: DEVICE_CLOSED)
    offStopped = whenStopped(o.signal, dev, fail);
    more();
  });
}

/**
 * The CRC-32C of a file (as crc32c() of its bytes). Reads into arena buffers with several
 * reads in flight; each chunk's CRC runs on the engines while the next ones are read. A
 * regular file, once the engines run, is mapped into the device instead (crcMapped).
 */
export async function crc32cFile(path: string | Buffer | URL, opts?: FileCrcOptions): Promise<number> {
  return (await fileInfo('crc32cFile', path, opts)).crc;
}

/** crc32cFile, with the number of bytes read. */
export async function crc32cFileInfo(path: string | Buffer | URL, opts?: FileCrcOptions): Promise<{ crc: number; bytes: number }> {
  return fileInfo('crc32cFileInfo', path, opts);
}

/** crc32cFile(Info) (`called`: which, as its argument errors name it). */
async function fileInfo(called: string, path: string | Buffer | URL, opts?: FileCrcOptions): Promise<{ crc: number; bytes: number }> {
  const fn = 'crc32cFile';
  const { paths: [p], o } = checkedArgs(called, { path }, opts, false);
  return published(fn, () => fileCrc(fn, p, o));
}

async function fileCrc(fn: string, p: FilePath, o: Checked): Promise<{ crc: number; bytes: number }> {
  if (o.device === undefined && defaultDeviceIfOpen() === null) {
    const here = await crcBeforeDevice(fn, p, o, HERE_MAX);
    if (here !== null) return here;
  }
  const dev = o.device ?? defaultDeviceOrNull();
  // (no default device can open here: the file is read and checksummed on this thread, whatever its size)
  if (dev === null) return (await crcBeforeDevice(fn, p, o, Infinity))!;
  const { fh, st, leave } = await openForReading(fn, p, dev, o.signal);
  // Each stage leaves nothing in flight when it settles, except after a failure: then the file
  // is closed, and the call's turn given back, once its last read or descriptor has ended (an
  // abort rejects at once).
  const closeIfFailed = async (failed: boolean): Promise<void> => {
    if (!failed) return;
    try {
      await fh.close();
    } finally {
      leave();
    }
  };
  // (a file under MAP_MIN is read: a mapping's set-up costs more than a read of it, and a sysfs
  // file, which says 4096 bytes and holds fewer, would fault in the mapping where it ends)
  const regular = st.isFile() && st.size >= MAP_MIN;
  let at = { bytes: 0, crc: o.seed };
  // Until the engines run, the file is read into arena chunks; a regular file's rest goes to
  // the mapping once they do (a first call on a 1 GiB file: 541-563 ms read, 390 ms with the
  // mapping after the engines' start).
  if (!(regular && dev.isReady)) at = await readStage(fn, p, fh, st, dev, o, at, closeIfFailed, regular ? () => dev.isReady : undefined);
  if (regular && at.bytes < st.size) {
    // (null: no room to map it: it is read instead)
    at = (await crcMapped(fn, p, fh, st.size, dev, o, at, closeIfFailed)) ?? (await readStage(fn, p, fh, st, dev, o, at, closeIfFailed));
    // One that grew since: the rest is read to its end.
    const grew = await hasByteAt(fh, at.bytes, p).catch(async (e: unknown) => {
      await closeIfFailed(true).catch(() => {});
      throw e;
    });
    if (grew) at = await readStage(fn, p, fh, st, dev, o, at, closeIfFailed);
  }
  try {
    await fh.close();
  } finally {
    leave();
  }
  throwIfStopped(o.signal, dev); // (an abort, or a close, while the stages ended and the file closed: the call had resolved after it)
  return at;
}

/**
 * Regular files up to this size are read and checksummed on this thread while the default
 * device is not open: opening it (its arena, its engines' threads) costs more than such a whole
 * call, and a script that hashed one small file and ended stayed alive another 130-160 ms while
 * engines it never used booted (README: Performance). 8 MiB: one default chunk, ~2 ms here.
 */
const HERE_MAX = DEFAULT_CHUNK;
/** ...read this much at a time (the loop turning between reads), and at least HERE_MIN_READ: a /proc file says 0 bytes and has more */
const HERE_CHUNK = 1 << 20;
const HERE_MIN_READ = 64 << 10;

/**
 * crc32cFile on this thread, before the default device opens (the drop-in crc32c's CRC, which
 * has it open a moment later, as for its own first calls), or where it cannot open (`most`
 * Infinity): null when the path is not a regular file of at most `most` bytes (the device's path
 * takes it, and says what is wrong with it).
 * As on that path: at most MAX_FILE_CALLS at once (file_gate.ts, a gate of their own), a file
 * that grows is read to its end, one that shrinks is FILE_SHRANK, an abort rejects at once, and a
 * FIFO put in the file's place meanwhile is read as a pipe (its open waits for a writer until an
 * abort).
 */
async function crcBeforeDevice(fn: string, p: FilePath, o: Checked, most: number): Promise<{ crc: number; bytes: number } | null> {
  const { signal } = o;
  if (most < Infinity) {
    // (a stat can wait too, behind opens of FIFOs that hold Node's pool: an abort does not)
    const st = await untilStopped(stat(p).catch(() => null), signal, null, () => {});
    if (st === null || !st.isFile() || st.size > most) return null;
  }
  const { fh, st: now, leave } = await openForReading(fn, p, null, signal);
  // (as a drop-in call would: the default device opens a moment later, for the calls after; each
  // chunk is checksummed here, by the CPU, not through a drop-in call, which after a shutdown()
  // made meanwhile would have opened a new device)
  openSoon();
  let failure: { e: unknown } | null = null;
  const fail = (e: unknown): void => void (failure ??= { e });
  const read = async (): Promise<{ crc: number; bytes: number }> => {
    const positioned = now.isFile();
    const size = positioned ? now.size : 0;
    const buf = Buffer.allocUnsafe(Math.min(HERE_CHUNK, Math.max(HERE_MIN_READ, size + 1)));
    let crc = o.seed;
    let bytes = 0;
    while (failure === null) {
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, positioned ? bytes : null).catch(atFile(p));
      if (bytesRead === 0 || failure !== null) break;
      crc = crc32cOf(buf.subarray(0, bytesRead), crc);
      bytes += bytesRead;
      tell(o, bytes, positioned ? Math.max(size, bytes) : 0, fail);
    }
    if (bytes === 0 && failure === null) tell(o, 0, 0, fail); // (an empty file: 0 of 0, as pump says it)
    if (failure === null && bytes < size) {
      const left = (await fh.stat().catch(atFile(p))).size;
      if (left < size) throw shrank(fn, p, size, bytes, left);
      if (bytes > 0) tell(o, bytes, bytes, fail); // (it held less than its size said, a sysfs file: its total is what it held)
    }
    await new Promise<void>((r) => afterProgress(o, r));
    if (failure !== null) throw (failure as { e: unknown }).e;
    return { crc, bytes };
  };
  // An abort (also one made while the call waited: whenStopped) stops the reads, and rejects once
  // the read in flight is done and the file closed (as pump's); a pipe's (a FIFO swapped in) at once.
  return new Promise((resolve, reject) => {
    const off = whenStopped(signal, null, (e) => {
      fail(e);
      if (!now.isFile()) reject(e);
    });
    read()
      .finally(async () => {
        off();
        try {
          await fh.close();
        } finally {
          leave();
        }
      })
      // (an abort while the file closed: the call had resolved after it)
      .then((r) => (signal?.aborted === true ? reject(abortError(signal)) : resolve(r)), reject);
  });
}

/**
 * crc32cFile's read path from `from` on: chunks read into arena slots (as many as fit, up to
 * inFlight), each CRC'd by the engines as it lands; `handoff`: stop reading when it says so.
 */
async function readStage(
  fn: string,
  p: FilePath,
  fh: FileIo,
  st: Stats,
  dev: DeviceCalls,
  o: Checked,
  from: { bytes: number; crc: number },
  closeIfFailed: (failed: boolean) => Promise<void>,
  handoff?: () => boolean,
): Promise<{ crc: number; bytes: number }> {
  let slots: Buffer[];
  try {
    slots = (await slotsFitting(fn, dev, st, o)).slots;
  } catch (e) {
    await closeIfFailed(true).catch(() => {});
    throw e;
  }
  return pump(fn, dev, p, fh, st, o, slots.length, (i) => slots[i], (i, len) => dev.crc32c(slots[i].subarray(0, len)), async (failed, written) => {
    freeAll(dev, slots, written);
    await closeIfFailed(failed);
  }, from, handoff);
}

/**
 * Copies src to dst (created or truncated, with src's permission bits) and resolves to the
 * CRC-32C of the bytes written, in one pass over the data with reads, CRCs and writes
 * overlapping. On failure or abort a regular dst file it created is removed (also one it made
 * where a link at dst pointed to nothing; one that existed is left as the copy left it); the call
 * rejects once its writes in flight to a regular file are done.
 */
export async function copyFileCrc32c(src: string | Buffer | URL, dst: string | Buffer | URL, opts?: CopyFileCrcOptions): Promise<number> {
  return (await copyInfo('copyFileCrc32c', src, dst, opts)).crc;
}

/** copyFileCrc32c, with the number of bytes copied. */
export async function copyFileCrc32cInfo(src: string | Buffer | URL, dst: string | Buffer | URL, opts?: CopyFileCrcOptions): Promise<{ crc: number; bytes: number }> {
  return copyInfo('copyFileCrc32cInfo', src, dst, opts);
}

/** copyFileCrc32c(Info) (`called`: which, as its argument errors name it). */
async function copyInfo(called: string, src: string | Buffer | URL, dst: string | Buffer | URL, opts?: CopyFileCrcOptions): Promise<{ crc: number; bytes: number }> {
  const fn = 'copyFileCrc32c';
  const { paths: [s, d], o } = checkedArgs(called, { src, dst }, opts, true);
  const claim = claimPath(d); // (as the call is made, before any wait)
  try {
    return await published(fn, () => fileCopy(fn, s, d, o, claim));
  } finally {
    release(claim);
  }
}

async function fileCopy(fn: string, s: FilePath, d: FilePath, o: Checked, called: Claim): Promise<{ crc: number; bytes: number }> {
  const dev = o.device ?? defaultDevice();
  const opened = await openForReading(fn, s, dev, o.signal);
  const { fh, st } = opened;
  let { leave } = opened;
  /** the call gave its turn to the next (its source or its destination is a pipe, which may wait for good) */
  let aside = fh instanceof PipeHandle;
  let out: FileIo | null = null;
  /** the file this call made for dst (only such a one is removed when the copy fails): dst, or where links at dst led */
  let made: Made | null = null;
  let slots: Buffer[] = [];
  let copies: Buffer[] = [];
  let outIsFile = false;
  /** this copy's claim on a dst file it did not make (a copy that made it and fails removes it only if none came since) */
  let claimed: Claim | null = null;
  try {
    const existing = await stat(d).catch(() => null);
    if (existing !== null && existing.dev === st.dev && existing.ino === st.ino) throw new FileCrcError('ESAMEFILE', `${fn}: ${s} and ${d} are the same file`, String(d));
    if (existing !== null && existing.isDirectory()) throw new FileCrcError('EISDIR', `${fn}: ${d} is a directory`, String(d));
    // (a FIFO waits for its reader, for good perhaps: its call gives its turn to the next, as a pipe source's does)
    if (existing?.isFIFO() === true && !aside) {
      leave = stepAside(dev, leave);
      aside = true;
    }
    // (a pipe is written one chunk at a time: a FIFO there needs one, held while it waits for its reader)
    const fits = existing?.isFIFO() === true ? { ...o, inFlight: 1 } : o;
    if (o.via === 'copyCrc32c') {
      // a chunk and its copy in one buffer: as many pairs as fit, waited for like single chunks
      const fit = await slotsFitting(fn, dev, st, fits, true, aside);
      copies = fit.slots.map((b) => b.subarray(fit.chunk));
      slots = fit.slots.map((b) => b.subarray(0, fit.chunk));
    } else {
      slots = (await slotsFitting(fn, dev, st, fits, false, aside)).slots;
    }
    if (o.signal?.aborted) throw abortError(o.signal);
    // dst is opened without waiting, and made when it is not there: an abort waits for that (had
    // the call rejected first, the file it went on to make would have been removed after the
    // rejection, perhaps one the caller had written there meanwhile). A file that was there is
    // truncated only once it is known to be the caller's to write (below). A FIFO opens once a
    // reader is there, and is written through a pipe an abort ends (pipe_handle.ts).
    ({ fh: out, made } = await openDestination(d, st.mode & 0o777, o.signal, dev));
    if (o.signal?.aborted) throw abortError(o.signal);
    const outSt = await out.stat().catch(atFile(d));
    outIsFile = outSt.isFile();
    if (outIsFile && made === null) claimed = claimFile(outSt); // (a file made here was claimed as it was made)
    // src's permission bits, as fs.copyFile gives them: also to a dst that existed, and past the
    // umask. EPERM: a dst of another user's, refused as fs.copyFile refuses it (it kept its bits,
    // a world-writable one stayed so); or one of ours on a file system that keeps no modes (CIFS),
    // where libuv goes on without, as here.
    if (outIsFile) await out.chmod(st.mode & 0o7777).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPERM') throw onFile(e, d);
      if (outSt.uid !== process.geteuid?.()) throw new FileCrcError('EPERM', `${fn}: ${d} is another user's: it cannot be given ${s}'s permission bits (EPERM, as fs.copyFile says); it is left as it was`, String(d));
    });
    if (o.signal?.aborted) throw abortError(o.signal);
    if (outIsFile && made === null && outSt.size > 0) await ftruncateP(out.fd, 0).catch(atFile(d));
  } catch (e) {
    freeAll(dev, slots, []); // (nothing read yet; a copy is the second half of its slot's buffer)
    await out?.close().catch(() => {});
    if (made !== null) await removeMade(made, called);
    if (claimed !== null) release(claimed);
    await fh.close().catch(() => {});
    leave();
    throw e;
  }
  const w = out;
  // Writes to a regular file go to their place as their chunks come in. Anything else (a pipe, a
  // terminal) has no place to write to: it is copied one chunk at a time, in order (chunks read
  // at once complete in any order, and a pipe took them so: the reader got bytes out of order).
  // (a pipe is written from a copy of this thread's: a write there can wait for good; see pump)
  /** dst's writes in flight, and whether the copy has failed (no write starts then) */
  const writing = new Set<Promise<unknown>>();
  let failed = false;
  const write = (buf: Buffer, len: number, pos: number): Promise<void> => {
    if (failed) return Promise.reject(new Error(`${fn}: the copy has failed`)); // (a read that landed since: its write is not wanted)
    // (an abort or a close ends the copy: the rest of a large chunk is not written first)
    const stop = (): boolean => failed || o.signal?.aborted === true || dev.isClosing;
    const p = outIsFile ? arenaIo(dev, writeFull(w, buf, len, pos, d, stop)) : writeFull(w, Buffer.from(buf.subarray(0, len)), len, null, d, stop);
    const settled = p.then(() => {}, () => {});
    writing.add(settled);
    void settled.then(() => writing.delete(settled));
    return p;
  };
  const slotCount = outIsFile ? slots.length : 1;
  const work = o.via === 'copyCrc32c'
    ? async (i: number, len: number, pos: number): Promise<number> => {
        const crc = await dev.copyCrc32c(copies[i].subarray(0, len), slots[i].subarray(0, len));
        await write(copies[i], len, pos);
        return crc;
      }
    : async (i: number, len: number, pos: number): Promise<number> => {
        // The engine reads the buffer for the CRC while write() reads it for the file.
        // (both done before the slot is reused or freed, even when one fails)
        const [crc] = await allDone<unknown>([dev.crc32c(slots[i].subarray(0, len)), write(slots[i], len, pos)]);
        return crc as number;
      };
  const copied = pump(fn, dev, s, fh, st, o, slotCount, (i) => slots[i], work, async (_failed, written) => {
    // (a chunk's copy, the second half of its buffer, was written as far as the chunk was)
    freeAll(dev, slots, copies.length === 0 ? written : written.map((w, i) => (w > 0 ? copies[i].byteOffset - slots[i].byteOffset + w : 0)));
    await Promise.allSettled([fh.close(), w.close()]);
    leave();
  }, undefined, undefined, outIsFile).then((r) => {
    throwIfStopped(o.signal, dev); // (an abort, or a close, while the files closed: the copy had resolved after it; it fails as any other)
    return r;
  });
  // A failed copy leaves no partial file behind (removed once its writes in flight are done, as
  // it rejects). A dst that was there before is left as the copy left it: the path may be a
  // link, or a file of the caller's, which no copy should remove. A copy from a pipe or device
  // rejects before its read in flight is done (it can wait for good), and so before its files
  // are closed: dst is closed here first, once its writes are done, for it is not removed while
  // anything in the process has it open (a copy from /dev/urandom aborted left its partial file in 18 of 20 runs).
  const madeHere = made;
  const claimedHere = claimed;
  return copied.then(
    (r) => {
      if (madeHere !== null) release(madeHere.claim);
      if (claimedHere !== null) release(claimedHere);
      return r;
    },
    async (e: unknown) => {
      failed = true;
      // (a write to a regular file ends on its own; one to a pipe may not, and is not waited for)
      while (outIsFile && writing.size > 0) await Promise.all(writing);
      // (a file dst is closed before the rejection also when it was there before: the caller may reopen it at once)
      if (outIsFile) await w.close().catch(() => {});
      if (madeHere !== null) await removeMade(madeHere, called);
      if (claimedHere !== null) release(claimedHere);
      throw e;
    },
  );
}

/** FILE_SHRANK: a read at `at` found the end of a file of `size` bytes, which has `now` (-1: unknown). */
function shrank(fn: string, path: FilePath, size: number, at: number, now: number): FileCrcError {
  return new FileCrcError('FILE_SHRANK', `${fn}: ${path} shrank while it was read: it had ${size} bytes, ${now >= 0 ? `has ${now} now` : 'fewer now'} (a read at byte ${at} found nothing more)`, String(path));
}

