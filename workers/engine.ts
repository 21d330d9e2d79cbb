// An engine: a worker thread that drains its group's work queues through the Wasm core.
//
// The piscina task only starts the engine: it returns at once (so the pool holds no
// ref'd task and an idle device never keeps the process alive) and the loop runs from
// the next turn of the worker's event loop, for the life of the device. The loop claims
// descriptors and runs them; when the queue empties, one engine at a time spins for an
// adaptive while (spin.ts) (a new descriptor is then picked up in well under a microsecond), the
// others park on their bells (a futex word each, engine_states.ts) and burn no CPU.
import { instantiateCore } from '../src/device/core.ts';
import { Vectors } from '../src/device/completion.ts';
import { EngineStates } from '../src/device/engine_states.ts';
import { loadEventFd } from '../src/device/eventfd.ts';
import { SpinPolicy } from '../src/device/spin.ts';
import { Desc, Opcode, PasidWord, Status } from '../src/device/format.ts';
import { ForeignSpaces, runForeign } from '../src/device/foreign.ts';
import type { MessagePort } from 'node:worker_threads';
import { addonCrc, exitThread, workerData } from '../src/device/host.ts';
import { Dev, Eng, ENGINE_BYTES, EngineState, type Layout, scratchOf, WqWord } from '../src/device/layout.ts';
import { FaultTable, type Injection } from '../src/device/faults.ts';
import { settleUnrun } from '../src/device/record.ts';
import { WorkQueue } from '../src/device/work_queue.ts';
import { Arbiter } from '../src/device/arbiter.ts';
import { WARM_BYTES, warmUp } from '../src/device/warm_up.ts';

export interface EngineData {
  memory: WebAssembly.Memory;
  /** the core, compiled once (set when the engines start) */
  module?: WebAssembly.Module;
  layout: Layout;
  /** arena bytes for the warm-up: WARM_BYTES per engine, engine i at warm + i * WARM_BYTES (0: none) */
  warm: number;
  /** the longest an idle engine spins before it parks */
  spinMicros: number;
  /** use the event fd addon to signal vectors (the device's completion path) */
  eventfd: boolean;
  /** raise this thread's nice value by this much (0..19) at start, through the addon; 0 or absent: leave it */
  nice?: number;
  /** ask for this EEVDF slice (µs) at start, through the addon; 0 or absent: the kernel's */
  sliceMicros?: number;
  /** MEMMOVEs from this many bytes without Flag.CC bypass the cache, through the addon's streamCopy where it has one; 0 or absent: never */
  streamFrom?: number;
}

export interface EngineTask {
  id: number;
  /** warm the kernels up first (the first launch; a relaunched engine finds them compiled) */
  warm: boolean;
  /** where the device posts the foreign address spaces it registers */
  spaces: MessagePort;
}

const data = workerData as EngineData;
// Once per thread: run below the main thread's priority, so the kernel preempts an engine when the
// main thread wakes, and with a slice longer than the main thread's: EEVDF (Linux 6.12+) lets a
// waking task with a shorter slice cut short the slice the running task is owed, so the main
// thread waits for no engine's slice. Best effort: without the addon, or if a call fails, the
// engine keeps the process's priority and the kernel's slice.
/** Runs a best-effort setting: one that fails leaves the thread as it was. */
const tryTo = (set: () => unknown): void => {
  try {
    set();
  } catch {
    // (kept as it was)
  }
};
if (data.nice) tryTo(() => loadEventFd()?.setThreadNice?.(data.nice!));
if (data.sliceMicros) tryTo(() => loadEventFd()?.setThreadSlice?.(data.sliceMicros! * 1000));
const { memory, layout } = data;
let spaces: ForeignSpaces | null = null;
// Large copies bypass the cache where the addon has a copy that does (x86-64): Wasm has no such store.
const streamCopy = data.streamFrom ? loadEventFd()?.streamCopy : undefined;
const core = instantiateCore(data.module!, memory, {
  foreign: (desc, op, flags) => (spaces === null ? Status.INVALID_OPCODE : runForeign(bytes, desc, op, flags, spaces, core.setOutcome)),
  // (Wasm's i32s arrive signed: addresses from 2 GiB up are negative until made unsigned)
  streamCopy: streamCopy && ((dst, src, n) => streamCopy(bytes, dst >>> 0, src >>> 0, n >>> 0)),
  // Large CRCs on the CPU's instruction, three streams at once, where the addon has it.
  crc: addonCrc(),
});
if (streamCopy) core.setStreamFrom(data.streamFrom!);
/** The WQ of the descriptor being run (the group's only WQ, or the arbiter's last pick). */
let wq: WorkQueue;
/** Several WQs in this engine's group: the arbiter picks; one: null, claim from wq directly. */
let arbiter: Arbiter | null = null;
/** where work shows: the one WQ, or the arbiter over the group's WQs */
let source: { hasWork(): boolean; stalled(): boolean };
const buf = memory.buffer as unknown as SharedArrayBuffer;
const bytes = new Uint8Array(buf);
const dv = new DataView(buf);
/** the engines' states and bells: this engine's group's (a sibling it wakes is one of them) */
let states: EngineStates;
const vectors = new Vectors(memory, layout, data.eventfd ? loadEventFd() : null);
const faults = new FaultTable(memory, layout);

