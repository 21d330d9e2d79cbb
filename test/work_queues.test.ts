// Several work queues on one device: dev.wq() portals, per-WQ limits (statuses 0x13, 0x14), a
// shared WQ's threshold (QUEUE_FULL), dedicated WQs, and the group arbiter's shares by priority.
// No timing is asserted: the engine is held on a long descriptor where a test needs the queue still,
// and a round that finds it already done is run again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { Device, Descriptor, Opcode, Status } from '../src/index.ts';
import { type SoftDsaError } from '../src/device/errors.ts';
import { PAGE, WqWord, computeLayout } from '../src/device/layout.ts';
import { WorkQueue } from '../src/device/work_queue.ts';
import { turnsOf } from '../src/device/arbiter.ts';
import type { Portal } from '../src/device/portal.ts';

const BLOCK = 32 << 20; // a crc32c over this keeps an engine busy for ms (about 10 on a quiet machine)
const ARENA = 40 << 20;

const wq = (dev: string, name: string, group: number, more: Record<string, unknown>): Record<string, unknown> =>
  ({ dev, name, group_id: group, type: 'user', driver_name: 'user', block_on_fault: 0, priority: 10, ...more });

// group 0: engine 0 serves 'limits'; group 1: engine 1 serves 'thr' (threshold 4 of 8) and 'ded'.
const CONFIG = [{
  dev: 'dsa0',
  groups: [
    { dev: 'group0.0', grouped_workqueues: [wq('wq0.0', 'limits', 0, { mode: 'shared', size: 16, threshold: 16, max_batch_size: 16, max_transfer_size: 8192 })], grouped_engines: [{ dev: 'engine0.0', group_id: 0 }] },
    {
      dev: 'group0.1',
      grouped_workqueues: [wq('wq0.1', 'thr', 1, { mode: 'shared', size: 8, threshold: 4 }), wq('wq0.2', 'ded', 1, { mode: 'dedicated', size: 8, threshold: 0 })],
      grouped_engines: [{ dev: 'engine0.1', group_id: 1 }],
    },
  ],
}];

let dev: Device;
let big: number; // BLOCK bytes
let list: number; // batch list: 17 no-ops

test.before(async () => {
  dev = await Device.fromConfig(CONFIG, { arenaBytes: ARENA });
  big = dev.alloc(BLOCK, 4096);
  list = dev.alloc(17 * 64, 64);
  for (let i = 0; i < 17; i++) dev.view(list + i * 64, 64).set(Descriptor.noop());
});
test.after(() => dev.close());

const head = (p: Portal): number => Atomics.load(p.wq.words, WqWord.HEAD);

/** Holds the group's engine on a long crc32c through `p`; resolves once it is claimed. */
async function hold(p: Portal, count = 1): Promise<{ pos: number; done: () => boolean; all: number[] }> {
  const before = head(p);
  const all: number[] = [];
  for (let i = 0; i < count; i++) {
    all.push(p.enqueue(Descriptor.crc32c({ src: big, size: BLOCK })));
    assert.ok(all[i] >= 0);
  }
  p.doorbell();
  while (head(p) === before) await new Promise((r) => setImmediate(r));
  const pos = all[count - 1];
  return { pos, done: () => p.wq.isDone(pos), all };
}

/** Waits for a held descriptor and reaps it. */
async function release(p: Portal, pos: number): Promise<void> {
  while (!p.wq.isDone(pos)) await new Promise((r) => setTimeout(r, 1));
  assert.is(p.completed(pos), Status.SUCCESS);
}

test('dev.wq(name | id | wqN.M): the WQ\'s portal; the lowest id is the device\'s own; unknown names refused', () => {
  assert.is(dev.wq('limits'), dev.portal);
  assert.is(dev.wq(1), dev.wq('thr'));
  assert.is(dev.wq('wq0.2'), dev.wq('ded'));
  assert.is.not(dev.wq('thr'), dev.wq('ded'));
  assert.is(dev.wq('ded').wq.index, 2);
  assert.throws(() => dev.wq('nope'), (e: SoftDsaError) => e.code === 'NO_SUCH_WQ' && /limits \(id 0\), thr \(id 1\), ded \(id 2\)/.test(e.message));
  assert.throws(() => dev.wq(7), (e: SoftDsaError) => e.code === 'NO_SUCH_WQ');
  // another device's WQ names, or no device number: none of this device's (its N was not read)
  for (const other of ['wq1.2', 'wq99.1', 'wq2']) assert.throws(() => dev.wq(other), (e: SoftDsaError) => e.code === 'NO_SUCH_WQ', other);
  assert.is(dev.options.maxTransfer, 8192, 'the high-level API splits by the default WQ\'s max transfer');
});

