// The T10 DIF operations of the drop-in API: difInsert, difCheck, difStrip, difUpdate,
// dixGenerate and crc16t10dif, over the device's DIF descriptors (0x12-0x15, 0x17).
//
// A call checks its options and sizes, then runs in windows of whole blocks: bytes outside the
// arena are staged through it (engines reach only the arena), each window's blocks go out as
// descriptors (split across engines when large, each range seeded with the tags of its first
// block), and a failing check becomes a DifCheckError naming the block, the fields and the
// expected and actual values. Small calls, and calls while the engines boot, run the same
// descriptors on this thread's instance of the core.
import { argError, type Bytes, ownOptions, MAX_PIECES, type Span, stillThere } from './args.ts';
import { allDone } from './all_done.ts';
import { inSlices, isSliced, type Pace, pacing, SLICE } from './slices.ts';
import { throughWindow } from './through_window.ts';
import type { Member } from './batcher.ts';
import { argCoded, Errors, type DifMismatch, typeName } from '../device/errors.ts';
import { coreLoading, newBytes } from '../device/host.ts';
import { Desc, DifFlag, DifTuple, DstDif, Flag, Opcode, Record, SrcDif, Status } from '../device/format.ts';
import type { Placement, Where } from './stats.ts';

export type DifBlockSize = 512 | 520 | 4096 | 4104;

/** The tags of the first block, and how they advance from block to block. */
export interface DifTagOptions {
  /** reference tag of the first block (u32); default 0 */
  refTag?: number | undefined;
  /** the reference tag increments per block (Type 1 protection); default true */
  refTagIncrement?: boolean | undefined;
  /** application tag of the first block (u16); default 0 */
  appTag?: number | undefined;
  /** the application tag increments per block; default false */
  appTagIncrement?: boolean | undefined;
  /**
   * bits set here are not compared (check) and are written as 0 (insert), as on the hardware;
   * 0xFFFF: the application tag is not checked. Default 0 (all 16 bits)
   */
  appTagMask?: number | undefined;
}

export interface DifOptions extends DifTagOptions {
  /** data bytes per block: 512, 520, 4096 or 4104; default 512 */
  blockSize?: DifBlockSize | undefined;
  /** the guard CRC starts from 0xFFFF instead of 0; default false */
  invertCrcSeed?: boolean | undefined;
  /** the guard CRC is inverted; default false */
  invertCrcResult?: boolean | undefined;
  /** check the guard (check, strip, update); default true */
  checkGuard?: boolean | undefined;
  /** check the reference tag (check, strip, update); default true */
  checkRefTag?: boolean | undefined;
  /** a block whose application tag is 0xFFFF is not checked; default false */
  appTagFDetect?: boolean | undefined;
  /** a block whose application tag is 0xFFFF and reference tag 0xFFFFFFFF is not checked; default false */
  appAndRefTagFDetect?: boolean | undefined;
  /** a block whose 8 tuple bytes are all 0xFF is not checked (or, with allFDetectError, fails); default false */
  allFDetect?: boolean | undefined;
  /** with allFDetect: an all-F tuple fails the check instead of skipping the block; default false */
  allFDetectError?: boolean | undefined;
  /** where the output goes (insert, strip, update, DIX generate); default: a new Buffer */
  dst?: Bytes | undefined;
}

/** difUpdate: the source is checked with the options' tags, the output gets these. */
export interface DifUpdateOptions extends DifOptions {
  to?: DifTagOptions & {
    /** copy the source's guard instead of computing it; default false */
    keepGuard?: boolean | undefined;
    /** copy the source's application tag; default false */
    keepAppTag?: boolean | undefined;
    /** copy the source's reference tag; default false */
    keepRefTag?: boolean | undefined;
  } | undefined;
}

export type DifOpName = 'difCheck' | 'difInsert' | 'difStrip' | 'difUpdate' | 'dixGenerate';

const OPCODE: { readonly [k in DifOpName]: number } = {
  difCheck: Opcode.DIF_CHECK,
  difInsert: Opcode.DIF_INS,
  difStrip: Opcode.DIF_STRP,
  difUpdate: Opcode.DIF_UPDT,
  dixGenerate: Opcode.DIX_GEN,
};

