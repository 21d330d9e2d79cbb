// Loader for the optional eventfd addon (native/eventfd.cc), found in native/ (node-gyp-build's order):
// first a build from source in native/build/Release (npm install in the repository, or a
// consumer's own rebuild), then the prebuilt one shipped in the package,
// native/prebuilds/<platform>-<arch>/softdsa_eventfd.napi.glibc.node (linux-x64 and linux-arm64,
// glibc; `npm run prebuilds`). Where it is unavailable — not Linux, no build or
// prebuild fits this machine, or SOFTDSA_NO_EVENTFD=1 — loadEventFd() returns null and softdsa
// uses its Atomics completion path instead; eventFdUnavailableReason() says why.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { debuglog } from 'node:util';
import { join } from 'node:path';
import { packageRoot } from './paths.ts';

/** One eventfd owned by the calling thread; see native/eventfd.cc. */
export interface EventFdHandle {
  /** The file descriptor, for `signal(fd)` from other threads; -1 once closed. */
  readonly fd: number;
  /**
   * Watch the fd on this thread's event loop. When readable, the counter is read (resetting it)
   * and `callback(count)` runs once with the sum of all signals since the last read. Calling
   * start again replaces the callback. While started, the handle keeps itself from being
   * garbage-collected and (unless unref'd) keeps the event loop alive. Throws once closed.
   */
  start(callback: (count: number) => void): void;
  /** Stop watching (the fd stays open; signals keep accumulating). */
  stop(): void;
  /** Let a started poll keep the event loop alive (the default). */
  ref(): void;
  /** Do not let the poll keep the event loop alive. */
  unref(): void;
  /** Non-blocking read of the counter (resetting it): the count, or 0 if none. Throws once closed. */
  read(): number;
  /** Stop, release the poll handle and close the fd. Idempotent. */
  close(): void;
}

export interface EventFdAddon {
  EventFd: new () => EventFdHandle;
  /**
   * Synchronously add `n` (default 1) to the eventfd `fd`; safe from any thread, including one
   * whose event loop is frozen in Atomics.wait. A saturated counter (EAGAIN) is ignored; an
   * fd that is not a live eventfd of this library (closed, or never one) throws (code 'EBADF'); nothing is written.
   */
  signal(fd: number, n?: number): void;
  /**
   * Add `increment` (an integer from 0 to 19) to the calling thread's nice value and return the
   * new value (the kernel caps it at 19). Linux applies nice per thread, so this lowers the
   * priority of this one thread only. Raising nice needs no privilege; failures throw with
   * `code`/`errno`/`syscall` ('getpriority' or 'setpriority'). Absent from an addon built before
   * this function existed.
   */
  setThreadNice?(increment: number): number;
  /**
   * Ask for an EEVDF slice of `ns` nanoseconds (an integer from 100000 to 100000000) for the
   * calling thread, keeping its policy and nice value; returns the slice in effect, read back (0:
   * the kernel takes no slice request, before Linux 6.12, or the thread is not SCHED_NORMAL or
   * SCHED_BATCH). Needs no privilege; failures throw with `code`/`errno`/`syscall`. Absent from an
   * addon built before this function existed.
   */
  setThreadSlice?(ns: number): number;
  /**
   * Copy view[src, src + n) to view[dst, dst + n) with stores that bypass the cache (x86-64
   * only: absent elsewhere, and from an addon built before it existed); ranges that overlap are
   * copied with memmove. Offsets out of the view's bounds throw a RangeError, nothing copied.
   */
  streamCopy?(view: Uint8Array, dst: number, src: number, n: number): void;
  /**
   * Asks for transparent huge pages over view[at, at + n) (madvise MADV_HUGEPAGE; at and n
   * multiples of the page size); false when the kernel refused. Absent from an addon built before it existed.
   */
  adviseHuge?(view: Uint8Array, at: number, n: number): boolean;
  /**
   * Gives the pages of view[at, at + n) back to the system (madvise MADV_DONTNEED: they read as
   * zeros after); at and n multiples of pageSize. False when the range was refused. Absent from an addon built before it existed.
   */
  releasePages?(view: Uint8Array, at: number, n: number): boolean;
  /** the page size (with releasePages) */
  pageSize?: number;
  /**
   * The CRC-32C of the view's bytes where they lie, continuing `seed` (as crc32c(data, seed)), on
   * three streams of the CPU's CRC instruction. Absent where the CPU has none (x86-64 without
   * SSE4.2, arm64 without CRC), and from an addon built before it existed.
   */
  crc32c?(view: Uint8Array, seed: number): number;
}


