// The baselines' kernels: the same work as each DSA operation, done the ordinary Node
// way (Buffer.copy / Buffer.compare / buffer.fill, a native CRC-32C), over views of
// the device arena. Shared by the main-thread baseline and the piscina worker.
import { createRequire } from 'node:module';
import { cpuCrc } from '../device/cpu_crc.ts';
import { crc32cJs } from '../device/crc32c_js.ts';

/** The fill / compare-pattern pattern: 8 bytes, little-endian, no zero byte (zero is the poison). */
export const PATTERN = 0x0123456789abcdefn;
export const PATTERN_BYTES = Buffer.from([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]);
/** create-delta: one 8-byte word in DELTA_EVERY differs between the two sources. */
export const DELTA_EVERY = 32;

export type CrcFn = (data: Uint8Array, seed?: number) => number;

/** The CRCs a baseline computes with: CRC-32C, and the CRC-16 T10-DIF of the DIF operations' guards. */
export interface Crcs {
  crc32c: CrcFn;
  crc16: CrcFn;
}

/** DIF operations in the bench: blocks of 4 KiB of data, each followed by its 8-byte tuple. */
export const DIF_BLOCK = 4096;
export const DIF_STEP = DIF_BLOCK + 8;
export const isDif = (op: string): boolean => op.startsWith('dif-');
/** Bytes of protected data (blocks with tuples) for `size` bytes of data. */
export const protectedBytes = (size: number): number => (size / DIF_BLOCK) * DIF_STEP;

let TABLE16: Uint16Array | null = null;
/**
 * CRC-16 T10-DIF with one 256-entry table, a byte at a time: what a user writes (the
 * per-block table baseline of the DIF operations).
 */
export function crc16Table(data: Uint8Array, seed = 0): number {
  if (TABLE16 === null) {
    TABLE16 = new Uint16Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i << 8;
      for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x8bb7) & 0xffff : (c << 1) & 0xffff;
      TABLE16[i] = c;
    }
  }
  const t = TABLE16;
  let c = seed & 0xffff;
  for (let i = 0; i < data.length; i++) c = ((c << 8) & 0xffff) ^ t[((c >> 8) ^ data[i]) & 0xff];
  return c;
}

/**
 * The fastest CRC-16 T10-DIF on npm we found (polycrc 1.1, pure JS; @taichunmin/crc, js-crc and
 * crc-full measured 0.19-0.22 GB/s against its 0.30 on 4 KiB blocks here), where installed.
 */
export function loadNpmCrc16(): { crc16: CrcFn; name: string } | null {
  try {
    const m = createRequire(import.meta.url)('polycrc') as { CRC: new (w: number, p: number, init: number, xorOut: number, reflect: boolean) => { calculate(b: Uint8Array): number } };
    const c = new m.CRC(16, 0x8bb7, 0, 0, false);
    if (c.calculate(Buffer.from('123456789')) !== 0xd0db) return null;
    return { crc16: (b) => c.calculate(b), name: 'polycrc' };
  } catch {
    return null;
  }
}

/** The guard check of one protected block at p in u8 (tags: app 0, ref k): 0 when it passes. */
function difBlockBad(u8: Uint8Array, p: number, k: number, crc16: CrcFn): number {
  const t = p + DIF_BLOCK;
  const guard = (u8[t] << 8) | u8[t + 1];
  const app = (u8[t + 2] << 8) | u8[t + 3];
  const ref = ((u8[t + 4] << 24) | (u8[t + 5] << 16) | (u8[t + 6] << 8) | u8[t + 7]) >>> 0;
  return guard !== crc16(u8.subarray(p, t)) || app !== 0 || ref !== k ? 1 : 0;
}

/** Writes the tuple (guard, app tag 0, ref tag `ref`) of the block at p in u8 at t. */
function difPut(u8: Uint8Array, t: number, guard: number, ref: number): void {
  u8[t] = guard >> 8;
  u8[t + 1] = guard & 0xff;
  u8[t + 2] = 0;
  u8[t + 3] = 0;
  u8[t + 4] = ref >>> 24;
  u8[t + 5] = (ref >>> 16) & 0xff;
  u8[t + 6] = (ref >>> 8) & 0xff;
  u8[t + 7] = ref & 0xff;
}