const BLOCK_CODE = new Map<number, number>([[512, DifFlag.BLOCK_512], [520, DifFlag.BLOCK_520], [4096, DifFlag.BLOCK_4096], [4104, DifFlag.BLOCK_4104]]);

/** Tag seeds of a descriptor: ref u32, mask u16, app u16 (the u64 at @48 or @56). */
interface Tags {
  ref: number;
  refInc: boolean;
  app: number;
  appInc: boolean;
  mask: number;
}

/** A DIF call's descriptor fields, checked. */
interface DifPlan {
  name: DifOpName;
  /** the caller's dst option, read as given (undefined: a new Buffer) */
  output: unknown;
  opcode: number;
  /** the source carries tuples to check (check, strip, update); the output gets tuples (insert, update, DIX) */
  checks: boolean;
  writes: boolean;
  block: number;
  /** source and destination bytes per block */
  sstep: number;
  dstep: number;
  difFlags: number;
  srcFlags: number;
  dstFlags: number;
  src: Tags;
  dst: Tags;
}

function uint(name: string, what: string, v: unknown, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  // (not a number: a TypeError, as the other calls give)
  if (typeof v !== 'number') throw new TypeError(`${name}: ${what} must be an integer from 0 to 0x${max.toString(16)}; got ${typeName(v)}`);
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name}: ${what} must be an integer from 0 to 0x${max.toString(16)}; got ${v}`);
  return v;
}

function bool(name: string, what: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${name}: ${what} must be a boolean; got ${typeName(v)}`);
  return v;
}

function tagsOf(name: string, o: DifTagOptions, prefix = ''): Tags {
  return {
    ref: uint(name, prefix + 'refTag', o.refTag, 0xffffffff, 0),
    refInc: bool(name, prefix + 'refTagIncrement', o.refTagIncrement, true),
    app: uint(name, prefix + 'appTag', o.appTag, 0xffff, 0),
    appInc: bool(name, prefix + 'appTagIncrement', o.appTagIncrement, false),
    mask: uint(name, prefix + 'appTagMask', o.appTagMask, 0xffff, 0),
  };
}

const TAG_OPTIONS = ['refTag', 'refTagIncrement', 'appTag', 'appTagIncrement', 'appTagMask'] as const;
const DIF_OPTIONS = [...TAG_OPTIONS, 'blockSize', 'invertCrcSeed', 'invertCrcResult', 'checkGuard', 'checkRefTag', 'appTagFDetect', 'appAndRefTagFDetect', 'allFDetect', 'allFDetectError', 'dst'] as const;
const TO_OPTIONS = [...TAG_OPTIONS, 'keepGuard', 'keepAppTag', 'keepRefTag'] as const;

