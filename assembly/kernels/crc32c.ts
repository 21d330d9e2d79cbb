// CRC-32C (Castagnoli) with the DSA flag semantics (as Intel DML's software path):
//   R0 = invert ? rev32(~seed) : seed  (written below per domain), data bytes reflected unless
//   BYPASS_DATA_REFLECT, result = invert ? ~rev32(R) : R, where invert = !BYPASS_INVERT.
// Reflected data runs LSB-first on r = rev32(R) (tables T, poly 0x82F63B78); unreflected data
// runs MSB-first on R (tables U, poly 0x1EDC6F41). Either way, feeding a result back in as the
// seed of the next part (same flags) continues the CRC.
//
// Short inputs run slice-by-8 over the tables. Long ones are first reduced modulo a sparse
// multiple of P, which needs no tables at all (see fold() below).
//
// The tables live in the region the host gives (Ctx.TABLES, Limit.CORE_TABLE_BYTES), built by
// init(): T0..T7 at [0, 8K), U0..U7 at [8K, 16K). init only ever stores final values, so engines
// rebuilding concurrently while others read them are harmless. fold() works in a scratch area
// of Limit.CORE_SCRATCH_BYTES that belongs to this instance alone.
import { Flag, Limit } from "../../src/device/format";

const POLY_REFLECTED: u32 = 0x82f63b78;
const U_OFFSET: u32 = 8192;

let tables: usize = 0;
let scratch: usize = 0;

// CRCs (reflected, no copy) of hostCrcFrom bytes or more go to the host's hostCrc: the CPU's CRC
// instruction on three streams at once (the addon's), which Wasm has no instruction for: 1.6-1.7x
// the folds below here. The host sets hostCrcFrom where it has one; 0: never.
@external("env", "hostCrc")
declare function hostCrc(p: u32, n: u32, seed: u32): u32;

let hostCrcFrom: u64 = 0;

/** CRCs of `bytes` or more (0: none) with reflected data and no copy go through the host's hostCrc (crc32c(data, seed)). */
export function setHostCrcFrom(bytes: u32): void {
  hostCrcFrom = <u64>bytes;
}

/** This instance's scratch area (the DIF guard's fold uses it too: never at the same time). */
export function crcScratch(): usize {
  return scratch;
}

export function rev32(v: u32): u32 {
  v = ((v & 0x55555555) << 1) | ((v >> 1) & 0x55555555);
  v = ((v & 0x33333333) << 2) | ((v >> 2) & 0x33333333);
  v = ((v & 0x0f0f0f0f) << 4) | ((v >> 4) & 0x0f0f0f0f);
  return bswap<u32>(v);
}

/** Builds the tables at `t` and adopts them, with this instance's scratch area. */
export function crcInit(t: u32, s: u32): void {
  for (let b: u32 = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ POLY_REFLECTED : c >> 1;
    store<u32>(t + (b << 2), c);
  }
  for (let k: u32 = 1; k < 8; k++) {
    for (let b: u32 = 0; b < 256; b++) {
      const prev = load<u32>(t + ((k - 1) << 10) + (b << 2));
      store<u32>(t + (k << 10) + (b << 2), (prev >> 8) ^ load<u32>(t + ((prev & 0xff) << 2)));
    }
  }
  // MSB-first tables are the bit mirror of the reflected ones: U_k[b] = rev32(T_k[rev8(b)]).
  for (let k: u32 = 0; k < 8; k++) {
    for (let b: u32 = 0; b < 256; b++) {
      const rb = rev32(b) >> 24;
      store<u32>(t + U_OFFSET + (k << 10) + (b << 2), rev32(load<u32>(t + (k << 10) + (rb << 2))));
    }
  }
  // both checks fold away when the regions fit
  if (U_OFFSET * 2 > <u32>Limit.CORE_TABLE_BYTES || AREA_L0 + AREA1 + AREA2 > <usize>Limit.CORE_SCRATCH_BYTES) unreachable();
  tables = t;
  scratch = s;
}

