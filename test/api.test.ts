// The drop-in async API (issue #3): every function against its plain-JS equivalent, on every
// placement (arena buffers on the device, split across engines, non-shared memory inline,
// other SharedArrayBuffers), argument errors, same-tick batching, the batch builder and its
// fences, stats, the diagnostics channel, and a process that uses the API and exits by itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32c as nativeCrc } from '@node-rs/crc32';
import * as dsa from '../src/index.ts';
import { type BatchBuilder, Device, Opcode } from '../src/index.ts';
import { BLOCK_MEMBERS, SUBMIT_NOW_BYTES } from '../src/api/batcher.ts';
import { rng } from './gen.ts';
import { turnsDuring } from './turns.ts';
import { framed, parseFrames } from '../src/api/delta_frames.ts';
import { pacing } from '../src/api/slices.ts';
import { typeName } from '../src/device/errors.ts';
import { openLater } from '../src/device.ts';

const here = dirname(fileURLToPath(import.meta.url));
const random = rng(0x5eed_0003);
const rand = (n: number): number => random() % n;

// Placements: 'whole' and 'split' are arena buffers of devices that never run inline
// (inlineThreshold 0); 'split' splits everything from 64 bytes on. 'local' is ordinary
// (non-shared) memory, 'foreign' another SharedArrayBuffer: both run inline.
type Where = 'whole' | 'split' | 'local' | 'foreign';
const WHERES: Where[] = ['whole', 'split', 'local', 'foreign'];
let whole: Device;
let split: Device;
const owned = new Map<Device, number[]>();

test.before(async () => {
  whole = await Device.open({ inlineThreshold: 0, splitThreshold: 0xffffffff });
  split = await Device.open({ inlineThreshold: 0, splitThreshold: 64 });
});

test.after(async () => {
  await Promise.all([whole.close(), split.close(), dsa.shutdown()]);
});

const devOf = (w: Where): Device => (w === 'split' ? split : whole);

/** A Buffer of n bytes at a random offset 0..7 (or the given one) in memory of kind w. */
function buf(w: Where, n: number, offset = rand(8)): Buffer {
  if (w === 'whole' || w === 'split') {
    const dev = devOf(w);
    const b = dev.buffer(n + offset + 1);
    let list = owned.get(dev);
    if (list === undefined) owned.set(dev, (list = []));
    list.push(b.byteOffset);
    return b.subarray(offset, offset + n);
  }
  const ab = w === 'local' ? new ArrayBuffer(n + offset + 1) : new SharedArrayBuffer(n + offset + 1);
  return Buffer.from(ab, offset, n);
}

function randomBytes(b: Uint8Array): Uint8Array {
  for (let i = 0; i < b.length; i++) b[i] = random() & 0xff;
  return b;
}

/** Gives back every arena buffer buf() handed out. */
function freeAll(): void {
  for (const [dev, list] of owned) for (const a of list.splice(0)) dev.free(a);
}

/** Sizes: the edges, odd ones, and random ones up to 2 MiB (larger than the split threshold). */
function sizes(): number[] {
  return [0, 1, 7, 8, 9, 63, 64, 65, 4095, 4096, 4097, 65537, 1 + rand(100_000), 1 + rand(2 << 20)];
}

async function rejects(p: () => Promise<unknown>, type: Function, label: string): Promise<void> {
  let pending: Promise<unknown>;
  try {
    pending = p();
  } catch (e) {
    assert.ok(e instanceof type, `${label}: threw ${(e as Error)?.constructor?.name} (${(e as Error)?.message}), wanted ${type.name}`);
    return;
  }
  assert.ok(pending instanceof Promise, `${label}: not a promise`);
  try {
    await pending;
  } catch (e) {
    assert.ok(e instanceof type, `${label}: rejected with ${(e as Error)?.constructor?.name} (${(e as Error)?.message}), wanted ${type.name}`);
    return;
  }
  assert.unreachable(`${label}: resolved, wanted ${type.name}`);
}

