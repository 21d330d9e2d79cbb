// Threads: a shared work queue fed by several user threads at once, and processes that
// exit on their own with a device open.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Device, Descriptor, Status } from '../src/index.ts';

const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);
/** A worker running a .ts fixture (see fixtures/boot.cjs). */
const tsWorker = (name: string, data: object): Worker =>
  new Worker(fixture('boot.cjs'), { workerData: { ...data, entry: fileURLToPath(fixture(name)) } });

test('a shared queue fed from several threads completes every descriptor exactly once', async () => {
  const dev = await Device.open({ engines: 2, wqSize: 16, wqMode: 'shared', arenaBytes: 4 << 20 });
  const THREADS = 3;
  const COUNT = Number(process.env.COUNT ?? 20000);
  const bases = Array.from({ length: THREADS + 1 }, () => dev.alloc(8 * COUNT, 8));
  const workers = bases.slice(0, THREADS).map(
    (base, id) => tsWorker('submitter.ts', { handle: dev.handle, base, count: COUNT, id: id + 1 }),
  );
  const results = workers.map((w) => new Promise<{ ok: number; total: number }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  }));
  // The opening thread submits at the same time.
  const mine: Promise<number>[] = [];
  const main = bases[THREADS];
  for (let i = 0; i < COUNT; i++) mine.push(dev.submit(Descriptor.fill({ dst: main + 8 * i, size: 8, pattern: BigInt(i + 1) })));
  const got = await Promise.all(results);
  const own = await Promise.all(mine);
  for (const r of got) assert.equal(r, { ok: COUNT, total: COUNT });
  assert.is(own.filter((s) => s === Status.SUCCESS).length, COUNT);
  const dv = new DataView(dev.memory.buffer as unknown as SharedArrayBuffer);
  for (let t = 0; t <= THREADS; t++) {
    const id = t === THREADS ? 0 : t + 1;
    for (let i = 0; i < COUNT; i++) {
      const v = dv.getBigUint64(bases[t] + 8 * i, true);
      if (v !== BigInt(id * 1_000_000 + i + 1)) assert.unreachable(`thread ${id} cell ${i}: ${v}`);
    }
  }
  await Promise.all(workers.map((w) => w.terminate()));
  await dev.close();
});

for (const how of ['exit', 'terminate'] as const) {
  test(`a thread that leaves a full shared queue without detaching (${how}) does not jam it`, async () => {
    const WQ = 16;
    const dev = await Device.open({ engines: 2, wqSize: WQ, wqMode: 'shared', arenaBytes: 1 << 20 });
    const base = dev.alloc(8 * WQ, 8);
    const w = tsWorker('abandon.ts', { handle: dev.handle, base, count: WQ, how });
    await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    if (how === 'terminate') {
      await new Promise((r) => setTimeout(r, 50)); // the engines finish its fills; nobody reaps them
      await w.terminate();
    } else {
      await new Promise((r) => w.once('exit', r));
    }
    // Every slot holds a finished descriptor of a thread that is gone: the next submissions
    // reclaim them rather than wait for ever.
    const mine = dev.alloc(8 * 4 * WQ, 8);
    const all = Promise.all(Array.from({ length: 4 * WQ }, (_, i) => dev.submit(Descriptor.fill({ dst: mine + 8 * i, size: 8, pattern: BigInt(i + 1) }))));
    const timeout = new Promise<'jammed'>((r) => setTimeout(() => r('jammed'), 5000).unref());
    const got = await Promise.race([all, timeout]);
    assert.ok(got !== 'jammed', 'the queue jammed on the finished slots of a thread that is gone');
    assert.ok((got as number[]).every((s) => s === Status.SUCCESS));
    const dv = new DataView(dev.memory.buffer as unknown as SharedArrayBuffer);
    for (let i = 0; i < WQ; i++) assert.is(dv.getBigUint64(base + 8 * i, true), 0x5a5an, 'its fills ran');
    await dev.close();
  });
}

test('a dedicated queue refuses other threads', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  assert.throws(() => Device.attach(dev.handle), /dedicated/);
  await dev.close();
});

for (const path of ['eventfd', 'atomics']) {
  test(`a process with an open, idle device exits on its own (${path})`, () => {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(fixture('exit.ts')), path], { encoding: 'utf8', timeout: 20000 });
    assert.is(r.status, 0, `exit status ${r.status}, signal ${r.signal}, stderr: ${r.stderr}`);
    assert.is(r.stdout.trim(), `ok ${path}`);
    assert.ok(Date.now() - t0 < 15000);
  });
}

test('a lent part of the arena: an attached thread takes buffers there and makes the drop-in calls on the opener\'s engines; the part comes back once it detaches or ends', async () => {
  const dev = await Device.open({ engines: 2, wqMode: 'shared', arenaBytes: 96 << 20 });
  const run = async (handle: ReturnType<Device['lend']>, how: string): Promise<{ w: Worker; r: Record<string, unknown> }> => {
    const w = tsWorker('lent_calls.ts', { handle, how });
    const r = await new Promise<Record<string, unknown>>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    return { w, r };
  };
  try {
    assert.throws(() => dev.lend(1024), RangeError, 'below LEND_MIN');
    assert.throws(() => dev.lend(1 << 30), RangeError, 'more than the arena has');
    // attached, held: its part cannot be reclaimed, nor attached again
    const held = dev.lend(32 << 20);
    const a = await run(held, 'hold');
    assert.ok(a.r.ok, String(a.r.error));
    assert.ok((a.r.placement as Record<string, number>).split > 0 && (a.r.placement as Record<string, number>).device > 0, JSON.stringify(a.r.placement));
    assert.is(a.r.tooMuch, 'RangeError', 'a buffer larger than the part');
    assert.throws(() => dev.reclaim(held), (e: Error & { code?: string }) => e.code === 'PART_IN_USE');
    assert.throws(() => Device.attach(held), (e: Error & { code?: string }) => e.code === 'PART_TAKEN');
    // the thread ends (terminated: no exit handler runs): the part can be reclaimed then
    await a.w.terminate();
    // (its OS thread ends a moment after terminate() resolves: until then it is still there)
    for (let until = Date.now() + 5000; ; ) {
      try {
        dev.reclaim(held);
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== 'PART_IN_USE' || Date.now() > until) throw e;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    assert.throws(() => dev.reclaim(held), RangeError, 'reclaimed twice');
    // detached, and exited without detaching: reclaimed at once
    for (const how of ['detach', 'exit']) {
      const h = dev.lend(32 << 20);
      const b = await run(h, how);
      assert.ok(b.r.ok, `${how}: ${String(b.r.error)}`);
      if (how === 'exit') await new Promise((r) => b.w.once('exit', r));
      dev.reclaim(h);
      await b.w.terminate();
    }
    // a handle with no part: the verbs, and calls that say what is missing
    const plain = Device.attach(dev.handle);
    try {
      await plain.crc32c(Buffer.alloc(8)).then(() => assert.unreachable('no error'), (e: Error & { code?: string }) => assert.is(e.code, 'NO_ARENA'));
      assert.throws(() => plain.buffer(8), (e: Error & { code?: string }) => e.code === 'NO_ARENA');
    } finally {
      await plain.detach();
    }
    // all lent parts back: the arena takes what it took before
    dev.free(dev.buffer(64 << 20));
  } finally {
    await dev.close();
  }
});

test.run();
