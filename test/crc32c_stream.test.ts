// Streams (issue 13): createCrc32cStream (node:stream) and crc32cTransformStream (WHATWG)
// against @node-rs/crc32 and @aws-crypto/crc32c: chunks of random sizes and kinds, pass-through
// intact, digest formats, arena chunks on the engines in place (with back-pressure) mixed with
// chunks checksummed here, strings rejected, an error mid-pipeline, sinks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32c as nativeCrc } from '@node-rs/crc32';
import { crc32c as awsCrc } from '@aws-crypto/crc32c';
import { Device, alloc, crc32cBase64, crc32cHex, createCrc32cStream, crc32cTransformStream, formatCrc32c, free, shutdown, stats } from '../src/index.ts';
import { arenaBack } from './arena_back.ts';
import { defaultDeviceIfOpen } from '../src/api/default_device.ts';
import { rng } from './gen.ts';
import { scratchOf } from '../src/device/layout.ts';

const random = rng(0x5eed_1313);
const ARENA = 4 << 20;
let small: Device;

test.before(async () => {
  small = await Device.open({ engines: 2, arenaBytes: ARENA });
});
test.after(async () => {
  await Promise.all([small.close(), shutdown()]);
});

/** Random chunks of data: empty ones, 1-byte ones, up to maxChunk; Buffers and plain Uint8Arrays. */
function chunksOf(data: Buffer, maxChunk: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; ) {
    const r = random() % 10;
    const n = r === 0 ? 0 : r === 1 ? 1 : 1 + (random() % maxChunk);
    const c = data.subarray(at, Math.min(data.length, at + n));
    out.push(random() % 2 === 0 ? c : new Uint8Array(c)); // a copy, not a Buffer
    at += c.length;
  }
  return out;
}

const collect = (into: Buffer[]): Writable => new Writable({ write(c: Buffer, _e, cb) { into.push(Buffer.from(c)); cb(); } });

test('node:stream: random sizes and kinds pass through intact; the CRC in every format', async () => {
  for (const n of [0, 1, 4095, 65536, 65537, 1 << 20, (1 << 20) + 1, 3 * ARENA + 99, 200_000 + (random() % 500_000)]) {
    const data = randomBytes(n);
    const w = nativeCrc(data) >>> 0;
    for (const [opts, maxChunk] of [[{}, 100_000], [{ device: small }, 70_000], [{ device: small, seed: 0 }, 5]] as const) {
      if (maxChunk === 5 && n > 70_000) continue; // byte-sized chunks: kept small
      const s = createCrc32cStream(opts);
      assert.throws(() => s.digest(), (e: Error & { code: string }) => e.code === 'ERR_CRC32C_NOT_READY');
      const got: Buffer[] = [];
      await pipeline(Readable.from(chunksOf(data, maxChunk)), s, collect(got));
      assert.ok(Buffer.concat(got).equals(data), `pass-through of ${n} bytes`);
      assert.is(s.digest(), w, `crc of ${n} bytes, ${JSON.stringify({ ...opts, device: undefined })}`);
      assert.is(s.digest('number'), w);
      assert.is(s.digest('hex'), w.toString(16).padStart(8, '0'));
      assert.is(s.digest('base64'), Buffer.from(w.toString(16).padStart(8, '0'), 'hex').toString('base64'));
      assert.ok(s.digest('buffer').equals(Buffer.from(w.toString(16).padStart(8, '0'), 'hex')));
      assert.is(await s.crc, w);
      assert.is(s.bytes, n);
    }
  }
  const v = createCrc32cStream();
  await pipeline(Readable.from([Buffer.from('1234'), Buffer.from('56789')]), v, collect([]));
  assert.is(v.digest('hex'), 'e3069283');
  assert.is(v.digest('base64'), '4waSgw==');
  assert.is(awsCrc(new Uint8Array(Buffer.from('123456789'))) >>> 0, v.digest(), 'the independent implementation agrees');
});

