// The event loop's timers and clock as Node's own modules give them, taken once at load. The
// device's pacing, retries and waits must not read them off globalThis at each call: a program
// whose test runner fakes the global timers or clock (jest, vitest, sinon) had awaited calls
// stall and the process exit with work unsettled, and Device.open() never resolve. (Fakes
// installed before softdsa loads are what it takes, as any module would. The browser build
// swaps this module for browser/timers.ts.)
import { performance as perf } from 'node:perf_hooks';
import * as timers from 'node:timers';

// (values, not re-exports: a bundle's `require('node:timers').setTimeout` read at each call, and
// a re-export's live binding, both met the fakes of a runner that patches node:timers too, as
// @sinonjs/fake-timers 15 does)
export const clearImmediate = timers.clearImmediate;
export const clearInterval = timers.clearInterval;
export const clearTimeout = timers.clearTimeout;
export const setImmediate = timers.setImmediate;
export const setInterval = timers.setInterval;
export const setTimeout = timers.setTimeout;

/** performance.now(), bound at load (a faked performance.now is not this one). */
export const performance: { now(): number } = { now: perf.now.bind(perf) };

const noop = (): void => {};

/** MessageChannel, taken at load as the timers are. */
const Channel = MessageChannel;

/** The unref'd channel whose messages wake the event loop for backgroundTurn() (made at first use). */
let wakePort: { postMessage(m: null): void } | null = null;

/**
 * Runs fn on a later turn of the event loop, as setImmediate does, but holds no program that has
 * ended: work nobody waits for (the default device's engines starting, a measurement) stops with
 * the program, rather than keep it up (a program whose last line came 60 ms after its first call
 * ended 25-60 ms late: the engines' start, a piece a turn, held it). The immediate is unref'd,
 * and a message on an unref'd port wakes the loop's poll for it, which does not count an unref'd
 * immediate and would wait for the next event (a test awaiting Device.open() hung there for good).
 * (The message only wakes: run from it, steps that each post the next all ran in one turn, as a
 * port takes every message queued meanwhile: the loop held 31 ms.)
 */
export function backgroundTurn(fn: () => void): void {
  setImmediate(fn).unref(); // (Node's own, taken at load: not timers.setImmediate, which fakes patch)
  if (wakePort === null) {
    const { port1, port2 } = new Channel();
    port1.onmessage = noop;
    (port1 as unknown as { unref(): void }).unref();
    (port2 as unknown as { unref(): void }).unref();
    wakePort = port2;
  }
  wakePort.postMessage(null);
}
