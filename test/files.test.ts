// Files (issue 13): crc32cFile and copyFileCrc32c against two independent CRC-32Cs
// (@node-rs/crc32, @aws-crypto/crc32c) on files of random sizes (0, 1, chunk edges, larger
// than the arena), bad paths, a file that shrinks while it is read, aborts, and the arena
// given back after each.
import { test } from 'uvu';
import { readFile as readFileP } from 'node:fs/promises';
import * as assert from 'uvu/assert';
import { appendFileSync, chmodSync, existsSync, lstatSync, readdirSync, readlinkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { crc32c as nativeCrc } from '@node-rs/crc32';
import { crc32c as awsCrc } from '@aws-crypto/crc32c';
import { Device, type FileCrcOptions, SoftDsaError, copyFileCrc32c, copyFileCrc32cInfo, crc32cFile, crc32cFileInfo, shutdown } from '../src/index.ts';
import { defaultDeviceIfOpen } from '../src/api/default_device.ts';
import { arenaBack } from './arena_back.ts';
import { rng } from './gen.ts';

/** A FIFO made at dir/name. */
function fifoAt(name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

/** A process that holds the FIFO open at one end ('<' reading, '>' writing) and never reads or writes it. */
const holdOpen = (path: string, end: '<' | '>'): ChildProcess => spawn('sh', ['-c', `exec 3${end}"${path}"; exec sleep 30`], { stdio: 'ignore' });

const dir = mkdtempSync(join(tmpdir(), 'softdsa-files-'));
const random = rng(0x5eed_0013);
let small: Device; // an arena of 4 MiB: files below are larger than it
const ARENA = 4 << 20;

const bytes = (n: number): Buffer => randomBytes(n);
const file = (name: string, data: Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};
const want = (b: Buffer): number => nativeCrc(b) >>> 0;

test.before(async () => {
  small = await Device.open({ engines: 2, arenaBytes: ARENA });
});

test.after(async () => {
  await Promise.all([small.close(), shutdown()]);
  rmSync(dir, { recursive: true, force: true });
});


test('known vector, two independent implementations agree', async () => {
  const p = file('vector', Buffer.from('123456789'));
  assert.is(await crc32cFile(p), 0xe3069283);
  const aws = awsCrc(new Uint8Array(Buffer.from('123456789'))) >>> 0;
  assert.is(aws, 0xe3069283);
  assert.equal(await crc32cFileInfo(p), { crc: 0xe3069283, bytes: 9 });
  assert.is(await crc32cFile(p, { seed: 0x12345678 }), nativeCrc(Buffer.from('123456789'), 0x12345678) >>> 0, 'seed continues');
});

test('before the default device opens, a file of up to 8 MiB is read and checksummed here: the device stays closed; sizes at the read edges, seed, progress, growth, shrinking, abort', async () => {
  const MiB = 1 << 20;
  await shutdown();
  const first = bytes(1000);
  const t0 = performance.now();
  assert.is(await crc32cFile(file('here-first', first)), want(first));
  // (the device opens 50 ms after a first call: asked only of a call that took less, as it does unless the machine stalls)
  if (performance.now() - t0 < 40) assert.is(defaultDeviceIfOpen(), null, 'no device opened for it (nor its engines started)');
  for (const n of [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 5, 8 * MiB, 8 * MiB + 1]) {
    await shutdown(); // (the device opens 50 ms after the first call: each size from no device)
    const data = bytes(n);
    const p = file(`here${n}`, data);
    const seen: number[] = [];
    assert.equal(await crc32cFileInfo(p, { onProgress: (d, t) => void seen.push(d, t) }), { crc: want(data), bytes: n }, `${n} bytes`);
    assert.equal(seen.slice(-2), [n, n], `${n} bytes: progress reaches the size (an empty file's too: 0 of 0)`);
    assert.is(await crc32cFile(p, { seed: 0xdeadbeef }), nativeCrc(data, 0xdeadbeef) >>> 0, `${n} bytes, seeded`);
    rmSync(p);
  }
  // an empty file on a device (read, and copied): its progress says 0 of 0 too
  const empty = file('empty-progress', Buffer.alloc(0));
  for (const call of [(onProgress: (d: number, t: number) => void) => crc32cFile(empty, { device: small, onProgress }), (onProgress: (d: number, t: number) => void) => copyFileCrc32c(empty, join(dir, 'empty-copy'), { device: small, onProgress })]) {
    const seen: number[] = [];
    assert.is(await call((d, t) => void seen.push(d, t)), 0);
    assert.equal(seen, [0, 0]);
  }
  // it grows as it is read: read to its end; it shrinks: FILE_SHRANK
  await shutdown();
  const grows = bytes(2 * MiB);
  const more = bytes(12345);
  const g = file('here-grows', grows);
  let added = false;
  const got = await crc32cFileInfo(g, { onProgress: () => {
    if (!added) appendFileSync(g, more);
    added = true;
  } });
  assert.equal(got, { crc: want(Buffer.concat([grows, more])), bytes: grows.length + more.length }, 'grew: what was read');
  await shutdown();
  const s = file('here-shrinks', bytes(3 * MiB));
  const e = await crc32cFile(s, { onProgress: (d) => void (d === MiB && truncateSync(s, MiB + 100)) }).then(() => null, (err: unknown) => err as NodeJS.ErrnoException);
  assert.is(e?.code, 'FILE_SHRANK', String(e));
  // an abort: before the call, and from its progress (rejects at once, with the signal's reason)
  await shutdown();
  const a = file('here-abort', bytes(4 * MiB));
  const before = await crc32cFile(a, { signal: AbortSignal.abort('stop') }).then(() => null, (err: unknown) => err as NodeJS.ErrnoException);
  assert.is(before?.code, 'ABORT_ERR');
  const ac = new AbortController();
  const during = await crc32cFile(a, { signal: ac.signal, onProgress: () => ac.abort('enough') }).then(() => null, (err: unknown) => err as NodeJS.ErrnoException & { cause?: unknown });
  assert.is(during?.code, 'ABORT_ERR');
  assert.is(during?.cause, 'enough');
  assert.is(getEventListeners(ac.signal, 'abort').length, 0, 'its listener is gone');
  // an abort made after the call began (while it stats and opens the file)
  await shutdown();
  const soon = new AbortController();
  const late = crc32cFile(a, { signal: soon.signal });
  soon.abort('now');
  const lateErr = await late.then(() => null, (err: unknown) => err as NodeJS.ErrnoException);
  assert.is(lateErr?.code, 'ABORT_ERR', 'aborted as it began');
  // a file that says 0 bytes and has more (/proc, which gives a page a read), or that grows from 1
  // byte, is read in large reads, not one byte at a time (as its size said)
  await shutdown();
  let calls = 0;
  const maps = await crc32cFileInfo('/proc/self/maps', { onProgress: () => void calls++ });
  assert.ok(maps.bytes > 0);
  assert.ok(calls <= Math.ceil(maps.bytes / 4096) + 1, `${calls} reads for ${maps.bytes} bytes`);
  await shutdown();
  const tiny = file('here-tiny-grows', Buffer.from('x'));
  const grown = bytes(20_000);
  calls = 0;
  const got2 = await crc32cFileInfo(tiny, { onProgress: () => void (calls++ === 0 && appendFileSync(tiny, grown)) });
  assert.equal(got2, { crc: want(Buffer.concat([Buffer.from('x'), grown])), bytes: 20_001 });
  assert.ok(calls <= 3, `${calls} reads for 20001 bytes`);
  // shutdown() while it reads: it ends on this thread, and opens no new device for its later chunks
  await shutdown();
  const sd = bytes(3 * MiB + 7);
  const sp = file('here-shutdown', sd);
  let closing: Promise<void> | null = null;
  assert.is(await crc32cFile(sp, { onProgress: () => void (closing ??= shutdown()) }), want(sd));
  await closing;
  await new Promise((r) => setTimeout(r, 120)); // (past when a deferred open would have come)
  assert.is(defaultDeviceIfOpen(), null, 'shut down mid-call: no device opened after');
  // not a regular file, or a missing one: the device's path, and its errors
  const missing = await crc32cFile(join(dir, 'not-there')).then(() => null, (err: unknown) => err as NodeJS.ErrnoException);
  assert.is(missing?.code, 'ENOENT');
  const isDir = await crc32cFile(dir).then(() => null, (err: unknown) => err as NodeJS.ErrnoException);
  assert.is(isDir?.code, 'EISDIR');
});

test('before the default device opens, many small files at once: at most 16 are open at a time (a Promise.all over 1000 files met EMFILE)', async () => {
  await shutdown();
  const names = Array.from({ length: 80 }, (_, i) => file(`many-here-${i}`, bytes(1000 + i)));
  const fds = (): number => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).includes('many-here-');
    } catch {
      return false; // (closed meanwhile)
    }
  }).length;
  let most = 0;
  const got = await Promise.all(names.map((n) => crc32cFile(n, { onProgress: () => void (most = Math.max(most, fds())) })));
  assert.equal(got, names.map((n) => want(readFileSync(n))));
  assert.ok(most <= 16, `${most} files open at once`);
  for (const n of names) rmSync(n);
});

