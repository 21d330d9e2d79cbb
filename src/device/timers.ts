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
