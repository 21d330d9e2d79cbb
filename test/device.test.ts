// The device end to end: descriptors through dev.submit on real engines, against the
// independent JS reference; status codes that can only be seen at the device level
// (unwritable records, interrupt handles, queue full, drain, dead engines).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openLater } from '../src/device.ts';
import { copyFileCrc32c, crc32cFile, Device, Descriptor, Flag, Opcode, readRecord, Status, encode, eventFdStatus } from '../src/index.ts';
import { Ctx } from '../src/device/format.ts';
import { EngineStates } from '../src/device/engine_states.ts';
import { Interrupt, Vectors } from '../src/device/completion.ts';
import { computeLayout, EngineState, VECTOR_WORDS, Vec } from '../src/device/layout.ts';
import { singleQueue, topologyLayout } from '../src/device/topology.ts';
import { referenceExecute, type RefCtx } from './reference.ts';
import { randomDescriptor, rng, type Region } from './gen.ts';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { crc32c as nativeCrc } from '@node-rs/crc32';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ARENA = 1 << 20;

async function withDevice(opts: Parameters<typeof Device.open>[0], fn: (dev: Device) => Promise<void>): Promise<void> {
  const dev = await Device.open({ arenaBytes: ARENA, ...opts });
  try {
    await fn(dev);
  } finally {
    await dev.close();
  }
}

function refCtx(dev: Device): RefCtx {
  const dv = new DataView(dev.memory.buffer as unknown as SharedArrayBuffer, dev.layout.ctx, 64);
  return {
    arenaBase: dev.layout.arenaBase,
    arenaEnd: dev.layout.arenaEnd,
    maxTransfer: dv.getUint32(Ctx.MAX_TRANSFER, true),
    maxBatch: dv.getUint32(Ctx.MAX_BATCH, true),
    handles: dv.getBigUint64(Ctx.INT_HANDLES, true),
  };
}

/** Runs desc on the device and on a copy of the memory through the reference; compares. */
async function checkAgainstReference(dev: Device, desc: Uint8Array, label: string): Promise<number> {
  const mem = new Uint8Array(dev.memory.buffer as unknown as SharedArrayBuffer);
  const mirror = mem.slice();
  const scratch = 0; // the reference reads the descriptor from here: control region, not compared
  mirror.set(desc, scratch);
  const ref = referenceExecute(mirror, scratch, refCtx(dev));
  const status = await dev.submit(desc);
  assert.is(status, ref.status, `${label}: status 0x${status.toString(16)} vs reference 0x${ref.status.toString(16)}`);
  const { arenaBase, arenaEnd } = dev.layout;
  for (let i = arenaBase; i < arenaEnd; i++) {
    if (mem[i] !== mirror[i]) assert.unreachable(`${label}: arena byte at ${i} is ${mem[i]}, reference ${mirror[i]}`);
  }
  return status;
}

function region(dev: Device): Region {
  const records = dev.alloc(32 * 64, 32);
  const base = dev.alloc(ARENA / 2, 4096);
  return { base, size: ARENA / 2, records, recordCount: 64, arenaBase: dev.layout.arenaBase, arenaEnd: dev.layout.arenaEnd };
}

test('a device lists its API, not its internals: Object.keys(dev) (and console.log) show no allocator, vectors or closed flag', async () => {
  await withDevice({ engines: 1 }, async (dev) => {
    assert.equal(Object.keys(dev), ['memory', 'layout', 'portal', 'options', 'topology', 'configWarnings']);
    const before = dev.alloc(64);
    dev.free(before); // the unlisted fields still work
  });
});

test('memmove through the device writes the record and the data', async () => {
  await withDevice({ engines: 2 }, async (dev) => {
    const src = dev.alloc(4096);
    const dst = dev.alloc(4096);
    const rec = dev.alloc(32, 32);
    dev.view(src, 4096).forEach((_, i, a) => (a[i] = i * 7));
    const status = await dev.submit(Descriptor.memmove({ src, dst, size: 4096, completion: rec }));
    assert.is(status, Status.SUCCESS);
    assert.equal(dev.view(dst, 4096), dev.view(src, 4096));
    const r = readRecord(dev.view(rec, 32), 0);
    assert.is(r.status, Status.SUCCESS);
  });
});

test('every opcode matches the reference, one valid descriptor each', async () => {
  await withDevice({ engines: 2 }, async (dev) => {
    const a = dev.alloc(8192, 4096);
    const b = dev.alloc(8192, 4096);
    const c = dev.alloc(8192, 4096);
    const rec = dev.alloc(32, 32);
    const r = rng(7);
    dev.view(a, 8192).forEach((_, i, v) => (v[i] = r() & 0xff));
    dev.view(b, 8192).set(dev.view(a, 8192));
    dev.view(b + 100, 8)[3] ^= 0xff;
    const completion = rec;
    const cases: Array<[string, Uint8Array]> = [
      ['noop', Descriptor.noop({ completion })],
      ['drain', Descriptor.drain({ completion })],
      ['memmove', Descriptor.memmove({ src: a, dst: c, size: 3000, completion })],
      ['memmove overlap', Descriptor.memmove({ src: c, dst: c + 5, size: 3000, completion })],
      ['fill', Descriptor.fill({ dst: c + 3, size: 1001, pattern: 0x0102030405060708n, completion })],
      ['compare diff', Descriptor.compare({ src1: a, src2: b, size: 4096, completion })],
      ['compare same', Descriptor.compare({ src1: a, src2: a, size: 4096, completion })],
      ['compare pattern', Descriptor.comparePattern({ src: c + 3, pattern: 0x0102030405060708n, size: 1000, completion })],
      ['create delta', Descriptor.createDelta({ src1: a, src2: b, size: 4096, delta: c, maxDeltaSize: 800, completion })],
      ['apply delta', Descriptor.applyDelta({ delta: c, deltaSize: 10, dst: a, size: 4096, completion })],
      ['dualcast', Descriptor.dualcast({ src: a, dst1: b, dst2: c, size: 2048, completion })],
      ['crc32c', Descriptor.crc32c({ src: a, size: 5000, seed: 0x1234, completion })],
      ['copy crc', Descriptor.copyCrc32c({ src: a, dst: c, size: 4000, completion })],
      ['cflush', Descriptor.cflush({ dst: a, size: 64, completion })],
    ];
    for (const [label, d] of cases) {
      const status = await checkAgainstReference(dev, d, label);
      assert.ok(status === Status.SUCCESS || status === Status.SUCCESS_PRED, `${label}: 0x${status.toString(16)}`);
    }
  });
});

