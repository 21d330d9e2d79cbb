// Foreign address spaces: the engines' JS path.
//
// The Wasm core addresses one memory, the arena. Other SharedArrayBuffers of the program
// can still be worked on by the engines: the device registers each as an address space
// with a PASID (descriptor bytes 0-2, bits 19:0; 0 is the arena), and a descriptor with
// that PASID has its data addresses in that buffer. The core validates it as any other
// and writes its record (in the arena); the data operation itself runs here, in the
// engine, through the core's `env.foreign` import. Same semantics as the core's kernels,
// page faults past the buffer's end included. Supported: memmove, fill, compare,
// compare-pattern, dualcast, CRC-32C, copy+CRC (default CRC flags); the others need the
// arena (0x10).
//
// A space can also be a file (Device.mapFile), as a process's mmap of a file is reached by DSA
// through its PASID: the file's bytes at their offsets, read-only, up to the size it had when
// mapped. CRC-32C runs there (the others get 0x10): the engine reads the range a window at a
// time into an arena window of its own (pread) and runs the core's CRC over it there, while the
// window is still in the cache. A read that ends early (the file shrank) or fails is a page
// fault at that offset, with the CRC of the bytes before it, as past a mapping's end; so is an
// unmap while a range is being read (at the next window), as a munmap under DSA's reads.
import { readSync } from 'node:fs';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { runInNewContext } from 'node:vm';
import { crc32cHere } from './cpu_crc.ts'; // (loaded at the first foreign CRC: an engine that never runs one does not pay for it at boot)
import { Desc, Flag, Opcode, PasidWord, Status } from './format.ts';
import { fillPattern } from './pattern.ts';
import { firstDifference } from './first_difference.ts';
import { setV8Flags } from './v8_flags.ts';

/** Bytes of the repeated pattern a compare-pattern in a foreign space compares against at a time. */
const PATTERN_SPAN = 64 << 10;

/** Address spaces registered at once (PASID bits 11:0 name the slot, 1-4095; bits 19:12 its reuse generation). */
export const MAX_SPACES = 4095;

/** A mapped file: its descriptor, and the arena windows engines read it through (engine e's at staging + e * window). */
export interface FileWindow {
  fd: number;
  staging: number;
  window: number;
}

/** A registration (a buffer, or a file, and the window of it descriptors may reach), or the end of one (neither). */
export interface SpaceMessage {
  id: number;
  buffer: SharedArrayBuffer | null;
  /** [lo, hi): the reachable bytes; below and above fault like unmapped memory */
  lo: number;
  hi: number;
  file?: FileWindow;
}

interface Space {
  u8: Uint8Array;
  lo: number;
  hi: number;
  file?: FileWindow;
  /** a growable SharedArrayBuffer, whole: reached to its end as it is when a descriptor runs (u8 tracks its length), not as it was registered */
  grows?: boolean;
}

/** This engine's core, for the CRC of a file space's bytes once they are in its arena window. */
export interface EngineKit {
  engine: number;
  crc(addr: number, length: number, seed: number): number;
}

/**
 * A full collection on this thread, used by an engine after it let go of address spaces: a
 * SharedArrayBuffer's memory returns only once every thread's last reference is collected, and
 * an engine allocates too little to collect on its own. (The flag is set only to take the
 * function, then cleared again; taken at its first use: the context it is taken from costs a
 * thread 1.5-3.7 ms, which every engine paid as it booted and the main thread at import.)
 */
let gcFn: (() => void) | null = null;
function collect(): void {
  gcFn ??= takeGc();
  gcFn();
}

