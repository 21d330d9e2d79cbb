// The arena's allocator: blocks on whole 64-byte lines, first fit, coalescing as they are freed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Allocator } from '../src/device/allocator.ts';
import { Device } from '../src/index.ts';

const BASE = 4096;

/** The allocator's invariants, given the blocks it handed out ([addr, bytes, align]). */
function check(a: Allocator, end: number, blocks: Map<number, [bytes: number, align: number]>): void {
  const free = a.freeRanges();
  for (let i = 0; i < free.length; i++) {
    const [s, e] = free[i];
    assert.ok(BASE <= s && s < e && e <= end, `free range ${s}-${e} within the arena`);
    if (i > 0) assert.ok(free[i - 1][1] < s, 'free ranges in order, apart (coalesced)');
  }
  const spans = [...blocks].map(([addr, [bytes, align]]) => {
    assert.is(addr % Math.max(align, 64), 0, `block ${addr} aligned to ${align} and to a line`);
    return [addr, addr + bytes] as const;
  });
  for (const [s, e] of [...spans, ...free].sort((x, y) => x[0] - y[0]).reduce<Array<readonly [number, number]>>((out, r) => {
    if (out.length > 0) assert.ok(out[out.length - 1][1] <= r[0], `blocks and free ranges do not overlap (${out[out.length - 1]} / ${r})`);
    out.push(r);
    return out;
  }, [])) assert.ok(s < e);
}

test('one-byte blocks take a line each, and leave no gaps between them (each had left 63 free bytes that later calls stepped over: 32,000 took 6.4 s)', () => {
  const end = BASE + (1 << 20);
  const a = new Allocator(BASE, end);
  const addrs: number[] = [];
  for (let i = 0; i < 4000; i++) addrs.push(a.alloc(1, 8));
  assert.equal(a.freeRanges(), [[BASE + 4000 * 64, end]], 'one free range after them');
  assert.equal(addrs.slice(0, 3), [BASE, BASE + 64, BASE + 128]);
  for (const x of addrs.reverse()) a.free(x);
  assert.equal(a.freeRanges(), [[BASE, end]], 'whole again');
});

test('100,000 blocks freed in random order, and one block taken and freed 100,000 times beside 20,000 holes: the arena whole again (they took 10 s and 4.7 s, a free range list walked and spliced, and Map chains of deleted keys)', () => {
  const end = BASE + (64 << 20);
  const a = new Allocator(BASE, end);
  const random = ((seed) => () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)(7);
  const blocks = Array.from({ length: 100_000 }, (_, i) => a.alloc(1 + (i % 100), 1 << (i % 7)));
  for (let i = blocks.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [blocks[i], blocks[j]] = [blocks[j], blocks[i]];
  }
  for (const x of blocks) a.free(x);
  assert.equal(a.freeRanges(), [[BASE, end]]);
  const kept = Array.from({ length: 40_000 }, () => a.alloc(16));
  for (let i = 0; i < kept.length; i += 2) a.free(kept[i]);
  assert.is(a.freeRanges().length, 20_001);
  for (let i = 0; i < 100_000; i++) a.free(a.alloc(i % 2 === 0 ? 64 : 200));
  for (let i = 1; i < kept.length; i += 2) a.free(kept[i]);
  assert.equal(a.freeRanges(), [[BASE, end]]);
});

test('an arena that does not end on a line gives its last bytes: a block reaching its end is cut there', () => {
  const end = BASE + 1000;
  const a = new Allocator(BASE, end);
  assert.is(a.alloc(1000), BASE);
  assert.equal(a.freeRanges(), []);
  a.free(BASE);
  assert.is(a.alloc(900), BASE);
  assert.is(a.alloc(36, 4), BASE + 960, 'the rest after the first block\'s last line');
  assert.throws(() => a.alloc(1), (e: Error & { code?: string }) => e.code === 'ARENA_FULL');
});

test('any sequence of alloc and free keeps blocks in the arena, aligned, apart, and the free ranges coalesced (fast-check)', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 1 << 16 }),
    fc.array(fc.oneof(
      fc.record({ alloc: fc.integer({ min: 1, max: 5000 }), align: fc.constantFrom(1, 8, 64, 256, 4096), top: fc.boolean() }),
      fc.record({ free: fc.nat() }),
    ), { maxLength: 120 }),
    (size, steps) => {
      const end = BASE + size;
      const a = new Allocator(BASE, end);
      const blocks = new Map<number, [number, number]>();
      for (const step of steps) {
        if ('alloc' in step) {
          try {
            const addr = a.alloc(step.alloc, step.align, step.top);
            assert.not.ok(blocks.has(addr));
            blocks.set(addr, [step.alloc, step.align]);
          } catch (e) {
            if (step.align > size) assert.match(String(e), /alignment .* is larger than the arena/);
            else assert.is((e as { code?: string }).code, 'ARENA_FULL', String(e));
          }
        } else if (blocks.size > 0) {
          const addr = [...blocks.keys()][step.free % blocks.size];
          a.free(addr);
          blocks.delete(addr);
        }
        check(a, end, blocks);
      }
      for (const addr of blocks.keys()) a.free(addr);
      assert.equal(a.freeRanges(), [[BASE, end]], 'whole again once all are freed');
    },
  ), { numRuns: 300 });
});

test('dev.buffer() and free() beside 20,000 buffers, one address taken and freed 100,000 times: each buffer freed as given, a view of one refused, the arena whole after (a Map of the buffers by address made each 45 us)', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 16 << 20 });
  try {
    const whole = dev.buffer(0);
    const start = whole.byteOffset;
    dev.free(whole);
    const kept = Array.from({ length: 40_000 }, () => dev.buffer(16));
    for (let i = 0; i < kept.length; i += 2) dev.free(kept[i]);
    for (let i = 0; i < 100_000; i++) {
      const b = dev.buffer(64);
      if (i === 0) assert.throws(() => dev.free(b.subarray(1)), /exactly as buffer\(\) or alloc\(\) returned it/);
      dev.free(b);
    }
    for (let i = 1; i < kept.length; i += 2) dev.free(kept[i]);
    assert.throws(() => dev.free(kept[1]), /not freed already/);
    assert.is(dev.buffer(0).byteOffset, start, 'the first block again: nothing left taken');
  } finally {
    await dev.close();
  }
});

test.run();
