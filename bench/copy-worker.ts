// Baseline: the naive way to move a copy off the main thread, one piscina task per
// 4 KiB copy between two views of a SharedArrayBuffer (what softdsa replaces).
import { workerData } from 'node:worker_threads';

const { sab, size } = workerData as { sab: SharedArrayBuffer; size: number };
const src = new Uint8Array(sab, 0, size);
const dst = new Uint8Array(sab, size, size);

export default function copy(): number {
  dst.set(src);
  return dst[size - 1];
}
