// The piscina baseline: one task per operation, done the Node way over the device
// arena (a SharedArrayBuffer passed in workerData). What softdsa replaces.
import { workerData } from 'node:worker_threads';
import { bindNode, crc16Table, loadCrc, type Task } from './kernels.ts';

const { sab } = workerData as { sab: SharedArrayBuffer };
// (DIF: the per-block table CRC-16, as the main-thread baseline)
const crcs = { crc32c: loadCrc().crc32c, crc16: crc16Table };

// Views bound once per buffer set, as the main-thread baseline does.
const bound = new Map<string, () => number>();

export default function run(t: Task): number {
  const key = `${t.op} ${t.size} ${t.a} ${t.b} ${t.c} ${t.n}`;
  let f = bound.get(key);
  if (f === undefined) {
    if (bound.size > 100_000) bound.clear();
    bound.set(key, (f = bindNode(sab, t, crcs)));
  }
  return f();
}
