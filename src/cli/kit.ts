// A Kit: everything one (operation, size, batch, placement) measurement needs, laid out
// in the device arena: buffer sets (what one operation reads and writes, with its
// completion record), the prebuilt descriptors (or batch lists), and the checks that
// --verify runs on every result, for the device and the baselines alike.
import type { Device } from '../index.ts';
import { Descriptor, DifStatus, Status } from '../index.ts';
import { DELTA_EVERY, DIF_BLOCK, DIF_STEP, DIF_UPDATE_REF, PATTERN, PATTERN_BYTES, createDelta, deltaTarget, difProtect, isDif, patternBuffer, protectedBytes, sourceBuffer, type CrcFn, type SetAddr, type Task } from './kernels.ts';
import type { Op, Placement } from './options.ts';

/** At most this many buffer sets (fresh placement of tiny transfers would want millions). */
export const MAX_SETS = 65536;
const REC = 32;

interface Shape {
  /** buffers of `size` bytes per set and their alignment */
  buffers: number;
  align: number;
  /** extra bytes per set (delta record) */
  extra: (size: number) => number;
}

const SHAPES: Record<Op, Shape> = {
  memmove: { buffers: 2, align: 64, extra: () => 0 },
  fill: { buffers: 1, align: 64, extra: () => 0 },
  compare: { buffers: 2, align: 64, extra: () => 0 },
  'compare-pattern': { buffers: 1, align: 64, extra: () => 0 },
  crc32c: { buffers: 1, align: 64, extra: () => 0 },
  'copy-crc32c': { buffers: 2, align: 64, extra: () => 0 },
  // DSA: the two destinations must agree in address bits 11:0.
  dualcast: { buffers: 3, align: 4096, extra: () => 0 },
  'create-delta': { buffers: 2, align: 64, extra: (s) => deltaBytes(s) },
  'apply-delta': { buffers: 1, align: 64, extra: (s) => deltaBytes(s) },
  // DIF: the data (a) and, after it, the protected form (c): blocks with tuples (update: two of them)
  'dif-check': { buffers: 1, align: 64, extra: (s) => roundUp(protectedBytes(s), 64) },
  'dif-insert': { buffers: 1, align: 64, extra: (s) => roundUp(protectedBytes(s), 64) },
  'dif-strip': { buffers: 1, align: 64, extra: (s) => roundUp(protectedBytes(s), 64) },
  'dif-update': { buffers: 1, align: 64, extra: (s) => 2 * roundUp(protectedBytes(s), 64) },
};

/** The bench's DIF fields: 4 KiB blocks, app tag 0 (checked), ref tags from 0 up; update writes ref tags from DIF_UPDATE_REF. */
const DIF_FIELDS = { difFlags: 2 /* 4096-byte blocks */, refTag: 0, appTag: 0, appTagMask: 0 };
/** difUpdate's source and destination tags (DIF_FIELDS without the flags) */
const TAGS = { refTag: 0, appTag: 0, appTagMask: 0 };

/** Entries the delta operations produce for a transfer of `size` bytes. */
const deltaEntries = (size: number): number => Math.ceil(size / 8 / DELTA_EVERY);
/** Max delta record size: a multiple of 10, at least 80 (DSA's rules). */
const deltaMax = (size: number): number => Math.max(80, deltaEntries(size) * 10);
const deltaBytes = (size: number): number => Math.ceil(deltaMax(size) / 64) * 64;

const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Arena bytes one set takes (buffers, delta record, record, list slot). */
export function setBytes(op: Op, size: number): number {
  const sh = SHAPES[op];
  return sh.buffers * roundUp(size, sh.align) + sh.extra(size) + REC + 64;
}

/** How many sets a measurement cycles through. */
export function setCount(op: Op, size: number, slots: number, batch: number, placement: Placement, freshBytes: number): number {
  let n = slots * batch;
  if (placement === 'fresh') n = Math.max(n, Math.ceil(freshBytes / setBytes(op, size)));
  n = Math.min(Math.max(n, slots * batch), Math.max(MAX_SETS, slots * batch));
  return roundUp(n, batch);
}

/** Bytes of the one arena region a kit allocates. */
function regionBytes(op: Op, size: number, count: number, batch: number): number {
  return count * setBytes(op, size) + (count / batch) * REC + 256;
}