// One slice-by-8 step, LSB-first: 8 bytes at q into r.
@inline function step8r(r: u32, q: usize, t: usize): u32 {
  const lo = load<u32>(q) ^ r;
  const hi = load<u32>(q, 4);
  return (
    load<u32>(t + ((lo & 0xff) << 2), 7168) ^
    load<u32>(t + ((lo >> 6) & 0x3fc), 6144) ^
    load<u32>(t + ((lo >> 14) & 0x3fc), 5120) ^
    load<u32>(t + (lo >> 24 << 2), 4096) ^
    load<u32>(t + ((hi & 0xff) << 2), 3072) ^
    load<u32>(t + ((hi >> 6) & 0x3fc), 2048) ^
    load<u32>(t + ((hi >> 14) & 0x3fc), 1024) ^
    load<u32>(t + (hi >> 24 << 2))
  );
}

// One slice-by-8 step, MSB-first (tables U at t).
@inline function step8n(r: u32, q: usize, t: usize): u32 {
  const x = bswap<u32>(load<u32>(q)) ^ r;
  const y = bswap<u32>(load<u32>(q, 4));
  return (
    load<u32>(t + (x >> 24 << 2), 7168) ^
    load<u32>(t + ((x >> 14) & 0x3fc), 6144) ^
    load<u32>(t + ((x >> 6) & 0x3fc), 5120) ^
    load<u32>(t + ((x & 0xff) << 2), 4096) ^
    load<u32>(t + (y >> 24 << 2), 3072) ^
    load<u32>(t + ((y >> 14) & 0x3fc), 2048) ^
    load<u32>(t + ((y >> 6) & 0x3fc), 1024) ^
    load<u32>(t + ((y & 0xff) << 2))
  );
}

// LSB-first (reflected) update of register r over [p, p+n).
function reflected(r: u32, p: usize, n: usize): u32 {
  const t = tables;
  const end = p + n;
  while (end - p >= 8) {
    r = step8r(r, p, t);
    p += 8;
  }
  while (p < end) {
    r = (r >> 8) ^ load<u32>(t + (((r ^ <u32>load<u8>(p)) & 0xff) << 2));
    p++;
  }
  return r;
}

// MSB-first (unreflected) update of register R over [p, p+n).
function normal(r: u32, p: usize, n: usize): u32 {
  const t = tables + U_OFFSET;
  const end = p + n;
  while (end - p >= 8) {
    r = step8n(r, p, t);
    p += 8;
  }
  while (p < end) {
    r = (r << 8) ^ load<u32>(t + (((r >> 24) ^ <u32>load<u8>(p)) << 2));
    p++;
  }
  return r;
}

