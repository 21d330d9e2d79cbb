// An engine, as a Web Worker: the same engine loop as Node's (workers/engine.ts), started by
// messages instead of a piscina task (see pool.ts for the lock handshake). In a worker,
// Atomics.wait is allowed: an idle engine parks on its bell as it does in Node.
import { setWorkerData } from './host.ts';
import type { FromEngine, ToEngine } from './pool.ts';

const post = (m: FromEngine): void => (globalThis as unknown as Worker).postMessage(m);
let start: ((task: { id: number; warm: boolean; spaces: MessagePort }) => unknown) | null = null;

globalThis.onmessage = async (ev: MessageEvent<ToEngine>) => {
  const m = ev.data;
  if (m.type === 'init') {
    setWorkerData(m.data); // before the engine module runs: it reads its data as it loads
    start = (await import('../../workers/engine.ts')).default as unknown as typeof start;
    void navigator.locks.request(m.lock, () => {
      post({ type: 'locked' });
      return new Promise<never>(() => {}); // held for the worker's life
    });
  } else {
    start!({ id: m.id, warm: m.warm, spaces: m.spaces });
    post({ type: 'started' });
  }
};