const dev = new Int32Array(buf, layout.device, 16);
/** the group's doorbell, spinner and turn words */
let words: Int32Array;
const nap = new Int32Array(new SharedArrayBuffer(4));
const RECHECK_MS = 200;
/** how long a woken engine waits for the work it was rung for (doorbell(n) comes before the enqueueing) */
const WAKE_WAIT_MS = 0.2;
/** Whether the thread that reserved a slot (named by its vector) is still there to publish it. */
const reserverLive = (vector: number): boolean => vectors.vectorLive(vector);

/** Connects this engine to the WQs of its group (layout.groups). */
function joinGroup(id: number): void {
  const group = layout.groups.find((g) => g.engines.includes(id)) ?? layout.groups[0];
  const queues = group.wqs.map((i) => new WorkQueue(memory, layout, i));
  wq = queues[0];
  words = wq.bell;
  states = new EngineStates(memory, layout, group.engines);
  arbiter = queues.length > 1 ? new Arbiter(queues, group.wqs.map((i) => layout.wqs[i].priority)) : null;
  source = arbiter ?? wq;
}

export default function start(task: EngineTask): 'started' {
  try {
    joinGroup(task.id);
    core.init(layout.ctx, scratchOf(layout, task.id));
    spaces = new ForeignSpaces(task.spaces, { engine: task.id, crc: (addr, length, seed) => core.crc32c(addr, length, seed, 0) >>> 0 });
    if (task.warm && data.warm !== 0) warmUp(core, bytes, layout, data.warm + task.id * WARM_BYTES);
  } catch (e) {
    // An engine that cannot start ends its thread: the supervisor sees a death at boot (counted,
    // retried; 3 in a row and the device says it cannot start). A thread left alive after a
    // failed start was never counted, and open() waited for it for good.
    setImmediate(() => exitThread(1));
    throw e;
  }
  states.set(task.id, EngineState.RUNNING);
  setImmediate(() => loop(task.id));
  return 'started';
}