function firstDiffJs(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const sign = (v: number): number => Math.sign(v);

/** Resolves to value after ms, without keeping the process alive. */
const after = <T>(ms: number, value: T): Promise<T> => new Promise((r) => setTimeout(r, ms, value).unref());

// ---------------------------------------------------------------- every function, every placement

for (const w of WHERES) {
  test(`memcpy/memmove (${w}): random sizes and offsets equal Buffer.copy; resolve to dst`, async () => {
    const dev = devOf(w);
    for (const n of sizes()) {
      const src = randomBytes(buf(w, n));
      const dst = randomBytes(buf(w, n + rand(3)));
      const expect = Buffer.from(dst);
      Buffer.from(src).copy(expect);
      assert.is(await dev.memcpy(dst, src), dst, `memcpy ${n} resolves to dst`);
      assert.ok(dst.equals(expect), `memcpy ${n} bytes`);
      // with an explicit length
      const len = rand(n + 1);
      const d2 = randomBytes(buf(w, n));
      const e2 = Buffer.from(d2);
      Buffer.from(src).copy(e2, 0, 0, len);
      assert.is(await dev.memmove(d2, src, len), d2);
      assert.ok(d2.equals(e2), `memmove length ${len} of ${n}`);
    }
    freeAll();
  });

  test(`memmove/memcpy (${w}): overlapping ranges both ways equal Buffer.copyWithin`, async () => {
    const dev = devOf(w);
    for (const n of [1, 100, 4097, 300_000, 1_500_000]) {
      for (const op of ['memmove', 'memcpy'] as const) {
        for (const shift of [1, 7, 64, Math.max(1, n >> 1)]) {
          const b = randomBytes(buf(w, n + shift));
          const expect = Buffer.from(b);
          // forward (dst > src) and backward (dst < src)
          expect.copyWithin(shift, 0, n);
          await dev[op](b.subarray(shift), b.subarray(0, n));
          assert.ok(b.equals(expect), `${op} ${n} bytes, dst = src + ${shift}`);
          expect.copyWithin(0, shift, shift + n);
          await dev[op](b, b.subarray(shift, shift + n));
          assert.ok(b.equals(expect), `${op} ${n} bytes, dst = src - ${shift}`);
        }
      }
    }
    freeAll();
  });

  test(`fill (${w}): a byte, an 8-byte pattern (Buffer, bigint), offset/length, equal Buffer.fill`, async () => {
    const dev = devOf(w);
    for (const n of sizes()) {
      const d = randomBytes(buf(w, n));
      const byte = rand(256);
      assert.is(await dev.fill(d, byte), d);
      assert.ok(d.equals(Buffer.alloc(n, byte)), `fill ${n} with ${byte}`);
      const pat = randomBytes(Buffer.alloc(8)) as Buffer;
      const off = rand(n + 1);
      const len = rand(n - off + 1);
      const expect = Buffer.from(randomBytes(d));
      if (len > 0) expect.fill(pat, off, off + len);
      await dev.fill(d, pat, off, len);
      assert.ok(d.equals(expect), `fill ${n}: 8-byte pattern at ${off} for ${len}`);
      await dev.fill(d, pat.readBigUInt64LE(0));
      assert.ok(n === 0 || d.equals(Buffer.alloc(n, pat)), `fill ${n} with a bigint pattern`);
    }
    freeAll();
  });

  test(`compare/firstDifference (${w}): sign equals Buffer.compare, also for different lengths`, async () => {
    const dev = devOf(w);
    for (const n of sizes()) {
      const a = randomBytes(buf(w, n));
      const b = buf(w, n);
      b.set(a);
      assert.is(await dev.compare(a, b), 0, `equal ${n}`);
      assert.is(await dev.firstDifference(a, b), -1, `equal ${n}`);
      if (n > 0) {
        const at = rand(n);
        b[at] = a[at] ^ (1 + rand(255));
        assert.is(await dev.compare(a, b), sign(Buffer.compare(a, b)), `compare ${n}, differing at ${at}`);
        assert.is(await dev.compare(b, a), sign(Buffer.compare(b, a)), `compare ${n} reversed`);
        assert.is(await dev.firstDifference(a, b), at, `firstDifference ${n}`);
      }
      // different lengths: a prefix, and a longer one with a difference inside the common part
      const shorter = a.subarray(0, rand(n + 1));
      assert.is(await dev.compare(shorter, a), sign(Buffer.compare(shorter, a)), `prefix of ${n}`);
      assert.is(await dev.compare(a, shorter), sign(Buffer.compare(a, shorter)), `prefix of ${n}, reversed`);
      assert.is(await dev.firstDifference(shorter, a), firstDiffJs(shorter, a));
      assert.is(await dev.firstDifference(b, shorter), firstDiffJs(b, shorter));
      assert.is(await dev.compare(b, shorter), sign(Buffer.compare(b, shorter)));
    }
    freeAll();
  });

  test(`crc32c/copyCrc32c (${w}): equal @node-rs/crc32, with seeds, chaining through the seed`, async () => {
    const dev = devOf(w);
    for (const n of sizes()) {
      const d = randomBytes(buf(w, n));
      const seed = random();
      assert.is(await dev.crc32c(d), nativeCrc(d), `crc32c ${n}`);
      assert.is(await dev.crc32c(d, seed), nativeCrc(d, seed), `crc32c ${n} seeded`);
      const cut = rand(n + 1);
      assert.is(await dev.crc32c(d.subarray(cut), await dev.crc32c(d.subarray(0, cut))), nativeCrc(d), `chained at ${cut} of ${n}`);
      const out = randomBytes(buf(w, n + rand(3)));
      assert.is(await dev.copyCrc32c(out, d, seed), nativeCrc(d, seed), `copyCrc32c ${n}`);
      assert.ok(out.subarray(0, n).equals(d), `copyCrc32c copied ${n}`);
    }
    freeAll();
  });

  test(`dualcast (${w}): both destinations equal src`, async () => {
    const dev = devOf(w);
    for (const n of sizes()) {
      const src = randomBytes(buf(w, n));
      const d1 = randomBytes(buf(w, n));
      const d2 = randomBytes(buf(w, n + 5));
      const tail = Buffer.from(d2.subarray(n));
      await dev.dualcast(d1, d2, src);
      assert.ok(d1.equals(src) && d2.subarray(0, n).equals(src) && d2.subarray(n).equals(tail), `dualcast ${n}`);
    }
    // A destination over src: both get src's bytes as they were (it is written last); src under both is refused.
    for (const n of [64, 4096, 100_003, 5 << 20]) {
      const shift = [1, 64, 4096][rand(3)];
      const area = randomBytes(buf(w, n + shift, 0));
      const other = buf(w, n);
      for (const [s, over] of [[area.subarray(0, n), area.subarray(shift)], [area.subarray(shift), area.subarray(0, n)]]) {
        const was = Buffer.from(s);
        const [x, y] = rand(2) === 0 ? [over, other] : [other, over];
        await dev.dualcast(x, y, s);
        assert.ok(Buffer.from(over.subarray(0, n)).equals(was) && Buffer.from(other.subarray(0, n)).equals(was), `dualcast ${n}, a destination ${shift} bytes over src`);
        randomBytes(area);
      }
      await rejects(() => dev.dualcast(area.subarray(0, n - 1), area.subarray(2, n + 1), area.subarray(1, n)), RangeError, 'src under both destinations');
      await rejects(() => dev.dualcast(area.subarray(1, n), area.subarray(1, n), area.subarray(1, n)), RangeError, 'src the same bytes as both destinations (0x16 on the device)');
      // destinations that overlap each other (0x16 on the device too), away from src
      const apart = buf(w, 3 * n + 8);
      await rejects(() => dev.dualcast(apart.subarray(n, 2 * n), apart.subarray(n + 1, 2 * n + 1), apart.subarray(2 * n + 8, 3 * n + 8)), RangeError, 'dst1 and dst2 overlap');
    }
    // destinations with equal bits 11:0 (DSA's own dualcast) in the arena
    if (w === 'whole' || w === 'split') {
      const n = 200_000 + rand(100_000);
      const stride = Math.ceil((n + 64) / 4096) * 4096;
      const big = devOf(w).buffer(4 * stride);
      const base = (4096 - (big.byteOffset & 4095)) & 4095;
      const src = randomBytes(big.subarray(base + 8, base + 8 + n));
      const d1 = big.subarray(base + stride + 24, base + stride + 24 + n);
      const d2 = big.subarray(base + 2 * stride + 24, base + 2 * stride + 24 + n);
      assert.is(d1.byteOffset & 0xfff, d2.byteOffset & 0xfff);
      await devOf(w).dualcast(d1, d2, src);
      assert.ok(d1.equals(src) && d2.equals(src), 'dualcast, equal bits 11:0');
      devOf(w).free(big.byteOffset);
    }
    freeAll();
  });

  test(`createDelta/applyDelta (${w}): round trips, sizes not multiples of 8, > 512 KiB`, async () => {
    const dev = devOf(w);
    for (const n of [0, 1, 7, 8, 13, 4096, 4099, 65_541, 524_288, 524_296, 600_003, 1_300_001]) {
      const a = randomBytes(buf(w, n));
      const b = buf(w, n);
      b.set(a);
      const same = await dev.createDelta(a, b);
      assert.ok(same instanceof Uint8Array);
      const changes = n === 0 ? 0 : 1 + rand(40);
      for (let k = 0; k < changes; k++) b[rand(n)] ^= 0xa5;
      b[n - 1] ^= n > 0 ? 1 : 0; // the tail (size mod 8) too
      const delta = await dev.createDelta(a, b);
      const target = buf(w, n);
      target.set(a);
      assert.is(await dev.applyDelta(target, delta), target);
      assert.ok(target.equals(b), `round trip ${n}`);
      // applying the empty delta changes nothing
      await dev.applyDelta(target, same);
      assert.ok(target.equals(b), `empty delta ${n}`);
      // a delta from one placement applies on another (it is plain bytes)
      const local = Buffer.from(a);
      await dev.applyDelta(local, delta);
      assert.ok(local.equals(b), `delta applied to local memory ${n}`);
      // a destination of another size is refused, not written with the tail 8·k bytes off
      for (const other of [n + 8, n - 8, n + 1]) {
        if (other < 0) continue;
        const wrong = Buffer.alloc(other);
        await rejects(() => dev.applyDelta(wrong, delta), RangeError, `a ${other}-byte dst for a ${n}-byte delta`);
        assert.ok(wrong.every((x) => x === 0), 'nothing written');
      }
    }
    freeAll();
  });
}

test('a large delta is made and checked with turns of the event loop: framed() a frame at a time, applyDelta\'s entry checks before its first write (160 MiB in one go held the loop 79-169 ms; an outside pass)', async () => {
  const n = 32 << 20;
  const a = Buffer.alloc(n);
  const b = Buffer.alloc(n, 1); // (every word differs: a 40 MiB delta)
  const dev = await Device.open({ engines: 1 });
  try {
    const delta = await dev.createDelta(a, b);
    assert.is(delta.byteLength > 40 << 20, true);
    // framed(): the frames of a delta written with turns between them (at least every 8 MiB)
    const frames = parseFrames(delta, n).map(([w, x, y]) => [w, delta.subarray(x, y)] as const);
    const [again, turns] = await turnsDuring(() => framed(n, frames, pacing()));
    assert.ok(Buffer.from(again).equals(delta), 'the same delta');
    assert.ok(turns >= 4, `${turns} turns while 40 MiB of frames were written`);
    // applyDelta: turns while its entries are checked, before dst's first byte changes
    const dst = Buffer.alloc(n);
    let before = 0;
    let written = false;
    const spin = (): void => {
      if (dst[0] !== 0) written = true;
      if (written) return;
      before++;
      setImmediate(spin);
    };
    setImmediate(spin);
    await dev.applyDelta(dst, delta);
    written = true;
    assert.ok(dst.equals(b), 'applied');
    assert.ok(before >= 4, `${before} turns before its first write`);
    // a bad entry in the last window: refused before anything is written
    const bad = Buffer.from(delta);
    bad.writeUInt16LE(7, bad.byteLength - 10); // (its last entry names word 7: out of order)
    const target = Buffer.alloc(n);
    const e = await dev.applyDelta(target, bad).then(() => null, (x: unknown) => x as Error);
    assert.match(String(e?.message), /applyDelta: delta: entry 65535 of window 63 \(word 7\) is out of order or past the window/);
    assert.ok(target.every((x) => x === 0), 'nothing written');
    // its buffer detached while its entries are checked: BUFFER_GONE, not a bad entry (it said "entry 1 of window 6 ... out of order")
    const ab = new ArrayBuffer(delta.byteLength);
    new Uint8Array(ab).set(delta);
    setImmediate(() => structuredClone(ab, { transfer: [ab] }));
    const gone = await dev.applyDelta(target, new Uint8Array(ab)).then(() => null, (x: unknown) => x as Error & { code?: string });
    assert.is(gone?.code, 'BUFFER_GONE', String(gone));
    assert.match(String(gone?.message), /^applyDelta: the call's delta was detached/);
    assert.ok(target.every((x) => x === 0), 'nothing written');
  } finally {
    await dev.close();
  }
});

test('createDelta on this thread (plain Buffers) gives the bytes the engines give (arena copies of the buffers): few, many and all words different, odd sizes', async () => {
  for (const [n, every] of [[1_300_005, 50_000], [1_048_579, 3], [600_001, 1]] as const) {
    const a = randomBytes(Buffer.alloc(n));
    const b = Buffer.from(a);
    for (let i = 0; i < n; i += every) b[i] ^= 0x5a;
    const [ca, cb] = [whole.buffer(n), whole.buffer(n)];
    ca.set(a);
    cb.set(b);
    try {
      const engines = Buffer.from(await whole.createDelta(ca, cb));
      const here = Buffer.from(await whole.createDelta(a, b));
      assert.ok(here.equals(engines), `${n} bytes, every ${every}th changed: ${here.byteLength} vs ${engines.byteLength} bytes`);
      const target = Buffer.from(a);
      await whole.applyDelta(target, here);
      assert.ok(target.equals(b));
    } finally {
      whole.free(ca);
      whole.free(cb);
    }
  }
  assert.ok(whole.stats().ops.createDelta.placement['inline:not-shared'] > 0);
});

// ---------------------------------------------------------------- argument kinds and errors

test('arguments: Buffer, every TypedArray, DataView, ArrayBuffer and SharedArrayBuffer are accepted', async () => {
  const src = randomBytes(new Uint8Array(64));
  const kinds = [
    (ab: ArrayBuffer | SharedArrayBuffer) => new Uint8Array(ab),
    (ab: ArrayBuffer | SharedArrayBuffer) => Buffer.from(ab),
    (ab: ArrayBuffer | SharedArrayBuffer) => new Uint16Array(ab),
    (ab: ArrayBuffer | SharedArrayBuffer) => new Int32Array(ab),
    (ab: ArrayBuffer | SharedArrayBuffer) => new Float64Array(ab),
    (ab: ArrayBuffer | SharedArrayBuffer) => new BigInt64Array(ab),
    (ab: ArrayBuffer | SharedArrayBuffer) => new DataView(ab),
    (ab: ArrayBuffer | SharedArrayBuffer) => ab,
  ];
  for (const mk of kinds) {
    for (const ab of [new ArrayBuffer(64), new SharedArrayBuffer(64)]) {
      const dst = mk(ab);
      await whole.memcpy(dst, mk(src.slice().buffer));
      assert.ok(Buffer.from(ab).equals(src), `${dst.constructor.name} over ${ab.constructor.name}`);
      assert.is(await whole.crc32c(dst), nativeCrc(Buffer.from(src)));
      assert.is(await whole.compare(dst, src), 0);
    }
  }
  // arena memory through another view type
  const arena = whole.buffer(64);
  const f64 = new Float64Array(arena.buffer, arena.byteOffset, 8);
  await whole.memcpy(f64, src);
  assert.ok(arena.equals(src));
  whole.free(arena.byteOffset);
});

test('a buffer over 4 GiB (more than a Uint8Array views): a RangeError that gives its size and says to pass it in parts, not V8\'s "Invalid typed array length: undefined"', async () => {
  // (memory the kernel maps lazily: nothing of these 4 GiB is touched)
  for (const big of [new ArrayBuffer(2 ** 32 + 16), new Uint16Array(2 ** 31 + 8)]) {
    const e = await dsa.crc32c(big).then(() => null, (x: Error & { code?: string }) => x);
    assert.instance(e, RangeError);
    assert.is(e!.code, 'ERR_INVALID_ARG_VALUE');
    assert.match(e!.message, /^crc32c: data has 4294967312 bytes, more than one Uint8Array can view here; give it in parts/);
  }
});

test('argument errors: TypeError for wrong types, RangeError out of range; nothing runs', async () => {
  const dev = whole;
  const a = dev.buffer(64).fill(1);
  const b = dev.buffer(64).fill(2);
  const small = dev.buffer(16).fill(3);
  const delta = await dev.createDelta(a, b);
  const before = JSON.stringify(dev.stats().ops);
  const bad: unknown[] = [null, undefined, 42, 'bytes', {}, [1, 2, 3], new Set()];
  for (const v of bad) {
    const x = v as Uint8Array;
    await rejects(() => dev.memcpy(x, a), TypeError, `memcpy dst ${String(v)}`);
    await rejects(() => dev.memcpy(a, x), TypeError, `memcpy src ${String(v)}`);
    await rejects(() => dev.memmove(x, a), TypeError, `memmove dst ${String(v)}`);
    await rejects(() => dev.fill(x, 1), TypeError, `fill dst ${String(v)}`);
    await rejects(() => dev.compare(x, a), TypeError, `compare a ${String(v)}`);
    await rejects(() => dev.compare(a, x), TypeError, `compare b ${String(v)}`);
    await rejects(() => dev.firstDifference(x, a), TypeError, `firstDifference ${String(v)}`);
    await rejects(() => dev.crc32c(x), TypeError, `crc32c ${String(v)}`);
    await rejects(() => dev.copyCrc32c(a, x), TypeError, `copyCrc32c src ${String(v)}`);
    await rejects(() => dev.copyCrc32c(x, a), TypeError, `copyCrc32c dst ${String(v)}`);
    await rejects(() => dev.dualcast(x, b, a), TypeError, `dualcast dst1 ${String(v)}`);
    await rejects(() => dev.dualcast(b, x, a), TypeError, `dualcast dst2 ${String(v)}`);
    await rejects(() => dev.dualcast(b, small, x), TypeError, `dualcast src ${String(v)}`);
    await rejects(() => dev.createDelta(x, a), TypeError, `createDelta ${String(v)}`);
    await rejects(() => dev.applyDelta(x, new Uint8Array(0)), TypeError, `applyDelta dst ${String(v)}`);
    await rejects(() => dev.applyDelta(a, x), TypeError, `applyDelta delta ${String(v)}`);
    await rejects(() => dsa.memcpy(x, a), TypeError, `module memcpy ${String(v)}`);
    await rejects(() => dsa.crc32c(x), TypeError, `module crc32c ${String(v)}`);
  }
  // a detached buffer (transferred): the error names the argument, not V8's "Cannot perform Construct"
  const gone = new ArrayBuffer(16);
  const views = [gone, new Uint8Array(gone), new DataView(gone)];
  structuredClone(gone, { transfer: [gone] });
  for (const x of views) {
    for (const call of [() => dev.crc32c(x), () => dsa.crc32c(x), () => dev.memcpy(a, x), () => dsa.memcpy(x, a)]) {
      await rejects(call, TypeError, `detached ${typeName(x)}`);
      await call().catch((e: Error) => assert.match(e.message, /^\w+: (data|src|dst) is a detached ArrayBuffer/));
    }
  }
  // a view past the end of its resizable ArrayBuffer (shrunk below it): the same RangeError from
  // every call, naming the argument (V8 called it detached, or it was taken as 0 bytes)
  // (at offset 0 too: its subarray(0) is in bounds, 0 bytes at 0, and a CRC of it resolved 0)
  for (const make of [(r: ArrayBuffer) => new Uint8Array(r, 512, 256), (r: ArrayBuffer) => new Uint16Array(r, 512, 8), (r: ArrayBuffer) => new DataView(r, 512, 16), (r: ArrayBuffer) => new Uint8Array(r, 512), (r: ArrayBuffer) => new Uint8Array(r, 0, 256), (r: ArrayBuffer) => new Uint32Array(r, 0, 64)]) {
    const rab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void })(1024, { maxByteLength: 4096 });
    const x = make(rab);
    rab.resize(100);
    for (const [what, call] of [['data', () => dev.crc32c(x)], ['a', () => dsa.compare(x, a)], ['dst', () => dev.fill(x, 1)], ['src', () => dsa.memcpy(a, x)], ['dst', () => dev.memcpy(x, a)]] as const) {
      await rejects(call, RangeError, `out of bounds ${typeName(x)}`);
      await call().catch((e: Error) => assert.match(e.message, new RegExp(`^\\w+: ${what} is a view past the end of its ArrayBuffer`)));
    }
  }
  assert.is(await dsa.crc32c(new Uint8Array(0)), 0, 'an empty view is no error');
  // lengths, offsets, sizes
  for (const len of [-1, 1.5, NaN, Infinity, 65]) await rejects(() => dev.memcpy(b, a, len), RangeError, `memcpy length ${len}`);
  await rejects(() => dev.memcpy(b, a, '8' as unknown as number), TypeError, 'memcpy length as a string');
  await rejects(() => dev.memcpy(small, a), RangeError, 'memcpy into a smaller dst');
  await rejects(() => dev.memmove(small, a, 17), RangeError, 'memmove past dst');
  await rejects(() => dev.copyCrc32c(small, a), RangeError, 'copyCrc32c into a smaller dst');
  await rejects(() => dev.dualcast(b, small, a), RangeError, 'dualcast into a smaller dst2');
  await rejects(() => dev.fill(b, 1, 65), RangeError, 'fill offset past the end');
  await rejects(() => dev.fill(b, 1, 60, 5), RangeError, 'fill range past the end');
  await rejects(() => dev.fill(b, 1, -1), RangeError, 'fill negative offset');
  await rejects(() => dev.fill(b, 256), RangeError, 'fill byte 256');
  await rejects(() => dev.fill(b, -1), RangeError, 'fill byte -1');
  await rejects(() => dev.fill(b, 1.5), RangeError, 'fill byte 1.5');
  await rejects(() => dev.fill(b, new Uint8Array(3)), RangeError, 'fill 3-byte pattern');
  await rejects(() => dev.fill(b, 1n << 64n), RangeError, 'fill pattern past 64 bits');
  await rejects(() => dev.fill(b, 'x' as unknown as number), TypeError, 'fill with a string');
  for (const seed of [-1, 2 ** 32, 0.5, NaN]) await rejects(() => dev.crc32c(a, seed), RangeError, `crc32c seed ${seed}`);
  await rejects(() => dev.crc32c(a, '1' as unknown as number), TypeError, 'crc32c seed as a string');
  await rejects(() => dev.copyCrc32c(b, a, -5), RangeError, 'copyCrc32c seed -5');
  await rejects(() => dev.createDelta(a, small), RangeError, 'createDelta of unequal sizes');
  await rejects(() => dev.applyDelta(small, new Uint8Array(5)), RangeError, 'applyDelta truncated header');
  await rejects(() => dev.applyDelta(small, delta), RangeError, 'applyDelta of a delta for a larger buffer');
  const shuffled = Uint8Array.from(delta);
  shuffled.set(delta.subarray(42, 52), 32); // entry 1 first: out of order (after the 24-byte size frame and the window's header)
  shuffled.set(delta.subarray(32, 42), 42);
  const target = Buffer.from(a);
  await rejects(() => dev.applyDelta(target, shuffled), RangeError, 'applyDelta entries out of order');
  assert.ok(target.equals(a), 'a rejected delta wrote nothing');
  // a malformed delta is an argument error as the others are: named, coded
  for (const bad of [new Uint8Array(0), new Uint8Array(5), shuffled]) {
    const e = (await dev.applyDelta(Buffer.from(a), bad).catch((x: unknown) => x)) as { message: string; code: string };
    assert.match(e.message, /^applyDelta: delta: /);
    assert.is(e.code, 'ERR_INVALID_ARG_VALUE');
  }
  await rejects(() => dev.memcpy(b, new Uint8Array(dev.memory.buffer as unknown as SharedArrayBuffer, 0, 64)), RangeError, 'the control region');
  assert.ok(b.equals(Buffer.alloc(64, 2)) && a.equals(Buffer.alloc(64, 1)) && small.equals(Buffer.alloc(16, 3)), 'nothing was written');
  assert.is(JSON.stringify(dev.stats().ops), before, 'no call ran');
  const pat = new SharedArrayBuffer(8); // (a fill pattern is 8 bytes of any kind, as its type says: a SharedArrayBuffer too)
  new Uint8Array(pat).set([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal([...(await dev.fill(Buffer.alloc(16), pat))], [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
  // module-level alloc/free
  await rejects(async () => dsa.alloc(-1), RangeError, 'alloc(-1)');
  await rejects(async () => dsa.alloc('4' as unknown as number), TypeError, "alloc('4')");
  await rejects(async () => dsa.free(Buffer.from('not from alloc')), RangeError, 'free of a Buffer alloc() did not return');
  // a view whose offset starts another block is not that block: b2 stays b2's
  const a2 = dsa.alloc(64);
  const b2 = dsa.alloc(64).fill(0xbb);
  await rejects(async () => dsa.free(a2.subarray(64)), RangeError, 'an empty view at the end of a block');
  await rejects(async () => dsa.free(new Uint8Array(b2.buffer, b2.byteOffset, 1) as Buffer), RangeError, 'a view of a block');
  dsa.free(b2);
  await rejects(async () => dsa.free(b2), RangeError, 'a double free');
  dsa.free(a2);
  await rejects(async () => dev.free('x' as unknown as number), TypeError, "dev.free('x')");
  // dev.free takes a Buffer from dev.buffer() too, exactly as returned, once
  const c = dev.buffer(64);
  const d = dev.buffer(64);
  await rejects(async () => dev.free(c.subarray(64)), RangeError, 'dev.free of an empty view at the end of a block');
  await rejects(async () => dev.free(Buffer.from(c)), RangeError, 'dev.free of a Buffer dev.buffer() did not return');
  dev.free(d);
  await rejects(async () => dev.free(d), RangeError, 'dev.free twice');
  dev.free(c);
  for (const x of [a, b, small]) dev.free(x);
});

// ---------------------------------------------------------------- CRC-32C

test('applyDelta refuses, writing nothing, a delta that is empty, cut short (also where a frame ends), with bytes after its end, or with frames out of createDelta\'s order; and a size frame of the size alone (an earlier version\'s)', async () => {
  const dev = whole;
  const n = (1 << 20) + 5; // two windows, and a tail
  const a = Buffer.alloc(n, 1);
  const b = Buffer.from(a);
  for (const i of [5, 600_000, n - 20, n - 2]) b[i] = 9; // a change in each window, and in the tail
  const delta = await dev.createDelta(a, b);
  const ends: number[] = []; // where each frame ends
  for (let at = 0; at < delta.length; ) ends.push((at += 8 + new DataView(delta.buffer, delta.byteOffset + at + 4, 4).getUint32(0, true)));
  assert.equal(ends.length, 4, 'size frame, two windows, tail');
  for (const cut of [0, 1, 7, 8, 23, ...ends.slice(0, -1)]) {
    const target = Buffer.from(a);
    await rejects(() => dev.applyDelta(target, delta.subarray(0, cut)), RangeError, `a delta cut to ${cut} of ${delta.length} bytes`);
    assert.ok(target.equals(a), `cut to ${cut}: nothing written`);
  }
  const longer = new Uint8Array(delta.length + 8);
  longer.set(delta);
  await rejects(() => dev.applyDelta(Buffer.from(a), longer), RangeError, 'bytes after the end');
  const target = Buffer.from(a);
  await dev.applyDelta(target, delta);
  assert.ok(target.equals(b), 'the whole delta applies');
  // frames reordered, twice, empty, or after the tail, with the length set to match: refused
  const [size, w0, w1, tail] = [0, ...ends.slice(0, -1)].map((at, i) => delta.subarray(at, ends[i]));
  const emptyW0 = new Uint8Array(8); // (window 0, no entries)
  const made = (...frames: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(frames.reduce((t, f) => t + f.length, 0));
    frames.reduce((at, f) => (out.set(f, at), at + f.length), 0);
    new DataView(out.buffer).setBigUint64(16, BigInt(out.length), true);
    return out;
  };
  assert.ok(Buffer.from(made(size, w0, w1, tail)).equals(delta), 'made() remakes the delta');
  for (const [what, bad] of [['reordered', made(size, w1, w0, tail)], ['a window twice', made(size, w0, w0, w1, tail)], ['an empty frame', made(size, emptyW0, w1, tail)], ['a frame after the tail', made(size, w0, tail, w1)], ['the tail twice', made(size, w0, w1, tail, tail)]] as const) {
    const t = Buffer.from(a);
    await rejects(() => dev.applyDelta(t, bad), RangeError, what);
    assert.ok(t.equals(a), `${what}: nothing written`);
  }
  // the size frame with the size alone, as an earlier version wrote it: no length to check it by
  const old = new Uint8Array(delta.length - 8);
  old.set(delta.subarray(0, 16));
  old.set(delta.subarray(24), 16);
  new DataView(old.buffer).setUint32(4, 8, true);
  const target2 = Buffer.from(a);
  const e = await dev.applyDelta(target2, old).then(() => null, (err: unknown) => err as Error);
  assert.ok(e instanceof RangeError && /earlier softdsa/.test(e.message), String(e));
  assert.ok(target2.equals(a), 'an earlier version\'s delta: nothing written');
  assert.is((await dev.createDelta(a, a)).length, 24, 'identical buffers: the size frame alone');
});

test('a large call on memory no engine reaches (plain Buffers) runs in slices with turns of the event loop between them, with the result of one done at once; a buffer detached meanwhile rejects it', async () => {
  const dev = whole;
  const n = (32 << 20) + 13;
  const r = rng(25);
  const src = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4096) src.writeUInt32LE(r() >>> 0, i);
  const calls: Array<[string, () => Promise<unknown>, () => unknown]> = [];
  const dst = Buffer.alloc(n);
  calls.push(['memcpy', () => dev.memcpy(dst, src).then(() => dst.equals(src)), () => true]);
  calls.push(['crc32c', () => dev.crc32c(src, 7), () => nativeCrc(src, 7)]);
  calls.push(['compare, equal', () => dev.compare(src, Buffer.from(src)), () => 0]);
  const other = Buffer.from(src);
  other[n - 3] ^= 1;
  calls.push(['firstDifference', () => dev.firstDifference(src, other), () => n - 3]);
  calls.push(['copyCrc32c', () => dev.copyCrc32c(Buffer.alloc(n), src), () => nativeCrc(src)]);
  const filled = Buffer.alloc(n);
  calls.push(['fill', () => dev.fill(filled, 0x0102030405060708n).then(() => filled.equals(Buffer.from(filled).fill(Buffer.from([8, 7, 6, 5, 4, 3, 2, 1])))), () => true]);
  const d1 = Buffer.alloc(n);
  const d2 = Buffer.alloc(n);
  calls.push(['dualcast', () => dev.dualcast(d1, d2, src).then(() => d1.equals(src) && d2.equals(src)), () => true]);
  // crc16t10dif runs here even on arena memory: the CRC of 4 MiB pieces chained, each done at once
  const crc16Pieces = async (data: Uint8Array): Promise<number> => {
    let c = 0;
    for (let a = 0; a < data.byteLength; a += 4 << 20) c = await dev.crc16t10dif(data.subarray(a, a + (4 << 20)), c);
    return c;
  };
  const want16 = await crc16Pieces(src);
  calls.push(['crc16t10dif', () => dev.crc16t10dif(src), () => want16]);
  const inArena = dev.buffer(n);
  src.copy(inArena);
  calls.push(['crc16t10dif, arena', () => dev.crc16t10dif(inArena), () => want16]);
  // deltas: the same bytes as the engines make from arena copies of the buffers; applied, the target
  const changed = Buffer.from(src);
  for (let i = 5; i < n; i += 77_777) changed[i] ^= 0x5a;
  const [ca, cb] = [dev.buffer(n), dev.buffer(n)];
  src.copy(ca);
  changed.copy(cb);
  const delta = Buffer.from(await dev.createDelta(ca, cb));
  dev.free(ca);
  dev.free(cb);
  dev.free(inArena);
  calls.push(['createDelta', () => dev.createDelta(src, changed).then((d) => Buffer.from(d).equals(delta)), () => true]);
  const target = Buffer.from(src);
  calls.push(['applyDelta', () => dev.applyDelta(target, delta).then(() => target.equals(changed)), () => true]);
  // over itself: forward and backward, as memmove (TypedArray.set of the whole) gives it
  for (const shift of [-3 * (1 << 20) - 5, 3 * (1 << 20) + 5]) {
    const at = 4 << 20;
    const room = Buffer.alloc(n + 2 * at);
    src.copy(room, at);
    const want = Buffer.from(room);
    want.set(want.subarray(at, at + n), at + shift);
    calls.push([`memmove by ${shift}`, () => dev.memmove(room.subarray(at + shift), room.subarray(at, at + n)).then(() => room.equals(want)), () => true]);
  }
  for (const [what, call, want] of calls) {
    const [got, turns] = await turnsDuring(call);
    assert.equal(got, want(), what);
    assert.ok(turns >= 3, `${what}: ${turns} turns of the event loop while it ran`);
  }
  assert.is(dev.stats().ops.crc32c.placement['inline:not-shared'] > 0, true);
  // a buffer transferred while the call runs: a RangeError that says so
  const ab = new ArrayBuffer(n);
  setImmediate(() => structuredClone(ab, { transfer: [ab] }));
  const e = await dev.crc32c(new Uint8Array(ab)).then(() => null, (err: unknown) => err as Error);
  assert.ok(e instanceof RangeError && /^crc32c: the call's source was detached/.test(e.message) && (e as { code?: string }).code === 'BUFFER_GONE', String(e));
  // ... and so for the calls that make or apply deltas, or a CRC-16, a window or a piece at a time
  for (const [what, call] of [
    ['createDelta', (u: Uint8Array) => dev.createDelta(u, Buffer.alloc(n))],
    ['applyDelta', (u: Uint8Array) => dev.applyDelta(u, delta)],
    ['crc16t10dif', (u: Uint8Array) => dev.crc16t10dif(u)],
  ] as const) {
    const buf = new ArrayBuffer(n);
    setImmediate(() => structuredClone(buf, { transfer: [buf] }));
    const err = await call(new Uint8Array(buf)).then(() => null, (x: unknown) => x as Error);
    assert.ok(err instanceof RangeError && err.message.startsWith(`${what}: `) && /detached/.test(err.message) && (err as { code?: string }).code === 'BUFFER_GONE', `${what}: ${String(err)}`);
  }
  // the delta itself, transferred while it is applied: said so by name
  const held = new ArrayBuffer(delta.byteLength);
  new Uint8Array(held).set(delta);
  setImmediate(() => structuredClone(held, { transfer: [held] }));
  const lost = await dev.applyDelta(Buffer.from(src), new Uint8Array(held)).then(() => null, (x: unknown) => x as Error);
  assert.ok(lost instanceof RangeError && /the call's delta was detached/.test(lost.message), String(lost));
  // a call of two sources says which of them went (both were "the call's source")
  for (const what of ['compare', 'firstDifference', 'createDelta'] as const) {
    for (const which of ['a', 'b'] as const) {
      const a = new Uint8Array(new ArrayBuffer(n));
      const b = new Uint8Array(new ArrayBuffer(n));
      const gone = which === 'a' ? a : b;
      setImmediate(() => structuredClone(gone.buffer, { transfer: [gone.buffer] }));
      const err = await dev[what](a, b).then(() => null, (x: unknown) => x as Error);
      assert.match(String(err), new RegExp(`^RangeError: ${what}: the call's ${which} \\(its ${which === 'a' ? 'first' : 'second'} buffer\\) was detached`), `${what}, ${which}`);
    }
  }
});

test('applyDelta of a delta kept in its own destination reads it whole first (an earlier window\'s entries rewrite its later frames)', async () => {
  const n = 3 << 20;
  const W = 512 << 10; // a delta window
  // The delta: window 1's entries rewrite 3 words at c (F), window 2's one word (G). Put at o in
  // window 1, its window-2 frame (the last 18 bytes) lies in those 3 words: applied as read, window
  // 1's entries overwrite the frame before it is applied.
  const o = W + 1026; // (o + 62, where the window-2 frame starts, is a word's start)
  const c = o + 62;
  const F = Buffer.from('0123456789abcdefghijklmn');
  const G = Buffer.from('GGGGGGGG');
  const mark = (x: Buffer): Buffer => {
    F.copy(x, c);
    G.copy(x, 2 * W + 800);
    return x;
  };
  const delta = Buffer.from(await whole.createDelta(Buffer.alloc(n, 1), mark(Buffer.alloc(n, 1))));
  assert.is(delta.byteLength, 80);
  const a = Buffer.alloc(n, 1);
  delta.copy(a, o);
  const b = mark(Buffer.from(a));
  assert.ok(Buffer.from(await whole.createDelta(a, b)).equals(delta), 'the delta of a to b is the one a holds');
  for (const dst of [Buffer.from(a), whole.buffer(n)]) {
    a.copy(dst);
    await whole.applyDelta(dst, dst.subarray(o, o + delta.byteLength));
    assert.ok(dst.equals(b), dst.buffer instanceof SharedArrayBuffer ? 'arena' : 'plain');
    if (dst.buffer instanceof SharedArrayBuffer) whole.free(dst);
  }
});

test('crc32c: the RFC 3720 (iSCSI) vectors and "123456789", on every placement', async () => {
  const vectors: Array<[Uint8Array, number]> = [
    [new Uint8Array(32), 0x8a9136aa],
    [new Uint8Array(32).fill(0xff), 0x62a8ab43],
    [Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    [Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    [Buffer.from('123456789'), 0xe3069283],
    [new Uint8Array(0), 0],
  ];
  for (const w of WHERES) {
    for (const [data, crc] of vectors) {
      const b = buf(w, data.length);
      b.set(data);
      assert.is(await devOf(w).crc32c(b), crc, `${w}: ${data.length} bytes`);
    }
  }
  freeAll();
});

test('crc32c/copyCrc32c inline on arena buffers (this thread\'s instance of the core): equal @node-rs/crc32, with seeds', async () => {
  const dev = await Device.open({ engines: 1, inlineThreshold: 1 << 20 }); // everything below 1 MiB runs here
  try {
    for (const n of [0, 1, 7, 64, 191, 192, 616, 617, 4096, 32768, 100_000]) {
      const a = randomBytes(dev.buffer(n));
      const out = dev.buffer(n);
      const seed = (Math.random() * 2 ** 32) >>> 0;
      assert.is(await dev.crc32c(a, seed), nativeCrc(a, seed), `crc32c ${n} bytes`);
      assert.is(await dev.copyCrc32c(out, a, seed), nativeCrc(a, seed), `copyCrc32c ${n} bytes`);
      assert.ok(Buffer.from(out).equals(Buffer.from(a)), `copy ${n} bytes`);
    }
    assert.equal(Object.keys(dev.stats().ops.crc32c.placement), ['inline:small']);
  } finally {
    await dev.close();
  }
});

test('split: a large call is cut into several pieces per engine (taken by whichever engine is free), and its result is whole', async () => {
  const n = (40 << 20) + 13; // 2 engines x 4 pieces, 5 MiB each, and a ragged end
  const src = randomBytes(split.buffer(n));
  const a = Buffer.from(src);
  const dst = split.buffer(n);
  const before = split.stats().batches.descriptors;
  await split.memcpy(dst, src);
  // (a copy's pieces are cut to the 8 MiB from which engines copy past the cache: 5 and a ragged end)
  assert.is(split.stats().batches.descriptors - before, 6, 'memcpy: 6 pieces');
  assert.ok(dst.equals(a), 'memcpy of pieces = source');
  const beforeCrc = split.stats().batches.descriptors;
  assert.is(await split.crc32c(src, 7), nativeCrc(a, 7), 'crc32c of pieces (combined) = @node-rs/crc32');
  assert.is(split.stats().batches.descriptors - beforeCrc, 8, 'crc32c: 8 pieces');
  assert.is(await split.copyCrc32c(dst.fill(0), src), nativeCrc(a), 'copyCrc32c of pieces');
  assert.ok(dst.equals(a));
  split.free(src.byteOffset);
  split.free(dst.byteOffset);
});

test('crc32c: split CRCs (GF(2) combine) equal whole ones and @node-rs/crc32, chained through seeds', async () => {
  for (const n of [65, 127, 129, 1 << 20, (3 << 20) + 13]) {
    const a = randomBytes(buf('split', n));
    const w = buf('whole', n);
    w.set(a);
    for (const seed of [0, 1, 0xffffffff, random()]) {
      const s = await split.crc32c(a, seed);
      assert.is(s, await whole.crc32c(w, seed), `split = whole, ${n} bytes, seed ${seed}`);
      assert.is(s, nativeCrc(a, seed), `split = @node-rs/crc32, ${n} bytes, seed ${seed}`);
      const out = buf('split', n);
      assert.is(await split.copyCrc32c(out, a, seed), s, `copyCrc32c split ${n}`);
      assert.ok(out.equals(a));
    }
    // chaining three parts through seeds, each split
    const c1 = (n / 3) | 0;
    const c2 = (2 * n / 3) | 0;
    const chained = await split.crc32c(a.subarray(c2), await split.crc32c(a.subarray(c1, c2), await split.crc32c(a.subarray(0, c1))));
    assert.is(chained, nativeCrc(a), `chained split, ${n}`);
  }
  const st = split.stats().ops.crc32c.placement;
  assert.ok((st.split ?? 0) > 0, 'CRCs ran split');
  freeAll();
});

test('split operations equal whole ones: memcpy, fill, compare, firstDifference, dualcast', async () => {
  const n = (2 << 20) + 4099;
  const src = randomBytes(buf('split', n, 3));
  const wsrc = buf('whole', n, 3);
  wsrc.set(src);
  const [d1, d2] = [buf('split', n, 5), buf('whole', n, 5)];
  await Promise.all([split.memcpy(d1, src), whole.memcpy(d2, wsrc)]);
  assert.ok(d1.equals(d2) && d1.equals(src), 'memcpy');
  const pat = 0x0123456789abcdefn;
  await Promise.all([split.fill(d1, pat, 1, n - 2), whole.fill(d2, pat, 1, n - 2)]);
  assert.ok(d1.equals(d2), 'fill with a pattern, odd offset and length');
  for (const at of [0, 63, 64, n >> 1, n - 1]) {
    d1.set(src);
    d2.set(src);
    d1[at] ^= 0x10;
    d2[at] ^= 0x10;
    assert.is(await split.firstDifference(src, d1), at);
    assert.is(await whole.firstDifference(wsrc, d2), at);
    assert.is(await split.compare(src, d1), await whole.compare(wsrc, d2));
    assert.is(await split.compare(src, d1), sign(Buffer.compare(src, d1)));
  }
  // several differences in different ranges: the first one wins
  d1.set(src);
  d1[n - 10] ^= 1;
  d1[100] ^= 1;
  assert.is(await split.firstDifference(src, d1), 100);
  const [e1, e2] = [buf('split', n), buf('split', n)];
  await split.dualcast(e1, e2, src);
  assert.ok(e1.equals(src) && e2.equals(src), 'dualcast');
  for (const op of ['memcpy', 'fill', 'compare', 'firstDifference', 'dualcast']) {
    assert.ok((split.stats().ops[op].placement.split ?? 0) > 0, `${op} ran split`);
    assert.is(whole.stats().ops[op].placement.split, undefined, `${op} never split on 'whole'`);
  }
  freeAll();
});

test('64 MiB: memcpy and crc32c split across engines (arena), and inline (non-shared)', async () => {
  const n = 64 << 20;
  const src = split.buffer(n);
  const dst = split.buffer(n);
  randomBytes(src.subarray(0, 1 << 20));
  for (let o = 1 << 20; o < n; o <<= 1) src.copyWithin(o, 0, o); // fast fill, still not uniform
  src[n - 1] ^= 0x5a;
  await split.memcpy(dst, src);
  assert.ok(dst.equals(src), 'memcpy 64 MiB');
  assert.is(await split.crc32c(dst), nativeCrc(src), 'crc32c 64 MiB');
  const local = Buffer.allocUnsafe(n);
  await split.memcpy(local, dst);
  assert.ok(local.equals(src), 'memcpy 64 MiB into non-shared memory');
  assert.is(await split.compare(local, src), 0);
  split.free(src.byteOffset);
  split.free(dst.byteOffset);
});

test('a split copy cuts pieces of at least cacheBypassBytes where each engine\'s share reaches it (so they copy past the cache); other calls and smaller copies as before', async () => {
  const dev = await Device.open({ engines: 4, arenaBytes: 160 << 20 });
  try {
    const n = 64 << 20;
    const src = dev.buffer(n).fill(9);
    const dst = dev.buffer(n);
    const pieces = async (fn: () => Promise<unknown>): Promise<number> => {
      const before = dev.stats().batches.descriptors;
      await fn();
      return dev.stats().batches.descriptors - before;
    };
    assert.is(await pieces(() => dev.memcpy(dst, src)), 8, '64 MiB over 4 engines: 8 pieces of 8 MiB (16 of 4 MiB before)');
    assert.ok(dst.equals(src));
    assert.is(await pieces(() => dev.crc32c(src)), 16, 'a CRC keeps 4 pieces an engine');
    assert.is(await pieces(() => dev.memcpy(dst.subarray(0, 16 << 20), src.subarray(0, 16 << 20))), 4, '16 MiB: shares of 4 MiB, below it: 4 MiB pieces');
  } finally {
    await dev.close();
  }
});

// ---------------------------------------------------------------- batching, builder, stats, telemetry

test('same-tick batching: calls of one tick go out as BATCH descriptors of up to BLOCK_MEMBERS (stats.batches)', async () => {
  const dev = whole;
  const src = randomBytes(dev.buffer(4096));
  const n = Math.min(BLOCK_MEMBERS, 50);
  const dsts = Array.from({ length: 50 }, () => dev.buffer(4096));
  let s0 = dev.stats().batches;
  await Promise.all(dsts.slice(0, n).map((d) => dev.memcpy(d, src)));
  let s1 = dev.stats().batches;
  assert.is(s1.batches - s0.batches, 1, `one batch for ${n} calls in one tick`);
  assert.is(s1.descriptors - s0.descriptors, n);
  assert.ok(dsts.slice(0, n).every((d) => d.equals(src)));
  // mixed operations in one tick: still one batch
  s0 = s1;
  const [crc, cmp] = await Promise.all([dev.crc32c(src), dev.compare(src, dsts[0]), dev.fill(dsts[1], 7), dev.memcpy(dsts[2], src)]);
  s1 = dev.stats().batches;
  assert.is(crc, nativeCrc(src));
  assert.is(cmp, 0);
  assert.is(s1.batches - s0.batches, 1, 'mixed calls: one batch');
  assert.is(s1.descriptors - s0.descriptors, 4);
  // awaited one at a time: one descriptor each (a lone call is submitted as itself)
  s0 = s1;
  for (const d of dsts.slice(0, 10)) await dev.memcpy(d, src);
  s1 = dev.stats().batches;
  assert.is(s1.batches - s0.batches, 10, 'ten awaited calls: ten submissions');
  // more calls in a tick than a block holds: full blocks go as they fill
  s0 = s1;
  const many = 3 * BLOCK_MEMBERS + 2;
  const crcs = await Promise.all(Array.from({ length: many }, (_, i) => dev.crc32c(src.subarray(0, 64 + (i % 64)))));
  s1 = dev.stats().batches;
  assert.is(s1.batches - s0.batches, 4, `${many} calls: four batches`);
  assert.is(s1.descriptors - s0.descriptors, many);
  assert.ok(crcs.every((c, i) => c === nativeCrc(src.subarray(0, 64 + (i % 64)))));
  for (const d of [src, ...dsts]) dev.free(d.byteOffset);
});

test('batch builder: results in order; a fence after a failure stops what follows', async () => {
  const dev = whole;
  const a = randomBytes(dev.buffer(8192));
  const b = dev.buffer(8192);
  const c = dev.buffer(8192).fill(9);
  const local = Buffer.alloc(100);
  const s0 = dev.stats().batches;
  const built = dev.batch()
    .memcpy(b, a)
    .crc32c(a, 5)
    .fill(c, 1, 0, 100)
    .memcpy(local, a, 100)
    .fence()
    .compare(a, b)
    .firstDifference(a, c);
  const results = await built.submit();
  // once submitted, a batch takes nothing more, and is not submitted again (a SoftDsaError with its code)
  assert.is(await built.submit().then(() => null, (e: { code?: string }) => e.code), 'BATCH_SUBMITTED');
  assert.throws(() => built.fill(c, 2), (e: { code?: string }) => e.code === 'BATCH_SUBMITTED');
  assert.is(results.length, 6);
  assert.is(results[0], b);
  assert.is(results[1], nativeCrc(a, 5));
  assert.is(results[2], c);
  assert.is(results[3], local);
  assert.is(results[4], 0);
  assert.is(results[5], 0);
  assert.ok(local.equals(a.subarray(0, 100)));
  assert.is(dev.stats().batches.batches - s0.batches, 2, 'two segments: two batch descriptors (device calls of the first, then of the second)');

  // a bad argument anywhere: the batch rejects as that call would, and none of its calls runs
  const x = dev.buffer(64).fill(0);
  const y = dev.buffer(64).fill(0);
  const z = dev.buffer(64).fill(0);
  for (const bad of [
    (b: BatchBuilder) => b.memcpy(y.subarray(0, 8), a, 64),
    (b: BatchBuilder) => b.crc32c(a, -1),
    (b: BatchBuilder) => b.fill(y, 256),
    (b: BatchBuilder) => b.createDelta(a, y),
  ]) {
    const builder = bad(dev.batch().fill(x, 0x11)).memcpy(y, a, 64).fence().fill(z, 0x33);
    await rejects(() => builder.submit(), RangeError, 'the bad call rejects the batch');
    assert.ok(x.equals(Buffer.alloc(64, 0)) && y.equals(Buffer.alloc(64, 0)) && z.equals(Buffer.alloc(64, 0)), 'nothing ran');
  }
  // which call failed: batchIndex, its place among the calls added (a batch of like calls gave no way to tell)
  const third = await dev.batch().fill(x, 1).fill(y, 2).crc32c(a, -1).fill(z, 3).submit().catch((e: unknown) => e);
  assert.is((third as { batchIndex?: number }).batchIndex, 2, String(third));
  const malformed = dev.buffer(20).fill(0xff); // (offsets past the destination: found as the call runs)
  const late = await dev.batch().fill(x, 1).fence().fill(y, 2).applyDelta(z, malformed).submit().catch((e: unknown) => e);
  assert.is((late as { batchIndex?: number }).batchIndex, 2, String(late));
  // a delta record an earlier call of the batch writes is data, not an argument: checked as it runs
  const a2 = dev.buffer(4096).fill(1);
  const b2 = dev.buffer(4096).fill(1);
  b2[100] = 7;
  const delta = await dev.createDelta(a2, b2);
  const slot = dev.buffer(delta.length).fill(0xff);
  const target = dev.buffer(4096).fill(1);
  await dev.batch().memcpy(slot, delta).fence().applyDelta(target, slot).submit();
  assert.ok(target.equals(b2), 'the delta written by the batch was applied');
  // a call its device's maxTransfer would cut into too many descriptors: refused up front too
  const small = await Device.open({ engines: 1, arenaBytes: 4 << 20, maxTransfer: 16 });
  try {
    const big = small.buffer((16 << 16) + 1).fill(3); // 65537 descriptors of 16 bytes
    const u = small.buffer(64).fill(0);
    await rejects(() => small.batch().fill(u, 5).crc32c(big).submit(), RangeError, 'too many pieces');
    // named and coded as an argument error, the call's own (and alone, not in a batch)
    for (const [name, call] of [['crc32c', () => small.crc32c(big)], ['fill', () => small.fill(big, 1)], ['memcpy', () => small.memcpy(big, big)]] as Array<[string, () => Promise<unknown>]>) {
      const e = (await call().catch((x: unknown) => x)) as { message: string; code: string };
      assert.match(e.message, new RegExp(`^${name}: a call of 1048577 bytes would take 65537 descriptors`), name);
      assert.is(e.code, 'ERR_INVALID_ARG_VALUE', name);
    }
    assert.ok(u.every((v) => v === 0), 'nothing ran');
    // refused wherever it would run: placed inline (here by a high inline threshold, in CI by one
    // measured high on a busy machine), the same call resolved
    const inline = await Device.open({ engines: 1, arenaBytes: 4 << 20, maxTransfer: 16, inlineThreshold: 1 << 30 });
    try {
      const big2 = inline.buffer((16 << 16) + 1).fill(3);
      for (const call of [() => inline.crc32c(big2), () => inline.fill(big2, 1), () => inline.memcpy(big2, big2)]) {
        const e = (await call().catch((x: unknown) => x)) as { message?: string; code?: string };
        assert.is(e.code, 'ERR_INVALID_ARG_VALUE', String(e.message ?? e));
      }
    } finally {
      await inline.close();
    }
    await small.batch().fill(u, 5).crc32c(big.subarray(0, 16 << 16)).submit(); // 65536: runs
    assert.ok(u.every((v) => v === 5));
  } finally {
    await small.close();
  }
  // a call that fails as it runs (an injected status; alone in its tick, it goes out as its own
  // MEMMOVE, not in a BATCH): nothing after the fence runs
  const rule = dev.inject({ opcode: Opcode.MEMMOVE, status: 0x1c, times: 1 });
  const builder = dev.batch().memcpy(y, a, 64).fence().fill(z, 0x33);
  try {
    await builder.submit();
    assert.unreachable('resolved');
  } catch (e) {
    assert.is((e as { status?: number }).status, 0x1c, String(e));
  }
  rule.remove();
  assert.is(rule.fired, 1);
  assert.ok(z.equals(Buffer.alloc(64, 0)), 'the call after the fence did not run');
  await rejects(() => builder.submit(), Error, 'a batch submits once');
  assert.throws(() => builder.memcpy(x, y), 'nothing can be added after submit');

  // module-level builder
  const m = dsa.alloc(256);
  const r = await dsa.batch().fill(m, 0x42).fence().crc32c(m).submit();
  assert.is(r[1], nativeCrc(Buffer.alloc(256, 0x42)));
  dsa.free(m);
  for (const v of [a, b, c, x, y, z]) dev.free(v.byteOffset);
});

test('a call (or a tick of calls) holding SUBMIT_NOW_BYTES of work goes to the engines as it is made: it runs while its caller works on, before the tick ends', async () => {
  const dev = await Device.open({ engines: 2, inlineThreshold: 1024, splitThreshold: 2 << 20, arenaBytes: 8 << 20 });
  try {
    const n = SUBMIT_NOW_BYTES;
    const src = dev.buffer(2 * n).fill(7);
    const dst = dev.buffer(2 * n);
    const quarter = n / 4;
    const cases: Array<[string, number, () => Promise<unknown>, number]> = [
      ['memcpy', n, () => dev.memcpy(dst, src, n), 7],
      ['fill', n, () => dev.fill(dst, 9, 0, n), 9],
      ['split memcpy', 2 * n, () => dev.memcpy(dst, src), 7],
      ['split fill', 2 * n, () => dev.fill(dst, 5), 5],
      // four calls of a quarter each: the block goes out with the fourth
      ['four memcpy calls', n, () => Promise.all([0, 1, 2, 3].map((i) => dev.memcpy(dst.subarray(i * quarter), src.subarray(i * quarter, (i + 1) * quarter)))), 7],
    ];
    for (const [name, end, call, value] of cases) {
      if (value === 7) dst.fill(0);
      const p = call();
      // The caller's own work, with no await: the engines must have the call already.
      const deadline = Date.now() + 10_000;
      while (Atomics.load(dst, end - 1) !== value && Date.now() < deadline);
      assert.is(Atomics.load(dst, end - 1), value, `${name}: done before its tick ended`);
      await p;
    }
    assert.equal(dev.stats().ops.memcpy.placement, { device: 5, split: 1 });
    assert.equal(dev.stats().ops.fill.placement, { device: 1, split: 1 });
  } finally {
    await dev.close();
  }
});

test('stats: per-operation counts, bytes, latency, and where each call ran and why', async () => {
  const dev = await Device.open({ engines: 2, inlineThreshold: 1024, splitThreshold: 65536, arenaBytes: 8 << 20 });
  try {
    const arena = (n: number): Buffer => dev.buffer(n);
    const big = randomBytes(arena(131072));
    await dev.memcpy(arena(100), big, 100); // inline:small
    await dev.memcpy(Buffer.alloc(100), big, 100); // inline:not-shared
    await dev.memcpy(new Uint8Array(new SharedArrayBuffer(100)), big, 100); // inline:foreign
    await dev.memcpy(arena(8192), big, 8192); // device
    await dev.memcpy(arena(131072), big); // split
    await dev.memcpy(big.subarray(64), big, 65536); // overlapping: device, never split
    await dev.copyCrc32c(big.subarray(8), big.subarray(0, 4096)); // overlapping copy+CRC: inline
    const u = arena(4096 + 3);
    await dev.createDelta(u.subarray(3), big.subarray(1, 4097)); // unaligned: inline
    const s = dev.stats();
    assert.equal(s.ops.memcpy.placement, { 'inline:small': 1, 'inline:not-shared': 1, 'inline:foreign': 1, device: 2, split: 1 });
    assert.is(s.ops.memcpy.count, 6);
    assert.is(s.ops.memcpy.bytes, 100 * 3 + 8192 + 131072 + 65536);
    assert.ok(s.ops.memcpy.latencyMs !== null && s.ops.memcpy.latencyMs.p50 > 0 && s.ops.memcpy.latencyMs.p99 >= s.ops.memcpy.latencyMs.p50);
    assert.equal(s.ops.copyCrc32c.placement, { 'inline:overlap': 1 });
    assert.equal(s.ops.createDelta.placement, { 'inline:unaligned': 1 });
    assert.equal(s.inlineThresholds, { copy: 1024, compare: 1024, crc: 1024 });
    assert.ok(s.completionPath === 'eventfd' || s.completionPath === 'atomics');
  } finally {
    await dev.close();
  }
});

test("splitThreshold 'auto' (the default): CRCs and compares split from 2 MiB, copies and fills from 4 MiB; a number, every call from there", async () => {
  const MiB = 1 << 20;
  for (const [opts, copyFrom, crcFrom] of [[{}, 4 * MiB, 2 * MiB], [{ splitThreshold: 3 * MiB }, 3 * MiB, 3 * MiB]] as const) {
    const dev = await Device.open({ engines: 2, inlineThreshold: 0, arenaBytes: 32 * MiB, ...opts });
    try {
      const a = dev.buffer(8 * MiB).fill(3);
      const b = dev.buffer(8 * MiB);
      for (const n of [2 * MiB - 64, 2 * MiB, 3 * MiB, 4 * MiB - 64, 4 * MiB]) {
        await dev.memcpy(b.subarray(0, n), a.subarray(0, n));
        await dev.fill(b.subarray(0, n), 5);
        await dev.crc32c(a.subarray(0, n));
        await dev.compare(a.subarray(0, n), a.subarray(0, n));
      }
      const splits = (op: 'memcpy' | 'fill' | 'crc32c' | 'compare'): number => dev.stats().ops[op]!.placement.split ?? 0;
      const count = (from: number): number => [2 * MiB - 64, 2 * MiB, 3 * MiB, 4 * MiB - 64, 4 * MiB].filter((n) => n >= from).length;
      assert.equal([splits('memcpy'), splits('fill')], [count(copyFrom), count(copyFrom)], `copies, ${JSON.stringify(opts)}`);
      assert.equal([splits('crc32c'), splits('compare')], [count(crcFrom), count(crcFrom)], `CRCs and compares, ${JSON.stringify(opts)}`);
    } finally {
      await dev.close();
    }
  }
  assert.throws(() => Device.openSync({ splitThreshold: 'always' as never }), /option splitThreshold: must be 'auto' or an integer from 64 to 4294967295, got the string "always"/);
  assert.throws(() => Device.openSync({ inlineThreshold: -1 }), /option inlineThreshold: must be 'auto' or an integer from 0/);
  // DSA's largest batch, as fromConfig and softdsa bench --batch take it
  assert.throws(() => Device.openSync({ maxBatch: 1025 }), /option maxBatch: must be an integer from 1 to 1024, got 1025/);
});

test("diagnostics_channel 'softdsa:op': one event per call with op, bytes, placement, duration; a failed call's with its error", async () => {
  const events: Array<{ op: string; bytes: number; placement: string; durationMs: number }> = [];
  const onEvent = (m: unknown): void => {
    events.push(m as (typeof events)[0]);
  };
  subscribe('softdsa:op', onEvent);
  try {
    const a = randomBytes(split.buffer(200_000));
    const b = split.buffer(200_000);
    await split.memcpy(b, a);
    await split.crc32c(a.subarray(0, 10));
    await split.compare(Buffer.alloc(10), Buffer.alloc(10));
    assert.is(events.length, 3);
    assert.is(events[0].op, 'memcpy');
    assert.is(events[0].bytes, 200_000);
    assert.is(events[0].placement, 'split');
    assert.ok(events[0].durationMs > 0);
    assert.equal([events[1].op, events[1].bytes, events[1].placement], ['crc32c', 10, 'device']);
    assert.equal([events[2].op, events[2].placement], ['compare', 'inline:not-shared']);
    // a call taken that fails is published too, with its error: as it ran here, on the device, split
    events.length = 0;
    const bad = Buffer.from(await split.difInsert(Buffer.alloc(512 * 4, 1)));
    bad[5] ^= 1;
    const failed = (e: unknown): unknown => e;
    const e1 = await split.difCheck(bad).catch(failed);
    const rule = split.inject({ opcode: Opcode.MEMMOVE, status: 0x20 });
    const e2 = await split.memcpy(b, a.subarray(0, 4096)).catch(failed);
    const e3 = await split.memcpy(b, a).catch(failed);
    rule.remove();
    const seen = events.map((e) => [e.op, e.placement, (e as { error?: unknown }).error]);
    assert.equal(seen.slice(1).map(([op, , error]) => [op, error]), [['difCheck', e1], ['memcpy', e2], ['memcpy', e3]]);
    assert.ok(e1 instanceof Error && e2 instanceof Error && e3 instanceof Error);
    assert.equal(seen.slice(2).map(([, placement]) => placement), ['split', 'split'], '(this device splits from 4 KiB)');
    split.free(a.byteOffset);
    split.free(b.byteOffset);
  } finally {
    unsubscribe('softdsa:op', onEvent);
  }
  // a program's first drop-in call, alone on the channel (the default device's warm-up published four more)
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
    import { crc32c, shutdown } from ${JSON.stringify(join(here, '..', 'src', 'index.ts'))};
    import { subscribe } from 'node:diagnostics_channel';
    const seen = [];
    subscribe('softdsa:op', (m) => seen.push(m.op + ' ' + m.bytes));
    await crc32c(Buffer.from('123456789'));
    await new Promise((r) => setTimeout(r, 150));
    console.log(JSON.stringify(seen));
    await shutdown();`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null'), ['crc32c 9'], r.stderr);
});

test('engine failures are reported, never lost: a call whose engine dies rejects or completes', async () => {
  const dev = await Device.open({ engines: 1, inlineThreshold: 0, arenaBytes: 4 << 20 });
  try {
    const a = randomBytes(dev.buffer(4096));
    const b = dev.buffer(4096);
    await dev.memcpy(b, a); // the engine is up
    dev.inject({ engineDeath: true, times: 1 });
    const calls = Array.from({ length: 8 }, () => dev.memcpy(b, a).then(() => 'ok', (e: { code?: string }) => e.code ?? 'error'));
    const outcome = await Promise.race([Promise.all(calls), after(15000, 'lost')]);
    assert.ok(Array.isArray(outcome), 'every call settled');
    assert.ok((outcome as string[]).every((o) => o === 'ok' || o === 'ENGINE_FAILED'), `outcomes: ${String(outcome)}`);
    // the device goes on
    b.fill(0);
    await dev.memcpy(b, a);
    assert.ok(b.equals(a), 'works after the engine restarted');
  } finally {
    await dev.close();
  }
});

test('a lone awaited call that completes while its submitter spins settles at once, with its status: success resolves, a failure rejects with the code', async () => {
  const dev = await Device.open({ engines: 1, inlineThreshold: 0, arenaBytes: 4 << 20 });
  try {
    const a = randomBytes(dev.buffer(4096));
    const b = dev.buffer(4096);
    for (let i = 0; i < 200; i++) await dev.memcpy(b, a); // the engine spins between calls now
    let rejected = 0;
    for (let i = 0; i < 50; i++) {
      b.fill(0);
      if (i % 5 === 0) {
        dev.inject({ opcode: Opcode.MEMMOVE, status: 0x13, times: 1 }); // transfer size too large
        const e = await dev.memcpy(b, a).then(() => null, (err: { code?: string; status?: number }) => err);
        assert.ok(e !== null, `call ${i} rejects`);
        assert.is(e!.status, 0x13, `call ${i}: the status`);
        rejected++;
      } else {
        assert.is(await dev.memcpy(b, a), b, `call ${i} resolves to dst`);
        assert.ok(b.equals(a));
      }
    }
    assert.is(rejected, 10);
    assert.is(dev.stats().ops.memcpy.placement.device, 240, 'the calls that completed (a failed call is not counted)');
  } finally {
    await dev.close();
  }
});

test('module-level API: default device opened on first use, same results as Node, shutdown and reopen', async () => {
  const a = dsa.alloc(100_000);
  const b = dsa.alloc(100_000);
  randomBytes(a);
  assert.is(await dsa.memcpy(b, a), b);
  assert.ok(b.equals(a));
  assert.is(await dsa.crc32c(a), nativeCrc(a));
  assert.is(await dsa.copyCrc32c(Buffer.alloc(10), a.subarray(0, 10), 3), nativeCrc(a.subarray(0, 10), 3));
  b[777] ^= 1;
  assert.is(await dsa.compare(a, b), sign(Buffer.compare(a, b)));
  assert.is(await dsa.firstDifference(a, b), 777);
  await dsa.fill(b, 0xab, 10, 20);
  assert.ok(b.subarray(10, 30).equals(Buffer.alloc(20, 0xab)));
  await dsa.memmove(b.subarray(1), b, 99_999);
  const [d1, d2] = [Buffer.alloc(64), new Uint8Array(64)];
  await dsa.dualcast(d1, d2, a.subarray(0, 64));
  assert.ok(d1.equals(a.subarray(0, 64)) && Buffer.from(d2).equals(d1));
  const delta = await dsa.createDelta(a, b);
  const c = Buffer.from(a);
  await dsa.applyDelta(c, delta);
  assert.ok(c.equals(b));
  const st = dsa.stats();
  assert.ok(st.ops.memcpy.count >= 1 && st.ops.crc32c.count >= 1);
  assert.ok(st.inlineThresholds !== null && st.inlineThresholds.copy > 0, 'thresholds measured ("auto")');
  const dev = dsa.defaultDevice();
  dsa.free(a);
  dsa.free(b);
  await dsa.shutdown();
  assert.is.not(dsa.defaultDevice(), dev, 'a new device after shutdown');
  assert.throws(() => dsa.free(a), RangeError, 'a Buffer of the old device is not freed in the new one');
  await dsa.shutdown();
  // calls pending at shutdown finish (or reject), never hang
  const x = dsa.alloc(1 << 20);
  const y = dsa.alloc(1 << 20);
  x.fill(5);
  const pending = dsa.memcpy(y, x);
  await dsa.shutdown();
  const outcome = await Promise.race([pending.then(() => 'done', () => 'rejected'), after(5000, 'hung')]);
  assert.ok(outcome === 'done' || outcome === 'rejected', `pending call at shutdown: ${outcome}`);
  // their buffers, freed after the shutdown (a request's `finally { free(buf) }` after a SIGTERM
  // handler's shutdown()): given back to their device, as dev.free takes them after close() (it threw)
  dsa.free(x);
  dsa.free(y);
  assert.throws(() => dsa.free(x), RangeError, 'freed twice: still refused');
});

test('inline copies of arena memory while the engines boot: past the cache from cacheBypassBytes (not overlapping), through the core below it and when overlapping; all exact', async () => {
  for (const cacheBypassBytes of [8 << 20, 0]) {
    const dev = Device.openSync({ cacheBypassBytes });
    try {
      const n = 8 << 20;
      const a = dev.buffer(n + 4096);
      for (let i = 0; i < a.length; i += 4) a.writeUInt32LE((i * 2654435761) >>> 0, i);
      const ref = Buffer.from(a);
      const b = dev.buffer(n + 4096);
      await dev.memcpy(b.subarray(3, n + 3), a.subarray(1, n + 1)); // at least cacheBypassBytes, odd offsets
      assert.ok(b.subarray(3, n + 3).equals(ref.subarray(1, n + 1)), `${cacheBypassBytes}: the copy`);
      await dev.memcpy(b.subarray(0, 4096), a.subarray(0, 4096)); // below it
      assert.ok(b.subarray(0, 4096).equals(ref.subarray(0, 4096)));
      await dev.memmove(a.subarray(64, n + 64), a.subarray(0, n)); // overlapping
      assert.ok(a.subarray(64, n + 64).equals(ref.subarray(0, n)), `${cacheBypassBytes}: the overlapping move`);
      assert.equal(dev.stats().ops.memcpy.placement, { 'inline:booting': 2 }, 'ran here, while the engines boot');
    } finally {
      await dev.close();
    }
  }
});

test('the first drop-in calls do not wait for the default device: they run here, it opens a moment later and counts them', async () => {
  await dsa.shutdown();
  // (the default device opens through Device.openSync, or Device[openLater] where its engines start later)
  const open = Device.openSync;
  const later = Device[openLater];
  let opened = 0;
  Device.openSync = (o) => {
    opened++;
    return open.call(Device, o);
  };
  Device[openLater] = (o, ms) => {
    opened++;
    return later.call(Device, o, ms);
  };
  try {
    const a = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 31) & 0xff));
    const b = Buffer.alloc(a.length);
    const [crc, copied, same] = await Promise.all([dsa.crc32c(a), dsa.memcpy(b, a), dsa.compare(a, a)]);
    assert.is(crc, nativeCrc(a) >>> 0);
    assert.ok(copied === b && b.equals(a));
    assert.is(same, 0);
    await rejects(() => dsa.crc32c('text' as never), TypeError, 'bad input: the same error as on the device');
    assert.is(opened, 0, 'the calls did not open the device');
    for (const until = Date.now() + 5000; opened === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 2));
    assert.is(opened, 1, 'it opened a moment later, the program still running');
    await new Promise((r) => setImmediate(r)); // (its warm-up, a turn after it opened, leaves their counts)
    const st = dsa.stats();
    assert.is(opened, 1);
    for (const op of ['crc32c', 'memcpy', 'compare'] as const) {
      assert.equal(st.ops[op].placement, { 'inline:booting': 1 }, op);
      assert.is(st.ops[op].bytes, a.length, op);
    }
    // shut down before it opened: it does not open
    await dsa.shutdown();
    await dsa.crc32c(a);
    await dsa.shutdown();
    await new Promise((r) => setTimeout(r, 50));
    assert.is(opened, 1, 'no device opened after shutdown()');
    // a call still running as the device opens in the same tick (dualcast settles a microtask later) is counted there
    await dsa.shutdown();
    const d1 = Buffer.alloc(16);
    const pending = dsa.dualcast(d1, Buffer.alloc(16), a.subarray(0, 16));
    assert.is(opened, 1);
    assert.is(dsa.stats().ops.dualcast, undefined, 'not done yet');
    assert.is(opened, 2, 'stats() opened it');
    await pending;
    assert.ok(d1.equals(a.subarray(0, 16)));
    assert.equal(dsa.stats().ops.dualcast.placement, { 'inline:booting': 1 });
    await dsa.shutdown();
    // a value the device would refuse is refused by configure(), not by a later call
    assert.throws(() => dsa.configure({ arenaBytes: 3 }), /arenaBytes/);
    assert.throws(() => dsa.configure({ faults: [{ status: 0x1ff }] }), /faults\[0\]/);
    assert.throws(() => dsa.configure({ engines: '2' } as never), (e: Error) => e instanceof TypeError && /engines: .*got the string "2"/.test(e.message));
    assert.throws(() => dsa.configure([] as never), /options must be an object; got Array/);
    const rules: Array<{ status: number }> = [];
    dsa.configure({ faults: rules });
    rules.push({ status: 0x1ff }); // (after the check: not taken)
    assert.is(await dsa.crc32c(a), nativeCrc(a) >>> 0);
    assert.is(dsa.stats().faults.injected, 0, 'the device opened (with the rule pushed after the check, it would not)');
    await dsa.shutdown();
    dsa.configure({});
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      import { configure } from ${JSON.stringify(join(here, '..', 'src', 'index.ts'))};
      try { configure({ completion: 'eventfd' }); console.log('accepted'); } catch (e) { console.log(e.message); }`], { encoding: 'utf8', env: { ...process.env, SOFTDSA_NO_EVENTFD: '1' }, timeout: 60_000 });
    assert.match(r.stdout, /option completion: eventfd: the addon is unavailable here \(disabled by SOFTDSA_NO_EVENTFD=1\)/, r.stderr);
  } finally {
    Device.openSync = open;
    Device[openLater] = later;
  }
});

test('the default device closed by the program itself (defaultDevice().close()), not by shutdown(): the next call opens another, as after shutdown()', async () => {
  await dsa.shutdown();
  const first = dsa.defaultDevice();
  await first.close();
  const a = Buffer.from('123456789');
  assert.is(await dsa.crc32c(a), 0xe3069283);
  const second = dsa.defaultDevice();
  assert.ok(second !== first && !second.isClosing, 'another device');
  const b = dsa.alloc(16);
  assert.is(b.buffer, second.memory.buffer);
  await dsa.ready();
  assert.is(await dsa.crc32c(b.fill(1)), nativeCrc(b) >>> 0);
  dsa.free(b);
  await dsa.shutdown();
});

test('while the default device\'s engines boot, a long call on a plain Buffer gives the event loop turns too (a 64 MiB memcpy held it 200 ms); a 16 MiB one runs in one go', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
    import { memcpy, crc32c, shutdown, stats } from ${JSON.stringify(join(here, '..', 'src', 'index.ts'))};
    const turnsDuring = async (call) => {
      let turns = 0, on = true;
      const spin = () => { if (on) { turns++; setImmediate(spin); } };
      setImmediate(spin);
      await call();
      on = false;
      return turns;
    };
    const big = Buffer.alloc(96 << 20, 1), into = Buffer.alloc(96 << 20);
    const small = Buffer.alloc(16 << 20, 2);
    const t16 = await turnsDuring(() => crc32c(small));
    const t96 = await turnsDuring(() => memcpy(into, big));
    const booting = stats().ops.memcpy.placement['inline:booting'];
    console.log(JSON.stringify({ t16, t96, booting, equal: into.equals(big) }));
    await shutdown();`], { encoding: 'utf8', timeout: 60_000 });
  const got = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { t16: number; t96: number; booting: number; equal: boolean };
  assert.is(got.booting, 1, `the copy ran while the engines booted (${r.stderr})`);
  assert.ok(got.equal);
  assert.is(got.t16, 0, '16 MiB: one go');
  assert.ok(got.t96 >= 2, `96 MiB: ${got.t96} turns`);
});

test("a buffer taken while the engines boot makes this thread's core there and then: the calls on it until they are up run on it, and do not wait to make it", async () => {
  const Instance = WebAssembly.Instance;
  let made = 0;
  WebAssembly.Instance = class extends Instance {
    constructor(module: WebAssembly.Module, imports?: WebAssembly.Imports) {
      super(module, imports);
      made++;
    }
  };
  const dev = Device.openSync({ engines: 1 });
  try {
    const buf = dev.buffer(1 << 20).fill(5);
    assert.is(made, 1, 'made by buffer()');
    assert.is(await dev.crc32c(buf), nativeCrc(buf) >>> 0);
    const copy = dev.buffer(1 << 20);
    await dev.memcpy(copy, buf);
    assert.ok(copy.equals(buf));
    assert.equal(dev.stats().ops.crc32c.placement, { 'inline:booting': 1 });
    assert.is(made, 1, 'and no other');
  } finally {
    WebAssembly.Instance = Instance;
    await dev.close();
  }
});

test('a process that uses the module-level API exits on its own (status 0), without shutdown()', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'api_exit.ts')], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.signal, null, `killed (timed out?): ${r.stderr}`);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), 'ok');
});

test('a program that ends as the default device opens exits then: the engines\' start, a piece a turn, does not hold it (their modules went on loading after its end, and it exited 33-104 ms later)', () => {
  // it ends in the turn the device opened in; at exit, the time since, and whether piscina had loaded whole
  const script = `import { createRequire } from 'node:module';
import { crc32c } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)};
import { defaultDeviceIfOpen } from ${JSON.stringify(new URL('../src/api/default_device.ts', import.meta.url).href)};
const require = createRequire(import.meta.url);
let opened = false;
process.on('exit', () => {
  const piscina = Object.keys(require.cache).filter((k) => /[\\\\/]piscina[\\\\/]dist[\\\\/]main\\.js$/.test(k)).length;
  console.log(JSON.stringify({ opened, piscina }));
});
await crc32c(Buffer.alloc(1 << 20));
const look = () => {
  if (defaultDeviceIfOpen() !== null) opened = true;
  else setTimeout(look, 1);
};
look();`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim()), { opened: true, piscina: 0 }, 'the process ended before the engines\' modules had all loaded');
});

/** Buffers that take the whole of dev's arena (largest first, halving down to `least` bytes), each filled with its index. */
function fillArena(dev: Device, least = 64): Buffer[] {
  const got: Buffer[] = [];
  for (let size = 1 << 30; size >= least; ) {
    try {
      got.push(dev.buffer(size).fill(got.length & 0xff));
    } catch {
      size >>>= 1;
    }
  }
  return got;
}

test('buffers that take the whole arena leave the calls their room: a block is set aside at open, before any buffer, and calls past it wait for it rather than fail', async () => {
  // with the calls made before the buffers take the arena, and (the case that failed: all but a
  // few of 100 calls refused) with the buffers taken first; maxBatch 4: a block holds 4 calls
  for (const callsFirst of [true, false]) {
    const dev = Device.openSync({ engines: 1, arenaBytes: 4 << 20, inlineThreshold: 0, maxBatch: 4 });
    if (callsFirst) void dev.ops;
    try {
      await dev.ready();
      const [a] = fillArena(dev);
      const b = a.subarray(a.byteLength >>> 1);
      await dev.memcpy(b.subarray(0, 4096), a.subarray(0, 4096));
      assert.ok(b.subarray(0, 4096).equals(a.subarray(0, 4096)));
      assert.is(await dev.crc32c(a), nativeCrc(a) >>> 0);
      // a tick of calls each holding SUBMIT_NOW_BYTES: each goes out at once
      assert.ok(a.byteLength >= SUBMIT_NOW_BYTES);
      assert.equal(await Promise.all([dev.crc32c(a), dev.crc32c(a), dev.crc32c(a)]), Array(3).fill(nativeCrc(a) >>> 0));
      // 50 calls in one tick (13 blocks' worth), then 40 made one per microtask while the others
      // are in flight: every one waits its turn for the one block there is room for
      const part = (i: number): Buffer => a.subarray(i * 4096, i * 4096 + 4096 + (i % 64));
      const crcs = await Promise.all(Array.from({ length: 50 }, (_, i) => dev.crc32c(part(i))));
      assert.equal(crcs, Array.from({ length: 50 }, (_, i) => nativeCrc(part(i)) >>> 0));
      const spread: Array<Promise<unknown>> = [];
      for (let i = 0; i < 40; i++) {
        spread.push(dev.memcpy(b.subarray(i * 4096, i * 4096 + 4096), part(i).subarray(0, 4096)), dev.compare(part(i), part(i)));
        await null;
      }
      const got = await Promise.all(spread);
      assert.ok(got.every((x, k) => k % 2 === 0 || x === 0));
      for (let i = 0; i < 40; i++) assert.ok(b.subarray(i * 4096, i * 4096 + 4096).equals(part(i).subarray(0, 4096)), `copy ${i}`);
    } finally {
      await dev.close();
    }
  }
});

test('the block set aside for the calls stays theirs after a burst on a small arena (the pool, full at a 16th of it, gave it back: buffers then took it)', async () => {
  for (const arenaBytes of [1 << 20, 4 << 20]) {
    const dev = await Device.open({ arenaBytes, engines: 2, inlineThreshold: 0 });
    try {
      const b = dev.buffer(4096).fill(1);
      const calls: Array<Promise<number>> = [];
      for (let i = 0; i < 200; i++) {
        calls.push(dev.crc32c(b)); // one call per microtask: ticks overlap, each with a block
        await null;
      }
      await Promise.all(calls);
      dev.free(b);
      const bufs: Buffer[] = [];
      try {
        for (;;) bufs.push(dev.buffer(64 << 10).fill(2));
      } catch {
        // the arena is full
      }
      const got = await Promise.allSettled(bufs.map((x) => dev.crc32c(x)));
      assert.equal(got.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), [], `${arenaBytes >> 20} MiB arena`);
    } finally {
      await dev.close();
    }
  }
});

test('the pool of descriptor blocks gives them back when an allocation finds no room (a block kept in the middle of the arena cut the room a large buffer needs, for good)', async () => {
  const arenaBytes = 4 << 20;
  const dev = await Device.open({ arenaBytes, engines: 2, inlineThreshold: 0 });
  try {
    // the arena full of 64 KiB buffers, but for a hole of 512 KiB in its middle: the only place
    // the blocks of a burst's ticks can go
    const bufs: Buffer[] = [];
    try {
      for (;;) bufs.push(dev.buffer(64 << 10).fill(1));
    } catch {
      // the arena is full
    }
    const mid = bufs.length >> 1;
    for (const b of bufs.splice(mid, 8)) dev.free(b);
    const b = bufs[0];
    const calls: Array<Promise<number>> = [];
    for (let i = 0; i < 200; i++) {
      calls.push(dev.crc32c(b)); // one call per microtask: ticks overlap, each with a block
      await null;
    }
    await Promise.all(calls);
    for (const x of bufs) dev.free(x);
    // the largest buffer the arena could hold before the burst, less the calls' own block
    const big = dev.buffer(arenaBytes - (1 << 20));
    assert.is(big.length, arenaBytes - (1 << 20));
    assert.is(await dev.crc32c(big.fill(3)), nativeCrc(big) >>> 0, 'and calls still run');
  } finally {
    await dev.close();
  }
});

test('calls that go out in parts keep to one block a tick: many take no more of the arena, and an inline call weighs nothing', async () => {
  const dev = await Device.open({ engines: 2, arenaBytes: 64 << 20, inlineThreshold: 1024 });
  const largest = (): number => {
    let lo = 0;
    for (let step = 64 << 20; step >= 4096; step >>>= 1) {
      try {
        dev.free(dev.buffer(lo + step));
        lo += step;
      } catch {
        // (too large: a smaller step)
      }
    }
    return lo;
  };
  try {
    const a = dev.buffer(SUBMIT_NOW_BYTES).fill(3);
    await dev.crc32c(a);
    const before = largest();
    const s0 = dev.stats().batches;
    const crcs = await Promise.all(Array.from({ length: 200 }, () => dev.crc32c(a)));
    assert.ok(crcs.every((c) => c === nativeCrc(a) >>> 0));
    assert.is(dev.stats().batches.batches - s0.batches, 200, 'each went out as it was made');
    assert.is(largest(), before, 'no more arena taken than before (one block a tick: 200 parts had taken 200 blocks, kept for good)');
    // Calls made one per microtask, each tick with a block of its own while the others are in
    // flight: the blocks go back, all but a few kept for the next ticks.
    const spread: Array<Promise<number>> = [];
    for (let i = 0; i < 300; i++) {
      spread.push(dev.crc32c(a));
      await null;
    }
    assert.ok((await Promise.all(spread)).every((c) => c === nativeCrc(a) >>> 0));
    const held = before - largest();
    assert.ok(held <= 2 << 20, `arena held after 300 calls one per microtask: ${held} bytes (all their blocks had stayed in the pool)`);
    // A call that runs inline (plain memory) adds no weight: the four small calls after it in
    // the tick (after a large one that went out at once) go out together at its end.
    const plain = Buffer.alloc(SUBMIT_NOW_BYTES - 4096, 1);
    const s1 = dev.stats().batches;
    await Promise.all([
      dev.crc32c(a),
      dev.dualcast(Buffer.alloc(plain.length), Buffer.alloc(plain.length), plain),
      ...[0, 1, 2, 3].map((i) => dev.crc32c(a.subarray(i * 4096, (i + 1) * 4096))),
    ]);
    assert.equal(dev.stats().ops.dualcast.placement, { 'inline:not-shared': 1 });
    assert.is(dev.stats().batches.batches - s1.batches, 2, 'the large call, then one batch of four');
  } finally {
    await dev.close();
  }
});

test('calls that need arena bytes of their own find them on an arena full of buffers: deltas made here instead, DIF and CRC-16 through the thread\'s own area; results as on a roomy device', async () => {
  const roomy = await Device.open({ arenaBytes: 16 << 20 });
  for (const inlineThreshold of ['auto', 0] as const) {
    const dev = await Device.open({ arenaBytes: 1 << 20, engines: 2, inlineThreshold });
    try {
      const bufs = fillArena(dev, 1);
      const a = bufs[0]; // (the arena's 1 MiB: what the calls set aside is on top of it)
      const b = a.subarray(1 << 19);
      const r = rng(5);
      for (let i = 0; i < 65536; i++) a[i] = r() & 0xff;
      b.set(a.subarray(0, 65536));
      for (let i = 0; i < 65536; i += 997) b[i] ^= 0x40;
      const x = a.subarray(0, 65536);
      const y = b.subarray(0, 65536);
      const delta = await dev.createDelta(x, y);
      assert.equal(delta, await roomy.createDelta(Buffer.from(x), Buffer.from(y)), `createDelta (${inlineThreshold})`);
      const c = a.subarray(1 << 18, (1 << 18) + 65536);
      c.set(x);
      await dev.applyDelta(c, delta);
      assert.ok(c.equals(y), `applyDelta (${inlineThreshold})`);
      const data = Buffer.from(a.subarray(0, 512 * 20)); // plain memory: staged
      const want = await roomy.difInsert(data, { blockSize: 512 });
      assert.ok(Buffer.from(await dev.difInsert(data, { blockSize: 512 })).equals(Buffer.from(want)), 'difInsert of plain memory');
      assert.ok(Buffer.from(await dev.difInsert(a.subarray(0, 512 * 20), { blockSize: 512 })).equals(Buffer.from(want)), 'difInsert of arena memory');
      await dev.difCheck(want, { blockSize: 512 });
      assert.is(await dev.crc16t10dif(Buffer.from(a.subarray(0, 300_000))), await roomy.crc16t10dif(Buffer.from(a.subarray(0, 300_000))), 'crc16t10dif of plain memory');
    } finally {
      await dev.close();
    }
  }
  await roomy.close();
});

test('calls waiting for room run once: a part sent as they are placed, done at once, does not place them again (its block back mid-drain)', async () => {
  // a full arena with a hole for a one-member block but not a full one: each block a waiting call
  // takes is a lone call, sent as the next is placed, and often done at once (the submitter's spin)
  const dev = await Device.open({ arenaBytes: 1 << 20, maxBatch: 2, engines: 1, inlineThreshold: 0 });
  try {
    const bufs = fillArena(dev, 1);
    const hole = bufs.find((b) => b.length === 256)!;
    dev.free(hole);
    dev.alloc(128);
    const big = bufs[0];
    let overwritten = 0;
    for (let r = 0; r < 60; r++) {
      const calls: Array<Promise<unknown>> = [];
      for (let i = 0; i < 50; i++) {
        const src = big.subarray(i * 64, i * 64 + 32).fill(r & 255);
        const dst = big.subarray(big.length - (i + 1) * 64, big.length - (i + 1) * 64 + 32);
        calls.push(dev.memcpy(dst, src).then(() => dst.fill(0xee))); // the caller's again: it writes
      }
      await Promise.all(calls);
      await new Promise((r) => setTimeout(r, 1));
      for (let i = 0; i < 50; i++) if (big[big.length - (i + 1) * 64] !== 0xee) overwritten++;
    }
    assert.is(dev.stats().ops.memcpy.count, 3000, 'each call counted once');
    assert.is(overwritten, 0, 'no copy landed after its call resolved');
  } finally {
    await Promise.race([dev.close(), new Promise((_, reject) => setTimeout(() => reject(new Error('close() hung')), 10_000))]);
  }
});

test('a split call on an arena full of buffers, with blocks of 2 calls, has its pieces wait for room: it resolves, every byte copied', async () => {
  const dev = await Device.open({ maxBatch: 2, engines: 2, arenaBytes: 96 << 20 });
  try {
    const n = 16 << 20;
    const src = dev.buffer(n);
    for (let i = 0; i < n; i += 4096) src[i] = (i >>> 12) & 0xff;
    const dst = dev.buffer(n);
    for (let size = 16 << 20; size >= 64; size >>>= 1) {
      for (;;) {
        try {
          dev.buffer(size);
        } catch {
          break;
        }
      }
    }
    const [copied, crc] = await Promise.all([dev.memcpy(dst, src), dev.crc32c(src), dev.fill(dst.subarray(0, 0), 0)]);
    assert.is(copied, dst);
    assert.ok(dst.equals(src));
    assert.is(crc, nativeCrc(src) >>> 0);
    assert.ok(dev.stats().ops.memcpy.placement.split === 1, 'it was split');
  } finally {
    await dev.close();
  }
});

test('a batch submitted before close() or shutdown() runs whole: its calls after a fence too', async () => {
  const run = async (dev: { batch(): BatchBuilder; buffer(n: number): Buffer }, close: () => Promise<void>): Promise<void> => {
    const a = dev.buffer(1 << 20).fill(7);
    const b = dev.buffer(1 << 20);
    const done = dev.batch().memcpy(b, a).fence().crc32c(b).submit();
    const closed = close();
    assert.equal(await done, [b, nativeCrc(a) >>> 0]);
    await closed;
  };
  const dev = await Device.open();
  await run(dev, () => dev.close());
  // a batch built once it closed rejects as it is submitted, as a call does (it threw as it was built)
  await dev.batch().memcpy(Buffer.alloc(8), Buffer.alloc(8)).submit().then(() => assert.unreachable('resolved'), (e: { code?: string }) => assert.is(e.code, 'DEVICE_CLOSED'));
  await run({ batch: dsa.batch, buffer: (n) => dsa.alloc(n) }, dsa.shutdown);
});

test('close() lets the calls made before it send their later steps: createDelta window by window, an overlapping memmove in pieces, a DIF insert staged from plain memory', async () => {
  const n = 4 << 20;
  const make = async (): Promise<{ dev: Device; a: Buffer; b: Buffer; ov: Buffer }> => {
    const dev = await Device.open({ maxTransfer: 1 << 20 });
    const r = rng(77);
    const a = dev.buffer(n);
    for (let i = 0; i < n; i += 4) a.writeUInt32LE(r() >>> 0, i);
    const b = dev.buffer(n);
    b.set(a);
    b[n - 8] ^= 1;
    const ov = dev.buffer(n + 4096);
    ov.set(a);
    return { dev, a, b, ov };
  };
  const plain = Buffer.alloc(20 << 20, 0x5a);
  const want = await make();
  const wantDelta = Buffer.from(await want.dev.createDelta(want.a, want.b));
  const wantDif = Buffer.from(await want.dev.difInsert(plain, { blockSize: 4096 }));
  const wantOv = Buffer.concat([want.ov.subarray(0, 4096), want.ov.subarray(0, n)]);
  await want.dev.close();
  const { dev, a, b, ov } = await make();
  const delta = dev.createDelta(a, b);
  const dif = dev.difInsert(plain, { blockSize: 4096 });
  const moved = dev.memmove(ov.subarray(4096), ov.subarray(0, n));
  const late = dev.batch().crc32c(a);
  const closed = dev.close();
  await rejects(() => late.submit(), Error, 'a batch built before close() and submitted after it');
  assert.ok(Buffer.from(await delta).equals(wantDelta), 'createDelta');
  assert.ok(Buffer.from(await dif).equals(wantDif), 'difInsert');
  await moved;
  assert.ok(ov.equals(wantOv), 'memmove');
  await closed;
  await rejects(() => dev.crc32c(a), Error, 'a call after close()');
});

/**
 * Waits (however slow the machine) until the device's engines are booted and parked and this
 * thread's inline thresholds are measured: two looks 50 ms apart that agree, after at least 300 ms.
 */
async function parked(dev: Device): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  let last = '';
  for (let i = 0; i < 200; i++) {
    const now = JSON.stringify(dev.stats().inlineThresholds);
    if (dev.isReady && dev.portal.enginesAsleep() && now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the engines did not park within 10 s');
}

test('inline:asleep: a call a little over the inline threshold, every engine parked, runs here; a burst goes to the engines', async () => {
  const dev = await Device.open({ engines: 2 });
  try {
    void dev.ops; // (its thresholds measured as it first idles)
    await parked(dev);
    const n = dev.stats().inlineThresholds!.crc + 1;
    const a = dev.buffer(n).fill(9);
    assert.is(await dev.crc32c(a), nativeCrc(a) >>> 0);
    assert.is(dev.stats().ops.crc32c.placement['inline:asleep'], 1, JSON.stringify(dev.stats().ops.crc32c.placement));
    await parked(dev);
    const got = await Promise.all(Array.from({ length: 16 }, () => dev.crc32c(a)));
    assert.equal(got, new Array(16).fill(nativeCrc(a) >>> 0));
    const p = dev.stats().ops.crc32c.placement;
    assert.is(p['inline:asleep'], 2, 'one of the burst');
    assert.is(p.device, 15, 'the rest on the engines');
    // an explicit threshold: never
    const fixed = await Device.open({ engines: 1, inlineThreshold: 1024 });
    try {
      await parked(fixed);
      const b = fixed.buffer(4096).fill(1);
      await fixed.crc32c(b);
      assert.equal(fixed.stats().ops.crc32c.placement, { device: 1 });
    } finally {
      await fixed.close();
    }
  } finally {
    await dev.close();
  }
});


test('argument errors everywhere carry Node\'s codes: options, fault rules, buffers, formats, submit options, DIF blocks over maxTransfer', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20, maxTransfer: 256 });
  const codeOf = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return [(e as Error).constructor.name, (e as { code?: unknown }).code];
    }
    return 'no error';
  };
  const TYPE = ['TypeError', 'ERR_INVALID_ARG_TYPE'];
  const VALUE = ['RangeError', 'ERR_INVALID_ARG_VALUE'];
  try {
    const cases: Array<[string, () => unknown, string[]]> = [
      ['inject: unknown wq', () => dev.inject({ wq: 'nope', status: 0x20 }), VALUE],
      ['inject: times 0', () => dev.inject({ status: 0x20, times: 0 }), VALUE],
      ['inject: unknown field', () => dev.inject({ status: 0x20, bogus: 1 } as never), TYPE],
      ['Device.openSync: a bad rule', () => Device.openSync({ faults: [{ wq: 'x', status: 0x20 }] }), VALUE],
      ['Device.openSync: a bad option', () => Device.openSync({ engines: -1 }), VALUE],
      ['dev.alloc(-1)', () => dev.alloc(-1), VALUE],
      ['dev.buffer("x")', () => dev.buffer('x' as never), TYPE],
      ['dev.free(12345)', () => dev.free(12345), VALUE],
      ['dsa.alloc(-1)', () => dsa.alloc(-1), VALUE],
      ['dsa.alloc("x")', () => dsa.alloc('x' as never), TYPE],
      ['dsa.configure({ bogus })', () => dsa.configure({ bogus: 1 } as never), TYPE],
      ['formatCrc32c("x")', () => dsa.formatCrc32c('x' as never), TYPE],
      ['crc32cHex(2 ** 40)', () => dsa.crc32cHex(2 ** 40), VALUE],
      ['parseCrc32c(5)', () => dsa.parseCrc32c(5 as never), TYPE],
      ['Descriptor.memmove({ size: -1 })', () => dsa.Descriptor.memmove({ src: 0, dst: 0, size: -1 }), VALUE],
      ['decodeDescriptor(3 bytes)', () => dsa.decodeDescriptor(new Uint8Array(3)), VALUE],
      ['portal.completed(1.5)', () => dev.portal.completed(1.5), TYPE],
      ['Device.attach({})', () => Device.attach({} as never), TYPE],
      // (its options were not checked: an unknown one was taken silently)
      ['Device.attach(h, { bogus })', () => Device.attach(dev.handle, { bogus: 1 } as never), TYPE],
      ['Device.attach(h, { pollSpinMicros: -1 })', () => Device.attach(dev.handle, { pollSpinMicros: -1 }), VALUE],
      ['Device.attach(h, 5)', () => Device.attach(dev.handle, 5 as never), TYPE],
      ['Device.attach(h, [])', () => Device.attach(dev.handle, [] as never), TYPE],
      ['Device.attach(h, { pollSpinMicros: null })', () => Device.attach(dev.handle, { pollSpinMicros: null } as never), TYPE],
      // (from JavaScript: "Cannot read properties of undefined", no code)
      ['new Device()', () => new (Device as unknown as new () => unknown)(), TYPE],
      ['allocInterrupt(5)', () => dev.allocInterrupt(5 as never), TYPE],
      // a wrong kind of value for a device option: a TypeError, coded (it had no code)
      ...(['engines', 'wqSize', 'arenaBytes', 'maxBatch', 'splitThreshold', 'inlineThreshold', 'engineNice', 'faultSeed'] as const).flatMap((k): Array<[string, () => unknown, string[]]> =>
        ['2', 4n, null, true].map((v) => [`Device.openSync({ ${k}: ${typeof v} })`, () => Device.openSync({ [k]: v } as never), TYPE])),
      ['configure({ maxBatch: 4n })', () => dsa.configure({ maxBatch: 4n } as never), TYPE],
      ['Device.openSync({ wqMode: 5 })', () => Device.openSync({ wqMode: 5 as never }), TYPE],
      ['Device.openSync({ wqMode: "x" })', () => Device.openSync({ wqMode: 'x' as never }), VALUE],
      ['Device.openSync({ completion: {} })', () => Device.openSync({ completion: {} as never }), TYPE],
      ['Device.openSync({ faults: 1 })', () => Device.openSync({ faults: 1 as never }), TYPE],
      // a descriptor that is not one (they had no code)
      ['dev.submit(63 bytes)', () => dev.portal.enqueue(new Uint8Array(63)), TYPE],
      ['portal.enqueue([])', () => dev.portal.enqueue([] as never), TYPE],
    ];
    for (const [what, f, want] of cases) assert.equal(codeOf(f), want, what);
    const submitted = await dev.submit(dsa.Descriptor.noop(), { retry: 1 as never }).then(() => 'resolved', (e: { constructor: { name: string }; code?: string }) => [e.constructor.name, e.code]);
    assert.equal(submitted, TYPE, 'submit option retry');
    for (const d of [new Uint8Array(63), 'x', []]) {
      const e = await dev.submit(d as never).then(() => 'resolved', (x: { constructor: { name: string }; code?: string }) => [x.constructor.name, x.code]);
      assert.equal(e, TYPE, `submit(${String(d)})`);
    }
    for (const op of ['difInsert', 'difStrip'] as const) {
      const e = (await dev[op](Buffer.alloc(op === 'difInsert' ? 512 : 520), { blockSize: 512 }).catch((x: unknown) => x)) as { code?: string; message: string };
      assert.is(e.code, 'ERR_INVALID_ARG_VALUE', `${op}: ${e.message}`);
    }
  } finally {
    await dev.close();
    await dsa.shutdown();
  }
});

test('stats(): each operation\'s latency is sampled on its own (one count for all, a program alternating crc32c and memcpy had crc32c never timed: latencyMs null for good)', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  try {
    const a = Buffer.alloc(4096, 1);
    const b = Buffer.alloc(4096);
    for (let i = 0; i < 64; i++) {
      await dev.crc32c(a);
      await dev.memcpy(b, a);
    }
    const { crc32c, memcpy } = dev.stats().ops;
    assert.ok(crc32c !== undefined && crc32c.latencyMs !== null, 'crc32c timed');
    assert.ok(memcpy !== undefined && memcpy.latencyMs !== null, 'memcpy timed');
    // the default device too: its warm-up's calls counted, and a program's first 7 went untimed
    await dsa.ready();
    const x = dsa.alloc(4096);
    await dsa.memcpy(x, a);
    assert.ok(dsa.stats().ops.memcpy?.latencyMs != null, 'the first memcpy on the default device is timed');
  } finally {
    await dev.close();
    await dsa.shutdown();
  }
});

test('createDelta resolves to a Buffer in Node, as the other calls\' new bytes are (it gave a plain Uint8Array: .equals() and .copy() were missing), on every placement', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 4 << 20 });
  try {
    const a = dev.buffer(4096).fill(1);
    const b = dev.buffer(4096).fill(1);
    b[100] = 9;
    for (const [x, y] of [[a, b], [Buffer.from(a), Buffer.from(b)]]) {
      const d = await dev.createDelta(x, y);
      assert.ok(Buffer.isBuffer(d), d.constructor.name);
      const t = Buffer.from(x);
      await dev.applyDelta(t, d);
      assert.ok(t.equals(y));
    }
    const small = await dsa.createDelta(Buffer.alloc(16), Buffer.alloc(16, 1));
    assert.ok(Buffer.isBuffer(small) && small.equals(await dsa.createDelta(Buffer.alloc(16), Buffer.alloc(16, 1))));
  } finally {
    await dev.close();
    await dsa.shutdown();
  }
});

test.run();