test('an abort just after the last bytes were counted still rejects, and a copy then leaves no file (crc32cFile resolved in 9 of 20 runs, copyFileCrc32c in 16 of 40, as they closed their files; outside passes)', async () => {
  const p = file('late-abort', bytes(40 << 20));
  const dst = join(dir, 'late-abort-copy');
  const dev = await Device.open({ engines: 2 });
  try {
    for (const [name, call] of [
      ['crc32cFile', (o: FileCrcOptions) => crc32cFile(p, o)],
      ['copyFileCrc32c', (o: FileCrcOptions) => copyFileCrc32c(p, dst, o)],
    ] as const) {
      for (let i = 0; i < 10; i++) {
        rmSync(dst, { force: true }); // (a dst that was there before is left as the copy left it)
        const ac = new AbortController();
        let aborted = false;
        const got = await call({
          device: dev,
          signal: ac.signal,
          onProgress: (done, total) => {
            if (done === total) setTimeout(() => ((aborted = true), ac.abort()), 0);
          },
        }).then(
          () => 'resolved',
          (e: { code?: string }) => e.code,
        );
        if (!aborted) continue;
        assert.is(got, 'ABORT_ERR', `${name}, run ${i}: resolved after its signal aborted`);
        if (name === 'copyFileCrc32c') assert.not.ok(existsSync(dst), 'the copy it made is removed');
      }
    }
  } finally {
    await dev.close();
    rmSync(dst, { force: true });
  }
});

test('random sizes: 0, 1, chunk edges, random, larger than the arena; default and small devices', async () => {
  const chunk = 64 * 1024;
  const sizes = [0, 1, 2, chunk - 1, chunk, chunk + 1, 2 * chunk, 3 * chunk + 7, 4096, 4097];
  for (let i = 0; i < 6; i++) sizes.push(random() % (1 << 20));
  for (const n of sizes) {
    const data = bytes(n);
    const p = file(`r${n}`, data);
    const w = want(data);
    assert.is(awsCrc(new Uint8Array(data)) >>> 0, w, 'the two references agree');
    assert.is(await crc32cFile(p), w, `default device, ${n} bytes`);
    assert.is(await crc32cFile(p, { chunkSize: chunk, inFlight: 3, device: small }), w, `64 KiB chunks, ${n} bytes`);
    assert.is(await crc32cFile(p, { chunkSize: 4096, inFlight: 1, device: small }), w, `one 4 KiB chunk at a time, ${n} bytes`);
    rmSync(p);
  }
  // 3x the arena of the small device, chunks that do not divide it
  const big = bytes(3 * ARENA + 12345);
  const p = file('big', big);
  const w = want(big);
  const seen: number[] = [];
  assert.is(await crc32cFile(p, { device: small, chunkSize: 1 << 20, inFlight: 2, onProgress: (d, t) => { seen.push(d); assert.is(t, big.length); } }), w, 'file > arena');
  assert.is(seen[seen.length - 1], big.length, 'progress reaches the size');
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], 'progress grows');
  assert.is(await crc32cFile(p, { device: small, chunkSize: 777_777, inFlight: 5 }), w, 'odd chunk size, as many slots as fit');
  // the arena is back: all of it can be taken
  await arenaBack(small, ARENA - (1 << 20));
});

test('copyFileCrc32c: bytes and CRC, both ways of checksumming, larger than the arena', async () => {
  for (const n of [0, 1, 65535, 65536, 65537, 3 * ARENA + 5]) {
    const data = bytes(n);
    const src = file(`c${n}`, data);
    const w = want(data);
    for (const via of ['crc32c', 'copyCrc32c'] as const) {
      const dst = join(dir, `c${n}.${via}`);
      const r = await copyFileCrc32cInfo(src, dst, { via, device: small, chunkSize: 256 * 1024, inFlight: 3 });
      assert.equal(r, { crc: w, bytes: n }, `${via} ${n}`);
      assert.ok(readFileSync(dst).equals(data), `${via}: the copy is the file (${n} bytes)`);
      rmSync(dst);
    }
    const dst = join(dir, `c${n}.default`);
    assert.is(await copyFileCrc32c(src, dst), w);
    assert.ok(readFileSync(dst).equals(data));
    rmSync(dst);
    rmSync(src);
  }
});

test('bad paths and arguments: clear errors, nothing hangs', async () => {
  const err = async (p: Promise<unknown>, match: RegExp, code?: string): Promise<void> => {
    try {
      await p;
    } catch (e) {
      assert.match(String((e as Error).message), match);
      if (code !== undefined) assert.is((e as NodeJS.ErrnoException).code, code);
      return;
    }
    assert.unreachable(`no error (expected ${match})`);
  };
  await err(crc32cFile(join(dir, 'missing')), /no such file/, 'ENOENT');
  await err(crc32cFile(dir), /is a directory/, 'EISDIR');
  // (an argument's error named by the function called, with Node's code for it)
  await err(crc32cFile(''), /^crc32cFile: path must be a path .*; got an empty string$/, 'ERR_INVALID_ARG_VALUE');
  await err(crc32cFile(42 as unknown as string), /must be a path .*; got number/, 'ERR_INVALID_ARG_TYPE');
  await err(crc32cFileInfo(42 as unknown as string), /^crc32cFileInfo: path must be a path/, 'ERR_INVALID_ARG_TYPE');
  await err(copyFileCrc32cInfo('a', Buffer.alloc(0)), /^copyFileCrc32cInfo: dst must be a path .*; got an empty Buffer$/, 'ERR_INVALID_ARG_VALUE');
  const p = file('args', Buffer.from('x'));
  await err(crc32cFile(p, { chunkSize: 0 }), /chunkSize must be an integer/, 'ERR_INVALID_ARG_VALUE');
  await err(crc32cFile(p, { chunkSize: '1' as never }), /chunkSize/, 'ERR_INVALID_ARG_TYPE');
  await err(copyFileCrc32c(p, p + '.x', { bogus: 1 } as never), /^copyFileCrc32c: /, 'ERR_INVALID_ARG_TYPE');
  await err(crc32cFile(p, { device: {} as never }), /^crc32cFile: device must be a Device/, 'ERR_INVALID_ARG_TYPE');
  await err(crc32cFile(p, { device: Device.prototype }), /^crc32cFile: device must be a Device/, 'ERR_INVALID_ARG_TYPE');
  // a chunk size under 4 KiB is taken as 4 KiB (a chunk of a byte read a 1 MiB file in 20-70 s): the same CRC
  const edges = file('tiny-chunks', bytes((1 << 20) + 3));
  assert.is(await crc32cFile(edges, { chunkSize: 1, device: small }), want(readFileSync(edges)));
  assert.is(await copyFileCrc32c(edges, join(dir, 'tiny-chunks.copy'), { chunkSize: 1000, device: small }), want(readFileSync(edges)));
  await err(crc32cFile(p, { inFlight: 1000 }), /inFlight must be an integer/);
  await err(crc32cFile(p, { signal: {} as AbortSignal }), /AbortSignal/);
  await err(crc32cFile(join(dir, 'missing'), { device: small }), /no such file/);
  // a chunk larger than the arena: smaller chunks where the chunk is read into it (a copy; it was
  // a RangeError, which crc32cFile gave before its engines ran and not after); crc32cFile maps the
  // file into the device, with no chunk buffers
  const big = file('big2', bytes(ARENA * 2));
  assert.is(await copyFileCrc32c(big, join(dir, 'big2.copy'), { device: small, chunkSize: 2 * ARENA }), want(readFileSync(big)));
  assert.equal(readFileSync(join(dir, 'big2.copy')), readFileSync(big));
  assert.is(await crc32cFile(big, { device: small, chunkSize: 2 * ARENA }), want(readFileSync(big)));
  await err(copyFileCrc32c(p, p), /same file/, 'ESAMEFILE');
  // the file calls' own errors are softdsa's, as its others are (they were plain Errors)
  for (const e of await Promise.all([crc32cFile(dir).catch((x: unknown) => x), copyFileCrc32c(p, p).catch((x: unknown) => x)])) {
    assert.ok(e instanceof SoftDsaError, String(e));
    assert.is((e as SoftDsaError).name, 'SoftDsaError');
  }
  await err(copyFileCrc32c(join(dir, 'missing'), join(dir, 'out')), /no such file/, 'ENOENT');
  assert.not.ok(existsSync(join(dir, 'out')), 'no destination made for a missing source');
  await err(copyFileCrc32c(p, join(dir, 'no-dir', 'out')), /no such file/, 'ENOENT');
  // a read's or a write's error names its file, as an open's does (fs names none: "ENOSPC: ..., write")
  if (existsSync('/dev/full')) {
    const full = await copyFileCrc32c(p, '/dev/full').then(() => null, (e: NodeJS.ErrnoException) => e);
    assert.is(full?.code, 'ENOSPC');
    assert.is(full?.path, '/dev/full');
    assert.match(full?.message ?? '', /write '\/dev\/full'$/);
  }
  const unreadable = await crc32cFile('/proc/self/mem').then(() => null, (e: NodeJS.ErrnoException) => e);
  assert.is(unreadable?.code, 'EIO');
  assert.is(unreadable?.path, '/proc/self/mem');
  // ...and only the call's own file operations: a callback's error, errno-like, goes on as it was thrown
  const mine = Object.assign(new Error('upload failed'), { code: 'EPIPE', syscall: 'write', errno: -32 });
  const thrown = await crc32cFile(p, { onProgress: () => { throw mine; } }).then(() => null, (e: unknown) => e);
  assert.is(thrown, mine);
  assert.equal([mine.message, (mine as NodeJS.ErrnoException).path], ['upload failed', undefined]);
  rmSync(big);
  // an unreadable file (unless root, who reads everything)
  if (process.getuid?.() !== 0) {
    const q = file('noread', Buffer.from('secret'));
    const { chmodSync } = await import('node:fs');
    chmodSync(q, 0);
    await err(crc32cFile(q), /permission denied/i, 'EACCES');
  }
});

