// Files mapped into the device (Device.mapFile): CRC descriptors whose source addresses are
// offsets in a file, run by engines that read the file into arena windows of their own;
// what faults (past the file's end, past the mapping, an injected hole), the other opcodes, a
// file past 4 GiB, unmapping; and crc32cFile on that path (injected faults resubmitted, an
// engine death, a file that grows while it is read, the hand-over from reading on a device
// still starting).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, closeSync, existsSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c as nativeCrc } from '@node-rs/crc32';
import { crc32cFileInfo, Descriptor, Device, Opcode, readRecord, Status } from '../src/index.ts';
import { FILE_WINDOW } from '../src/device.ts';

const dir = mkdtempSync(join(tmpdir(), 'softdsa-mapped-'));
let dev: Device;

test.before(async () => {
  dev = await Device.open({ engines: 2, arenaBytes: 16 << 20 });
});

test.after(async () => {
  await dev.close();
  rmSync(dir, { recursive: true, force: true });
});

const crcOf = (b: Uint8Array, seed = 0): number => nativeCrc(Buffer.from(b.buffer, b.byteOffset, b.byteLength), seed) >>> 0;

/** A CRC descriptor over [src, src + size) of the mapping, and its record. */
async function crcIn(pasid: number, src: number, size: number, seed = 0): Promise<ReturnType<typeof readRecord>> {
  const rec = dev.alloc(32, 32);
  try {
    const status = await dev.submit(Descriptor.crc32c({ pasid, src, size, seed, completion: rec }));
    const r = readRecord(new Uint8Array(dev.memory.buffer), rec);
    assert.is(r.status, status & 0x3f);
    return r;
  } finally {
    dev.free(rec);
  }
}

test('CRC descriptors over a mapped file: whole, ranges, seeded, window edges', async () => {
  const data = randomBytes(3 * (1 << 20) + 12345);
  const p = join(dir, 'whole');
  writeFileSync(p, data);
  const fd = openSync(p, 'r');
  const map = dev.mapFile(fd, data.length);
  try {
    assert.ok(map.pasid > 0);
    assert.is(map.size, data.length);
    const whole = await crcIn(map.pasid, 0, data.length);
    assert.is(whole.status, Status.SUCCESS);
    assert.is(whole.opSpecific, crcOf(data));
    for (const [at, n] of [[1, 1], [(1 << 20) - 3, 7], [1 << 20, 1 << 20], [12345, 2 * (1 << 20) + 1], [data.length - 1, 1]]) {
      const r = await crcIn(map.pasid, at, n, 0xdeadbeef);
      assert.is(r.status, Status.SUCCESS, `[${at}, +${n})`);
      assert.is(r.opSpecific, crcOf(data.subarray(at, at + n), 0xdeadbeef), `[${at}, +${n}) seeded`);
    }
    assert.is(dev.stats().resources.addressSpaces, 1, 'the mapping is an address space');
  } finally {
    map.unmap();
    closeSync(fd);
  }
});

test('faults: past the file\'s end (it shrank), past the mapping, an injected hole; other opcodes get 0x10', async () => {
  const data = randomBytes(1 << 20);
  const p = join(dir, 'faults');
  writeFileSync(p, data);
  const fd = openSync(p, 'r');
  const map = dev.mapFile(fd, data.length);
  try {
    truncateSync(p, 300_000);
    const short = await crcIn(map.pasid, 100_000, 500_000);
    assert.is(short.status, Status.PAGE_FAULT, 'a read past the end of the file');
    assert.not.ok(short.writeFault);
    assert.is(short.bytesCompleted, 200_000);
    assert.is(short.faultAddress, 300_000n);
    assert.is(short.opSpecific, crcOf(data.subarray(100_000, 300_000)), 'the CRC of the bytes before the fault');
    const past = await crcIn(map.pasid, data.length - 10, 20);
    assert.is(past.status, Status.PAGE_FAULT, 'past the mapping');
    assert.is(past.bytesCompleted, 0);
    const far = await crcIn(map.pasid, 2 ** 40, 16);
    assert.is(far.status, Status.PAGE_FAULT, 'far past it');
    assert.is(far.faultAddress, 2n ** 40n);

    const rule = dev.inject({ opcode: Opcode.CRCGEN, pageFault: { offset: 1000 }, times: 1 });
    const holed = await crcIn(map.pasid, 5000, 4000);
    assert.is(rule.fired, 1);
    assert.is(holed.status, Status.PAGE_FAULT, 'an injected fault reaches a mapped file');
    assert.is(holed.bytesCompleted, 1000);
    assert.is(holed.faultAddress, 6000n);
    assert.is(holed.opSpecific, crcOf(data.subarray(5000, 6000)));

    const rec = dev.alloc(32, 32);
    try {
      const status = await dev.submit(Descriptor.memmove({ pasid: map.pasid, src: 0, dst: 4096, size: 64, completion: rec }));
      assert.is(status, Status.INVALID_OPCODE, 'a memmove in a file space');
      assert.is(await dev.submit(Descriptor.compare({ pasid: map.pasid, src1: 0, src2: 4096, size: 64, completion: rec })), Status.INVALID_OPCODE, 'a compare');
    } finally {
      dev.free(rec);
    }
  } finally {
    map.unmap();
    closeSync(fd);
  }
});

