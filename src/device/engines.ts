// The engines' supervisor: one thread per engine (pool_node.ts: piscina; in a browser,
// src/browser/pool.ts: Web Workers). When an engine dies (its
// thread exits or throws), the supervisor finishes what it held, status 0x20 (hardware
// error) written to the completion record where the descriptor asked for one, then
// starts it again: every descriptor completes exactly once.
import type { SpaceMessage } from './foreign.ts';
import { AddressSpaces } from './spaces.ts';
import { Vectors } from './completion.ts';
import { EngineStates } from './engine_states.ts';
import { Status } from './format.ts';
import { Dev, Eng, ENGINE_BYTES, EngineState, type Layout, layoutDigest, Stop, WqWord } from './layout.ts';
import { coreModule } from './core.ts';
import { Errors } from './errors.ts';
import { warn } from './host.ts';
import { EnginePool, type SpacePort } from './pool_node.ts';
import { Unrun } from './unrun.ts';
import { WorkQueue } from './work_queue.ts';
import type { EngineData } from '../../workers/engine.ts';
import { backgroundTurn, clearTimeout, performance, setTimeout } from './timers.ts';

export interface EngineFailure {
  engine: number;
  /** descriptors the engine held, completed with status 0x20 */
  finished: number;
  time: number;
}