test('seed continues a CRC; arena chunks are checksummed in place', async () => {
  const a = randomBytes(300_000);
  const b = randomBytes(300_000);
  const s = createCrc32cStream({ seed: nativeCrc(a) >>> 0 });
  await pipeline(Readable.from([b]), s, collect([]));
  assert.is(s.digest(), nativeCrc(Buffer.concat([a, b])) >>> 0);
  // Buffers from alloc() (the arena): mixed with ordinary ones
  const arena = [alloc(100_000), alloc(70_000), alloc(10)];
  for (const x of arena) x.set(randomBytes(x.length));
  const parts = [Buffer.from('head'), arena[0], randomBytes(1000), arena[1], arena[2], Buffer.from('tail')];
  const t = createCrc32cStream();
  const got: Buffer[] = [];
  await pipeline(Readable.from(parts), t, collect(got));
  assert.is(t.digest(), nativeCrc(Buffer.concat(parts)) >>> 0);
  assert.ok(Buffer.concat(got).equals(Buffer.concat(parts)));
  for (const x of arena) free(x);
});

test('bad options: TypeErrors and RangeErrors with Node\'s codes, named by the function called, for both streams', () => {
  const coded = (f: () => unknown, re: RegExp, code: string): void => {
    assert.throws(f, (e: Error & { code?: string }) => e.code === code && re.test(e.message));
  };
  coded(() => createCrc32cStream({ bogus: 1 } as never), /^createCrc32cStream: /, 'ERR_INVALID_ARG_TYPE');
  coded(() => createCrc32cStream({ seed: -1 }), /^createCrc32cStream: seed/, 'ERR_INVALID_ARG_VALUE');
  coded(() => createCrc32cStream({ passThrough: 'yes' as never }), /^createCrc32cStream: passThrough must be a boolean; got string/, 'ERR_INVALID_ARG_TYPE');
  coded(() => createCrc32cStream({ device: {} as never }), /^createCrc32cStream: device must be a Device/, 'ERR_INVALID_ARG_TYPE');
  coded(() => crc32cTransformStream({ seed: 'x' as never }), /^crc32cTransformStream: seed/, 'ERR_INVALID_ARG_TYPE');
  coded(() => crc32cTransformStream(5 as never), /^crc32cTransformStream: options must be an object/, 'ERR_INVALID_ARG_TYPE');
});

test('null options are no options, as fs\'s streams and the file calls take them; a stream ended early rejects its crc with ERR_STREAM_PREMATURE_CLOSE (its error had no code)', async () => {
  const s = createCrc32cStream(null as never);
  s.destroy();
  const e = await s.crc.then(() => null, (x: unknown) => x as Error & { code?: string });
  assert.is(e?.code, 'ERR_STREAM_PREMATURE_CLOSE', String(e));
  assert.throws(() => s.digest(), (x: Error & { code?: string }) => x.code === 'ERR_CRC32C_STREAM_FAILED');
  const t = crc32cTransformStream(null as never);
  await t.writable.abort();
  const f = await t.crc.then(() => null, (x: unknown) => x as Error & { code?: string });
  assert.is(f?.code, 'ERR_STREAM_PREMATURE_CLOSE', String(f));
});

test('an arena chunk larger than one call takes on its device (a small maxTransfer) is checksummed here: the stream failed with a RangeError of a crc32c call', async () => {
  const dev = await Device.open({ engines: 1, maxTransfer: 8, arenaBytes: 16 << 20 });
  try {
    const big = dev.buffer(1 << 20).fill(7); // (131,072 descriptors of 8 bytes)
    const s = createCrc32cStream({ device: dev, passThrough: false });
    await pipeline(Readable.from([big]), s);
    assert.is(s.digest(), nativeCrc(big) >>> 0);
  } finally {
    await dev.close();
  }
});

