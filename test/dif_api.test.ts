// The drop-in DIF calls (difInsert, difCheck, difStrip, difUpdate, dixGenerate, crc16t10dif)
// against the reference model's CRC-16 and tuples (test/reference.ts), on every kind of
// buffer and every placement: inline while the engines boot, on the engines, split across
// them, and staged through the arena in windows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Device, DifCheckError, SoftDsaError, crc16t10dif, difInsert, difCheck, difUpdate, shutdown } from '../src/index.ts';
import type { DifOptions } from '../src/index.ts';
import { referenceCrc16, referenceGuard, tupleBytes, DIF_BLOCK_SIZES } from './reference.ts';
import { DifFlag, Opcode } from '../src/device/format.ts';
import { turnsDuring } from './turns.ts';

/** p() rejects with an error of this class or whose message matches (with `message`: of the class, and that message). */
async function rejects(p: () => Promise<unknown>, what: RegExp | (new (...a: never[]) => Error), message?: RegExp): Promise<void> {
  const e = await p().then(() => null, (x: unknown) => x);
  assert.ok(e instanceof Error, 'expected a rejection');
  if (what instanceof RegExp) assert.match((e as Error).message, what);
  else assert.instance(e, what);
  if (message !== undefined) assert.match((e as Error).message, message);
}

