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
