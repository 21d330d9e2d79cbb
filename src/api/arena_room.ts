// Arena room for the API's own buffers (the file calls' chunks). They may
// not take the last of the arena: every call needs a little of it for its descriptor and
// completion record (the batcher's blocks), and calls failed for want of it when such buffers
// had taken it all (a dozen copyFileCrc32c at once; a stream on a small arena, when streams staged).
import type { DeviceCalls } from './calls.ts';

/** Arena such buffers leave free: 4 MiB, at most a 16th of the arena. */
export const reserveOf = (dev: DeviceCalls): number => Math.min(4 << 20, dev.arenaBytes >>> 4);

/** An arena Buffer of `size` bytes if, with it taken, the reserve is still free in one piece; else null. */
export function bufferLeavingRoom(dev: DeviceCalls, size: number): Buffer | null {
  let buf: Buffer;
  try {
    buf = dev.buffer(size);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
  try {
    dev.free(dev.alloc(reserveOf(dev)));
  } catch (e) {
    dev.free(buf.byteOffset);
    if (e instanceof RangeError) return null;
    throw e;
  }
  return buf;
}
