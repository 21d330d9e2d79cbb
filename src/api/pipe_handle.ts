// A FIFO, opened without waiting and read or written through a libuv pipe (a net.Socket over its
// descriptor, as process.stdin is), for the file calls (files.ts). fs's own open() of a FIFO waits
// in a thread of Node's pool for the other end to come, and its read() or write() for that end to
// act: for good, when it never comes, or stays open and idle. Nothing ended such a wait but
// opening the FIFO's other end ourselves, which let every other waiter on it go too (another
// reader then read an empty stream; a writer waiting for a reader was killed by SIGPIPE), and a
// read blocked on a silent writer kept its thread, its descriptor and the process for good.
// Here an open never waits (a reader's end opens at once with O_NONBLOCK; a writer's is tried
// again until a reader is there), the waits are the event loop's, and an abort or the device's
// closing ends them.
import { Socket } from 'node:net';
import { close, constants as fsc, fchmod, fstat, lstat, open, read, readdir, readlink, stat, type Stats, unlink, write } from 'node:fs';
import { promisify } from 'node:util';
import { resolve as resolvePath } from 'node:path';
import type { DeviceCalls } from './calls.ts';
import { throwIfStopped, whenStopped } from './file_gate.ts';
import { clearTimeout, setTimeout } from '../device/timers.ts';

/** What the file calls use of an open file: a FileHandle, or a PipeHandle. */
export interface FileIo {
  readonly fd: number;
  read(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }>;
  write(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesWritten: number }>;
  stat(): Promise<Stats>;
  close(): Promise<void>;
  chmod(mode: number): Promise<void>;
}

/** How often a writer's open of a FIFO with no reader is tried again. */
const RETRY_MS = 10;
/** Bytes read ahead of the caller before the pipe is paused. */
const AHEAD = 1 << 20;
const fstatP = promisify(fstat);
const statP = promisify(stat);
const lstatP = promisify(lstat);
const unlinkP = promisify(unlink);
const readdirP = promisify(readdir);
const readlinkP = promisify(readlink) as (path: string | Buffer, options: { encoding: 'buffer' }) => Promise<Buffer>;
const openP = promisify(open) as (path: string | Buffer, flags: number, mode?: number) => Promise<number>;
const closeP = promisify(close);
const fchmodP = promisify(fchmod);
const readP = promisify(read) as (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null) => Promise<{ bytesRead: number }>;
const writeP = promisify(write) as (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null) => Promise<{ bytesWritten: number }>;

/**
 * The FIFO the caller found at `path` open for writing, once a reader is there (tried every
 * RETRY_MS: a writer's end with no reader refuses at once, ENXIO); null when `path` is no FIFO by
 * then (what it opened says so, or it is gone). Rejects as soon as `signal` aborts or `dev`
 * begins to close.
 */
export async function openPipeForWriting(path: string | Buffer, signal: AbortSignal | undefined, dev: DeviceCalls | null): Promise<PipeHandle | null> {
  let stopped: unknown = null;
  let wake: (() => void) | null = null;
  const off = whenStopped(signal, dev, (e) => {
    stopped = e;
    wake?.();
  });
  try {
    for (;;) {
      if (stopped !== null) throw stopped;
      let fd: number;
      try {
        fd = await openP(path, fsc.O_WRONLY | fsc.O_NONBLOCK);
      } catch (e) {
        // No reader yet (ENXIO): tried again, as a blocking open would wait. (Gone, ENOENT: fs's open, by the caller.)
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, RETRY_MS);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
        continue;
      }
      const isFifo = await fstatP(fd).then((now) => now.isFIFO(), () => false);
      if (!isFifo || stopped !== null) {
        await closeP(fd).catch(() => {});
        if (stopped !== null) throw stopped;
        return null; // (not a FIFO now: fs's open, by the caller)
      }
      return new PipeHandle(fd, true, signal, dev);
    }
  } finally {
    off();
  }
}

/**
 * `path` open for reading, and what it is: a FIFO as a PipeHandle, anything else as an FdHandle. The open never
 * waits (O_NONBLOCK), and what it opened is what is read: a FIFO swapped in after a look at the
 * path was opened by fs's open, and read with reads that block a thread of Node's pool for good
 * (an abort could not end them: four took the pool, and the process could not exit).
 */
