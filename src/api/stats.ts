// Per-operation counters for the high-level API: how many calls, how many bytes, where
// they ran and why, and latency percentiles over the most recent calls.
import type { DifOpName } from './dif.ts';

/** The high-level calls stats() counts (file calls and streams count as the crc32c calls they make). */
export type OpName = 'memcpy' | 'memmove' | 'fill' | 'compare' | 'firstDifference' | 'crc32c' | 'copyCrc32c' | 'dualcast' | 'createDelta' | 'applyDelta' | DifOpName | 'crc16t10dif';

/** stats().ops: an entry for each operation called at least once (before its first call, none: `stats().ops.memcpy?.count`). */
export type OpsSnapshot = { [op in OpName]?: OpSnapshot };
export type Placement = 'device' | 'split' | 'staged' | 'foreign' | 'inline:small' | 'inline:not-shared' | 'inline:foreign' | 'inline:overlap' | 'inline:unaligned' | 'inline:booting' | 'inline:asleep' | 'inline:no-room';

/** Where a call runs: decided as it starts, or a holder its work sets as it finds otherwise (no arena room left for it: 'inline:no-room'). */
export type Where = Placement | { placement: Placement };

export const placementOf = (w: Where): Placement => (typeof w === 'string' ? w : w.placement);

const WINDOW = 1024;

class OpStats {
  count = 0;
  bytes = 0;
  failed = 0;
  readonly placement: Partial<Record<Placement, number>> = {};
  readonly #lat = new Float64Array(WINDOW);
  #n = 0;

  record(bytes: number, where: Placement, ms: number): void {
    this.count++;
    this.bytes += bytes;
    this.placement[where] = (this.placement[where] ?? 0) + 1;
    if (ms >= 0) this.#lat[this.#n++ % WINDOW] = ms; // ms < 0: not timed (sampled out)
  }

  /** Adds other's calls to these (its latencies after these, as if made last). */
  absorb(other: OpStats): void {
    this.count += other.count;
    this.bytes += other.bytes;
    this.failed += other.failed;
    for (const [where, n] of Object.entries(other.placement) as Array<[Placement, number]>) this.placement[where] = (this.placement[where] ?? 0) + n;
    for (let i = Math.max(0, other.#n - WINDOW); i < other.#n; i++) this.#lat[this.#n++ % WINDOW] = other.#lat[i % WINDOW];
  }

  snapshot(): OpSnapshot {
    const lat = this.#lat.slice(0, Math.min(this.#n, WINDOW)).sort();
    const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
    return { count: this.count, bytes: this.bytes, failed: this.failed, placement: { ...this.placement }, latencyMs: lat.length === 0 ? null : { p50: q(0.5), p99: q(0.99) } };
  }
}

export interface OpSnapshot {
  /** calls that resolved, and their bytes */
  count: number;
  bytes: number;
  /** calls taken (their arguments were good) that then rejected: a failed DIF check, a page fault, an engine error, an abort, a closing device */
  failed: number;
  /** calls per placement: device, split across engines, or inline and why */
  placement: Partial<Record<Placement, number>>;
  /** over the most recent 1024 timed calls (one call in 8 is timed; split calls all); null while none was (it read 0 ms, which a call can take) */
  latencyMs: { p50: number; p99: number } | null;
}

export class Stats {
  readonly #ops = new Map<string, OpStats>();
  /** absorbed into these: calls that finish later are counted there */
  #into: Stats | null = null;

  record(op: string, bytes: number, where: Placement, ms: number): void {
    if (this.#into !== null) return this.#into.record(op, bytes, where, ms);
    this.#of(op).record(bytes, where, ms);
  }

  /** Counts a call that was taken and then failed. */
  fail(op: string): void {
    if (this.#into !== null) return this.#into.fail(op);
    this.#of(op).failed++;
  }

  #of(op: string): OpStats {
    let s = this.#ops.get(op);
    if (s === undefined) this.#ops.set(op, (s = new OpStats()));
    return s;
  }

  /**
   * Adds the calls other counted to these (calls made before a device opened, to its stats),
   * and those it is still to count (a call that had begun, e.g. an async dualcast).
   */
  absorb(other: Stats): void {
    for (const [op, o] of other.#ops) this.#of(op).absorb(o);
    other.#ops.clear();
    other.#into = this;
  }

  snapshot(): OpsSnapshot {
    const out: Record<string, OpSnapshot> = {};
    for (const [op, s] of this.#ops) out[op] = s.snapshot();
    return out as OpsSnapshot;
  }
}