/** The protected form of data: 4 KiB blocks, app tag 0, ref tags from `ref` up (the bench's DIF layout). */
export function difProtect(data: Uint8Array, ref = 0, crc16: CrcFn = crc16Table): Buffer {
  const out = Buffer.alloc(protectedBytes(data.length));
  for (let k = 0; k * DIF_BLOCK < data.length; k++) {
    out.set(data.subarray(k * DIF_BLOCK, (k + 1) * DIF_BLOCK), k * DIF_STEP);
    difPut(out, k * DIF_STEP + DIF_BLOCK, crc16(data.subarray(k * DIF_BLOCK, (k + 1) * DIF_BLOCK)), ref + k);
  }
  return out;
}

/** The ref tags dif-update writes: from this seed up. */
export const DIF_UPDATE_REF = 0x1000;

/** The CPU's CRC-32C (@node-rs/crc32) where it loads, else a JS one (named so in the report). */
export function loadCrc(): { crc32c: CrcFn; name: string } {
  const cpu = cpuCrc();
  return cpu !== null ? { crc32c: (b, s = 0) => cpu(b, s), name: '@node-rs/crc32' } : { crc32c: crc32cJs, name: 'JS slice-by-8 CRC-32C (@node-rs/crc32 does not load here)' };
}

/**
 * Create-delta in JS: for each differing 8-byte word i, a 10-byte entry {u16 i, the
 * 8 bytes of b}. Writes into out; returns the delta size in bytes, or -1 when it does
 * not fit in maxSize (DSA would report an overflow).
 */
export function createDelta(a: Uint8Array, b: Uint8Array, out: Uint8Array, maxSize: number): number {
  const a32 = new Int32Array(a.buffer, a.byteOffset, a.length >> 2);
  const b32 = new Int32Array(b.buffer, b.byteOffset, b.length >> 2);
  let n = 0;
  for (let i = 0, w = 0; i < a32.length; i += 2, w++) {
    if (a32[i] !== b32[i] || a32[i + 1] !== b32[i + 1]) {
      if (n + 10 > maxSize) return -1;
      out[n] = w & 0xff;
      out[n + 1] = w >>> 8;
      out.set(b.subarray(w * 8, w * 8 + 8), n + 2);
      n += 10;
    }
  }
  return n;
}

/** Apply-delta in JS: writes each entry's 8 bytes at dst + 8 * offset. */
export function applyDelta(delta: Uint8Array, dst: Uint8Array): void {
  for (let e = 0; e < delta.length; e += 10) {
    const w = delta[e] | (delta[e + 1] << 8);
    dst.set(delta.subarray(e + 2, e + 10), w * 8);
  }
}

/** A buffer of `size` bytes filled with the 8-byte pattern (phase from its start). */
export function patternBuffer(size: number): Buffer {
  return Buffer.alloc(size, PATTERN_BYTES);
}

/** Source content: bytes 1..255, never 0 (the poison), so any byte left unwritten shows. */
export function sourceBuffer(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = ((i * 31 + 7) % 255) + 1;
  return b;
}

/** The second source of the delta operations: the first with one word in DELTA_EVERY changed. */
export function deltaTarget(src: Uint8Array): Buffer {
  const b = Buffer.from(src);
  for (let w = 0; w * 8 < b.length; w += DELTA_EVERY) b[w * 8] = b[w * 8] === 255 ? 1 : b[w * 8] + 1;
  return b;
}

/** Addresses of one buffer set: what a single operation reads and writes. */
export interface SetAddr {
  /** source (or first source) */
  a: number;
  /** destination, second source, or delta record (apply-delta: the delta record) */
  b: number;
  /** dualcast: second destination; create-delta: the delta record; apply-delta: the destination */
  c: number;
  /** completion record */
  rec: number;
}

export interface Task {
  op: string;
  size: number;
  a: number;
  b: number;
  c: number;
  /** create-delta: max delta size; apply-delta: delta size */
  n: number;
}