test('max_transfer_size: 0x13 (transfer size) over the WQ\'s limit, on that WQ only; max_batch_size: 0x14 (batch count)', async () => {
  const src = dev.alloc(16384);
  const dst = dev.alloc(16384);
  const limits = dev.wq('limits');
  assert.is(await limits.submit(Descriptor.memmove({ src, dst, size: 8192 })), Status.SUCCESS);
  assert.is(await limits.submit(Descriptor.memmove({ src, dst, size: 8193 })), Status.TRANSFER_SIZE);
  assert.is(Status.TRANSFER_SIZE as number, 0x13);
  assert.is(await dev.submit(Descriptor.crc32c({ src, size: 16384 })), Status.TRANSFER_SIZE, 'dev.submit goes to the default WQ');
  assert.is(await dev.wq('ded').submit(Descriptor.memmove({ src, dst, size: 16384 })), Status.SUCCESS, 'ded has the device maximum');
  assert.is(await limits.submit(Descriptor.batch({ list, count: 16 })), Status.SUCCESS);
  assert.is(await limits.submit(Descriptor.batch({ list, count: 17 })), Status.BATCH_COUNT);
  assert.is(Status.BATCH_COUNT as number, 0x14);
  assert.is(await dev.wq('thr').submit(Descriptor.batch({ list, count: 17 })), Status.SUCCESS);
  // The high-level API splits what the default WQ would refuse.
  const a = dev.buffer(100_000).fill(7);
  const b = dev.buffer(100_000);
  await dev.memcpy(b, a);
  assert.ok(b.equals(a));
  dev.free(a.byteOffset);
  dev.free(b.byteOffset);
  dev.free(src);
  dev.free(dst);
});

test('threshold: a shared WQ refuses at that many descriptors waiting (QUEUE_FULL with retry: false, -1 from enqueue); submit waits for room by default', async () => {
  const thr = dev.wq('thr');
  const ded = dev.wq('ded');
  for (let round = 0; ; round++) {
    // engine 1 serves both: nothing leaves 'thr' meanwhile (held longer each round the engine
    // finished first: a loaded machine's thread can be preempted past one block's 10 ms)
    const held = await hold(ded, Math.min(2 ** round, 8));
    const settled = Promise.allSettled(Array.from({ length: 6 }, () => thr.submit(Descriptor.noop(), { retry: false })));
    const raw = thr.enqueue(Descriptor.noop());
    const stillHeld = !held.done();
    for (const pos of held.all) await release(ded, pos);
    const results = await settled;
    if (raw >= 0) await release(thr, raw);
    if (!stillHeld && round < 7) continue; // the engine finished first (a loaded machine): again
    assert.ok(stillHeld, 'the engine was held through the round');
    assert.is(results.filter((r) => r.status === 'fulfilled').length, 4, 'the threshold (4) admitted');
    for (const r of results.slice(4)) assert.is(r.status === 'rejected' && (r.reason as SoftDsaError).code, 'QUEUE_FULL');
    for (const r of results.slice(0, 4)) assert.is(r.status === 'fulfilled' && r.value, Status.SUCCESS);
    assert.is(raw, -1, 'enqueue refuses too');
    break;
  }
  // With retry (the default), the same burst waits for room: every descriptor runs.
  const held = await hold(ded);
  const all = Promise.all(Array.from({ length: 12 }, () => thr.submit(Descriptor.noop())));
  await release(ded, held.pos);
  assert.equal(await all, new Array(12).fill(Status.SUCCESS));
});