test('strings are rejected with a TypeError naming the chunk type', async () => {
  const s = createCrc32cStream();
  try {
    await pipeline(Readable.from([Buffer.from('ok'), 'a string']), s, collect([]));
    assert.unreachable('no error');
  } catch (e) {
    assert.instance(e, TypeError);
    assert.match((e as Error).message, /string/);
  }
  await s.crc.then(() => assert.unreachable('crc resolved'), (e: Error) => assert.instance(e, TypeError));
  assert.throws(() => s.digest(), /failed before its end.*string/);
  const w = crc32cTransformStream();
  const writer = w.writable.getWriter();
  const reading = new Response(w.readable).arrayBuffer().catch((e: Error) => e);
  await writer.write('text' as unknown as Uint8Array).then(() => assert.unreachable('accepted'), (e: Error) => assert.match(e.message, /string/));
  assert.instance(await reading, TypeError);
});

test('an error mid-pipeline: pipeline rejects with it, crc rejects, the engines\' chunks all come back', async () => {
  for (let i = 0; i < 8; i++) {
    const s = createCrc32cStream({ device: small });
    const mine: Buffer[] = [];
    let sent = 0;
    const src = new Readable({
      read() {
        if (sent++ === 20) return this.destroy(new Error('disk gone'));
        if (sent % 2 === 0) return void this.push(randomBytes(100_000));
        const b = small.buffer(100_000); // an arena chunk: checksummed on the engines
        b.set(randomBytes(b.length));
        mine.push(b);
        this.push(b);
      },
    });
    try {
      await pipeline(src, s, collect([]));
      assert.unreachable('no error');
    } catch (e) {
      assert.is((e as Error).message, 'disk gone');
    }
    await s.crc.then(() => assert.unreachable('crc resolved'), (e: Error) => assert.ok(e instanceof Error));
    // (digest() says it failed, not that it is not done yet)
    assert.throws(() => s.digest(), (e: Error & { code?: string }) => e.code === 'ERR_CRC32C_STREAM_FAILED' && /disk gone/.test(e.message));
    for (const b of mine) small.free(b.byteOffset);
  }
  // a failing destination
  const s = createCrc32cStream({ device: small });
  try {
    await pipeline(Readable.from([randomBytes(10), randomBytes(2_000_000)]), s, new Writable({ write(_c, _e, cb) { cb(new Error('full')); } }));
    assert.unreachable('no error');
  } catch (e) {
    assert.is((e as Error).message, 'full');
  }
  await arenaBack(small, ARENA - (1 << 20)); // (their CRCs finish, and nothing else of the arena is kept)
});

test('arena chunks go to the engines, one at a time, in order with the rest; a sink; on the default device too', async () => {
  const count = (): number => Object.values(small.stats().ops.crc32c.placement).reduce((a, b) => a + b, 0);
  const parts: Uint8Array[] = [];
  const mine: Buffer[] = [];
  let big = 0;
  for (let i = 0; i < 24; i++) {
    const n = [100_000, 65_536, 65_535, 10, 300_000][random() % 5];
    if (random() % 2 === 0) {
      const b = small.buffer(n);
      b.set(randomBytes(n));
      mine.push(b);
      parts.push(b);
      if (n >= 65_536) big++;
    } else parts.push(randomBytes(n));
  }
  const whole = Buffer.concat(parts);
  for (const seed of [0, 7]) {
    const before = count();
    const s = createCrc32cStream({ device: small, seed, passThrough: false });
    await pipeline(Readable.from(parts), s);
    assert.is(s.digest(), nativeCrc(whole, seed) >>> 0, `seed ${seed}`);
    assert.is(count() - before, big, 'one device call per arena chunk of 64 KiB or more, none for the rest');
  }
  for (const b of mine) small.free(b.byteOffset);
  // the default device's arena chunks, no device option: on its engines too
  const a = alloc(200_000).fill(3);
  const before = stats().ops.crc32c.count;
  const t = createCrc32cStream({ passThrough: false });
  await pipeline(Readable.from([Buffer.from('x'), a]), t);
  assert.is(t.digest(), nativeCrc(Buffer.concat([Buffer.from('x'), a])) >>> 0);
  assert.is(stats().ops.crc32c.count - before, 1, 'the arena chunk on the device');
  free(a);
});

