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
import { Flag, Limit } from "../../src/format";

const POLY_REFLECTED: u32 = 0x82f63b78;
const U_OFFSET: u32 = 8192;
/** Bytes of the table region used. */
export const CRC_TABLE_BYTES: u32 = 16384;

let tables: usize = 0;
let scratch: usize = 0;

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

// ---- Long inputs: reduction modulo a sparse multiple of P (the idea of Chorba, Russell 2024).
//
// With y = x^8, Q1 = y^290 + y^136 + y^113 + y^107 + y^32 + 1 is a multiple of P (found by a
// search over 6-term polynomials in y; 4-term ones start at degree 5275, and P's factor x+1 rules
// out odd counts). A message M and M mod Q1 have the same CRC, since M ≡ M mod Q1 (mod P), and
// M mod Q1 needs only XORs of whole bytes: walking M from its first (highest) byte, each byte,
// once final, is cancelled by adding Q1 times it, which adds it into the bytes 154, 177, 183,
// 258 and 290 places later. Pulled rather than pushed, byte p is final as
//     f[p] = m[p] ^ f[p-154] ^ f[p-177] ^ f[p-183] ^ f[p-258] ^ f[p-290]
// and, every distance being at least 64, that runs 64 bytes a round in v128s: per 16 bytes one
// load of data, five unaligned loads of earlier f, five XORs and a store. No table, no carry-less
// multiply: about 1 instruction per byte where slice-by-8 needs 3. The last 290 bytes are left,
// plus what f adds to them; the same with Q2 = y^104 + y^57 + y^53 + y^49 + y^19 + y^14 + y^4 + 1
// (8 terms, distances 47..104) brings those down to 104, and only these go through the tables.
// The bit order inside a byte never matters, so the fold serves both domains; the seed is folded
// in by XOR into the first 4 bytes (the register is what the next 4 bytes will be XORed with).
//
// Scratch (this instance's own): a window of the last WIN bytes of f, then a block of BLK new
// ones whose last WIN move to the front before the next block; after the last block, zeros (f
// ends there) and the 290-byte rest; then the same, in one piece, for Q2.
const D1: usize = 290;
const D2: usize = 104;
const WIN: usize = 304; // >= D1
const ZERO1: usize = 144; // >= D1 - 154 (the rest's reach past f's end) and >= 63 (overrun)
const WIN2: usize = 112; // >= D2
const ZERO2: usize = 64; // >= D2 - 47 and >= 15 (overrun)
const F2: usize = 512; // the most bytes fold2 folds away
const SECOND: usize = <usize>Limit.CORE_SCRATCH_BYTES - (WIN2 + F2 + ZERO2 + D2); // where fold2 works
const BLK: usize = (SECOND - WIN - ZERO1 - D1) & ~63;
/** Inputs of at least this many bytes take the folds (measured: faster from about 170). */
const FOLD_MIN: usize = 192;

// f's 16 bytes at q + D1 (or + D2) from the data v and the earlier f below.
@inline function pull1(v: v128, q: usize): v128 {
  return v128.xor(
    v128.xor(v128.xor(v, v128.load(q)), v128.xor(v128.load(q, D1 - 258), v128.load(q, D1 - 183))),
    v128.xor(v128.load(q, D1 - 177), v128.load(q, D1 - 154)),
  );
}
@inline function pull2(v: v128, q: usize): v128 {
  return v128.xor(
    v128.xor(v128.xor(v, v128.load(q)), v128.xor(v128.load(q, D2 - 100), v128.load(q, D2 - 90))),
    v128.xor(v128.xor(v128.load(q, D2 - 85), v128.load(q, D2 - 55)), v128.xor(v128.load(q, D2 - 51), v128.load(q, D2 - 47))),
  );
}

// Folds [p, p+n) (n >= FOLD_MIN) by Q1 with `head` XORed into its first 4 bytes; returns the
// address of the D1-byte rest, in scratch.
function fold1(head: u32, p: usize, n: usize): usize {
  const sc = scratch;
  const s = sc + WIN; // f of the current block starts here
  const e = n - D1; // bytes Q1 folds away
  memory.fill(sc, 0, WIN); // f before the message is 0, except:
  store<u32>(s - D1, head); // f[-290..-287], which only bytes 0..3 reach (through the 290 term)
  let done: usize = 0;
  let len: usize;
  for (;;) {
    // The last block computes up to 63 bytes past e, from data still inside the input; they are
    // zeroed below.
    len = min(e - done, BLK);
    const src = p + done;
    for (let j: usize = 0; j < len; j += 64) {
      const q = s + j - D1;
      const m = src + j;
      v128.store(q, pull1(v128.load(m), q), D1);
      v128.store(q, pull1(v128.load(m, 16), q + 16), D1 + 16);
      v128.store(q, pull1(v128.load(m, 32), q + 32), D1 + 32);
      v128.store(q, pull1(v128.load(m, 48), q + 48), D1 + 48);
    }
    done += len;
    if (done == e) break;
    memory.copy(sc, s + BLK - WIN, WIN);
  }
  // The rest: the last D1 bytes, plus what f (and f only: they are not folded) adds to them.
  // Each 16 bytes stand on their own, so the last 16 may overlap the ones before.
  const z = s + len;
  memory.fill(z, 0, ZERO1);
  const r = z + ZERO1;
  const tail = p + e;
  for (let k: usize = 0; k < D1; k += 16) {
    const at = min(k, D1 - 16);
    v128.store(r + at, pull1(v128.load(tail + at), z + at - D1));
  }
  return r;
}

// The same with Q2, in one block, for D2 < n <= D2 + F2 bytes (the rest of fold1, or a short
// input: up to there, Q2's seven loads per 16 bytes cost less than fold1's setup); returns the
// address of the D2-byte rest, in scratch.
function fold2(head: u32, p: usize, n: usize): usize {
  const w = scratch + SECOND;
  const f = w + WIN2;
  const e = n - D2;
  memory.fill(w, 0, WIN2);
  store<u32>(f - D2, head);
  for (let j: usize = 0; j < e; j += 16) v128.store(f + j, pull2(v128.load(p + j), f + j - D2));
  const z = f + e;
  memory.fill(z, 0, ZERO2);
  const out = z + ZERO2;
  for (let k: usize = 0; k < D2; k += 16) {
    const at = min(k, D2 - 16);
    v128.store(out + at, pull2(v128.load(p + e + at), z + at - D2));
  }
  return out;
}

/** The D2 bytes with the CRC (from register 0) of [p, p+n) with `head` XORed into its first 4. */
function fold(head: u32, p: usize, n: usize): usize {
  if (n > D2 + F2) return fold2(0, fold1(head, p, n), D1);
  return fold2(head, p, n);
}

/** CRC-32C of [p, p+n) continuing from `seed`, with the CRC flag bits of `flags`. */
export function crc32cRun(p: usize, n: usize, seed: u32, flags: u32): u32 {
  const invert = (flags & Flag.CRC_BYPASS_INVERT) == 0;
  const long = n >= FOLD_MIN;
  if ((flags & Flag.CRC_BYPASS_DATA_REFLECT) == 0) {
    let r = invert ? ~seed : rev32(seed);
    if (long) {
      p = fold(r, p, n);
      n = D2;
      r = 0;
    }
    r = reflected(r, p, n);
    return invert ? ~r : rev32(r);
  }
  let r = invert ? rev32(~seed) : seed;
  if (long) {
    p = fold(bswap<u32>(r), p, n);
    n = D2;
    r = 0;
  }
  r = normal(r, p, n);
  return invert ? ~rev32(r) : r;
}
