// How long to spin before sleeping, for engines waiting for work and submitters waiting
// for completions alike.
//
// Spinning wins when the wait is shorter than a sleep and wake (a futex or event fd
// round trip, 10-30 us here); beyond that it only burns a core, and on a 2-core machine
// the core it burns is the one the other side needs. So spin (up to the limit) while the
// recent waits average under the limit, and not when they run longer. Both sides adapt
// at once, and a side that sleeps makes the other's waits look long: without a probe, a
// pair that once fell asleep would stay slow. So every eighth wait spins anyway.
export class SpinPolicy {
  readonly #max: number;
  #avg = 0;
  #probe = 0;

  constructor(maxMicros: number) {
    this.#max = maxMicros / 1000;
  }

  /** The spin budget in milliseconds (performance.now() units). */
  get budget(): number {
    return this.#avg < this.#max || (++this.#probe & 7) === 0 ? this.#max : 0;
  }

  /** Records one wait, in milliseconds (clamped, so one long idle spell is not remembered for long). */
  record(waitMs: number): void {
    this.#avg += (Math.min(waitMs, 4 * this.#max) - this.#avg) / 8;
  }
}