test('chunks written all at once (the stream takes each buffered one as the one before calls back, inside that callback): checksummed in order, arena and plain mixed, both streams', async () => {
  for (let round = 0; round < 4; round++) {
    const parts: Uint8Array[] = [];
    const mine: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const n = [0, 1, 7, 4096, 65_535, 65_536, 100_000][random() % 7];
      if (n >= 65_536 && random() % 2 === 0) {
        const b = small.buffer(n);
        b.set(randomBytes(n));
        mine.push(b);
        parts.push(b);
      } else parts.push(randomBytes(n));
    }
    const whole = Buffer.concat(parts);
    const out: Buffer[] = [];
    const s = createCrc32cStream({ device: small });
    const done = pipeline(s, collect(out));
    for (const p of parts) s.write(p); // (no await: they queue in the stream, and go in inside callbacks)
    s.end();
    await done;
    assert.is(s.digest(), nativeCrc(whole) >>> 0, `node:stream, round ${round}`);
    assert.ok(Buffer.concat(out).equals(whole), 'passed through in order');
    const w = crc32cTransformStream({ device: small });
    const writer = w.writable.getWriter();
    const reading = (async () => {
      const got: Buffer[] = [];
      for await (const c of w.readable as unknown as AsyncIterable<Uint8Array>) got.push(Buffer.from(c));
      return Buffer.concat(got);
    })();
    for (const p of parts) void writer.write(p);
    await writer.close();
    assert.ok((await reading).equals(whole), 'WHATWG: passed through in order');
    assert.is(await w.crc, nativeCrc(whole) >>> 0, `WHATWG, round ${round}`);
    for (const b of mine) small.free(b.byteOffset);
  }
});

test('a next stage that changes its chunks in place (or transfers them) changes nothing of the CRC: each chunk is checksummed before it is passed on', async () => {
  const parts = Array.from({ length: 30 }, (_, i) => randomBytes([1, 4096, 65_536, 100_000][i % 4]));
  const whole = Buffer.concat(parts);
  const s = createCrc32cStream();
  const scramble = new Transform({ transform(c: Buffer, _e, cb) { c.fill(0xee); cb(null, c); } });
  await pipeline(Readable.from(parts.map((p) => Buffer.from(p))), s, scramble, new Writable({ write(_c, _e, cb) { cb(); } }));
  assert.is(s.digest(), nativeCrc(whole) >>> 0);
});

test('a view of the device\'s memory outside its arena (its control region), 64 KiB or more, is checksummed here as other memory is', async () => {
  // (an idle engine's scratch area: bytes that stay as they are while nothing runs)
  const view = new Uint8Array(small.memory.buffer, scratchOf(small.layout, 1), 65_536);
  assert.ok(view.byteOffset + view.byteLength <= small.layout.arenaBase);
  const copy = Buffer.from(view);
  const s = createCrc32cStream({ device: small, passThrough: false });
  await pipeline(Readable.from([Buffer.from('x'), view]), s);
  assert.is(s.digest(), nativeCrc(Buffer.concat([Buffer.from('x'), copy])) >>> 0);
});

