// Fault injection (src/device/faults.ts): each effect as a client sees it (byte-exact page faults,
// statuses, refusals, engine deaths, latency, lost interrupts), matching (opcode, wq, address,
// every N-th, times, probability), reproducibility by seed, rules reaching attached threads,
// stats counts, rule errors, and the README's resume example run as it is written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { Device, Descriptor, Flag, Opcode, readRecord, Status, statusName, type DeviceOptions, type FaultRule } from '../src/index.ts';
import { Desc } from '../src/device/format.ts';
import { VECTOR_WORDS, Vec } from '../src/device/layout.ts';

const ARENA = 1 << 20;
const root = fileURLToPath(new URL('..', import.meta.url));

async function withDevice(opts: DeviceOptions, fn: (dev: Device) => Promise<void>): Promise<void> {
  const dev = await Device.open({ arenaBytes: ARENA, ...opts });
  try {
    await fn(dev);
  } finally {
    await dev.close();
  }
}

/** Arena bytes filled with i * 7 + 1 (never 0 at a multiple of 256). */
function source(dev: Device, size: number): number {
  const a = dev.alloc(size);
  dev.view(a, size).forEach((_, i, v) => (v[i] = (i * 7 + 1) & 0xff));
  return a;
}

test('pageFault: byte-exact partial completion, read or write, as the core reports a real fault', async () => {
  await withDevice({ engines: 2 }, async (dev) => {
    const size = 16384;
    const src = source(dev, size);
    const dst = dev.alloc(size);
    const rec = dev.alloc(32, 32);
    const d = dev.view(dst, size);
    for (const [operand, offset] of [['src', 5000], ['dst', 4096], ['src', 0], ['dst', size - 1]] as const) {
      d.fill(0xee);
      const rule = dev.inject({ opcode: Opcode.MEMMOVE, pageFault: { offset, operand }, times: 1 });
      const status = await dev.submit(Descriptor.memmove({ src, dst, size, completion: rec }));
      const write = operand === 'dst';
      assert.is(status, Status.PAGE_FAULT | (write ? Status.WRITE_FAULT_BIT : 0), `${operand}+${offset}`);
      const r = readRecord(dev.view(rec, 32), 0);
      assert.equal([r.status, r.writeFault, r.bytesCompleted, r.faultAddress, r.faultInfo], [Status.PAGE_FAULT, write, offset, BigInt((write ? dst : src) + offset), 0]);
      // exactly the bytes before the fault were copied, none after
      assert.equal(d.subarray(0, offset), dev.view(src, offset));
      assert.ok(d.subarray(offset).every((b) => b === 0xee), 'nothing written from the fault on');
      assert.is(rule.fired, 1);
    }
    // The rules were spent: the same copy runs whole.
    assert.is(await dev.submit(Descriptor.memmove({ src, dst, size, completion: rec })), Status.SUCCESS);
    assert.equal(d, dev.view(src, size));
    // A partial CRC, resumable with it as the seed; a fault past the transfer does not match.
    dev.inject({ opcode: Opcode.CRCGEN, pageFault: { offset: 3000 }, times: 1 });
    dev.inject({ opcode: Opcode.CRCGEN, pageFault: { offset: size }, times: 1 });
    assert.is(await dev.submit(Descriptor.crc32c({ src, size, completion: rec })), Status.PAGE_FAULT);
    const r = readRecord(dev.view(rec, 32), 0);
    assert.is(r.bytesCompleted, 3000);
    const head = Buffer.from(dev.view(src, 3000));
    assert.is(r.opSpecific, nativeCrc32c(head) >>> 0);
    assert.is(await dev.submit(Descriptor.crc32c({ src: src + 3000, size: size - 3000, seed: r.opSpecific, completion: rec })), Status.SUCCESS);
    assert.is(readRecord(dev.view(rec, 32), 0).opSpecific, nativeCrc32c(Buffer.from(dev.view(src, size))) >>> 0);
    // A BOF descriptor would have its page mapped by the OS: not faulted.
    dev.inject({ opcode: Opcode.MEMMOVE, pageFault: { offset: 10 }, times: 1 });
    assert.is(await dev.submit(Descriptor.memmove({ src, dst, size, completion: rec, flags: Flag.CRAV | Flag.RCR | Flag.BOF })), Status.SUCCESS);
    assert.is(await dev.submit(Descriptor.memmove({ src, dst, size, completion: rec })), Status.PAGE_FAULT);
    assert.is(dev.stats().faults.byEffect.pageFault, 6);
    // An operand the opcode does not have: the rule does not fire (a CRC has no destination, a
    // fill no source), and waits for a descriptor that has it.
    const noDst = dev.inject({ pageFault: { offset: 0, operand: 'dst' }, times: 1 });
    assert.is(await dev.submit(Descriptor.crc32c({ src, size, completion: rec })), Status.SUCCESS);
    assert.is(noDst.fired, 0);
    noDst.remove();
    const noSrc = dev.inject({ pageFault: { offset: 0, operand: 'src' }, times: 1 });
    assert.is(await dev.submit(Descriptor.fill({ dst, size, pattern: 0n, completion: rec })), Status.SUCCESS);
    assert.is(noSrc.fired, 0);
    assert.is(dev.stats().faults.byEffect.pageFault, 6);
    assert.is(await dev.submit(Descriptor.memmove({ src, dst, size, completion: rec })), Status.PAGE_FAULT);
    assert.is(noSrc.fired, 1);
    // A fault the descriptor never reaches (it runs whole) is not counted, and waits for one that
    // does: a cache flush, the 32 bytes of protection information a DIX generate of 4 blocks writes.
    for (const [desc, offset] of [[Descriptor.cflush({ dst, size: 4096, completion: rec }), 100], [Descriptor.dixGenerate({ src, pi: dst, size: 2048, completion: rec }), 100]] as const) {
      const rule = dev.inject({ opcode: desc[Desc.OPCODE], pageFault: { offset, operand: 'dst' }, times: 1 });
      assert.is(await dev.submit(desc), Status.SUCCESS);
      assert.is(rule.fired, 0, Opcode[desc[Desc.OPCODE]]);
      assert.is(dev.stats().faults.byEffect.pageFault, 7);
      rule.remove();
    }
    const pi = dev.inject({ opcode: Opcode.DIX_GEN, pageFault: { offset: 16, operand: 'dst' }, times: 1 });
    assert.is(await dev.submit(Descriptor.dixGenerate({ src, pi: dst, size: 2048, completion: rec })), Status.PAGE_FAULT | Status.WRITE_FAULT_BIT);
    assert.is(pi.fired, 1);
    assert.is(dev.stats().faults.byEffect.pageFault, 8);
  });
});