function random(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** The protected form of data, computed by the reference model. */
function expectInsert(data: Uint8Array, o: Required<Pick<DifOptions, 'blockSize'>> & DifOptions): Buffer {
  const bs = o.blockSize;
  const df = (o.invertCrcSeed ? DifFlag.INVERT_CRC_SEED : 0) | (o.invertCrcResult ? DifFlag.INVERT_CRC_RESULT : 0);
  const blocks = data.length / bs;
  const out = Buffer.alloc(blocks * (bs + 8));
  for (let k = 0; k < blocks; k++) {
    const block = data.subarray(k * bs, (k + 1) * bs);
    out.set(block, k * (bs + 8));
    const ref = o.refTagIncrement === false ? (o.refTag ?? 0) : ((o.refTag ?? 0) + k) >>> 0;
    const app = ((o.appTagIncrement ? (o.appTag ?? 0) + k : (o.appTag ?? 0)) & 0xffff) & ~(o.appTagMask ?? 0) & 0xffff;
    out.set(tupleBytes(referenceGuard(block, df), app, ref), k * (bs + 8) + bs);
  }
  return out;
}

test('crc16t10dif: the published check value, seeds chain, every kind of buffer', async () => {
  assert.is(await crc16t10dif(Buffer.from('123456789')), 0xd0db);
  const data = random(100_000, 1);
  const whole = referenceCrc16(data);
  assert.is(await crc16t10dif(data), whole);
  assert.is(await crc16t10dif(data.subarray(40_000), await crc16t10dif(data.subarray(0, 40_000))), whole);
  const sab = new Uint8Array(new SharedArrayBuffer(data.length));
  sab.set(data);
  assert.is(await crc16t10dif(sab), whole);
  assert.is(await crc16t10dif(new Uint8Array(0)), 0);
  await rejects(() => crc16t10dif(Buffer.alloc(4), 0x10000), /seed must be an integer from 0 to 0xffff/);
  await rejects(() => crc16t10dif('abc' as never), /must be a Buffer/);
  await shutdown();
});

test('difInsert: every block size and tag mode against the reference, inline and on the engines', async () => {
  for (const when of ['booting', 'ready'] as const) {
    const dev = Device.openSync({ engines: 2, inlineThreshold: 0 });
    if (when === 'ready') await dev.ready();
    try {
      for (const blockSize of DIF_BLOCK_SIZES as DifOptions['blockSize'][]) {
        const o = { blockSize: blockSize!, refTag: 0xfffffffe, appTag: 0xfffe, appTagIncrement: true, appTagMask: 0x00f0, invertCrcSeed: true, invertCrcResult: blockSize === 520 };
        const data = random(blockSize! * 5, blockSize!);
        const out = await dev.difInsert(data, o);
        assert.equal(Buffer.from(out), expectInsert(data, o), `${when} ${blockSize}`);
        const fixed = { blockSize: blockSize!, refTag: 77, refTagIncrement: false };
        assert.equal(Buffer.from(await dev.difInsert(data, fixed)), expectInsert(data, fixed));
        // DIX: the same tuples, in a buffer of their own
        const pi = await dev.dixGenerate(data, o);
        for (let k = 0; k < 5; k++) assert.equal(Buffer.from(pi.subarray(8 * k, 8 * k + 8)), expectInsert(data, o).subarray(k * (blockSize! + 8) + blockSize!, (k + 1) * (blockSize! + 8)));
        await dev.difCheck(out, o);
        assert.equal(Buffer.from(await dev.difStrip(out, o)), data);
      }
      assert.ok((dev.stats().ops.difInsert.placement[when === 'booting' ? 'inline:booting' : 'device'] ?? 0) > 0, JSON.stringify(dev.stats().ops.difInsert));
    } finally {
      await dev.close();
    }
  }
});

test('difCheck: a corrupted guard, app tag or ref tag in a random block names the block, the field, expected and actual', async () => {
  const dev = await Device.open({ engines: 2, inlineThreshold: 0, splitThreshold: 64 << 10 });
  try {
    const o = { blockSize: 512 as const, refTag: 1000, appTag: 0xabcd };
    const blocks = 600; // over the split threshold: the failing block may be in the second engine's range
    const data = dev.buffer(512 * blocks);
    data.set(random(512 * blocks, 7));
    const prot = dev.buffer(520 * blocks);
    await dev.difInsert(data, { ...o, dst: prot });
    let seed = 3;
    for (const field of ['guard', 'appTag', 'refTag'] as const) {
      for (let trial = 0; trial < 4; trial++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        const k = seed % blocks;
        const at = k * 520 + 512 + (field === 'guard' ? 1 : field === 'appTag' ? 3 : 7);
        prot[at] ^= 0x10;
        const err = await dev.difCheck(prot, o).then(() => null, (e: unknown) => e);
        prot[at] ^= 0x10;
        assert.instance(err, DifCheckError);
        const e = err as DifCheckError;
        assert.is(e.block, k);
        assert.is(e.offset, k * 520);
        assert.is(e.code, 'DIF_CHECK_FAILED');
        assert.is(e.status, 0x09);
        assert.is(e.mismatches.length, 1, e.message);
        const m = e.mismatches[0];
        assert.is(m.field, field);
        const expected = field === 'refTag' ? 1000 + k : field === 'appTag' ? 0xabcd : referenceGuard(data.subarray(k * 512, k * 512 + 512), 0);
        assert.is(m.expected, expected);
        assert.is(m.actual, expected ^ (field === 'refTag' ? 0x10 : 0x10));
        assert.match(e.message, new RegExp(`block ${k} \\(byte offset ${k * 520}\\).*${field}`));
      }
    }
    await dev.difCheck(prot, o);
    // the mask: bits set are not compared
    await dev.difCheck(prot, { ...o, appTag: 0xabc0, appTagMask: 0x000f });
    await rejects(() => dev.difCheck(prot, { ...o, appTag: 0xabc0 }), /appTag 0xabcd, expected 0xabc0/);
    // checks switched off
    prot[520 * 5 + 512] ^= 1;
    await dev.difCheck(prot, { ...o, checkGuard: false });
    prot[520 * 5 + 512] ^= 1;
    await dev.difCheck(prot, { ...o, refTag: 5, checkRefTag: false });
  } finally {
    await dev.close();
  }
});

test('difCheck: all-F tuples are skipped, or fail, as the F-detect options say', async () => {
  const dev = await Device.open({ engines: 1, inlineThreshold: 0 });
  try {
    const prot = Buffer.from(await dev.difInsert(random(512 * 4, 9), { blockSize: 512 }));
    prot.fill(0xff, 520 * 2 + 512, 520 * 3);
    await rejects(() => dev.difCheck(prot, { blockSize: 512 }), DifCheckError);
    await dev.difCheck(prot, { blockSize: 512, allFDetect: true });
    await dev.difCheck(prot, { blockSize: 512, appTagFDetect: true });
    await dev.difCheck(prot, { blockSize: 512, appAndRefTagFDetect: true });
    const e = (await dev.difCheck(prot, { blockSize: 512, allFDetect: true, allFDetectError: true }).catch((x: unknown) => x)) as DifCheckError;
    assert.is(e.block, 2);
    // (no expected/actual: 2^64 - 1 is not a number a tuple's fields can be compared by)
    assert.equal(e.mismatches, [{ field: 'allF' }]);
    assert.match(e.message, /block 2 \(byte offset 1040\) failed its DIF check: all-F tuple/);
  } finally {
    await dev.close();
  }
});

test('difStrip and difUpdate: outputs, the new tags, what is kept; a failing source stops at its block', async () => {
  const dev = await Device.open({ engines: 2, inlineThreshold: 0 });
  try {
    const data = random(4096 * 6, 11);
    const o = { blockSize: 4096 as const, refTag: 50, appTag: 1 };
    const prot = Buffer.from(await dev.difInsert(data, o));
    const updated = await dev.difUpdate(prot, { ...o, to: { refTag: 900, appTag: 0x7777 } });
    assert.equal(Buffer.from(updated), expectInsert(data, { blockSize: 4096, refTag: 900, appTag: 0x7777 }));
    const kept = Buffer.from(await dev.difUpdate(prot, { ...o, to: { refTag: 900, keepAppTag: true, keepGuard: true } }));
    assert.equal(kept, expectInsert(data, { blockSize: 4096, refTag: 900, appTag: 1 }));
    // into a caller's buffer; a failing block: the blocks before it are written
    const dst = Buffer.alloc(4096 * 6);
    prot[4104 * 3 + 10] ^= 1;
    const e = (await dev.difStrip(prot, { ...o, dst }).catch((x: unknown) => x)) as DifCheckError;
    assert.instance(e, DifCheckError);
    assert.is(e.block, 3);
    assert.equal(dst.subarray(0, 4096 * 3), data.subarray(0, 4096 * 3));
  } finally {
    await dev.close();
  }
});

test('data larger than a staging window, outside the arena: windows keep the tags running and find the block', async () => {
  const dev = await Device.open({ engines: 2, inlineThreshold: 0 });
  try {
    const blocks = 2300; // 2300 x (4096 + 4104) bytes staged: two windows of 8 MiB
    const data = random(4096 * blocks, 13);
    const o = { blockSize: 4096 as const, refTag: 0xfffffff0 };
    const prot = Buffer.from(await dev.difInsert(data, o));
    assert.equal(prot, expectInsert(data, o));
    const shared = new Uint8Array(new SharedArrayBuffer(prot.length));
    shared.set(prot);
    await dev.difCheck(shared, o);
    shared[4104 * 2222 + 4096 + 7] ^= 4;
    const e = (await dev.difCheck(shared, o).catch((x: unknown) => x)) as DifCheckError;
    assert.is(e.block, 2222);
    assert.equal(e.mismatches, [{ field: 'refTag', expected: (0xfffffff0 + 2222) >>> 0, actual: ((0xfffffff0 + 2222) ^ 4) >>> 0 }]);
    assert.equal(dev.stats().resources, { vectors: 1, addressSpaces: 0 });
  } finally {
    await dev.close();
  }
});

test('more blocks than one call may put in flight at a maxTransfer of one block: run in windows of 65536 descriptors, a mismatch named on either side of the cut', async () => {
  const blocks = (1 << 16) + 3; // one 520-byte block a descriptor: two windows, the second of 3
  const dev = await Device.open({ engines: 2, inlineThreshold: 0, maxTransfer: 520, arenaBytes: 80 << 20 });
  try {
    const o = { blockSize: 512 as const, refTag: 7 };
    const data = dev.buffer(512 * blocks);
    data.set(random(512 * blocks, 21));
    const prot = dev.buffer(520 * blocks);
    await dev.difInsert(data, { ...o, dst: prot });
    assert.equal(prot.subarray(520 * (blocks - 4)), expectInsert(data.subarray(512 * (blocks - 4)), { ...o, refTag: 7 + blocks - 4 }));
    await dev.difCheck(prot, o);
    for (const k of [(1 << 16) - 1, (1 << 16) + 1]) {
      prot[k * 520 + 512 + 7] ^= 2;
      const e = (await dev.difCheck(prot, o).catch((x: unknown) => x)) as DifCheckError;
      prot[k * 520 + 512 + 7] ^= 2;
      assert.instance(e, DifCheckError);
      assert.is(e.block, k);
      assert.equal(e.mismatches, [{ field: 'refTag', expected: 7 + k, actual: (7 + k) ^ 2 }]);
    }
  } finally {
    await dev.close();
  }
});

test('dst: the call resolves to the output bytes as a Uint8Array, whatever kind of buffer dst is', async () => {
  const data = random(1024, 3);
  const want = await difInsert(data);
  const u8 = new Uint8Array(1040);
  assert.is(await difInsert(data, { dst: u8 }), u8, 'a Uint8Array of the size: itself');
  const big = Buffer.alloc(2000);
  const r1 = await difInsert(data, { dst: big });
  assert.ok(Buffer.isBuffer(r1) && r1.buffer === big.buffer && r1.byteOffset === big.byteOffset && r1.length === 1040, 'a larger Buffer: its first 1040 bytes, a Buffer');
  for (const dst of [new ArrayBuffer(1040), new Uint16Array(600), new DataView(new ArrayBuffer(1100), 16)]) {
    const r = await difInsert(data, { dst });
    assert.ok(r instanceof Uint8Array && r.length === 1040, `${dst.constructor.name}: a Uint8Array of the output`);
    assert.is(r.buffer, dst instanceof ArrayBuffer ? dst : dst.buffer);
    assert.ok(Buffer.from(r).equals(Buffer.from(want)));
  }
  await shutdown();
});

test('stats: a call taken and then failed is counted as failed; bad arguments are not calls', async () => {
  const dev = await Device.open({ engines: 1, inlineThreshold: 0 });
  try {
    const prot = await dev.difInsert(random(512 * 64, 4));
    await dev.difCheck(prot);
    prot[3] ^= 1;
    for (let i = 0; i < 2; i++) await rejects(() => dev.difCheck(prot), DifCheckError);
    await rejects(() => dev.difCheck(Buffer.alloc(100)), /not a whole number/);
    const s = dev.stats().ops.difCheck!;
    assert.is(s.count, 1);
    assert.is(s.failed, 2);
    // 0x09 from a fault rule on good data: the message says the tuple matches, not nothing
    prot[3] ^= 1;
    const rule = dev.inject({ opcode: Opcode.DIF_CHECK, status: 0x09 });
    await rejects(() => dev.difCheck(prot), DifCheckError, /block 0 \(byte offset 0\) failed its DIF check: the device reported it, but the block's tuple matches \(an injected status\?\)/);
    rule.remove();
  } finally {
    await dev.close();
  }
});

test('bad calls reject with what was wrong', async () => {
  const data = Buffer.alloc(1024);
  await rejects(() => difInsert(Buffer.alloc(1000)), /difInsert: data is 1000 bytes, not a whole number of 512-byte blocks/);
  await rejects(() => difCheck(data), /difCheck: data is 1024 bytes, not a whole number of 520-byte blocks \(512 data bytes \+ 8-byte tuple each\)/);
  await rejects(() => difInsert(data, { blockSize: 1000 as never }), /blockSize must be 512, 520, 4096 or 4104; got 1000/);
  // a string that reads as a size: said to be a string (the message read "must be 520; got 520")
  await rejects(() => difCheck(Buffer.alloc(520), { blockSize: '520' as never }), TypeError, /blockSize must be 512, 520, 4096 or 4104; got string "520"/);
  await rejects(() => difCheck(Buffer.alloc(520), { blockSize: 4096n as never }), TypeError, /blockSize must be 512, 520, 4096 or 4104; got bigint 4096n/);
  await rejects(() => difInsert(data, { refTag: -1 }), /refTag must be an integer from 0 to 0xffffffff; got -1/);
  await rejects(() => difInsert(data, { appTag: 0x10000 }), /appTag must be an integer/);
  // not a number: a TypeError, as the other calls give (a seed of the wrong type was a RangeError)
  await rejects(() => crc16t10dif(data, '1' as never), TypeError, /crc16t10dif: seed must be an integer from 0 to 0xffff; got string/);
  await rejects(() => difInsert(data, { refTag: 1n as never }), TypeError, /refTag must be an integer from 0 to 0xffffffff; got bigint/);
  await rejects(() => difInsert(data, { refTagIncrement: 'yes' as never }), /refTagIncrement must be a boolean; got string/);
  await rejects(() => difInsert(data, { dst: Buffer.alloc(100) }), /dst is 100 bytes, the output is 1040/);
  await rejects(() => difInsert(data, 5 as never), /options must be an object; got number/);
  await rejects(() => difInsert(data, [] as never), /options must be an object; got Array/); // (an array was taken for options; an outside pass)
  await rejects(() => difInsert('x' as never), /data must be a Buffer/);
  // every option is checked on every call, also one the call does not use
  await rejects(() => difInsert(data, { checkGuard: 'yes' as never }), /difInsert: checkGuard must be a boolean; got string/);
  await rejects(() => difInsert(data, { allFDetect: 1 as never }), /difInsert: allFDetect must be a boolean; got number/);
  await rejects(() => difCheck(Buffer.alloc(520), { dst: Buffer.alloc(8) }), /difCheck: dst does not apply/);
  await rejects(() => difUpdate(Buffer.alloc(520), { to: null as never }), /difUpdate: to must be an object; got null/);
  const err = await difCheck(Buffer.alloc(520, 1)).catch((e: unknown) => e);
  assert.instance(err, SoftDsaError);
  await shutdown();
  // a block longer than the device's largest transfer: said up front (the device's 0x13 was all one got)
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20, maxTransfer: 4096 });
  try {
    const prot = Buffer.alloc(2 * 4104);
    await rejects(() => dev.difCheck(prot, { blockSize: 4096 }), /difCheck: a block of the source is 4104 bytes, more than this device's maxTransfer of 4096 bytes/);
    await dev.difInsert(Buffer.alloc(4096), { blockSize: 4096 }); // its source block is 4096: it fits
  } finally {
    await dev.close();
  }
});

/** A resizable ArrayBuffer of n bytes (Node 20's types do not know the option yet). */
const resizable = (n: number): ArrayBuffer & { resize(n: number): void } =>
  new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void })(n, { maxByteLength: n });