export async function openSource(path: string | Buffer, signal: AbortSignal | undefined, dev: DeviceCalls | null): Promise<{ fh: FileIo; st: Stats }> {
  return handleOf(await openP(path, fsc.O_RDONLY | fsc.O_NONBLOCK), false, signal, dev);
}

/**
 * A descriptor opened without waiting (O_NONBLOCK), as what it is: a FIFO as a PipeHandle,
 * anything else as an FdHandle (O_NONBLOCK changes nothing for a regular file's reads and
 * writes). A character device may take O_NONBLOCK at its word (a terminal: EAGAIN while it has
 * nothing): it is opened again as fs opens it, through this descriptor (the same device, wherever
 * the path points by now). The descriptor is closed if it fails.
 */
async function handleOf(fd: number, writing: boolean, signal: AbortSignal | undefined, dev: DeviceCalls | null): Promise<{ fh: FileIo; st: Stats }> {
  let st: Stats;
  try {
    st = await fstatP(fd);
  } catch (e) {
    await closeP(fd).catch(() => {});
    throw e;
  }
  if (st.isFIFO()) return { fh: new PipeHandle(fd, writing, signal, dev), st };
  if (!st.isCharacterDevice()) return { fh: new FdHandle(fd), st };
  try {
    return { fh: new FdHandle(await openP(`/proc/self/fd/${fd}`, writing ? fsc.O_WRONLY : fsc.O_RDONLY)), st };
  } finally {
    await closeP(fd).catch(() => {});
  }
}

/**
 * `path` open for writing, as fs.open(path, 'w', mode) opens it but for the truncation, without
 * waiting: made when it is not there (`made`: the file this call made, which a failed copy removes
 * if the path still names it; through links to nothing, the end of their chain). A file that was
 * there is not truncated: the caller does that once it knows it may write there (a copy refused
 * with EPERM had emptied another user's file). A FIFO is written
 * through a PipeHandle once a reader is there; a character device is opened again as fs opens
 * it; anything else is an FdHandle. Looked at only through what it opened: a FIFO put in a file's
 * place after the caller's look was opened by fs's open, which waited in Node's pool for a reader
 * that an abort could bring only by opening the FIFO's other end itself (which let every other
 * waiter on it go too). Whatever is put at `path` or taken from it meanwhile, only O_EXCL makes a
 * file (one made by an open that also opens what is there was said not to be this call's, and
 * was left behind by a failed copy), and the path is looked at again when what an open found is
 * not there by the time it is looked at (a FIFO removed while it waited for a reader; a FIFO and a
 * file swapped: ENXIO, then a file).
 */
export async function openDestination(path: string | Buffer, mode: number, signal: AbortSignal | undefined, dev: DeviceCalls | null): Promise<{ fh: FileIo; made: Made | null }> {
  const W = fsc.O_WRONLY | fsc.O_NONBLOCK;
  for (;;) {
    throwIfStopped(signal, dev);
    const made = await openNew(path, mode);
    if (made !== null) return made; // (a regular file)
    let fd: number;
    try {
      fd = await openP(path, W);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        // A link to nothing (or a chain of them): followed, and its end made, as fs's open makes
        // it; made here, it is the file a failed copy removes (the links stay)
        const link = await lstatP(path).then((st) => st.isSymbolicLink(), () => false);
        if (!link) continue; // (gone since it was there: made here after all)
        const end = await linkEnd(path);
        if (end !== null) {
          const at = await openNew(end, mode);
          if (at !== null) return at;
          continue; // (made meanwhile: looked at again)
        }
        // (links this cannot follow to their end: the open through them says why, or makes it as fs would)
        return { fh: (await handleOf(await openP(path, W | fsc.O_CREAT, mode), true, signal, dev)).fh, made: null };
      }
      if (code !== 'ENXIO') throw e;
      // A FIFO with no reader refuses a writer's end that will not wait (ENXIO; so do a socket's
      // path and a device with nothing behind it, which are said so)
      const now = await statP(path).catch(() => null);
      if (now === null || now.isFile()) continue; // (swapped since the open)
      if (!now.isFIFO()) throw e;
      const pipe = await openPipeForWriting(path, signal, dev);
      if (pipe !== null) return { fh: pipe, made: null };
      continue; // (no FIFO there by then)
    }
    return { fh: (await handleOf(fd, true, signal, dev)).fh, made: null };
  }
}