test('random descriptors (batches included) match the reference, on both completion paths, and with copies from 64 bytes bypassing the cache', async () => {
  for (const [completion, cacheBypassBytes] of [['eventfd', 4 << 20], ['atomics', 4 << 20], ['eventfd', 64]] as const) {
    if (completion === 'eventfd' && process.env.SOFTDSA_NO_EVENTFD === '1') continue;
    await withDevice({ engines: 2, completion, cacheBypassBytes }, async (dev) => {
      const g = region(dev);
      const lists = dev.alloc(64 * 64, 64);
      const mem = new Uint8Array(dev.memory.buffer as unknown as SharedArrayBuffer);
      const seed = (Date.now() ^ (completion === 'eventfd' ? 1 : 2)) >>> 0;
      const r = rng(seed);
      dev.view(g.base, g.size).forEach((_, i, v) => (v[i] = r() & 3 ? r() & 0xff : 0));
      for (let i = 0; i < 400; i++) {
        const d = randomDescriptor(r, g, { write: (addr, bytes) => mem.set(bytes, addr), lists, listSlots: 64 });
        await checkAgainstReference(dev, d, `seed ${seed} #${i} (${completion}) op 0x${d[7].toString(16)}`);
      }
    });
  }
});

test('copies past the cache at addresses from 2 GiB up (a 3 GiB arena): done, not an engine lost', async () => {
  // (the core hands streamCopy i32s, which arrive in JS signed: from 2 GiB they were negative offsets)
  await withDevice({ engines: 1, arenaBytes: 3 * 2 ** 30, cacheBypassBytes: 64 }, async (dev) => {
    const src = 0x8000_0000;
    const dst = src + (1 << 20);
    const rec = dev.alloc(32, 32);
    dev.view(src, 1 << 20).fill(0xab);
    const status = await dev.submit(Descriptor.memmove({ src, dst, size: 1 << 20, completion: rec }));
    assert.is(status, Status.SUCCESS);
    assert.ok(dev.view(dst, 1 << 20).every((x) => x === 0xab));
    assert.is(dev.stats().engineFailures, 0);
  });
});

test('many descriptors in flight complete exactly once each', async () => {
  await withDevice({ engines: 2, wqSize: 16 }, async (dev) => {
    const N = 5000;
    const cells = dev.alloc(8 * N, 8);
    const recs = dev.alloc(32 * N, 32);
    const pending: Promise<number>[] = [];
    for (let i = 0; i < N; i++) {
      pending.push(dev.submit(Descriptor.fill({ dst: cells + 8 * i, size: 8, pattern: BigInt(i + 1), completion: recs + 32 * i })));
    }
    const statuses = await Promise.all(pending);
    assert.is(statuses.filter((s) => s === Status.SUCCESS).length, N);
    const dv = new DataView(dev.memory.buffer as unknown as SharedArrayBuffer);
    for (let i = 0; i < N; i++) {
      assert.is(dv.getBigUint64(cells + 8 * i, true), BigInt(i + 1));
      assert.is(readRecord(dev.view(recs + 32 * i, 32), 0).status, Status.SUCCESS);
    }
    assert.is(dev.portal.inflight, 0);
  });
});

test('a full queue refuses with QUEUE_FULL when retry is false', async () => {
  await withDevice({ engines: 1, wqSize: 4 }, async (dev) => {
    const src = dev.alloc(1 << 18);
    const dst = dev.alloc(1 << 18);
    const d = Descriptor.memmove({ src, dst, size: 1 << 18 });
    const accepted: Promise<number>[] = [];
    let refused = 0;
    for (let i = 0; i < 64; i++) {
      try {
        accepted.push(await Promise.race([dev.submit(d, { retry: false }), Promise.resolve(-1)]).then((s) => s));
      } catch (e) {
        assert.is((e as { code?: string }).code, 'QUEUE_FULL');
        refused++;
      }
    }
    // The ring holds 4: some of 64 back-to-back submissions must have been refused.
    assert.ok(refused > 0, 'no refusal');
    await dev.portal.settled();
  });
});