test('a resizable ArrayBuffer shrunk while a call stages it: a RangeError, not stale bytes', async () => {
  const dev = await Device.open({ engines: 2, inlineThreshold: 0 });
  try {
    const n = 512 * 65536; // 32 MiB: staged a window at a time
    for (const tracking of [true, false]) {
      const rab = resizable(n);
      const u = tracking ? new Uint8Array(rab) : new Uint8Array(rab, 0, n);
      u.fill(1);
      const p = dev.difInsert(u);
      rab.resize(4096);
      await rejects(() => p, RangeError, /source shrank \(a resizable ArrayBuffer resized under it\) while the call ran/);
    }
    // one transferred away (detached) says so
    const plain = new ArrayBuffer(n);
    const p = dev.difInsert(new Uint8Array(plain).fill(1));
    structuredClone(plain, { transfer: [plain] });
    await rejects(() => p, RangeError, /source was detached \(its ArrayBuffer transferred\) while the call ran/);
    // a destination that shrinks: the same, not a TypeError about detaching
    const prot = await dev.difInsert(Buffer.alloc(8 << 20, 1), { blockSize: 4096 });
    const ab = resizable(8 << 20);
    const q = dev.difStrip(prot, { blockSize: 4096, dst: new Uint8Array(ab) });
    await null;
    ab.resize(10);
    await rejects(() => q, RangeError, /destination shrank \(a resizable ArrayBuffer resized under it\) while the call ran/);
  } finally {
    await dev.close();
  }
});

