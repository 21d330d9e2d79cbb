// The event loop's timers and clock as Node's own modules give them, taken once at load. The
// device's pacing, retries and waits must not read them off globalThis at each call: a program
// whose test runner fakes the global timers or clock (jest, vitest, sinon) had awaited calls
// stall and the process exit with work unsettled, and Device.open() never resolve. (The
// browser build swaps this module for browser/timers.ts.)
import { performance as perf } from 'node:perf_hooks';

export { clearImmediate, clearInterval, clearTimeout, setImmediate, setInterval, setTimeout } from 'node:timers';

/** performance.now(), bound at load (a faked performance.now is not this one). */
export const performance: { now(): number } = { now: perf.now.bind(perf) };