test('a descriptor that waits for room in a full queue is the bytes it was at submit(), though the caller reuses its Buffer or Uint8Array at once', async () => {
  await withDevice({ engines: 1, wqSize: 4 }, async (dev) => {
    const cells = dev.alloc(8 * 64);
    dev.view(cells, 8 * 64).fill(0);
    const rule = dev.inject({ opcode: Opcode.MEMFILL, latency: 20 }); // (the queue fills, and the rest wait)
    for (const make of [(n: number) => Buffer.alloc(n), (n: number) => new Uint8Array(n)]) {
      const desc = make(64);
      const done: Array<Promise<number>> = [];
      for (let i = 0; i < 32; i++) {
        // one descriptor's bytes, rewritten for each call: fill cell i with i + 1
        desc.set(Descriptor.fill({ dst: cells + 8 * i, size: 8, pattern: BigInt(i + 1) }));
        done.push(dev.submit(desc));
      }
      assert.ok((await Promise.all(done)).every((st) => st === Status.SUCCESS));
      const dv = new DataView(dev.memory.buffer, cells, 8 * 32);
      for (let i = 0; i < 32; i++) assert.is(dv.getBigUint64(8 * i, true), BigInt(i + 1), `cell ${i}`);
      dev.view(cells, 8 * 64).fill(0);
    }
    rule.remove();
  });
});

test('records that cannot be written settle the submit with 0x1b / 0x1a and go to the error log', async () => {
  await withDevice({ engines: 1 }, async (dev) => {
    const rec = dev.alloc(64, 32);
    assert.is(await dev.submit(Descriptor.noop({ completion: rec + 8 })), Status.COMPLETION_ALIGN);
    assert.is(await dev.submit(Descriptor.noop({ completion: dev.layout.arenaEnd - 16 - ((dev.layout.arenaEnd - 16) % 32) + 32 })), Status.COMPLETION_FAULT);
    assert.is(await dev.submit(Descriptor.noop({ completion: 64 })), Status.COMPLETION_FAULT);
    assert.is(dev.errorLog.length, 3);
    assert.is(dev.errorLog[0].status, Status.COMPLETION_ALIGN);
    assert.is(dev.errorLog[0].opcode, Opcode.NOOP);
    assert.is(dev.errorLog[0].completion, BigInt(rec + 8));
    // an unsupported opcode keeps its 0x10 with such a record (none is written): logged too
    assert.is(await dev.submit(Descriptor.encode({ opcode: 0x0b, completion: rec + 8, flags: Flag.CRAV | Flag.RCR })), Status.INVALID_OPCODE);
    assert.is(await dev.submit(Descriptor.encode({ opcode: 0x0b, completion: 2 ** 40, flags: Flag.CRAV | Flag.RCR })), Status.INVALID_OPCODE);
    assert.is(await dev.submit(Descriptor.encode({ opcode: 0x0b, completion: rec, flags: Flag.CRAV | Flag.RCR })), Status.INVALID_OPCODE);
    assert.equal(dev.errorLog.slice(3).map((e) => [e.status, e.opcode, e.completion]), [[Status.INVALID_OPCODE, 0x0b, BigInt(rec + 8)], [Status.INVALID_OPCODE, 0x0b, 2n ** 40n]], 'the one with a record written is not logged');
    // A record outside the arena faults as it is written, after the work, as DSA's record
    // translation fault does: a success without RCR writes none and succeeds; a record due
    // (RCR, or a failure) gives 0x1A with the work done.
    const a = dev.alloc(4096);
    const b = dev.alloc(4096);
    const fresh = (): void => {
      dev.view(a, 4096).fill(0x5a);
      dev.view(b, 4096).fill(0);
    };
    const copied = (): boolean => dev.view(b, 4096).every((x) => x === 0x5a);
    const logged = dev.errorLog.length;
    fresh();
    assert.is(await dev.submit(Descriptor.memmove({ src: a, dst: b, size: 4096, completion: 2 ** 40, flags: Flag.CRAV })), Status.SUCCESS, 'CRAV without RCR, a success: no record due');
    assert.ok(copied());
    assert.is(dev.errorLog.length, logged, 'nothing logged');
    fresh();
    assert.is(await dev.submit(Descriptor.memmove({ src: a, dst: b, size: 4096, completion: 2 ** 40 })), Status.COMPLETION_FAULT, 'RCR: the record is due');
    assert.ok(copied(), 'the work was done before its record faulted');
    assert.is(await dev.submit(Descriptor.memmove({ src: a, dst: b, size: 0, completion: 2 ** 40, flags: Flag.CRAV })), Status.COMPLETION_FAULT, 'a failure (0x13) without RCR: its record is due');
    assert.equal(dev.errorLog.slice(logged).map((e) => [e.status, e.opcode]), [[Status.COMPLETION_FAULT, Opcode.MEMMOVE], [Status.COMPLETION_FAULT, Opcode.MEMMOVE]]);
    // the raw verbs: a position reaped already, or never enqueued, is refused (it read NONE for good)
    const pos = dev.portal.enqueue(Descriptor.noop());
    dev.portal.doorbell();
    let status = Status.NONE;
    while ((status = dev.portal.completed(pos)) === Status.NONE) await new Promise((r) => setImmediate(r));
    assert.is(status, Status.SUCCESS);
    assert.throws(() => dev.portal.completed(pos), (e: Error) => e instanceof RangeError && /not in flight/.test(e.message));
    assert.throws(() => dev.portal.completed(pos + 1000), RangeError);
    // (also one lap ahead: the slots of positions not enqueued yet wait FREE on their lap)
    for (const k of [1, 5]) assert.throws(() => dev.portal.completed(pos + k), RangeError, `pos + ${k}`);
    // a position submit() holds is not the raw verbs' to reap (its call never settled, nor close());
    // nor is one 2^24 laps away from the caller's own
    const mine = dev.portal.enqueue(Descriptor.noop());
    const theirs = dev.submit(Descriptor.noop());
    dev.portal.doorbell();
    assert.is(await theirs, Status.SUCCESS);
    assert.throws(() => dev.portal.completed(mine + 1), RangeError, 'submit()\'s position');
    assert.throws(() => dev.portal.completed(mine + 2 ** 24), RangeError, 'a position 2^24 away');
    while ((status = dev.portal.completed(mine)) === Status.NONE) await new Promise((r) => setImmediate(r));
    assert.is(status, Status.SUCCESS);
    // ...also done and not yet reaped by its submit() (it was reaped, and the call hung)
    const big = 256 << 10;
    const [from, to] = [dev.alloc(big), dev.alloc(big)];
    const raw = dev.portal.enqueue(Descriptor.noop());
    const slow = dev.submit(Descriptor.memmove({ src: from, dst: to, size: big }));
    dev.portal.doorbell();
    const t0 = performance.now();
    while (!dev.portal.wq.isDone(raw + 1) && performance.now() - t0 < 5000); // (this thread holds on: submit() reaps in a later turn)
    assert.throws(() => dev.portal.completed(raw + 1), RangeError, 'done, and submit()\'s');
    assert.is(await slow, Status.SUCCESS, 'the submit() settles');
    while (dev.portal.completed(raw) === Status.NONE) await new Promise((r) => setImmediate(r));
    dev.free(from);
    dev.free(to);
  });
});