/** A file a copy made: where, and which (a failed copy removes it only if the path still names it). */
export interface Made {
  path: string | Buffer;
  dev: number;
  ino: number;
  /** its claim (a failed copy removes it only if no other copy claimed it since) */
  claim: Claim;
}

/**
 * The copy in this process that last claimed a destination, by its path (resolved: claimed as
 * the copy is called, before any wait) and by its file (dev:ino: once opened, what links to it
 * share). A copy that fails removes the file it made only if it still holds both claims: a
 * program that aborted a copy and at once copied to the same dst again, or started the newer
 * copy first, had the newer copy's file removed under it (it resolved, and left no file).
 */
const latest = new Map<string, object>();

/** A copy's claim on a destination (see `latest`). */
export interface Claim {
  key: string;
  token: object;
}

const claim = (key: string): Claim => {
  const token = {};
  latest.set(key, token);
  return { key, token };
};

/** Claims the destination a copy is called on, by its path. */
export const claimPath = (path: string | Buffer): Claim => claim(`path:${resolvePath(typeof path === 'string' ? path : path.toString('latin1'))}`);

/** Claims the destination file a copy opened, by its identity. */
export const claimFile = (st: { dev: number; ino: number }): Claim => claim(`file:${st.dev}:${st.ino}`);

const holds = (c: Claim): boolean => latest.get(c.key) === c.token;

/** Forgets a copy's claim once it is settled (a later copy's stays). */
export function release(c: Claim): void {
  if (holds(c)) latest.delete(c.key);
}

/** A new regular file at path, open (O_EXCL: not through a link), or null when something is there. */
async function openNew(path: string | Buffer, mode: number): Promise<{ fh: FdHandle; made: Made } | null> {
  let fd: number;
  try {
    fd = await openP(path, fsc.O_WRONLY | fsc.O_NONBLOCK | fsc.O_CREAT | fsc.O_EXCL, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return null;
  }
  const fh = new FdHandle(fd);
  try {
    const st = await fh.stat();
    return { fh, made: { path, dev: st.dev, ino: st.ino, claim: claimFile(st) } };
  } catch (e) {
    await fh.close().catch(() => {});
    throw e;
  }
}

/** The path at the end of a chain of symbolic links from `path` (null when a link in it is gone, or it is too long: the open says why). */
async function linkEnd(path: string | Buffer): Promise<Buffer | null> {
  let at = typeof path === 'string' ? Buffer.from(path) : path;
  for (let hops = 0; hops < 40; hops++) {
    const to = await readlinkP(at, { encoding: 'buffer' }).catch(() => null);
    if (to === null) return null;
    // (a relative target is relative to the link's folder)
    at = to[0] === 0x2f ? to : Buffer.concat([at.subarray(0, at.lastIndexOf(0x2f) + 1), to]);
    const st = await lstatP(at).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : null));
    if (st === undefined) return at; // (nothing there: the end)
    if (st === null || !st.isSymbolicLink()) return null;
  }
  return null;
}

/**
 * Removes the file a copy made (its own descriptor closed by then), if its path still names it
 * (not a file put there since), no other copy claimed it since, and nothing else in the process
 * has it open: another copy that opened it before its claim was made, or one on another thread
 * or of the other build (each keeps its own claims), or the program. Forgets the claim.
 */
export async function removeMade(made: Made, called: Claim): Promise<void> {
  const now = await lstatP(made.path).catch(() => null);
  const mine = holds(made.claim) && holds(called);
  release(made.claim);
  if (mine && now !== null && now.dev === made.dev && now.ino === made.ino && !(await openInProcess(made))) await unlinkP(made.path).catch(() => {});
}

/** Whether a descriptor of this process has the file open (Linux: /proc/self/fd; elsewhere, where it cannot tell, false). */
async function openInProcess(file: { dev: number; ino: number }): Promise<boolean> {
  const fds = await readdirP('/proc/self/fd').catch(() => [] as string[]);
  for (const fd of fds) {
    const st = await statP(`/proc/self/fd/${fd}`).catch(() => null);
    if (st !== null && st.dev === file.dev && st.ino === file.ino) return true;
  }
  return false;
}

/** A descriptor as a FileIo: fs's reads and writes on Node's pool, as a FileHandle's (which fs.promises makes only by opening a path itself). */
export class FdHandle implements FileIo {
  readonly fd: number;
  #closed: Promise<void> | null = null;