test('the WHATWG one gives Uint8Arrays, as its type says: a Uint8Array (a Buffer) as it came, any other view or an ArrayBuffer as a Uint8Array of the same bytes (a DataView went on as one)', async () => {
  const ab = new ArrayBuffer(8);
  new Uint8Array(ab).set([1, 2, 3, 4, 5, 6, 7, 8]);
  const buf = Buffer.from('abc');
  const inputs: unknown[] = [buf, new DataView(ab, 2, 4), new Uint16Array(ab, 4, 2), ab];
  const t = crc32cTransformStream();
  const w = t.writable.getWriter();
  const got: unknown[] = [];
  const drained = t.readable.pipeTo(new WritableStream({ write: (c) => void got.push(c) }));
  for (const c of inputs) await w.write(c as Uint8Array);
  await w.close();
  await drained;
  assert.ok(got.every((c) => c instanceof Uint8Array), got.map((c) => (c as object).constructor.name).join(', '));
  assert.is(got[0], buf, 'a Buffer goes on as itself');
  assert.equal([...(got[1] as Uint8Array)], [3, 4, 5, 6]);
  assert.equal([...(got[2] as Uint8Array)], [5, 6, 7, 8]);
  assert.is((got[3] as Uint8Array).buffer, ab, 'the same bytes, not a copy');
  assert.is(t.digest(), nativeCrc(Buffer.from([...buf, 3, 4, 5, 6, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8])) >>> 0);
});

test('a detached chunk is a TypeError, and the stream fails with it (crc rejects); it was taken as empty', async () => {
  for (const make of [() => new Uint8Array(16), () => new ArrayBuffer(16), () => new DataView(new ArrayBuffer(16))]) {
    const chunk = make();
    structuredClone(chunk instanceof ArrayBuffer ? chunk : chunk.buffer, { transfer: [chunk instanceof ArrayBuffer ? chunk : chunk.buffer] });
    const t = crc32cTransformStream();
    const w = t.writable.getWriter();
    const reading = new Response(t.readable).arrayBuffer().catch((e: Error) => e);
    await w.write(chunk as Uint8Array).then(() => assert.unreachable('accepted'), (e: Error) => assert.match(e.message, /detached/));
    await t.crc.then(() => assert.unreachable('crc resolved'), (e: Error) => assert.instance(e, TypeError));
    assert.instance(await reading, TypeError);
  }
});

test('the node:stream one: a chunk with no bytes (a view past the end of a shrunk resizable ArrayBuffer, a detached one) fails the stream, naming the chunk (Writable.write made an empty Buffer of it: the CRC of nothing)', async () => {
  type Resizable = ArrayBuffer & { resize(n: number): void };
  const shrunk = (make: (b: ArrayBuffer) => ArrayBufferView): ArrayBufferView => {
    const b = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(8192, { maxByteLength: 65536 });
    const v = make(b);
    b.resize(1024);
    return v;
  };
  const detached = new Uint8Array(1000);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  for (const [chunk, want] of [[shrunk((b) => new Uint8Array(b, 4096, 4096)), /chunk is a view past the end/], [shrunk((b) => new Float64Array(b, 4096, 16)), /chunk is a view past the end/], [detached, /detached/]] as const) {
    // written, or given to end() (which V8's error left open, its crc unsettled, or took as empty)
    for (const last of [false, true]) {
      const s = createCrc32cStream({ passThrough: false });
      const failed = new Promise<Error>((r) => s.once('error', r));
      const told = new Promise<Error | null | undefined>((r) => (last ? s.end(chunk, r) : s.write(chunk, r)));
      const e = await failed;
      assert.match(e.message, want);
      assert.is((e as Error & { code?: string }).code, 'ERR_INVALID_ARG_VALUE', 'coded, as the other bad chunks are');
      assert.match(String(await told), want);
      await s.crc.then(() => assert.unreachable('crc resolved'), (e: Error) => assert.match(e.message, want));
    }
  }
  const ok = createCrc32cStream({ passThrough: false });
  ok.end(new Float64Array(2));
  assert.is(await ok.crc, nativeCrc(Buffer.alloc(16)) >>> 0, 'a view of any kind is its bytes');
});

