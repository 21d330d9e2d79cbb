// Where everything lives in the device's shared memory.
//
//   0        4 KiB                                                                  arenaBase        end
//   +--------+-----+-----+---------+--------+-------+------------+-------+------+---------+--------------+
//   | core   | ctx | eng | vectors | device | fault | work queue | wq    | core | core    | arena: what  |
//   | static |     | x64 | x64     | words  | rules | header     | slots | tbls | scratch | descriptors  |
//   |        |     |     |         |        |       |            |       |      | x(n+1)  | may address  |
//   +--------+-----+-----+---------+--------+-------+------------+-------+------+---------+--------------+
//   \_____________________ control region: unmapped for descriptors _____________________/
//
// Descriptors address bytes as offsets into this memory, but only [arenaBase, end) is
// mapped: the control region plays the kernel's part and a descriptor that points
// into it faults, like a NULL dereference does. The layout is plain data so it can
// travel to engine and user threads in workerData.
import { FAULT_TABLE_BYTES } from './faults.ts';
import { Ctx, Desc, Limit } from './format.ts';

export const PAGE = 65536;
/** Where every device memory has its context (Ctx): after the core's static data. */
export const CTX_ADDR = 4096;
export const MAX_ENGINES = 64;
/** Interrupt vectors, one per interrupt handle (Limit.MAX_INT_HANDLES). */
export const MAX_VECTORS = Limit.MAX_INT_HANDLES as number;
/** Int32 words per vector: count, armed, fd, in use, the owner thread's Linux thread id (0: unknown). */
export const VECTOR_WORDS = 8;
export const enum Vec { COUNT = 0, ARMED = 1, FD = 2, IN_USE = 3, TID = 4 }
/** Int32 words of the device block. */
export const enum Dev { STOP = 0 }
/**
 * Dev.STOP values: RUNNING; STOPPING (close() began: engines finish the queue and end, new
 * submissions are refused); STOPPED (engines gone: what is still published is aborted).
 */
export const enum Stop { RUNNING = 0, STOPPING = 1, STOPPED = 2 }
/**
 * Per-engine block, a cache line each: a u64 interrupt mask the core ORs RCI handles into,
 * the state word, and the count of descriptors the engine completed.
 */
export const ENGINE_BYTES = 64;
export const enum Eng { IRQ = 0, STATE = 8, COMPLETED = 16 }
/**
 * Engine states, written by the engine itself (the supervisor sets BOOTING at a launch and
 * resets a dead one's). BOOTING: the thread is starting, or warming its kernels; the
 * high-level API runs calls inline until every engine is past it.
 */
export const enum EngineState { OFF = 0, RUNNING = 1, PARKED = 2, BOOTING = 3 }
/** Int32 word indexes in the work-queue header: producer, consumer and parking words on their own cache lines. */
export const enum WqWord { TAIL = 0, HEAD = 16, DOORBELL = 32, SPINNER = 33 }
export const WQ_HEADER_BYTES = 192;
/** Int32 words per slot state: seq, status, owner, fault tag (the rule that fired on it, faults.ts; 0: none). */
export const SLOT_WORDS = 4;

export interface Layout {
  /** total memory bytes (a whole number of pages) */
  bytes: number;
  ctx: number;
  engines: number;
  vectors: number;
  device: number;
  /** the fault-injection rules (faults.ts) */
  faults: number;
  wqHeader: number;
  wqStates: number;
  wqSlots: number;
  wqSize: number;
  tables: number;
  /** one Limit.CORE_SCRATCH_BYTES area per core instance: engine i has slot i, the device thread's core slot engineCount */
  scratch: number;
  /** engine threads the layout has room for (scratch slots) */
  engineCount: number;
  arenaBase: number;
  arenaEnd: number;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

export function computeLayout(arenaBytes: number, wqSize: number, engineCount: number): Layout {
  const ctx = CTX_ADDR;
  const engines = ctx + Ctx.SIZE;
  const vectors = engines + ENGINE_BYTES * MAX_ENGINES;
  const device = vectors + 4 * VECTOR_WORDS * MAX_VECTORS;
  const faults = align(device + 64, 64);
  const wqHeader = align(faults + FAULT_TABLE_BYTES, 64);
  const wqStates = wqHeader + WQ_HEADER_BYTES;
  const wqSlots = align(wqStates + 4 * SLOT_WORDS * wqSize, 64);
  const tables = align(wqSlots + Desc.SIZE * wqSize, 64);
  const scratch = tables + Limit.CORE_TABLE_BYTES;
  const arenaBase = align(scratch + Limit.CORE_SCRATCH_BYTES * (engineCount + 1), PAGE);
  const bytes = align(arenaBase + arenaBytes, PAGE);
  return { bytes, ctx, engines, vectors, device, faults, wqHeader, wqStates, wqSlots, wqSize, tables, scratch, engineCount, arenaBase, arenaEnd: bytes };
}

/** The scratch area of engine `id`'s core; the host's core (id = layout.engineCount) has the last. */
export const scratchOf = (layout: Layout, id: number): number => {
  if (!(id >= 0 && id <= layout.engineCount)) throw new RangeError(`softdsa: no scratch slot for core ${id} (${layout.engineCount} engines)`);
  return layout.scratch + id * Limit.CORE_SCRATCH_BYTES;
};