function takeGc(): () => void {
  try {
    setV8Flags('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    setV8Flags('--no-expose-gc');
    return typeof gc === 'function' ? gc : () => {};
  } catch {
    return () => {};
  }
}

export type SetOutcome = (result: number, bytes: number, faultAddr: bigint, specific: number) => void;

/** The engine's view of the registered spaces; registrations and their ends arrive on a port it polls. */
export class ForeignSpaces {
  readonly #spaces = new Map<number, Space>();
  readonly #port: MessagePort;
  readonly kit: EngineKit | null;
  /** an injected page fault's address (fault injection), for the descriptor being run; -1: none */
  hole = -1;

  constructor(port: MessagePort, kit: EngineKit | null = null) {
    this.#port = port;
    this.kit = kit;
  }

  get(id: number): Space | undefined {
    // The device posts a space before it submits any descriptor that names it, and its end
    // before a descriptor submitted after: what is waiting is taken first, so a descriptor never
    // reaches a space (a file descriptor) that was unmapped before it was submitted.
    this.#takeAll();
    return this.#spaces.get(id);
  }

  /** Takes every message waiting (an idle engine does, so that ended spaces are let go). */
  drain(): void {
    this.#takeAll();
    if (this.#ended) collect(); // (here, not while a descriptor runs)
    this.#ended = false;
  }

  /** an ended space's buffer waits for a collection */
  #ended = false;

  #takeAll(): void {
    for (let m = receiveMessageOnPort(this.#port); m !== undefined; m = receiveMessageOnPort(this.#port)) this.#ended = this.#take(m.message as SpaceMessage) || this.#ended;
  }

  /**
   * True when the message ended a space that held a buffer: the engine collects then (collect()).
   * A file's space holds none, and the full collection cost an idle engine 2-10 ms, in which the
   * next file call's descriptor waited for it (64 MiB files hashed one after another: 11-25 ms
   * a call, the engines starting theirs 1-10 ms late; 9-12 ms without).
   */
  #take({ id, buffer, lo, hi, file }: SpaceMessage): boolean {
    if (file !== undefined) this.#spaces.set(id, { u8: new Uint8Array(0), lo, hi, file });
    else if (buffer === null) {
      const ended = this.#spaces.get(id);
      this.#spaces.delete(id);
      return ended !== undefined && ended.file === undefined;
    } else this.#spaces.set(id, { u8: new Uint8Array(buffer), lo, hi, grows: lo === 0 && (buffer as { growable?: boolean }).growable === true });
    return false;
  }
}

/** Runs the data part of a foreign-space descriptor at `desc` (in the arena `mem`). */
export function runForeign(mem: Uint8Array, desc: number, op: number, flags: number, spaces: ForeignSpaces, out: SetOutcome): number {
  const dv = new DataView(mem.buffer, mem.byteOffset);
  const id = dv.getUint32(desc + Desc.PASID, true) & PasidWord.PASID_MASK;
  const space = spaces.get(id);
  const addr = (at: number): number => {
    // (a file can be past 4 GiB: 53 bits are kept; a larger address is past any space's end)
    const hi = dv.getUint32(desc + at + 4, true);
    return hi < 0x200000 ? hi * 2 ** 32 + dv.getUint32(desc + at, true) : Number.MAX_SAFE_INTEGER;
  };
  const size = dv.getUint32(desc + Desc.XFER_SIZE, true);
  const lo = space?.lo ?? 0;
  const hi = space === undefined ? 0 : space.grows === true ? space.u8.byteLength : space.hi;
  /** Leading bytes of [a, a + n) inside the space's window (and before an injected fault's hole). */
  const hole = spaces.hole;
  const valid = (a: number, n: number): number => (a < lo || a >= hi ? 0 : Math.min(n, hi - a, hole >= a ? hole - a : n));
  /** Trailing bytes of [a, a + n) inside the window and after the injected fault's byte (bounds.ts suffix): a backward pass stops before them. */
  const validTail = (a: number, n: number): number => {
    const end = a + n;
    if (end > hi) return 0;
    const t = a >= lo ? n : end > lo ? end - lo : 0;
    return hole >= end - t && hole < end ? end - hole - 1 : t;
  };
  /** A page fault at the operand at `field` plus `delta` (its exact 64-bit address, wrapping as the device's adder does). */
  const fault = (field: number, delta: number, done: number, write: boolean, result = 0, specific = 0): number => {
    out(result, done, (dv.getBigUint64(desc + field, true) + BigInt(delta)) & 0xffffffffffffffffn, specific);
    return write ? Status.PAGE_FAULT | Status.WRITE_FAULT_BIT : Status.PAGE_FAULT;
  };
  const u8 = space?.u8 ?? new Uint8Array(0);
  if (space?.file !== undefined) {
    if (op !== Opcode.CRCGEN || spaces.kit === null) return Status.INVALID_OPCODE;
    const file = space.file;
    return crcOfFile(mem, dv, desc, flags, file, spaces.kit, addr, valid, fault, out, () => spaces.get(id)?.file === file);
  }

  switch (op) {
    case Opcode.MEMMOVE: {
      const src = addr(Desc.SRC);
      const dst = addr(Desc.DST);
      if (dst > src && dst - src < size) {
        // A backward copy runs from the end (as memmove.ts): the mapped tails are copied, the fault
        // is at the last unmapped byte, and bytes completed count from the end (result 1).
        const ts = validTail(src, size);
        const td = validTail(dst, size);
        const n = Math.min(ts, td);
        u8.copyWithin(dst + size - n, src + size - n, src + size);
        if (n < size) return ts <= td ? fault(Desc.SRC, size - 1 - n, n, false, 1) : fault(Desc.DST, size - 1 - n, n, true, 1);
        out(0, 0, 0n, 0);
        return Status.SUCCESS;
      }
      const vs = valid(src, size);
      const vd = valid(dst, size);
      const n = Math.min(vs, vd);
      u8.copyWithin(dst, src, src + n);
      if (n < size) return vs <= vd ? fault(Desc.SRC, n, n, false) : fault(Desc.DST, n, n, true);
      out(0, 0, 0n, 0);
      return Status.SUCCESS;
    }
    case Opcode.MEMFILL: {
      const dst = addr(Desc.DST);
      const n = valid(dst, size);
      fillPattern(u8.subarray(dst, dst + n), mem.subarray(desc + Desc.PATTERN, desc + Desc.PATTERN + 8));
      if (n < size) return fault(Desc.DST, n, n, true);
      out(0, 0, 0n, 0);
      return Status.SUCCESS;
    }
    case Opcode.COMPARE:
    case Opcode.COMPVAL: {
      const src = addr(Desc.SRC);
      const other = op === Opcode.COMPARE ? addr(Desc.SRC2) : -1;
      const va = valid(src, size);
      const vb = op === Opcode.COMPARE ? valid(other, size) : size;
      const n = Math.min(va, vb);
      let at = -1;
      if (op === Opcode.COMPARE) {
        at = firstDifference(u8.subarray(src, src + n), u8.subarray(other, other + n));
      } else {
        // against the pattern repeated over 64 KiB (a multiple of 8: each piece starts in phase)
        const pattern = mem.subarray(desc + Desc.COMP_PATTERN, desc + Desc.COMP_PATTERN + 8);
        const rep = new Uint8Array(Math.min(n, PATTERN_SPAN));
        fillPattern(rep, pattern);
        for (let c = 0; c < n && at < 0; c += rep.length) {
          const e = Math.min(n, c + rep.length);
          const i = firstDifference(u8.subarray(src + c, src + e), rep);
          if (i >= 0) at = c + i;
        }
      }
      if (at < 0 && n < size) return va <= vb ? fault(Desc.SRC, n, n, false) : fault(Desc.SRC2, n, n, false);
      // Compare pattern reports the start of a mismatching whole word, the exact byte in the tail.
      if (at >= 0 && op === Opcode.COMPVAL && at < size - (size % 8)) at -= at % 8;
      const result = at < 0 ? 0 : 1;
      out(result, at < 0 ? 0 : at, 0n, 0);
      const expected = mem[desc + Desc.EXPECTED];
      return (flags & Flag.CR) !== 0 && result !== expected ? Status.SUCCESS_PRED : Status.SUCCESS;
    }
    case Opcode.DUALCAST: {
      const src = addr(Desc.SRC);
      const d1 = addr(Desc.DST);
      const d2 = addr(Desc.DST2);
      const vs = valid(src, size);
      const v1 = valid(d1, size);
      const v2 = valid(d2, size);
      const n = Math.min(vs, v1, v2);
      u8.copyWithin(d1, src, src + n);
      u8.copyWithin(d2, src, src + n);
      // Byte i is read from src, then written to dst1, then dst2: the first that fails reports.
      if (n < size) return vs === n ? fault(Desc.SRC, n, n, false) : v1 === n ? fault(Desc.DST, n, n, true) : fault(Desc.DST2, n, n, true);
      out(0, 0, 0n, 0);
      return Status.SUCCESS;
    }
    case Opcode.CRCGEN:
    case Opcode.COPY_CRC: {
      const refused = refuseCrcFlags(flags, out);
      if (refused !== 0) return refused;
      let seed = dv.getUint32(desc + Desc.CRC_SEED, true);
      if ((flags & Flag.CRC_SEED_ADDR) !== 0) {
        const a = addr(Desc.CRC_SEED_ADDR);
        const v = valid(a, 4);
        if (v < 4) return fault(Desc.CRC_SEED_ADDR, v, 0, false);
        seed = new DataView(u8.buffer, u8.byteOffset).getUint32(a, true);
      }
      const src = addr(Desc.SRC);
      const dst = op === Opcode.COPY_CRC ? addr(Desc.DST) : src;
      const vs = valid(src, size);
      const vd = valid(dst, size);
      const n = Math.min(vs, vd);
      if (op === Opcode.COPY_CRC) u8.copyWithin(dst, src, src + n);
      // (with nothing done, the CRC of no bytes is the seed; and no view past the end is made)
      const crc = n === 0 ? seed : crc32cHere(u8.subarray(dst, dst + n), seed);
      if (n < size) return vs <= vd ? fault(Desc.SRC, n, n, false, 0, crc) : fault(Desc.DST, n, n, true, 0, crc);
      out(0, 0, 0n, crc);
      return Status.SUCCESS;
    }
  }
  return Status.INVALID_OPCODE;
}

/** The CRC flags this path lacks (bypassing the inversion or the reflection): INVALID_FLAGS, the flags in the record; 0 when there are none. */
function refuseCrcFlags(flags: number, out: SetOutcome): number {
  const unsupported = flags & (Flag.CRC_BYPASS_INVERT | Flag.CRC_BYPASS_DATA_REFLECT);
  if (unsupported === 0) return 0;
  out(0, 0, 0n, unsupported);
  return Status.INVALID_FLAGS;
}

/** CRCGEN in a file space: the range read a window at a time into this engine's arena window, each window's CRC by the core. */
function crcOfFile(
  mem: Uint8Array,
  dv: DataView,
  desc: number,
  flags: number,
  file: FileWindow,
  kit: EngineKit,
  addr: (at: number) => number,
  valid: (a: number, n: number) => number,
  fault: (field: number, delta: number, done: number, write: boolean, result?: number, specific?: number) => number,
  out: SetOutcome,
  /** whether the file is still mapped: asked between windows (an unmap ends the range there, as a fault) */
  mapped: () => boolean,
): number {
  const refused = refuseCrcFlags(flags, out);
  if (refused !== 0) return refused;
  const at = file.staging + kit.engine * file.window;
  const win = mem.subarray(at, at + file.window);
  /** Bytes of the file at pos into the window (fewer at its end), or 0 when the read fails. */
  const read = (pos: number, n: number): number => {
    try {
      return readSync(file.fd, win, 0, n, pos);
    } catch {
      return 0;
    }
  };
  let seed = dv.getUint32(desc + Desc.CRC_SEED, true);
  if ((flags & Flag.CRC_SEED_ADDR) !== 0) {
    const a = addr(Desc.CRC_SEED_ADDR);
    const got = valid(a, 4) < 4 ? 0 : read(a, 4);
    if (got < 4) return fault(Desc.CRC_SEED_ADDR, got, 0, false);
    seed = new DataView(win.buffer, win.byteOffset).getUint32(0, true);
  }
  const src = addr(Desc.SRC);
  const size = dv.getUint32(desc + Desc.XFER_SIZE, true);
  const n = valid(src, size);
  let crc = seed;
  let done = 0;
  // (a range ends at the next window once the file is unmapped: a call that was aborted, or
  // whose device is closing, unmaps at once, and waited for whole ranges of up to a GiB, seconds)
  while (done < n && (done === 0 || mapped())) {
    const got = read(src + done, Math.min(file.window, n - done));
    if (got === 0) break; // the end of the file, or a read that failed: a fault here
    crc = kit.crc(at, got, crc);
    done += got;
  }
  if (done < size) return fault(Desc.SRC, done, done, false, 0, crc);
  out(0, 0, 0n, crc);
  return Status.SUCCESS;
}