test('the node:stream one in a pipeline from a source of objects, not bytes: the pipeline rejects with a TypeError (it was thrown at the source, uncaught, and the pipeline resolved); an ArrayBuffer is its bytes, as the WHATWG twin takes it', async () => {
  for (const bad of [{ a: 1 }, 42]) {
    const s = createCrc32cStream();
    const e = await pipeline(Readable.from([Buffer.from('ok'), bad]), s, collect([])).then(() => null, (x: unknown) => x as Error);
    assert.instance(e, TypeError);
    assert.match(e!.message, /chunks must be/);
    await s.crc.then(() => assert.unreachable('crc resolved'), (x: Error) => assert.instance(x, TypeError));
  }
  const ab = Uint8Array.from([1, 2, 3]).buffer;
  const got: Buffer[] = [];
  const s = createCrc32cStream();
  await pipeline(Readable.from([ab, Buffer.from([4])], { objectMode: true }), s, collect(got));
  assert.is(await s.crc, nativeCrc(Buffer.from([1, 2, 3, 4])) >>> 0);
  assert.equal(Buffer.concat(got), Buffer.from([1, 2, 3, 4]));
  const w = crc32cTransformStream();
  const out = new Response(w.readable).arrayBuffer();
  const writer = w.writable.getWriter();
  await writer.write(Uint8Array.from([1, 2, 3]).buffer as unknown as Uint8Array);
  await writer.write(Uint8Array.from([4]));
  await writer.close();
  assert.is(await w.crc, nativeCrc(Buffer.from([1, 2, 3, 4])) >>> 0);
  assert.is((await out).byteLength, 4);
});

test('the node:stream one takes the bytes a view really covers, whatever its class says: a Uint8Array subclass with a lying byteLength (Node\'s write threw a RangeError at the pipeline\'s source, uncaught, and the chunk was left out of the CRC; end() with it left the CRC unsettled for good; an outside pass)', async () => {
  class Liar extends Uint8Array {
    override get byteLength(): number {
      return 1e9;
    }
    override get length(): number {
      return 1e9;
    }
  }
  const good = Buffer.from('123456789');
  const all = Buffer.concat([good, Buffer.alloc(16, 1), good]);
  const got: Buffer[] = [];
  const s = createCrc32cStream();
  await pipeline(Readable.from([good, new Liar(16).fill(1), good]), s, collect(got));
  assert.is(await s.crc, nativeCrc(all) >>> 0);
  assert.equal(Buffer.concat(got), all, 'passed on as its 16 bytes');
  const e = createCrc32cStream({ passThrough: false });
  e.end(new Liar(16).fill(1));
  assert.is(await e.crc, nativeCrc(Buffer.alloc(16, 1)) >>> 0);
});

test('a stream of ordinary chunks checksums them here: it opens no device', async () => {
  await shutdown();
  const data = randomBytes(2_500_000);
  const s = createCrc32cStream({ passThrough: false });
  await pipeline(Readable.from(chunksOf(data, 300_000)), s);
  assert.is(s.digest(), nativeCrc(data) >>> 0);
  const t = crc32cTransformStream();
  await new Response(ReadableStream.from(chunksOf(data, 300_000)).pipeThrough(t)).arrayBuffer();
  assert.is(await t.crc, nativeCrc(data) >>> 0);
  assert.is(defaultDeviceIfOpen(), null, 'the default device was not opened');
});

test('WHATWG TransformStream: pipeThrough, Node pipeline(), formats, errors', async () => {
  const data = randomBytes(3_000_000);
  const w = nativeCrc(data) >>> 0;
  const ts = crc32cTransformStream({ seed: 0 });
  assert.throws(() => ts.digest(), /finished/);
  const out = Buffer.from(await new Response(ReadableStream.from(chunksOf(data, 200_000)).pipeThrough(ts)).arrayBuffer());
  assert.ok(out.equals(data));
  assert.is(await ts.crc, w);
  assert.is(ts.digest('hex'), w.toString(16).padStart(8, '0'));
  assert.is(ts.bytes, data.length);
  // in Node's pipeline, with other ArrayBuffer views
  const t2 = crc32cTransformStream({ device: small });
  const f32 = new Float32Array(data.buffer, data.byteOffset, 1000);
  const got: Buffer[] = [];
  await pipeline(Readable.from([f32, data.subarray(4000)]), t2, collect(got));
  assert.is(t2.digest(), w);
  // an error upstream: crc rejects
  const t3 = crc32cTransformStream({ device: small });
  const bad = new ReadableStream({ pull(c) { c.error(new Error('net down')); } });
  await bad.pipeThrough(t3).pipeTo(new WritableStream()).then(() => assert.unreachable('no error'), (e: Error) => assert.is(e.message, 'net down'));
  await t3.crc.then(() => assert.unreachable('resolved'), (e: Error) => assert.is(e.message, 'net down'));
  assert.throws(() => t3.digest(), (e: Error & { code?: string }) => e.code === 'ERR_CRC32C_STREAM_FAILED' && /net down/.test(e.message));
});