/** Arena bytes a kit needs, with slack for alignment. */
export function kitBytes(op: Op, size: number, slots: number, batch: number, placement: Placement, freshBytes: number): number {
  return regionBytes(op, size, setCount(op, size, slots, batch, placement, freshBytes), batch) + 8192;
}

/** A kit's buffers in ordinary memory (addresses relative to its start). */
export interface Mirror {
  bytes: Uint8Array;
  sets: SetAddr[];
  tasks: Task[];
}

export interface Expected {
  /** compare ops: the record's result byte; create-delta: 1 (a delta was written) */
  result: number;
  /** CRC ops: the CRC; create-delta: the delta size */
  value: number;
}

export class Kit {
  readonly op: Op;
  readonly size: number;
  readonly batch: number;
  readonly count: number;
  readonly sets: SetAddr[] = [];
  /** per group of `batch` sets: the work descriptor (the op itself, or a BATCH) and its record */
  readonly groups: { desc: Uint8Array; rec: number }[] = [];
  readonly tasks: Task[] = [];
  readonly expected: Expected;
  /** the delta parameter: create: max size; apply: delta size */
  readonly n: number;
  readonly #dev: Device;
  readonly #region: number;
  readonly #regionLength: number;
  readonly #mem: Uint8Array;
  readonly #dv: DataView;
  readonly #src: Buffer;
  readonly #target: Buffer | null;
  readonly #delta: Buffer | null;
  readonly #fill: Buffer | null;
  /** DIF: the protected form of the source, and (update) what update writes */
  readonly #prot: Buffer | null;
  readonly #updated: Buffer | null;

