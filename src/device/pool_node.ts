// The engine threads, Node's side: one piscina pool of one thread per engine (the browser
// build swaps this module for src/browser/pool.ts, Web Workers). The supervisor (engines.ts)
// decides what to launch and when; this module starts threads and says when one has died.
//
// A pool per engine lets a dead engine be started again on its own fresh thread (a
// shared pool would hand the restart to a thread another engine's loop occupies).
// The start task returns at once and the engine loop runs on in the worker, so no task
// is pending and an idle device never keeps the process alive.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { packageRoot, sourceExt } from './paths.ts';
import type { EngineData, EngineTask } from '../../workers/engine.ts';
import { backgroundTurn, setImmediate } from './timers.ts';

/** The supervisor's end of an engine's address-space channel. */
export interface SpacePort {
  postMessage(message: unknown): void;
  close(): void;
}

export class EnginePool {
  readonly #pools: Array<Piscina | null>;
  readonly #data: EngineData;
  readonly #died: (engine: number, error: unknown) => void;
  readonly #lastError: unknown[];
  readonly #filename: string;

  /** `died(e, error)`: engine e's thread has ended (it is no longer running), with the last error it reported. */
  constructor(data: EngineData, died: (engine: number, error: unknown) => void) {
    const count = data.layout.engineCount;
    this.#data = data;
    this.#died = died;
    this.#pools = new Array<Piscina | null>(count).fill(null);
    this.#lastError = new Array<unknown>(count).fill(undefined);
    // from the package root: this module is bundled into dist/src/index.cjs too, at another depth
    // (in the package, the CommonJS entry that imports engine.js: workers/engine.cjs says why)
    this.#filename = sourceExt === '.ts' ? pathToFileURL(join(packageRoot, 'workers/engine.ts')).href : join(packageRoot, 'dist/workers/engine.cjs');
  }

  /**
   * Loads piscina: here, not when softdsa is imported (8-13 ms a program that never opens a
   * device should not pay), and a piece per turn of the event loop: Node's own modules it uses
   * first (compiling each costs up to 3 ms), then its own files, leaves first (taken in one
   * turn, its files held a program's event loop 10-15 ms; one per turn, 0.3-5 ms each). Each
   * file a require() loads stays in the module cache, where piscina's own require()s find it.
   * Stops between pieces once `stop()` says so (its device closed): the rest is loaded by a later start.
   */
  async load(stop: () => boolean = () => false): Promise<void> {
    if (piscina !== null) return;
    const turn = (): Promise<void> => new Promise((resolve) => backgroundTurn(resolve)); // (holding no program that has ended)
    const require = createRequire(import.meta.url);
    for (const m of PISCINA_BUILTINS) {
      if (stop()) return;
      require(m); // (not import(): a test runner's vm context, jest's, refuses it without --experimental-vm-modules, and the engines never started)
      await turn();
    }
    if (stop()) return;
    const main = require.resolve('piscina');
    for (const file of PISCINA_FILES) {
      try {
        require(join(dirname(main), file));
      } catch {
        break; // (another piscina's layout: the rest loads with it below)
      }
      await turn();
      if (stop()) return;
    }
    // (its CommonJS entry: the ES module wrapper is one more file to load and link)
    piscina = { Piscina: (require(main) as typeof import('piscina')).Piscina };
  }

  /** Engine e's pool of one thread (made at its first launch: making it starts the thread). */
  #pool(e: number): Piscina {
    let pool = this.#pools[e];
    if (pool === null) {
      const make = (): Piscina => new piscina!.Piscina({
        filename: this.#filename,
        workerData: this.#data,
        minThreads: 1,
        maxThreads: 1,
        idleTimeout: Infinity,
        // 'disabled': between tasks the worker returns to its event loop, where the
        // engine loop then runs ('sync' would hold it in Atomics.wait for the next task).
        atomics: 'disabled',
        recordTiming: false,
        execArgv: engineExecArgv,
      });
      try {
        pool = make();
      } catch (err) {
        // Options a Worker refuses in execArgv (V8's, such as --max-old-space-size, which are the
        // whole process's anyway): left out, once for all (given, they threw from new Worker).
        if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || engineExecArgv === undefined) throw err;
        engineExecArgv = withoutRefused(engineExecArgv, String((err as Error).message));
        pool = make();
      }
      this.#pools[e] = pool;
      pool.on('workerCreate', letGoWhileBooting);
      pool.on('error', (err: unknown) => {
        this.#lastError[e] = err; // a dying worker: handled by 'workerDestroy'
      });
      // Deferred: piscina emits this before it has dropped the dead thread from the pool.
      pool.on('workerDestroy', () => setImmediate(() => this.#died(e, this.#lastError[e])));
    }
    return pool;
  }

  /**
   * Starts engine e on its thread (a fresh one after a death). `started` resolves once its
   * loop runs, rejects if the thread died first (`died` follows).
   */
  launch(e: number, warm: boolean): { started: Promise<void>; spaces: SpacePort } {
    const short = addressSpaceShort();
    if (short !== null) throw new Error(short);
    const { port1, port2 } = new MessageChannel();
    port1.unref();
    const task: EngineTask = { id: e, spaces: port2, warm };
    const started = this.#pool(e).run(task, { transferList: [port2] }).then(() => {});
    return { started, spaces: port1 };
  }

