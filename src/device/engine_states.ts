// The engines' state words, read by submitters to decide whether the doorbell must
// wake a parked engine (a futex wake, a system call) or a running one will see the work.
import { Eng, ENGINE_BYTES, EngineState, type Layout } from './layout.ts';

export class EngineStates {
  readonly #w: Int32Array;
  /** the device's engine threads (fixed when it opens) */
  readonly count: number;

  constructor(memory: WebAssembly.Memory, layout: Layout) {
    const buf = memory.buffer as unknown as SharedArrayBuffer;
    this.#w = new Int32Array(buf, layout.engines, (ENGINE_BYTES / 4) * 64);
    this.count = layout.engineCount;
  }

  #index(e: number): number {
    return e * (ENGINE_BYTES / 4) + Eng.STATE / 4;
  }

  get(e: number): number {
    return Atomics.load(this.#w, this.#index(e));
  }

  set(e: number, s: EngineState): void {
    Atomics.store(this.#w, this.#index(e), s);
  }

  /** True when every engine has booted (running or parked). */
  ready(): boolean {
    for (let e = this.count - 1; e >= 0; e--) {
      const s = Atomics.load(this.#w, this.#index(e));
      if (s !== EngineState.RUNNING && s !== EngineState.PARKED) return false;
    }
    return true;
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