  constructor(fd: number) {
    this.fd = fd;
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }> {
    return { bytesRead: (await readP(this.fd, buffer, offset, length, position)).bytesRead };
  }

  async write(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesWritten: number }> {
    return { bytesWritten: (await writeP(this.fd, buffer, offset, length, position)).bytesWritten };
  }

  stat(): Promise<Stats> {
    return fstatP(this.fd);
  }

  chmod(mode: number): Promise<void> {
    return fchmodP(this.fd, mode);
  }

  /** Closes the descriptor once, however often it is asked (a number closed twice can be another file's by then). */
  close(): Promise<void> {
    return (this.#closed ??= closeP(this.fd));
  }
}

/** A FIFO's end as a FileIo: its reads and writes go through a libuv pipe, and cancel() (an abort, the device closing) ends them. */
export class PipeHandle implements FileIo {
  readonly fd: number;
  readonly #sock: Socket;
  readonly #writing: boolean;
  /** data read and not yet taken, in order */
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #error: unknown = null;
  #wake: (() => void) | null = null;
  readonly #closed: Promise<void>;
  readonly #off: () => void;

  constructor(fd: number, writing: boolean, signal: AbortSignal | undefined, dev: DeviceCalls | null) {
    this.fd = fd;
    this.#writing = writing;
    this.#sock = new Socket({ fd, readable: !writing, writable: writing, allowHalfOpen: true });
    this.#closed = new Promise((resolve) => this.#sock.once('close', () => resolve()));
    this.#sock.on('error', (e) => this.#fail(e));
    this.#sock.on('close', () => this.#fail(new Error('the pipe was closed')));
    if (!writing) {
      this.#sock.on('data', (chunk: Buffer) => {
        this.#queue.push(chunk);
        this.#queued += chunk.length;
        if (this.#queued >= AHEAD) this.#sock.pause();
        this.#poke();
      });
      this.#sock.on('end', () => {
        this.#ended = true;
        this.#poke();
      });
    }
    this.#off = whenStopped(signal, dev, (e) => this.cancel(e));
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  #fail(e: unknown): void {
    this.#error ??= e;
    this.#poke();
  }

  /** Up to `length` bytes into buffer[offset...]: what has come, or once some comes; 0 at the end (its writers gone). */
  async read(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesRead: number }> {
    for (;;) {
      if (this.#queue.length > 0 && length > 0) {
        let n = 0;
        while (n < length && this.#queue.length > 0) {
          const head = this.#queue[0];
          const take = Math.min(length - n, head.length);
          buffer.set(head.subarray(0, take), offset + n);
          n += take;
          if (take === head.length) this.#queue.shift();
          else this.#queue[0] = head.subarray(take);
        }
        this.#queued -= n;
        if (this.#queued < AHEAD && !this.#ended) this.#sock.resume();
        return { bytesRead: n };
      }
      if (this.#ended || length === 0) return { bytesRead: 0 };
      if (this.#error !== null) throw this.#error;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Writes buffer[offset, offset + length): resolves once the pipe has taken all of it. */
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }> {
    if (this.#error !== null) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      const settle = (e?: Error | null): void => {
        this.#wake = null;
        if (e) reject(e);
        else resolve({ bytesWritten: length });
      };
      // (a write waiting on a reader that reads no more settles when it is cancelled)
      this.#wake = () => settle(this.#error as Error);
      this.#sock.write(Buffer.from(buffer.buffer, buffer.byteOffset + offset, length), (e) => settle(e ?? (this.#error as Error | null)));
    });
  }

  stat(): Promise<Stats> {
    return fstatP(this.fd);
  }

  chmod(): Promise<void> {
    return Promise.resolve(); // (a FIFO that was there keeps its mode, as for any dst that was)
  }

  /** Ends the pipe's waits: a read or write in flight rejects with `reason`; the descriptor is closed. */
  cancel(reason: unknown): void {
    this.#fail(reason);
    this.#sock.destroy();
  }

  /** Closes the descriptor (a writer's, once what it wrote has gone to the pipe). */
  async close(): Promise<void> {
    this.#off();
    if (this.#writing && this.#error === null && this.#sock.writableLength > 0) await new Promise<void>((resolve) => this.#sock.end(resolve));
    this.#sock.destroy();
    await this.#closed;
  }
}