// ---- Long inputs: reduction modulo sparse multiples of P (the idea of Chorba, Russell 2024).
//
// Let y = x^8 (a shift by one byte) and Q a multiple of P with few terms, in y only, such as
// Q1 = y^290 + y^136 + y^113 + y^107 + y^32 + 1. A message M and M mod Q have the same CRC,
// since M ≡ M mod Q (mod P), and M mod Q needs only XORs of whole bytes: walking M from its
// first (highest) byte, each byte, once final, is cancelled by adding Q times it, which adds it
// into the bytes 154, 177, 183, 258 and 290 places later. Pulled rather than pushed, byte p is
//     f[p] = m[p] ^ f[p-154] ^ f[p-177] ^ f[p-183] ^ f[p-258] ^ f[p-290]
// and, every distance being at least 16, that runs 16 bytes at a time in v128s: one load of
// data, one unaligned load of earlier f per distance, XORs and a store. No table, no carry-less
// multiply. What is left is the last deg Q bytes, plus what f adds to them (the rest).
//
// Three such multiples, found by search (scripts/sparse-multiples.c), run one after the other:
//   level 0: y^5275 + y^4508 + y^2751 + 1       3 loads per 16 bytes, inputs of 32 KiB and more
//   level 1: y^290 + y^136 + y^113 + y^107 + y^32 + 1               5 loads, from 617 bytes
//   level 2: y^104 + y^57 + y^53 + y^49 + y^19 + y^14 + y^4 + 1     7 loads, from 192 bytes
// Fewer terms need a higher degree (4 terms start at 5275; P's factor x+1 rules out odd counts),
// so each level shrinks the rest of the one before, and the last 104 bytes go through the tables.
// The bit order inside a byte never matters, so the folds serve both domains; the seed is folded
// in by XOR into the first 4 bytes (the register is what the next 4 bytes will be XORed with).
//
// Each level works in its own part of this instance's scratch: a window of the last WIN bytes of
// f (zeros before the message), blocks of BLK new ones (the window's worth moves to the front
// before the next block), then zeros (f ends there: the rest must not see the tail's own
// bytes) and the rest.
// deg Q, bytes of window, block, zeros; rounds of 64 bytes need every distance >= 64.
const D0: usize = 5275, WIN0: usize = 5280, BLK0: usize = 65536, ZERO0: usize = 4512; // >= 5275 - 767
const D1: usize = 290, WIN1: usize = 304, BLK1: usize = 2880, ZERO1: usize = 144; // >= 290 - 154
const D2: usize = 104, WIN2: usize = 112, BLK2: usize = 512, ZERO2: usize = 64; // >= 104 - 47
const AREA0: usize = (WIN0 + BLK0 + ZERO0 + D0 + 63) & ~63;
const AREA1: usize = (WIN1 + BLK1 + ZERO1 + D1 + 63) & ~63;
const AREA2: usize = (WIN2 + BLK2 + ZERO2 + D2 + 63) & ~63;
// Level 0's blocks are long: each block's end moves a window's worth (5280 bytes) to the front,
// and 64 KiB blocks move 8% of what they fold where 8 KiB ones moved 64% (+17-23% in the cache,
// Intel Xeon). The four streams' blocks are 16 KiB: four 64 KiB ones would leave L1 for L2.
const BLKW: usize = 16384;
const AREAW: usize = (WIN0 + BLKW + ZERO0 + D0 + 63) & ~63;
/** level 0's area: one stream's, or the four streams' (never both at once) */
const AREA_L0: usize = max(AREA0, AREAW * 4);
/** From these sizes on, the levels run (measured: level 2 beats the tables from about 170 bytes). */
const FOLD_MIN: usize = 192;
const LEVEL1_MIN: usize = D2 + BLK2 + 1; // above what level 2 takes in one block
const LEVEL0_MIN: usize = 32768;

// f's 16 bytes at q + D from the data v and the earlier f below (level L's distances).
@inline function pull(L: i32, v: v128, q: usize): v128 {
  if (L == 0) return v128.xor(v128.xor(v, v128.load(q)), v128.xor(v128.load(q, D0 - 2524), v128.load(q, D0 - 767)));
  if (L == 1) {
    return v128.xor(
      v128.xor(v128.xor(v, v128.load(q)), v128.xor(v128.load(q, D1 - 258), v128.load(q, D1 - 183))),
      v128.xor(v128.load(q, D1 - 177), v128.load(q, D1 - 154)),
    );
  }
  return v128.xor(
    v128.xor(v128.xor(v, v128.load(q)), v128.xor(v128.load(q, D2 - 100), v128.load(q, D2 - 90))),
    v128.xor(v128.xor(v128.load(q, D2 - 85), v128.load(q, D2 - 55)), v128.xor(v128.load(q, D2 - 51), v128.load(q, D2 - 47))),
  );
}

// The window's worth of f moves to the front of the area (len: a multiple of 16; the two do
// not overlap). A loop of v128s, not memory.copy: V8 runs memory.copy on shared memory as a call
// out of Wasm, and one per block cost the fold half its speed on data from DRAM (128 MiB on AMD
// EPYC: 7.8-8.2 GB/s against 17.3-17.7; 18.7 against 19.1 on data in the cache).
@inline function moveWindow(to: usize, from: usize, len: usize): void {
  for (let k: usize = 0; k < len; k += 16) v128.store(to + k, v128.load(from + k));
}