/** Checks a call's options and turns them into descriptor fields. */
function planDif(name: DifOpName, opts: unknown): DifPlan {
  if (opts === null || Array.isArray(opts) || (opts !== undefined && typeof opts !== 'object')) throw new TypeError(`${name}: options must be an object; got ${typeName(opts)}`);
  const o = ownOptions(name, (opts ?? {}) as DifUpdateOptions, name === 'difUpdate' ? [...DIF_OPTIONS, 'to'] : DIF_OPTIONS);
  const block = o.blockSize ?? 512;
  const code = BLOCK_CODE.get(block);
  if (code === undefined) {
    const why = `${name}: blockSize must be 512, 520, 4096 or 4104; got `;
    throw typeof block === 'number' ? new RangeError(why + block) : new TypeError(why + (typeof block === 'string' ? `string ${JSON.stringify(block)}` : typeof block === 'bigint' ? `bigint ${block}n` : typeName(block)));
  }
  const opcode = OPCODE[name];
  const checks = opcode === Opcode.DIF_CHECK || opcode === Opcode.DIF_STRP || opcode === Opcode.DIF_UPDT;
  const writes = opcode === Opcode.DIF_INS || opcode === Opcode.DIF_UPDT || opcode === Opcode.DIX_GEN;
  const difFlags = code | (bool(name, 'invertCrcSeed', o.invertCrcSeed, false) ? DifFlag.INVERT_CRC_SEED : 0) | (bool(name, 'invertCrcResult', o.invertCrcResult, false) ? DifFlag.INVERT_CRC_RESULT : 0);
  const own = tagsOf(name, o);
  // (the check options are checked on every call, as every option is, used where the call checks)
  const checkFlags =
    (bool(name, 'checkGuard', o.checkGuard, true) ? 0 : SrcDif.GUARD_CHECK_DISABLE) |
    (bool(name, 'checkRefTag', o.checkRefTag, true) ? 0 : SrcDif.REF_TAG_CHECK_DISABLE) |
    (own.refInc ? 0 : SrcDif.REF_TAG_TYPE) |
    (own.appInc ? SrcDif.APP_TAG_TYPE : 0) |
    (bool(name, 'appTagFDetect', o.appTagFDetect, false) ? SrcDif.APP_TAG_F_DETECT : 0) |
    (bool(name, 'appAndRefTagFDetect', o.appAndRefTagFDetect, false) ? SrcDif.APP_AND_REF_TAG_F_DETECT : 0) |
    (bool(name, 'allFDetect', o.allFDetect, false) ? SrcDif.ALL_F_DETECT : 0) |
    (bool(name, 'allFDetectError', o.allFDetectError, false) ? SrcDif.ENABLE_ALL_F_DETECT_ERROR : 0);
  if (opcode === Opcode.DIF_CHECK && o.dst !== undefined) throw new TypeError(`${name}: dst does not apply (a check writes nothing)`);
  const srcFlags = checks ? checkFlags : 0;
  let dstFlags = 0;
  let dst = own;
  if (opcode === Opcode.DIF_UPDT) {
    if (o.to === null || (o.to !== undefined && typeof o.to !== 'object')) throw new TypeError(`${name}: to must be an object; got ${typeName(o.to)}`);
    const to = ownOptions(`${name}: to`, o.to ?? {}, TO_OPTIONS);
    dst = tagsOf(name, to, 'to.');
    dstFlags =
      (bool(name, 'to.keepGuard', to.keepGuard, false) ? DstDif.GUARD_PASS : 0) |
      (bool(name, 'to.keepAppTag', to.keepAppTag, false) ? DstDif.APP_TAG_PASS : 0) |
      (bool(name, 'to.keepRefTag', to.keepRefTag, false) ? DstDif.REF_TAG_PASS : 0);
  } else if (!writes) {
    dst = { ref: 0, refInc: false, app: 0, appInc: false, mask: 0 };
  }
  if (writes) dstFlags |= (dst.refInc ? 0 : DstDif.REF_TAG_TYPE) | (dst.appInc ? DstDif.APP_TAG_TYPE : 0);
  const sstep = checks ? block + DifTuple.SIZE : block;
  const dstep = opcode === Opcode.DIF_CHECK ? 0 : opcode === Opcode.DIF_STRP ? block : opcode === Opcode.DIX_GEN ? DifTuple.SIZE : block + DifTuple.SIZE;
  return { name, output: o.dst, opcode, checks, writes, block, sstep, dstep, difFlags, srcFlags, dstFlags, src: own, dst };
}

/** The tags of block k of a run seeded by t. */
function tagsAt(t: Tags, k: number): { ref: number; app: number } {
  return { ref: t.refInc ? (t.ref + k) >>> 0 : t.ref, app: t.appInc ? (t.app + k) & 0xffff : t.app };
}

/** The u64 tag word of a descriptor: ref u32, mask u16, app u16 (little-endian). */
function tagWord(t: Tags, k: number): bigint {
  const { ref, app } = tagsAt(t, k);
  return BigInt(ref) | (BigInt(t.mask) << 32n) | (BigInt(app) << 48n);
}

/** Writes the DIF fields of blocks [k, ...) of a plan into the descriptor at d. */
function writeDifFields(dv: DataView, d: number, p: DifPlan, k: number): void {
  dv.setUint8(d + Desc.SRC_DIF_FLAGS, p.srcFlags);
  dv.setUint8(d + Desc.DST_DIF_FLAGS, p.dstFlags);
  dv.setUint8(d + Desc.DIF_FLAGS, p.difFlags);
  if (p.checks) dv.setBigUint64(d + Desc.CHK_REF_TAG, tagWord(p.src, k), true);
  if (p.writes) dv.setBigUint64(d + Desc.INS_REF_TAG, tagWord(p.dst, k), true);
}

