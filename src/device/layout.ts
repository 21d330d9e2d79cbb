// Where everything lives in the device's shared memory.
//
//   0        4 KiB                                                                      arenaBase        end
//   +--------+-----+-----+---------+--------+-------+----------------+--------+------+---------+--------------+
//   | core   | ctx | eng | vectors | device | fault | work queues:   | ctx of | core | core    | arena: what  |
//   | static |     | x64 | x64     | words  | rules | header, slots  | WQs    | tbls | scratch | descriptors  |
//   |        |     |     |         |        |       | x (1 to 8)     | 1..7   |      | x(n+1)  | may address  |
//   +--------+-----+-----+---------+--------+-------+----------------+--------+------+---------+--------------+
//   \_______________________ control region: unmapped for descriptors ______________________/
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
/** Int32 words of the device block: STOP (below); CLOSING, set as close() begins: an injected latency ends then (engine.ts lateBy). */
export const enum Dev { STOP = 0, CLOSING = 1, LAYOUT = 2 }

/**
 * A 32-bit digest of a layout (FNV-1a over its JSON), which the device keeps in Dev.LAYOUT: an
 * attaching thread's handle must name the layout the device runs with (one changed on its way,
 * its WQ slots moved, had that thread's descriptors written into the core's own data).
 */
export function layoutDigest(layout: Layout): number {
  const text = JSON.stringify(layout, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h | 0;
}
/**
 * Dev.STOP values: RUNNING; STOPPING (close() began: engines finish the queue and end, new
 * submissions are refused); STOPPED (engines gone: what is still published is aborted).
 */
export const enum Stop { RUNNING = 0, STOPPING = 1, STOPPED = 2 }
/**
 * Per-engine block, a cache line each: a u64 interrupt mask the core ORs RCI handles into,
 * the state word, the count of descriptors the engine completed, and its bell: the word a
 * parked engine sleeps on (a doorbell adds 1 and wakes it); BUSY is 1 while it runs a descriptor.
 */
export const ENGINE_BYTES = 64;
export const enum Eng { IRQ = 0, STATE = 8, COMPLETED = 16, BELL = 24, BUSY = 28 }
/**
 * Engine states, written by the engine itself (the supervisor sets BOOTING at a launch and
 * resets a dead one's). BOOTING: the thread is starting, or warming its kernels; the
 * high-level API runs calls inline until every engine is past it. RUNG: parked and woken by a
 * doorbell (which set it), not yet up: the next doorbell passes it by.
 */
export const enum EngineState { OFF = 0, RUNNING = 1, PARKED = 2, BOOTING = 3, RUNG = 4 }
/**
 * Int32 word indexes in the work-queue header: producer, consumer and the group's words on their
 * own cache lines. SPINNER (the group's spinning engine) and TURN (the group arbiter's next turn)
 * are the group's: they are used in its first WQ's header (WqLayout.bell). ROOM counts the slots
 * made free while submitters sleep for one; SLEEPERS (two words) has a bit per vector whose
 * submitter sleeps for room (WorkQueue.whenRoom).
 */
export const enum WqWord { TAIL = 0, HEAD = 16, SPINNER = 33, TURN = 34, ROOM = 40, SLEEPERS = 41 }
export const WQ_HEADER_BYTES = 192;
/** Int32 words per slot state: seq, status, owner, fault tag (the rule that fired on it, faults.ts; 0: none). */
export const SLOT_WORDS = 4;

/** What computeLayout needs to know of a WQ (the topology gives it). */
export interface WqSpec {
  /** M of wqN.M */
  id: number;
  /** its device name: wqN.M */
  dev: string;
  name: string;
  mode: 'dedicated' | 'shared';
  /** index in Layout.groups */
  group: number;
  priority: number;
  /** ring slots: the WQ size rounded up to a power of two */
  ring: number;
  /** refuse a submission when this many descriptors wait unclaimed (the size, or a shared WQ's threshold); 0: only a full ring refuses */
  cap: number;
}

/** A WQ as dev.wq() and fault rules name it. */
export type WqNamed = Readonly<{ id: number; name: string; dev: string }>;

/**
 * Where `which` is in wqs, as dev.wq() and fault rules find a WQ: by id (a number), by its device
 * name 'wqN.M' (unique: it wins over a name), or by its name. -1: none; -2: a name several have.
 */
export function wqIndexOf(wqs: readonly WqNamed[], which: string | number): number {
  if (typeof which === 'number') return wqs.findIndex((w) => w.id === which);
  const byDev = wqs.findIndex((w) => w.dev === which);
  if (byDev >= 0) return byDev;
  const byName = wqs.filter((w) => w.name === which);
  return byName.length === 1 ? wqs.indexOf(byName[0]) : byName.length === 0 ? -1 : -2;
}

/** The WQs as a message lists them, "name (id M)": a name with control characters quoted, on one line. */
export const wqsListed = (wqs: readonly WqNamed[]): string => wqs.map((w) => `${/[\x00-\x1f\x7f]/.test(w.name) ? JSON.stringify(w.name) : w.name} (id ${w.id})`).join(', ');

/** A work queue's place in memory, with its attributes. */
export interface WqLayout extends WqSpec {
  header: number;
  states: number;
  slots: number;
  /** the device context its descriptors run under: the device's own, or a copy with this WQ's limits */
  ctx: number;
  /** the header whose doorbell, spinner and turn words the WQ's group shares (its first WQ's) */
  bell: number;
}

/** A group: its WQs (indexes in Layout.wqs) and the engine threads that serve them. */
export interface GroupLayout {
  id: number;
  wqs: number[];
  /** engine threads (0 .. engineCount - 1) */
  engines: number[];
}

export interface Layout {
  /** total memory bytes (a whole number of pages) */
  bytes: number;
  ctx: number;
  engines: number;
  vectors: number;
  device: number;
  /** the fault-injection rules (faults.ts) */
  faults: number;
  /** WQ 0 (the device's default portal): wqs[0]'s header, states, slots and ring */
  wqHeader: number;
  wqStates: number;
  wqSlots: number;
  wqSize: number;
  /** every WQ, by id; wqs[0] is the default portal's */
  wqs: WqLayout[];
  groups: GroupLayout[];
  tables: number;
  /** one Limit.CORE_SCRATCH_BYTES area per core instance: engine i has slot i, the device thread's core slot engineCount */
  scratch: number;
  /** engine threads the layout has room for (scratch slots) */
  engineCount: number;
  arenaBase: number;
  arenaEnd: number;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * `wqs`: the WQs, default portal first; `groups`: index-based (wqs by index, engine threads).
 * One WQ lays out exactly as the device always has.
 */
export function computeLayout(arenaBytes: number, wqs: WqSpec[], groups: GroupLayout[], engineCount: number): Layout {
  const ctx = CTX_ADDR;
  const engines = ctx + Ctx.SIZE;
  const vectors = engines + ENGINE_BYTES * MAX_ENGINES;
  const device = vectors + 4 * VECTOR_WORDS * MAX_VECTORS;
  const faults = align(device + 64, 64);
  let at = align(faults + FAULT_TABLE_BYTES, 64);
  const placed = wqs.map((w) => {
    const header = at;
    const states = header + WQ_HEADER_BYTES;
    const slots = align(states + 4 * SLOT_WORDS * w.ring, 64);
    at = align(slots + Desc.SIZE * w.ring, 64);
    return { ...w, header, states, slots, ctx: ctx, bell: header };
  });
  for (const w of placed.slice(1)) {
    w.ctx = at;
    at += Ctx.SIZE;
  }
  for (const g of groups) for (const i of g.wqs) placed[i].bell = placed[g.wqs[0]].header;
  const tables = align(at, 64);
  const scratch = tables + Limit.CORE_TABLE_BYTES;
  const arenaBase = align(scratch + Limit.CORE_SCRATCH_BYTES * (engineCount + 1), PAGE);
  const bytes = align(arenaBase + arenaBytes, PAGE);
  const q0 = placed[0];
  return {
    bytes, ctx, engines, vectors, device, faults, wqHeader: q0.header, wqStates: q0.states, wqSlots: q0.slots, wqSize: q0.ring, wqs: placed, groups, tables, scratch, engineCount, arenaBase, arenaEnd: bytes,
  };
}

/** The scratch area of engine `id`'s core; the host's core (id = layout.engineCount) has the last. */
export const scratchOf = (layout: Layout, id: number): number => {
  if (!(id >= 0 && id <= layout.engineCount)) throw new RangeError(`softdsa: no scratch slot for core ${id} (${layout.engineCount} engines)`);
  return layout.scratch + id * Limit.CORE_SCRATCH_BYTES;
};
