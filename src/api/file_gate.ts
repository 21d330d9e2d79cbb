// Turns for the file calls (crc32cFile, copyFileCrc32c) on a device.
//
// A file call holds arena memory (read buffers, or a mapped file's windows) until its last read,
// CRC or write has ended: after it settles, for one that was aborted (it rejects at once). Many
// at once, as a Promise.all over a directory makes them, would take the arena from each other
// and from the descriptors the API itself needs (300 calls on 30 MB files here: 173-284 failed
// for want of room). So at most MAX_FILE_CALLS run on a device, the others wait their turn in
// order, and a call that finds no room for its buffers waits for another one to end before it
// says so.
import { onClosing, type DeviceCalls } from './calls.ts';
import { abortError, Errors } from '../device/errors.ts';
import { onAbort } from './on_abort.ts';

/** File calls running at once on a device: more than keep its engines and the disk busy. */
export const MAX_FILE_CALLS = 16;

class Gate {
  running = 0;
  /** calls waiting for a turn, in order */
  readonly turns: Array<() => void> = [];
  /** calls waiting for one of the running ones to end (for room) */
  readonly ends: Array<() => void> = [];

  leave(): void {
    this.running--;
    for (const wake of this.ends.splice(0)) wake();
    const next = this.turns.shift();
    if (next !== undefined) {
      this.running++;
      next();
    }
  }
}

const gates = new WeakMap<DeviceCalls, Gate>();
/** the turns of file calls run on no device (crc32cFile before the default device opens) */
const noDevice = new Gate();

function gateOf(dev: DeviceCalls | null): Gate {
  if (dev === null) return noDevice;
  let g = gates.get(dev);
  if (g === undefined) gates.set(dev, (g = new Gate()));
  return g;
}

/**
 * Waits for a turn on `dev` (null: the calls run on no device); resolves to the call's leave(),
 * which gives the turn back (once; later calls do nothing). Rejects with an AbortError if `signal`
 * aborts first.
 */
export function enterFileCall(dev: DeviceCalls | null, signal?: AbortSignal): Promise<() => void> {
  const g = gateOf(dev);
  let left = false;
  const leave = (): void => {
    if (left) return;
    left = true;
    g.leave();
  };
  if (signal?.aborted) return Promise.reject(abortError(signal));
  if (g.running < MAX_FILE_CALLS) {
    g.running++;
    return Promise.resolve(leave);
  }
  return queued(g.turns, leave, signal, dev);
}

/**
 * Gives a call's turn to the next call now, for one that may wait for good: a pipe's reads wait
 * for its writer (16 calls on idle FIFOs held every turn, and a regular file's call waited behind
 * them as long as they did). Returns its new leave(), which only has calls waiting for room look
 * again once its buffers are back (a pipe's call holds two chunks of at most 1 MiB: slotsFitting).
 */
export function stepAside(dev: DeviceCalls | null, leave: () => void): () => void {
  leave();
  const g = gateOf(dev);
  let left = false;
  return () => {
    if (left) return;
    left = true;
    for (const wake of g.ends.splice(0)) wake();
  };
}

/**
 * Resolves once a file call on `dev` ends, true; false at once when every other running call is
 * waiting for room too (then none would end for the others to go on: two or more calls that
 * found no room waited for each other for ever). The caller then gives up, and its end lets the
 * others look again. Rejects with an AbortError if `signal` aborts first.
 */
export function anotherFileCallEnds(dev: DeviceCalls, signal?: AbortSignal, aside = false): Promise<boolean> {
  const g = gateOf(dev);
  if (signal?.aborted) return Promise.reject(abortError(signal));
  // (`aside`: the caller stepped aside, and is not among the running calls)
  if (g.running - g.ends.length <= (aside ? 0 : 1)) return Promise.resolve(false);
  return queued(g.ends, true, signal, dev);
}

/** Throws what whenStopped would call `stop` with, if `signal` has aborted (an AbortError) or dev has begun to close (DEVICE_CLOSED). */
export function throwIfStopped(signal: AbortSignal | undefined, dev: DeviceCalls | null): void {
  if (signal?.aborted === true) throw abortError(signal);
  if (dev?.isClosing === true) throw Errors.closed();
}

/**
 * Calls `stop` with an AbortError once `signal` aborts, or with DEVICE_CLOSED once dev begins to
 * close (at once, before returning, if either has): what a file call waiting on the outside (a
 * turn, arena room, an open or a read that can wait for good) hears. Returns what unsubscribes.
 */
export function whenStopped(signal: AbortSignal | undefined, dev: DeviceCalls | null, stop: (e: unknown) => void): () => void {
  if (signal?.aborted) {
    stop(abortError(signal));
    return () => {};
  }
  let offClosing = (): void => {};
  let offAbort = (): void => {};
  const off = (): void => {
    offAbort();
    offClosing();
  };
  if (signal !== undefined) {
    offAbort = onAbort(signal, () => {
      off();
      stop(abortError(signal));
    });
  }
  if (dev !== null) {
    offClosing = onClosing(dev, () => {
      off();
      stop(Errors.closed());
    });
  }
  return off;
}

/** Resolves to `value` when its entry in `queue` is called; stopped first (whenStopped), takes the entry out and rejects. */
function queued<T>(queue: Array<() => void>, value: T, signal: AbortSignal | undefined, dev: DeviceCalls | null): Promise<T> {
  return new Promise((resolve, reject) => {
    const turn = (): void => {
      off();
      resolve(value);
    };
    queue.push(turn);
    const off = whenStopped(signal, dev, (e) => {
      const i = queue.indexOf(turn);
      if (i < 0) return; // (its turn came first)
      queue.splice(i, 1);
      reject(e);
    });
  });
}
