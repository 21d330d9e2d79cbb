// Fault injection: rules that make chosen descriptors fail the way hardware fails, so that a
// client's error paths can be tested on purpose: a page fault part-way (partial completion), any
// status code, a refused submission (a full shared WQ), an engine that dies holding the
// descriptor (0x20), added latency, a lost interrupt.
//
// The rules live in a table in the device's control region, so every thread sees them: the
// submitter's portal matches each descriptor against them as it enters the queue (one load of
// the ACTIVE word when there are none), and stamps the rule that fired into the slot's tag word.
// The engine that runs the slot reads the tag (0: run as usual) and applies the rule's effect.
// Matching at submission makes the choice reproducible: for a given seed and the same submissions,
// the same descriptors fault, however many engines run them. 'refuse' acts in the portal itself.
import { Errors } from './errors.ts';
import { own } from './own.ts';
import { Desc, DifFlag, DifTuple, Flag, Opcode, PasidWord } from './format.ts';
import { type Layout, type WqNamed, wqIndexOf, wqsListed } from './layout.ts';

/** How an engine dies: its thread exits, or throws; before running the descriptor or after it (before completing it). */
export interface EngineDeath {
  how?: 'exit' | 'throw' | undefined;
  when?: 'before' | 'after' | undefined;
}

export interface FaultRule {
  // ---- which descriptors (all that are given must match) ----
  /** opcode(s) (Opcode) */
  opcode?: number | readonly number[] | undefined;
  /** work queue, as `dev.wq()` takes it: its id (the M of wqN.M: Device.open's one WQ is 0; Device.fromConfig's are the file's), its name, or 'wqN.M' */
  wq?: number | string | undefined;
  /** [start, end): a descriptor any of whose ranges meets it (source, destination, a second destination, a delta record, a seed in memory) */
  address?: readonly [number, number] | undefined;
  /** fire for each matching descriptor with this probability (seeded: reproducible) */
  probability?: number | undefined;
  /** fire for every N-th matching descriptor (the N-th, 2N-th, ...) */
  every?: number | undefined;
  /** fire at most this many times (then the rule is spent) */
  times?: number | undefined;
  // ---- what happens (one of pageFault, status, engineDeath, refuse; latency and lostInterrupt combine with any but refuse) ----
  /**
   * the byte at `operand` + offset is unmapped: the descriptor runs up to it and completes with a
   * page fault (0x03, bit 7 set for a write), bytes completed and fault address as the core
   * reports a real one. operand: 'src' (@16, default) or 'dst' (@24). Matches only descriptors
   * whose transfer size reaches past offset, and not BOF ones (the OS would map the page).
   */
  pageFault?: { offset: number; operand?: 'src' | 'dst' | undefined } | undefined;
  /** the descriptor is not run: it completes with this status code (its record written if it asks for one) */
  status?: number | undefined;
  /** the submission is refused as a full shared WQ refuses it (submit rejects with QUEUE_FULL, or waits with retry) */
  refuse?: boolean | undefined;
  /** the engine that runs it dies (0x20 for what it held; the engine is replaced) */
  engineDeath?: EngineDeath | boolean | undefined;
  /** ms added before the completion */
  latency?: number | undefined;
  /** the completion is written but its interrupt (the submitter's vector, RCI handles) is not raised */
  lostInterrupt?: boolean | undefined;
}

export const EFFECTS = ['pageFault', 'status', 'refuse', 'engineDeath', 'latency', 'lostInterrupt'] as const;
export type FaultEffect = (typeof EFFECTS)[number];

export interface FaultStats {
  /** the seed of the probabilities (DeviceOptions.faultSeed): give it again to replay a run */
  seed: number;
  /** descriptors a rule fired on (refusals included) */
  injected: number;
  byEffect: Record<FaultEffect, number>;
}

/** What `dev.inject()` returns. */
export interface FaultHandle {
  readonly id: number;
  /** times the rule fired so far */
  readonly fired: number;
  /** removes the rule: descriptors it was stamped on and no engine has run yet run as usual */
  remove(): void;
}

