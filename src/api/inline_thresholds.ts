// Where a high-level call runs: here on the calling thread, or handed to the device. Below
// its kind's threshold a call costs this thread less done here than handed off. The
// thresholds are measured once per thread (ops.ts calibrate); this module turns what was
// measured into bytes, and bounds them: one measurement taken during a moment of preemption
// (a VM's stolen time, a GC pause) must not put megabyte calls on this thread for good.

/** Bytes an operation must reach before handing it off (or splitting it) pays, per kind. */
export interface Thresholds {
  copy: number;
  compare: number;
  crc: number;
}

/**
 * Stand-ins until this thread has measured (bytes per ms, and ms): 64 KiB copies, compares
 * and CRCs on this project's machine kind (AMD EPYC, 2 vCPUs), and a hand-off of ~1 us.
 */
export const STAND_IN: { rates: Thresholds; handoffMs: number } = { rates: { copy: 20e6, compare: 30e6, crc: 10e6 }, handoffMs: 0.001 };

/**
 * The most a measured threshold gives (a number the caller sets is taken as it is): 128 KiB,
 * 4-10x what this machine kind measures (a CRC's 13 KiB, a copy's 35 KiB), 7-13 us of work.
 * Uncapped, a hand-off measured at 0.3 ms (64 no-ops around one 20 ms preemption) would put
 * every CRC under 3 MiB on the caller's thread, out of fault rules' sight: the likeliest cause
 * of a CI failure in files.test.ts (a 3 MiB copy's CRC that a rule should have failed).
 */
export const MAX_INLINE = 128 << 10;

/**
 * A parked engine's wake-up, in hand-offs: the hand-off with calls in flight measures ~1-5 us
 * here, a wake-up 20-90 us (README, "A wake is expensive here"); 8 keeps what runs here short
 * (a fifth of a wake-up at most in the worst case), and still takes 28 KiB CRCs off the device.
 */
export const WAKE_OVER_HANDOFF = 8;

/** The most a call done here rather than waking an engine may be: 256 KiB, about one wake-up's time of CRC. */
export const MAX_ASLEEP_INLINE = 256 << 10;

/**
 * Inline thresholds: the bytes this thread processes in the time it spends handing one
 * call to the device (encoding, batching, the promise and its resolution), at most MAX_INLINE.
 */
export function thresholds(rates: Thresholds, handoffMs: number): Thresholds {
  const bytes = (rate: number): number => Math.min(MAX_INLINE, Math.round(rate * handoffMs));
  return { copy: bytes(rates.copy), compare: bytes(rates.compare), crc: bytes(rates.crc) };
}

/** Below this many bytes a call is done here when every engine is asleep (see Ops #asleepInline). */
export function asleepLimit(threshold: number): number {
  return Math.min(MAX_ASLEEP_INLINE, threshold * WAKE_OVER_HANDOFF);
}
