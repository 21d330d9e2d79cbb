// The engines' state words, read by submitters to decide whether the doorbell must
// wake a parked engine (a futex wake, a system call) or a running one will see the work.
import { Dev, Eng, ENGINE_BYTES, EngineState, type Layout } from './layout.ts';

export class EngineStates {
  readonly #w: Int32Array;
  readonly #dev: Int32Array;

  constructor(memory: WebAssembly.Memory, layout: Layout) {
    const buf = memory.buffer as unknown as SharedArrayBuffer;
    this.#w = new Int32Array(buf, layout.engines, (ENGINE_BYTES / 4) * 64);
    this.#dev = new Int32Array(buf, layout.device, 16);
  }

  #index(e: number): number {
    return e * (ENGINE_BYTES / 4) + Eng.STATE / 4;
  }

  get count(): number {
    return Atomics.load(this.#dev, Dev.ENGINES);
  }

  get(e: number): number {
    return Atomics.load(this.#w, this.#index(e));
  }

  set(e: number, s: EngineState): void {
    Atomics.store(this.#w, this.#index(e), s);
  }

  /** How many engines are parked on the doorbell. */
  parked(): number {
    let n = 0;
    for (let e = this.count - 1; e >= 0; e--) if (Atomics.load(this.#w, this.#index(e)) === EngineState.PARKED) n++;
    return n;
  }

  /** The engine's RCI interrupt mask (u64 as two words): returns it and clears it. */
  takeIrq(e: number): [lo: number, hi: number] {
    const i = e * (ENGINE_BYTES / 4);
    return [Atomics.exchange(this.#w, i, 0), Atomics.exchange(this.#w, i + 1, 0)];
  }
}
