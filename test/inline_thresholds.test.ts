import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { asleepLimit, MAX_ASLEEP_INLINE, MAX_INLINE, STAND_IN, thresholds } from '../src/api/inline_thresholds.ts';

test('thresholds: the bytes done in one hand-off, per kind', () => {
  assert.equal(thresholds(STAND_IN.rates, STAND_IN.handoffMs), { copy: 20_000, compare: 30_000, crc: 10_000 });
  assert.equal(thresholds({ copy: 35e6, compare: 9e6, crc: 13e6 }, 0.001), { copy: 35_000, compare: 9_000, crc: 13_000 });
});

test('thresholds: a hand-off measured during a preemption puts no large call on the calling thread', () => {
  // 64 no-ops around one 20 ms preemption: 0.3 ms a call, a CRC threshold of 3 MB uncapped
  assert.equal(thresholds({ copy: 35e6, compare: 9e6, crc: 10e6 }, 0.3), { copy: MAX_INLINE, compare: MAX_INLINE, crc: MAX_INLINE });
  fc.assert(fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.double({ min: 0, max: 1e3, noNaN: true }), (rate, ms) => {
    const t = thresholds({ copy: rate, compare: rate, crc: rate }, ms);
    return [t.copy, t.compare, t.crc].every((b) => Number.isInteger(b) && b >= 0 && b <= MAX_INLINE);
  }));
});

test('asleepLimit: 8 hand-offs, at most about a wake-up\'s time of work', () => {
  assert.is(asleepLimit(3_500), 28_000);
  assert.is(asleepLimit(MAX_INLINE), MAX_ASLEEP_INLINE);
  assert.ok(MAX_ASLEEP_INLINE >= MAX_INLINE);
});

test.run();