test('a large DIF call done here (the arena full: inline:no-room) gives the event loop turns, as the other calls done here do (a 64 MiB difInsert held it 145 ms, no turn)', async () => {
  const roomy = await Device.open({ engines: 1 });
  const full = await Device.open({ engines: 1, arenaBytes: 4 << 20 });
  try {
    for (let size = 4 << 20; size >= 64; ) {
      try {
        full.alloc(size);
      } catch {
        size >>>= 1;
      }
    }
    const data = Buffer.alloc(16 << 20);
    for (let i = 0; i < data.length; i += 4093) data[i] = i & 0xff;
    const [output, turns] = await turnsDuring(() => full.difInsert(data, { blockSize: 4096, refTag: 7 }));
    const got = Buffer.from(output);
    assert.equal(full.stats().ops.difInsert!.placement, { 'inline:no-room': 1 });
    assert.ok(turns >= 3, `${turns} turns of the event loop while it ran`);
    assert.ok(got.equals(Buffer.from(await roomy.difInsert(data, { blockSize: 4096, refTag: 7 }))), 'the same output as on the engines');
  } finally {
    await full.close();
    await roomy.close();
  }
});

test('DIF on memory outside the arena, the arena full: staged through the thread\'s own area; which holds a block of the largest and its output also on a 64 KiB arena', async () => {
  const hog = (dev: Device): number[] => {
    const hogs: number[] = [];
    for (let size = 4 << 20; size >= 64; ) {
      try {
        hogs.push(dev.alloc(size));
      } catch {
        size >>>= 1;
      }
    }
    return hogs;
  };
  const data = Buffer.alloc(4096 * 5, 1);
  const roomy = await Device.open({ engines: 1 });
  const full = await Device.open({ engines: 1, arenaBytes: 4 << 20 });
  const small = await Device.open({ engines: 1, arenaBytes: 65536 }); // its own area: a 16th would be 4 KiB, less than a block in and out
  try {
    hog(full);
    hog(small);
    assert.ok(Buffer.from(await full.difInsert(data, { blockSize: 4096 })).equals(Buffer.from(await roomy.difInsert(data, { blockSize: 4096 }))));
    // stats say where it ran: here, for want of room (they said 'device')
    assert.equal(full.stats().ops.difInsert!.placement, { 'inline:no-room': 1 });
    // createDelta of arena buffers, no room left for its delta record: made here too, and said so
    const d2 = await Device.open({ engines: 1, arenaBytes: 4 << 20 });
    try {
      const a = d2.buffer(1 << 20).fill(3);
      const b = d2.buffer(1 << 20).fill(3);
      b[12345] = 9;
      hog(d2);
      const delta = await d2.createDelta(a, b);
      assert.ok(Buffer.from(delta).equals(Buffer.from(await roomy.createDelta(Buffer.from(a), Buffer.from(b)))));
      assert.equal(d2.stats().ops.createDelta!.placement, { 'inline:no-room': 1 });
    } finally {
      await d2.close();
    }
    // ... also on a 64 KiB arena, whose own area holds one block of the largest and its output
    // (a 16th of the arena did not: ARENA_FULL for 4096- and 4104-byte blocks)
    for (const blockSize of [512, 520, 4096, 4104] as const) {
      const blocks = Buffer.alloc(blockSize * 3, 7);
      const want = Buffer.from(await roomy.difInsert(blocks, { blockSize }));
      assert.ok(Buffer.from(await small.difInsert(blocks, { blockSize })).equals(want), `difInsert ${blockSize}`);
      assert.ok(Buffer.from(await small.dixGenerate(blocks, { blockSize })).equals(Buffer.from(await roomy.dixGenerate(blocks, { blockSize }))), `dixGenerate ${blockSize}`);
      assert.ok(Buffer.from(await small.difStrip(want, { blockSize })).equals(blocks), `difStrip ${blockSize}`);
      await small.difCheck(want, { blockSize });
      assert.ok(Buffer.from(await small.difUpdate(want, { blockSize })).equals(Buffer.from(await roomy.difUpdate(want, { blockSize }))), `difUpdate ${blockSize}`);
    }
    assert.equal(Object.keys(small.stats().ops.difInsert!.placement), ['inline:no-room']);
    // the scraps a nearly full arena leaves are not staging windows: a window of a block or two
    // made a 2 MiB call 2,048 descriptors (20x slower than here); under 64 KiB, the call runs here
    const scraps = await Device.open({ engines: 1, arenaBytes: 65536 });
    try {
      try {
        for (;;) scraps.buffer(4096);
      } catch {
        // full, but for less than a buffer of 4 KiB
      }
      const many = Buffer.alloc(512 * 4096, 5);
      const done = scraps.stats().completed;
      assert.ok(Buffer.from(await scraps.difInsert(many)).equals(Buffer.from(await roomy.difInsert(many))));
      assert.equal([scraps.stats().ops.difInsert!.placement, scraps.stats().completed - done], [{ 'inline:no-room': 1 }, 0]);
    } finally {
      await scraps.close();
    }
  } finally {
    for (const d of [roomy, full, small]) await d.close();
  }
});

test.run();