function loop(id: number): void {
  const irq = layout.engines + id * ENGINE_BYTES;
  const block = new Int32Array(buf, irq, ENGINE_BYTES / 4);
  Atomics.store(block, Eng.BUSY / 4, 0); // (a dead predecessor may have left it set)
  // (and RCI marks it died before raising: its descriptor completed, so they are raised now,
  // late, and the handles they hold back from being handed out again are free once more)
  if ((block[0] | block[1]) !== 0) raise(block);
  const token = id + 1;
  const policy = new SpinPolicy(data.spinMicros);
  let idleSince = -1;
  let budget = 0;

  for (;;) {
    const pos = arbiter === null ? wq.claim(id, reserverLive) : arbiter.claim(id, reserverLive);
    if (pos >= 0) {
      if (arbiter !== null) wq = arbiter.current;
      if (idleSince >= 0) {
        policy.record(performance.now() - idleSince);
        idleSince = -1;
        Atomics.compareExchange(words, WqWord.SPINNER, token, 0);
      }
      // More waiting than this engine can take: wake a parked sibling.
      if (source.hasWork()) states.wake(1);
      run(pos, irq, block);
      continue;
    }
    if (Atomics.load(dev, Dev.STOP) !== 0) break;
    const now = performance.now();
    if (idleSince < 0) {
      idleSince = now;
      budget = policy.budget;
    }
    // One spinner at a time: on two cores, two spinning engines would starve the submitter.
    const spinner = Atomics.load(words, WqWord.SPINNER) === token || Atomics.compareExchange(words, WqWord.SPINNER, 0, token) === 0;
    if (spinner && now - idleSince < budget) continue;
    if (spinner) {
      Atomics.compareExchange(words, WqWord.SPINNER, token, 0);
      // The whole budget went by: the gap is at least that. (Only spins teach the policy:
      // the wait of a parked engine includes its own wake-up.)
      if (budget > 0) policy.record(now - idleSince);
    }
    // Park: publish the state, re-check, then sleep on this engine's bell (Dekker with push + doorbell()).
    const bell = states.bell(id);
    states.set(id, EngineState.PARKED);
    // The timeout is a safety net, not the wake-up path: a doorbell that goes missing
    // costs at most a 200 ms stall, never a hang. (One did: submitters napping with
    // Atomics.waitAsync on the shared doorbell word of the time took the notify meant for an engine.) A
    // recheck that finds nothing parks again at once (no spin): 5 wake-ups a second idle.
    // A slot reserved and not yet published at head (its submitter mid-push, or ended there):
    // look again in 1 ms, when a reservation of a thread that is gone gets skipped.
    while (!source.hasWork() && Atomics.load(dev, Dev.STOP) === 0) {
      spaces?.drain();
      const stalled = source.stalled();
      if (states.sleep(id, bell, stalled ? 1 : RECHECK_MS) !== 'timed-out' || stalled) break;
    }
    // (a doorbell marked it RUNG; a recheck's timeout, or a stall, did not)
    const rung = states.get(id) === EngineState.RUNG;
    states.set(id, EngineState.RUNNING);
    idleSince = -1;
    // Rung ahead of its work (a split call wakes its engines first): wait for it a moment
    // rather than park again at once.
    if (rung) {
      const since = performance.now();
      while (!source.hasWork() && performance.now() - since < WAKE_WAIT_MS && Atomics.load(dev, Dev.STOP) === 0);
    }
  }
  states.set(id, EngineState.OFF);
}

function run(pos: number, irq: number, block: Int32Array): void {
  const addr = wq.slotAddress(pos);
  // A fault rule fired on it at submission (faults.ts): the slot's tag names it.
  const tag = wq.tagOf(pos);
  const inj = tag === 0 ? null : faults.take(tag);
  if (bytes[addr + Desc.OPCODE] === Opcode.DRAIN) drain(pos);
  // (under the WQ's own limits: max transfer, max batch). BUSY while it runs: an unmap waits for
  // it to clear before the file windows go back to the arena; cleared before the completion, which
  // is what the unmapper waited for.
  Atomics.store(block, Eng.BUSY / 4, 1);
  const status = inj === null ? core.execute(addr, wq.ctx, irq) : runInjected(inj, addr, irq, block);
  Atomics.store(block, Eng.BUSY / 4, 0);
  // (a batch that failed, run by the core: which member's record could not be written)
  if (bytes[addr + Desc.OPCODE] === Opcode.BATCH) wq.setNote(pos, status === Status.BATCH_FAIL && (inj === null || inj.status < 0) ? core.batchRecordError() : 0);
  const vector = wq.vectorOf(pos);
  // Counted before the slot is released: a submitter that sees its completion and reads
  // stats() at once must find it counted.
  Atomics.add(block, Eng.COMPLETED / 4, 1);
  wq.complete(pos, status);
  if (inj?.lostInterrupt === true) {
    // Written, never signalled: the submitter's poll path (its safety net) must find it.
    Atomics.store(block, 0, 0);
    Atomics.store(block, 1, 0);
    return;
  }
  if ((block[0] | block[1]) !== 0) raise(block);
  vectors.signalIfArmed(vector);
}