test('a file that shrinks while it is read: FILE_SHRANK; one that grows: what was read', async () => {
  const data = bytes(4 << 20);
  const p = file('shrink', data);
  let cut = false;
  try {
    await crc32cFile(p, { device: small, chunkSize: 64 * 1024, inFlight: 2, onProgress: () => {
      if (!cut) truncateSync(p, 1 << 20);
      cut = true;
    } });
    assert.unreachable('no error');
  } catch (e) {
    assert.is((e as NodeJS.ErrnoException).code, 'FILE_SHRANK');
    assert.match((e as Error).message, /shrank while it was read: it had 4194304 bytes, has 1048576 now \(a read at byte \d+ found nothing more\)/);
  }
  // /proc files say 0 bytes and have more: read to the end
  const maps = readFileSync('/proc/self/cmdline');
  assert.ok(maps.length > 0);
  const got = await crc32cFileInfo('/proc/self/cmdline');
  assert.is(got.bytes, maps.length);
  assert.is(got.crc, want(maps));
});

test('a sysfs file (its size says 4096, it holds fewer bytes): what it holds, as cat reads it, not FILE_SHRANK; progress ends at what it held (a bar stopped at 0.1%)', async () => {
  const { statSync } = await import('node:fs');
  const path = ['/sys/kernel/mm/transparent_hugepage/enabled', '/sys/devices/system/cpu/online', '/sys/class/net/lo/mtu'].find((p) => existsSync(p));
  if (path === undefined) return console.log('  (no sysfs file here: skipped)');
  const data = readFileSync(path);
  assert.ok(statSync(path).size > data.length, `${path} says ${statSync(path).size} bytes and holds ${data.length}`);
  const got = await crc32cFileInfo(path, { device: small });
  assert.equal([got.crc, got.bytes], [want(data), data.length]);
  for (const [how, call] of [['read', (onProgress: (d: number, t: number) => void) => crc32cFileInfo(path, { device: small, onProgress })], ['copied', (onProgress: (d: number, t: number) => void) => copyFileCrc32cInfo(path, join(dir, 'sysfs-copy'), { device: small, onProgress })]] as const) {
    const seen: Array<[number, number]> = [];
    assert.is((await call((d, t) => void seen.push([d, t]))).bytes, data.length);
    assert.equal(seen.at(-1), [data.length, data.length], `${how}: ${JSON.stringify(seen)}`);
  }
});

test('a pipe (not seekable): read in order to its end', async () => {
  const fifo = fifoAt('fifo2');
  const data = bytes(1 << 20);
  const src = file('fifo-src', data);
  const child = spawn('sh', ['-c', `cat ${JSON.stringify(src)} > ${JSON.stringify(fifo)}`], { stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  const totals = new Set<number>();
  assert.is(await crc32cFile(fifo, { chunkSize: 100_000, device: small, onProgress: (_, total) => void totals.add(total) }), want(data));
  await exited;
  assert.equal([...totals], [0], 'its size is not known: total 0 (it read as done at every chunk)');
});

test('a copy to a pipe: the reader gets the bytes in order (chunks read at once landed out of order), both ways', async () => {
  const data = bytes(3 << 20);
  const src = file('to-pipe-src', data);
  for (const via of ['crc32c', 'copyCrc32c'] as const) {
    for (let round = 0; round < 3; round++) {
      const fifo = fifoAt(`to-pipe-${via}-${round}`);
      const got = join(dir, `to-pipe-got-${via}-${round}`);
      const child = spawn('sh', ['-c', `cat ${JSON.stringify(fifo)} > ${JSON.stringify(got)}`], { stdio: 'ignore' });
      const exited = new Promise((r) => child.on('exit', r));
      const info = await copyFileCrc32cInfo(src, fifo, { chunkSize: 64 << 10, via, device: small });
      await exited;
      assert.equal([info.crc, info.bytes], [want(data), data.length]);
      assert.ok(readFileSync(got).equals(data), `${via}, round ${round}: the bytes in order`);
    }
  }
});

test('abort: before the start, and in the middle; the arena comes back; a copy leaves no file', async () => {
  const data = bytes(3 * ARENA);
  const p = file('abort', data);
  const pre = new AbortController();
  pre.abort(new Error('not now'));
  try {
    await crc32cFile(p, { signal: pre.signal, device: small });
    assert.unreachable('no error');
  } catch (e) {
    assert.is((e as Error).name, 'AbortError');
    assert.is((e as NodeJS.ErrnoException).code, 'ABORT_ERR');
    assert.is(((e as Error).cause as Error).message, 'not now');
  }
  for (let i = 0; i < 6; i++) {
    const ac = new AbortController();
    const t0 = performance.now();
    try {
      await crc32cFile(p, { signal: ac.signal, device: small, chunkSize: 1 << 20, inFlight: 3, onProgress: (done) => done >= (1 << 20) && ac.abort() });
      assert.unreachable('no error');
    } catch (e) {
      assert.is((e as Error).name, 'AbortError', String(e));
    }
    assert.ok(performance.now() - t0 < 5000);
  }
  await arenaBack(small, ARENA - (1 << 20));
  // copy: aborted, the destination is removed
  const ac = new AbortController();
  const dst = join(dir, 'abort.copy');
  try {
    await copyFileCrc32c(p, dst, { signal: ac.signal, device: small, chunkSize: 256 * 1024, onProgress: (done) => done > (1 << 20) && ac.abort() });
    assert.unreachable('no error');
  } catch (e) {
    assert.is((e as Error).name, 'AbortError');
  }
  assert.not.ok(existsSync(dst), 'no partial copy left');
  // still works afterwards
  assert.is(await crc32cFile(p, { device: small, chunkSize: 1 << 20, inFlight: 3 }), want(data));
});

test('a device with a small maxTransfer: copies and checksums of files take chunks one call can hold (8 MiB at 64 bytes was 131,072 descriptors: a RangeError of a crc32c call the program never made)', async () => {
  const data = bytes(3 << 20);
  const p = file('small-transfer', data);
  const dev = await Device.open({ engines: 1, maxTransfer: 8, arenaBytes: 32 << 20 });
  try {
    for (const via of ['crc32c', 'copyCrc32c'] as const) {
      const dst = join(dir, `small-transfer.${via}`);
      assert.is(await copyFileCrc32c(p, dst, { device: dev, via }), want(data), via);
      assert.ok(readFileSync(dst).equals(data), via);
    }
    assert.is(await crc32cFile(p, { device: dev }), want(data));
  } finally {
    await dev.close();
  }
});

test('a copy from a character device that fails onto a dst that was there: dst is closed when the call rejects (it was open 9-45 ms more), and left', async () => {
  const dst = join(dir, 'urandom.existing');
  const fdsOf = (path: string): number => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
  for (let i = 0; i < 6; i++) {
    writeFileSync(dst, 'old');
    const e = await copyFileCrc32c('/dev/urandom', dst, { device: small, chunkSize: 256 * 1024, onProgress: (done) => { if (done > (1 << 20)) throw new Error('enough'); } }).then(() => null, (x: unknown) => x as Error);
    assert.is(e?.message, 'enough');
    assert.is(fdsOf(dst), 0, `dst closed as the call rejects (run ${i})`);
    assert.ok(existsSync(dst), 'a dst that was there is left');
  }
});

test('a copy from a character device, aborted or failed, leaves no file: the copy rejects before its read in flight is done, and closes dst first (it was left, still open, in 18 of 20 runs)', async () => {
  for (let i = 0; i < 8; i++) {
    const dst = join(dir, `urandom.${i}.copy`);
    const ac = new AbortController();
    const stop = new Error('enough');
    const opts = i % 2 === 0
      ? { signal: ac.signal, device: small, chunkSize: 256 * 1024, onProgress: (done: number) => done > (1 << 20) && ac.abort() }
      : { device: small, chunkSize: 256 * 1024, onProgress: (done: number) => { if (done > (1 << 20)) throw stop; } };
    const e = await copyFileCrc32c('/dev/urandom', dst, opts).then(() => null, (x: unknown) => x as Error);
    assert.ok(e !== null, 'rejects');
    assert.ok(i % 2 === 0 ? e.name === 'AbortError' : e === stop, String(e));
    assert.not.ok(existsSync(dst), `no partial copy left (run ${i})`);
  }
});

test('an aborted or failed copy removes only a dst it made: a link, or a file that was there, stays; an abort while dst is being opened leaves none', async () => {
  const src = file('keep-src', bytes(4 << 20));
  // a link: the copy wrote through it, into its target; the link is the caller's
  const target = join(dir, 'keep-target');
  writeFileSync(target, 'precious');
  const link = join(dir, 'keep-link');
  symlinkSync(target, link);
  for (const dst of [link, target]) {
    const ac = new AbortController();
    try {
      await copyFileCrc32c('/dev/zero', dst, { signal: ac.signal, device: small, chunkSize: 256 << 10, onProgress: (done) => done > (1 << 20) && ac.abort() });
      assert.unreachable('no error');
    } catch (e) {
      assert.is((e as Error).name, 'AbortError');
    }
    assert.ok(lstatSync(dst).isSymbolicLink() === (dst === link), `${dst} is still there, as it was`);
  }
  // copies aborted at random while they open their files: none leaves a dst behind
  const r = rng(7);
  for (let round = 0; round < 3; round++) {
    const calls = Array.from({ length: 16 }, (_, i) => {
      const dst = join(dir, `race-${i}.copy`);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), r() % 12);
      // the caller writes its own file there as soon as the copy has rejected: it must stay
      return copyFileCrc32c(src, dst, { signal: ac.signal, device: small }).then(() => null, () => {
        const left = existsSync(dst);
        writeFileSync(dst, 'mine');
        return { dst, left };
      });
    });
    const aborted = (await Promise.all(calls)).filter((d): d is { dst: string; left: boolean } => d !== null);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const { dst, left } of aborted) {
      assert.not.ok(left, `${dst}: aborted, yet left behind`);
      assert.ok(existsSync(dst) && readFileSync(dst, 'utf8') === 'mine', `${dst}: the caller's file, written after the rejection, was removed`);
    }
    for (let i = 0; i < 16; i++) rmSync(join(dir, `race-${i}.copy`), { force: true });
  }
});

