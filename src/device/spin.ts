// How long to spin before sleeping, for engines waiting for work and submitters waiting
// for completions alike.
//
// Spinning wins when the wait is shorter than a sleep and wake (a futex or event fd
// round trip, 10-30 us here); beyond that it only burns a core, and on a 2-core machine
// the core it burns is the one the other side needs. So spin (up to the limit) while the
// waits seen by recent spins average under the limit, and not when they run longer.
// Only spins are recorded: a wait that ended in a sleep includes the wake-up itself and
// would make spinning look useless exactly when it would help (both sides adapt at once,
// and a sleeping side makes the other's waits look long). While not spinning, every
// eighth wait spins anyway, as a probe, so a pair that once fell asleep can recover.
export class SpinPolicy {
  readonly #max: number;
  #avg = 0;
  #probe = 0;

  constructor(maxMicros: number) {
    this.#max = maxMicros / 1000;
  }

  /** The spin budget for one wait, in milliseconds (read it once per wait: it counts probes). */
  get budget(): number {
    return this.#avg < this.#max || (++this.#probe & 7) === 0 ? this.#max : 0;
  }

  /** Records one wait, in milliseconds (clamped, so one long idle spell is not remembered for long). */
  record(waitMs: number): void {
    this.#avg += (Math.min(waitMs, 4 * this.#max) - this.#avg) / 8;
  }
}