  constructor(dev: Device, op: Op, size: number, slots: number, batch: number, placement: Placement, freshBytes: number, crc32c: CrcFn) {
    this.#dev = dev;
    this.op = op;
    this.size = size;
    this.batch = batch;
    const sh = SHAPES[op];
    const count = (this.count = setCount(op, size, slots, batch, placement, freshBytes));
    const buf = dev.memory.buffer as unknown as SharedArrayBuffer;
    this.#mem = new Uint8Array(buf);
    this.#dv = new DataView(buf);
    const groups = count / batch;
    this.#regionLength = regionBytes(op, size, count, batch);
    this.#region = dev.alloc(this.#regionLength, 4096);
    // Layout: [buffers of every set][delta records][set records][list slots][group records]
    const bufStride = roundUp(size, sh.align);
    const setStride = sh.buffers * bufStride;
    const extra = sh.extra(size);
    const extraBase = this.#region + count * setStride;
    const recBase = roundUp(extraBase + count * extra, 64);
    const listBase = roundUp(recBase + count * REC, 64);
    const groupRecBase = listBase + count * 64;

    this.#src = sourceBuffer(size);
    this.#target = op === 'create-delta' || op === 'apply-delta' ? deltaTarget(this.#src) : null;
    this.#fill = op === 'fill' ? patternBuffer(size) : op === 'compare-pattern' ? patternBuffer(size) : null;
    this.n = deltaMax(size);
    let delta: Buffer | null = null;
    if (this.#target) {
      delta = Buffer.alloc(this.n);
      const len = createDelta(this.#src, this.#target, delta, this.n);
      if (len !== deltaEntries(size) * 10) throw new Error(`softdsa bench: delta of ${size} bytes has ${len} bytes, expected ${deltaEntries(size) * 10}`);
      delta = delta.subarray(0, len);
      if (op === 'apply-delta') this.n = len;
    }
    this.#delta = delta;
    this.#prot = isDif(op) ? difProtect(this.#src) : null;
    this.#updated = op === 'dif-update' ? difProtect(this.#src, DIF_UPDATE_REF) : null;
    this.expected = {
      result: op === 'create-delta' ? 1 : 0,
      value: op === 'crc32c' || op === 'copy-crc32c' ? crc32c(this.#src) : op === 'create-delta' ? delta!.length : 0,
    };

    for (let i = 0; i < count; i++) {
      const base = this.#region + i * setStride;
      const x = extraBase + i * extra;
      const rec = recBase + i * REC;
      let s: SetAddr;
      switch (op) {
        case 'fill':
        case 'crc32c':
        case 'compare-pattern':
          s = { a: base, b: base, c: 0, rec };
          break;
        case 'dualcast':
          s = { a: base, b: base + bufStride, c: base + 2 * bufStride, rec };
          break;
        case 'create-delta':
          s = { a: base, b: base + bufStride, c: x, rec };
          break;
        case 'apply-delta':
          s = { a: 0, b: x, c: base, rec };
          break;
        case 'dif-check':
        case 'dif-insert':
        case 'dif-strip':
        case 'dif-update':
          s = { a: base, b: 0, c: x, rec };
          break;
        default:
          s = { a: base, b: base + bufStride, c: 0, rec };
      }
      this.sets.push(s);
      this.tasks.push({ op, size, a: s.a, b: s.b, c: s.c, n: this.n });
      this.#initSet(s, i);
    }
    for (let g = 0; g < groups; g++) {
      const rec = groupRecBase + g * REC;
      if (batch === 1) {
        this.groups.push({ desc: this.#descriptor(this.sets[g]), rec: this.sets[g].rec });
      } else {
        const list = listBase + g * batch * 64;
        for (let j = 0; j < batch; j++) this.#mem.set(this.#descriptor(this.sets[g * batch + j]), list + j * 64);
        this.groups.push({ desc: Descriptor.batch({ list, count: batch, completion: rec }), rec });
      }
    }
  }

  /**
   * Source contents in, destinations touched once (first touch outside the timing). The
   * compares' odd sets differ in their last byte, and a DIF check's odd sets have a bad guard in
   * their last block (a full pass still, ending in a DIF error), so that --verify tells a compare
   * or a check that ran from one that reported success without running.
   */
  #initSet(s: SetAddr, i: number): void {
    const m = this.#mem;
    const size = this.size;
    switch (this.op) {
      case 'memmove':
      case 'copy-crc32c':
        m.set(this.#src, s.a);
        m.fill(0, s.b, s.b + size);
        break;
      case 'dualcast':
        m.set(this.#src, s.a);
        m.fill(0, s.b, s.b + size);
        m.fill(0, s.c, s.c + size);
        break;
      case 'fill':
        m.fill(0, s.b, s.b + size);
        break;
      case 'compare':
        m.set(this.#src, s.a);
        m.set(this.#src, s.b);
        if (differs(i)) m[s.b + size - 1] ^= 1;
        break;
      case 'compare-pattern':
        m.set(this.#fill!, s.a);
        if (differs(i)) m[s.a + size - 1] ^= 1;
        break;
      case 'crc32c':
        m.set(this.#src, s.a);
        break;
      case 'create-delta':
        m.set(this.#src, s.a);
        m.set(this.#target!, s.b);
        m.fill(0, s.c, s.c + this.n);
        break;
      case 'apply-delta':
        m.set(this.#delta!, s.b);
        m.set(this.#src, s.c);
        break;
      case 'dif-check':
        m.set(this.#prot!, s.c);
        if (differs(i)) m[s.c + this.#prot!.length - DIF_STEP + DIF_BLOCK] ^= 1; // the last block's guard
        break;
      case 'dif-insert':
        m.set(this.#src, s.a);
        m.fill(0, s.c, s.c + this.#prot!.length);
        break;
      case 'dif-strip':
        m.set(this.#prot!, s.c);
        m.fill(0, s.a, s.a + size);
        break;
      case 'dif-update':
        m.set(this.#prot!, s.c);
        m.fill(0, s.c + this.#prot!.length, s.c + 2 * this.#prot!.length);
        break;
    }
    m.fill(0, s.rec, s.rec + REC);
  }

  #descriptor(s: SetAddr): Uint8Array {
    const { size, op } = this;
    const completion = s.rec;
    switch (op) {
      case 'memmove':
        return Descriptor.memmove({ src: s.a, dst: s.b, size, completion });
      case 'fill':
        return Descriptor.fill({ dst: s.b, size, pattern: PATTERN, completion });
      case 'compare':
        return Descriptor.compare({ src1: s.a, src2: s.b, size, completion });
      case 'compare-pattern':
        return Descriptor.comparePattern({ src: s.a, pattern: PATTERN, size, completion });
      case 'crc32c':
        return Descriptor.crc32c({ src: s.a, size, completion });
      case 'copy-crc32c':
        return Descriptor.copyCrc32c({ src: s.a, dst: s.b, size, completion });
      case 'dualcast':
        return Descriptor.dualcast({ src: s.a, dst1: s.b, dst2: s.c, size, completion });
      case 'create-delta':
        return Descriptor.createDelta({ src1: s.a, src2: s.b, size, delta: s.c, maxDeltaSize: this.n, completion });
      case 'apply-delta':
        return Descriptor.applyDelta({ delta: s.b, deltaSize: this.n, dst: s.c, size, completion });
      case 'dif-check':
        return Descriptor.difCheck({ src: s.c, size: protectedBytes(size), ...DIF_FIELDS, completion });
      case 'dif-insert':
        return Descriptor.difInsert({ src: s.a, dst: s.c, size, ...DIF_FIELDS, completion });
      case 'dif-strip':
        return Descriptor.difStrip({ src: s.c, dst: s.a, size: protectedBytes(size), ...DIF_FIELDS, completion });
      case 'dif-update':
        return Descriptor.difUpdate({ src: s.c, dst: s.c + this.#prot!.length, size: protectedBytes(size), difFlags: DIF_FIELDS.difFlags, srcTags: TAGS, dstTags: { ...TAGS, refTag: DIF_UPDATE_REF }, completion });
    }
  }

  /** --verify, before an operation on set i: poison what it writes, clear its record. */
  poison(i: number, mirror?: Mirror): void {
    const s = mirror ? mirror.sets[i] : this.sets[i];
    const m = mirror ? mirror.bytes : this.#mem;
    const size = this.size;
    switch (this.op) {
      case 'memmove':
      case 'copy-crc32c':
      case 'fill':
        m.fill(0, s.b, s.b + size);
        break;
      case 'dualcast':
        m.fill(0, s.b, s.b + size);
        m.fill(0, s.c, s.c + size);
        break;
      case 'create-delta':
        m.fill(0, s.c, s.c + this.n);
        break;
      case 'apply-delta':
        // Put back the words the delta changes; the rest already equals the target.
        for (let w = 0; w * 8 < size; w += DELTA_EVERY) m.set(this.#src.subarray(w * 8, w * 8 + 8), s.c + w * 8);
        break;
      case 'dif-insert':
        m.fill(0, s.c, s.c + this.#prot!.length);
        break;
      case 'dif-strip':
        m.fill(0, s.a, s.a + size);
        break;
      case 'dif-update':
        m.fill(0, s.c + this.#prot!.length, s.c + 2 * this.#prot!.length);
        break;
    }
    m.fill(0, s.rec, s.rec + REC);
  }

  /** Before a work descriptor of group g: poison its sets (and the batch record). */
  poisonGroup(g: number): void {
    for (let j = 0; j < this.batch; j++) this.poison(g * this.batch + j);
    if (this.batch > 1) this.#mem.fill(0, this.groups[g].rec, this.groups[g].rec + REC);
  }

  /** Checks the buffers set i wrote. Returns a description of what is wrong, or null. */
  #checkData(i: number, mirror?: Mirror): string | null {
    const s = mirror ? mirror.sets[i] : this.sets[i];
    const m = mirror ? mirror.bytes : this.#mem;
    const eq = (addr: number, ref: Uint8Array, what: string): string | null =>
      Buffer.compare(m.subarray(addr, addr + ref.length), ref) === 0 ? null : `${what} differs from the expected bytes (first at +${firstDiff(m.subarray(addr, addr + ref.length), ref)})`;
    switch (this.op) {
      case 'memmove':
      case 'copy-crc32c':
        return eq(s.b, this.#src, 'destination');
      case 'fill':
        return eq(s.b, this.#fill!, 'destination');
      case 'dualcast':
        return eq(s.b, this.#src, 'destination 1') ?? eq(s.c, this.#src, 'destination 2');
      case 'create-delta':
        return eq(s.c, this.#delta!, 'delta record');
      case 'apply-delta':
        return eq(s.c, this.#target!, 'destination');
      case 'dif-insert':
        return eq(s.c, this.#prot!, 'protected destination');
      case 'dif-strip':
        return eq(s.a, this.#src, 'stripped destination');
      case 'dif-update':
        return eq(s.c + this.#prot!.length, this.#updated!, 'updated destination');
      default:
        return null;
    }
  }

  /** The status set i's descriptor completes with: a DIF check of a set with a bad guard fails (0x09). */
  #setStatus(i: number): number {
    return this.op === 'dif-check' && differs(i) ? Status.DIF_ERR : Status.SUCCESS;
  }

  /** The status group g's work descriptor completes with: its set's, or for a BATCH, 0x05 where a member does not succeed. */
  expectedStatus(g: number): number {
    if (this.batch === 1) return this.#setStatus(g);
    for (let j = 0; j < this.batch; j++) if (this.#setStatus(g * this.batch + j) !== Status.SUCCESS) return Status.BATCH_FAIL;
    return Status.SUCCESS;
  }

  /** --verify: set i after the device ran it (status from the queue or the record). */
  checkDevice(i: number): string | null {
    const s = this.sets[i];
    const status = this.#mem[s.rec] & Status.CODE_MASK;
    if (this.#setStatus(i) === Status.DIF_ERR) {
      // the check ran to the last block, found its guard bad, and said so
      const done = this.#dv.getUint32(s.rec + 4, true);
      const want = this.#prot!.length - DIF_STEP;
      if (status !== Status.DIF_ERR || (this.#mem[s.rec + 1] & DifStatus.GUARD) === 0 || done !== want) {
        return `record status 0x${status.toString(16)}, DIF result 0x${this.#mem[s.rec + 1].toString(16)}, ${done} bytes done: expected a guard error (0x09) in the last block, at byte ${want}`;
      }
      return null;
    }
    if (status !== Status.SUCCESS) return `record status 0x${status.toString(16)}`;
    const result = this.#mem[s.rec + 1];
    const want = this.op === 'create-delta' ? this.expected.result : differs(i) ? 1 : 0;
    if ((this.op === 'compare' || this.op === 'compare-pattern' || this.op === 'create-delta') && result !== want) return `result ${result}, expected ${want}`;
    const v = this.#dv.getUint32(s.rec + 16, true);
    if ((this.op === 'crc32c' || this.op === 'copy-crc32c' || this.op === 'create-delta') && v !== this.expected.value) {
      return `${this.op === 'create-delta' ? 'delta size' : 'CRC'} 0x${v.toString(16)}, expected 0x${this.expected.value.toString(16)}`;
    }
    return this.#checkData(i);
  }

  /** --verify: set i after a baseline ran it and returned `value`. */
  checkBaseline(i: number, value: number, mirror?: Mirror): string | null {
    switch (this.op) {
      case 'compare':
      case 'compare-pattern':
        if ((value !== 0) !== differs(i)) return `Buffer.compare gave ${value}, expected ${differs(i) ? 'a difference' : 0}`;
        break;
      case 'crc32c':
      case 'copy-crc32c':
      case 'create-delta':
        if (value >>> 0 !== this.expected.value) return `value 0x${(value >>> 0).toString(16)}, expected 0x${this.expected.value.toString(16)}`;
        break;
      case 'dif-check':
        if (value !== (differs(i) ? 1 : 0)) return `${value} blocks failed their DIF check, expected ${differs(i) ? 'the last one' : 'none'}`;
        break;
      case 'dif-strip':
      case 'dif-update':
        if (value !== 0) return `${value} blocks failed their DIF check, expected none`;
        break;
    }
    return this.#checkData(i, mirror);
  }

  /**
   * The kit's buffers copied into ordinary (non-shared) memory, same layout, for the
   * main-thread baseline: Buffer.copy between views of a SharedArrayBuffer runs several
   * times slower than between ordinary Buffers here, and ordinary Buffers are what Node
   * code copies today.
   */
  mirror(): Mirror {
    const len = this.#regionLength;
    const bytes = new Uint8Array(new ArrayBuffer(len));
    bytes.set(this.#mem.subarray(this.#region, this.#region + len));
    const shift = (a: number): number => (a === 0 ? 0 : a - this.#region);
    const sets = this.sets.map((s) => ({ a: shift(s.a), b: shift(s.b), c: shift(s.c), rec: shift(s.rec) }));
    return { bytes, sets, tasks: sets.map((s) => ({ op: this.op, size: this.size, a: s.a, b: s.b, c: s.c, n: this.n })) };
  }

  /** Status of group g's work descriptor from its record (the promise path already has it). */
  groupStatus(g: number): number {
    return this.#mem[this.groups[g].rec] & Status.CODE_MASK;
  }

  release(): void {
    this.#dev.free(this.#region);
  }
}

/** Whether a compare's set i holds a difference (in its last byte), a DIF check's a bad guard: the odd ones. */
const differs = (i: number): boolean => (i & 1) === 1;

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

export { PATTERN_BYTES };