/** What an engine applies to one descriptor. */
export interface Injection {
  pageFault: boolean;
  /** the faulting operand's descriptor offset (Desc.SRC or Desc.DST) and the offset into it */
  operand: number;
  offset: number;
  /** a status to complete with, or -1 */
  status: number;
  die: boolean;
  dieThrow: boolean;
  dieAfter: boolean;
  latencyMs: number;
  lostInterrupt: boolean;
  /** the slot's tag it was taken with (missed() names the rule by it) */
  tag: number;
}

// ---- the table: a header, then MAX_RULES entries of Int32 words ----
export const MAX_RULES = 32;
const HEADER_WORDS = 16;
const ENTRY_WORDS = 32;
export const FAULT_TABLE_BYTES = 4 * (HEADER_WORDS + MAX_RULES * ENTRY_WORDS);
const enum H { ACTIVE = 0, VERSION = 1, SEED = 2, SERIAL = 3, INJECTED = 4, BY_EFFECT = 5 }
/** Entry words; doubles at F64 word pairs (8-byte aligned: entries are 128 bytes from a 64-byte aligned table). */
/** FIRED: descriptors the rule tagged (what `times` counts); TOOK: of those, the ones it acted on (an engine took the tag, or a refusal): the handle's `fired`. */
const enum E { SERIAL = 0, FLAGS = 1, WQ = 2, EVERY = 3, TIMES = 4, MATCHED = 5, FIRED = 6, OFFSET = 7, STATUS = 8, LATENCY_US = 9, ADDR_START = 10, ADDR_END = 12, PROBABILITY = 14, OPCODES = 16, TOOK = 24 }
const enum F {
  HAS_OPCODE = 1 << 0, HAS_WQ = 1 << 1, HAS_ADDR = 1 << 2, HAS_PROB = 1 << 3,
  PAGE_FAULT = 1 << 8, STATUS = 1 << 9, REFUSE = 1 << 10, DIE = 1 << 11, LATENCY = 1 << 12, LOST_IRQ = 1 << 13,
  OPERAND_DST = 1 << 16, DIE_THROW = 1 << 17, DIE_AFTER = 1 << 18,
}
const EFFECT_FLAGS = [F.PAGE_FAULT, F.STATUS, F.REFUSE, F.DIE, F.LATENCY, F.LOST_IRQ];
/** The slot tag: entry index + 1 in the low bits, the rule's serial above (a reused entry does not match an old tag). */
const TAG_INDEX_BITS = 6;
const SERIAL_MASK = (1 << (31 - TAG_INDEX_BITS)) - 1;
/** match() for a submission a 'refuse' rule refused. */
export const REFUSED = -1;

interface Compiled {
  index: number;
  serial: number;
  flags: number;
  wq: number;
  every: number;
  times: number;
  start: number;
  end: number;
  probability: number;
  opcodes: Int32Array;
  offset: number;
}

/** The device's fault rules, over its shared memory: one per thread that submits or runs descriptors. */
export class FaultTable {
  readonly #w: Int32Array;
  readonly #f: Float64Array;
  readonly #mem: DataView;
  /** the device's WQs: what a rule's `wq` may name */
  readonly #wqs: readonly WqNamed[];
  #version = -1;
  #rules: Compiled[] = [];

  constructor(memory: WebAssembly.Memory, layout: Layout) {
    const buf = memory.buffer as unknown as SharedArrayBuffer;
    this.#w = new Int32Array(buf, layout.faults, FAULT_TABLE_BYTES / 4);
    this.#f = new Float64Array(buf, layout.faults, FAULT_TABLE_BYTES / 8);
    this.#mem = new DataView(buf);
    this.#wqs = layout.wqs;
  }

