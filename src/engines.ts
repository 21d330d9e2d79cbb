// The engines' supervisor: a piscina pool with one long task per waking engine.
//
// It launches an engine task per engine, relaunches engines that fell asleep when work
// arrives, and when an engine dies (its thread exits, or its task throws) it finishes
// what the engine held (status 0x20, hardware error, written to the completion record
// where the descriptor asked for one) before starting it again, so that every
// descriptor completes exactly once.
import { Piscina } from 'piscina';
import { Vectors } from './completion.ts';
import { EngineStates } from './engine_states.ts';
import { Desc, Flag, Record, Status } from './format.ts';
import { Dev, DIE_THROW, Eng, ENGINE_BYTES, EngineState, type Layout, WqWord } from './layout.ts';
import { sourceExt } from './paths.ts';
import { writeRecord } from './record.ts';
import { WorkQueue } from './work_queue.ts';
import type { EngineData, EngineTask } from '../workers/engine.ts';

type Phase = 'running' | 'asleep' | 'stopped';

export interface EngineFailure {
  engine: number;
  error: Error;
  /** descriptors the engine held, completed with status 0x20 */
  finished: number;
  time: number;
}

export class Engines {
  readonly count: number;
  readonly failures: EngineFailure[] = [];
  readonly #pool: Piscina;
  readonly #phase: Phase[];
  readonly #tasks: Array<Promise<void> | null>;
  readonly #wq: WorkQueue;
  readonly #states: EngineStates;
  readonly #vectors: Vectors;
  readonly #mem: Uint8Array;
  readonly #dev: Int32Array;
  readonly #layout: Layout;
  #stopping = false;

  constructor(count: number, data: EngineData, vectors: Vectors) {
    this.count = count;
    const { memory, layout } = data;
    this.#layout = layout;
    this.#wq = new WorkQueue(memory, layout);
    this.#states = new EngineStates(memory, layout);
    this.#vectors = vectors;
    this.#mem = new Uint8Array(memory.buffer as unknown as SharedArrayBuffer);
    this.#dev = new Int32Array(memory.buffer as unknown as SharedArrayBuffer, layout.device, 16);
    Atomics.store(this.#dev, Dev.ENGINES, count);
    this.#phase = new Array<Phase>(count).fill('stopped');
    this.#tasks = new Array<Promise<void> | null>(count).fill(null);
    this.#pool = new Piscina({
      filename: new URL(`../workers/engine${sourceExt}`, import.meta.url).href,
      workerData: data,
      minThreads: count,
      maxThreads: count,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      recordTiming: false,
    });
    // A dying worker also rejects its task, handled in #launch; this keeps the pool's
    // 'error' event from becoming an uncaught exception.
    this.#pool.on('error', () => {});
  }

  start(): void {
    for (let e = 0; e < this.count; e++) this.#launch(e);
  }

  /** Relaunches engines that fell asleep (work arrived). */
  wake(): void {
    for (let e = 0; e < this.count; e++) if (this.#phase[e] === 'asleep') this.#launch(e);
  }

  /** Test hook: engine e dies (thread exit, or a throw) on its n-th claim from now. */
  dieAt(engine: number, claims: number, how: 'exit' | 'throw'): void {
    const w = new Int32Array(this.#mem.buffer, this.#layout.engines + engine * ENGINE_BYTES, 4);
    Atomics.store(w, Eng.DIE_AT / 4, (claims & 0xffff) | (how === 'throw' ? DIE_THROW : 0));
  }

  #launch(e: number): void {
    if (this.#stopping) return;
    this.#phase[e] = 'running';
    const task: EngineTask = { id: e };
    this.#tasks[e] = this.#pool.run(task).then(
      (result: 'asleep' | 'stopped') => {
        this.#phase[e] = result;
        // Work that arrived while the task was on its way back relaunches it.
        if (result === 'asleep' && this.#wq.hasWork()) this.#launch(e);
      },
      (error: Error) => {
        this.#phase[e] = 'stopped';
        this.#recover(e, error);
        this.#launch(e);
      },
    );
  }

  /** Finishes, with status 0x20, every descriptor the dead engine e held. */
  #recover(e: number, error: Error): void {
    const held = this.#wq.claimedBy(e);
    for (const pos of held) {
      const d = this.#wq.descriptor(pos);
      const dv = new DataView(d.buffer, d.byteOffset, Desc.SIZE);
      const flags = dv.getUint32(Desc.FLAGS, true) & 0xffffff;
      const rec = dv.getBigUint64(Desc.COMPLETION, true);
      const { arenaBase, arenaEnd } = this.#layout;
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
    this.failures.push({ engine: e, error, finished: held.length, time: Date.now() });
  }

  /** Lets the engines finish the queue, then stops them and the pool. */
  async stop(): Promise<void> {
    Atomics.store(this.#dev, Dev.STOP, 1);
    Atomics.add(this.#wq.words, WqWord.DOORBELL, 1);
    Atomics.notify(this.#wq.words, WqWord.DOORBELL);
    // Tasks may relaunch themselves (recovery) while we wait: loop until all are stopped.
    for (;;) {
      const pending = this.#tasks.filter((t): t is Promise<void> => t !== null);
      await Promise.all(pending);
      if (this.#phase.every((p) => p !== 'running')) break;
    }
    this.#stopping = true;
    await this.#pool.destroy();
  }

  get phases(): readonly Phase[] {
    return this.#phase;
  }
}