test('ranges across the engines\' read windows, unaligned to pages; a file cut short mid-range faults where it ends', async () => {
  const big = await Device.open({ engines: 2, arenaBytes: 64 << 20 });
  const data = randomBytes(3 * FILE_WINDOW + 4097);
  const p = join(dir, 'big-windows');
  writeFileSync(p, data);
  const fd = openSync(p, 'r');
  const map = big.mapFile(fd, data.length);
  const run = async (src: number, size: number, seed = 0): Promise<ReturnType<typeof readRecord>> => {
    const rec = big.alloc(32, 32);
    try {
      await big.submit(Descriptor.crc32c({ pasid: map.pasid, src, size, seed, completion: rec }));
      return readRecord(new Uint8Array(big.memory.buffer), rec);
    } finally {
      big.free(rec);
    }
  };
  try {
    const W = FILE_WINDOW;
    for (const [at, n] of [[0, data.length], [W - 1, 2], [W - 4095, W + 8190], [3, 2 * W], [4096 * 3 + 17, W - 4096 * 3 - 17], [data.length - 4097, 4097]]) {
      const r = await run(at, n, 0x1234);
      assert.is(r.status, Status.SUCCESS, `[${at}, +${n})`);
      assert.is(r.opSpecific, crcOf(data.subarray(at, at + n), 0x1234), `[${at}, +${n})`);
    }
    // cut short inside the second window: the bytes up to its new end, then a fault there
    const end = W + 3 * 4096 + 100;
    truncateSync(p, end);
    const short = await run(10, 2 * W);
    assert.is(short.status, Status.PAGE_FAULT);
    assert.is(short.bytesCompleted, end - 10);
    assert.is(short.faultAddress, BigInt(end));
    assert.is(short.opSpecific, crcOf(data.subarray(10, end)), 'the CRC of the bytes before the fault');
    // cut inside a page
    truncateSync(p, 4000);
    const inPage = await run(0, 8192);
    assert.is(inPage.status, Status.PAGE_FAULT);
    assert.is(inPage.bytesCompleted, 4000);
    assert.is(inPage.opSpecific, crcOf(data.subarray(0, 4000)));
    assert.is((await run(0, 4000)).opSpecific, crcOf(data.subarray(0, 4000)), 'the file space still works after');
  } finally {
    map.unmap();
    closeSync(fd);
    await big.close();
  }
});

test('a sparse tmpfs file is read, its holes left holes', async () => {
  if (!existsSync('/dev/shm')) return;
  const shm = join('/dev/shm', `softdsa-sparse-${process.pid}`);
  const fd = openSync(shm, 'w+');
  try {
    truncateSync(shm, 4 << 20); // all hole
    assert.is(await crc32cFileInfo(shm).then((i) => i.crc), crcOf(new Uint8Array(4 << 20)));
    assert.is(fstatSync(fd).blocks, 0, 'its holes stay holes');
  } finally {
    closeSync(fd);
    rmSync(shm, { force: true });
  }
});

