// The opener's warm-up as the engines come up (Device #warmPaths, Ops.warmDevice): the calls'
// device paths run once on a few arena bytes before ready() resolves. It must leave no trace the
// program can see: no stats, no completed descriptors, no fault rule consumed, nothing on the
// descriptor channel, the arena as it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Device, Opcode, Status } from '../src/index.ts';

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

test.run();