/** A copy to dst that its `ac` aborts; `outcome`: 'resolved', or the code it rejected with. */
const abortableCopy = (src: string, dst: string, opts: Parameters<typeof copyFileCrc32c>[2] = {}): { ac: AbortController; outcome: Promise<string | undefined> } => {
  const ac = new AbortController();
  const outcome = copyFileCrc32c(src, dst, { ...opts, signal: ac.signal }).then(() => 'resolved', (e: { code?: string }) => e.code);
  return { ac, outcome };
};

/** The copy that resolved with `crc` left its file: dst is there, holding src's bytes. */
const keptCopy = (src: string, dst: string, crc: number, what: string): void => {
  assert.ok(existsSync(dst), `${what} and dst is there`);
  assert.is(crc, want(readFileSync(src)));
  assert.ok(readFileSync(dst).equals(readFileSync(src)), `${what}: dst holds the copy`);
};

test('an aborted copy does not remove the file a copy to the same dst opened since: a retry at once resolves and its file stays (it was removed under it)', async () => {
  const src = file('retry-src.bin', bytes(8 << 20));
  const dst = join(dir, 'retry-dst.bin');
  for (let i = 0; i < 3; i++) {
    rmSync(dst, { force: true });
    let started!: () => void;
    const making = new Promise<void>((r) => (started = r));
    const first = abortableCopy(src, dst, { chunkSize: 64 << 10, inFlight: 1, onProgress: () => started() });
    await making; // (the first has made dst and written to it)
    const crc = await copyFileCrc32c(src, dst, { onProgress: () => first.ac.abort() });
    keptCopy(src, dst, crc, `run ${i}: the retry resolved (the first: ${await first.outcome})`);
  }
});

test('the latest copy wins: a copy started while an older one writes the same dst, then the older aborted, keeps its file (the older removed it in the gap before the newer had claimed it: 18 of 20 runs)', async () => {
  const src = file('latest-src.bin', bytes(4 << 20));
  const dst = join(dir, 'latest-dst.bin');
  for (let i = 0; i < 8; i++) {
    rmSync(dst, { force: true });
    const older = abortableCopy(src, dst, { chunkSize: 256 << 10, inFlight: 1 });
    while (!existsSync(dst)) await new Promise((r) => setImmediate(r));
    const newer = copyFileCrc32c(src, dst);
    for (let k = 0; k < 1 + (i % 4); k++) await new Promise((r) => setImmediate(r));
    older.ac.abort();
    const [o, crc] = await Promise.all([older.outcome, newer]);
    keptCopy(src, dst, crc, `run ${i}: the newer copy resolved (the older: ${o})`);
  }
});

test('many calls at once (a Promise.all over a directory) on a small arena: each right, in turns; an abort while waiting for a turn', async () => {
  const files = Array.from({ length: 40 }, (_, i) => {
    const data = bytes((1 << 20) + 1000 * i);
    return { p: file(`many${i}`, data), crc: want(data) };
  });
  // crc32cFile and copyFileCrc32c mixed: 40 calls on a 4 MiB arena, 1 MiB chunks
  const got = await Promise.all(files.map(({ p }, i) => (i % 4 === 3 ? copyFileCrc32c(p, `${p}.copy`, { device: small, chunkSize: 1 << 20 }) : crc32cFile(p, { device: small, chunkSize: 1 << 20 }))));
  assert.equal(got, files.map((f) => f.crc));
  for (let i = 3; i < files.length; i += 4) assert.is(want(readFileSync(`${files[i].p}.copy`)), files[i].crc, 'the copies are whole');
  // past the 16 calls that run at once, one waits for its turn: aborted there, it rejects at once
  const ac = new AbortController();
  const running = files.map(({ p }) => crc32cFile(p, { device: small, chunkSize: 1 << 20 }));
  const waiting = crc32cFile(files[0].p, { device: small, signal: ac.signal });
  ac.abort();
  try {
    await waiting;
    assert.unreachable('no error');
  } catch (e) {
    assert.is((e as Error).name, 'AbortError');
  }
  assert.equal(await Promise.all(running), files.map((f) => f.crc));
  // and on a device whose engines have not started yet (all of it read into the arena)
  const fresh = Device.openSync({ engines: 2, arenaBytes: ARENA });
  try {
    assert.equal(await Promise.all(files.slice(0, 20).map(({ p }) => crc32cFile(p, { device: fresh }))), files.slice(0, 20).map((f) => f.crc));
  } finally {
    await fresh.close();
  }
  await arenaBack(small, ARENA - (1 << 20));
});

test('one signal given to many calls at once: one listener on it (no MaxListenersExceededWarning), none left after; an abort rejects every one', async () => {
  const data = bytes(3 << 20);
  const p = file('shared-signal', data);
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const ac = new AbortController();
    const calls = Array.from({ length: 30 }, (_, i) => (i % 3 === 2 ? copyFileCrc32c(p, `${p}.${i}`, { device: small, signal: ac.signal }) : crc32cFile(p, { device: small, signal: ac.signal })));
    assert.ok(getEventListeners(ac.signal, 'abort').length <= 1, `${getEventListeners(ac.signal, 'abort').length} listeners`);
    assert.equal(await Promise.all(calls), calls.map(() => want(data)));
    assert.is(getEventListeners(ac.signal, 'abort').length, 0, 'none left');
    const aborted = Array.from({ length: 30 }, () => crc32cFile(p, { device: small, signal: ac.signal, chunkSize: 64 << 10 }));
    ac.abort();
    const outcomes = await Promise.allSettled(aborted);
    assert.ok(outcomes.every((o) => o.status === 'rejected' && (o.reason as Error).name === 'AbortError'), 'every call rejects');
    await new Promise((r) => setImmediate(r));
    assert.equal(warnings, []);
  } finally {
    process.off('warning', onWarning);
  }
  await arenaBack(small, ARENA - (1 << 20));
});

test('copies at once leave the arena room for the calls\' own descriptors; a chunk and its copy are taken together, and waited for', async () => {
  const data = bytes((1 << 20) + 777);
  const src = file('room-src', data);
  // 12 copies on the 4 MiB arena, 1 MiB chunks: their buffers alone would take it all
  for (const via of ['crc32c', 'copyCrc32c'] as const) {
    const got = await Promise.all(Array.from({ length: 12 }, (_, i) => copyFileCrc32c(src, join(dir, `room-${via}-${i}`), { device: small, chunkSize: 1 << 20, via })));
    assert.equal(got, new Array(12).fill(want(data)), via);
  }
  // a chunk that fits only by taking the last of the arena (kept for the calls' descriptors): the
  // arena could never hold it, and it is halved until it fits (it was refused, where crc32cFile
  // with its engines running took it: the same call failed or not by when it was made)
  const bigData = bytes(ARENA - 8192);
  assert.is(await copyFileCrc32c(file('room-big-src', bigData), join(dir, 'room-big'), { device: small, chunkSize: ARENA - 4096 }), want(bigData));
  assert.equal(readFileSync(join(dir, 'room-big')), bigData);
  await arenaBack(small, ARENA - (1 << 20));
});

test('calls that all find no arena room do not wait for each other: each rejects, saying so', async () => {
  const p = file('noroom', bytes(1 << 20));
  const hogs: Buffer[] = [];
  for (let size = ARENA; size >= 4096; ) {
    try {
      hogs.push(small.buffer(size));
    } catch {
      size >>>= 1;
    }
  }
  try {
    const timeout = new Promise((r) => setTimeout(() => r('still pending after 10 s'), 10_000));
    const got = await Promise.race([Promise.allSettled([0, 1, 2].map(() => crc32cFile(p, { device: small }))), timeout]);
    assert.ok(Array.isArray(got), String(got));
    for (const r of got as PromiseSettledResult<number>[]) {
      assert.is(r.status, 'rejected');
      assert.match(String((r as PromiseRejectedResult).reason?.message), /no room for one/);
    }
  } finally {
    for (const h of hogs) small.free(h.byteOffset);
  }
  await arenaBack(small, ARENA - (1 << 20));
});