/** One DIF descriptor's caller: reads its record as it completes (the record's block is reused after). */
export class DifCall implements Member {
  status = 0;
  /** dif_status bits (with Status.DIF_ERR) */
  difStatus = 0;
  bytes = 0;
  resolve: (c: DifCall) => void = () => {};
  reject: (e: unknown) => void = () => {};
  readonly #mem: Uint8Array;
  readonly #dv: DataView;

  constructor(mem: Uint8Array, dv: DataView) {
    this.#mem = mem;
    this.#dv = dv;
  }

  done(rec: number, status: number): void {
    this.status = status & Status.CODE_MASK;
    this.difStatus = this.#mem[rec + Record.RESULT];
    this.bytes = this.#dv.getUint32(rec + Record.BYTES_COMPLETED, true);
    this.resolve(this);
  }

  fail(e: unknown): void {
    this.reject(e);
  }
}

/** What the DIF calls need from the operations of a device. */
export interface DifHost {
  mem: Uint8Array;
  dv: DataView;
  engines: number;
  splitThreshold: number;
  maxTransfer: number;
  /** inline threshold for CRC-like work (bytes) */
  inlineBytes(): number;
  booted(): boolean;
  span(name: string, v: unknown): Span;
  alloc(bytes: number, align: number): number;
  free(addr: number): void;
  /** arena bytes of this thread's own (set aside at open): a descriptor slot and a staging window, for synchronous work; null: none */
  here: { desc: number; window: number; windowBytes: number } | null;
  /** one descriptor through the batcher: fill writes its fields */
  submit(call: DifCall, opcode: number, fill: (d: number) => void, solo: boolean): void;
  /** runs the 64-byte descriptor at desc on this thread (its record at desc + 64); its status */
  executeHere(desc: number): number;
  /** CRC-16 T10-DIF of arena bytes on this thread */
  crc16(addr: number, length: number, seed: number): number;
  track<T>(op: DifOpName | 'crc16t10dif', bytes: number, where: Where, fn: () => T | Promise<T>): Promise<T>;
}

/** The first n bytes of dst as a Uint8Array: dst itself if it is one of n bytes (a Buffer stays a Buffer). */
function outputOf(dst: Bytes, n: number): Uint8Array {
  if (dst instanceof Uint8Array) return dst.byteLength === n ? dst : dst.subarray(0, n);
  return ArrayBuffer.isView(dst) ? new Uint8Array(dst.buffer, dst.byteOffset, n) : new Uint8Array(dst, 0, n);
}

/** Bytes staged per window when the data is outside the arena. */
const WINDOW_BYTES = 8 << 20;
/** The least staging window worth the engines: less, and the call runs here (inline:no-room). */
const STAGE_MIN = 64 << 10;

export class DifOps {
  readonly #h: DifHost;

  constructor(host: DifHost) {
    this.#h = host;
  }