test('a WQ\'s size and threshold count the descriptors waiting, not one an engine runs: a shared WQ of 4 (a power of two) at threshold 4 admits 4 while its engine is held', async () => {
  const one = await Device.fromConfig([{ dev: 'dsa0', groups: [{ dev: 'group0.0', grouped_workqueues: [wq('wq0.0', 'four', 0, { mode: 'shared', size: 4, threshold: 4 })], grouped_engines: [{ dev: 'engine0.0', group_id: 0 }] }] }], { arenaBytes: ARENA });
  try {
    const src = one.alloc(BLOCK, 4096);
    const p = one.portal;
    for (let round = 0; ; round++) {
      // (one descriptor holds the engine, the ring being 4 slots: 10 ms of CRC, and an injected
      // latency longer each round it was not held through, a loaded machine's thread preempted past it)
      if (round > 0) one.inject({ opcode: Opcode.CRCGEN, latency: 50 << round, times: 1 });
      const before = head(p);
      const pos = p.enqueue(Descriptor.crc32c({ src, size: BLOCK }));
      p.doorbell();
      while (head(p) === before) await new Promise((r) => setImmediate(r));
      const settled = Promise.allSettled(Array.from({ length: 5 }, () => p.submit(Descriptor.noop(), { retry: false })));
      const stillHeld = !p.wq.isDone(pos);
      while (!p.wq.isDone(pos)) await new Promise((r) => setTimeout(r, 1));
      assert.is(p.completed(pos), Status.SUCCESS);
      const results = await settled;
      if (!stillHeld && round < 4) continue; // the engine finished first (a loaded machine): again
      assert.ok(stillHeld, 'the engine was held through the round');
      // (the ring was 4 slots, the one running among them: 3 were admitted, as if 4 waited)
      assert.equal(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as SoftDsaError).code)), [Status.SUCCESS, Status.SUCCESS, Status.SUCCESS, Status.SUCCESS, 'QUEUE_FULL']);
      break;
    }
  } finally {
    await one.close();
  }
});

test('errorLog is the device\'s, as DSA\'s SWERR is: a record that cannot be written on any WQ is logged there, with the WQ\'s id', async () => {
  const rec = dev.alloc(64, 32);
  const before = dev.errorLog.length;
  assert.is(await dev.wq('thr').submit(Descriptor.noop({ completion: rec + 8 })), Status.COMPLETION_ALIGN);
  assert.is(await dev.submit(Descriptor.noop({ completion: rec + 8 })), Status.COMPLETION_ALIGN);
  assert.equal(dev.errorLog.slice(before).map((e) => [e.wq, e.status]), [[1, Status.COMPLETION_ALIGN], [0, Status.COMPLETION_ALIGN]]);
  assert.is(dev.wq('thr').errorLog, dev.errorLog, 'one list');
  dev.free(rec);
});

test('dedicated WQs take submissions from the opening thread only; an attached thread\'s default portal is the first shared WQ', async () => {
  const other = Device.attach(dev.handle);
  try {
    assert.throws(() => other.wq('ded'), (e: SoftDsaError) => e.code === 'WQ_DEDICATED' && /ded/.test(e.message));
    assert.is(other.portal.wq.index, 0);
    assert.is(await other.wq('thr').submit(Descriptor.noop()), Status.SUCCESS);
    assert.is(await other.submit(Descriptor.noop()), Status.SUCCESS);
  } finally {
    await other.detach();
  }
});

test('turns of a round: smooth weighted round robin, p turns of W for each WQ, spread out', () => {
  assert.equal(turnsOf([3, 1]), [0, 0, 1, 0]);
  assert.equal(turnsOf([2, 2]), [0, 1, 0, 1]);
  assert.equal(turnsOf([1]), [0]);
  const t = turnsOf([12, 4, 1]);
  assert.is(t.length, 17);
  assert.equal([0, 1, 2].map((q) => t.filter((x) => x === q).length), [12, 4, 1]);
  // spread: the priority-4 WQ never waits more than a quarter round and a turn or so
  const gaps = t.flatMap((q, i) => (q === 1 ? [i] : [])).map((i, k, a) => (k === 0 ? i + t.length - a[a.length - 1] : i - a[k - 1]));
  assert.ok(Math.max(...gaps) <= 6, `gaps ${gaps}`);
});