// Folds [p, p+n) (n > D) by level L's Q, with `head` XORed into its first 4 bytes, in the
// scratch area at `a`; returns the address of the D-byte rest there. With COPY, also copies the
// input to [d, d+n) on the way (COPY_CRC: the buffers do not overlap), so it is read once.
@inline function foldBy(L: i32, COPY: bool, head: u32, p: usize, n: usize, a: usize, d: usize): usize {
  const D = L == 0 ? D0 : L == 1 ? D1 : D2;
  const WIN = L == 0 ? WIN0 : L == 1 ? WIN1 : WIN2;
  const BLK = L == 0 ? BLK0 : L == 1 ? BLK1 : BLK2;
  const ZERO = L == 0 ? ZERO0 : L == 1 ? ZERO1 : ZERO2;
  const s = a + WIN; // f of the current block starts here
  const e = n - D; // bytes folded away
  memory.fill(a, 0, WIN); // f before the message is 0, except:
  store<u32>(s - D, head); // f[-D..-D+3], which only bytes 0..3 reach (through the y^D term)
  let done: usize = 0;
  let len: usize;
  for (;;) {
    // The last block computes up to a round's worth past e, from data still inside the input
    // (D >= 64); the zeros below cover it.
    len = min(e - done, BLK);
    const src = p + done;
    if (L < 2) {
      for (let j: usize = 0; j < len; j += 64) round64(L, COPY, s + j - D, src + j, d + done + j);
    } else {
      for (let j: usize = 0; j < len; j += 16) {
        const v = v128.load(src + j);
        if (COPY) v128.store(d + done + j, v);
        v128.store(s + j, pull(L, v, s + j - D));
      }
    }
    done += len;
    if (done == e) break;
    moveWindow(a, s + BLK - WIN, WIN);
  }
  return foldRest(L, COPY, s + len, p + e, d + e);
}

// One round of levels 0 and 1: f's 64 bytes at q + D from the data at m (copied to t with COPY).
@inline function round64(L: i32, COPY: bool, q: usize, m: usize, t: usize): void {
  const D = L == 0 ? D0 : D1;
  const v0 = v128.load(m), v1 = v128.load(m, 16), v2 = v128.load(m, 32), v3 = v128.load(m, 48);
  if (COPY) {
    v128.store(t, v0);
    v128.store(t, v1, 16);
    v128.store(t, v2, 32);
    v128.store(t, v3, 48);
  }
  v128.store(q + D, pull(L, v0, q));
  v128.store(q + D + 16, pull(L, v1, q + 16));
  v128.store(q + D + 32, pull(L, v2, q + 32));
  v128.store(q + D + 48, pull(L, v3, q + 48));
}

// The rest of a fold whose f ends at z: the input's last D bytes, at `tail` (copied to `to` with
// COPY), 16 bytes at a time; each stands on its own, so the last 16 may overlap. Returns its address.
@inline function foldRest(L: i32, COPY: bool, z: usize, tail: usize, to: usize): usize {
  const D = L == 0 ? D0 : L == 1 ? D1 : D2;
  const ZERO = L == 0 ? ZERO0 : L == 1 ? ZERO1 : ZERO2;
  memory.fill(z, 0, ZERO);
  const r = z + ZERO;
  for (let k: usize = 0; k < D; k += 16) {
    const at = min(k, D - 16);
    const v = v128.load(tail + at);
    if (COPY) v128.store(to + at, v);
    v128.store(r + at, pull(L, v, z + at - D));
  }
  return r;
}