test('a file past 4 GiB: offsets above 32 bits', async () => {
  const p = join(dir, 'sparse');
  const at = 4 * 2 ** 30 + 12_345; // past 4 GiB (the file is sparse: nothing below is written)
  const data = randomBytes(200_000);
  const fd = openSync(p, 'w+');
  try {
    writeSync(fd, data, 0, data.length, at);
    const map = dev.mapFile(fd, at + data.length);
    try {
      const r = await crcIn(map.pasid, at + 1000, 150_000);
      assert.is(r.status, Status.SUCCESS);
      assert.is(r.opSpecific, crcOf(data.subarray(1000, 151_000)));
      const hole = await crcIn(map.pasid, at - 4096, 4096);
      assert.is(hole.opSpecific, crcOf(new Uint8Array(4096)), 'the sparse part reads as zeros');
      // an injected fault there too (its address has more than 32 bits: it was dropped, the CRC done whole)
      const rule = dev.inject({ times: 1, pageFault: { offset: 8192 } });
      const faulted = await crcIn(map.pasid, at + 1000, 150_000);
      assert.equal([faulted.status, faulted.bytesCompleted, faulted.faultAddress, rule.fired], [Status.PAGE_FAULT, 8192, BigInt(at + 1000 + 8192), 1]);
      assert.is(faulted.opSpecific, crcOf(data.subarray(1000, 1000 + 8192)));
      rule.remove();
      const back = Buffer.alloc(8);
      readSync(fd, back, 0, 8, at);
      assert.equal(back, data.subarray(0, 8));
    } finally {
      map.unmap();
    }
  } finally {
    closeSync(fd);
    rmSync(p);
  }
});

test('unmap gives the arena windows and the PASID back; bad arguments; a closed device', async () => {
  const p = join(dir, 'unmap');
  writeFileSync(p, randomBytes(4096));
  const fd = openSync(p, 'r');
  const before = dev.stats().resources.addressSpaces;
  const map = dev.mapFile(fd, 4096);
  map.unmap();
  map.unmap(); // twice: nothing more
  assert.is(dev.stats().resources.addressSpaces, before);
  const gone = await crcIn(map.pasid, 0, 16);
  assert.is(gone.status, Status.PAGE_FAULT, 'an unmapped PASID: nothing is there');
  // all of the arena but a little can be taken in one piece again
  dev.free(dev.alloc(15 << 20));
  assert.throws(() => dev.mapFile(-1, 10), /fd must be a file descriptor/);
  assert.throws(() => dev.mapFile(fd, -1), /size must be a non-negative integer/);
  assert.throws(() => dev.mapFile(fd, 2 ** 53), /size must be/);
  closeSync(fd);
  const other = await Device.open({ engines: 2, arenaBytes: 1 << 20 });
  assert.throws(() => other.mapFile(0, 10), /arena cannot fit/, 'no room for the windows: a RangeError');
  await other.close();
  assert.throws(() => other.mapFile(0, 10), /closed/);
});

test('crc32cFile on a mapped file: injected faults are resubmitted, an engine death rejects, a file that grows counts what was read', async () => {
  const data = randomBytes(24 << 20);
  const p = join(dir, 'api');
  writeFileSync(p, data);
  const want = crcOf(data);
  assert.ok(dev.isReady);
  const rule = dev.inject({ opcode: Opcode.CRCGEN, pageFault: { offset: 5000 }, times: 3 });
  assert.equal(await crc32cFileInfo(p, { device: dev, chunkSize: 4 << 20 }), { crc: want, bytes: data.length }, 'faults mid-range: the rest resubmitted');
  assert.is(rule.fired, 3);
  // faults that each get a page or more further are resubmitted however many come (a cap of 16
  // a range made this file pass or fail by its chunk size), those that get less are an error
  const far = dev.inject({ opcode: Opcode.CRCGEN, pageFault: { offset: 100_000 } });
  assert.equal(await crc32cFileInfo(p, { device: dev, chunkSize: 4 << 20 }), { crc: want, bytes: data.length }, 'many faults, each further');
  assert.ok(far.fired > 6 * 16, `${far.fired} faults`);
  far.remove();
  const forever = dev.inject({ opcode: Opcode.CRCGEN, pageFault: { offset: 100 } });
  try {
    await crc32cFileInfo(p, { device: dev });
    assert.unreachable('no error');
  } catch (e) {
    assert.is((e as NodeJS.ErrnoException).code, 'DSA_STATUS', 'a range that faults where the file has bytes, again and again');
    // Once the call failed its other ranges are not sent again: what was in flight (one
    // descriptor a range, 4 ranges at once) still runs, and then the file's space ends.
    const firedAtFailure = forever.fired;
    for (let i = 0; i < 500 && dev.stats().resources.addressSpaces > 0; i++) await new Promise((r) => setTimeout(r, 2));
    assert.is(dev.stats().resources.addressSpaces, 0, 'the space ends');
    assert.ok(forever.fired - firedAtFailure <= 4, `${forever.fired - firedAtFailure} faults after the call failed`);
  } finally {
    forever.remove();
  }
  dev.inject({ opcode: Opcode.CRCGEN, engineDeath: true, times: 1 });
  try {
    await crc32cFileInfo(p, { device: dev, chunkSize: 1 << 20 });
    assert.unreachable('no error');
  } catch (e) {
    assert.is((e as NodeJS.ErrnoException).code, 'ENGINE_FAILED');
  }
  await dev.ready();
  // grows while it is read: the part mapped, then the rest read to the end
  const more = randomBytes(3 << 20);
  let grown = false;
  const got = await crc32cFileInfo(p, { device: dev, chunkSize: 1 << 20, onProgress: () => {
    if (!grown) appendFileSync(p, more);
    grown = true;
  } });
  assert.equal(got, { crc: crcOf(Buffer.concat([data, more])), bytes: data.length + more.length });
  assert.equal(readFileSync(p).length, data.length + more.length);
  // nothing left mapped, the arena back
  assert.is(dev.stats().resources.addressSpaces, 0);
  dev.free(dev.alloc(15 << 20));
});

