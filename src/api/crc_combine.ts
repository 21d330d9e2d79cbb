// CRC-32C of a concatenation from the CRCs of its parts: the GF(2) shift of zlib's
// crc32_combine, with the Castagnoli polynomial. A large crc32c runs as ranges on
// several engines at once, then combines here:
//   crc(seed, A || B) = combine(crc(seed, A), crc(0, B), B.length)
const POLY = 0x82f63b78; // reflected 0x1EDC6F41

/** a * b modulo the polynomial, reflected bit order (bit 31 is x^0). */
function multmodp(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/**
 * x^(2^k) for k = 0..63, each the square of the one before: every k a length of up to 2^53 bytes
 * needs. (zlib's table stops at 31 and wraps, as x^(2^32) = x for its polynomial; for
 * Castagnoli's, x^(2^31) = x, and a wrap at 32 made every part of 512 MiB or more combine wrong.)
 */
const X2N: number[] = [0x40000000];
for (let k = 1; k < 64; k++) X2N.push(multmodp(X2N[k - 1], X2N[k - 1]));

/** x^(n * 2^k) modulo the polynomial. */
function x2nmodp(n: number, k: number): number {
  let p = 0x80000000;
  while (n > 0) {
    if (n % 2 === 1) p = multmodp(X2N[k], p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

export function crc32cCombine(crc1: number, crc2: number, len2: number): number {
  return (multmodp(x2nmodp(len2, 3), crc1 >>> 0) ^ crc2) >>> 0;
}

/**
 * The running CRC-32C of consecutive parts whose CRCs arrive in any order (each part's own,
 * from 0): part i is combined once every part before it has been. `crc` and `bytes` cover the
 * prefix combined so far.
 */
export class CrcFold {
  crc: number;
  bytes: number;
  #next = 0;
  readonly #waiting = new Map<number, [crc: number, len: number]>();

  constructor(seed = 0, bytes = 0) {
    this.crc = seed >>> 0;
    this.bytes = bytes;
  }

  /** Part `index` (numbered from 0, in byte order): its CRC and length. */
  add(index: number, crc: number, len: number): void {
    this.#waiting.set(index, [crc, len]);
    for (let part = this.#waiting.get(this.#next); part !== undefined; part = this.#waiting.get(this.#next)) {
      this.#waiting.delete(this.#next++);
      if (part[1] > 0) this.crc = crc32cCombine(this.crc, part[0], part[1]);
      this.bytes += part[1];
    }
  }
}
