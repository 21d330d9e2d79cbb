// The engines' state words and bells. Submitters read the states to decide whether a doorbell
// must wake a parked engine (a futex wake, a system call) or a running one will see the work,
// and wake an engine on its own bell: the doorbell marks it RUNG as it does, so a burst of
// submissions wakes each parked engine once, and never the same one twice (a futex wake of a
// halted vCPU cost its caller 0.3 ms and more here).
import { Eng, ENGINE_BYTES, EngineState, type Layout } from './layout.ts';

const WORDS = ENGINE_BYTES / 4;

export class EngineStates {
  readonly #w: Int32Array;
  readonly #ids: readonly number[];
  /** the engine threads these states cover (fixed when the device opens) */
  readonly count: number;

  /** `engines`: the group's engine threads (a WQ's doorbell wakes its group's only); default, every one. */
  constructor(memory: WebAssembly.Memory, layout: Layout, engines?: readonly number[]) {
    const buf = memory.buffer as unknown as SharedArrayBuffer;
    this.#w = new Int32Array(buf, layout.engines, WORDS * 64);
    this.#ids = engines ?? Array.from({ length: layout.engineCount }, (_, e) => e);
    this.count = this.#ids.length;
  }

  #index(e: number): number {
    return e * WORDS + Eng.STATE / 4;
  }

  #bellIndex(e: number): number {
    return e * WORDS + Eng.BELL / 4;
  }

  get(e: number): number {
    return Atomics.load(this.#w, this.#index(e));
  }

  set(e: number, s: EngineState): void {
    Atomics.store(this.#w, this.#index(e), s);
  }

  /** True when every engine has booted (running, parked or rung). */
  ready(): boolean {
    for (const e of this.#ids) {
      const s = Atomics.load(this.#w, this.#index(e));
      if (s !== EngineState.RUNNING && s !== EngineState.PARKED && s !== EngineState.RUNG) return false;
    }
    return true;
  }

  /** How many engines are parked and not yet rung. */
  parked(): number {
    let n = 0;
    for (const e of this.#ids) if (Atomics.load(this.#w, this.#index(e)) === EngineState.PARKED) n++;
    return n;
  }

  /** Engine e's bell as it parks: it sleeps while the bell holds this value. */
  bell(e: number): number {
    return Atomics.load(this.#w, this.#bellIndex(e));
  }

  /** Engine e (the calling thread) sleeps until its bell moves from `bell` or `ms` pass. */
  sleep(e: number, bell: number, ms: number): 'ok' | 'not-equal' | 'timed-out' {
    return Atomics.wait(this.#w, this.#bellIndex(e), bell, ms);
  }

  /** Wakes up to n parked engines, each on its own bell (marked RUNG first: no one else wakes it again); how many. */
  wake(n: number): number {
    let woke = 0;
    for (const e of this.#ids) {
      if (woke === n) break;
      const i = this.#index(e);
      // (a load first: a compare-exchange takes the engine's cache line even when it fails)
      if (Atomics.load(this.#w, i) !== EngineState.PARKED || Atomics.compareExchange(this.#w, i, EngineState.PARKED, EngineState.RUNG) !== EngineState.PARKED) continue;
      this.#ring(e);
      woke++;
    }
    return woke;
  }

  /** Rings every engine's bell, whatever its state: to see that the device is stopping. */
  wakeAll(): void {
    for (const e of this.#ids) this.#ring(e);
  }

  #ring(e: number): void {
    const b = this.#bellIndex(e);
    Atomics.add(this.#w, b, 1);
    Atomics.notify(this.#w, b, 1);
  }

  /** The engine's RCI interrupt mask (u64 as two words): returns it and clears it. */
  takeIrq(e: number): [lo: number, hi: number] {
    const i = e * WORDS;
    return [Atomics.exchange(this.#w, i, 0), Atomics.exchange(this.#w, i + 1, 0)];
  }
}