test('a batch member whose record cannot be written goes to the error log too (its index, its status; the first of the batch, more flagged)', async () => {
  await withDevice({ engines: 1 }, async (dev) => {
    const rec = dev.alloc(32, 32);
    const list = dev.alloc(4 * 64, 64);
    const mrec = dev.alloc(32, 32);
    const member = (i: number, d: Uint8Array): void => dev.view(list + i * 64, 64).set(d);
    member(0, Descriptor.noop({ completion: mrec }));
    member(1, Descriptor.noop({ completion: mrec + 8 })); // misaligned: 0x1b
    member(2, Descriptor.noop({ completion: 2 ** 40 })); // outside the arena: 0x1a
    member(3, Descriptor.noop({}));
    assert.is(await dev.submit(Descriptor.batch({ list, count: 4, completion: rec })), Status.BATCH_FAIL);
    assert.is(dev.errorLog.length, 1);
    const e = dev.errorLog[0];
    assert.equal([e.status, e.opcode, e.completion, e.batchIndex, e.more], [Status.COMPLETION_ALIGN, Opcode.NOOP, BigInt(mrec + 8), 1, true]);
    // one alone, through the raw verbs (enqueue / completed)
    member(1, Descriptor.noop({ completion: mrec }));
    const pos = dev.portal.enqueue(Descriptor.batch({ list, count: 3, completion: rec }));
    let status = Status.NONE;
    while ((status = dev.portal.completed(pos)) === Status.NONE) await new Promise((r) => setImmediate(r));
    assert.is(status, Status.BATCH_FAIL);
    assert.equal([dev.errorLog[1].status, dev.errorLog[1].batchIndex, dev.errorLog[1].more], [Status.COMPLETION_FAULT, 2, false]);
    // a batch whose members all succeed, or fail with records written, logs nothing
    member(2, Descriptor.memmove({ src: 2 ** 40, dst: mrec, size: 8, completion: mrec }));
    assert.is(await dev.submit(Descriptor.batch({ list, count: 3, completion: rec })), Status.BATCH_FAIL);
    assert.is(dev.errorLog.length, 2);
  });
});

test('RCI signals the interrupt handle; an unknown handle is 0x19', async () => {
  await withDevice({ engines: 1 }, async (dev) => {
    let fired = 0;
    let wake: () => void = () => {};
    const irq = dev.allocInterrupt(() => {
      fired++;
      wake();
    });
    irq.ref(); // waiting for it: it keeps the process alive (the default does not)
    const rec = dev.alloc(32, 32);
    const got = new Promise<void>((r) => (wake = r));
    const status = await dev.submit(Descriptor.noop({ completion: rec, flags: Flag.CRAV | Flag.RCR | Flag.RCI, intHandle: irq.handle }));
    assert.is(status, Status.SUCCESS);
    await got;
    assert.ok(fired >= 1);
    assert.is(await dev.submit(Descriptor.noop({ completion: rec, flags: Flag.CRAV | Flag.RCR | Flag.RCI, intHandle: 63 })), Status.INT_HANDLE);
    assert.is(readRecord(dev.view(rec, 32), 0).status, Status.INT_HANDLE);
    irq.close();
    assert.is(await dev.submit(Descriptor.noop({ flags: Flag.RCI, intHandle: irq.handle })), Status.INT_HANDLE);
  });
});

test('a handle given back is not handed out again while descriptors still queued ask to raise it (its next owner got them), alone or in a batch: they find it invalid (0x19)', async () => {
  await withDevice({ engines: 1 }, async (dev) => {
    const rule = dev.inject({ opcode: Opcode.NOOP, latency: 300 }); // (they wait in the queue)
    const old = dev.allocInterrupt(() => {});
    const h = old.handle;
    const list = dev.alloc(2 * 64, 64);
    dev.view(list, 64).set(Descriptor.noop({ flags: Flag.RCI, intHandle: h }));
    dev.view(list + 64, 64).set(Descriptor.noop());
    const queued = [dev.submit(Descriptor.noop({ flags: Flag.RCI, intHandle: h })), dev.submit(Descriptor.batch({ list, count: 2 }))];
    old.close();
    let fired = 0;
    const next = Array.from({ length: 4 }, () => dev.allocInterrupt(() => fired++));
    assert.ok(next.every((n) => n.handle !== h), `handle ${h} handed out again: ${next.map((n) => n.handle).join(' ')}`);
    const [alone, batch] = await Promise.all(queued);
    assert.is(alone, Status.INT_HANDLE);
    assert.is(batch, Status.BATCH_FAIL);
    rule.remove();
    const again = dev.allocInterrupt(() => {});
    assert.is(again.handle, h, 'free again once they ran');
    for (const n of [...next, again]) n.close();
    assert.is(fired, 0);
  });
});

