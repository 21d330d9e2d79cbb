// The engines' supervisor: one piscina pool of one thread per engine.
//
// A pool per engine lets a dead engine be started again on its own fresh thread (a
// shared pool would hand the restart to a thread another engine's loop occupies).
// The start task returns at once and the engine loop runs on in the worker, so no task
// is pending and an idle device never keeps the process alive. When an engine dies (its
// thread exits or throws), the supervisor finishes what it held, status 0x20 (hardware
// error) written to the completion record where the descriptor asked for one, then
// starts it again: every descriptor completes exactly once.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { MAX_SPACES, type SpaceMessage } from './foreign.ts';
import { Vectors } from './completion.ts';
import { EngineStates } from './engine_states.ts';
import { Desc, Flag, Record, Status } from './format.ts';
import { Dev, DIE_AFTER, DIE_THROW, Eng, ENGINE_BYTES, EngineState, type Layout, WqWord } from './layout.ts';
import { sourceExt } from './paths.ts';
import { writeRecord } from './record.ts';
import { WorkQueue } from './work_queue.ts';
import type { EngineData, EngineTask } from '../workers/engine.ts';

export interface EngineFailure {
  engine: number;
  /** descriptors the engine held, completed with status 0x20 */
  finished: number;
  time: number;
}

export class Engines {
  readonly count: number;
  readonly failures: EngineFailure[] = [];
  readonly #pools: Piscina[];
  readonly #wq: WorkQueue;
  readonly #states: EngineStates;
  readonly #vectors: Vectors;
  readonly #mem: Uint8Array;
  readonly #dev: Int32Array;
  readonly #layout: Layout;
  /** each engine's end of its address-space channel (new at every launch) */
  readonly #ports: Array<MessagePort | null>;
  /** foreign address spaces: PASID - 1 -> buffer */
  readonly #spaces: SharedArrayBuffer[] = [];
  readonly #spaceIds = new Map<SharedArrayBuffer, number>();
  #stopping = false;

  constructor(data: EngineData, vectors: Vectors) {
    const { memory, layout } = data;
    const count = layout.engineCount;
    this.count = count;
    this.#layout = layout;
    this.#wq = new WorkQueue(memory, layout);
    this.#states = new EngineStates(memory, layout);
    this.#vectors = vectors;
    this.#mem = new Uint8Array(memory.buffer as unknown as SharedArrayBuffer);
    this.#dev = new Int32Array(memory.buffer as unknown as SharedArrayBuffer, layout.device, 16);
    this.#ports = new Array<MessagePort | null>(count).fill(null);
    const filename = new URL(`../workers/engine${sourceExt}`, import.meta.url).href;
    this.#pools = Array.from({ length: count }, (_, e) => {
      const pool = new Piscina({
        filename,
        workerData: data,
        minThreads: 1,
        maxThreads: 1,
        idleTimeout: Infinity,
        // 'disabled': between tasks the worker returns to its event loop, where the
        // engine loop then runs ('sync' would hold it in Atomics.wait for the next task).
        atomics: 'disabled',
        recordTiming: false,
      });
      pool.on('error', () => {}); // a dying worker: handled by 'workerDestroy'
      // Deferred: piscina emits this before it has dropped the dead thread from the pool.
      pool.on('workerDestroy', () => setImmediate(() => this.#died(e)));
      return pool;
    });
  }

  start(): void {
    for (let e = 0; e < this.count; e++) this.#launch(e);
  }

  #launch(e: number): void {
    if (this.#stopping) return;
    this.#states.set(e, EngineState.RUNNING);
    const { port1, port2 } = new MessageChannel();
    port1.unref();
    this.#ports[e]?.close();
    this.#ports[e] = port1;
    this.#spaces.forEach((buffer, i) => port1.postMessage({ id: i + 1, buffer } satisfies SpaceMessage));
    const task: EngineTask = { id: e, spaces: port2 };
    // A start that fails means the thread died before running it: 'workerDestroy' follows.
    this.#pools[e].run(task, { transferList: [port2] }).catch(() => {});
  }

  /**
   * The PASID of a foreign address space (registered on first use, posted to every
   * engine before any descriptor can name it), or -1 when all PASIDs are taken.
   */
  space(buffer: SharedArrayBuffer): number {
    let id = this.#spaceIds.get(buffer);
    if (id !== undefined) return id;
    if (this.#spaces.length >= MAX_SPACES) return -1;
    this.#spaces.push(buffer);
    id = this.#spaces.length;
    this.#spaceIds.set(buffer, id);
    for (const port of this.#ports) port?.postMessage({ id, buffer } satisfies SpaceMessage);
    return id;
  }

  /**
   * Test hook: engine e dies (thread exit, or a throw) on its n-th claim from now, before
   * running that descriptor or after running it (but before completing it).
   */
  dieAt(engine: number, claims: number, how: 'exit' | 'throw', when: 'before' | 'after' = 'before'): void {
    Atomics.store(this.#block(engine), Eng.DIE_AT / 4, (claims & 0xffff) | (how === 'throw' ? DIE_THROW : 0) | (when === 'after' ? DIE_AFTER : 0));
  }

  #block(e: number): Int32Array {
    return new Int32Array(this.#mem.buffer, this.#layout.engines + e * ENGINE_BYTES, ENGINE_BYTES / 4);
  }

  /** Descriptors the engines completed (those a dead engine held are counted in failures). */
  get completed(): number {
    let n = 0;
    for (let e = 0; e < this.count; e++) n += Atomics.load(this.#block(e), Eng.COMPLETED / 4);
    return n;
  }

  #died(e: number): void {
    if (this.#stopping) return;
    this.#recover(e);
    this.#launch(e);
  }

  /** Finishes, with status 0x20, every descriptor the dead engine e held. */
  #recover(e: number): void {
    const held = this.#wq.claimedBy(e);
    const { arenaBase, arenaEnd } = this.#layout;
    for (const pos of held) {
      const d = this.#wq.descriptor(pos);
      const dv = new DataView(d.buffer, d.byteOffset, Desc.SIZE);
      const flags = dv.getUint32(Desc.FLAGS, true) & 0xffffff;
      const rec = dv.getBigUint64(Desc.COMPLETION, true);
      if ((flags & Flag.CRAV) !== 0 && rec % BigInt(Record.ALIGN) === 0n && rec >= BigInt(arenaBase) && rec + 32n <= BigInt(arenaEnd)) {
        writeRecord(this.#mem, Number(rec), Status.HW_ERROR);
      }
      const vector = this.#wq.vectorOf(pos);
      this.#wq.complete(pos, Status.HW_ERROR);
      this.#vectors.signal(vector);
    }
    this.#states.takeIrq(e);
    this.#states.set(e, EngineState.OFF);
    Atomics.compareExchange(this.#wq.words, WqWord.SPINNER, e + 1, 0);
    this.failures.push({ engine: e, finished: held.length, time: Date.now() });
  }

  /** Lets the engines finish the queue, waits for their loops to end, then stops the pools. */
  async stop(): Promise<void> {
    Atomics.store(this.#dev, Dev.STOP, 1);
    Atomics.add(this.#wq.words, WqWord.DOORBELL, 1);
    Atomics.notify(this.#wq.words, WqWord.DOORBELL);
    for (let waited = 0; waited < 10000; waited++) {
      let running = 0;
      for (let e = 0; e < this.count; e++) if (this.#states.get(e) !== EngineState.OFF) running++;
      if (running === 0) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    this.#stopping = true;
    for (const port of this.#ports) port?.close();
    await Promise.all(this.#pools.map((p) => p.destroy()));
  }
}