test('paths: Buffer paths keep their bytes, URLs must be file: URLs (as fs says)', async () => {
  const name = Buffer.concat([Buffer.from(join(dir, 'lat')), Buffer.from([0xe9])]); // not UTF-8
  writeFileSync(name, 'hello');
  assert.is(await crc32cFile(name), want(Buffer.from('hello')));
  const out = Buffer.concat([Buffer.from(join(dir, 'out')), Buffer.from([0xe9])]);
  assert.is(await copyFileCrc32c(name, out), want(Buffer.from('hello')));
  assert.is(readFileSync(out).toString(), 'hello', 'written under its own bytes');
  const p = file('url', Buffer.from('abc'));
  assert.is(await crc32cFile(new URL(`file://${p}`)), want(Buffer.from('abc')));
  for (const [u, code] of [[`http://example.com${p}`, 'ERR_INVALID_URL_SCHEME'], [`file://otherhost${p}`, 'ERR_INVALID_FILE_URL_HOST'], [`file://${dir}/a%2Fb`, 'ERR_INVALID_FILE_URL_PATH']]) {
    try {
      await crc32cFile(new URL(u));
      assert.unreachable(`no error for ${u}`);
    } catch (e) {
      assert.is((e as NodeJS.ErrnoException).code, code, u);
    }
  }
});

test('paths: a relative one is the working directory\'s when the call is made, as fs takes it (a chdir() while calls wait their turn)', async () => {
  const here = process.cwd();
  const sub = join(dir, 'rel');
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, 'f'), 'relative');
  writeFileSync(join(sub, Buffer.from([0x66, 0xe9]).toString('latin1')), 'x'); // (a name to reach by a Buffer path)
  process.chdir(sub);
  try {
    const calls = Array.from({ length: 40 }, () => crc32cFile('f'));
    const copy = copyFileCrc32c('f', 'g');
    const byBytes = crc32cFile(Buffer.from('f'));
    process.chdir('/'); // (the calls above wait their turn: they open after this)
    for (const c of await Promise.all(calls)) assert.is(c, want(Buffer.from('relative')));
    assert.is(await copy, want(Buffer.from('relative')));
    assert.is(await byBytes, want(Buffer.from('relative')));
    assert.is(readFileSync(join(sub, 'g'), 'utf8'), 'relative', 'written where the call was made');
  } finally {
    process.chdir(here);
  }
  // a working directory whose name is not UTF-8 (process.cwd() changes such bytes): as fs finds it
  const odd = Buffer.concat([Buffer.from(join(dir, 'cwd')), Buffer.from([0xff])]);
  mkdirSync(odd);
  writeFileSync(Buffer.concat([odd, Buffer.from('/z.txt')]), 'odd');
  // (the compiled package: tsx's esbuild would be started in the working directory as process.cwd() gives it)
  const src = JSON.stringify(join(import.meta.dirname, '..', 'dist', 'src', 'index.js'));
  const script = `import { crc32cFile, shutdown } from ${src}; console.log(await crc32cFile('z.txt'), await crc32cFile(Buffer.from('z.txt'))); await shutdown();`;
  const r = spawnSync('bash', ['-c', `cd "$(printf '%s\\xff' "$1")" && exec "$2" --input-type=module -e "$3"`, '-', join(dir, 'cwd'), process.execPath, script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), `${want(Buffer.from('odd'))} ${want(Buffer.from('odd'))}`);
});

test('an abort rejects at once while the open waits (a FIFO with no writer yet)', async () => {
  const fifo = fifoAt('fifo-wait');
  const t = performance.now();
  try {
    await crc32cFile(fifo, { signal: AbortSignal.timeout(100) });
    assert.unreachable('no error');
  } catch (e) {
    assert.is((e as Error).name, 'AbortError');
  }
  assert.ok(performance.now() - t < 2000, 'at once, not when a writer comes');
});

test('a program whose file call on a FIFO with no other end was aborted, or whose device closed under it, exits on its own (the open held a thread of the pool)', async () => {
  const index = join(import.meta.dirname, '..', 'src', 'index.ts');
  for (const [name, call] of [
    ['read, aborted', (f: string) => `await crc32cFile(${JSON.stringify(f)}, { signal: AbortSignal.timeout(100) })`],
    ['copy into it, aborted', (f: string) => `await copyFileCrc32c(${JSON.stringify(join(dir, 'a.bin'))}, ${JSON.stringify(f)}, { signal: AbortSignal.timeout(100) })`],
    ['read, the device closed', (f: string) => `const dev = await Device.open({ engines: 1 }); const p = crc32cFile(${JSON.stringify(f)}, { device: dev }); setTimeout(() => dev.close(), 100); await p`],
  ] as const) {
    const fifo = fifoAt(`fifo-exit-${name.replace(/\W+/g, '-')}`);
    writeFileSync(join(dir, 'a.bin'), 'abc');
    const script = join(dir, 'fifo-exit.mts');
    writeFileSync(script, `import { copyFileCrc32c, crc32cFile, Device } from ${JSON.stringify(index)};
      try { ${call(fifo)}; console.log('resolved'); } catch (e) { console.log(e.code ?? e.name); }`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 20_000 });
    assert.is(r.signal, null, `${name}: the program did not exit (${r.stderr})`);
    assert.is(r.stdout.trim(), name.endsWith('closed') ? 'DEVICE_CLOSED' : 'ABORT_ERR', name);
  }
  // More aborted opens than Node's pool has threads (4): those queued behind the first start, and
  // block, only once the first were let go (the program hung in 4 of 5 runs)
  const many = Array.from({ length: 16 }, (_, i) => fifoAt(`fifo-exit-many-${i}`));
  const script = join(dir, 'fifo-exit-many.mts');
  writeFileSync(script, `import { crc32cFile } from ${JSON.stringify(index)};
    const signal = AbortSignal.timeout(1000);
    const all = await Promise.allSettled(${JSON.stringify(many)}.map((f) => crc32cFile(f, { signal })));
    console.log(all.map((r) => r.reason?.code ?? r.status).join(' '));`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 20_000 });
  assert.is(r.signal, null, `16 FIFOs: the program did not exit (${r.stderr})`);
  assert.is(r.stdout.trim(), Array(16).fill("ABORT_ERR").join(' '));
});

test('options: a device that is not one, a chunkSize that is not a number: TypeErrors naming them', async () => {
  const p = file('opts', Buffer.from('x'));
  for (const [opts, match] of [[{ device: {} }, /device must be a Device/], [{ chunkSize: '1024' }, /chunkSize must be a number/]] as const) {
    try {
      await crc32cFile(p, opts as never);
      assert.unreachable('no error');
    } catch (e) {
      assert.instance(e, TypeError);
      assert.match((e as Error).message, match);
    }
  }
});

test('copyFileCrc32c gives dst src\'s mode bits, as fs.copyFile does, also to a dst that existed', async () => {
  const { chmodSync, statSync } = await import('node:fs');
  const src = file('mode-src', Buffer.from('m'));
  chmodSync(src, 0o751);
  const dst = file('mode-dst', Buffer.from('old'));
  chmodSync(dst, 0o600);
  await copyFileCrc32c(src, dst);
  assert.is(statSync(dst).mode & 0o777, 0o751);
  assert.is(readFileSync(dst, 'utf8'), 'm', 'a longer dst that existed is cut to the copy');
  // the setuid, setgid and sticky bits too, as fs.copyFile gives them
  chmodSync(src, 0o6751);
  const { copyFileSync } = await import('node:fs');
  const theirs = join(dir, 'mode-theirs');
  copyFileSync(src, theirs);
  await copyFileCrc32c(src, dst);
  assert.is((statSync(dst).mode & 0o7777).toString(8), (statSync(theirs).mode & 0o7777).toString(8));
});

test('an error in onProgress, thrown or as an async callback\'s rejection, rejects the call (mapped, read and copied); none goes unhandled', async () => {
  const p = file('progress-throws', bytes(1 << 20));
  const unhandled: unknown[] = [];
  const note = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', note);
  try {
    const fifo = fifoAt('progress-fifo');
    const feeder = spawn('sh', ['-c', `head -c 1048576 /dev/zero > "${fifo}"`], { stdio: 'ignore' });
    const calls: Array<[string, (onProgress: (d: number, t: number) => unknown, chunkSize?: number) => Promise<unknown>]> = [
      ['mapped', (onProgress, chunkSize = 64 * 1024) => crc32cFile(p, { device: small, chunkSize, onProgress })],
      ['read', (onProgress, chunkSize = 64 * 1024) => crc32cFile(fifo, { device: small, chunkSize, onProgress })],
      ['copied', (onProgress, chunkSize = 64 * 1024) => copyFileCrc32c(p, join(dir, 'progress-copy'), { device: small, chunkSize, onProgress })],
    ];
    for (const [how, call] of calls) {
      for (const onProgress of [() => { throw new Error('boom'); }, async () => { throw new Error('async boom'); }]) {
        if (how === 'read' && onProgress.constructor.name === 'Function') continue; // (one pass over the FIFO)
        const e = await call(onProgress).then(() => null, (err: unknown) => err);
        assert.ok(e instanceof Error && /boom/.test(e.message), `${how}: ${String(e)}`);
      }
    }
    // thrown for the last bytes only, as the call completes (a mapped file's call resolved past an async callback's)
    const last = (d: number, t: number): void => {
      if (d === t) throw new Error('last boom');
    };
    for (const [how, call] of calls) {
      if (how === 'read') continue; // (a FIFO has no total)
      for (const onProgress of [last, async (d: number, t: number) => last(d, t)]) {
        for (const chunkSize of [64 * 1024, 1 << 20]) {
          const e = await call(onProgress, chunkSize).then(() => null, (err: unknown) => err);
          assert.ok(e instanceof Error && /last boom/.test(e.message), `${how}, ${onProgress.name || 'async'}, chunk ${chunkSize}: ${String(e)}`);
        }
      }
    }
    // null and undefined are failures too (a copy resolved past a rejection with null)
    for (const [how, call] of calls) {
      if (how === 'read') continue;
      for (const value of [null, undefined]) {
        for (const onProgress of [() => { throw value; }, async () => { throw value; }]) {
          const got = await call(onProgress).then(() => 'resolved', (err: unknown) => ({ rejected: err }));
          assert.equal(got, { rejected: value }, `${how}, ${String(value)}`);
        }
      }
    }
    feeder.kill();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(unhandled, []);
  } finally {
    process.off('unhandledRejection', note);
  }
  // a small file before the default device opens (read and checksummed on the calling thread)
  const index = join(import.meta.dirname, '..', 'src', 'index.ts');
  const script = join(dir, 'progress-small.mts');
  writeFileSync(script, `import { crc32cFile } from ${JSON.stringify(index)};
    for (const onProgress of [(d, t) => { if (d === t) throw new Error('x'); }, async (d, t) => { if (d === t) throw new Error('x'); }])
      console.log(await crc32cFile(${JSON.stringify(p)}, { onProgress }).then(() => 'resolved', (e) => e.message));`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 20_000 });
  assert.is(r.stdout.trim(), 'x\nx', r.stderr);
});