test('arbitration: two WQs of one engine, priorities 12 and 4, both backlogged: dispatches 3:1, the low one not starved', async () => {
  const fixture = join(import.meta.dirname, 'fixtures', 'accel-config', 'priorities.conf');
  const pd = await Device.fromConfig(fixture, { arenaBytes: ARENA });
  try {
    const src = pd.alloc(BLOCK, 4096);
    const high = pd.wq('high');
    const low = pd.wq('low');
    const work = (): Uint8Array => Descriptor.crc32c({ src, size: 8 << 20 });
    let ratio = 0;
    for (let round = 0; round < 5 && ratio === 0; round++) {
      // Hold the engine with one long descriptor, fill both WQs (32 each), then watch the heads:
      // while both still have work, the claims from each are the arbiter's shares.
      const before = head(low);
      const blocker = low.submit(Descriptor.crc32c({ src, size: BLOCK }));
      while (head(low) === before) await new Promise((r) => setImmediate(r));
      const h0 = head(high);
      const l0 = head(low);
      const done: Array<Promise<number>> = [blocker];
      for (let i = 0; i < 31; i++) done.push(high.submit(work()), low.submit(work()));
      done.push(high.submit(work()));
      // Watch the heads until a WQ runs dry; keep the last sample taken while both still had work
      // and at least 16 had been dispatched after the blocker (a thread descheduled meanwhile only
      // takes fewer samples).
      let h = 0;
      let l = 0;
      for (const until = performance.now() + 20_000; performance.now() < until; ) {
        const hh = head(high) - h0;
        const ll = head(low) - l0;
        if (hh >= 32 || ll >= 31) break;
        if (hh + ll >= 16) [h, l] = [hh, ll];
      }
      const statuses = await Promise.all(done);
      assert.ok(statuses.every((s) => s === Status.SUCCESS));
      if (h + l < 16) continue; // no sample while both had work (a loaded machine): again
      ratio = h / Math.max(1, l);
      assert.ok(l >= 3, `the low-priority WQ was served (${h} high, ${l} low)`);
      assert.ok(ratio >= 2 && ratio <= 4.5, `dispatches ${h} high : ${l} low, expected 3:1`);
    }
    assert.ok(ratio > 0, 'a round was sampled while both WQs had work');
  } finally {
    await pd.close();
  }
});

test('two engines, three WQs of priorities 1, 7 and 15 in one group: every descriptor of every WQ runs once, data right, a DRAIN on each completes', async () => {
  const three = [{
    dev: 'dsa0',
    groups: [{
      dev: 'group0.0',
      grouped_workqueues: [1, 7, 15].map((p, i) => wq(`wq0.${i}`, `p${p}`, 0, { mode: 'shared', size: 16, threshold: 12, priority: p })),
      grouped_engines: [{ dev: 'engine0.0' }, { dev: 'engine0.1' }],
    }],
  }];
  const td = await Device.fromConfig(three, { arenaBytes: 4 << 20 });
  try {
    assert.is(td.options.engines, 2);
    const N = 120;
    const SIZE = 1024;
    const src = td.alloc(N * SIZE);
    const dst = td.alloc(N * SIZE);
    const s = td.view(src, N * SIZE);
    for (let i = 0; i < s.length; i++) s[i] = (i * 7 + (i >>> 10)) & 0xff;
    td.view(dst, N * SIZE).fill(0);
    const portals = [td.wq('p1'), td.wq('p7'), td.wq('p15')];
    const all = Array.from({ length: N }, (_, i) => portals[i % 3].submit(Descriptor.memmove({ src: src + i * SIZE, dst: dst + i * SIZE, size: SIZE })));
    const drains = portals.map((p) => p.submit(Descriptor.drain()));
    assert.equal(await Promise.all(all), new Array(N).fill(Status.SUCCESS));
    assert.equal(await Promise.all(drains), [Status.SUCCESS, Status.SUCCESS, Status.SUCCESS]);
    assert.ok(Buffer.from(td.view(dst, N * SIZE)).equals(Buffer.from(s)), 'every copy landed');
    assert.is(td.stats().completed, N + 3, 'each once');
  } finally {
    await td.close();
  }
});