// ---- Inputs of WAYS_MIN and more: WAYS streams at once.
//
// One core reads memory faster from several sequential streams than from one: each is a stream
// the hardware prefetcher runs ahead on, so more lines are on their way at once. Reading 16 MiB
// not in the cache (Intel Xeon VM, C): 2.8 ms as one stream, 2.0 as two, 1.5 as four, 1.1 as
// eight; 1.2 / 0.85 / 0.78 / 0.76 ms from the cache. That is what a first call meets, or one
// after idle, or a file's pages mapped. So a long input is cut into WAYS regions of equal length
// (and a tail of under 64 * WAYS bytes), their level-0 folds run in lockstep, each region in an
// area of its own, and their registers are joined by the shift that crc32_combine makes:
//   reg(A ++ B, r) = reg(A, r) * x^(8|B|) mod P  ^  reg(B, 0).
const WAYS: usize = 4; // (foldWays is written out for four)
const WAYS_MIN: usize = <usize>Limit.CRC_WAYS_MIN;

/** Level-0 area of region k, in level 0's area (levels 1 and 2 have theirs after it). */
@inline function wayArea(k: usize): usize {
  return scratch + k * AREAW;
}

// The level-0 fold of WAYS regions of len bytes from p (region k at p + k * len), in lockstep,
// `head` in region 0's first 4 bytes; returns the offset of each region's D0-byte rest in its
// area. With COPY, the regions are copied to d + k * len on the way.
@inline function foldWays(COPY: bool, head: u32, p: usize, len: usize, d: usize): usize {
  const e = len - D0;
  for (let k: usize = 0; k < WAYS; k++) memory.fill(wayArea(k), 0, WIN0);
  store<u32>(wayArea(0) + WIN0 - D0, head);
  // f of region k's block starts at s_k; its data at p + k * len + done
  const s0 = wayArea(0) + WIN0, s1 = wayArea(1) + WIN0, s2 = wayArea(2) + WIN0, s3 = wayArea(3) + WIN0;
  let done: usize = 0;
  let blk: usize;
  for (;;) {
    blk = min(e - done, BLKW);
    const m0 = p + done, m1 = m0 + len, m2 = m1 + len, m3 = m2 + len;
    const t0 = d + done, t1 = t0 + len, t2 = t1 + len, t3 = t2 + len;
    for (let j: usize = 0; j < blk; j += 64) {
      round64(0, COPY, s0 + j - D0, m0 + j, t0 + j);
      round64(0, COPY, s1 + j - D0, m1 + j, t1 + j);
      round64(0, COPY, s2 + j - D0, m2 + j, t2 + j);
      round64(0, COPY, s3 + j - D0, m3 + j, t3 + j);
    }
    done += blk;
    if (done == e) break;
    for (let k: usize = 0; k < WAYS; k++) moveWindow(wayArea(k), wayArea(k) + BLKW, WIN0);
  }
  // each region's rest, as foldBy makes it
  for (let k: usize = 0; k < WAYS; k++) foldRest(0, COPY, wayArea(k) + WIN0 + blk, p + k * len + e, d + k * len + e);
  return WIN0 + blk + ZERO0;
}

/** a * b modulo P, LSB-first (zlib's multmodp); a must not be 0. */
function multModP(a: u32, b: u32): u32 {
  let m: u32 = 1 << 31;
  let p: u32 = 0;
  for (;;) {
    if ((a & m) != 0) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) != 0 ? (b >> 1) ^ POLY_REFLECTED : b >> 1;
  }
  return p;
}

/** x^(8n) modulo P, LSB-first. */
function xPow8n(n: usize): u32 {
  let sq: u32 = 1 << 30; // x
  for (let i = 0; i < 3; i++) sq = multModP(sq, sq); // x^8
  let p: u32 = 1 << 31; // 1
  while (n != 0) {
    if ((n & 1) != 0) p = multModP(sq, p);
    sq = multModP(sq, sq);
    n >>= 1;
  }
  return p;
}

/**
 * The register after [p, p+n) (n >= WAYS_MIN) from register r, LSB-first (REFLECTED) or
 * MSB-first; with d != 0, the input is also copied to [d, d+n).
 */