test('a failed copy rejects once its writes in flight are done: a dst that was there, written by the caller after the rejection, keeps what the caller wrote', async () => {
  const src = file('late-src', bytes(48 << 20));
  const dst = join(dir, 'late-dst');
  for (let round = 0; round < 3; round++) {
    writeFileSync(dst, 'there before');
    const ac = new AbortController();
    try {
      await copyFileCrc32c(src, dst, { signal: ac.signal, chunkSize: 4 << 20, inFlight: 8, onProgress: () => ac.abort() });
      assert.unreachable('no error');
    } catch (e) {
      assert.is((e as Error).name, 'AbortError');
    }
    writeFileSync(dst, 'MINE'); // (truncates: a late write would extend or overwrite it)
    await new Promise((r) => setTimeout(r, 150));
    assert.is(readFileSync(dst, 'utf8'), 'MINE', `round ${round}: written after the rejection`);
  }
});

test('an abort rejects at once while a call waits for arena room (another call holds it); a call does not wait for room a pipe\'s call holds (it may never end)', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 16 << 20 });
  const src = file('room-src', bytes(6 << 20));
  const stop = new AbortController();
  // /dev/zero, read for ever: 12 of the 16 MiB until aborted
  const holder = crc32cFile('/dev/zero', { device: dev, chunkSize: 6 << 20, inFlight: 2, signal: stop.signal }).catch((e: Error) => e.name);
  const fifo = fifoAt('fifo-room');
  const writer = spawn('sh', ['-c', `(head -c 10 /dev/zero; sleep 3) > ${fifo}`]);
  /** Waits (up to 10 s) until another call holds the arena's room: a 6 MiB buffer no longer fits. */
  const held = async (): Promise<void> => {
    for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 10))) {
      try {
        dev.free(dev.buffer(6 << 20));
      } catch {
        return;
      }
    }
    throw new Error('no call took the room');
  };
  /** Waits (up to 10 s) until the room is back: 12 MiB fit. */
  const back = async (): Promise<void> => {
    for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 10))) {
      try {
        dev.free(dev.buffer(12 << 20));
        return;
      } catch {
        // not yet
      }
    }
    throw new Error('the room did not come back');
  };
  try {
    await held();
    const t = performance.now();
    const e = await copyFileCrc32c(src, join(dir, 'room-dst'), { device: dev, chunkSize: 8 << 20, signal: AbortSignal.timeout(100) }).then(() => null, (err: Error) => err);
    assert.is(e?.name, 'AbortError');
    assert.ok(performance.now() - t < 2000, 'at once, not when the other call ends');
    stop.abort();
    assert.is(await holder, 'AbortError');
    // the same room held by a call on a FIFO (two 6 MiB chunks): refused at once, not waited for
    // (an aborted call on a device file rejects before its chunks are back: they are waited for here)
    await back();
    const piped = crc32cFile(fifo, { device: dev, chunkSize: 6 << 20 }).then((crc) => crc, (err: Error) => err);
    await held();
    const refused = await copyFileCrc32c(src, join(dir, 'room-dst'), { device: dev, chunkSize: 8 << 20 }).then(() => null, (err: Error) => err);
    assert.ok(refused instanceof RangeError && /arena/.test(refused.message), String(refused));
    writer.kill();
    assert.is(await piped, want(Buffer.alloc(10)), 'the pipe\'s call');
  } finally {
    stop.abort();
    writer.kill();
    await dev.close();
  }
});

test('a copy into a FIFO whose reader stopped reading: an abort, or close(), rejects at once (a write there can block for good)', async () => {
  const src = file('stall-src', bytes(8 << 20));
  for (const how of ['abort', 'close'] as const) {
    const fifo = fifoAt(`fifo-stall-${how}`);
    const reader = holdOpen(fifo, '<'); // opens, never reads
    const dev = await Device.open({ engines: 1 });
    try {
      const ac = new AbortController();
      let settled = '';
      const copy = copyFileCrc32c(src, fifo, { device: dev, signal: ac.signal }).then(() => (settled = 'resolved'), (e: Error & { code?: string }) => (settled = e.code ?? e.name));
      await new Promise((r) => setTimeout(r, 300));
      if (how === 'abort') ac.abort();
      else await dev.close();
      await Promise.race([copy, new Promise((r) => setTimeout(r, 2000))]);
      assert.is(settled, how === 'abort' ? 'ABORT_ERR' : 'DEVICE_CLOSED', how);
    } finally {
      reader.kill();
      await dev.close();
    }
  }
});

test('a chunk size not given is halved before the call waits for another file call to end (one reading an idle FIFO may never end)', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 8 << 20 });
  const fifo = fifoAt('fifo-idle');
  const writer = holdOpen(fifo, '>'); // opens, never writes
  try {
    await new Promise((r) => setTimeout(r, 200));
    const ac = new AbortController();
    const stuck = crc32cFile(fifo, { device: dev, signal: ac.signal, chunkSize: 1 << 20 }).catch(() => {});
    const hog = dev.buffer(2560 << 10); // leaves ~1.5 MiB of the arena
    const data = bytes(3 << 20);
    const p = file('halve-src', data);
    const got = await Promise.race([copyFileCrc32c(p, join(dir, 'halve-dst'), { device: dev }), new Promise((r) => setTimeout(() => r('still waiting'), 2000))]);
    assert.is(got, want(data));
    ac.abort();
    await stuck;
    dev.free(hog);
  } finally {
    writer.kill();
    await dev.close();
  }
});

test('close() settles every file call: one waiting in open() of a FIFO, one blocked reading one, one waiting for arena room', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 8 << 20 });
  const idle = fifoAt('fifo-close-idle');
  const lonely = fifoAt('fifo-close-lonely');
  const writer = holdOpen(idle, '>'); // opens, never writes
  const hogs: Buffer[] = [];
  try {
    await new Promise((r) => setTimeout(r, 200));
    const said = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: Error & { code?: string }) => e.code ?? e.name);
    const opening = said(crc32cFile(lonely, { device: dev })); // no writer: open() waits
    const reading = said(crc32cFile(idle, { device: dev, chunkSize: 1 << 20 })); // read() waits
    // (a call the one below can wait for: those on pipes may never end, and are not waited for)
    // (the hogs below come once it has its buffers: before, both it and the last call found no room)
    let progressed: () => void = () => {};
    const going = new Promise<void>((r) => (progressed = r));
    const zeros = said(crc32cFile('/dev/zero', { device: dev, chunkSize: 1 << 20, inFlight: 2, onProgress: () => progressed() }));
    await going;
    for (let size = 8 << 20; size >= 4096; size >>= 1) {
      try {
        hogs.push(dev.buffer(size));
      } catch {
        // next size down
      }
    }
    const waiting = said(crc32cFile(file('close-room', bytes(100 << 10)), { device: dev })); // no room, waits for another call
    await new Promise((r) => setTimeout(r, 100));
    await dev.close();
    const settled = await Promise.race([Promise.all([opening, reading, zeros, waiting]), new Promise((r) => setTimeout(() => r('pending'), 2000))]);
    assert.equal(settled, ['DEVICE_CLOSED', 'DEVICE_CLOSED', 'DEVICE_CLOSED', 'DEVICE_CLOSED']);
  } finally {
    writer.kill();
    await dev.close();
  }
});

