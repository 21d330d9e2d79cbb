// What the file and stream tests wait for after a call ends (aborted, failed): the device's
// arena back, within a moment. Buffers in flight are freed as their descriptors finish, and
// the device's one-time calibration, when it first finds itself idle, borrows ~40 KiB of the
// arena for a millisecond or two (a piece taken then can split the free space).
import type { Device } from '../src/index.ts';

/** Resolves once `bytes` of dev's arena can be taken in one piece; throws after ~2 s without. */
export async function arenaBack(dev: Device, bytes: number): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      dev.free(dev.buffer(bytes).byteOffset);
      return;
    } catch (e) {
      if (tries === 100) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