test('crc32cFile on a device still starting: read into the arena, then handed over to the mapping once the engines run', async () => {
  // 32 MiB of data, then a hole to 256 MiB (zeros, no disk): the handover happens only within
  // the size the file had when it was opened, and the read must not reach that end before the
  // engines run, however slow their start (a loaded CI machine took over 1.2 s). So while they
  // boot, each chunk read also costs this thread a millisecond: at least 16 s of reading.
  const data = randomBytes(32 << 20);
  const size = 256 << 20;
  const p = join(dir, 'handoff');
  writeFileSync(p, data);
  truncateSync(p, size);
  let want = crcOf(data);
  const zeros = Buffer.alloc(1 << 20);
  for (let at = data.length; at < size; at += zeros.length) want = nativeCrc(zeros, want) >>> 0;
  const fresh = Device.openSync({ engines: 2, arenaBytes: 16 << 20 });
  try {
    assert.not.ok(fresh.isReady);
    let read = 0;
    let mapped = 0;
    const t0 = performance.now();
    const got = await crc32cFileInfo(p, { device: fresh, chunkSize: 16 << 10, inFlight: 1, onProgress: () => {
      if (fresh.stats().resources.addressSpaces > 0) mapped++;
      else read++;
      for (const until = performance.now() + 1; !fresh.isReady && performance.now() < until; );
    } });
    assert.equal(got, { crc: want, bytes: size });
    assert.ok(read > 0, 'the first chunks were read');
    assert.ok(mapped > 0, `the rest went to the mapping (${read} chunks read in ${(performance.now() - t0).toFixed(0)} ms)`);
    assert.is(fresh.stats().resources.addressSpaces, 0);
  } finally {
    await fresh.close();
    rmSync(p);
  }
});

test('unmap while a range is being read: the windows go back only once the engine is done with them (a buffer allocated next keeps its bytes)', async () => {
  const p = join(dir, 'unmap-busy');
  const data = randomBytes(64 << 20);
  writeFileSync(p, data);
  const fd = openSync(p, 'r');
  const d = await Device.open({ engines: 1, arenaBytes: 16 << 20 }); // (fresh: the next block allocated is where the windows were)
  try {
    for (let run = 0; run < 3; run++) {
      const rec = d.alloc(32, 32);
      const m = d.mapFile(fd, data.length);
      const done = d.submit(Descriptor.crc32c({ pasid: m.pasid, src: 0, size: data.length, completion: rec }));
      await new Promise((r) => setTimeout(r, 3));
      m.unmap();
      const grab = d.alloc(1 << 20);
      const view = d.view(grab, 1 << 20).fill(0xaa);
      const status = await done;
      assert.ok(view.every((x) => x === 0xaa), 'no file bytes in the buffer allocated after the unmap');
      if (status === Status.SUCCESS) assert.is(Number(readRecord(d.view(rec, 32), 0).opSpecific), crcOf(data), 'a CRC reported as right is right');
      d.free(grab);
      d.free(rec);
    }
  } finally {
    await d.close();
    closeSync(fd);
    rmSync(p);
  }
});