export class Engines {
  readonly count: number;
  readonly failures: EngineFailure[] = [];
  readonly #pool: EnginePool;
  /** every WQ of the device, and what finishes their unrun descriptors */
  readonly #wqs: WorkQueue[];
  readonly #unrun: Unrun[];
  readonly #states: EngineStates;
  readonly #vectors: Vectors;
  readonly #mem: Uint8Array;
  readonly #dev: Int32Array;
  readonly #layout: Layout;
  /** each engine's end of its address-space channel (new at every launch) */
  readonly #ports: Array<SpacePort | null>;
  /** the other SharedArrayBuffers engines reach, by PASID */
  readonly spaces = new AddressSpaces((m) => {
    for (const port of this.#ports) port?.postMessage(m satisfies SpaceMessage);
  });
  #stopping = false;
  /** each engine has been launched once (its first launch warms its kernels) */
  readonly #launched: boolean[];
  /** each engine's first successful start */
  readonly #up: Array<() => void> = [];
  /** consecutive deaths of each engine before it booted, and the last error its pool reported */
  readonly #bootFailures: number[];
  readonly #data: EngineData;
  readonly #ready: Promise<void>;
  #resolveReady: () => void = () => {};
  #rejectReady: (e: unknown) => void = () => {};

  constructor(data: EngineData, vectors: Vectors) {
    const { memory, layout } = data;
    const count = layout.engineCount;
    this.count = count;
    this.#layout = layout;
    this.#wqs = WorkQueue.all(memory, layout);
    this.#states = new EngineStates(memory, layout);
    this.#vectors = vectors;
    this.#unrun = this.#wqs.map((wq) => new Unrun(wq, vectors, memory, layout));
    this.#mem = new Uint8Array(memory.buffer as unknown as SharedArrayBuffer);
    this.#dev = new Int32Array(memory.buffer as unknown as SharedArrayBuffer, layout.device, 16);
    Atomics.store(this.#dev, Dev.LAYOUT, layoutDigest(layout)); // (what an attaching thread's handle is checked against)
    this.#ports = new Array<SpacePort | null>(count).fill(null);
    this.#bootFailures = new Array<number>(count).fill(0);
    this.#launched = new Array<boolean>(count).fill(false);
    // (filled, not holes: a hole reads Array.prototype[e], which a program may have set)
    this.#holding = new Array<ReturnType<typeof setTimeout> | undefined>(count).fill(undefined);
    this.#startError = new Array<unknown>(count).fill(undefined);
    this.#data = data;
    this.#pool = new EnginePool(data, (e, error) => this.#died(e, error));
    const up = Array.from({ length: count }, (_, e) => new Promise<void>((resolve) => (this.#up[e] = resolve)));
    this.#ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.#ready.catch(() => {}); // (said to whoever asks ready(); a device nobody asks still works, inline)
    void Promise.all(up).then(() => {
      this.#booted = true;
      this.#resolveReady();
    });
  }

  /**
   * The engines cannot start: what they need did not load, or an engine failed to start 3 times
   * in a row (its module cannot load, a browser refuses a worker from another origin). ready()
   * rejects with why (open() then fails), and close() stops waiting for work only engines could
   * do (it aborts it). Starts are still tried every 2 s, calls run inline meanwhile.
   */
  #cannotStart(error: unknown): void {
    const why = error instanceof Error ? error.message : String(error ?? 'its thread exited');
    const e = Errors.engineStart(why);
    if (error instanceof Error) e.cause = error;
    this.#rejectReady(e);
  }

  /** Resolves when the engines cannot start, that is when ready() rejects (close() stops waiting for what only they would do). */
  cannotStart(): Promise<void> {
    return this.#ready.then(() => new Promise<void>(() => {}), () => {});
  }

  /**
   * Starts the engines, one step per turn of the event loop: loading piscina (10-15 ms here),
   * compiling the core (3 ms) and starting each thread (3-5 ms: piscina's pool and its Worker).
   * The default device starts them while a program runs, 50 ms after its first call: taken in one
   * turn, they held its event loop 23-30 ms (a timer due then, or the program's next call, waited
   * for all of it). No caller waits for them: calls run inline until the engines are ready.
   * Started at open instead, all at once, the threads' boot competed with the caller's first
   * calls for the cores and was no sooner done.
   */
  start(): void {
    const halted = (): boolean => this.#stopping || Atomics.load(this.#dev, Dev.STOP) !== Stop.RUNNING;
    const stopped = (): boolean => {
      if (!halted()) return false;
      this.#resolveReady();
      return true;
    };
    const next = (e: number): void => {
      if (stopped()) return;
      this.#launch(e);
      if (e + 1 < this.count) backgroundTurn(() => next(e + 1));
    };
    const compile = (): void => {
      if (stopped()) return;
      this.#data.module = coreModule(); // compiled once per process
      backgroundTurn(() => next(0));
    };
    // What the threads need is loaded now, not when softdsa is imported (the pool's load()).
    // (Resolving even a dynamic import is synchronous work: it starts on the next turn too.)
    // A device closed meanwhile stops the loading too: a test runner that tears a file's modules
    // down after its afterAll(shutdown) refused the requires still to come, and failed the run.
    // Each step in a background turn: a program that has ended exits rather than wait for engines
    // it will not use (who waits for them, ready() or a descriptor in flight, holds the process).
    backgroundTurn(() => {
      if (stopped()) return;
      void this.#pool.load(halted).then(() => backgroundTurn(compile), (err: unknown) => this.#cannotStart(err));
    });
  }

  #launch(e: number): void {
    if (this.#stopping) return;
    this.#states.set(e, EngineState.BOOTING);
    let launched: ReturnType<EnginePool['launch']>;
    try {
      launched = this.#pool.launch(e, !this.#launched[e]);
    } catch (err) {
      // (no thread made at all: as one that died booting)
      setTimeout(() => this.#died(e, err), 0);
      return;
    }
    this.#launched[e] = true;
    const { started: run, spaces } = launched;
    this.#ports[e]?.close();
    this.#ports[e] = spaces;
    for (const m of this.spaces.current()) spaces.postMessage(m);
    // A start that fails means the thread died before running it, or ends now (the engine ends
    // a thread whose start threw): the pool's `died` follows. Until it does, the process is held:
    // nothing else may be (a program awaiting open() ended there, its await unsettled).
    run.then(
      () => {
        this.#bootFailures[e] = 0;
        this.#up[e]();
      },
      (err: unknown) => {
        this.#startError[e] = err;
        if (this.#holding[e] !== undefined) return;
        const hold = setTimeout(() => (this.#holding[e] = undefined), 5000);
        // (once three starts failed, ready() has had its answer: the retries every 2 s hold nothing,
        // or a program whose engines cannot start exited 5 s late, or, retried so, never)
        if (this.#bootFailures[e] >= 3) hold.unref();
        this.#holding[e] = hold;
      },
    );
  }

  /** per engine: what holds the process between a failed start and its thread's death being seen, and why the start failed */
  readonly #holding: Array<ReturnType<typeof setTimeout> | undefined>;
  readonly #startError: unknown[];

  /** Resolves once every engine has booted, or the device stopped first; rejects when they cannot start (#cannotStart). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Every engine booted once (ready() resolved for that, not because the device stopped first). */
  get booted(): boolean {
    return this.#booted;
  }

  #booted = false;

  /** True when a work queue holds descriptors no engine has taken. */
  queued(): boolean {
    return this.#wqs.some((wq) => wq.hasWork());
  }

  /** True when every engine is booted now (a synchronous look at their state words). */
  get isReady(): boolean {
    return this.#states.ready();
  }

  #block(e: number): Int32Array {
    return new Int32Array(this.#mem.buffer, this.#layout.engines + e * ENGINE_BYTES, ENGINE_BYTES / 4);
  }

  /**
   * A test that is true once no engine can still be running a descriptor it had begun by now:
   * each is between descriptors (or off), or has completed one since.
   */
  quiescence(): () => boolean {
    const done = Array.from({ length: this.count }, (_, e) => Atomics.load(this.#block(e), Eng.COMPLETED / 4));
    return () => {
      for (let e = 0; e < this.count; e++) {
        const b = this.#block(e);
        // (only a running engine can be in a descriptor: one that died left BUSY set, and its successor boots first)
        if (Atomics.load(b, Eng.BUSY / 4) === 1 && Atomics.load(b, Eng.COMPLETED / 4) === done[e] && this.#states.get(e) === EngineState.RUNNING) return false;
      }
      return true;
    };
  }

  /** Descriptors the engines completed (those a dead engine held are counted in failures). */
  get completed(): number {
    let n = 0;
    for (let e = 0; e < this.count; e++) n += Atomics.load(this.#block(e), Eng.COMPLETED / 4);
    return n;
  }

  #died(e: number, died: unknown): void {
    clearTimeout(this.#holding[e]);
    this.#holding[e] = undefined;
    const error = died ?? this.#startError[e];
    this.#startError[e] = undefined;
    if (this.#stopping) return;
    const booting = this.#states.get(e) === EngineState.BOOTING;
    this.#recover(e);
    if (!booting) {
      this.#launch(e);
      return;
    }
    // It died before it ran (it cannot load, say): start it again, later each time, up to
    // every 2 s, so that a broken start does not spin a core; calls run inline meanwhile.
    const n = ++this.#bootFailures[e];
    if (n === 3) {
      const why = (error as Error | undefined)?.message ?? 'its thread exited';
      warn(`softdsa: engine ${e} failed to start 3 times (${why}); retrying every 2 s, calls run inline meanwhile`, 'SOFTDSA_ENGINE_START');
      this.#cannotStart(error);
    }
    // (held until the third failure, which ready() waits for: unheld, a program awaiting open() ended there, its await unsettled)
    const retry = setTimeout(() => this.#launch(e), Math.min(2000, 10 * 2 ** n));
    if (n >= 3) retry.unref();
  }

  /**
   * Finishes, with status 0x20, every descriptor the dead engine e held, and raises the
   * interrupt handles its core had marked (RCI of descriptors it completed) but not raised.
   */
  #recover(e: number): void {
    let held = 0;
    this.#wqs.forEach((wq, i) => {
      const positions = wq.claimedBy(e);
      for (const pos of positions) this.#unrun[i].finishClaimed(pos, Status.HW_ERROR);
      held += positions.length;
    });
    const [lo, hi] = this.#states.takeIrq(e);
    for (let h = 0; h < 32; h++) {
      if ((lo >>> h) & 1) this.#vectors.signal(h);
      if ((hi >>> h) & 1) this.#vectors.signal(h + 32);
    }
    this.#states.set(e, EngineState.OFF);
    for (const wq of this.#wqs) Atomics.compareExchange(wq.bell, WqWord.SPINNER, e + 1, 0);
    this.failures.push({ engine: e, finished: held, time: Date.now() });
  }

  /** close() began: injected latencies end now (the work in flight is waited for, not their sleeps). */
  closing(): void {
    Atomics.store(this.#dev, Dev.CLOSING, 1);
    Atomics.notify(this.#dev, Dev.CLOSING);
  }

  /**
   * Stops the device: new submissions are refused, the engines finish the queue and end
   * (an engine that has not ended after STOP_WAIT_MS is terminated, and what it held
   * finishes with 0x20), then what was published too late for any engine is aborted (0xff)
   * and every thread with a vector is woken to see it. Every descriptor settles.
   */
  async stop(): Promise<void> {
    Atomics.store(this.#dev, Dev.STOP, Stop.STOPPING);
    this.#states.wakeAll();
    const until = performance.now() + STOP_WAIT_MS;
    while (performance.now() < until && this.#running() > 0) await new Promise((r) => setTimeout(r, 1));
    this.#stopping = true;
    for (const port of this.#ports) port?.close();
    await this.#pool.destroy();
    this.#resolveReady();
    for (let e = 0; e < this.count; e++) if (this.#states.get(e) !== EngineState.OFF) this.#recover(e);
    // From here a submitter that publishes aborts its own descriptor (portal.ts): one of us takes each.
    Atomics.store(this.#dev, Dev.STOP, Stop.STOPPED);
    this.#wqs.forEach((wq, i) => {
      for (const pos of wq.published()) this.#unrun[i].abortPublished(pos, Status.ABORTED);
    });
    for (const v of this.#vectors.claimed()) this.#vectors.signal(v);
  }

  #running(): number {
    let n = 0;
    for (let e = 0; e < this.count; e++) if (this.#states.get(e) !== EngineState.OFF) n++;
    return n;
  }
}

/** How long close() lets the engines finish the queue before it terminates them. */
const STOP_WAIT_MS = 10_000;