  /** The opener, before any rule: the seed of the probabilities. */
  setSeed(seed: number): void {
    Atomics.store(this.#w, H.SEED, seed | 0);
  }

  /** True while a rule is set: the portal's one check per descriptor. */
  active(): boolean {
    return Atomics.load(this.#w, H.ACTIVE) !== 0;
  }

  // ---- the opener: add and remove ----

  /** Checks and stores a rule; returns its handle. */
  add(rule: FaultRule): FaultHandle {
    const checked = checkRule(rule, this.#wqs);
    const { flags, wq } = checked;
    rule = checked.rule;
    const index = this.#freeEntry();
    const w = this.#w;
    const base = HEADER_WORDS + index * ENTRY_WORDS;
    const serial = (Atomics.add(w, H.SERIAL, 1) + 1) & SERIAL_MASK || 1;
    w.fill(0, base, base + ENTRY_WORDS);
    w[base + E.FLAGS] = flags;
    w[base + E.WQ] = wq;
    w[base + E.EVERY] = rule.every ?? 0;
    w[base + E.TIMES] = rule.times ?? 0;
    w[base + E.OFFSET] = rule.pageFault?.offset ?? 0;
    w[base + E.STATUS] = rule.status ?? 0;
    w[base + E.LATENCY_US] = Math.round((rule.latency ?? 0) * 1000);
    this.#f[(base + E.ADDR_START) / 2] = rule.address?.[0] ?? 0;
    this.#f[(base + E.ADDR_END) / 2] = rule.address?.[1] ?? 0;
    this.#f[(base + E.PROBABILITY) / 2] = rule.probability ?? 1;
    for (const op of rule.opcode === undefined ? [] : typeof rule.opcode === 'number' ? [rule.opcode] : rule.opcode) {
      w[base + E.OPCODES + (op >> 5)] |= 1 << (op & 31);
    }
    Atomics.store(w, base + E.SERIAL, serial); // live from here
    Atomics.add(w, H.ACTIVE, 1);
    Atomics.add(w, H.VERSION, 1);
    const times = rule.times ?? Infinity;
    const count = (): number => Math.min(Atomics.load(w, base + E.TOOK), times);
    /** the count once the rule is gone (its entry may then be another rule's) */
    let kept = -1;
    return {
      id: serial,
      get fired(): number {
        if (kept >= 0) return kept;
        if (Atomics.load(w, base + E.SERIAL) === serial) return count();
        // Gone without remove(): a spent rule (it fired `times` times), its entry taken back.
        return (kept = times !== Infinity && times > 0 ? times : count());
      },
      remove: () => {
        if (kept < 0 && Atomics.load(w, base + E.SERIAL) === serial) kept = count();
        this.#remove(index, serial);
      },
    };
  }

  #remove(index: number, serial: number): void {
    const at = HEADER_WORDS + index * ENTRY_WORDS + E.SERIAL;
    if (Atomics.compareExchange(this.#w, at, serial, 0) !== serial) return; // removed already
    Atomics.sub(this.#w, H.ACTIVE, 1);
    Atomics.add(this.#w, H.VERSION, 1);
  }

  /** A free entry; spent rules (fired `times` times) are taken back when there is none. */
  #freeEntry(): number {
    const w = this.#w;
    for (let i = 0; i < MAX_RULES; i++) if (w[HEADER_WORDS + i * ENTRY_WORDS + E.SERIAL] === 0) return i;
    for (let i = 0; i < MAX_RULES; i++) {
      const base = HEADER_WORDS + i * ENTRY_WORDS;
      const times = w[base + E.TIMES];
      if (times > 0 && Atomics.load(w, base + E.FIRED) >= times) {
        this.#remove(i, w[base + E.SERIAL]);
        return i;
      }
    }
    throw Errors.noRuleRoom(MAX_RULES);
  }

  // ---- submitters ----

  /**
   * The 'refuse' rules (`refusing`), tried as a descriptor is offered, or the others, tried once it
   * has a slot: REFUSED, the tag of the rule that fired for the engine, or 0 (none fired).
   */
  match(desc: Uint8Array, wq: number, refusing: boolean): number {
    const w = this.#w;
    const rules = this.#compiled();
    if (rules.length === 0) return 0;
    const dv = new DataView(desc.buffer, desc.byteOffset, Desc.SIZE);
    const op = desc[Desc.OPCODE];
    for (const r of rules) {
      if (((r.flags & F.REFUSE) !== 0) !== refusing) continue;
      if ((r.flags & F.HAS_WQ) !== 0 && r.wq !== wq) continue;
      if ((r.flags & F.HAS_OPCODE) !== 0 && (r.opcodes[op >> 5] & (1 << (op & 31))) === 0) continue;
      if ((r.flags & F.HAS_ADDR) !== 0 && !meets(dv, op, r.start, r.end)) continue;
      if ((r.flags & F.PAGE_FAULT) !== 0 && !faultable(dv, op, r.offset, (r.flags & F.OPERAND_DST) !== 0)) continue;
      const base = HEADER_WORDS + r.index * ENTRY_WORDS;
      if (Atomics.load(w, base + E.SERIAL) !== r.serial) continue; // removed since
      const n = Atomics.add(w, base + E.MATCHED, 1);
      if (r.every > 0 && n % r.every !== r.every - 1) continue;
      if ((r.flags & F.HAS_PROB) !== 0 && chance(Atomics.load(w, H.SEED), r.serial, n) >= r.probability) continue;
      // (spent: the count goes back, so that a fault another descriptor then misses, and gives
      // back, leaves the rule one to fire, not one this descriptor's look took)
      if (r.times > 0 && Atomics.add(w, base + E.FIRED, 1) >= r.times) {
        Atomics.sub(w, base + E.FIRED, 1);
        continue;
      }
      if (r.times === 0) Atomics.add(w, base + E.FIRED, 1);
      if ((r.flags & F.REFUSE) !== 0) {
        Atomics.add(w, base + E.TOOK, 1);
        this.#count(r.flags);
        return REFUSED;
      }
      return (r.serial << TAG_INDEX_BITS) | (r.index + 1);
    }
    return 0;
  }

  /** The live rules, decoded again only when the table changed. */
  #compiled(): Compiled[] {
    const w = this.#w;
    const version = Atomics.load(w, H.VERSION);
    if (version === this.#version) return this.#rules;
    const rules: Compiled[] = [];
    for (let i = 0; i < MAX_RULES; i++) {
      const base = HEADER_WORDS + i * ENTRY_WORDS;
      const serial = Atomics.load(w, base + E.SERIAL);
      if (serial === 0) continue;
      rules.push({
        index: i,
        serial,
        flags: w[base + E.FLAGS],
        wq: w[base + E.WQ],
        every: w[base + E.EVERY],
        times: w[base + E.TIMES],
        start: this.#f[(base + E.ADDR_START) / 2],
        end: this.#f[(base + E.ADDR_END) / 2],
        probability: this.#f[(base + E.PROBABILITY) / 2],
        opcodes: w.slice(base + E.OPCODES, base + E.OPCODES + 8),
        offset: w[base + E.OFFSET] >>> 0,
      });
    }
    // Injection order: the first rule that fires takes the descriptor.
    rules.sort((a, b) => a.serial - b.serial);
    this.#rules = rules;
    this.#version = version;
    return rules;
  }

  // ---- engines ----

  /** What the rule named by a slot's tag does (counted as injected), or null if it was removed meanwhile. */
  take(tag: number): Injection | null {
    const w = this.#w;
    const base = entryOf(tag);
    const serial = tag >>> TAG_INDEX_BITS;
    if (Atomics.load(w, base + E.SERIAL) !== serial) return null;
    const flags = w[base + E.FLAGS];
    const inj: Injection = {
      pageFault: (flags & F.PAGE_FAULT) !== 0,
      operand: (flags & F.OPERAND_DST) !== 0 ? Desc.DST : Desc.SRC,
      offset: w[base + E.OFFSET] >>> 0,
      status: (flags & F.STATUS) !== 0 ? w[base + E.STATUS] : -1,
      die: (flags & F.DIE) !== 0,
      dieThrow: (flags & F.DIE_THROW) !== 0,
      dieAfter: (flags & F.DIE_AFTER) !== 0,
      latencyMs: (flags & F.LATENCY) !== 0 ? w[base + E.LATENCY_US] / 1000 : 0,
      lostInterrupt: (flags & F.LOST_IRQ) !== 0,
      tag,
    };
    // Removed (and its entry reused) while we read it: not this rule's fields. (A rule removed
    // after it tagged the descriptor does nothing to it: the descriptor runs as usual, uncounted.)
    if (Atomics.load(w, base + E.SERIAL) !== serial) return null;
    Atomics.add(w, base + E.TOOK, 1);
    this.#count(flags);
    return inj;
  }

  /** The address an injected page fault makes unmapped in the descriptor at `desc` (memory offset), or -1: none the arena could hold. */
  holeOf(desc: number, inj: Injection): number {
    const dv = this.#mem;
    // (a 53-bit address: a mapped file's offsets pass 4 GiB; the arena's, 4 GiB at most, are checked by the engine)
    const at = dv.getUint32(desc + inj.operand + 4, true) * 2 ** 32 + dv.getUint32(desc + inj.operand, true) + inj.offset;
    return at < 2 ** 53 ? at : -1;
  }

  /**
   * An injected page fault the descriptor never reached (it ran whole: a cache flush, a DIX
   * generate's protection information shorter than the offset, a descriptor refused before it
   * touched memory): not counted, and not one of the rule's `times`. The rule still fired if it
   * also added a latency or lost an interrupt.
   */
  missed(inj: Injection): void {
    const w = this.#w;
    Atomics.sub(w, H.BY_EFFECT + EFFECTS.indexOf('pageFault'), 1);
    if (inj.latencyMs > 0 || inj.lostInterrupt) return;
    Atomics.sub(w, H.INJECTED, 1);
    const base = entryOf(inj.tag);
    if (Atomics.load(w, base + E.SERIAL) === inj.tag >>> TAG_INDEX_BITS) {
      Atomics.sub(w, base + E.FIRED, 1);
      Atomics.sub(w, base + E.TOOK, 1);
    }
  }

  #count(flags: number): void {
    Atomics.add(this.#w, H.INJECTED, 1);
    for (let e = 0; e < EFFECT_FLAGS.length; e++) if ((flags & EFFECT_FLAGS[e]) !== 0) Atomics.add(this.#w, H.BY_EFFECT + e, 1);
  }

  stats(): FaultStats {
    const w = this.#w;
    const byEffect = Object.fromEntries(EFFECTS.map((name, e) => [name, Atomics.load(w, H.BY_EFFECT + e)])) as Record<FaultEffect, number>;
    return { seed: Atomics.load(w, H.SEED) >>> 0, injected: Atomics.load(w, H.INJECTED), byEffect };
  }
}

/** The first word of the table entry a slot's tag names (its low bits: the entry's index + 1). */
const entryOf = (tag: number): number => HEADER_WORDS + ((tag & ((1 << TAG_INDEX_BITS) - 1)) - 1) * ENTRY_WORDS;

/** A value as a message shows it: a string quoted, so '3' is not taken for 3; a bigint with its n, and said to be one (3n is not 3: a rule's fields are numbers). */
const describe = (v: unknown): string => {
  const show = (x: unknown): string => (typeof x === 'string' ? JSON.stringify(x) : typeof x === 'bigint' ? `${x}n` : Array.isArray(x) ? `[${x.map(show).join(', ')}]` : String(x));
  const big = typeof v === 'bigint' || (Array.isArray(v) && v.some((x) => typeof x === 'bigint'));
  return big ? `${show(v)} (a bigint: a rule's fields are numbers)` : show(v);
};

/**
 * Does a range the descriptor reads or writes in the arena (where its opcode has it) meet [start, end)? Its
 * source and destination, and a dualcast's second destination, a delta record (created or
 * applied), a CRC seed read from memory.
 */
function meets(dv: DataView, op: number, start: number, end: number): boolean {
  if ((dv.getUint32(Desc.PASID, true) & PasidWord.PASID_MASK) !== 0) return false; // (another address space's offsets: not the arena's range)
  const size = dv.getUint32(Desc.XFER_SIZE, true);
  const within = (at: number, len: number): boolean => {
    const a = Number(dv.getBigUint64(at, true));
    return a < end && a + Math.max(len, 1) > start;
  };
  switch (op) {
    case Opcode.BATCH:
      return within(Desc.LIST, size * Desc.SIZE);
    case Opcode.DUALCAST:
      return within(Desc.SRC, size) || within(Desc.DST, size) || within(Desc.DST2, size);
    case Opcode.CR_DELTA:
      return within(Desc.SRC, size) || within(Desc.SRC2, size) || within(Desc.DELTA_ADDR, dv.getUint32(Desc.DELTA_MAX, true));
    case Opcode.AP_DELTA:
      return within(Desc.SRC, dv.getUint32(Desc.DELTA_SIZE, true)) || within(Desc.DST, size);
    case Opcode.CRCGEN:
    case Opcode.COPY_CRC:
      if ((dv.getUint32(Desc.FLAGS, true) & Flag.CRC_SEED_ADDR) !== 0 && within(Desc.CRC_SEED_ADDR, 4)) return true;
  }
  return (hasSrc(op) && within(Desc.SRC, size)) || (hasDst(op) && within(Desc.DST, dstBytes(dv, op, size)));
}

/** DIF data bytes per block (DifFlag.BLOCK_SIZE_MASK). */
const DIF_BLOCKS = [512, 520, 4096, 4104];

/**
 * Bytes written through the destination field: the transfer size, but for the DIF ops, whose
 * blocks gain or lose their 8-byte tuple on the way (assembly/kernels/dif.ts: DIF insert writes
 * blocks and tuples, strip the blocks alone, DIX generate the tuples alone).
 */
function dstBytes(dv: DataView, op: number, size: number): number {
  if (op !== Opcode.DIF_INS && op !== Opcode.DIF_STRP && op !== Opcode.DIX_GEN) return size;
  const bs = DIF_BLOCKS[dv.getUint8(Desc.DIF_FLAGS) & DifFlag.BLOCK_SIZE_MASK];
  const blocks = Math.floor(size / (op === Opcode.DIF_STRP ? bs + DifTuple.SIZE : bs));
  return blocks * (op === Opcode.DIF_INS ? bs + DifTuple.SIZE : op === Opcode.DIF_STRP ? bs : DifTuple.SIZE);
}

/** Does the opcode address memory through the source field? (A fill's holds its pattern.) */
const hasSrc = (op: number): boolean => op !== Opcode.MEMFILL && op !== Opcode.NOOP && op !== Opcode.DRAIN && op !== Opcode.CFLUSH;

/** Does it through the destination field? (A compare's second source, a cache flush's range.) */
const hasDst = (op: number): boolean =>
  op !== Opcode.COMPVAL && op !== Opcode.CRCGEN && op !== Opcode.NOOP && op !== Opcode.DRAIN && op !== Opcode.TRANSL_FETCH && op !== Opcode.DIF_CHECK && op !== Opcode.BATCH;

/**
 * Whether a page fault `offset` bytes into an operand (`dst`: the destination field's) can hit
 * this descriptor: its opcode has that operand, the transfer reaches that far, and it does not
 * ask to block on faults (BOF: the OS would map the page). A rule that cannot hit does not fire.
 */
function faultable(dv: DataView, op: number, offset: number, dst: boolean): boolean {
  if ((dv.getUint32(Desc.FLAGS, true) & Flag.BOF) !== 0) return false;
  if (dst ? !hasDst(op) : !hasSrc(op)) return false; // no such operand: nothing to fault
  const size = dv.getUint32(Desc.XFER_SIZE, true);
  return offset < (op === Opcode.BATCH ? size * Desc.SIZE : dst ? dstBytes(dv, op, size) : size);
}

/** A number in [0, 1) from (seed, rule, match ordinal): the same for the same three, on any thread. */
function chance(seed: number, serial: number, n: number): number {
  let x = (seed + Math.imul(serial, 0x9e3779b9) + Math.imul(n, 0x632be5ab)) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  x ^= x >>> 16;
  return (x >>> 0) / 2 ** 32;
}

/** An object with fields (not null, not an array), as a rule and its nested fields are. */
const isRecord = (v: unknown): v is object => v !== null && typeof v === 'object' && !Array.isArray(v);
const shapeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** A nested field of a rule names only what it takes (a misspelt `When` took the default 'before', said nowhere). */
function onlyFields(name: string, v: object, fields: readonly string[]): void {
  for (const k of Object.keys(v)) if (!fields.includes(k)) throw Errors.faultRuleShape(`${name}: unknown field "${k}" (fields: ${fields.join(', ')})`);
}

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 0x7fffffff;

/**
 * Validates a rule for a device whose WQs are `wqs`; returns its flags word, its WQ's id, and the
 * rule as read: its own fields only, each read once (Object.prototype.status is no effect given),
 * pageFault's and engineDeath's too. Every problem names the field.
 */
export function checkRule(rule: FaultRule, wqs: readonly WqNamed[]): { flags: number; wq: number; rule: FaultRule } {
  if (!isRecord(rule)) throw Errors.faultRuleShape(`a rule is an object; got ${shapeOf(rule)}`);
  const known = new Set<string>(['opcode', 'wq', 'address', 'probability', 'every', 'times', ...EFFECTS]);
  const r = own(rule) as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!known.has(k)) throw Errors.faultRuleShape(`unknown field "${k}" (fields: ${[...known].join(', ')})`);
  for (const k of ['pageFault', 'engineDeath']) if (isRecord(r[k])) r[k] = own(r[k]);
  let flags = 0;
  if (r.opcode !== undefined) {
    const ops = typeof r.opcode === 'number' ? [r.opcode] : r.opcode;
    if (!Array.isArray(ops) || ops.length === 0 || !ops.every((o) => Number.isInteger(o) && o >= 0 && o <= 0xff)) {
      throw Errors.faultRule(`opcode must be an opcode (0-255) or a non-empty list of them; got ${describe(r.opcode)}`);
    }
    flags |= F.HAS_OPCODE;
  }
  let wq = 0;
  if (r.wq !== undefined) {
    if (typeof r.wq !== 'string' && (!Number.isInteger(r.wq) || (r.wq as number) < 0 || (r.wq as number) > 7)) throw Errors.faultRule(`wq must be a work queue id from 0 to 7, its name or 'wqN.M'; got ${describe(r.wq)}`);
    // (as dev.wq() finds one; a rule naming a WQ the device lacks would never match: a test of nothing, silently)
    const index = wqIndexOf(wqs, r.wq as string | number);
    if (index < 0) throw Errors.faultRule(`wq ${describe(r.wq)}: ${index === -1 ? 'this device has no such work queue' : 'that name is on several work queues: give the id'} (its WQs: ${wqsListed(wqs)})`);
    wq = wqs[index].id;
    flags |= F.HAS_WQ;
  }
  if (r.address !== undefined) {
    const a = r.address as unknown[];
    if (!Array.isArray(a) || a.length !== 2 || !a.every((x) => Number.isSafeInteger(x) && (x as number) >= 0) || (a[0] as number) >= (a[1] as number)) {
      throw Errors.faultRule(`address must be [start, end): integers (numbers, at most 2^53 - 1) with 0 <= start < end; got ${describe(r.address)}`);
    }
    flags |= F.HAS_ADDR;
  }
  if (r.probability !== undefined) {
    if (typeof r.probability !== 'number' || !(r.probability >= 0 && r.probability <= 1)) throw Errors.faultRule(`probability must be a number from 0 to 1; got ${describe(r.probability)}`);
    flags |= F.HAS_PROB;
  }
  if (r.every !== undefined && !isCount(r.every)) throw Errors.faultRule(`every must be a positive integer, at most 2^31 - 1; got ${describe(r.every)}`);
  if (r.times !== undefined && !isCount(r.times)) throw Errors.faultRule(`times must be a positive integer, at most 2^31 - 1; got ${describe(r.times)}`);

  const given = EFFECTS.filter((e) => r[e] !== undefined && r[e] !== false);
  const deciding = given.filter((e) => e === 'pageFault' || e === 'status' || e === 'engineDeath' || e === 'refuse');
  if (given.length === 0) throw Errors.faultRule(`a rule needs an effect: ${EFFECTS.join(', ')}`);
  if (deciding.length > 1) throw Errors.faultRule(`one of pageFault, status, engineDeath, refuse per rule; got ${deciding.join(' and ')}`);
  if (r.refuse !== undefined && r.refuse !== false) {
    if (r.refuse !== true) throw Errors.faultRule(`refuse must be true; got ${describe(r.refuse)}`);
    if (given.length > 1) throw Errors.faultRule('refuse goes alone: a refused descriptor never reaches an engine');
    flags |= F.REFUSE;
  }
  if (r.pageFault !== undefined) {
    const p = r.pageFault as { offset?: unknown; operand?: unknown };
    if (!isRecord(p)) throw Errors.faultRuleShape(`pageFault must be { offset, operand? }; got ${shapeOf(p)}`);
    onlyFields('pageFault', p, ['offset', 'operand']);
    if (!Number.isInteger(p.offset) || (p.offset as number) < 0 || (p.offset as number) > 0xffffffff) throw Errors.faultRule(`pageFault.offset must be an integer from 0 to 2^32-1; got ${describe(p.offset)}`);
    if (p.operand !== undefined && p.operand !== 'src' && p.operand !== 'dst') throw Errors.faultRule(`pageFault.operand must be 'src' or 'dst'; got ${describe(p.operand)}`);
    flags |= F.PAGE_FAULT | (p.operand === 'dst' ? F.OPERAND_DST : 0);
  }
  if (r.status !== undefined) {
    // (0xff is softdsa's abort, a descriptor the closing device never ran: reported as DEVICE_CLOSED, not as a fault)
    if (!Number.isInteger(r.status) || (r.status as number) < 1 || (r.status as number) > 0xfe) throw Errors.faultRule(`status must be a status code from 0x01 to 0xfe (0xff is the abort of a closing device); got ${describe(r.status)}`);
    flags |= F.STATUS;
  }
  if (r.engineDeath !== undefined && r.engineDeath !== false) {
    const d = (r.engineDeath === true ? {} : r.engineDeath) as EngineDeath;
    if (!isRecord(d)) throw Errors.faultRuleShape(`engineDeath must be true or { how?, when? }; got ${shapeOf(d)}`);
    onlyFields('engineDeath', d, ['how', 'when']);
    if (d.how !== undefined && d.how !== 'exit' && d.how !== 'throw') throw Errors.faultRule(`engineDeath.how must be 'exit' or 'throw'; got ${describe(d.how)}`);
    if (d.when !== undefined && d.when !== 'before' && d.when !== 'after') throw Errors.faultRule(`engineDeath.when must be 'before' or 'after'; got ${describe(d.when)}`);
    flags |= F.DIE | (d.how === 'throw' ? F.DIE_THROW : 0) | (d.when === 'after' ? F.DIE_AFTER : 0);
  }
  if (r.latency !== undefined) {
    if (typeof r.latency !== 'number' || !(r.latency > 0 && r.latency <= 60_000)) throw Errors.faultRule(`latency must be ms, more than 0 and at most 60000; got ${describe(r.latency)}`);
    flags |= F.LATENCY;
  }
  if (r.lostInterrupt !== undefined && r.lostInterrupt !== false) {
    if (r.lostInterrupt !== true) throw Errors.faultRule(`lostInterrupt must be true; got ${describe(r.lostInterrupt)}`);
    flags |= F.LOST_IRQ;
  }
  return { flags, wq, rule: r as FaultRule };
}

