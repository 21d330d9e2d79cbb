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

test.run();
