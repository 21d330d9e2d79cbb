// Guarantees under hostile use: the ten defects an outside review reproduced (issue 11), each
// as it was reported, plus the lower-impact ones it also saw. Each of these failed before the
// fix (a hang shows up as the file's time limit, or as a bounded wait below that gives up).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32c as nodeCrc32c } from '@node-rs/crc32';
import { Ctx } from '../src/device/format.ts';
import { createCrc32cStream, Device, Descriptor, Flag, Opcode, readRecord, Status } from '../src/index.ts';

const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);
const tsWorker = (name: string, data: object): Worker =>
  new Worker(fixture('boot.cjs'), { workerData: { ...data, entry: fileURLToPath(fixture(name)) } });
const message = <T>(w: Worker): Promise<T> => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
/** p, or a rejection naming what did not finish within ms. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms); })]).finally(() => clearTimeout(timer));
}
const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error).name;
  }
};

// ---- 1. one bad argument jams the queue ----

test('1: enqueue/submit of a plain array, a short view, a lying subclass or a detached buffer throws before a slot is taken; the queue goes on', async () => {
  const dev = await Device.open({ engines: 1, wqSize: 8, arenaBytes: 1 << 20 });
  const bad: unknown[] = [
    Array.from({ length: 64 }, () => 0),
    { length: 64 },
    new Uint8Array(63),
    null,
    'x'.repeat(64),
    new Proxy(new Uint8Array(64), {}),
  ];
  class Lying extends Uint8Array {
    override get byteLength(): number {
      return 64;
    }
  }
  bad.push(new Lying(4096));
  const detached = new Uint8Array(new ArrayBuffer(64));
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  bad.push(detached);
  for (const d of bad) {
    assert.throws(() => dev.portal.enqueue(d as Uint8Array), TypeError);
    assert.is(await code(dev.submit(d as Uint8Array)), 'ERR_INVALID_ARG_TYPE'); // (a TypeError, coded)
  }
  // A 64-byte DataView is a descriptor too.
  const nop = Descriptor.noop({});
  assert.is(await dev.submit(new DataView(nop.buffer, nop.byteOffset, 64) as unknown as Uint8Array), Status.SUCCESS);
  const statuses = await within(Promise.all(Array.from({ length: 32 }, () => dev.submit(Descriptor.noop({})))), 5000, 'noops after bad input');
  assert.ok(statuses.every((s) => s === Status.SUCCESS));
  await within(dev.close(), 5000, 'close');
});

test('1: a thread stopped between reserving a slot and publishing it does not block later descriptors', async () => {
  const dev = await Device.open({ engines: 2, wqSize: 8, wqMode: 'shared', arenaBytes: 1 << 20 });
  const w = tsWorker('reserve_and_die.ts', { handle: dev.handle });
  const { pos } = await message<{ pos: number }>(w);
  assert.ok(pos >= 0, 'a slot reserved');
  await w.terminate();
  const statuses = await within(Promise.all(Array.from({ length: 40 }, () => dev.submit(Descriptor.noop({})))), 5000, 'descriptors behind a dead reservation');
  assert.ok(statuses.every((s) => s === Status.SUCCESS));
  await within(dev.close(), 5000, 'close');
});

// ---- 2. closing a shared device strands attached threads ----

test('2: close() with an attached thread waiting for room: every promise of that thread settles, it detaches and exits', async () => {
  const dev = await Device.open({ engines: 1, wqSize: 4, wqMode: 'shared', arenaBytes: 64 << 20 });
  const size = 16 << 20;
  const src = dev.alloc(size);
  const dst = dev.alloc(size);
  const w = tsWorker('close_waiter.ts', { handle: dev.handle, src, dst, size, count: 64 });
  const exited = new Promise<number>((r) => w.once('exit', r));
  await message(w);
  const settled = message<{ outcome: Record<string, number> }>(w);
  await within(dev.close(), 15000, 'close');
  const { outcome } = await within(settled, 5000, "the attached thread's promises");
  const total = Object.values(outcome).reduce((a, b) => a + b, 0);
  assert.is(total, 64);
  assert.ok(Object.keys(outcome).every((k) => k === `status ${Status.SUCCESS}` || k === 'DEVICE_CLOSED'), JSON.stringify(outcome));
  assert.ok((outcome.DEVICE_CLOSED ?? 0) > 0, `some were refused: ${JSON.stringify(outcome)}`);
  assert.is(await within(exited, 5000, 'the worker exiting on its own'), 0);
});

test('2: a descriptor published after the engines stopped is aborted (0xff in its record), never left pending', async () => {
  const dev = await Device.open({ engines: 1, wqSize: 8, arenaBytes: 1 << 20 });
  const rec = dev.alloc(32, 32);
  const closing = dev.close();
  // The owner's own submit after close() began is refused at once.
  assert.is(await code(dev.submit(Descriptor.noop({ completion: rec }))), 'DEVICE_CLOSED');
  await closing;
  // A raw enqueue through the portal once closed: refused too.
  assert.throws(() => dev.portal.enqueue(Descriptor.noop({})), /closed/);
});

// ---- 3. terminated workers never give their vector back ----

test('3: 80 workers that attach, reap and are terminated give their vectors back; attach and allocInterrupt still work', async () => {
  const dev = await Device.open({ engines: 1, wqSize: 16, wqMode: 'shared', arenaBytes: 1 << 20 });
  const cell = dev.alloc(8, 8);
  const BATCH = 8;
  for (let round = 0; round < 10; round++) {
    const workers = Array.from({ length: BATCH }, () => tsWorker('attach_once.ts', { handle: dev.handle, cell }));
    const got = await Promise.all(workers.map((w) => message<{ ok?: boolean; error?: string }>(w)));
    for (const g of got) assert.equal(g.error, undefined, `round ${round}: ${g.error}`);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const h = dev.allocInterrupt(() => {});
  assert.ok(h.handle > 0);
  h.close();
  const w = tsWorker('attach_once.ts', { handle: dev.handle, cell });
  const last = await message<{ ok?: boolean; error?: string }>(w);
  assert.is(last.ok, true);
  await w.terminate();
  await dev.close();
});

// ---- 4. RCI interrupts lost when an engine dies ----

for (const when of ['before', 'after'] as const) {
  test(`4: an engine dying ${when} running an RCI descriptor: the interrupt handle is still raised`, async () => {
    const dev = await Device.open({ engines: 1, wqSize: 8, arenaBytes: 1 << 20 });
    let fired = 0;
    const h = dev.allocInterrupt(() => fired++); // not ref'd: no safety timer, only the signal can call back
    const rec = dev.alloc(32, 32);
    dev.inject({ engineDeath: { when }, times: 1 });
    const status = await dev.submit(Descriptor.noop({ completion: rec, flags: Flag.RCI, intHandle: h.handle }));
    assert.is(status, Status.HW_ERROR);
    const t0 = Date.now();
    while (fired === 0 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 5));
    assert.ok(fired >= 1, 'the handle was raised');
    h.close();
    await dev.close();
  });
}

// ---- 5. interrupt callbacks fire when nothing was signalled ----

for (const completion of ['eventfd', 'atomics'] as const) {
  test(`5: a ref'd interrupt handle calls back only when signalled (${completion})`, async () => {
    const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20, completion });
    let fired = 0;
    const h = dev.allocInterrupt(() => fired++);
    h.ref();
    await new Promise((r) => setTimeout(r, 1300)); // the 50 ms safety net and the 1 s Atomics timeout both ran
    assert.is(fired, 0, 'no callback without a signal');
    await dev.submit(Descriptor.noop({ flags: Flag.RCI, intHandle: h.handle }));
    const t0 = Date.now();
    while (fired === 0 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 5));
    assert.is(fired, 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.is(fired, 1, 'once per signal');
    h.close();
    await dev.close();
  });
}

// ---- 6. one device writes another device's control region ----

test("6: another device's memory is reachable only in its arena: its control region faults, its context is unchanged", async () => {
  const a = await Device.open({ engines: 1, arenaBytes: 1 << 20, inlineThreshold: 0 });
  const b = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  try {
    const bMem = b.memory.buffer as unknown as SharedArrayBuffer;
    const targets = [b.layout.ctx, b.layout.wqHeader, b.layout.vectors, 0, b.layout.arenaBase - 64];
    const snap = (): Uint8Array[] => targets.map((t) => new Uint8Array(bMem, t, 64).slice());
    const before = snap();
    // Through the API: a Buffer of B's arena goes to A's engines (a foreign space) and works.
    const bBuf = b.buffer(4096);
    bBuf.fill(3);
    assert.is(await a.crc32c(bBuf), nodeCrc32c(Buffer.alloc(4096, 3)) >>> 0);
    // A raw descriptor on A naming B's memory and B's context: a page fault, nothing written.
    const pasid = a.addressSpace(bMem);
    const src = a.alloc(64);
    const rec = a.alloc(32, 32);
    a.view(src, 64).fill(0xee);
    for (const dst of targets) {
      const d = Descriptor.memmove({ src: 0, dst, size: 64, completion: rec });
      new DataView(d.buffer, d.byteOffset).setUint32(0, pasid, true);
      // src in B's arena (readable), dst in B's control region (must fault)
      new DataView(d.buffer, d.byteOffset).setBigUint64(16, BigInt(bBuf.byteOffset), true);
      const status = await a.submit(d);
      assert.is(status & Status.CODE_MASK, Status.PAGE_FAULT, `dst ${dst}`);
      assert.is(readRecord(a.view(rec, 32), 0).bytesCompleted, 0);
    }
    const after = snap();
    for (let i = 0; i < targets.length; i++) assert.ok(!after[i].every((v) => v === 3), `nothing copied to B's byte ${targets[i]}`);
    assert.equal(after[0], before[0], "B's device context is unchanged");
    assert.is(await b.submit(Descriptor.noop({})), Status.SUCCESS, 'B still works');
    assert.is(new DataView(bMem).getUint32(b.layout.ctx + Ctx.ARENA_BASE, true), b.layout.arenaBase);
  } finally {
    await a.close();
    await b.close();
  }
});

test("6: a drop-in call given a view of another device's control region rejects, reading and writing nothing (it ran inline and broke that device)", async () => {
  const a = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  const b = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  try {
    const bMem = b.memory.buffer as unknown as SharedArrayBuffer;
    const ctx = new Uint8Array(bMem, b.layout.ctx, 64);
    const before = ctx.slice();
    const small = new Uint8Array(bMem, 4096, 256); // small: inline on a, where no descriptor checks it
    const mine = a.buffer(256).fill(0xa5);
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['fill', () => a.fill(small, 0x5a)],
      ['memcpy dst', () => a.memcpy(small, mine)],
      ['memcpy src', () => a.memcpy(mine, small)],
      ['crc32c', () => a.crc32c(small)],
      ['compare', () => a.compare(small, mine)],
      ['a view from 0 reaching into the arena', () => a.fill(new Uint8Array(bMem, 0, b.layout.arenaBase + 64), 1)],
    ];
    for (const [what, call] of calls) {
      try {
        await call();
        assert.unreachable(`${what}: resolved`);
      } catch (e) {
        assert.instance(e, RangeError, what);
        assert.match((e as Error).message, /another softdsa device's control region/, what);
      }
    }
    assert.equal(ctx, before, "B's context is unchanged");
    assert.ok(!small.every((v) => v === 0x5a) && !small.every((v) => v === 0xa5), 'nothing written there');
    const buf = b.buffer(4096).fill(7);
    assert.is(await b.crc32c(buf), nodeCrc32c(Buffer.alloc(4096, 7)) >>> 0, 'B still works');
    assert.is(await a.crc32c(buf), nodeCrc32c(Buffer.alloc(4096, 7)) >>> 0, "B's arena is still A's to reach");
  } finally {
    await a.close();
    await b.close();
  }
});

test("6: a view made by hand over the arena bytes the device keeps for its calls' descriptors is refused, through the promise; the calls around it are unharmed", async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  try {
    const a = dev.buffer(64 << 10).fill(1);
    const mem = a.buffer as SharedArrayBuffer;
    const arenaEnd = dev.layout.arenaEnd;
    // The calls' block and the here area are taken from the top of the arena at open.
    const tail = new Uint8Array(mem, arenaEnd - (256 << 10), 256 << 10);
    const calls = Array.from({ length: 20 }, (_, i) => dev.crc32c(a.subarray(0, 10000 + i)));
    const bad: Array<[string, Promise<unknown>]> = [
      ['fill', dev.fill(tail, 0xff)],
      ['memcpy dst', dev.memcpy(tail, a)],
      ['crc32c', dev.crc32c(tail)],
      ['compare', dev.compare(a, tail.subarray(tail.length - (64 << 10)))],
    ];
    for (const [what, p] of bad) {
      try {
        await p;
        assert.unreachable(`${what}: accepted`);
      } catch (e) {
        assert.instance(e, RangeError, what);
        assert.match((e as Error).message, /reaches into arena bytes the device keeps for its own descriptors/, what);
      }
    }
    const want = Array.from({ length: 20 }, (_, i) => nodeCrc32c(a.subarray(0, 10000 + i)) >>> 0);
    assert.equal(await Promise.all(calls), want);
    // the rest of the arena, below what the device keeps, is the caller's to name
    const low = new Uint8Array(mem, dev.layout.arenaBase, 4096);
    assert.is(await dev.crc32c(low), nodeCrc32c(Buffer.from(low)) >>> 0);
  } finally {
    await dev.close();
  }
});

// ---- 7. maxTransfer breaks the drop-in API ----

test('7: with maxTransfer 65536 the drop-in calls cut 1 MiB arena operations into pieces (split too)', async () => {
  for (const engines of [1, 2]) {
    const dev = await Device.open({ engines, arenaBytes: 16 << 20, maxTransfer: 65536, inlineThreshold: 0, splitThreshold: 512 << 10 });
    try {
      const n = (1 << 20) + 13;
      const a = dev.buffer(n);
      const b = dev.buffer(n);
      for (let i = 0; i < n; i++) a[i] = (i * 7) & 0xff;
      await dev.memcpy(b, a);
      assert.ok(Buffer.compare(a, b) === 0);
      assert.is(await dev.crc32c(a, 5), nodeCrc32c(a, 5) >>> 0);
      assert.is(await dev.compare(a, b), 0);
      b[n - 3] ^= 1;
      assert.is(await dev.firstDifference(a, b), n - 3);
      await dev.fill(b, 0x0102030405060708n, 3);
      const want = Buffer.alloc(n - 3);
      for (let i = 0; i < want.length; i++) want[i] = 8 - (i % 8);
      assert.ok(b.subarray(3).equals(want), 'pattern fill keeps its phase across pieces');
      const c = dev.buffer(n);
      assert.is(await dev.copyCrc32c(c, a), nodeCrc32c(a) >>> 0);
      // an overlapping move longer than maxTransfer: memmove semantics
      const ref = Buffer.from(a);
      ref.copy(ref, 1000, 0, n - 1000);
      await dev.memmove(a.subarray(1000), a.subarray(0, n - 1000));
      assert.ok(a.equals(ref), 'overlapping memmove in pieces');
    } finally {
      await dev.close();
    }
  }
});

// ---- 8. promise-returning methods throw synchronously ----

test('7: a call that maxTransfer would cut into more than 65536 descriptors rejects, saying so (with maxTransfer 1, an 8 MiB copy ran the process out of heap)', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 4 << 20, maxTransfer: 1, inlineThreshold: 0 });
  try {
    const a = dev.buffer(1 << 20).fill(5);
    const b = dev.buffer(1 << 20);
    for (const call of [() => dev.memcpy(b, a), () => dev.crc32c(a), () => dev.fill(b, 7)]) {
      try {
        await call();
        assert.unreachable('resolved');
      } catch (e) {
        assert.instance(e, RangeError);
        assert.match((e as Error).message, /would take 1048576 descriptors at this device's maxTransfer of 1 bytes \(at most 65536 a call\)/);
      }
    }
    assert.ok(b.every((x) => x === 0), 'nothing written');
    // within the limit, it runs
    await dev.memcpy(b.subarray(0, 4096), a.subarray(0, 4096));
    assert.ok(b.subarray(0, 4096).every((x) => x === 5));
  } finally {
    await dev.close();
  }
});

test('8: every promise-returning method rejects (never throws) after close, and a 64 KiB arena works', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 65536 });
  const a = dev.buffer(1000);
  const b = dev.buffer(1000);
  a.fill(9);
  await dev.memcpy(b, a);
  assert.is(b[999], 9);
  assert.is(await dev.crc32c(a), nodeCrc32c(a) >>> 0);
  assert.is(await dev.compare(a, b), 0);
  await dev.close();
  const calls: Array<() => Promise<unknown>> = [
    () => dev.memcpy(b, a), () => dev.memmove(b, a), () => dev.fill(a, 1), () => dev.compare(a, b), () => dev.firstDifference(a, b),
    () => dev.crc32c(a), () => dev.copyCrc32c(b, a), () => dev.dualcast(a, b, a), () => dev.createDelta(a, b), () => dev.applyDelta(a, new Uint8Array(0)),
    () => dev.submit(Descriptor.noop({})),
  ];
  for (const call of calls) {
    let p: Promise<unknown> | undefined;
    assert.not.throws(() => { p = call(); });
    assert.is(await code(p!), 'DEVICE_CLOSED');
  }
});

test('8: a promise-returning method taken off its device (passed as a callback, or called on another object) rejects saying so (ERR_INVALID_THIS), never throws; bound, it runs', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  try {
    const names = ['memcpy', 'memmove', 'fill', 'compare', 'firstDifference', 'crc32c', 'copyCrc32c', 'dualcast', 'createDelta', 'applyDelta',
      'difInsert', 'difCheck', 'difStrip', 'difUpdate', 'dixGenerate', 'crc16t10dif', 'submit', 'ready', 'close', 'reclaim'] as const;
    for (const name of names) {
      const method = dev[name] as (...args: unknown[]) => Promise<unknown>;
      assert.is(method.length, (Device.prototype as unknown as Record<string, (...a: unknown[]) => unknown>)[name].length, `${name}.length`);
      for (const self of [undefined, {}, dev.portal, Object.create(dev), Device.prototype]) {
        let p: Promise<unknown> | undefined;
        assert.not.throws(() => { p = method.call(self, Buffer.alloc(64), Buffer.alloc(64)); }, `${name} on ${String(self)}`);
        const e = await p!.then(() => null, (err: unknown) => err as Error & { code?: string });
        assert.ok(e instanceof TypeError && e.code === 'ERR_INVALID_THIS', `${name}: ${String(e)}`);
        assert.match(e.message, new RegExp(`^${name}\\(\\) was called on (undefined|Object|Portal|Device), not on a device: .*dev\\.${name}\\.bind\\(dev\\)`));
      }
    }
    // a device of another copy of softdsa (the ESM and CommonJS builds each have their own classes), by its shape
    const other = { memory: dev.memory, crc32c: (): Promise<number> => Promise.resolve(0) };
    const copyError = await dev.crc32c.call(other as never, Buffer.alloc(8)).then(() => null, (err: Error & { code?: string }) => err);
    assert.ok(copyError?.code === 'ERR_INVALID_THIS' && /^crc32c\(\) was called on a device of another copy of softdsa .*: call that device's own crc32c\(\)$/.test(copyError.message), String(copyError));
    // a batch: batch() itself (a sync method: it throws), and its submit()
    assert.throws(() => dev.batch.call(undefined as never), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_THIS' && /^batch\(\) was called on undefined, not on a device/.test(e.message));
    // the methods that return no promise throw so too (they said "Cannot read properties of undefined")
    for (const name of ['alloc', 'free', 'buffer', 'view', 'wq', 'allocInterrupt', 'stats', 'config', 'lend', 'addressSpace', 'mapFile', 'inject'] as const) {
      const method = dev[name] as (...args: unknown[]) => unknown;
      assert.throws(() => method.call(undefined, 16), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_THIS' && new RegExp(`^${name}\\(\\) was called on undefined, not on a device`).test(e.message), name);
    }
    assert.is(dev.buffer.bind(dev)(16).length, 16);
    assert.ok(dev.stats.call(dev).ops !== undefined);
    const submit = dev.batch().crc32c(Buffer.alloc(8)).submit;
    const refused = await submit().then(() => null, (err: Error & { code?: string }) => err);
    assert.ok(refused?.code === 'ERR_INVALID_THIS' && /^submit\(\) was called on undefined, not on a batch: .*b\.submit\.bind\(b\)/.test(refused.message), String(refused));
    const a = Buffer.from('123456789');
    assert.equal(await Promise.all([a, a].map((b) => dev.crc32c(b))), [0xe3069283, 0xe3069283]);
    assert.is(await dev.crc32c.bind(dev)(a), 0xe3069283);
    assert.is(await dev.submit.bind(dev)(Descriptor.noop({})), Status.SUCCESS);
  } finally {
    await dev.close();
  }
});

test('8: errors name what was wrong, and the call: a copy\'s length as the length (it said "src length", naming no call), a Proxy of a descriptor as one posing (it said "got Uint8Array"); Node\'s codes', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  try {
    // (named as the call's, and coded as Node codes an argument's error)
    const why = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
    assert.is(await why(dev.memcpy(Buffer.alloc(8), Buffer.alloc(8), -1)), 'ERR_INVALID_ARG_VALUE: memcpy: length (of src) must be a non-negative integer; got -1');
    assert.is(await why(dev.fill(Buffer.alloc(8), 0, 9)), 'ERR_INVALID_ARG_VALUE: fill: offset 9 is past the end of dst (8 bytes)');
    assert.is(await why(dev.fill(Buffer.alloc(8), 0, 4, 5)), 'ERR_INVALID_ARG_VALUE: fill: offset 4 + length 5 is past the end of dst (8 bytes)');
    assert.is(await why(dev.crc32c('text' as never)), 'ERR_INVALID_ARG_TYPE: crc32c: data must be a Buffer, TypedArray, DataView or ArrayBuffer; got string');
    assert.is(await why(dev.createDelta(Buffer.alloc(8), Buffer.alloc(16))), 'ERR_INVALID_ARG_VALUE: createDelta: a and b must be of equal sizes; got 8 and 16 bytes');
    assert.is(await why(dev.applyDelta(5 as never, Buffer.alloc(0))), 'ERR_INVALID_ARG_TYPE: applyDelta: dst must be a Buffer, TypedArray, DataView or ArrayBuffer; got number');
    assert.is(await why(dev.crc16t10dif(Buffer.alloc(8), -1)), 'ERR_INVALID_ARG_VALUE: crc16t10dif: seed must be an integer from 0 to 0xffff; got -1');
    assert.match(await why(dev.submit(new Proxy(new Uint8Array(64), {}))), /got an object posing as a Uint8Array \(a Proxy\?\)/);
  } finally {
    await dev.close();
  }
});

// ---- 9. an option given as undefined ----

test('9: every option given as undefined takes its default', async () => {
  const dev = await Device.open({
    engines: undefined, wqSize: undefined, wqMode: undefined, arenaBytes: undefined, maxBatch: undefined, maxTransfer: undefined,
    completion: undefined, inlineThreshold: undefined, splitThreshold: undefined, engineSpinMicros: undefined, pollSpinMicros: undefined, engineNice: undefined,
    engineSliceMicros: undefined,
  });
  assert.is(dev.options.wqSize, 128);
  assert.is(await dev.submit(Descriptor.noop({})), Status.SUCCESS);
  await dev.close();
  // a name it does not take is a typo to say, not an option left at its default
  assert.throws(() => Device.openSync({ engnes: 2 } as never), (e: Error) => e instanceof TypeError && /unknown device option engnes/.test(e.message));
  const { configure } = await import('../src/index.ts');
  assert.throws(() => configure({ arenaByte: 1 } as never), /unknown device option arenaByte/);
  assert.throws(() => configure(null as never), TypeError);
});

test('9: the calls that take options refuse a name they do not take (a typo left the option at its default), through the promise', async () => {
  const { crc32cFile, copyFileCrc32c, createCrc32cStream, crc32cTransformStream, difInsert, difCheck, difUpdate, dixGenerate } = await import('../src/index.ts');
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  try {
    const data = Buffer.alloc(512, 7);
    const prot = await dev.difInsert(data);
    const path = fileURLToPath(new URL('../package.json', import.meta.url));
    const refused: Array<[string, () => Promise<unknown>, RegExp]> = [
      ['crc32cFile', () => crc32cFile(path, { signl: new AbortController().signal } as never), /crc32cFile: unknown option signl \(the options: chunkSize/],
      ['crc32cFile via', () => crc32cFile(path, { via: 'copyCrc32c' } as never), /crc32cFile: unknown option via/],
      ['copyFileCrc32c', () => copyFileCrc32c(path, '/nonexistent/x', { sead: 1 } as never), /copyFileCrc32c: unknown option sead/],
      ['createCrc32cStream', async () => createCrc32cStream({ seeed: 1 } as never), /createCrc32cStream: unknown option seeed/],
      ['crc32cTransformStream', async () => crc32cTransformStream({ passThrough: false } as never), /crc32cTransformStream: unknown option passThrough/],
      ['difInsert', () => difInsert(data, { blcokSize: 4096 } as never), /difInsert: unknown option blcokSize/],
      ['difCheck', () => dev.difCheck(prot, { checkGaurd: false } as never), /difCheck: unknown option checkGaurd/],
      ['difUpdate to', () => difUpdate(prot, { to: { reftag: 9 } } as never), /difUpdate: to: unknown option reftag/],
      ['dixGenerate', () => dixGenerate(data, { to: {} } as never), /dixGenerate: unknown option to/],
      ['submit', () => dev.submit(Descriptor.noop(), { retyr: false } as never), /submit: unknown option retyr \(the options: retry\)/],
    ];
    for (const [what, call, re] of refused) {
      try {
        await call();
        assert.unreachable(`${what}: accepted`);
      } catch (e) {
        assert.instance(e, TypeError, what);
        assert.match((e as Error).message, re, what);
      }
    }
    // the options they do take are still taken
    await difCheck(prot, { checkGuard: true, refTag: 0 });
    assert.ok(createCrc32cStream({ passThrough: true, seed: 1, device: dev }));
  } finally {
    await dev.close();
    const { shutdown } = await import('../src/index.ts');
    await shutdown();
  }
});

// ---- 10. every SharedArrayBuffer registered forever ----

test('10: SharedArrayBuffers of inline calls are never registered; those sent to the engines end when collected', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20, inlineThreshold: 4096 });
  for (let i = 0; i < 500; i++) {
    const sab = new SharedArrayBuffer(1 << 20);
    await dev.crc32c(new Uint8Array(sab, 0, 16));
  }
  assert.is(dev.stats().resources.addressSpaces, 0, 'inline calls register nothing');
  // (in a function of its own, so that no frame of this test keeps the last buffer)
  await (async (): Promise<void> => {
    for (let i = 0; i < 50; i++) await dev.crc32c(new Uint8Array(new SharedArrayBuffer(1 << 16))); // 64 KiB: on the engines
  })();
  assert.ok(dev.stats().resources.addressSpaces > 0);
  // Collected once nothing refers to them (a full collection, as the engines do after letting go).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  setFlagsFromString('--no-expose-gc');
  const t0 = Date.now();
  while (dev.stats().resources.addressSpaces > 0 && Date.now() - t0 < 10000) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.is(dev.stats().resources.addressSpaces, 0, 'every space ended after collection');
  await dev.close();
});

test('a call holds the SharedArrayBuffer it works on until it settles: one the program kept no reference to, collected while its descriptors waited for room in the queue, faulted them (PAGE_FAULT)', async () => {
  const dev = await Device.open({ engines: 1, inlineThreshold: 0, wqSize: 4 });
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  setFlagsFromString('--no-expose-gc');
  // (made in a function of its own, so that no frame of this test keeps a buffer)
  const start = (i: number): { call: Promise<number>; want: number } => {
    const v = new Uint8Array(new SharedArrayBuffer(65536)).fill(i & 255);
    return { call: dev.crc32c(v), want: nodeCrc32c(Buffer.from(v)) };
  };
  const calls = Array.from({ length: 200 }, (_, i) => start(i));
  let settled = 0;
  for (const c of calls) void c.call.finally(() => settled++).catch(() => {});
  for (let i = 0; i < 40 && settled < calls.length; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 1));
  }
  const got = await Promise.all(calls.map((c) => c.call.then((crc) => crc === c.want || `wrong CRC`, (e: Error) => e.message)));
  const bad = got.filter((x) => x !== true);
  assert.is(bad.length, 0, `${bad.length} of 200 calls: ${String(bad[0])}`);
  await dev.close();
});

// ---- also seen ----

test('also: detach() and allocInterrupt().close() give their handles back (descriptors naming them get 0x19)', async () => {
  const dev = await Device.open({ engines: 1, wqMode: 'shared', arenaBytes: 1 << 20 });
  const h = dev.allocInterrupt(() => {});
  const handle = h.handle;
  assert.is(await dev.submit(Descriptor.noop({ flags: Flag.RCI, intHandle: handle })), Status.SUCCESS);
  h.close();
  assert.is(await dev.submit(Descriptor.noop({ flags: Flag.RCI, intHandle: handle })), Status.INT_HANDLE);
  const cell = dev.alloc(8, 8);
  const w = tsWorker('attach_once.ts', { handle: dev.handle, cell });
  const { vector } = await message<{ vector: number }>(w);
  await w.terminate();
  // Its thread is gone: the next claim takes its vector back, and with it the handle bit. (A
  // thread is known gone once /proc no longer lists it, which can come a moment after terminate()
  // resolves: claimed again until the claim finds it gone, up to 10 s.)
  let again = dev.allocInterrupt(() => {});
  for (const until = Date.now() + 10_000; dev.stats().resources.vectors > 2 && Date.now() < until; ) {
    again.close();
    await new Promise((r) => setTimeout(r, 20));
    again = dev.allocInterrupt(() => {});
  }
  assert.is(await dev.submit(Descriptor.noop({ flags: Flag.RCI, intHandle: vector === again.handle ? 63 : vector })), Status.INT_HANDLE);
  again.close();
  assert.is(dev.stats().resources.vectors, 1, 'only the device\'s own vector is left');
  await dev.close();
});

test('also: drop-in calls take the bytes a view really covers, whatever its class says (a lying byteLength or byteOffset)', async () => {
  const dev = await Device.open({ engines: 1, inlineThreshold: 0 });
  try {
    class Liar extends Uint8Array {
      override get byteLength(): number {
        return 8192;
      }
      override get length(): number {
        return 8192;
      }
    }
    class Shifter extends Uint8Array {
      override get byteOffset(): number {
        return super.byteOffset + 64;
      }
    }
    const small = dev.buffer(64);
    const neighbor = dev.buffer(8192).fill(0xaa);
    const src = dev.buffer(8192).fill(0x11);
    try {
      await dev.memcpy(new Liar(small.buffer, small.byteOffset, 64), src);
      assert.unreachable('8192 bytes into a 64-byte view');
    } catch (e) {
      assert.match((e as Error).message, /dst \(64 bytes\) is smaller than the 8192 bytes/);
    }
    await dev.fill(new Liar(small.buffer, small.byteOffset, 64), 0x22);
    await dev.memcpy(new Shifter(small.buffer, small.byteOffset, 64), src.subarray(0, 64));
    assert.ok(neighbor.every((x) => x === 0xaa), 'the next block is untouched');
    assert.ok(small.every((x) => x === 0x11), 'the 64 bytes themselves were written');
    for (const b of [small, neighbor, src]) dev.free(b.byteOffset);
  } finally {
    await dev.close();
  }
});

test('also: a view with a buffer, byteOffset or length of its own (defined on it) is taken for the bytes it covers; a Proxy of a buffer is refused, not read as empty', async () => {
  const dev = await Device.open({ engines: 1, inlineThreshold: 0 });
  try {
    const victim = dev.buffer(4096).fill(0xcc);
    // plain memory whose `buffer` says the arena, at the victim's offset: a copy was aimed at the victim
    const liar = new Uint8Array(new ArrayBuffer(victim.byteOffset + 64), victim.byteOffset, 64);
    Object.defineProperty(liar, 'buffer', { value: victim.buffer });
    const src = dev.buffer(64).fill(2);
    await dev.memcpy(liar, src);
    assert.ok(victim.every((x) => x === 0xcc), 'the other arena block is untouched');
    assert.ok(liar.every((x) => x === 2), 'the view itself was written');
    assert.is(await dev.crc32c(liar), await dev.crc32c(Buffer.alloc(64, 2)), 'and read');
    // a getter that says plain memory the first time it is read, the arena after (found by the second regression pass)
    let reads = 0;
    const flipper = new Uint8Array(4096);
    Object.defineProperty(flipper, 'buffer', { get: () => (reads++ > 0 ? victim.buffer : new ArrayBuffer(0)) });
    Object.defineProperty(flipper, 'byteOffset', { value: victim.byteOffset });
    await dev.fill(flipper, 0x77);
    assert.ok(victim.every((x) => x === 0xcc), 'a getter that changes its answer aims nothing at the arena');
    assert.ok(new Uint8Array(flipper).every((x) => x === 0x77), 'its own bytes were filled');
    // the same lie naming another SharedArrayBuffer (the engines would write there, as a foreign space)
    const other = new Uint8Array(new SharedArrayBuffer(1 << 20)).fill(0xcc);
    const liar2 = new Uint8Array(new ArrayBuffer(1 << 20), 4096, 1 << 16);
    Object.defineProperty(liar2, 'buffer', { value: other.buffer });
    await dev.memcpy(liar2, dev.buffer(1 << 16).fill(3));
    assert.ok(other.every((x) => x === 0xcc), 'the SharedArrayBuffer it named is untouched');
    assert.ok(liar2.every((x) => x === 3), 'the view itself was written');
    const shifted = dev.buffer(64).fill(5);
    const at = shifted.byteOffset;
    Object.defineProperty(shifted, 'byteOffset', { get: () => victim.byteOffset });
    Object.defineProperty(shifted, 'length', { value: 4096 });
    await dev.fill(shifted, 7);
    assert.ok(victim.every((x) => x === 0xcc), 'a byteOffset of its own did not aim the fill');
    assert.ok(new Uint8Array(victim.buffer, at, 64).every((x) => x === 7), 'its own 64 bytes were filled');
    // Proxies: of an ArrayBuffer (instanceof says yes; it has no bytes to reach), of a Buffer
    const ab = new ArrayBuffer(8);
    new Uint8Array(ab).fill(1);
    for (const p of [new Proxy(ab, {}), new Proxy(Buffer.alloc(8), {})]) {
      const e = await dev.crc32c(p as never).then(() => null, (x: unknown) => x);
      assert.instance(e, TypeError);
      assert.match((e as Error).message, /data must be a Buffer, TypedArray, DataView or ArrayBuffer; got an object posing as an? (ArrayBuffer|Buffer) \(a Proxy\?\)/);
    }
    // buffers of another realm (vm, an iframe) are buffers: instanceof said no ("got ArrayBuffer"; found by an outside pass)
    const foreign = runInNewContext('const a = new ArrayBuffer(9); new Uint8Array(a).set([49,50,51,52,53,54,55,56,57]); [a, new SharedArrayBuffer(9)]') as [ArrayBuffer, SharedArrayBuffer];
    new Uint8Array(foreign[1]).set(Buffer.from('123456789'));
    for (const b of foreign) {
      assert.is(await dev.crc32c(b), 0xe3069283, `a ${b.constructor.name} of another realm`);
      const s = createCrc32cStream({ device: dev, passThrough: false });
      s.end(b);
      assert.is(await s.crc, 0xe3069283, 'as a stream chunk');
    }
    // ...and so are its DataViews (the typed arrays' getters were used on them: "incompatible receiver")
    const [fdv, fdst] = runInNewContext('const a = new ArrayBuffer(9); new Uint8Array(a).set([49,50,51,52,53,54,55,56,57]); [new DataView(a), new DataView(new ArrayBuffer(9))]') as [DataView, DataView];
    assert.is(await dev.crc32c(fdv), 0xe3069283, 'a DataView of another realm');
    await dev.memcpy(fdst, fdv);
    assert.is(Buffer.from(fdst.buffer).toString(), '123456789', 'copied into one');
    const sp = createCrc32cStream({ device: dev, passThrough: false });
    const spe = new Promise<Error>((r) => sp.on('error', r));
    sp.write(new Proxy(ab, {}));
    assert.match((await spe).message, /chunks must be .*; got an object posing as an ArrayBuffer \(a Proxy\?\)/, 'a stream\'s Proxy chunk is named as one');
    // fill patterns of bytes: 1, 2, 4 or 8 (repeated to the device's 8)
    const f = Buffer.alloc(16);
    await dev.fill(f, Buffer.from([7]));
    assert.ok(f.every((x) => x === 7));
    await dev.fill(f, Buffer.from([1, 2]));
    assert.equal([...f.subarray(0, 4)], [1, 2, 1, 2]);
    const e3 = await dev.fill(f, Buffer.from([1, 2, 3])).then(() => null, (x: unknown) => x);
    assert.match((e3 as Error).message, /a fill pattern of bytes is 1, 2, 4 or 8 bytes long \(the device repeats 8\); got 3 bytes/);
  } finally {
    await dev.close();
  }
});

test('also: attach and detach without a submit gives the vector back (100 times; 20 attached at once, no listener warning)', async () => {
  const dev = await Device.open({ engines: 1, wqMode: 'shared' });
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  try {
    for (let i = 0; i < 100; i++) await Device.attach(dev.handle).detach();
    assert.is(dev.stats().resources.vectors, 1);
    const live = Array.from({ length: 20 }, () => Device.attach(dev.handle));
    await Promise.all(live.map((a) => a.detach()));
    assert.is(dev.stats().resources.vectors, 1);
    await new Promise((r) => setImmediate(r));
    assert.equal(warnings.map((w) => w.name), []);
  } finally {
    process.off('warning', onWarning);
    await dev.close();
  }
});

test('also: a call made while another call makes its promise (an async hook\'s init) settles both, each with its own result', async () => {
  const { createHook } = await import('node:async_hooks');
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20, inlineThreshold: 0 });
  const a = dev.buffer(4096).fill(1);
  const b = dev.buffer(64).fill(2);
  await dev.crc32c(a); // (the first call's promises are others: the hook's would come before this call's own)
  let fire = false;
  let inner: Promise<number> | null = null;
  const hook = createHook({
    init(_id, type) {
      if (fire && type === 'PROMISE') {
        fire = false;
        inner = dev.crc32c(b);
      }
    },
  }).enable();
  try {
    fire = true;
    const outer = dev.crc32c(a);
    fire = false;
    assert.is(await outer, nodeCrc32c(a) >>> 0);
    assert.ok(inner !== null, 'the hook made its call');
    assert.is(await inner!, nodeCrc32c(b) >>> 0);
  } finally {
    hook.disable();
    await dev.close();
  }
});

test('also: dev.buffer(-1) throws before allocating anything', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 65536 });
  for (const bad of [-1, 1.5, NaN]) assert.throws(() => dev.buffer(bad), RangeError);
  // a wrong kind of value is a TypeError, as the drop-in alloc() says it
  for (const [what, call] of [
    ['buffer', () => dev.buffer('8' as never)],
    ['alloc', () => dev.alloc('64' as never)],
    ['lend', () => dev.lend('1000000' as never)],
    ['open', () => Device.openSync({ wqSize: '8' as never })],
  ] as const) assert.throws(call, (e: Error) => e instanceof TypeError && /string|a number/.test(e.message), what);
  // the whole arena but the guard at 0 is still free (what the calls set aside at open is on top of arenaBytes)
  const all = dev.alloc(65536 - 64);
  dev.free(all);
  await dev.close();
});

test('also: a lent part cannot be freed by its address (the next buffer took it while a thread used it, and reclaim freed it again)', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 4 << 20, wqMode: 'shared' });
  try {
    const h = dev.lend(1 << 20);
    assert.throws(() => dev.free(h.arena!.base), (e: Error) => e instanceof RangeError && /lent to another thread/.test(e.message));
    const b = dev.buffer(1 << 20);
    assert.ok(b.byteOffset + b.length <= h.arena!.base || b.byteOffset >= h.arena!.end, 'a buffer outside the lent part');
    const reclaiming = dev.reclaim(h);
    // while reclaim() drains, the part is still lent: it was freed, taken again, and freed twice
    assert.throws(() => dev.free(h.arena!.base), /lent to another thread/, 'while reclaim() drains');
    await dev.reclaim(h).then(() => assert.unreachable('reclaimed twice'), (e: Error) => assert.instance(e, RangeError));
    await reclaiming;
    dev.free(b);
    // a Buffer's block freed by its address: the Buffer no longer frees it (by then another's block)
    const x = dev.buffer(4096);
    dev.free(x.byteOffset);
    const y = dev.buffer(4096);
    assert.is(y.byteOffset, x.byteOffset, 'the block is taken again');
    assert.throws(() => dev.free(x), /not freed already/);
    // another device's Buffer: said so (it was told it was a view, or freed already)
    const other = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
    try {
      const theirs = other.buffer(64);
      assert.throws(() => dev.free(theirs), (e: Error) => e instanceof RangeError && /not from this device's buffer\(\) or alloc\(\) \(another device's, or memory of its own\)/.test(e.message));
      other.free(theirs);
    } finally {
      await other.close();
    }
    y.fill(1);
    const z = dev.buffer(4096);
    assert.ok(z.byteOffset !== y.byteOffset, 'y is still allocated');
    dev.free(y);
    dev.free(z);
  } finally {
    await dev.close();
  }
});

test('a program that polluted Object.prototype and Array.prototype: options, descriptor fields, fault rules and split calls read only what they were given (an inherited completion had the device write a record into the program\'s memory; Array.prototype[0] had a split CRC and copy give wrong results)', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(fixture('polluted.ts'))], { encoding: 'utf8', timeout: 60000 });
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  assert.equal(out, { refTag: 0, difDst: true, fileCrc: true, streamCrc: true, passed: 1000, submit: Status.SUCCESS, victim: true, submitOptions: Status.SUCCESS, rule: 'fault rule: a rule needs an effe', splitCrc: true, splitCopy: true, fromConfig: 'opened' }, r.stderr);
});

test('a program whose test runner faked the timers (global and node:timers\' own) and the clock: 20000 awaited calls, then a device opened, used and closed (calls stalled and the process exited, exit code 13)', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(fixture('faked_timers.mjs')), new URL('../src/index.ts', import.meta.url).href], { encoding: 'utf8', timeout: 60000 });
  assert.is(r.stdout.trim(), 'ok 20000 1066269058', r.stderr);
  assert.is(r.status, 0);
  // the built package, CommonJS: its bundle read require('node:timers').setTimeout at each call
  const cjs = spawnSync(process.execPath, [fileURLToPath(fixture('faked_timers.mjs')), new URL('../dist/src/index.cjs', import.meta.url).href], { encoding: 'utf8', timeout: 60000 });
  assert.is(cjs.stdout.trim(), 'ok 20000 1066269058', `CommonJS: ${cjs.stderr}`);
});

test('shutdown() while the default device loads what its engines need (piscina, a piece a turn): the loading stops, nothing is required after (jest refused those requires once it had torn the file down after afterAll(shutdown), and failed the run)', async () => {
  const { spawnSync } = await import('node:child_process');
  // the CommonJS bundle, as jest loads it; shutdown() called as the loading takes its first piece
  const script = `const Module = require('node:module');
const { crc32c, shutdown } = require(${JSON.stringify(fileURLToPath(new URL('../dist/src/index.cjs', import.meta.url)))});
const load = Module._load;
let shut = null, torn = false;
const late = [];
Module._load = function (request, ...rest) {
  if (torn) late.push(request);
  else if (shut === null && request === 'node:assert') shut = shutdown().then(() => { torn = true; });
  return load.call(this, request, ...rest);
};
(async () => {
  await crc32c(Buffer.alloc(1 << 20, 1));
  // (the open comes 50 ms on, then the loading and shutdown(): waited for, however slow the machine)
  for (const until = Date.now() + 20000; !torn && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 200)); // (a late require would come in the turns after)
  console.log(JSON.stringify({ shut: shut !== null, torn, late }));
})();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60000 });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { shut: boolean; torn: boolean; late: string[] };
  assert.ok(out.shut && out.torn, 'the engines began to load, and shutdown() ended');
  assert.equal(out.late.filter((m) => /piscina|^node:(assert|worker_threads|os|async_hooks|perf_hooks|timers\/promises|url|util)$/.test(m)), []);
});

test('also: a process without WebAssembly (--jitless) is told so: alloc() and Device.open() fail with NO_WASM; calls on plain bytes still run, also once the default device failed to open (they rejected with NO_WASM)', async () => {
  const { spawnSync } = await import('node:child_process');
  const script = `import { crc32c, alloc, Device, ready } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)};
const out = [String(await crc32c(Buffer.from('123456789')))];
await new Promise((r) => setTimeout(r, 150));
ready(); // (asked, not awaited: no unhandled rejection, which ended the program)
out.push(String(await crc32c(Buffer.from('123456789')).catch((e) => e.code)));
try { alloc(64); } catch (e) { out.push(e.code); }
await Device.open().catch((e) => out.push(e.code));
console.log(out.join(' '));`;
  const r = spawnSync(process.execPath, ['--jitless', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  assert.is(r.stdout.trim(), '3808858755 3808858755 NO_WASM NO_WASM', r.stderr);
});

test('also: a virtual memory limit that refuses the arena (ulimit -v 4 GB): calls on plain memory go on inline, and crc32cFile of a file of any size; alloc() and copyFileCrc32c fail with NO_ARENA_MEMORY (V8\'s RangeError its cause)', async () => {
  const { spawnSync } = await import('node:child_process');
  // (the built package, dist/: tsx's own loader needs WebAssembly memory, which the limit refuses)
  const entry = new URL('../dist/src/index.js', import.meta.url).href;
  const r = spawnSync('sh', ['-c', `ulimit -v 4000000 && exec "${process.execPath}" "${fileURLToPath(fixture('arena_refused.mjs'))}" "${entry}"`], { encoding: 'utf8', timeout: 60000 });
  assert.is(r.stdout.trim(), '3808858755 3808858755 true NO_ARENA_MEMORY RangeError true 0 more opens EISDIR NO_ARENA_MEMORY 0 more', r.stderr);
});

test('also: an address-space limit that lets the arena be reserved and not the engines\' threads: the engines are refused before a thread is made (ENGINE_START_FAILED, saying why) and calls run inline (V8 aborted the whole process 50 ms after its first call; an outside pass)', async () => {
  const { spawnSync } = await import('node:child_process');
  const entry = new URL('../dist/src/index.js', import.meta.url).href;
  const run = (limitKb: number | null, body: string): ReturnType<typeof spawnSync> =>
    spawnSync('sh', ['-c', `${limitKb === null ? '' : `ulimit -v ${limitKb} && `}exec "${process.execPath}" --input-type=module -e "$0"`, `import * as s from ${JSON.stringify(entry)}; import { readFileSync } from 'node:fs'; ${body}`], { encoding: 'utf8', timeout: 60000 });
  // (the limit: what the process reserves with the default device's arena, and 300 MiB more)
  const probe = run(null, `s.alloc(64); console.log(/VmSize:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]); process.exit(0);`);
  const vm = Number(String(probe.stdout).trim());
  assert.ok(vm > 0, String(probe.stderr));
  const r = run(vm + 300 * 1024, `const out = [String(await s.crc32c(Buffer.from('123456789')))];
await s.ready().catch((e) => out.push(e.code, /address-space limit/.test(e.message)));
out.push(String(await s.crc32c(Buffer.alloc(16 << 20, 1))));
console.log(out.join(' '));`);
  assert.is(r.status, 0, `${r.signal} ${r.stderr}`);
  assert.is(String(r.stdout).trim(), `3808858755 ENGINE_START_FAILED true ${nodeCrc32c(Buffer.alloc(16 << 20, 1))}`, String(r.stderr));
});

test('also: free() by address takes only what alloc() and buffer() handed out: the device\'s own blocks are refused (its descriptor block and area were taken, then written by the device into the program\'s buffers; a mapped file\'s windows freed so ended the process from a timer; an outside pass)', async () => {
  const { closeSync, openSync } = await import('node:fs');
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  const fd = openSync(new URL(import.meta.url), 'r');
  try {
    const a = dev.alloc(64);
    const b = dev.buffer(100);
    dev.free(a);
    dev.free(b.byteOffset); // (a Buffer's block, by its address)
    assert.throws(() => dev.free(a), /was not allocated by this device \(or was freed already\)/);
    const m = dev.mapFile(fd, 10); // (its windows: a block of the device's own)
    let taken = 0;
    let own = 0;
    for (let addr = 0; addr < dev.memory.buffer.byteLength; addr += 64) {
      try {
        dev.free(addr);
        taken++;
      } catch (e) {
        if (/the device uses that block for its own work/.test((e as Error).message)) own++;
      }
    }
    assert.is(taken, 0, 'no block the program was not given');
    assert.ok(own >= 3, `${own} of the device's own blocks refused as such (its descriptor block, its area, the windows)`);
    m.unmap();
  } finally {
    closeSync(fd);
    await dev.close();
  }
});

void Opcode;
test.run();
