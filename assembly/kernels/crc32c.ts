// CRC-32C (Castagnoli), slice-by-8, with the DSA flag semantics (as Intel DML's software path):
//   R0 = invert ? rev32(~seed) : seed  (written below per domain), data bytes reflected unless
//   BYPASS_DATA_REFLECT, result = invert ? ~rev32(R) : R, where invert = !BYPASS_INVERT.
// Reflected data runs LSB-first on r = rev32(R) (tables T, poly 0x82F63B78); unreflected data
// runs MSB-first on R (tables U, poly 0x1EDC6F41). Either way, feeding a result back in as the
// seed of the next part (same flags) continues the CRC.
//
// Speed: one slice-by-8 chain is latency-bound, so long inputs run as 4 independent streams
// over consecutive BLOCK-byte slices, then combined: crc(a||b) = shift(crc(a), |b|) ^ crc0(b),
// where shift multiplies by x^(8*BLOCK) mod P, itself a table lookup (4 x 256 entries).
//
// The tables live in the region the host gives (Ctx.TABLES, Limit.CORE_TABLE_BYTES), built by
// init(): T0..T7 at [0, 8K), U0..U7 at [8K, 16K), shift tables S (reflected) at 16K and
// V (MSB-first) at 20K. init only ever stores final values, so engines rebuilding
// concurrently while others read them are harmless.
import { Flag } from "../../src/format";

const POLY_REFLECTED: u32 = 0x82f63b78;
const U_OFFSET: u32 = 8192;
const S_OFFSET: u32 = 16384;
const V_OFFSET: u32 = 20480;
/** Bytes per stream per round of the 4-stream loops (a multiple of 8). */
const BLOCK: usize = 256;
/** Bytes of the table region used. */
export const CRC_TABLE_BYTES: u32 = 24576;

export function rev32(v: u32): u32 {
  v = ((v & 0x55555555) << 1) | ((v >> 1) & 0x55555555);
  v = ((v & 0x33333333) << 2) | ((v >> 2) & 0x33333333);
  v = ((v & 0x0f0f0f0f) << 4) | ((v >> 4) & 0x0f0f0f0f);
  return bswap<u32>(v);
}

export function buildTables(t: u32): void {
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
  // S_j[b] = (b << 8j) * x^(8*BLOCK) mod P (reflected): BLOCK zero bytes through the register.
  // Each entry is computed from scratch in registers, so only final values are ever stored.
  for (let j: u32 = 0; j < 4; j++) {
    for (let b: u32 = 0; b < 256; b++) {
      let r = b << (j << 3);
      for (let k: usize = 0; k < BLOCK; k++) r = (r >> 8) ^ load<u32>(t + ((r & 0xff) << 2));
      store<u32>(t + S_OFFSET + (j << 10) + (b << 2), r);
    }
  }
  // The MSB-first operator is its mirror image: V_j[b] = rev32(S_(3-j)[rev8(b)]).
  for (let j: u32 = 0; j < 4; j++) {
    for (let b: u32 = 0; b < 256; b++) {
      const rb = rev32(b) >> 24;
      store<u32>(t + V_OFFSET + (j << 10) + (b << 2), rev32(load<u32>(t + S_OFFSET + ((3 - j) << 10) + (rb << 2))));
    }
  }
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

// r * x^(8*BLOCK) mod P with the 4 shift tables at s (S or V: both index by register byte).
@inline function shift(r: u32, s: usize): u32 {
  return (
    load<u32>(s + ((r & 0xff) << 2)) ^
    load<u32>(s + ((r >> 6) & 0x3fc), 1024) ^
    load<u32>(s + ((r >> 14) & 0x3fc), 2048) ^
    load<u32>(s + (r >> 24 << 2), 3072)
  );
}

// LSB-first (reflected) update of register r over [p, p+n), tables T at t.
function reflected(r: u32, p: usize, n: usize, t: usize): u32 {
  const s = t + S_OFFSET;
  while (n >= 4 * BLOCK) {
    let a = r, b: u32 = 0, c: u32 = 0, d: u32 = 0;
    const end = p + BLOCK;
    for (let q = p; q < end; q += 8) {
      a = step8r(a, q, t);
      b = step8r(b, q + BLOCK, t);
      c = step8r(c, q + 2 * BLOCK, t);
      d = step8r(d, q + 3 * BLOCK, t);
    }
    r = shift(shift(shift(a, s) ^ b, s) ^ c, s) ^ d;
    p += 4 * BLOCK;
    n -= 4 * BLOCK;
  }
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

// MSB-first (unreflected) update of register R over [p, p+n), tables U at t.
function normal(r: u32, p: usize, n: usize, t: usize): u32 {
  const s = t - U_OFFSET + V_OFFSET;
  while (n >= 4 * BLOCK) {
    let a = r, b: u32 = 0, c: u32 = 0, d: u32 = 0;
    const end = p + BLOCK;
    for (let q = p; q < end; q += 8) {
      a = step8n(a, q, t);
      b = step8n(b, q + BLOCK, t);
      c = step8n(c, q + 2 * BLOCK, t);
      d = step8n(d, q + 3 * BLOCK, t);
    }
    r = shift(shift(shift(a, s) ^ b, s) ^ c, s) ^ d;
    p += 4 * BLOCK;
    n -= 4 * BLOCK;
  }
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

/** CRC-32C of [p, p+n) continuing from `seed`, with the CRC flag bits of `flags`. */
export function crc32cRun(tables: u32, p: usize, n: usize, seed: u32, flags: u32): u32 {
  const invert = (flags & Flag.CRC_BYPASS_INVERT) == 0;
  if ((flags & Flag.CRC_BYPASS_DATA_REFLECT) == 0) {
    const r = reflected(invert ? ~seed : rev32(seed), p, n, tables);
    return invert ? ~r : rev32(r);
  }
  const r = normal(invert ? rev32(~seed) : seed, p, n, tables + U_OFFSET);
  return invert ? ~rev32(r) : r;
}