test('a split call that faults in one piece settles only once every piece is done (none writes after)', async () => {
  await withDevice({ engines: 2, arenaBytes: 40 << 20 }, async (dev) => {
    const n = 16 << 20; // 4 MiB pieces
    const src = dev.buffer(n).fill(0xaa);
    const dst = dev.buffer(n);
    for (const [opcode, call] of [[Opcode.MEMMOVE, () => dev.memcpy(dst, src)], [Opcode.CRCGEN, () => dev.crc32c(src)], [Opcode.MEMFILL, () => dev.fill(dst, 1)]] as const) {
      const fault = dev.inject({ opcode, times: 1, pageFault: { offset: 0, operand: opcode === Opcode.MEMFILL ? 'dst' : 'src' } }); // the first piece faults at once
      const late = dev.inject({ opcode, latency: 100 }); // the others complete 100 ms later
      let code = '';
      try {
        await call();
      } catch (e) {
        code = (e as { code: string }).code;
        // the caller owns its buffers again: nothing of the call is left in flight
        assert.is(dev.portal.inflight, 0, `${Opcode[opcode]}: pieces still in flight as the call rejected`);
      }
      assert.is(code, 'DSA_STATUS', Opcode[opcode]);
      fault.remove();
      late.remove();
    }
  });
});

test('status: the descriptor is not run; its record gets the status and its RCI handle is raised', async () => {
  await withDevice({ engines: 1 }, async (dev) => {
    const src = source(dev, 4096);
    const dst = dev.alloc(4096);
    dev.view(dst, 4096).fill(0);
    const rec = dev.alloc(32, 32);
    let fired = 0;
    const h = dev.allocInterrupt(() => fired++);
    dev.inject({ opcode: Opcode.MEMMOVE, status: Status.HW_ERROR, times: 1 });
    assert.is(await dev.submit(Descriptor.memmove({ src, dst, size: 4096, completion: rec, flags: Flag.CRAV | Flag.RCI, intHandle: h.handle })), Status.HW_ERROR);
    assert.is(readRecord(dev.view(rec, 32), 0).status, Status.HW_ERROR);
    assert.ok(dev.view(dst, 4096).every((b) => b === 0), 'not run');
    const t0 = Date.now();
    while (fired === 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
    assert.is(fired, 1);
    h.close();
  });
  // A drop-in call given 0x20 by a rule: ENGINE_FAILED, whose message does not say only that an engine died.
  await withDevice({ engines: 1, inlineThreshold: 0 }, async (dev) => {
    dev.inject({ opcode: Opcode.MEMMOVE, status: Status.HW_ERROR, times: 1 });
    const a = dev.buffer(64 << 10);
    const e = await dev.memcpy(dev.buffer(64 << 10), a).then(() => null, (x: Error) => x);
    assert.is((e as { code?: string } | null)?.code, 'ENGINE_FAILED');
    assert.match(e!.message, /^memcpy: status 0x20 \(hardware error\): the engine running it died, or a fault rule set that status/);
  });
});

test("a drop-in call failed with a status DSA has no name for says so (not the mask's name), and one it has by its name", async () => {
  await withDevice({ engines: 1, inlineThreshold: 0, maxBatch: 1 }, async (dev) => {
    const a = dev.buffer(4096).fill(3);
    for (const [status, name] of [[0x7f, 'UNKNOWN_0x7f'], [0x1c, 'ADDR_ALIGN']] as const) {
      const rule = dev.inject({ opcode: Opcode.CRCGEN, status, times: 1 });
      const e = await dev.crc32c(a).then(() => null, (x: Error) => x);
      assert.is((e as { code?: string } | null)?.code, 'DSA_STATUS');
      assert.ok(e!.message.includes(`(${name})`), e!.message);
      assert.is(statusName(status), name);
      rule.remove();
    }
  });
});

test('stats: the drop-in calls a status rule fails are counted as failed, one descriptor, a batch of them, split', async () => {
  await withDevice({ engines: 2, inlineThreshold: 0, arenaBytes: 20 << 20 }, async (dev) => {
    const [a, b] = [dev.buffer(8 << 20).fill(1), dev.buffer(8 << 20)];
    dev.inject({ opcode: [Opcode.MEMMOVE, Opcode.CRCGEN, Opcode.BATCH], status: Status.HW_ERROR });
    const code = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'resolved', (e: { code?: string }) => e.code);
    assert.is(await code(dev.memcpy(b.subarray(0, 4096), a.subarray(0, 4096))), 'ENGINE_FAILED');
    assert.is(await code(dev.crc32c(a.subarray(0, 4096))), 'ENGINE_FAILED');
    assert.equal(await Promise.all([code(dev.memcpy(b.subarray(0, 64), a.subarray(0, 64))), code(dev.memcpy(b.subarray(64, 128), a.subarray(64, 128)))]), ['ENGINE_FAILED', 'ENGINE_FAILED']);
    assert.is(await code(dev.memcpy(b, a)), 'ENGINE_FAILED');
    const ops = dev.stats().ops;
    // (a call on one descriptor was not counted: only split ones were)
    assert.equal([ops.memcpy?.failed, ops.memcpy?.count, ops.crc32c?.failed], [4, 0, 1]);
  });
});

