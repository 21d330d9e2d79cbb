// The opener's warm-up as the engines come up (Device #warmPaths, Ops.warmDevice): the calls'
// device paths run once on a few arena bytes before ready() resolves. It must leave no trace the
// program can see: no stats, no completed descriptors, no fault rule consumed, nothing on the
// descriptor channel, the arena as it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Descriptor, Device, Opcode, Status } from '../src/index.ts';

test('after open(): no stats, no completed descriptors, the arena whole, and the first calls counted as the program made them', async () => {
  const dev = await Device.open({ engines: 2, arenaBytes: 16 << 20, inlineThreshold: 0 });
  try {
    assert.ok(dev.isReady);
    const st = dev.stats();
    assert.equal(st.ops, {});
    assert.is(st.completed, 0);
    assert.equal(st.batches, { batches: 0, descriptors: 0 });
    dev.free(dev.alloc(15 << 20)); // (nothing left held: the warm-up's bytes and batcher blocks went back)
    const a = dev.buffer(4096).fill(1);
    const b = dev.buffer(4096);
    await dev.memcpy(b, a);
    assert.ok(b.every((x) => x === 1));
    const after = dev.stats();
    assert.is(after.ops.memcpy?.count, 1);
    assert.is(after.completed, 1);
  } finally {
    await dev.close();
  }
});

test('fault rules given at open are left to the program\'s descriptors (no warm-up runs)', async () => {
  const dev = await Device.open({ engines: 2, arenaBytes: 16 << 20, inlineThreshold: 0, faults: [{ opcode: Opcode.MEMMOVE, status: 0x1c, times: 1 }] });
  try {
    const a = dev.buffer(4096).fill(1);
    const b = dev.buffer(4096);
    try {
      await dev.memcpy(b, a);
      assert.unreachable('the rule should have failed the first memcpy');
    } catch (e) {
      assert.is((e as NodeJS.ErrnoException).code, 'DSA_STATUS');
    }
    assert.is(dev.stats().faults.injected, 1);
  } finally {
    await dev.close();
  }
});

test('a descriptor channel subscriber at open sees the program\'s descriptors only', async () => {
  const seen: number[] = [];
  const on = (e: unknown): void => void seen.push((e as { descriptor: { opcode: number } }).descriptor.opcode);
  subscribe('softdsa:descriptor', on);
  try {
    const dev = await Device.open({ engines: 2, arenaBytes: 16 << 20 });
    try {
      assert.equal(seen, [], 'nothing before the program submits');
      assert.is(await dev.submit(new Uint8Array(64).fill(0)), Status.SUCCESS);
      assert.is(seen.length, 1);
    } finally {
      await dev.close();
    }
  } finally {
    unsubscribe('softdsa:descriptor', on);
  }
});

test('descriptors the program submits while the warm-up runs are all counted in stats().completed', async () => {
  for (let round = 0; round < 3; round++) {
    const dev = Device.openSync({ engines: 2, arenaBytes: 16 << 20 });
    try {
      let mine = 0;
      let up = false;
      void dev.ready().then(() => (up = true));
      while (!up) {
        if ((await dev.submit(Descriptor.noop())) === Status.SUCCESS) mine++;
      }
      assert.is(dev.stats().completed, mine, `round ${round}`);
    } finally {
      await dev.close();
    }
  }
});

test('a fault rule injected while the warm-up runs is left to the program', async () => {
  for (let round = 0; round < 3; round++) {
    const dev = Device.openSync({ engines: 2, arenaBytes: 16 << 20 });
    try {
      // (the warm-up runs once the engines are up: its completions show for a moment)
      while (!dev.isReady && dev.stats().completed === 0) await new Promise((r) => setImmediate(r));
      const rule = dev.inject({ opcode: [Opcode.BATCH, Opcode.MEMMOVE, Opcode.CRCGEN, Opcode.COMPARE, Opcode.MEMFILL], status: 0x1c, times: 1 });
      await dev.ready();
      assert.is(rule.fired, 0, `round ${round}: the warm-up took the rule`);
    } finally {
      await dev.close();
    }
  }
});

test('a small maxTransfer cuts the warm-up\'s calls into many descriptors: open() and ready() still resolve (one engine, maxTransfer 8: they waited for good, close() did not end it, and the process never exited)', async () => {
  for (const maxTransfer of [1, 8, 16]) {
    const dev = await Promise.race([Device.open({ engines: 1, maxTransfer }), new Promise<null>((r) => setTimeout(() => r(null), 20000).unref())]);
    assert.ok(dev !== null, `open() with maxTransfer ${maxTransfer} resolved`);
    assert.ok(dev.isReady);
    assert.is(dev.stats().completed, 0, 'the warm-up\'s descriptors are not the program\'s');
    const b = dev.buffer(4096).fill(3);
    const c = dev.buffer(4096);
    await dev.memcpy(c, b);
    assert.ok(c.equals(b));
    await dev.close();
  }
});

test('engines that cannot start, and a program that never asks ready(): no unhandled rejection, calls run inline', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const src = join(here, '..', 'src', 'index.ts');
  const script = `
    import { Device } from ${JSON.stringify(src)};
    const dev = Device.openSync({ engines: 1, arenaBytes: 1 << 20 });
    const a = dev.buffer(4096).fill(1);
    setTimeout(async () => { console.log(await dev.crc32c(a)); await dev.close(); }, 500);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', join(here, 'fixtures', 'no_engines.mjs'), '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+$/m);
});

test.run();