test('a FIFO is read and written through a pipe an abort ends: other waiters on it are not disturbed (a reader got an empty stream, a waiting writer SIGPIPE), a read blocked on a silent writer gives back its descriptor and Node\'s pool', async () => {
  // two calls wait for a writer; one is aborted: the other gets the writer's bytes
  const f1 = fifoAt('fifo-two-waiters');
  const ac = new AbortController();
  const aborted = crc32cFileInfo(f1, { signal: ac.signal }).then(() => 'done', (e: NodeJS.ErrnoException) => e.code);
  const other = crc32cFileInfo(f1);
  await new Promise((r) => setTimeout(r, 100));
  ac.abort();
  assert.is(await aborted, 'ABORT_ERR');
  await new Promise((r) => setTimeout(r, 100));
  const writer = spawn('sh', ['-c', `printf 123456789 > "${f1}"`], { stdio: 'ignore' });
  const writerExit = new Promise((r) => writer.on('exit', r));
  assert.equal(await other, { crc: 0xe3069283, bytes: 9 }, 'the other waiter reads the writer\'s bytes');
  await writerExit;
  // a copy into a FIFO, aborted while it waits for a reader: a writer waiting there is not killed
  const f2 = fifoAt('fifo-writer-waits');
  const ac2 = new AbortController();
  const copy = copyFileCrc32c(file('to-fifo-src', bytes(100)), f2, { signal: ac2.signal }).then(() => 'done', (e: NodeJS.ErrnoException) => e.code);
  const victim = spawn('sh', ['-c', `printf important > "${f2}"`], { stdio: 'ignore' });
  const victimExit = new Promise<{ code: number | null; signal: string | null }>((r) => victim.on('exit', (code, signal) => r({ code, signal })));
  await new Promise((r) => setTimeout(r, 100));
  ac2.abort();
  assert.is(await copy, 'ABORT_ERR');
  const got = execFileSync('cat', [f2], { encoding: 'utf8', timeout: 10_000 });
  assert.is(got, 'important', 'the waiting writer reaches its reader');
  assert.equal(await victimExit, { code: 0, signal: null });
  // reads blocked on writers that hold their ends open and write nothing: aborted, each gives its
  // descriptor back, and the pool is free for other calls (4 such reads took all of it for good)
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const before = fds();
  const f3 = fifoAt('fifo-silent');
  const holders = [0, 1, 2, 3, 4].map(() => spawn('sh', ['-c', `exec 3>"${f3}"; printf x >&3; exec sleep 30`], { stdio: 'ignore' }));
  try {
    const r = await Promise.allSettled([0, 1, 2, 3, 4].map(() => crc32cFile(f3, { signal: AbortSignal.timeout(300) })));
    assert.equal(r.map((x) => (x.status === 'rejected' ? (x.reason as NodeJS.ErrnoException).code : 'done')), ['ABORT_ERR', 'ABORT_ERR', 'ABORT_ERR', 'ABORT_ERR', 'ABORT_ERR']);
    const nine = file('after-silent', Buffer.from('123456789'));
    const t = performance.now();
    assert.is(await crc32cFile(nine), 0xe3069283);
    assert.ok(performance.now() - t < 5000, 'the pool was free');
    // (the aborted pipes' handles close asynchronously: waited for, up to 5 s)
    for (const until = Date.now() + 5000; fds() !== before && Date.now() < until; ) await new Promise((res) => setTimeout(res, 20));
    assert.is(fds(), before, 'every descriptor given back');
  } finally {
    for (const h of holders) h.kill();
  }
});

test('what is opened is what is read: a FIFO put in a regular file\'s place as the call opens it is read through a pipe too (fs\'s open then read it with reads that blocked a thread of Node\'s pool for good, past their abort)', async () => {
  // another process puts a regular file and a FIFO (held open, silent) in turn at one path
  const p = join(dir, 'swapping');
  const swapper = spawn('python3', ['-c', `
import os, time
P = ${JSON.stringify(p)}; fds = []
while len(fds) < 1000:
  open(P + '.r', 'wb').write(b'x' * 100); os.rename(P + '.r', P)
  if os.path.exists(P + '.f'): os.unlink(P + '.f')
  os.mkfifo(P + '.f'); fds.append(os.open(P + '.f', os.O_RDWR)); os.rename(P + '.f', P)
  if len(fds) == 1: print('go', flush=True)
time.sleep(30)
`], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise((r) => swapper.stdout!.once('data', r));
    const seen: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const k = await Promise.race([
        crc32cFileInfo(p, { signal: AbortSignal.timeout(20) }).then(() => 'done', (e: NodeJS.ErrnoException) => e.code ?? e.message),
        new Promise((r) => setTimeout(() => r('STUCK'), 3000)),
      ]) as string;
      seen[k] = (seen[k] ?? 0) + 1;
      if (k === 'STUCK') break;
    }
    assert.is(seen.STUCK, undefined, JSON.stringify(seen));
    const pool = await Promise.race([readFileP(join(dir, 'args')).then(() => 'free'), new Promise((r) => setTimeout(() => r('taken'), 3000))]);
    assert.is(pool, 'free', `Node's pool (${JSON.stringify(seen)})`);
  } finally {
    swapper.kill();
  }
});

test("a copy's destination put in place as a FIFO as the call opens it: opened without waiting, an abort ends the wait for a reader, and nothing opens the FIFO's reading end (fs's open of it waited past the abort)", async () => {
  // another process puts a regular file and a FIFO in turn at one path; a writer of its own waits
  // on each FIFO and counts the FIFOs whose reading end someone opened (that let it go)
  const p = join(dir, 'swapping-dst');
  const src = join(dir, 'swapping-src');
  writeFileSync(src, randomBytes(1000));
  const swapper = spawn('python3', ['-c', `
import os, threading, time
P = ${JSON.stringify(p)}; let_go = [0]
def writer(f):
  try:
    fd = os.open(f, os.O_WRONLY)
    let_go[0] += 1; print('let go', flush=True); os.close(fd)
  except OSError: pass
for i in range(300):
  open(P + '.r', 'wb').write(b'x' * 100); os.rename(P + '.r', P)
  f = P + '.f%d' % i; os.mkfifo(f)
  threading.Thread(target=writer, args=(f,), daemon=True).start()
  os.rename(f, P)
  if i == 0: print('go', flush=True)
  time.sleep(0.002)
time.sleep(30)
`], { stdio: ['ignore', 'pipe', 'ignore'] });
  let letGo = 0;
  try {
    await new Promise((r) => swapper.stdout!.once('data', r));
    swapper.stdout!.on('data', (d: Buffer) => (letGo += d.toString().split('let go').length - 1));
    const seen: Record<string, number> = {};
    for (let i = 0; i < 150; i++) {
      const k = await Promise.race([
        copyFileCrc32c(src, p, { signal: AbortSignal.timeout(20) }).then(() => 'done', (e: NodeJS.ErrnoException) => e.code ?? e.message),
        new Promise((r) => setTimeout(() => r('STUCK'), 3000)),
      ]) as string;
      seen[k] = (seen[k] ?? 0) + 1;
      if (k === 'STUCK') break;
    }
    assert.is(seen.STUCK, undefined, JSON.stringify(seen));
    assert.ok((seen.ABORT_ERR ?? 0) > 0 && (seen.done ?? 0) > 0, JSON.stringify(seen)); // (both kinds were met)
    // and nothing else (a file put back as the FIFO refused the open was ENXIO, 1-2 calls in 100)
    assert.equal(Object.keys(seen).filter((k) => k !== 'done' && k !== 'ABORT_ERR'), [], JSON.stringify(seen));
    await new Promise((r) => setTimeout(r, 100));
    assert.is(letGo, 0, `writers waiting on the FIFOs let go: ${letGo} (${JSON.stringify(seen)})`);
  } finally {
    swapper.kill();
  }
});

test("a copy's destination that changes as it is opened: a FIFO removed while the copy waits for a reader is a file the copy makes (and removes when it fails); a link to nothing gets its target made (removed when the copy fails), and keeps the link", async () => {
  const dst = fifoAt('gone-fifo');
  const ac = new AbortController();
  const copy = copyFileCrc32c('/dev/zero', dst, { signal: ac.signal, device: small, chunkSize: 256 << 10, onProgress: (done) => done > (1 << 20) && ac.abort() });
  await new Promise((r) => setTimeout(r, 50)); // (waiting for a reader)
  rmSync(dst);
  const e = await copy.then(() => null, (err: unknown) => err as Error);
  assert.is(e?.name, 'AbortError');
  assert.not.ok(existsSync(dst), 'the file the copy made in the FIFO\'s place is removed');
  // a link to nothing: its target is made (as fs.copyFile makes it), the link stays
  const target = join(dir, 'dangling-target');
  const link = join(dir, 'dangling-link');
  symlinkSync(target, link);
  const src = file('dangling-src', bytes(3000));
  assert.is(await copyFileCrc32c(src, link, { device: small }), want(readFileSync(src)));
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(target), readFileSync(src));
  // ... and an aborted copy through such a link removes the target it made (the link stays), a relative one's too
  mkdirSync(join(dir, 'links'), { recursive: true });
  symlinkSync('chain-end', join(dir, 'links', 'chain-2')); // (a chain: chain-1 -> chain-2 -> chain-end, which is not there)
  const links = [[join(dir, 'dangling-target-2'), join(dir, 'dangling-link-2')], ['../rel-target', join(dir, 'links', 'rel-link')], ['chain-2', join(dir, 'links', 'chain-1')]];
  for (const [to, at] of links) {
    symlinkSync(to, at);
    const ac = new AbortController();
    const err = await copyFileCrc32c('/dev/zero', at, { signal: ac.signal, device: small, chunkSize: 256 << 10, onProgress: (done) => done > (1 << 20) && ac.abort() }).then(() => null, (x: unknown) => x as Error);
    assert.is(err?.name, 'AbortError');
    assert.ok(lstatSync(at).isSymbolicLink(), 'the link stays');
    assert.not.ok(existsSync(at), `${to}, made by the copy, is removed`);
  }
  assert.ok(lstatSync(join(dir, 'links', 'chain-2')).isSymbolicLink());
  // a file put in the place of the one the copy made, as it runs, is not the copy's to remove
  for (const [dst, real] of [[join(dir, 'replaced'), join(dir, 'replaced')], [join(dir, 'replaced-link'), join(dir, 'replaced-target')]]) {
    if (dst !== real) symlinkSync(real, dst);
    const err = await copyFileCrc32c('/dev/zero', dst, {
      device: small,
      chunkSize: 256 << 10,
      onProgress: (done) => {
        if (done < 1 << 20) return;
        writeFileSync(join(dir, 'theirs'), 'theirs');
        renameSync(join(dir, 'theirs'), real);
        throw new Error('stop');
      },
    }).then(() => null, (x: unknown) => x as Error);
    assert.is(err?.message, 'stop');
    assert.is(readFileSync(real, 'utf8'), 'theirs', `${real}: the file put there stays`);
  }
});