test('unmap ends a range being read at the engine\'s next window: a page fault there, with the bytes read and their CRC (an aborted crc32cFile of 1 GiB chunks waited for whole ranges, seconds; an outside pass)', async () => {
  const p = join(dir, 'unmap-ends');
  const size = 2 ** 31; // (the largest transfer: 0.4-1 s of reading, far more than any wait below)
  closeSync(openSync(p, 'w'));
  truncateSync(p, 2 * size); // (sparse: zeros, read at memory speed)
  const fd = openSync(p, 'r');
  try {
    for (const wait of [0, 3]) {
      const rec = dev.alloc(32, 32);
      const m = dev.mapFile(fd, 2 * size);
      const t0 = performance.now();
      const done = dev.submit(Descriptor.crc32c({ pasid: m.pasid, src: 4096, size, completion: rec }));
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      m.unmap();
      const waited = performance.now() - t0;
      const status = await done;
      const r = readRecord(new Uint8Array(dev.memory.buffer), rec);
      dev.free(rec);
      assert.is(status & 0x3f, Status.PAGE_FAULT, `unmapped ${wait} ms in: the range ends as a fault`);
      // (a quarter is 100+ ms of reading: asked only when the unmap came soon, as the timer meant)
      assert.ok(r.bytesCompleted < (waited < 20 ? size / 4 : size), `${r.bytesCompleted} bytes of ${size} read ${waited.toFixed(1)} ms in, not the whole range`);
      assert.is(r.bytesCompleted % FILE_WINDOW, 0, 'at a window\'s end');
      assert.is(Number(r.faultAddress), 4096 + r.bytesCompleted, 'the fault where it stopped');
      assert.is(r.opSpecific, crcOf(new Uint8Array(r.bytesCompleted)), 'the CRC of the bytes read');
    }
  } finally {
    closeSync(fd);
    rmSync(p);
  }
});

test('an aborted crc32cFile\'s windows, unmapped while an engine may still be in them, are taken back by an allocation that finds no room (ARENA_FULL in 10 of 20 runs right after the rejection; an outside pass)', async () => {
  const p = join(dir, 'windows-back');
  closeSync(openSync(p, 'w'));
  truncateSync(p, 2 ** 34); // (sparse; seconds of reading: no stall lets a call end before its abort)
  const d = await Device.open({ engines: 2, arenaBytes: 16 << 20 });
  try {
    d.free(d.buffer(d.arenaBytes)); // (the whole arena, taken on a fresh device)
    for (let run = 0; run < 10; run++) {
      const ac = new AbortController();
      const call = crc32cFileInfo(p, { device: d, signal: ac.signal }).catch((e: { code?: string }) => e.code);
      await new Promise((r) => setTimeout(r, 1 + (run % 4)));
      ac.abort();
      assert.is(await call, 'ABORT_ERR');
      d.free(d.buffer(d.arenaBytes)); // (ARENA_FULL while the windows were held)
    }
  } finally {
    await d.close();
    rmSync(p);
  }
});

test('a mapped file\'s ranges are 64 MiB at most whatever chunkSize says (another call\'s aborted ranges waited behind 1 GiB ones, 2.9 s; an outside pass)', async () => {
  const p = join(dir, 'ranges');
  closeSync(openSync(p, 'w'));
  truncateSync(p, 512 << 20);
  try {
    // (counted as descriptors, not progress steps: progress moves by the folded prefix, so two ranges
    // that finish out of order make one 128 MiB step)
    const before = dev.stats().completed;
    const got = await crc32cFileInfo(p, { device: dev, chunkSize: 1 << 30 });
    assert.is(got.bytes, 512 << 20);
    assert.is(got.crc, crcOf(new Uint8Array(512 << 20)));
    const ranges = dev.stats().completed - before;
    assert.ok(ranges >= 8, `${ranges} descriptors for 512 MiB`);
  } finally {
    rmSync(p);
  }
});

test('crc32cFile on a mapped file of 1 GiB chunks: an abort rejects with ABORT_ERR, a close with DEVICE_CLOSED (it listened for aborts only, and once resolved after the close)', async () => {
  const p = join(dir, 'stopped');
  closeSync(openSync(p, 'w'));
  truncateSync(p, 4 * 2 ** 30);
  try {
    for (const how of ['abort', 'close'] as const) {
      const d = await Device.open({ engines: 1, arenaBytes: 16 << 20 });
      const ac = new AbortController();
      const call = crc32cFileInfo(p, { device: d, chunkSize: 1 << 30, inFlight: 2, signal: ac.signal }).then(() => 'resolved', (e: { code?: string }) => e.code);
      await new Promise((r) => setTimeout(r, 5));
      if (how === 'abort') ac.abort();
      const closed = how === 'close' ? d.close() : null;
      assert.is(await call, how === 'abort' ? 'ABORT_ERR' : 'DEVICE_CLOSED', how);
      await closed;
      await d.close();
    }
  } finally {
    rmSync(p);
  }
});

test.run();