const patterns = new Map<number, Buffer>();
function patternOf(size: number): Buffer {
  let p = patterns.get(size);
  if (!p) {
    if (patterns.size > 64) patterns.clear();
    patterns.set(size, (p = patternBuffer(size)));
  }
  return p;
}

/**
 * Binds one operation, done the Node way over `mem` (the arena), to its buffers: the
 * views are made once, so a call costs the operation and nothing else. The call
 * returns the operation's result: compare → Buffer.compare's value, CRC ops → the
 * CRC, create-delta → the delta size, others → 0.
 */
export function bindNode(mem: ArrayBufferLike, t: Task, { crc32c, crc16 }: Crcs): () => number {
  const v = (addr: number, len: number): Buffer => Buffer.from(mem as ArrayBuffer, addr, len);
  const { size } = t;
  const blocks = size / DIF_BLOCK;
  switch (t.op) {
    // DIF, block by block: the result is the number of blocks that failed their check (0).
    case 'dif-check': {
      const s = v(t.c, protectedBytes(size));
      return () => {
        let bad = 0;
        for (let k = 0; k < blocks; k++) bad += difBlockBad(s, k * DIF_STEP, k, crc16);
        return bad;
      };
    }
    case 'dif-insert': {
      const s = v(t.a, size);
      const d = v(t.c, protectedBytes(size));
      return () => {
        for (let k = 0; k < blocks; k++) {
          const block = s.subarray(k * DIF_BLOCK, (k + 1) * DIF_BLOCK);
          d.set(block, k * DIF_STEP);
          difPut(d, k * DIF_STEP + DIF_BLOCK, crc16(block), k);
        }
        return 0;
      };
    }
    case 'dif-strip': {
      const s = v(t.c, protectedBytes(size));
      const d = v(t.a, size);
      return () => {
        let bad = 0;
        for (let k = 0; k < blocks; k++) {
          bad += difBlockBad(s, k * DIF_STEP, k, crc16);
          d.set(s.subarray(k * DIF_STEP, k * DIF_STEP + DIF_BLOCK), k * DIF_BLOCK);
        }
        return bad;
      };
    }
    case 'dif-update': {
      const s = v(t.c, protectedBytes(size));
      const d = v(t.c + protectedBytes(size), protectedBytes(size));
      return () => {
        let bad = 0;
        for (let k = 0; k < blocks; k++) {
          const p = k * DIF_STEP;
          bad += difBlockBad(s, p, k, crc16);
          d.set(s.subarray(p, p + DIF_STEP), p);
          difPut(d, p + DIF_BLOCK, (s[p + DIF_BLOCK] << 8) | s[p + DIF_BLOCK + 1], DIF_UPDATE_REF + k);
        }
        return bad;
      };
    }
    case 'memmove': {
      const s = v(t.a, size);
      const d = v(t.b, size);
      return () => (s.copy(d), 0);
    }
    case 'fill': {
      const d = v(t.b, size);
      return () => (d.fill(PATTERN_BYTES), 0);
    }
    case 'compare': {
      const a = v(t.a, size);
      const b = v(t.b, size);
      return () => Buffer.compare(a, b);
    }
    case 'compare-pattern': {
      const a = v(t.a, size);
      const p = patternOf(size);
      return () => Buffer.compare(a, p);
    }
    case 'crc32c': {
      const a = v(t.a, size);
      return () => crc32c(a);
    }
    case 'copy-crc32c': {
      const s = v(t.a, size);
      const d = v(t.b, size);
      return () => (s.copy(d), crc32c(s));
    }
    case 'dualcast': {
      const s = v(t.a, size);
      const d1 = v(t.b, size);
      const d2 = v(t.c, size);
      return () => (s.copy(d1), s.copy(d2), 0);
    }
    case 'create-delta': {
      const a = v(t.a, size);
      const b = v(t.b, size);
      const out = v(t.c, t.n);
      return () => createDelta(a, b, out, t.n);
    }
    case 'apply-delta': {
      const delta = v(t.b, t.n);
      const d = v(t.c, size);
      return () => (applyDelta(delta, d), 0);
    }
    default:
      throw new Error(`unknown op ${t.op}`);
  }
}
