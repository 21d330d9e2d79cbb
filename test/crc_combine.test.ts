// The GF(2) shift that combines CRC-32Cs of parts (src/api/crc_combine.ts), against
// @node-rs/crc32 continuing a CRC over the second part: lengths small and random, and the
// lengths of 512 MiB and more that a table wrapped at 32 (zlib's, right for its polynomial,
// not for Castagnoli's) combined wrong.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { crc32c as nativeCrc } from '@node-rs/crc32';
import { CrcFold, crc32cCombine } from '../src/api/crc_combine.ts';
import { rng } from './gen.ts';

const zeros = Buffer.alloc(1 << 20);
/** crc32c(zeros of n bytes, seed), n a multiple of 1 MiB, through @node-rs/crc32 (no n-byte buffer). */
function zerosCrc(n: number, seed: number): number {
  let c = seed;
  for (let done = 0; done < n; done += zeros.length) c = nativeCrc(zeros, c) >>> 0;
  return c;
}

test('random parts: combine(crc(A), crc(B), |B|) is crc(A + B)', () => {
  const random = rng(0x5eed_c0b1);
  for (let i = 0; i < 200; i++) {
    const a = randomBytes(random() % 3000);
    const b = randomBytes(i < 5 ? i : random() % 100_000);
    assert.is(crc32cCombine(nativeCrc(a) >>> 0, nativeCrc(b) >>> 0, b.length), nativeCrc(Buffer.concat([a, b])) >>> 0, `${a.length} + ${b.length}`);
  }
});

test('parts of 512 MiB, 1 GiB and 2 GiB + 1 MiB', () => {
  const head = nativeCrc(Buffer.from('123456789')) >>> 0;
  for (const n of [2 ** 29, 2 ** 30, 2 ** 31 + 2 ** 20]) {
    assert.is(crc32cCombine(head, zerosCrc(n, 0), n), zerosCrc(n, head), `${n} bytes`);
  }
});

test('CrcFold: parts arriving in any order fold into the CRC of the whole, from a seed', () => {
  const parts = Array.from({ length: 9 }, (_, i) => randomBytes(1000 * i + 7));
  const fold = new CrcFold(5);
  for (const i of [3, 0, 8, 1, 2, 7, 4, 6, 5]) fold.add(i, nativeCrc(parts[i]) >>> 0, parts[i].length);
  assert.is(fold.crc, nativeCrc(Buffer.concat(parts), 5) >>> 0);
  assert.is(fold.bytes, parts.reduce((n, p) => n + p.length, 0));
});

test.run();