  /** Runs a DIF call; resolves to the output (a new Buffer unless opts.dst), or undefined for a check. */
  run(name: DifOpName, data: Bytes, opts: DifUpdateOptions | undefined): Promise<Uint8Array | undefined> {
    const h = this.#h;
    let p: DifPlan;
    let s: Span;
    let out: Span | null = null;
    let result: Uint8Array | undefined;
    try {
      p = planDif(name, opts);
      s = h.span('data', data);
      const n = s.u8.byteLength;
      if (n % p.sstep !== 0) {
        throw new RangeError(`${name}: data is ${n} bytes, not a whole number of ${p.sstep}-byte blocks (${p.block} data bytes${p.sstep > p.block ? ' + 8-byte tuple' : ''} each)`);
      }
      const outBytes = (n / p.sstep) * p.dstep;
      if (p.dstep > 0) {
        if (p.output !== undefined) {
          out = h.span('dst', p.output);
          if (out.u8.byteLength < outBytes) throw new RangeError(`${name}: dst is ${out.u8.byteLength} bytes, the output is ${outBytes}`);
          out = { ...out, u8: out.u8.subarray(0, outBytes) };
          if (out.u8.buffer === s.u8.buffer && out.u8.byteOffset < s.u8.byteOffset + n && s.u8.byteOffset < out.u8.byteOffset + outBytes) {
            throw new RangeError(`${name}: dst overlaps data`);
          }
          // (the output bytes, as the type says: dst itself when it is a Uint8Array of that size)
          result = outputOf(p.output as NonNullable<DifOptions['dst']>, outBytes);
        } else {
          const b = newBytes(outBytes);
          out = h.span('dst', b);
          result = b;
        }
      }
    } catch (e) {
      return Promise.reject(argError(name, e));
    }
    const n = s.u8.byteLength;
    // (a descriptor holds whole blocks: one longer than the largest transfer is 0x13 on the device)
    if (n > 0 && p.sstep > h.maxTransfer) return Promise.reject(argCoded(new RangeError(`${name}: a block of the source is ${p.sstep} bytes, more than this device's maxTransfer of ${h.maxTransfer} bytes`)));
    const here = !h.booted() || n < h.inlineBytes();
    const placement: Placement = !h.booted() ? 'inline:booting' : here ? 'inline:small' : s.placement !== 'arena' || (out !== null && out.placement !== 'arena') ? 'device' : n >= h.splitThreshold && h.engines > 1 ? 'split' : 'device';
    const seen = { placement };
    return h.track(name, n, seen, () => afterCore(() => this.#windows(p, s, out, here, seen)).then(() => result));
  }

  /** `seen`: where the call ran, 'inline:no-room' once it runs here for want of arena room. */
  async #windows(p: DifPlan, s: Span, out: Span | null, here: boolean, seen: { placement: Placement }): Promise<void> {
    const h = this.#h;
    const blocks = s.u8.byteLength / p.sstep;
    const stageSrc = s.placement !== 'arena';
    const stageDst = out !== null && out.placement !== 'arena';
    // Blocks per window: all when nothing is staged; else what fits in WINDOW_BYTES (at least one).
    let per = stageSrc || stageDst ? Math.max(1, Math.floor(WINDOW_BYTES / (p.sstep + p.dstep))) : blocks;
    per = Math.min(per, Math.max(1, blocks));
    // ...and no more than MAX_PIECES descriptors' worth: windows run one after the other, so a long
    // call at a small maxTransfer never holds more descriptors and promises than that at once.
    per = Math.min(per, MAX_PIECES * this.#perDescriptor(p));
    const pair = (stageSrc ? p.sstep : 0) + (stageDst ? p.dstep : 0);
    let stage = 0;
    /** stage was taken from the arena (given back at the end), not this thread's here window */
    let ownStage = true;
    if (stageSrc || stageDst) {
      for (;;) {
        try {
          stage = h.alloc(per * pair, 64);
          break;
        } catch (e) {
          // Halved while a window stays worth a descriptor's round trip: windows of a block or
          // two (a full small arena's scraps) made a 24 MiB call 24,576 descriptors, 20x slower than here.
          if (per !== 1 && Math.ceil(per / 2) * pair >= STAGE_MIN) {
            per = Math.ceil(per / 2);
            continue;
          }
          if (!(e instanceof RangeError)) throw e;
          // No room left by the caller's buffers: run here, staged through this thread's own window.
          const w = h.here;
          const fit = w === null ? 0 : Math.floor(w.windowBytes / pair);
          if (fit > 0) {
            here = true;
            seen.placement = 'inline:no-room';
            per = Math.min(fit, Math.max(1, blocks));
            stage = w!.window;
            ownStage = false;
            break;
          }
          throw Object.assign(new RangeError(`${p.name}: the device arena has no room to stage one block of memory outside it (${pair} bytes): free arena buffers, or pass memory from alloc()`), { code: 'ARENA_FULL' });
        }
      }
    }
    // A large call done here gives the event loop its turns, as the other calls done here do
    // (slices.ts): windows of about a slice, a turn when one is due (it held the loop 205 ms for
    // a 128 MiB difInsert while the engines booted).
    let pace: Pace | null = null;
    if (here && isSliced(s.u8.byteLength, seen.placement === 'inline:booting')) {
      pace = pacing(seen.placement === 'inline:booting');
      per = Math.min(per, Math.max(1, Math.floor(SLICE / p.sstep)));
    }
    try {
      for (let k = 0; k < blocks; k += per) {
        const m = Math.min(per, blocks - k);
        const srcAddr = stageSrc ? stage : s.addr + k * p.sstep;
        const dstAddr = out === null ? 0 : stageDst ? stage + (stageSrc ? per * p.sstep : 0) : out.addr + k * p.dstep;
        if (stageSrc) h.mem.set(stillThere(s.u8, k * p.sstep, (k + m) * p.sstep), srcAddr);
        const failed = here ? this.#runHere(p, srcAddr, dstAddr, k, m) : await this.#runDevice(p, srcAddr, dstAddr, k, m);
        if (stageDst && out !== null) {
          const done = failed < 0 ? m : failed - k;
          stillThere(out.u8, k * p.dstep, (k + done) * p.dstep, 'destination').set(h.mem.subarray(dstAddr, dstAddr + done * p.dstep));
        }
        if (failed >= 0) throw this.#mismatch(p, srcAddr + (failed - k) * p.sstep, failed);
        await pace?.(m * p.sstep);
      }
    } finally {
      if (stage !== 0 && ownStage) h.free(stage);
    }
  }

  /** The most blocks one descriptor holds: as many whole blocks as the largest transfer takes. */
  #perDescriptor(p: DifPlan): number {
    return Math.max(1, Math.floor(this.#h.maxTransfer / p.sstep));
  }

  /** The ranges of m blocks from block k: one per engine when large, each within the largest transfer. */
  #ranges(p: DifPlan, m: number): Array<[number, number]> {
    const h = this.#h;
    const bytes = m * p.sstep;
    let per = bytes >= h.splitThreshold && h.engines > 1 ? Math.ceil(m / h.engines) : m;
    per = Math.min(per, this.#perDescriptor(p));
    const out: Array<[number, number]> = [];
    for (let a = 0; a < m; a += per) out.push([a, Math.min(m, a + per)]);
    return out;
  }

  /** Runs blocks [k, k + m) on the engines; the index of the first failing block, or -1. */
  async #runDevice(p: DifPlan, src: number, dst: number, k: number, m: number): Promise<number> {
    const h = this.#h;
    const ranges = this.#ranges(p, m);
    const solo = ranges.length > 1;
    const calls = await allDone(ranges.map(([a, b]) => new Promise<DifCall>((resolve, reject) => {
      const call = new DifCall(h.mem, h.dv);
      call.resolve = resolve;
      call.reject = reject;
      h.submit(call, p.opcode, (d) => this.#fill(d, p, src + a * p.sstep, dst + a * p.dstep, (b - a) * p.sstep, k + a), solo);
    })));
    let first = -1;
    calls.forEach((c, i) => {
      const at = this.#outcome(p, c.status, c.bytes, k + ranges[i][0]);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    });
    return first;
  }

  /** Runs blocks [k, k + m) here, one descriptor (in arena bytes of its own) per range. */
  #runHere(p: DifPlan, src: number, dst: number, k: number, m: number): number {
    const h = this.#h;
    // (this thread's own slot where there is one: synchronous work needs no room of the arena's)
    const d = h.here?.desc ?? h.alloc(Desc.SIZE + Record.SIZE, 64);
    try {
      for (const [a, b] of this.#ranges(p, m)) {
        h.mem.fill(0, d, d + Desc.SIZE + Record.SIZE);
        h.dv.setUint32(d + Desc.FLAGS, (p.opcode << 24) | Flag.CRAV | Flag.RCR, true);
        h.dv.setUint32(d + Desc.COMPLETION, d + Desc.SIZE, true);
        this.#fill(d, p, src + a * p.sstep, dst + a * p.dstep, (b - a) * p.sstep, k + a);
        const status = h.executeHere(d) & Status.CODE_MASK;
        const at = this.#outcome(p, status, h.dv.getUint32(d + Desc.SIZE + Record.BYTES_COMPLETED, true), k + a);
        if (at >= 0) return at;
      }
      return -1;
    } finally {
      if (d !== h.here?.desc) h.free(d);
    }
  }

  #fill(d: number, p: DifPlan, src: number, dst: number, size: number, k: number): void {
    const dv = this.#h.dv;
    dv.setUint32(d + Desc.SRC, src, true);
    if (p.dstep > 0) dv.setUint32(d + Desc.DST, dst, true);
    dv.setUint32(d + Desc.XFER_SIZE, size, true);
    writeDifFields(dv, d, p, k);
  }

  /** -1 on success, the failing block on a check failure; other statuses throw. */
  #outcome(p: DifPlan, status: number, bytes: number, k: number): number {
    if (status === Status.SUCCESS) return -1;
    if (status === Status.DIF_ERR) return k + bytes / p.sstep;
    throw status === Status.HW_ERROR ? Errors.hwError(p.name) : Errors.status(p.name, status);
  }

  /** The error for block k, whose source (data and tuple) is at arena address at. */
  #mismatch(p: DifPlan, at: number, k: number): Error {
    const h = this.#h;
    const t = at + p.block;
    const actual = {
      guard: (h.mem[t] << 8) | h.mem[t + 1],
      appTag: (h.mem[t + DifTuple.APP_TAG] << 8) | h.mem[t + DifTuple.APP_TAG + 1],
      refTag: h.dv.getUint32(t + DifTuple.REF_TAG, false),
    };
    const want = tagsAt(p.src, k);
    let guard = h.crc16(at, p.block, (p.difFlags & DifFlag.INVERT_CRC_SEED) !== 0 ? 0xffff : 0);
    if ((p.difFlags & DifFlag.INVERT_CRC_RESULT) !== 0) guard ^= 0xffff;
    const mismatches: DifMismatch[] = [];
    const allF = h.dv.getBigUint64(t, true) === 0xffffffffffffffffn;
    if (allF && (p.srcFlags & SrcDif.ALL_F_DETECT) !== 0) {
      mismatches.push({ field: 'allF' });
    } else {
      if ((p.srcFlags & SrcDif.GUARD_CHECK_DISABLE) === 0 && guard !== actual.guard) mismatches.push({ field: 'guard', expected: guard, actual: actual.guard });
      if (((actual.appTag ^ want.app) & ~p.src.mask & 0xffff) !== 0) mismatches.push({ field: 'appTag', expected: want.app, actual: actual.appTag, mask: p.src.mask });
      if ((p.srcFlags & SrcDif.REF_TAG_CHECK_DISABLE) === 0 && actual.refTag !== want.ref) mismatches.push({ field: 'refTag', expected: want.ref, actual: actual.refTag });
    }
    return Errors.difCheck(p.name, k, k * p.sstep, mismatches);
  }

  /** CRC-16 T10-DIF (polynomial 0x8BB7, no reflection, no inversion) of data, from seed. */
  crc16(data: Bytes, seed?: number): Promise<number> {
    const h = this.#h;
    let s: Span;
    let crc: number;
    try {
      s = h.span('data', data);
      crc = uint('crc16t10dif', 'seed', seed, 0xffff, 0);
    } catch (e) {
      return Promise.reject(argError('crc16t10dif', e));
    }
    const n = s.u8.byteLength;
    // DSA has no CRC-16 operation of its own (the guard is computed inside the DIF ones): this thread runs the core's.
    const arena = s.placement === 'arena';
    return h.track('crc16t10dif', n, arena ? 'inline:small' : 'inline:not-shared', () => afterCore(() => {
      if (n === 0) return crc;
      // staged through this thread's own window where there is one (synchronous: no room of the arena's needed)
      const chunk = h.here === null ? Math.min(n, 1 << 20) : Math.min(n, h.here.windowBytes);
      const at = arena ? 0 : h.here === null ? h.alloc(chunk, 64) : h.here.window;
      const range = (a: number, b: number): void => {
        if (arena) crc = h.crc16(s.addr + a, b - a, crc);
        else crc = throughWindow(h.mem, s.u8, a, b, at, chunk, crc, h.crc16);
      };
      const release = (): void => {
        if (!arena && at !== h.here?.window) h.free(at);
      };
      // (a large call gives the event loop turns, as the other calls done here do: slices.ts)
      if (isSliced(n, !h.booted())) return inSlices(n, range, false, !h.booted()).finally(release).then(() => crc);
      try {
        range(0, n);
      } finally {
        release();
      }
      return crc;
    }));
  }
}

/**
 * Runs fn once this thread's core can be made: at once, or (a browser's first calls, the core
 * still being fetched) once it is loaded, since the DIF work here runs on it.
 */
function afterCore<T>(fn: () => T): T | Promise<Awaited<T>> {
  const loading = coreLoading();
  return loading === null ? fn() : loading.then(fn) as Promise<Awaited<T>>;
}

