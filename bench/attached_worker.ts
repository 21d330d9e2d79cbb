// A worker of bench/attached.bench.ts: on a device of its own ('own') or a part lent to it
// ('lent'), 8 arena buffers; says 'ready', then on 'go' runs `calls` crc32c of them, 8 in flight.
import { parentPort, workerData } from 'node:worker_threads';
import { Device } from '../src/index.ts';

const { mode, handle, size, calls } = workerData as { mode: 'own' | 'lent'; handle: Parameters<typeof Device.attach>[0]; size: number; calls: number };

async function main(): Promise<void> {
  const dev = mode === 'lent' ? Device.attach(handle) : await Device.open();
  const bufs = Array.from({ length: 8 }, () => dev.buffer(size).fill(1));
  await Promise.all(bufs.map((b) => dev.crc32c(b))); // (warm)
  parentPort!.once('message', async () => {
    let next = 0;
    const lane = async (b: Buffer): Promise<void> => {
      while (next < calls) {
        next++;
        await dev.crc32c(b);
      }
    };
    await Promise.all(bufs.map(lane));
    parentPort!.postMessage({ threads: 0 });
  });
  parentPort!.postMessage('ready');
}
void main();