test('DRAIN completes after every earlier descriptor', async () => {
  await withDevice({ engines: 2, wqSize: 64, arenaBytes: 4 << 20 }, async (dev) => {
    const size = 1 << 18;
    const src = dev.alloc(size);
    const dsts = Array.from({ length: 8 }, () => dev.alloc(size));
    dev.view(src, size).fill(0xab);
    const copies = dsts.map((dst) => dev.submit(Descriptor.memmove({ src, dst, size })));
    const drained = dev.submit(Descriptor.drain()).then((s) => {
      // Every earlier copy is complete when the drain completes.
      for (const dst of dsts) assert.is(dev.view(dst, size)[size - 1], 0xab);
      return s;
    });
    assert.is(await drained, Status.SUCCESS);
    await Promise.all(copies);
  });
});

test('an engine that dies completes what it held with 0x20, and is replaced', async () => {
  for (const how of ['exit', 'throw'] as const) {
    await withDevice({ engines: 1, wqSize: 8 }, async (dev) => {
      const rec = dev.alloc(32, 32);
      const src = dev.alloc(4096);
      const dst = dev.alloc(4096);
      assert.is(await dev.submit(Descriptor.noop()), Status.SUCCESS);
      dev.inject({ engineDeath: { how }, times: 1 });
      assert.is(await dev.submit(Descriptor.memmove({ src, dst, size: 4096, completion: rec })), Status.HW_ERROR);
      assert.is(readRecord(dev.view(rec, 32), 0).status, Status.HW_ERROR);
      assert.is(dev.engineFailures.length, 1);
      // Later work succeeds on the replacement.
      assert.is(await dev.submit(Descriptor.memmove({ src, dst, size: 4096, completion: rec })), Status.SUCCESS);
    });
  }
});

test('EngineStates.wake: each parked engine of the group is rung once, on its own bell, and marked RUNG; rung ones are passed by', () => {
  // The states of a 3-engine device with no threads on it: only this test writes them.
  const layout = computeLayout(1 << 20, topologyLayout(singleQueue({ engines: 3, wqSize: 16, wqMode: 'dedicated', maxBatch: 32, maxTransfer: 1 << 20 })).wqs, [{ id: 0, wqs: [0], engines: [0, 1, 2] }], 3);
  const memory = new WebAssembly.Memory({ initial: layout.bytes / 65536, maximum: layout.bytes / 65536, shared: true });
  const all = new EngineStates(memory, layout);
  const group = new EngineStates(memory, layout, [1, 2]);
  const bells = (): number[] => [0, 1, 2].map((e) => all.bell(e));
  for (const e of [0, 1, 2]) all.set(e, EngineState.PARKED);
  assert.is(group.count, 2);
  assert.is(group.parked(), 2, "the group's parked engines only");
  assert.is(group.wake(5), 2, 'rings as many as are parked');
  assert.equal([0, 1, 2].map((e) => all.get(e)), [EngineState.PARKED, EngineState.RUNG, EngineState.RUNG], 'marked RUNG; engine 0 is not in the group');
  assert.equal(bells(), [0, 1, 1], 'each on its own bell');
  assert.is(group.wake(2), 0, 'rung engines are passed by');
  assert.equal(bells(), [0, 1, 1]);
  all.set(2, EngineState.PARKED); // up and parked again
  all.set(1, EngineState.RUNNING);
  assert.is(all.wake(1), 1);
  assert.equal([0, 1, 2].map((e) => all.get(e)), [EngineState.RUNG, EngineState.RUNNING, EngineState.PARKED], 'one asked for, one rung (the first parked)');
  assert.ok(all.ready(), 'rung engines have booted');
  all.wakeAll();
  assert.equal(bells(), [2, 2, 2], 'wakeAll rings every bell, whatever the state');
});

test('a split call rings its engines before its pieces: bursts after doorbell(2) complete, and no engine is left rung', async () => {
  await withDevice({ engines: 2, wqSize: 64 }, async (dev) => {
    const states = new EngineStates(dev.memory, dev.layout);
    const until = async (what: string, ok: () => boolean): Promise<void> => {
      for (const t = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 1))) if (Date.now() - t > 5000) assert.unreachable(what);
    };
    const bothParked = (): boolean => states.get(0) === EngineState.PARKED && states.get(1) === EngineState.PARKED;
    const src = dev.alloc(64 << 10);
    const dst = dev.alloc(64 << 10);
    for (let round = 0; round < 40; round++) {
      await until(`round ${round}: both engines park (none left RUNG)`, bothParked);
      dev.portal.doorbell(2);
      const ps = Array.from({ length: 8 }, (_, i) => dev.submit(Descriptor.memmove({ src: src + i * 8192, dst: dst + i * 8192, size: 8192 })));
      assert.equal(await Promise.all(ps), new Array(8).fill(Status.SUCCESS), `round ${round}`);
    }
    // An engine that dies leaves no state behind that would keep a doorbell from its replacement.
    dev.inject({ engineDeath: { how: 'exit' }, times: 1 });
    assert.is(await dev.submit(Descriptor.noop()), Status.HW_ERROR);
    assert.is(await dev.submit(Descriptor.noop()), Status.SUCCESS);
    await until('both engines park after the death', bothParked);
  });
});