test('refuse: submit rejects with QUEUE_FULL (retry: false), waits and goes in (retry), enqueue gives -1', async () => {
  await withDevice({ engines: 1, wqMode: 'shared' }, async (dev) => {
    dev.inject({ refuse: true, times: 3 });
    try {
      await dev.submit(Descriptor.noop(), { retry: false });
      assert.unreachable('refused');
    } catch (e) {
      assert.is((e as { code?: string }).code, 'QUEUE_FULL');
    }
    assert.is(dev.portal.enqueue(Descriptor.noop()), -1);
    assert.is(await dev.submit(Descriptor.noop()), Status.SUCCESS, 'offered again, once refused');
    assert.is(await dev.submit(Descriptor.noop(), { retry: false }), Status.SUCCESS);
    const f = dev.stats().faults;
    assert.is(f.byEffect.refuse, 3);
    assert.is(f.injected, 3);
  });
});

test('refuse for long: a submission waiting to go in naps (not a core of wake-ups: the engine is not rung for a refusal), and goes in once the rule is gone', async () => {
  await withDevice({ engines: 1, wqSize: 8 }, async (dev) => {
    const rule = dev.inject({ refuse: true });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const p = dev.submit(Descriptor.noop()).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 1000));
    const c = process.cpuUsage(c0);
    const share = (c.user + c.system) / 1000 / (performance.now() - t0);
    // (every thread of the process: before, 50 us naps and a doorbell each took 0.9-1.2 cores; now about 0.06)
    assert.ok(share < 0.4, `CPU while waiting: ${share.toFixed(2)} of a core`);
    rule.remove();
    assert.is(await p, Status.SUCCESS);
  });
});

test('refuse for good: close() settles what waits to go in (DEVICE_CLOSED) and resolves', async () => {
  const dev = await Device.open({ engines: 1 });
  dev.inject({ refuse: true });
  const waiting = dev.submit(Descriptor.noop()).then(() => 'resolved', (e: { code?: string }) => e.code);
  await new Promise((r) => setTimeout(r, 20));
  const closed = await Promise.race([dev.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('close() still pending after 5 s'), 5000))]);
  assert.is(closed, 'closed');
  assert.is(await waiting, 'DEVICE_CLOSED');
  // a high-level call too (close() waits for the calls in flight, but not for this one)
  const dev2 = await Device.open({ engines: 1, inlineThreshold: 0 });
  const a = dev2.buffer(4096);
  dev2.inject({ refuse: true });
  const call = dev2.memcpy(dev2.buffer(4096), a).then(() => 'resolved', (e: { code?: string }) => e.code);
  await new Promise((r) => setTimeout(r, 20));
  const closed2 = await Promise.race([dev2.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('close() still pending after 5 s'), 5000))]);
  assert.is(closed2, 'closed');
  assert.is(await call, 'DEVICE_CLOSED');
});

test('a long injected latency: close() does not wait it out (the descriptor completes as close begins)', async () => {
  const dev = await Device.open({ engines: 1 });
  dev.inject({ opcode: Opcode.NOOP, latency: 30_000 });
  const done = dev.submit(Descriptor.noop());
  await new Promise((r) => setTimeout(r, 50));
  const t = performance.now();
  await dev.close();
  assert.ok(performance.now() - t < 5000, `close() took ${(performance.now() - t).toFixed(0)} ms`);
  assert.is(await done, Status.SUCCESS);
  // a high-level call too
  const dev2 = await Device.open({ engines: 1, inlineThreshold: 0 });
  const a = dev2.buffer(4096).fill(3);
  const b = dev2.buffer(4096);
  dev2.inject({ opcode: Opcode.MEMMOVE, latency: 30_000 });
  const copied = dev2.memcpy(b, a);
  await new Promise((r) => setTimeout(r, 50));
  const t2 = performance.now();
  await dev2.close();
  assert.ok(performance.now() - t2 < 5000, `close() took ${(performance.now() - t2).toFixed(0)} ms (a memcpy in flight)`);
  assert.ok((await copied).equals(a));
});

test('engineDeath: what it held completes with 0x20, the engine is replaced, the death is counted', async () => {
  await withDevice({ engines: 1 }, async (dev) => {
    const rec = dev.alloc(32, 32);
    dev.inject({ opcode: Opcode.NOOP, engineDeath: { how: 'throw', when: 'after' }, every: 2, times: 1 });
    assert.is(await dev.submit(Descriptor.noop({ completion: rec })), Status.SUCCESS);
    assert.is(await dev.submit(Descriptor.noop({ completion: rec })), Status.HW_ERROR);
    assert.is(readRecord(dev.view(rec, 32), 0).status, Status.HW_ERROR);
    assert.is(await dev.submit(Descriptor.noop({ completion: rec })), Status.SUCCESS);
    const st = dev.stats();
    assert.equal([st.engineFailures, st.recovered, st.faults.byEffect.engineDeath], [1, 1, 1]);
  });
});