  /** Ends every thread (after the engines stopped, or to stop one that would not). */
  async destroy(): Promise<void> {
    await Promise.all(this.#pools.map((p) => p?.destroy()));
  }
}

/** The address space a thread needs (its isolate's heap and code ranges): about 680 MiB on Node 20, x64; two engines crashed with 700 MiB left. */
const THREAD_ADDRESS_SPACE = 896 << 20;

/**
 * Why a thread cannot be started under the process's address-space limit (`ulimit -v`), or null.
 * A Worker whose isolate cannot reserve its ranges aborts the whole process in V8 ("Fatal process
 * OOM in Failed to reserve virtual memory for CodeRange"), nothing to catch: limits that let the
 * arena be reserved and not two engines (11.6-12.5 GB) ended a program 50 ms after its first call.
 */
function addressSpaceShort(): string | null {
  let limits: string;
  let status: string;
  try {
    limits = readFileSync('/proc/self/limits', 'utf8');
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return null; // (no /proc: no way to tell, as before)
  }
  const limit = /^Max address space\s+(\d+)/m.exec(limits);
  const used = /^VmSize:\s+(\d+) kB/m.exec(status);
  if (limit === null || used === null) return null; // (unlimited)
  const left = Number(limit[1]) - Number(used[1]) * 1024;
  if (left >= THREAD_ADDRESS_SPACE) return null;
  return `the address-space limit (ulimit -v) leaves ${Math.max(0, Math.floor(left / 2 ** 20))} MiB, and a thread reserves about ${THREAD_ADDRESS_SPACE / 2 ** 20} MiB`;
}

/**
 * The engines' Node options: the process's (the tsx loader in development, say), and require() of
 * ES modules off. piscina loads a worker's module with require() first: on Node 20.19+ that loads
 * the engine's ES module synchronously, and a process that exited while an engine was in it
 * aborted on a failed assertion in Node (2 in 300 scripts that exit 15-60 ms after opening a
 * device, and `softdsa crc32c` runs, which exit as the default device boots). With it off,
 * require() fails at once and piscina import()s the module, which an exit ends cleanly.
 */
const ownArgv = withoutEntryOptions(process.execArgv);
let engineExecArgv = process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module') ? [...ownArgv, '--no-experimental-require-module'] : ownArgv.length < process.execArgv.length ? ownArgv : undefined;

/**
 * The process's options less those for its entry alone: `--input-type` (a program run by `node
 * --input-type=module -e ...`) made every engine fail to start ("--input-type can only be used with
 * string input"), and the device ran every call inline for good.
 */
function withoutEntryOptions(argv: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--input-type') i++;
    else if (!argv[i].startsWith('--input-type=')) kept.push(argv[i]);
  }
  return kept;
}

/**
 * argv less the options a Worker refused ("... invalid execArgv flags: --a, --b=1"), or undefined
 * (the process's own, as without execArgv) when the message does not say which.
 */
function withoutRefused(argv: string[], message: string): string[] | undefined {
  const named = /invalid execArgv flags: (.+)$/.exec(message)?.[1].split(', ').map((f) => f.trim());
  if (named === undefined || named.length === 0) return undefined;
  const kept = argv.filter((a) => !named.includes(a) && !named.includes(a.split('=')[0]));
  return kept.length < argv.length ? kept : undefined;
}

/**
 * A booting engine does not hold the process: piscina holds it until a new thread has loaded its
 * module (its port to the thread is ref'd until then, and while a task runs, our start task among
 * them). A program that opened a device (or made a call that did) and ended stayed alive another
 * 130-160 ms here while engines it never used booted. Who waits for them is held instead: ready()
 * and open() (Device #held), and a descriptor in flight (its completion's watcher). piscina has
 * no option for it: its worker's record is reached through the 'workerCreate' event's object
 * (emitted, for a pool's first thread, as the pool's constructor returns, after our start task
 * was given to it); where a later piscina has it otherwise, the boot holds the process, as before.
 */
function letGoWhileBooting(worker: object): void {
  const key = Object.getOwnPropertySymbols(worker).find((k) => k.description === 'Piscina.kWorkerData');
  const record = key === undefined ? undefined : (worker as Record<symbol, { unref?: unknown }>)[key];
  if (typeof record?.unref === 'function') (record.unref as () => void)();
}

/** The piscina module, once loaded (load()). */
let piscina: { Piscina: typeof Piscina } | null = null;
/** What piscina 5 require()s of Node's own, the costly first (node:assert, node:worker_threads: 2.6-2.7 ms each to compile). */
const PISCINA_BUILTINS = ['node:assert', 'node:worker_threads', 'node:os', 'node:async_hooks', 'node:perf_hooks', 'node:timers/promises', 'node:url', 'node:util'];
/** piscina 5's own files (dist/), each after those it require()s; its package.json, which index.js reads, first. */
const PISCINA_FILES = ['../package.json', 'symbols.js', 'common.js', 'errors.js', 'abort.js', 'histogram.js', 'task_queue/common.js', 'task_queue/array_queue.js', 'task_queue/fixed_queue.js', 'task_queue/index.js', 'worker_pool/base.js', 'worker_pool/balancer/index.js', 'worker_pool/index.js', 'index.js'];