test('a split call wakes its submitter once, at its last piece, not at each (both completion paths)', async () => {
  for (const completion of ['eventfd', 'atomics'] as const) {
    const dev = await Device.open({ engines: 2, completion, arenaBytes: 160 << 20 });
    try {
      const vectors = new Vectors(dev.memory, dev.layout, null);
      const a = dev.buffer(64 << 20).fill(1);
      const b = dev.buffer(64 << 20);
      await dev.memcpy(b, a);
      const before = vectors.count(dev.portal.vector);
      for (let i = 0; i < 10; i++) {
        await dev.memcpy(b, a);
        await dev.crc32c(a);
        // and a lone call beside a split one still settles at its own completion
        const small = b.subarray(0, 4096);
        const [, crc] = await Promise.all([dev.memcpy(b, a), dev.crc32c(small)]);
        assert.is(crc, await dev.crc32c(Buffer.from(small)));
      }
      // 30 split calls of 8 pieces each: with a wake per piece, up to 240 signals
      const signals = vectors.count(dev.portal.vector) - before;
      assert.ok(signals <= 60, `${completion}: ${signals} signals for 30 split calls`);
      assert.is(dev.stats().ops.memcpy.placement.split, 21);
    } finally {
      await dev.close();
    }
  }
});

test('a vector armed for N completions signals at the Nth; armed for 0 it is not armed (its owner would wait disarmed)', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: ARENA });
  try {
    const vectors = new Vectors(dev.memory, dev.layout, null);
    const v = vectors.claim();
    const armed = new Int32Array(dev.memory.buffer as unknown as SharedArrayBuffer, dev.layout.vectors + v * VECTOR_WORDS * 4 + Vec.ARMED * 4, 1);
    let signals = 0;
    const irq = new Interrupt(vectors, v, null, () => signals++);
    try {
      irq.wait(0); // (a completion came between the count and the arm: the caller polls instead)
      assert.is(Atomics.load(armed, 0), 0);
      irq.wait(3);
      assert.is(Atomics.load(armed, 0), 3, 'wait(0) left it waiting: wait(3) would only lower the arm');
      irq.wait(2); // already waiting: at most 2 more
      assert.is(Atomics.load(armed, 0), 2);
      const before = vectors.count(v);
      vectors.signalIfArmed(v);
      assert.is(vectors.count(v), before, 'one of 2: no signal yet');
      vectors.signalIfArmed(v);
      assert.is(vectors.count(v), before + 1, 'the 2nd signals');
      assert.is(Atomics.load(armed, 0), 0, 'and disarms');
      vectors.signalIfArmed(v);
      assert.is(vectors.count(v), before + 1, 'disarmed: no more');
    } finally {
      irq.close();
    }
  } finally {
    await dev.close();
  }
});

test('submit after close rejects; close twice is fine; bad arguments throw clearly', async () => {
  const dev = await Device.open({ arenaBytes: ARENA, engines: 1 });
  assert.throws(() => dev.alloc(0), /positive integer/);
  assert.throws(() => dev.alloc(ARENA * 2), (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ARENA_FULL' && /cannot fit \d+ more bytes \(of its \d+, the calls. own areas among them, the largest free piece is \d+\): free\(\) buffers no longer used, or open the device with a larger arenaBytes/.test(e.message));
  assert.throws(() => dev.view(0, 16), /not inside the device arena/);
  assert.throws(() => dev.free(12345), /not allocated/);
  await assert.not.throws(async () => dev.submit(encode({ opcode: Opcode.NOOP })));
  try {
    await dev.submit(new Uint8Array(10));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TypeError);
  }
  await dev.close();
  await dev.close();
  try {
    await dev.submit(Descriptor.noop());
    assert.unreachable();
  } catch (e) {
    assert.is((e as { code?: string }).code, 'DEVICE_CLOSED');
  }
  assert.is(await dev.ready().then(() => 'ready', (e: { code?: string }) => e.code), 'DEVICE_CLOSED', 'ready() of a closed device: nothing will be');
  const never = Device.openSync({ arenaBytes: ARENA, engines: 1 });
  await never.close();
  assert.is(await never.ready().then(() => 'ready', (e: { code?: string }) => e.code), 'DEVICE_CLOSED', 'closed before its engines started');
  // ready() asked first, the device closed before its engines ran: not "ready" (they never ran)
  for (const engines of [1, 2]) {
    const early = Device.openSync({ arenaBytes: ARENA, engines });
    const asked = early.ready().then(() => 'ready', (e: { code?: string }) => e.code);
    await early.close();
    assert.is(await asked, 'DEVICE_CLOSED', `ready() pending when the device closed before its ${engines} engine(s) ran`);
  }
  // ... also closed while its threads boot, which close() waits for: they come up, and the device
  // is closed (a pending ready() resolved, 14 of 20 here; an outside pass)
  for (let i = 0; i < 10; i++) {
    const booting = Device.openSync({ arenaBytes: ARENA, engines: 2 });
    let settled = false;
    const asked = booting.ready().then(() => 'ready', (e: { code?: string }) => e.code).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, [0, 5, 10, 20, 40][i % 5]));
    const before = settled; // (ready before the close: nothing to say of it)
    await booting.close();
    if (!before) assert.is(await asked, 'DEVICE_CLOSED', `ready() pending when close() began ${[0, 5, 10, 20, 40][i % 5]} ms after the open`);
  }
  await assert.not.throws(() => undefined);
  try {
    await Device.open({ wqSize: 100 });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /wqSize: must be a power of two/);
  }
});

