// A group's arbiter: which of the group's WQs an engine takes its next descriptor from.
//
// DSA's group arbiter serves the WQs of a group by their priority (WQCFG priority, 1-15), so that a
// busy high-priority WQ cannot starve a low one; the public documents do not spell out its exact
// policy. softdsa's is a weighted round robin with the priorities as weights, over one shared
// sequence of turns:
//
//   - A round has W = sum of the group's priorities turns. Each WQ of priority p owns p of them,
//     interleaved by smooth weighted round robin (the order nginx uses: each step every WQ gains
//     its priority, the WQ with the most credit, lowest index on a tie, takes the turn and pays W).
//     Priorities 3 and 1 give the round A A B A; 2 and 2 give A B A B.
//   - The group has one turn counter in shared memory (its first WQ's TURN word). An engine that
//     finds work takes the next turn t (compare-and-swap t -> t + 1) and claims from the WQ that
//     owns turn t mod W; if that WQ has nothing waiting, the turn goes to the next WQ that has,
//     in the order of the turns that follow (work-conserving: an idle WQ's share goes to the rest).
//
// So while every WQ of the group has descriptors waiting, WQ i gets exactly p_i of every W
// dispatches, whatever the number of engines; and a waiting WQ is served within W dispatches:
// none starves. (A turn whose claim loses a race with another engine is spent with nothing
// dispatched, which only happens when a WQ empties at that moment.) A group with one WQ has no
// arbiter: its engines claim from that WQ directly, the device's original path.
import { WqWord } from './layout.ts';
import type { WorkQueue } from './work_queue.ts';

/** Smooth weighted round robin: the WQ index that owns each turn of a round. */
export function turnsOf(weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const credit = weights.map(() => 0);
  const turns: number[] = [];
  for (let t = 0; t < total; t++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      credit[i] += weights[i];
      if (credit[i] > credit[best]) best = i;
    }
    credit[best] -= total;
    turns.push(best);
  }
  return turns;
}

export class Arbiter {
  readonly #queues: WorkQueue[];
  /** for each turn of a round: the group's WQs (indexes in #queues) in the order that turn tries them */
  readonly #orders: number[][];
  readonly #bell: Int32Array;
  /** the WQ of the last successful claim */
  current: WorkQueue;

  constructor(queues: WorkQueue[], priorities: readonly number[]) {
    this.#queues = queues;
    this.current = queues[0];
    this.#bell = queues[0].bell;
    const turns = turnsOf(priorities);
    this.#orders = turns.map((_, t) => {
      const order: number[] = [];
      for (let k = 0; k < turns.length && order.length < queues.length; k++) {
        const q = turns[(t + k) % turns.length];
        if (!order.includes(q)) order.push(q);
      }
      return order;
    });
  }

  /** Claims the next descriptor by the group's turns (see above) for `engine`; -1 when no WQ has one. */
  claim(engine: number, reserverLive: (vector: number) => boolean): number {
    const bell = this.#bell;
    const orders = this.#orders;
    for (;;) {
      const t = Atomics.load(bell, WqWord.TURN);
      const order = orders[(t >>> 0) % orders.length];
      let q = -1;
      for (let k = 0; k < order.length; k++) {
        if (this.#queues[order[k]].hasWork()) {
          q = order[k];
          break;
        }
      }
      if (q < 0) return this.#unstall(engine, reserverLive);
      if (Atomics.compareExchange(bell, WqWord.TURN, t, (t + 1) | 0) !== t) continue; // another engine took turn t
      const wq = this.#queues[q];
      const pos = wq.claim(engine, reserverLive);
      if (pos >= 0) {
        this.current = wq;
        return pos;
      }
    }
  }

  /**
   * No WQ has a published descriptor at its head: let each WQ whose head is reserved by a thread
   * that is gone skip it (WorkQueue.claim does), claiming what follows if it is published.
   */
  #unstall(engine: number, reserverLive: (vector: number) => boolean): number {
    for (const wq of this.#queues) {
      if (!wq.stalled()) continue;
      const pos = wq.claim(engine, reserverLive);
      if (pos >= 0) {
        this.current = wq;
        return pos;
      }
    }
    return -1;
  }

  /** True when some WQ of the group has a published descriptor at its head. */
  hasWork(): boolean {
    for (const wq of this.#queues) if (wq.hasWork()) return true;
    return false;
  }

  /** True when some WQ's head is reserved and not yet published. */
  stalled(): boolean {
    for (const wq of this.#queues) if (wq.stalled()) return true;
    return false;
  }
}