test('engineDeath with a latency: the engine dies that much later, before or after running (the latency was counted and never added)', async () => {
  await withDevice({ engines: 1 }, async (dev) => {
    for (const when of ['before', 'after'] as const) {
      dev.inject({ opcode: Opcode.NOOP, engineDeath: { how: when === 'before' ? 'exit' : 'throw', when }, latency: 150, times: 1 });
      const t0 = performance.now();
      assert.is(await dev.submit(Descriptor.noop()), 0x20, when);
      assert.ok(performance.now() - t0 >= 149, `${when}: the latency was added`);
    }
    assert.is(dev.stats().faults.byEffect.latency, 2);
  });
});

for (const completion of ['eventfd', 'atomics'] as const) {
  test(`latency and lostInterrupt: the completion comes late and unsignalled; the poll path finds it (${completion})`, async () => {
    await withDevice({ engines: 1, completion }, async (dev) => {
      const count = new Int32Array(dev.memory.buffer as unknown as SharedArrayBuffer, dev.layout.vectors, VECTOR_WORDS * 64);
      const vector = dev.portal.vector;
      await dev.submit(Descriptor.noop());
      dev.inject({ latency: 30, lostInterrupt: true, times: 1 });
      const before = Atomics.load(count, vector * VECTOR_WORDS + Vec.COUNT);
      const t0 = performance.now();
      // The submitter sleeps on its vector (the engine takes 30 ms), and is never signalled.
      const status = await Promise.race([dev.submit(Descriptor.noop()), new Promise((r) => setTimeout(r, 10_000, 'lost'))]);
      assert.is(status, Status.SUCCESS, 'recovered by polling');
      assert.ok(performance.now() - t0 >= 29, 'the latency was added');
      assert.is(Atomics.load(count, vector * VECTOR_WORDS + Vec.COUNT), before, 'no interrupt was raised');
      // The next completion is signalled as usual.
      dev.inject({ latency: 20, times: 1 });
      assert.is(await dev.submit(Descriptor.noop()), Status.SUCCESS);
      assert.ok(Atomics.load(count, vector * VECTOR_WORDS + Vec.COUNT) > before, 'signalled again');
      assert.equal(dev.stats().faults.byEffect, { pageFault: 0, status: 0, refuse: 0, engineDeath: 0, latency: 2, lostInterrupt: 1 });
    });
  });
}