// Module state is per thread (each worker evaluates this module afresh), so is the cache.
let cached: EventFdAddon | null | undefined;
let reason: string | null = null;
let loadedFrom: string | null = null;
/** NODE_DEBUG=softdsa prints which completion path this thread took, and why. */
const debug = debuglog('softdsa');

/** The eventfd addon, or null where it is unavailable (cached per thread). */
export function loadEventFd(): EventFdAddon | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.platform !== 'linux') {
    reason = `not supported on ${process.platform}`;
  } else if (process.env.SOFTDSA_NO_EVENTFD === '1') {
    reason = 'disabled by SOFTDSA_NO_EVENTFD=1';
  } else {
    const dir = join(packageRoot, 'native');
    let path = knownBuild(dir);
    if (path === null) {
      try {
        // Resolves without loading: native/build/Release/*.node, else the best-matching prebuild.
        path = (createRequire(import.meta.url)('node-gyp-build') as { path(dir: string): string }).path(dir);
      } catch (err) {
        const first = String((err as Error).message).split('\n')[0];
        reason = `no eventfd addon fits (${first.replace(/^No native build was found for /, '')}; looked in ${dir}/build/Release and ${dir}/prebuilds)`;
      }
    }
    if (path !== null) {
      try {
        const module = { exports: {} };
        process.dlopen(module, path);
        const addon = module.exports as Partial<EventFdAddon> & { supported?: boolean };
        if (addon.supported === false || typeof addon.EventFd !== 'function' || typeof addon.signal !== 'function') {
          reason = `addon at ${path} does not support eventfd on this platform`;
        } else {
          cached = { EventFd: addon.EventFd, signal: addon.signal };
          if (typeof addon.setThreadNice === 'function') cached.setThreadNice = addon.setThreadNice;
          if (typeof addon.setThreadSlice === 'function') cached.setThreadSlice = addon.setThreadSlice;
          if (typeof addon.streamCopy === 'function') cached.streamCopy = addon.streamCopy;
          if (typeof addon.adviseHuge === 'function') cached.adviseHuge = addon.adviseHuge;
          if (typeof addon.crc32c === 'function') cached.crc32c = addon.crc32c;
          if (typeof addon.releasePages === 'function' && typeof addon.pageSize === 'number') {
            cached.releasePages = addon.releasePages;
            cached.pageSize = addon.pageSize;
          }
          loadedFrom = path;
        }
      } catch (err) {
        reason = `addon at ${path} failed to load: ${(err as Error).message}`;
      }
    }
  }
  if (cached === null) debug('eventfd addon unavailable, using the Atomics completion path: %s', reason);
  else debug('eventfd addon loaded from %s', loadedFrom);
  return cached;
}

/**
 * The two files node-gyp-build would pick on most machines, found without it: a build from source,
 * else the glibc prebuild of this platform and arch. Loading node-gyp-build (and with it the
 * CommonJS loader) cost 2-3 ms of the 2.5-3.5 ms this thread's first load took, on the way to a
 * first call, and in every engine's start; process.dlopen of the file takes 0.3. Anything else
 * (musl, LIBC or PREBUILDS_ONLY set, a prebuild of another name): null, and node-gyp-build decides.
 */
function knownBuild(dir: string): string | null {
  const env = process.env;
  const built = join(dir, 'build', 'Release', 'softdsa_eventfd.node');
  if (!env.PREBUILDS_ONLY && existsSync(built)) return built;
  if (env.LIBC !== undefined || existsSync('/etc/alpine-release')) return null;
  const prebuilt = join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'softdsa_eventfd.napi.glibc.node');
  return existsSync(prebuilt) ? prebuilt : null;
}

/** Why loadEventFd() returned null (for diagnostics), or null if it loaded or was not tried. */
export function eventFdUnavailableReason(): string | null {
  return reason;
}

/** The file the addon was loaded from (a development build or a prebuild), or null. */
export function eventFdAddonPath(): string | null {
  return loadedFrom;
}

/** Where this thread's completions come from: the eventfd addon (and its file) or, without it, why not. */
export interface EventFdStatus {
  /** True when the addon loaded: devices opened here use the eventfd completion path. */
  available: boolean;
  /** The addon file (a build from source or a prebuild), when it loaded. */
  path: string | null;
  /** Why it is unavailable (not Linux, no prebuild fits, SOFTDSA_NO_EVENTFD=1, ...), else null. */
  reason: string | null;
}

/** Loads the addon if not yet tried (cached per thread) and reports the outcome. */
export function eventFdStatus(): EventFdStatus {
  const addon = loadEventFd();
  return { available: addon !== null, path: loadedFrom, reason };
}