test('crc32cHex / crc32cBase64: the GCS/S3 forms; anything but a 32-bit integer is an error, not a checksum', () => {
  assert.is(crc32cHex(0xe3069283), 'e3069283');
  assert.is(crc32cBase64(0xe3069283), '4waSgw==');
  assert.is(crc32cBase64(-1), crc32cBase64(0xffffffff), 'a signed 32-bit value is the same CRC');
  assert.throws(() => crc32cBase64(Promise.resolve(1) as unknown as number), (e: Error) => e instanceof TypeError && /missing await/.test(e.message));
  for (const v of [undefined, null, 'abc']) assert.throws(() => crc32cHex(v as unknown as number), TypeError);
  for (const v of [NaN, 1.7, 2 ** 32 + 5, -(2 ** 31) - 1]) assert.throws(() => crc32cBase64(v), RangeError);
  // each names the function called, as every other call's errors do
  assert.throws(() => crc32cHex('abc' as never), /^crc32cHex: a CRC-32C is a number/);
  assert.throws(() => crc32cBase64(1.5), /^crc32cBase64: a CRC-32C is an integer/);
  assert.throws(() => formatCrc32c(1, 'octal' as never), /^formatCrc32c: a CRC-32C format is one of/);
});

test('bad options', () => {
  assert.throws(() => createCrc32cStream({ seed: -1 }), /seed/);
  assert.throws(() => crc32cTransformStream({ seed: 2 ** 32 }), /seed/);
  assert.throws(() => createCrc32cStream({ inFlight: 4 } as never), (e: Error) => e instanceof TypeError && /unknown option inFlight/.test(e.message));
  assert.throws(() => createCrc32cStream({ batchBytes: 4096 } as never), (e: Error) => e instanceof TypeError && /unknown option batchBytes/.test(e.message));
});

test('chunks no engine reaches are checksummed through the device\'s core on this thread (staged through its own area, window by window): the CRC of every size about the window, on a roomy device, a 64 KiB arena\'s, and in crc32c() itself', async () => {
  const { Device } = await import('../src/index.ts');
  const roomy = await Device.open({ engines: 1 });
  const small = await Device.open({ engines: 1, arenaBytes: 65536 }); // its own area: 8 KiB
  try {
    let seed = 0x1234_5678;
    for (const n of [0, 1, 4095, 4096, 4097, 8255, 8256, 8257, 65407, 65408, 65409, (1 << 20) + 3, 3 * (1 << 20) + 5]) {
      const data = randomBytes(n);
      const want = nativeCrc(data, seed) >>> 0;
      for (const dev of [roomy, small]) {
        assert.is(await dev.crc32c(data, seed), want, `crc32c of ${n} bytes`);
        const s = createCrc32cStream({ device: dev, seed });
        s.resume();
        const half = n >> 1;
        s.write(data.subarray(0, half));
        s.end(data.subarray(half));
        assert.is(await s.crc, want, `a stream of ${n} bytes in two chunks`);
      }
      seed = want;
    }
  } finally {
    await Promise.all([roomy.close(), small.close()]);
  }
});

test.run();