/** Runs a descriptor a fault rule fired on; returns its status (or the engine dies). */
function runInjected(inj: Injection, addr: number, irq: number, block: Int32Array): number {
  // (an added latency comes first: the engine dies that much later, and what it held completes so)
  if (inj.die && !inj.dieAfter) {
    if (inj.latencyMs > 0) lateBy(inj.latencyMs);
    kill(inj);
  }
  let status: number;
  if (inj.status >= 0) {
    // Not run: completed with the status, the record written and RCI raised as the device would.
    status = inj.status;
    const handle = settleUnrun(bytes, bytes.subarray(addr, addr + Desc.SIZE), layout.arenaBase, layout.arenaEnd, status);
    if (handle >= 0 && vectors.isHandle(handle)) Atomics.or(block, handle >> 5, 1 << (handle & 31));
  } else {
    // The hole is in the descriptor's own address space: the arena's bounds in the core, or its
    // foreign space's (an offset there is no arena address: set in the arena too, it faulted the
    // arena's completion record when the numbers met).
    const hole = inj.pageFault ? faults.holeOf(addr, inj) : -1;
    const inArena = (dv.getUint32(addr + Desc.PASID, true) & PasidWord.PASID_MASK) === 0;
    const arenaHole = inArena && hole >= 0 && hole < 2 ** 32 ? hole : -1;
    if (arenaHole >= 0) core.injectHole(arenaHole, 1);
    if (spaces !== null && !inArena) spaces.hole = hole;
    try {
      status = core.execute(addr, wq.ctx, irq);
    } finally {
      if (arenaHole >= 0) core.injectHole(0, 0);
      if (spaces !== null) spaces.hole = -1;
    }
    const code = status & Status.CODE_MASK;
    // (missed too when it faulted first somewhere else, at a page that really is not mapped)
    const hit = hole >= 0 && (code === Status.PAGE_FAULT || code === Status.BATCH_PAGE_FAULT) && core.faultAddress() === BigInt(hole);
    if (inj.pageFault && !hit) faults.missed(inj);
  }
  if (inj.latencyMs > 0) lateBy(inj.latencyMs);
  if (inj.die) kill(inj);
  return status;
}

/**
 * An injected latency: this long before the completion, or until close() begins (it sets and
 * notifies Dev.CLOSING): close() waits for the work in flight, and would have waited out a long
 * latency (30 s held it 30 s).
 */
function lateBy(ms: number): void {
  const until = performance.now() + ms;
  for (let left = ms; left > 0 && Atomics.load(dev, Dev.CLOSING) === 0; left = until - performance.now()) Atomics.wait(dev, Dev.CLOSING, 0, left);
}

/**
 * RCI: raise every interrupt handle the core marked in this engine's mask, then clear the marks:
 * while a handle's mark stands it is not handed out again (Vectors.claim), so a handle given
 * back as its descriptor completes is not raised for its next owner. (Only this engine marks
 * its mask: nothing is lost between the loads and the stores.)
 */
function raise(block: Int32Array): void {
  const lo = Atomics.load(block, 0);
  const hi = Atomics.load(block, 1);
  for (let h = 0; h < 32; h++) if ((lo >>> h) & 1) vectors.signal(h);
  for (let h = 0; h < 32; h++) if ((hi >>> h) & 1) vectors.signal(h + 32);
  Atomics.store(block, 0, 0);
  Atomics.store(block, 1, 0);
}

/** DRAIN completes after every earlier descriptor of the queue, whichever engine runs it. */
function drain(pos: number): void {
  for (let d = 1; d < wq.size; d++) {
    const q = (pos - d) | 0;
    for (let spins = 0; wq.isPending(q); spins++) if (spins > 1000) Atomics.wait(nap, 0, 0, 0.05);
  }
}

/** An injected engine death: die with the descriptor held (thread exit, or a throw). */
function kill(inj: Injection): never {
  if (!inj.dieThrow) exitThread(3);
  throw new Error('softdsa fault injection: engine death (thrown on purpose)');
}
