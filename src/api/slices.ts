// Calls on memory no engine reaches (a plain Buffer: inline:not-shared), and the other large
// calls done on this thread, run here. Done in one go, a large one held the event loop for all of
// it: a 256 MiB crc32c of a plain Buffer 40 ms, a memcpy 16 ms, no timer or I/O served meanwhile,
// from a call that returns a promise. Such a call runs in slices instead, and gives the loop a
// turn every TURN_MS (or TURN_BYTES, whichever comes first), as the engines would have left it free.
import { performance, setImmediate } from '../device/timers.ts';

/** Calls of fewer bytes are done in one go (about half a millisecond here). */
const SLICED_MIN = 8 << 20;
/** Bytes per slice (a multiple of 8: a fill's pattern keeps its phase). */
export const SLICE = 1 << 20;
/** A turn of the event loop at least this often... */
const TURN_MS = 1;
/** ...and at least every this many bytes (a slow machine and a fast one alike give turns). */
const TURN_BYTES = 8 << 20;

/**
 * While the engines start, their start's steps run one a turn, some milliseconds each: only a
 * long call is sliced then, and turns this seldom, so that a first call of a few milliseconds is
 * not spread over those steps, nor cut where the core's kernels lose speed (a first 16 MiB call
 * took 4 times as long; in slices, 1.5 times: the core's CRC folds several streams from 2 MiB and
 * its copy bypasses the cache from 8 MiB, for data a first call meets in memory), while the loop
 * (and the start) still gets a turn now and then (a 64 MiB memcpy of new memory held it 200 ms).
 */
const BOOT_SLICED_MIN = 64 << 20;
const BOOT_TURN_MS = 8;

/** Whether a call of n bytes done here is sliced (`booting`: while the engines start). */
export const isSliced = (n: number, booting = false): boolean => n >= (booting ? BOOT_SLICED_MIN : SLICED_MIN);

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A pace (pacing()): after each piece of `bytes`, a turn of the event loop to await, or null. */
export type Pace = (bytes: number) => Promise<void> | null;

/**
 * The pace of work done here a piece at a time: pace(bytes), after each piece, is a turn of the
 * event loop to await when TURN_MS or TURN_BYTES have passed since the last (BOOT_TURN_MS while
 * the engines start), else null.
 */
export function pacing(booting = false): Pace {
  const everyMs = booting ? BOOT_TURN_MS : TURN_MS;
  const everyBytes = booting ? Infinity : TURN_BYTES;
  let since = performance.now();
  let bytes = 0;
  return (n) => {
    bytes += n;
    if (bytes < everyBytes && performance.now() - since < everyMs) return null;
    return turn().then(() => {
      since = performance.now();
      bytes = 0;
    });
  };
}

/**
 * Runs `step` over [0, n) a slice at a time, each slice [a, b) in order (from the end when
 * `backwards`: an overlapping copy to a higher address), with turns of the event loop between
 * them; stops early when a step returns true. Rejects with what a step throws.
 */
export async function inSlices(n: number, step: (a: number, b: number) => boolean | void, backwards = false, booting = false): Promise<void> {
  const pace = pacing(booting);
  const count = Math.ceil(n / SLICE);
  for (let k = 0; k < count; k++) {
    const i = backwards ? count - 1 - k : k;
    const a = i * SLICE;
    const b = Math.min(n, a + SLICE);
    if (step(a, b) === true) return;
    if (k + 1 < count) await pace(b - a);
  }
}
