// Calls on memory no engine reaches (a plain Buffer: inline:not-shared), and the other large
// calls done on this thread, run here. Done in one go, a large one held the event loop for all of
// it: a 256 MiB crc32c of a plain Buffer 40 ms, a memcpy 16 ms, no timer or I/O served meanwhile,
// from a call that returns a promise. Such a call runs in slices instead, and gives the loop a
// turn every TURN_MS (or TURN_BYTES, whichever comes first), as the engines would have left it free.

/** Calls of fewer bytes are done in one go (about half a millisecond here). */
export const SLICED_MIN = 8 << 20;
/** Bytes per slice (a multiple of 8: a fill's pattern keeps its phase). */
const SLICE = 1 << 20;
/** A turn of the event loop at least this often... */
const TURN_MS = 1;
/** ...and at least every this many bytes (a slow machine and a fast one alike give turns). */
const TURN_BYTES = 8 << 20;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The pace of work done here a piece at a time: pace(bytes), after each piece, is a turn of the
 * event loop to await when TURN_MS or TURN_BYTES have passed since the last, else null.
 */
export function pacing(): (bytes: number) => Promise<void> | null {
  let since = performance.now();
  let bytes = 0;
  return (n) => {
    bytes += n;
    if (bytes < TURN_BYTES && performance.now() - since < TURN_MS) return null;
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
export async function inSlices(n: number, step: (a: number, b: number) => boolean | void, backwards = false): Promise<void> {
  const pace = pacing();
  const count = Math.ceil(n / SLICE);
  for (let k = 0; k < count; k++) {
    const i = backwards ? count - 1 - k : k;
    const a = i * SLICE;
    const b = Math.min(n, a + SLICE);
    if (step(a, b) === true) return;
    if (k + 1 < count) await pace(b - a);
  }
}