test('close() gives back the arena pages no block holds (the process no longer keeps them until V8 collects the memory); a buffer still allocated keeps its bytes, and its pages go back as it is freed', async () => {
  const rss = (): number => Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096;
  for (const completion of ['auto', 'atomics'] as const) {
    const dev = await Device.open({ arenaBytes: 128 << 20, engines: 1, completion });
    if (eventFdStatus().available === false) return void (await dev.close()); // (the addon gives the pages back: without it they stay)
    const kept = dev.buffer(1 << 20).fill(0x5a);
    const big = dev.buffer(64 << 20).fill(1); // touched: 64 MiB in the process's RSS
    const late = dev.buffer(32 << 20).fill(2); // freed after close()
    await dev.memcpy(dev.buffer(1 << 20), kept); // (a call, and a block left unfreed)
    dev.free(big);
    const before = rss();
    await dev.close();
    const after = rss();
    assert.ok(before - after > 48 << 20, `${completion}: RSS ${before >> 20} -> ${after >> 20} MiB`);
    assert.ok(kept.every((b) => b === 0x5a), 'an allocated buffer keeps its bytes');
    assert.ok(late.every((b) => b === 2), 'an allocated buffer keeps its bytes');
    dev.free(late);
    const freed = rss();
    assert.ok(after - freed > 24 << 20, `${completion}: freed after close(): RSS ${after >> 20} -> ${freed >> 20} MiB`);
  }
});

test("opening a device leaves V8's flags as the process had them: new threads keep their code cache, the program's Wasm its tier-up", () => {
  // v8.cachedDataVersionTag() is keyed by the flags: the core's compile switches Liftoff off and
  // must put back everything that switched (--no-liftoff implies --no-wasm-dynamic-tiering).
  const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.ts');
  const script = `
    import { cachedDataVersionTag } from 'node:v8';
    import { Device } from ${JSON.stringify(src)};
    const before = cachedDataVersionTag();
    const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
    const after = cachedDataVersionTag();
    await dev.close();
    console.log(JSON.stringify({ before, after }));`;
  // (V8's options, which a Worker refuses in execArgv, also must not keep the engines from starting)
  for (const flags of [[], ['--no-liftoff'], ['--no-wasm-dynamic-tiering'], ['--max-old-space-size=512']]) {
    const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 0, r.stderr);
    const { before, after } = JSON.parse(r.stdout) as { before: number; after: number };
    assert.is(after, before, `flags ${flags.join(' ') || '(none)'}: the tag changed, so a flag was left switched`);
  }
});

test('a program run as `node --input-type=module -e ...` gets its engines (the option, passed on to them, kept every one from starting)', () => {
  const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.ts');
  const script = `
    import { Descriptor, Device } from ${JSON.stringify(src)};
    const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
    const timeout = new Promise((r) => setTimeout(() => r('no engine ran it'), 5000).unref());
    console.log(await Promise.race([dev.submit(Descriptor.noop()), timeout]));
    await dev.close();`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.stdout.trim(), '1', r.stderr);
  assert.not.match(r.stderr, /failed to start/);
});

test('engines that cannot start: open() rejects (ENGINE_START_FAILED), calls run inline, close() and shutdown() settle what was queued (they waited for good)', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const src = join(here, '..', 'src', 'index.ts');
  const script = `
    import { Descriptor, Device, alloc, crc32c, ready, shutdown } from ${JSON.stringify(src)};
    const out = {};
    out.open = await Device.open({ engines: 1, arenaBytes: 1 << 20 }).then(() => 'opened', (e) => e.code);
    const dev = Device.openSync({ engines: 1, arenaBytes: 1 << 20 });
    const queued = dev.submit(Descriptor.noop()).then((s) => s, (e) => e.code);
    out.ready = await dev.ready().then(() => 'ready', (e) => e.code);
    await dev.close();
    out.queued = await queued;
    const a = alloc(1 << 20).fill(1);
    out.crc = await crc32c(a);
    out.defaultReady = await ready().then(() => 'ready', (e) => e.code);
    await shutdown();
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', join(here, 'fixtures', 'no_engines.mjs'), '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out, { open: 'ENGINE_START_FAILED', ready: 'ENGINE_START_FAILED', queued: 'DEVICE_CLOSED', crc: 33273562, defaultReady: 'ENGINE_START_FAILED' });
});

test('engines that cannot start do not hold the program once open() has said so: one that awaits open() and ends exits then (the start retried every 2 s held it 5 s or more)', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const script = `
    import { Device } from ${JSON.stringify(join(here, '..', 'src', 'index.ts'))};
    console.log(await Device.open({ engines: 1, arenaBytes: 1 << 20 }).then(() => 'opened', (e) => e.code));
    setTimeout(() => console.log('still held'), 4000).unref();`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', join(here, 'fixtures', 'no_engines.mjs'), '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), 'ENGINE_START_FAILED', 'ended, not held by the retries');
});

test('ready() asked only to start the engines, not awaited, then shutdown() before they boot: no unhandled rejection (the program ended with exit code 1)', () => {
  const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.ts');
  const script = `
    import { Device, crc32c, ready, shutdown } from ${JSON.stringify(src)};
    ready();
    const crc = await crc32c(Buffer.from('123456789'));
    await shutdown();
    const dev = Device.openSync({ engines: 1, arenaBytes: 1 << 20 });
    dev.ready();
    await dev.close();
    console.log(crc);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim().split('\n').pop(), '3808858755');
});