test('fault rules by WQ: a rule with wq: M fires only on wqN.M, a page fault there completes partially', async () => {
  const src = dev.alloc(8192);
  const dst = dev.alloc(8192);
  dev.view(src, 8192).fill(0x3c);
  const rule = dev.inject({ wq: 1, opcode: Opcode.MEMMOVE, pageFault: { offset: 4096, operand: 'dst' } });
  try {
    // wq0.0 ('limits') and wq0.2 ('ded'): not matched
    assert.is(await dev.wq('limits').submit(Descriptor.memmove({ src, dst, size: 8192 })), Status.SUCCESS);
    assert.is(await dev.wq('ded').submit(Descriptor.memmove({ src, dst, size: 8192 })), Status.SUCCESS);
    dev.view(dst, 8192).fill(0);
    const rec = dev.alloc(32, 32);
    const status = await dev.wq('thr').submit(Descriptor.memmove({ src, dst, size: 8192, completion: rec }));
    assert.is(status & 0x7f, Status.PAGE_FAULT);
    const r = dev.view(rec, 32);
    const dv = new DataView(r.buffer, r.byteOffset, 32);
    assert.is(dv.getUint32(4, true), 4096, 'bytes completed');
    assert.is(Number(dv.getBigUint64(8, true)), dst + 4096, 'fault address');
    assert.ok(dev.view(dst, 4096).every((b) => b === 0x3c) && dev.view(dst + 4096, 4096).every((b) => b === 0), 'written up to the fault, not past it');
    assert.is(rule.fired, 1);
  } finally {
    rule.remove();
  }
});

test('fault rules name a WQ as dev.wq() does: by name or wqN.M as by id; an unknown or ambiguous name is refused, naming the WQs', async () => {
  const src = dev.alloc(4096);
  const dst = dev.alloc(4096);
  try {
    for (const wq of ['thr', 'wq0.1']) {
      const rule = dev.inject({ wq, opcode: Opcode.MEMMOVE, status: 0x1c });
      try {
        assert.is(await dev.wq('limits').submit(Descriptor.memmove({ src, dst, size: 4096 })), Status.SUCCESS, `${wq}: not on wq0.0`);
        assert.is(await dev.wq('thr').submit(Descriptor.memmove({ src, dst, size: 4096 }), { retry: false }).catch((e: { status?: number }) => e.status), 0x1c, `${wq}: on wq0.1`);
        assert.is(rule.fired, 1);
      } finally {
        rule.remove();
      }
    }
    assert.throws(() => dev.inject({ wq: 'nope', status: 0x1c }), (e: Error) => e instanceof RangeError && /^fault rule: wq "nope": this device has no such work queue \(its WQs: limits \(id 0\), thr \(id 1\)/.test(e.message));
    assert.throws(() => dev.inject({ wq: 1.5, status: 0x1c }), /wq must be a work queue id from 0 to 7, its name or 'wqN.M'/);
  } finally {
    dev.free(src);
    dev.free(dst);
  }
});

test('a submitter judged gone while it held its reservation publishes at a new position: its slot is not overwritten, the ring does not jam', () => {
  const ring = 4;
  const layout = computeLayout(PAGE, [{ id: 0, dev: 'wq0.0', name: 'q', mode: 'shared', group: 0, priority: 10, ring, cap: 0 }], [{ id: 0, wqs: [0], engines: [0] }], 1);
  const memory = new WebAssembly.Memory({ initial: layout.bytes / PAGE, maximum: layout.bytes / PAGE, shared: true });
  const q = new WorkQueue(memory, layout);
  q.reset();
  const desc = (mark: number): Uint8Array => new Uint8Array(64).fill(mark);
  let asked = 0;
  // The tag is asked between the reservation and the publication: the submitter's preemption. A
  // claimer meanwhile judges the reserving thread gone and, once the reservation has stood its
  // while, skips the slot (recycles it for the next lap).
  const late = q.push(desc(7), 1, () => true, () => {
    asked++;
    while (q.stalled()) q.claim(0, () => false);
    return 0;
  });
  assert.is(late, 1, 'published at the next position, not the skipped one');
  assert.is(asked, 1, 'the fault tag is asked once');
  assert.is(q.claim(0), 1);
  assert.equal(q.descriptor(1), desc(7));
  q.complete(1, 1);
  assert.is(q.take(1), 1);
  // Laps after: every slot takes, runs and gives back its descriptor (a late publication into the
  // skipped slot left it on a stale lap, and the ring was full for good there).
  for (let i = 0; i < 3 * ring; i++) {
    const pos = q.push(desc(i), 1);
    assert.ok(pos >= 0, `push ${i} refused: the ring jammed`);
    assert.is(q.claim(0), pos);
    assert.equal(q.descriptor(pos), desc(i));
    q.complete(pos, 1);
    q.take(pos);
  }
});

test.run();