test('matching: opcode, wq, address range, every N-th, times, first rule that fires; remove()', async () => {
  await withDevice({ engines: 2 }, async (dev) => {
    const a = dev.alloc(4096);
    const b = dev.alloc(4096);
    const copy = (src: number, dst: number): Promise<number> => dev.submit(Descriptor.memmove({ src, dst, size: 4096 }));
    const run = async (n: number, f: (i: number) => Promise<number>): Promise<string> => {
      let s = '';
      for (let i = 0; i < n; i++) s += (await f(i)) === Status.SUCCESS ? '.' : 'x';
      return s;
    };
    const r1 = dev.inject({ opcode: [Opcode.MEMMOVE, Opcode.MEMFILL], every: 3, status: 0x1c });
    assert.is(await run(7, () => copy(a, b)), '..x..x.');
    assert.is(await run(3, () => dev.submit(Descriptor.noop())), '...', 'another opcode');
    r1.remove();
    assert.is(await run(3, () => copy(a, b)), '...', 'removed');
    // a rule for a WQ the device lacks could never match: refused, naming the WQs there are
    assert.throws(() => dev.inject({ wq: 1, status: 0x1c }), (e: Error) => e instanceof RangeError && /^fault rule: wq 1: this device has no such work queue \(its WQs: wq0\.0 \(id 0\)\)/.test(e.message));
    const r2 = dev.inject({ wq: 0, opcode: Opcode.NOOP, status: 0x1c });
    assert.is(await run(2, () => copy(a, b)), '..', 'a NOOP rule');
    r2.remove();
    const c = dev.alloc(4096);
    const r3 = dev.inject({ address: [b + 100, b + 101], status: 0x1c, times: 2 });
    assert.is(await run(5, (i) => (i % 2 === 0 ? copy(a, c) : copy(a, b))), '.x.x.', 'copies to b, twice');
    assert.is(r3.fired, 2);
    // Two rules on the same descriptors: the first added that fires takes it.
    dev.inject({ opcode: Opcode.NOOP, every: 2, status: 0x1a, times: 1 });
    dev.inject({ opcode: Opcode.NOOP, status: 0x1b, times: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await dev.submit(Descriptor.noop()));
    assert.equal(statuses, [0x1b, 0x1a, 0x1b, Status.SUCCESS]);
  });
});

test('a rule removed while a descriptor it matched waits in the queue: the descriptor runs as usual, and the rule\'s `fired` does not count it', async () => {
  await withDevice({ engines: 1, arenaBytes: 80 << 20 }, async (dev) => {
    const big = dev.alloc(64 << 20, 4096);
    const a = dev.alloc(4096);
    const b = dev.alloc(4096);
    for (let round = 0; ; round++) {
      // the engine is busy: 4 x 64 MiB of CRC (twice as many each round it was not held long enough),
      // the last a raw position (to ask, unawaited, whether it ran yet)
      const hold = Promise.all(Array.from({ length: (4 << round) - 1 }, () => dev.submit(Descriptor.crc32c({ src: big, size: 64 << 20 }))));
      const last = dev.portal.enqueue(Descriptor.crc32c({ src: big, size: 64 << 20 }));
      dev.portal.doorbell();
      const injected = dev.stats().faults.injected;
      const rule = dev.inject({ opcode: Opcode.MEMMOVE, status: 0x1c });
      const copy = dev.submit(Descriptor.memmove({ src: a, dst: b, size: 4096 })); // tagged as it goes in
      await new Promise((r) => setImmediate(r));
      rule.remove();
      let lastStatus = dev.portal.completed(last);
      const stillHeld = lastStatus === Status.NONE;
      await hold;
      while (lastStatus === Status.NONE) {
        await new Promise((r) => setImmediate(r));
        lastStatus = dev.portal.completed(last);
      }
      const copied = await copy;
      if (!stillHeld && round < 4) continue; // the engine got to the copy first (a stalled thread): again
      assert.ok(stillHeld, 'the engine was held until the rule went');
      assert.is(copied, Status.SUCCESS);
      assert.equal([rule.fired, dev.stats().faults.injected - injected], [0, 0]);
      break;
    }
  });
});

test('address rules meet every range a descriptor reads or writes: a second destination, a delta record, a seed in memory', async () => {
  await withDevice({ engines: 1 }, async (dev) => {
    const [src, d1, d2, delta, seed] = [4096, 4096, 4096, 4096, 64].map((n) => dev.alloc(n, 4096));
    const on = async (at: number, desc: Uint8Array): Promise<[number, number]> => {
      const rule = dev.inject({ address: [at + 8, at + 9], status: Status.HW_ERROR });
      try {
        return [await dev.submit(desc), rule.fired];
      } finally {
        rule.remove();
      }
    };
    const dualcast = Descriptor.dualcast({ src, dst1: d1, dst2: d2, size: 4096 });
    assert.equal(await on(d2, dualcast), [Status.HW_ERROR, 1], 'dualcast, second destination');
    assert.equal(await on(delta, dualcast), [Status.SUCCESS, 0], 'a range it does not touch');
    assert.equal(await on(delta, Descriptor.createDelta({ src1: src, src2: d1, size: 4096, delta, maxDeltaSize: 80 })), [Status.HW_ERROR, 1], 'created delta record');
    assert.equal(await on(delta, Descriptor.applyDelta({ delta, deltaSize: 10, dst: d1, size: 4096 })), [Status.HW_ERROR, 1], 'applied delta record');
    assert.equal(await on(delta, Descriptor.applyDelta({ delta: delta - 4096 + 4088, deltaSize: 10, dst: d1, size: 4096 })), [Status.SUCCESS, 0], 'an applied delta record ends where its size does');
    assert.equal(await on(seed - 8, Descriptor.crc32c({ src, size: 4096, seedAddr: seed })), [Status.HW_ERROR, 1], 'CRC seed address');
    assert.equal(await on(seed - 8, Descriptor.copyCrc32c({ src, dst: d1, size: 4096, seedAddr: seed })), [Status.HW_ERROR, 1], 'copy + CRC seed address');
    assert.equal(await on(seed - 8, Descriptor.crc32c({ src, size: 4096, seed: 0 })), [Status.SUCCESS, 0], 'a seed in the descriptor');
  });
});

test('an injected page fault behind a real one is missed: not counted, the rule not spent', async () => {
  await withDevice({ engines: 1 }, async (dev) => {
    const src = source(dev, 4096);
    const rec = dev.alloc(32, 32);
    const rule = dev.inject({ opcode: Opcode.MEMMOVE, pageFault: { offset: 100 }, times: 1 });
    // the destination's first byte is not mapped: the copy faults there, before src + 100
    const status = await dev.submit(Descriptor.memmove({ src, dst: 2 ** 36, size: 4096, completion: rec }));
    assert.is(status, Status.PAGE_FAULT | 0x80);
    assert.is(readRecord(dev.view(rec, 32), 0).faultAddress, 2n ** 36n);
    assert.is(rule.fired, 0);
    assert.is(dev.stats().faults.injected, 0);
    assert.is(dev.stats().faults.byEffect.pageFault, 0);
    // still live: the next copy that reaches src + 100 gets it
    const s2 = await dev.submit(Descriptor.memmove({ src, dst: dev.alloc(4096), size: 4096, completion: rec }));
    assert.is(s2, Status.PAGE_FAULT);
    assert.is(readRecord(dev.view(rec, 32), 0).faultAddress, BigInt(src + 100));
    assert.is(rule.fired, 1);
    assert.is(dev.stats().faults.byEffect.pageFault, 1);
  });
});

test('a missed page fault leaves its rule to fire though another descriptor looked while it was in flight; address rules are the arena\'s, not another space\'s', async () => {
  // (an engine that parks at once when idle, and A and B both published before the one doorbell:
  // it reads both. One still spinning took A alone, ran it, and matched B after A had missed the
  // rule; so did one woken by A's own doorbell when this thread was preempted before B's)
  await withDevice({ engines: 1, engineSpinMicros: 0 }, async (dev) => {
    const src = source(dev, 4096);
    const dst = dev.alloc(4096);
    const rule = dev.inject({ opcode: Opcode.MEMMOVE, pageFault: { offset: 3000 }, times: 1 });
    await new Promise((r) => setTimeout(r, 50)); // (the engine parked)
    // A faults for real at byte 1000 (the arena ends there), before the injected fault at 3000;
    // B is matched while A is in flight (the rule taken then), C after A missed it
    const a = dev.portal.enqueue(Descriptor.memmove({ src: dev.layout.arenaEnd - 1000, dst, size: 4096 }));
    const b = dev.portal.enqueue(Descriptor.memmove({ src, dst, size: 4096 }));
    dev.portal.doorbell();
    const reaped = async (pos: number): Promise<number> => {
      let status = Status.NONE;
      while ((status = dev.portal.completed(pos)) === Status.NONE) await new Promise((r) => setImmediate(r));
      return status;
    };
    assert.is((await reaped(a)) & 0x7f, Status.PAGE_FAULT);
    assert.is(await reaped(b), Status.SUCCESS);
    const rec = dev.alloc(32, 32);
    assert.is(await dev.submit(Descriptor.memmove({ src, dst, size: 4096, completion: rec })), Status.PAGE_FAULT);
    assert.is(readRecord(dev.view(rec, 32), 0).faultAddress, BigInt(src + 3000));
    assert.is(rule.fired, 1);
    rule.remove();
    // a descriptor in another address space whose offsets are the rule's numbers does not meet it
    const r2 = dev.inject({ address: [src, src + 4096], status: 0x1c });
    const sab = new SharedArrayBuffer(1 << 24); // (kept: a registration lasts while its buffer is reachable)
    const pasid = dev.addressSpace(sab);
    assert.is(await dev.submit(Descriptor.memmove({ src, dst, size: 4096, pasid })), Status.SUCCESS);
    assert.is(dev.addressSpace(sab), pasid);
    assert.is(r2.fired, 0);
    assert.is(await dev.submit(Descriptor.memmove({ src, dst, size: 4096 })), 0x1c);
  });
});

test('reproducible: the same seed faults the same descriptors, however many engines run them', async () => {
  const outcome = async (seed: number, engines: number): Promise<string> => {
    let s = '';
    await withDevice({ engines, faultSeed: seed, faults: [{ opcode: Opcode.NOOP, probability: 0.3, status: 0x1c }] }, async (dev) => {
      // all in flight at once: the engines run them in any order
      const statuses = await Promise.all(Array.from({ length: 300 }, () => dev.submit(Descriptor.noop())));
      s = statuses.map((st) => (st === Status.SUCCESS ? '.' : 'x')).join('');
      assert.is(dev.stats().faults.seed, seed);
      assert.is(dev.stats().faults.injected, s.split('x').length - 1);
    });
    return s;
  };
  const a = await outcome(1234, 2);
  const b = await outcome(1234, 1);
  const c = await outcome(99, 2);
  assert.is(a, b, 'same seed, same descriptors');
  assert.is.not(a, c, 'another seed, others');
  const share = (a.split('x').length - 1) / a.length;
  assert.ok(share > 0.15 && share < 0.45, `share ${share}`);
});

test('rules reach every thread: an attached worker\'s descriptors are matched too', async () => {
  await withDevice({ engines: 2, wqMode: 'shared' }, async (dev) => {
    const count = 40;
    const base = dev.alloc(8 * count, 8);
    dev.inject({ opcode: Opcode.MEMFILL, every: 4, status: Status.HW_ERROR });
    const w = new Worker(new URL('./fixtures/boot.cjs', import.meta.url), { workerData: { handle: dev.handle, base, count, id: 1, entry: fileURLToPath(new URL('./fixtures/submitter.ts', import.meta.url)) } });
    const msg = await new Promise<{ ok: number; total: number; faults: number }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    assert.equal(msg, { ok: count - count / 4, total: count, faults: count / 4 }, "the attached thread's stats count them too");
    assert.is(dev.stats().faults.byEffect.status, count / 4);
  });
});

test('bad rules are refused with the field named; Device.open names the rule', async () => {
  await withDevice({ engines: 1 }, async (dev) => {
    const bad: Array<[object, RegExp]> = [
      [{ opcode: 3 }, /needs an effect/],
      [{ status: 0x20, pageFault: { offset: 0 } }, /one of pageFault, status, engineDeath, refuse per rule; got pageFault and status/],
      [{ status: 0x20, probability: 2 }, /probability must be a number from 0 to 1; got 2/],
      [{ status: 0x20, every: 0 }, /every must be a positive integer/],
      [{ status: 0x20, times: 2 ** 32 }, /times must be a positive integer, at most 2\^31 - 1; got 4294967296/],
      [{ status: 0x20, opcode: 300 }, /opcode must be an opcode/],
      [{ status: 0x20, address: [10, 5] }, /address must be \[start, end\)/],
      [{ refuse: true, latency: 5 }, /refuse goes alone/],
      [{ pageFault: { offset: -1 } }, /pageFault.offset must be/],
      [{ pageFault: { offset: 1, operand: 'src2' } }, /pageFault.operand must be 'src' or 'dst'/],
      [{ engineDeath: { how: 'crash' } }, /engineDeath.how must be 'exit' or 'throw'/],
      [{ status: 0 }, /status must be a status code/],
      [{ status: 0xff }, /0xff is the abort of a closing device/],
      [{ status: '3' }, /got "3"/],
      [{ latency: 0 }, /latency must be ms, more than 0 and at most 60000; got 0/],
      // bigints (a descriptor's 64-bit fields take them; a rule's do not): said so, not a JSON.stringify crash nor "got 3"
      [{ status: 3n }, /status must be a status code .*; got 3n \(a bigint: a rule's fields are numbers\)/],
      [{ status: 3, address: [0n, 4096n] }, /address must be \[start, end\).*; got \[0n, 4096n\] \(a bigint/],
      [{ status: 3, opcode: 3n }, /opcode must be .*; got 3n \(a bigint/],
      [{ pageFault: { offset: 4096n } }, /pageFault.offset must be .*; got 4096n \(a bigint/],
      [{ status: 3, address: [0, 2 ** 53] }, /address must be \[start, end\): integers \(numbers, at most 2\^53 - 1\)/],
    ];
    const label = (rule: object): string => JSON.stringify(rule, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    for (const [rule, re] of bad) assert.throws(() => dev.inject(rule as never), (e: Error) => e instanceof RangeError && /^fault rule: /.test(e.message) && re.test(e.message), label(rule));
    assert.throws(() => Device.openSync({ engines: 1, faults: [{ status: 3, address: [0n, 4096n] }] as never }), (e: Error) => /^option faults\[0\]: fault rule: address must be .*\(a bigint/.test(e.message));
    // a field rules do not have is a TypeError, as an unknown option name is
    assert.throws(() => dev.inject({ status: 0x20, probabilty: 0.5 } as never), (e: Error) => e instanceof TypeError && /^fault rule: unknown field "probabilty"/.test(e.message));
    // ... and in its nested fields (a misspelt When took 'before', said nowhere); an array is no rule
    assert.throws(() => dev.inject({ engineDeath: { When: 'after' } } as never), (e: Error) => e instanceof TypeError && /^fault rule: engineDeath: unknown field "When" \(fields: how, when\)/.test(e.message));
    assert.throws(() => dev.inject({ pageFault: { offset: 1, bogus: 1 } } as never), (e: Error) => e instanceof TypeError && /^fault rule: pageFault: unknown field "bogus"/.test(e.message));
    assert.throws(() => dev.inject([] as never), (e: Error) => e instanceof TypeError && /^fault rule: a rule is an object; got an array/.test(e.message));
    assert.throws(() => dev.inject({ pageFault: [{ offset: 1 }] } as never), (e: Error) => e instanceof TypeError && /pageFault must be \{ offset, operand\? \}; got an array/.test(e.message));
    assert.throws(() => dev.inject({ engineDeath: 'exit' } as never), (e: Error) => e instanceof TypeError && /engineDeath must be true or \{ how\?, when\? \}; got string/.test(e.message));
    assert.throws(() => dev.inject(null as never), (e: Error) => e instanceof TypeError && /^fault rule: a rule is an object; got null/.test(e.message));
    for (let i = 0; i < 32; i++) dev.inject({ status: 0x20, opcode: 0xfe });
    // (a capacity, not a bad argument: it was an ERR_INVALID_ARG_VALUE RangeError; an outside pass)
    assert.throws(() => dev.inject({ status: 0x20 }), (e: Error & { code?: string }) => e.code === 'NO_FAULT_RULES' && /at most 32 rules/.test(e.message));
  });
  assert.throws(() => Device.openSync({ engines: 1, arenaBytes: ARENA, faults: [{ status: 0x20 }, { latency: -1 }] }), /option faults\[1\]: fault rule: latency must be/);
  assert.throws(() => Device.openSync({ engines: 1, arenaBytes: ARENA, faultSeed: -1 }), /option faultSeed/);
  assert.throws(() => Device.openSync({ engines: 1, arenaBytes: ARENA, faults: [{ wq: 3, status: 0x20 }] }), /option faults\[0\]: fault rule: wq 3: this device has no such work queue \(its WQs: wq0\.0 \(id 0\)\)/);
  assert.throws(() => Device.openSync({ engines: 1, arenaBytes: ARENA, faults: [{ status: 0x20, bogus: 1 } as never] }), (e: Error) => e instanceof TypeError && /option faults\[0\]: fault rule: unknown field "bogus"/.test(e.message));
});

test('README: the resume example runs as written, and replays the same faults with its seed', async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /<!-- example: resume-page-fault[^>]*-->\n```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'the example is in the README');
  const dir = mkdtempSync(join(tmpdir(), 'softdsa-resume-'));
  const log = console.log;
  try {
    const code = block[1].replace(`from 'softdsa'`, `from '${pathToFileURL(join(root, 'src/index.ts')).href}'`);
    // Run here (its top-level code runs at import), twice: two files, as a module runs once.
    const run = async (n: number): Promise<string> => {
      const file = join(dir, `resume${n}.mts`);
      writeFileSync(file, code);
      let out = '';
      console.log = (...a: unknown[]) => {
        out += a.join(' ') + '\n';
      };
      try {
        await import(pathToFileURL(file).href);
      } finally {
        console.log = log;
      }
      return out;
    };
    const out = await run(1);
    const m = /^copied after (\d+) page faults; injected: (\d+)\n$/.exec(out);
    assert.ok(m, out);
    assert.ok(Number(m[1]) > 0, 'faults were met');
    assert.is(m[1], m[2], 'every injected fault was met and resumed');
    assert.is(await run(2), out, 'the same faults with the same seed');
  } finally {
    console.log = log;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a BATCH the calls of a tick went out in that fails as a whole (its list faulted, a status rule, 0x05 and 0x02 too): each call rejects with the batch\'s status, not 0x00 or a result never made', async () => {
  for (const rule of [{ opcode: Opcode.BATCH, pageFault: { offset: 0 } }, { opcode: Opcode.BATCH, status: 0x06 }, { opcode: Opcode.BATCH, status: 0x05 }, { opcode: Opcode.BATCH, status: 0x02 }]) {
    const want = 'status' in rule ? rule.status : 0x06;
    const dev = await Device.open({ inlineThreshold: 0, faults: [rule as FaultRule] });
    try {
      const a = dev.buffer(4096);
      const b = dev.buffer(4096);
      const r = await Promise.allSettled([dev.crc32c(a), dev.memcpy(b, a), dev.compare(a, b)]);
      // (0x02 is a success for a compare, whose predicate it carries: that call resolves)
      for (const x of want === 0x02 ? r.slice(0, 2) : r) {
        assert.is(x.status, 'rejected');
        assert.is(((x as PromiseRejectedResult).reason as { status?: number }).status, want, JSON.stringify(rule));
      }
    } finally {
      await dev.close();
    }
  }
});

test('the device measures nothing through its queue while fault rules are in force: the same submissions fault the same descriptors whatever the idle gaps, and `injected` counts only the program\'s', () => {
  const run = (gap: number): { pattern: string; injected: number } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test', 'fixtures', 'fault_ordinals.ts'), String(gap)], { encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { pattern: string; injected: number };
  };
  const runs = [0, 60].map(run);
  for (const r of runs) assert.is(r.injected, r.pattern.split('F').length - 1, `${r.pattern}: injected ${r.injected}`);
  assert.is(runs[1].pattern, runs[0].pattern, 'idling 60 ms between the submissions changed which descriptors faulted');
  assert.is(runs[0].pattern, '..F..F..F..F.', 'every third descriptor that went in, the drop-in call\'s fourth');
});

test('a spent rule\'s handle keeps its count once its entry is another rule\'s; remove() on it leaves that rule alone', async () => {
  const dev = await Device.open({ engines: 1 });
  try {
    const spent = dev.inject({ opcode: Opcode.NOOP, status: Status.HW_ERROR, times: 1 });
    assert.is(await dev.submit(Descriptor.noop()), Status.HW_ERROR);
    assert.is(spent.fired, 1);
    const others = Array.from({ length: 31 }, () => dev.inject({ opcode: Opcode.CFLUSH, latency: 1 })); // the table full
    const reuser = dev.inject({ opcode: Opcode.DRAIN, latency: 1 }); // takes the spent rule's entry
    assert.is(spent.fired, 1, 'after its entry was taken');
    await dev.submit(Descriptor.drain());
    assert.is(spent.fired, 1, 'after the new rule fired');
    assert.is(reuser.fired, 1);
    spent.remove();
    await dev.submit(Descriptor.drain());
    assert.is(reuser.fired, 2, 'the new rule is still in force');
    // a removed rule keeps the count it had
    for (const o of others) o.remove();
    const r = dev.inject({ opcode: Opcode.NOOP, latency: 1 });
    await dev.submit(Descriptor.noop());
    r.remove();
    for (let i = 0; i < 31; i++) dev.inject({ opcode: Opcode.NOOP, latency: 1 }); // every free entry taken again
    assert.is(r.fired, 1, 'a removed rule\'s count');
  } finally {
    await dev.close();
  }
});

test('address and dst pageFault rules take the DIF ops\' real destination length (insert writes the tuples too, DIX generate only them)', async () => {
  const dev = await Device.open({ engines: 1 });
  try {
    const bs = 512;
    const blocks = 8;
    const data = dev.buffer(bs * blocks).fill(1);
    const out = dev.buffer((bs + 8) * blocks + 4096).fill(0);
    const o = out.byteOffset;
    const insert = (): Uint8Array => Descriptor.difInsert({ src: data.byteOffset, dst: o, size: bs * blocks });
    const dix = (): Uint8Array => Descriptor.dixGenerate({ src: data.byteOffset, pi: o, size: bs * blocks });
    const cases: Array<[string, FaultRule, () => Uint8Array, number]> = [
      ['insert: its last tuples', { address: [o + bs * blocks, o + (bs + 8) * blocks], status: Status.HW_ERROR }, insert, Status.HW_ERROR],
      ['insert: past them', { address: [o + (bs + 8) * blocks, o + (bs + 8) * blocks + 64], status: Status.HW_ERROR }, insert, Status.SUCCESS],
      ['insert: a dst fault past size', { pageFault: { operand: 'dst', offset: bs * blocks + 10 } }, insert, Status.PAGE_FAULT | Status.WRITE_FAULT_BIT],
      ['DIX generate: past its tuples', { address: [o + 8 * blocks, o + 4096], status: Status.HW_ERROR }, dix, Status.SUCCESS],
      ['DIX generate: its tuples', { address: [o + 8 * blocks - 8, o + 8 * blocks], status: Status.HW_ERROR }, dix, Status.HW_ERROR],
      ['DIX generate: a dst fault past its tuples', { pageFault: { operand: 'dst', offset: 8 * blocks }, opcode: Opcode.DIX_GEN }, dix, Status.SUCCESS],
    ];
    for (const [what, rule, desc, want] of cases) {
      const r = dev.inject(rule);
      assert.is(await dev.submit(desc()), want, what);
      assert.is(r.fired, want === Status.SUCCESS ? 0 : 1, `${what}: fired`);
      r.remove();
    }
  } finally {
    await dev.close();
  }
});

test.run();