test('booting engines do not hold the process: a program that opens a device and ends exits before they are up; one awaiting open(), ready() or a descriptor is held until they are', () => {
  const run = (how: string): { got: unknown; up: boolean | null } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/boot_exit.ts', import.meta.url)), how], { encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 0, `${how}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim()) as { got: unknown; up: boolean | null };
  };
  assert.equal(run('openSync'), { got: null, up: false }, 'openSync(), then nothing: it ends as the engines boot');
  assert.equal(run('alloc'), { got: nativeCrc(Buffer.alloc(1 << 20, 7)) >>> 0, up: null }, 'a call on the default device (inline while they boot)');
  assert.equal(run('open'), { got: true, up: true }, 'await open()');
  assert.equal(run('ready'), { got: 'ready', up: null }, 'await ready() of the default device');
  assert.is(run('submit').got, 'success', 'await submit() of a descriptor before they are up: it completes (as it did, the program ends: the warm-up after it need not)');
});

test('Device[openLater] (the default device\'s opener): engines start when the timer fires, or at once on ready(), or on close() with work queued; calls meanwhile run here; closed first, never', async () => {
  const later = (ms: number): Device => Device[openLater]({ engines: 2, arenaBytes: 4 << 20 }, ms);
  // ready() starts them
  let dev = later(1e9);
  const buf = dev.buffer(1 << 20).fill(9);
  assert.is(await dev.crc32c(buf), nativeCrc(buf) >>> 0);
  assert.equal(dev.stats().ops.crc32c.placement, { 'inline:booting': 1 }, 'a call before they start runs here');
  await new Promise((r) => setTimeout(r, 100));
  assert.is(dev.isReady, false, 'not started: not ready');
  await dev.ready();
  assert.is(dev.isReady, true);
  await dev.close();
  // a descriptor queued before they start: close() starts them for it, and it completes
  dev = later(1e9);
  const noop = dev.submit(Descriptor.noop());
  await new Promise((r) => setTimeout(r, 20));
  await dev.close();
  assert.is(await noop, Status.SUCCESS);
  // nothing queued: close() does not start them (and ends at once)
  dev = later(1e9);
  await dev.crc32c(dev.buffer(4096));
  await dev.close();
  assert.is(dev.isReady, false);
  // the timer
  dev = later(1);
  for (const until = Date.now() + 20_000; !dev.isReady && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5));
  assert.is(dev.isReady, true, 'started by the timer');
  await dev.close();
});

test('a block the program never wrote holds zeros: the device\'s own work (warm-up, calibration, descriptor blocks, file windows and chunks) leaves none of its bytes behind; an impossible alignment is said to be one', async () => {
  const dev = await Device.open({ engines: 2, arenaBytes: 16 << 20 });
  const dir = mkdtempSync(join(tmpdir(), 'softdsa-zeros-'));
  try {
    const first = dev.buffer(64 << 10);
    assert.is(first.findIndex((b) => b !== 0), -1, 'the first buffer after open (the warm-up used the arena)');
    // the program's own buffers, written: they stay allocated (their bytes are the program's)
    const a = dev.buffer(3 << 20).fill(7);
    const b = dev.buffer(3 << 20);
    await dev.memcpy(b, a);
    await dev.crc32c(a);
    await Promise.all(Array.from({ length: 300 }, (_, i) => dev.crc32c(a.subarray(0, 64 + i))));
    await new Promise((r) => setTimeout(r, 150)); // (the calibration runs when the device is idle)
    const f = join(dir, 'f');
    writeFileSync(f, randomBytes((3 << 20) + 5));
    await crc32cFile(f, { device: dev }); // (mapped: the engines read it into windows of the arena)
    await crc32cFile(f, { device: dev, chunkSize: 1 << 20 });
    await copyFileCrc32c(f, join(dir, 'g'), { device: dev, chunkSize: 1 << 20 });
    await copyFileCrc32c(f, join(dir, 'h'), { device: dev, chunkSize: 1 << 20, via: 'copyCrc32c' }); // (a chunk's copy in its buffer's second half)
    // a pipe's chunks, partly filled (zeroed as far as its reads reached)
    const fifo = join(dir, 'p');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `head -c 2500000 "${f}" > "${fifo}"`], { stdio: 'ignore' });
    await crc32cFile(fifo, { device: dev });
    writer.kill();
    await dev.createDelta(a, b);
    // every byte no block holds now: zeros
    let seen = 0;
    for (let size = 1 << 20; size >= 64; ) {
      let buf: Buffer;
      try {
        buf = dev.buffer(size);
      } catch {
        size >>= 1;
        continue;
      }
      const at = buf.findIndex((x) => x !== 0);
      assert.is(at, -1, `a fresh block of ${size} bytes at ${buf.byteOffset} holds ${buf[at]} at ${at}`);
      seen += size;
    }
    assert.ok(seen > 8 << 20, `${seen} bytes checked`);
    // an alignment no block can have: said so, not that the arena is full
    assert.throws(() => dev.alloc(100, 2 ** 40), (e: Error) => e instanceof RangeError && /alignment .* larger than the arena/.test(e.message));
  } finally {
    await dev.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