function ways(REFLECTED: bool, r: u32, p: usize, n: usize, d: usize): u32 {
  const len = (n / WAYS) & ~(<usize>63);
  const head = REFLECTED ? r : bswap<u32>(r);
  const rest = d != 0 ? foldWays(true, head, p, len, d) : foldWays(false, head, p, len, 0);
  const shift = xPow8n(len);
  let reg: u32 = 0;
  for (let k: usize = 0; k < WAYS; k++) {
    // levels 1 and 2 (the rest is under LEVEL0_MIN) and the tables, in areas no region uses
    const q = fold(0, wayArea(k) + rest, D0, 0);
    const rk = REFLECTED ? reflected(0, q, D2) : normal(0, q, D2);
    reg = k == 0 ? rk : (REFLECTED ? multModP(shift, reg) : rev32(multModP(shift, rev32(reg)))) ^ rk;
  }
  const t = WAYS * len;
  if (d != 0 && n > t) memory.copy(d + t, p + t, n - t);
  return REFLECTED ? reflected(reg, p + t, n - t) : normal(reg, p + t, n - t);
}

/**
 * The D2 bytes whose CRC (from register 0) is that of [p, p+n) with `head` in its first 4;
 * with d != 0, the level that reads the input copies it to [d, d+n).
 */
function fold(head: u32, p: usize, n: usize, d: usize): usize {
  const a = scratch;
  if (n >= LEVEL0_MIN) {
    p = d != 0 ? foldBy(0, true, head, p, n, a, d) : foldBy(0, false, head, p, n, a, 0);
    n = D0;
    head = 0;
    d = 0;
  }
  if (n >= LEVEL1_MIN) {
    const b = a + AREA_L0;
    p = d != 0 ? foldBy(1, true, head, p, n, b, d) : foldBy(1, false, head, p, n, b, 0);
    n = D1;
    head = 0;
    d = 0;
  }
  const c = a + AREA_L0 + AREA1;
  return d != 0 ? foldBy(2, true, head, p, n, c, d) : foldBy(2, false, head, p, n, c, 0);
}

/**
 * CRC-32C of [p, p+n) continuing from `seed`, with the CRC flag bits of `flags`; with
 * copyTo != 0, [p, p+n) is also copied there (not overlapping: COPY_CRC), in the same pass.
 */
export function crc32cRun(p: usize, n: usize, seed: u32, flags: u32, copyTo: usize): u32 {
  const invert = (flags & Flag.CRC_BYPASS_INVERT) == 0;
  const long = n >= FOLD_MIN;
  if (copyTo != 0 && !long && n != 0) memory.copy(copyTo, p, n); // (a copy of 0 bytes to an unmapped address traps)
  if ((flags & Flag.CRC_BYPASS_DATA_REFLECT) == 0) {
    if (copyTo == 0 && hostCrcFrom != 0 && <u64>n >= hostCrcFrom) {
      // hostCrc(s) = ~R(~s), R the reflected register's run over the bytes
      return invert ? hostCrc(<u32>p, <u32>n, seed) : rev32(~hostCrc(<u32>p, <u32>n, ~rev32(seed)));
    }
    let r = invert ? ~seed : rev32(seed);
    if (n >= WAYS_MIN) {
      r = ways(true, r, p, n, copyTo);
      return invert ? ~r : rev32(r);
    }
    if (long) {
      p = fold(r, p, n, copyTo);
      n = D2;
      r = 0;
    }
    r = reflected(r, p, n);
    return invert ? ~r : rev32(r);
  }
  let r = invert ? rev32(~seed) : seed;
  if (n >= WAYS_MIN) {
    r = ways(false, r, p, n, copyTo);
    return invert ? ~rev32(r) : r;
  }
  if (long) {
    p = fold(bswap<u32>(r), p, n, copyTo);
    n = D2;
    r = 0;
  }
  r = normal(r, p, n);
  return invert ? ~rev32(r) : r;
}