test('calls reading pipes that wait (no writer, or an idle one) take no turn from other file calls, nor their arena room', async () => {
  const dev = await Device.open({ engines: 2, arenaBytes: 48 << 20 });
  const ac = new AbortController();
  const holders: ChildProcess[] = [];
  try {
    const small4k = file('beside-pipes', bytes(4096));
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < 20; i++) {
      const f = fifoAt(`waiting-${i}`);
      if (i % 2 === 1) holders.push(holdOpen(f, '>')); // (an idle writer)
      pending.push(crc32cFile(f, { device: dev, signal: ac.signal }).then(() => 'done', (e: Error) => e.name));
    }
    await new Promise((r) => setTimeout(r, 100)); // (every one waiting on its pipe)
    const got = await Promise.race([crc32cFile(small4k, { device: dev }), new Promise((r) => setTimeout(() => r('STUCK'), 5000))]);
    assert.is(got, want(readFileSync(small4k)), 'a regular file beside 20 waiting pipes');
    ac.abort();
    assert.equal(new Set(await Promise.all(pending)), new Set(['AbortError']));
  } finally {
    for (const h of holders) h.kill();
    await dev.close();
  }
});

test('an aborted or failed call on a regular file rejects once its files are closed, also one aborted while its file opens', async () => {
  const src = file('closed-at-rejection', bytes(48 << 20));
  const openHere = (): string[] => readdirSync('/proc/self/fd').map((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '';
    }
  }).filter((l) => l.startsWith(dir));
  const dev = await Device.open({ engines: 2, arenaBytes: 64 << 20 });
  try {
    const calls: Array<[string, (signal: AbortSignal, abort: () => void) => Promise<unknown>]> = [
      ['mapped', (signal, abort) => crc32cFile(src, { device: dev, signal, chunkSize: 1 << 20, onProgress: abort })],
      ['read', (signal, abort) => crc32cFile(src, { device: small, signal, chunkSize: 1 << 20, onProgress: abort })],
      ['copied', (signal, abort) => copyFileCrc32c(src, join(dir, 'closed-copy'), { device: dev, signal, chunkSize: 1 << 20, onProgress: abort })],
      ['failed', () => crc32cFile(src, { device: dev, chunkSize: 1 << 20, onProgress: () => { throw new Error('stop'); } })],
    ];
    for (const [how, call] of calls) {
      for (let round = 0; round < 3; round++) {
        const ac = new AbortController();
        const e = await call(ac.signal, () => ac.abort()).then(() => null, (err: unknown) => err as Error);
        assert.ok(e !== null, `${how}: rejected`);
        assert.equal(openHere(), [], `${how}: nothing open as it rejects (${String(e)})`);
      }
    }
    // aborted as the file is being opened (a turn after the call), before the default device
    // opens and on a device, reading and copying
    const little = file('closed-at-open', bytes(100_000));
    const early: Array<[string, (signal: AbortSignal) => Promise<unknown>]> = [
      ['read, no device', (signal) => crc32cFile(little, { signal })],
      ['read', (signal) => crc32cFile(little, { device: dev, signal })],
      ['copied', (signal) => copyFileCrc32c(little, join(dir, 'closed-at-open-copy'), { device: dev, signal })],
    ];
    for (const [how, call] of early) {
      for (let round = 0; round < 30; round++) {
        const ac = new AbortController();
        setImmediate(() => ac.abort());
        const e = await call(ac.signal).then(() => null, (err: unknown) => err as Error);
        if (e !== null) assert.equal(openHere(), [], `${how}: nothing open as it rejects (${String(e)})`);
      }
    }
  } finally {
    await dev.close();
  }
});


test('a chunk the device fails (a fault rule\'s status) rejects the file call under its own name, and a checksum stream under its', async () => {
  const { Opcode, createCrc32cStream } = await import('../src/index.ts');
  const src = file('faulted', bytes(3 << 20));
  const dst = join(dir, 'faulted-copy');
  for (const [opcode, status, code, says] of [
    [Opcode.CRCGEN, 0x13, 'DSA_STATUS', 'failed with DSA status 0x13'],
    [Opcode.CRCGEN, 0x20, 'ENGINE_FAILED', 'status 0x20'],
  ] as const) {
    const dev = await Device.open({ engines: 1, faults: [{ opcode, status }] });
    try {
      for (const [name, call] of [
        ['crc32cFile', () => crc32cFile(src, { device: dev })],
        ['copyFileCrc32c', () => copyFileCrc32c(src, dst, { device: dev })],
      ] as const) {
        await call().then(() => assert.unreachable(`${name} resolved`), (e: Error & { code?: string }) => {
          assert.is(e.code, code, name);
          assert.ok(e.message.startsWith(name) && e.message.includes(says), e.message);
        });
      }
      const s = createCrc32cStream({ device: dev });
      s.resume();
      const failed = new Promise<Error & { code?: string }>((resolve) => s.on('error', resolve));
      s.end(dev.buffer(1 << 20).fill(1));
      const e = await failed;
      assert.is(e.code, code);
      assert.ok(e.message.startsWith('createCrc32cStream') && e.message.includes(says), e.message);
    } finally {
      await dev.close();
    }
  }
  const dev = await Device.open({ engines: 1, faults: [{ opcode: Opcode.COPY_CRC, status: 0x13 }] });
  try {
    await copyFileCrc32c(src, dst, { device: dev, via: 'copyCrc32c' }).then(() => assert.unreachable('resolved'), (e: Error) => {
      assert.ok(e.message.startsWith('copyFileCrc32c failed with DSA status 0x13'), e.message);
    });
  } finally {
    await dev.close();
  }
  assert.not.ok(existsSync(dst), 'the failed copies left no file');
});

test("copyFileCrc32c onto a dst of another user's refuses with EPERM, as fs.copyFile does (the copy went on, and that file kept its permission bits: a world-writable one stayed so), and leaves that file as it was (it was emptied)", () => {
  if (process.getuid?.() !== 0) {
    console.log('  (not run: it needs root, to copy as another user onto root\'s file)');
    return;
  }
  const shared = mkdtempSync(join(tmpdir(), 'softdsa-perm-'));
  try {
    chmodSync(shared, 0o755);
    const src = join(shared, 'src');
    writeFileSync(src, 'data\n');
    chmodSync(src, 0o644);
    for (const name of ['ours', 'fs']) {
      writeFileSync(join(shared, name), 'x\n');
      chmodSync(join(shared, name), 0o666); // root's, and anyone may write it
    }
    const index = new URL('../src/index.ts', import.meta.url).pathname;
    const script = `
      import { copyFileCrc32c } from ${JSON.stringify(index)};
      import { copyFile } from 'node:fs/promises';
      const code = (p) => p.then(() => 'resolved', (e) => e.code);
      console.log(JSON.stringify([await code(copyFileCrc32c(${JSON.stringify(src)}, ${JSON.stringify(join(shared, 'ours'))})), await code(copyFile(${JSON.stringify(src)}, ${JSON.stringify(join(shared, 'fs'))}))]));`;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, cwd: new URL('..', import.meta.url).pathname });
    assert.equal(JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null'), ['EPERM', 'EPERM'], r.stderr);
    assert.is(lstatSync(join(shared, 'ours')).mode & 0o777, 0o666, 'its bits are its own still');
    assert.is(readFileSync(join(shared, 'ours'), 'utf8'), 'x\n', 'its bytes are its own still');
  } finally {
    rmSync(shared, { recursive: true, force: true });
  }
});

test("softdsa:op publishes each file call as itself (placement 'file'), done or failed, a mapped one too; not one refused for a bad argument", async () => {
  const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
  const seen: Array<{ op: string; bytes: number; placement: string; error?: { code?: string } }> = [];
  const on = (m: unknown): void => {
    const e = m as (typeof seen)[0];
    if (e.placement === 'file') seen.push(e);
  };
  const big = file('published-big', bytes(3 << 20)); // mapped, once the engines run
  const small = file('published-small', bytes(1000));
  subscribe('softdsa:op', on);
  try {
    assert.is(await crc32cFile(big), want(readFileSync(big)));
    await copyFileCrc32c(small, join(dir, 'published-copy'));
    await crc32cFile(join(dir, 'nowhere')).catch(() => {});
    await crc32cFile(42 as never).catch(() => {}); // refused before it is a call
    assert.equal(seen.map((e) => [e.op, e.bytes, e.error?.code ?? null]), [['crc32cFile', 3 << 20, null], ['copyFileCrc32c', 1000, null], ['crc32cFile', 0, 'ENOENT']]);
  } finally {
    unsubscribe('softdsa:op', on);
  }
});

test.run();
