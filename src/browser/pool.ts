// The engine threads, a browser's side: one Web Worker per engine (the browser build puts
// this module in place of src/device/pool_node.ts; the supervisor, engines.ts, is the same).
//
// A worker gives no sign when it ends (terminated, or crashed): each engine worker holds a Web
// Lock of its own for its whole life, and the supervisor queues a request for the same lock.
// It is granted when the worker has gone, and only then: the supervisor finishes what the
// engine held (0x20) knowing no thread still runs it. To keep that true, an engine's loop
// starts only once the supervisor knows the worker holds its lock ('locked', then 'go').
import type { EngineData } from '../../workers/engine.ts';
import { checkEngineScript, loadCore } from './host.ts';
import type { SpacePort } from '../device/pool_node.ts';

export type { SpacePort } from '../device/pool_node.ts';

/** From the page to an engine worker. */
export type ToEngine =
  | { type: 'init'; data: EngineData; lock: string }
  | { type: 'go'; id: number; warm: boolean; spaces: MessagePort };
/** From an engine worker to the page. */
export type FromEngine = { type: 'locked' } | { type: 'started' };

let devices = 0;

/** How long an engine worker may take to load before its start counts as failed (a script that never comes). */
const LOAD_MS = 15_000;

const engineScript = (): URL => new URL('./engine.js', import.meta.url);

export class EnginePool {
  readonly #data: EngineData;
  readonly #died: (engine: number, error: unknown) => void;
  readonly #workers: Array<Worker | null>;
  /** per engine: resolves once its current worker has gone */
  readonly #gone: Array<Promise<void>>;
  readonly #name = `softdsa:${Date.now().toString(36)}:${++devices}:${Math.random().toString(36).slice(2)}`;
  #launches = 0;

  constructor(data: EngineData, died: (engine: number, error: unknown) => void) {
    this.#data = data;
    this.#died = died;
    this.#workers = new Array<Worker | null>(data.layout.engineCount).fill(null);
    this.#gone = new Array<Promise<void>>(data.layout.engineCount).fill(Promise.resolve());
  }

  /** Fetches and compiles the Wasm core (beside this module), which the workers are sent; checks the workers' script is there to load. */
  async load(): Promise<void> {
    await Promise.all([loadCore(), checkEngineScript(engineScript())]);
  }

  launch(e: number, warm: boolean): { started: Promise<void>; spaces: SpacePort } {
    const lock = `${this.#name}:${e}:${++this.#launches}`;
    const worker = new Worker(engineScript(), { type: 'module', name: `softdsa engine ${e}` });
    this.#workers[e] = worker;
    const { port1, port2 } = new MessageChannel();
    let state: 'loading' | 'locked' | 'dead' = 'loading';
    let error: unknown;
    let started!: { resolve: () => void; reject: (e: unknown) => void };
    const start = new Promise<void>((resolve, reject) => {
      started = { resolve, reject };
    });
    // (its script, or a module it imports, that never comes: the start fails, and is tried again)
    const late = setTimeout(() => {
      if (state !== 'loading') return;
      error = new Error(`engine ${e}'s worker did not load in ${LOAD_MS / 1000} s`);
      worker.terminate();
      ended();
    }, LOAD_MS);
    const ended = (): void => {
      clearTimeout(late);
      if (state === 'dead') return;
      state = 'dead';
      if (this.#workers[e] === worker) this.#workers[e] = null;
      started.reject(error ?? new Error(`engine ${e}'s worker ended`));
      this.#died(e, error);
    };
    worker.onmessage = (ev: MessageEvent<FromEngine>) => {
      if (state === 'dead') return;
      if (ev.data.type === 'locked') {
        clearTimeout(late);
        state = 'locked';
        // Granted once the worker has gone, whatever ended it.
        this.#gone[e] = navigator.locks.request(lock, () => {}).then(ended);
        const go: ToEngine = { type: 'go', id: e, warm, spaces: port2 };
        worker.postMessage(go, [port2]);
      } else if (ev.data.type === 'started') {
        started.resolve();
      }
    };
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      error = new Error(ev.message || `engine ${e}'s worker failed to load`);
      worker.terminate();
      // Before 'locked' it never ran the loop: it is over now. After, its lock says when.
      if (state === 'loading') ended();
    };
    const init: ToEngine = { type: 'init', data: this.#data, lock };
    worker.postMessage(init);
    return { started: start, spaces: port1 };
  }

  /** Terminates every worker; resolves once they have all gone. */
  async destroy(): Promise<void> {
    for (const w of this.#workers) w?.terminate();
    await Promise.all(this.#gone);
  }
}
