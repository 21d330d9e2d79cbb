// The browser test's page (bundled by browser.test.ts with esbuild; softdsa itself is imported
// by URL, as a page would: the built dist/browser/softdsa.js). Each check returns what the
// Node side asserts on; window.softdsaTest is its interface.
import { fuzzDevice, statusSummary } from './fuzz_device.ts';
import { referenceCrc32c } from './reference.ts';
import { rng } from './gen.ts';
// @ts-expect-error: a URL, resolved by the browser (the built browser module; its types are src/browser/index.ts)
import * as softdsaUrl from '/dist/browser/softdsa.js';

type Softdsa = typeof import('../src/browser/index.ts');
const softdsa = softdsaUrl as Softdsa;
const { Device, Descriptor, Status, readRecord } = softdsa;

// Every Worker the page starts, recorded: the test terminates an engine's from outside.
const workers: Array<{ worker: Worker; name: string }> = [];
const NativeWorker = globalThis.Worker;
globalThis.Worker = class extends NativeWorker {
  constructor(url: string | URL, options?: WorkerOptions) {
    super(url, options);
    workers.push({ worker: this, name: options?.name ?? '' });
  }
};

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Pseudo-random bytes (u8's length and offset multiples of 4). */
const random = (u8: Uint8Array, seed: number): void => {
  const r = rng(seed);
  const w = new Uint32Array(u8.buffer, u8.byteOffset, u8.length >>> 2);
  for (let i = 0; i < w.length; i++) w[i] = r();
};

async function knownResults(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  // Before the engines are up: inline, on memory that is not shared.
  out.checkInline = await softdsa.crc32c(text('123456789'));
  await softdsa.ready();
  const check = softdsa.alloc(9);
  check.set(text('123456789'));
  out.checkArena = await softdsa.crc32c(check);
  const a = softdsa.alloc(4 << 20);
  const b = softdsa.alloc(4 << 20);
  random(a, 7);
  await softdsa.memcpy(b, a);
  out.memcpyEqual = a.every((v, i) => v === b[i]);
  out.compareEqual = await softdsa.compare(a, b);
  b[3_000_000] = a[3_000_000] ^ 0xff;
  out.compareSign = Math.sign(await softdsa.compare(a, b)) === Math.sign(a[3_000_000] - b[3_000_000]);
  out.firstDifference = await softdsa.firstDifference(a, b);
  out.crcSplit = await softdsa.crc32c(a);
  out.crcReference = referenceCrc32c(a, 0);
  out.crcChained = await softdsa.crc32c(a.subarray(1 << 20), await softdsa.crc32c(a.subarray(0, 1 << 20)));
  out.copyCrc = await softdsa.copyCrc32c(b, a);
  out.copyEqual = a.every((v, i) => v === b[i]);
  await softdsa.fill(b, 0x5a);
  out.fillOk = b.every((v) => v === 0x5a);
  // memory outside the arena: inline, the same answers
  const plain = a.slice(0, 1 << 16);
  out.crcPlain = await softdsa.crc32c(plain);
  out.crcPlainReference = referenceCrc32c(plain, 0);
  const other = plain.slice();
  other[40001] ^= 1;
  out.firstDifferencePlain = await softdsa.firstDifference(plain.subarray(1), other.subarray(1)); // unaligned views
  out.comparePlain = Math.sign(await softdsa.compare(plain, other)) === Math.sign(plain[40001] - other[40001]);
  // a large one outside the arena: staged through it for the engines, in 8 MiB chunks (the last one short)
  const plainBig = new Uint8Array((20 << 20) + 12344);
  random(plainBig, 11);
  out.crcStaged = await softdsa.crc32c(plainBig, 12345);
  out.crcStagedReference = referenceCrc32c(plainBig, 12345);
  // the WHATWG checksum stream, fed by a Response body in chunks; the digest helpers
  const t = softdsa.crc32cTransformStream();
  await new Response(new Blob([a.slice(0, 1 << 20), a.slice(1 << 20)])).body!.pipeThrough(t).pipeTo(new WritableStream());
  out.streamCrc = await t.crc;
  out.digests = [t.digest('hex'), t.digest('base64'), softdsa.crc32cBase64(0xe3069283), softdsa.parseCrc32c('4waSgw=='), Array.from(softdsa.formatCrc32c(0xe3069283, 'buffer'))];
  // T10 DIF: the CRC-16 check value, then protect 64 blocks, check them, corrupt one
  out.crc16 = await softdsa.crc16t10dif(text('123456789'));
  const blocks = softdsa.alloc(64 * 512);
  random(blocks, 5);
  const protectedBlocks = await softdsa.difInsert(blocks, { blockSize: 512 });
  out.difLength = protectedBlocks.length;
  out.difCheck = await softdsa.difCheck(protectedBlocks, { blockSize: 512 }).then(() => 'ok', (e: Error) => e.message);
  protectedBlocks[37 * 520 + 100] ^= 1;
  out.difCorrupt = await softdsa.difCheck(protectedBlocks, { blockSize: 512 }).then(() => 'ok', (e: { name: string; block: number }) => `${e.name} ${e.block}`);
  const st = softdsa.stats();
  out.placements = st.ops.crc32c.placement;
  out.completionPath = st.completionPath;
  // What has no meaning in a browser is absent, not faked.
  out.absent = ['eventFdStatus', 'crc32cFile', 'copyFileCrc32c', 'createCrc32cStream', 'AttachedDevice'].filter((k) => k in softdsa);
  // Raw descriptors on a device of its own.
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  const src = dev.alloc(4096);
  const dst = dev.alloc(4096);
  const rec = dev.alloc(32, 32);
  dev.view(src, 4096).fill(9);
  out.submit = await dev.submit(Descriptor.memmove({ src, dst, size: 4096, completion: rec }));
  out.record = readRecord(dev.view(rec, 32), 0).status;
  out.copied = dev.view(dst, 4096).every((v) => v === 9);
  out.bad = await dev.submit(Descriptor.memmove({ src, dst: dev.layout.arenaEnd - 100, size: 4096 }));
  try {
    Device.attach(dev.handle);
    out.attach = 'attached';
  } catch (e) {
    out.attach = (e as { code?: string }).code;
  }
  out.eventfdOption = await Device.open({ completion: 'eventfd' }).then(() => 'opened', (e: Error) => e.message);
  await dev.close();
  out.closedRejects = await dev.submit(Descriptor.noop({})).then(() => 'resolved', (e: Error) => e.message);
  return out;
}

async function fuzz(seed: number, n: number): Promise<{ done: number; summary: string; ms: number }> {
  const dev = await Device.open({ engines: 2, arenaBytes: 1 << 20, wqSize: 64 });
  const other = await Device.open({ engines: 1, arenaBytes: 1 << 16 });
  const t0 = performance.now();
  try {
    const { done, statuses } = await fuzzDevice(dev, other, seed, n);
    return { done, summary: statusSummary(statuses), ms: performance.now() - t0 };
  } finally {
    await dev.close();
    await other.close();
  }
}

/**
 * An engine's Worker terminated mid-run: a batch of 1024 CRCs of 128 MiB is running on the only
 * engine (its first member's record is written) when the test terminates that worker.
 * (Chromium ends a worker busy in script about 2 s after terminate(): the batch runs far longer,
 * ~8 s at 17 GB/s. Of 32 MiB each, once the CRC reached that speed, it ended first.)
 */
async function terminateEngine(): Promise<Record<string, unknown>> {
  const dev = await Device.open({ engines: 1, arenaBytes: 144 << 20 });
  try {
    const N = 1024;
    const SIZE = 128 << 20;
    const src = dev.alloc(SIZE);
    dev.view(src, SIZE).fill(3);
    const recs = dev.alloc(32 * (N + 1), 32);
    dev.view(recs, 32 * (N + 1)).fill(0);
    const list = dev.alloc(64 * N, 64);
    for (let i = 0; i < N; i++) dev.view(list + 64 * i, 64).set(Descriptor.crc32c({ src, size: SIZE, completion: recs + 32 * i }));
    const engine = workers.filter((w) => w.name === 'softdsa engine 0').at(-1)!.worker;
    const batchRec = recs + 32 * N;
    const done = dev.submit(Descriptor.batch({ list, count: N, completion: batchRec }));
    // Terminated once the batch runs: its first member has completed, the rest are to come.
    while (dev.view(recs, 1)[0] === 0) await new Promise((r) => setTimeout(r, 0));
    engine.terminate();
    const t0 = performance.now();
    const status = await done;
    const ms = performance.now() - t0;
    const membersDone = Array.from({ length: N }, (_, i) => readRecord(dev.view(recs, 32 * N), 32 * i).status).filter((s) => s !== 0).length;
    // The replacement engine runs what comes next.
    const after = await Promise.all(Array.from({ length: 20 }, () => dev.submit(Descriptor.crc32c({ src, size: 4096 }))));
    const st = dev.stats();
    const fresh = workers.filter((w) => w.name === 'softdsa engine 0').at(-1)!.worker;
    return {
      status,
      record: readRecord(dev.view(batchRec, 32), 0).status,
      membersDone,
      after: after.every((s) => s === Status.SUCCESS),
      engineFailures: st.engineFailures,
      recovered: st.recovered,
      exactlyOnce: st.completed + st.recovered === 21,
      relaunched: fresh !== engine,
      ms,
    };
  } finally {
    await dev.close();
  }
}

/** An engine that dies running the next descriptor (fault injection: a throw, or close()), before or after running it. */
async function dyingEngine(how: 'exit' | 'throw', when: 'before' | 'after'): Promise<Record<string, unknown>> {
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  try {
    const src = dev.alloc(4096);
    const dst = dev.alloc(4096);
    const rec = dev.alloc(32, 32);
    dev.view(src, 4096).fill(7);
    dev.inject({ engineDeath: { how, when }, times: 1 });
    const status = await dev.submit(Descriptor.memmove({ src, dst, size: 4096, completion: rec }));
    const after = await Promise.all(Array.from({ length: 10 }, () => dev.submit(Descriptor.memmove({ src, dst, size: 4096 }))));
    const st = dev.stats();
    return {
      status,
      record: readRecord(dev.view(rec, 32), 0).status,
      after: after.every((s) => s === Status.SUCCESS),
      engineFailures: st.engineFailures,
      exactlyOnce: st.completed + st.recovered === 11,
    };
  } finally {
    await dev.close();
  }
}

/** In a page that is not cross-origin isolated: what open() and a drop-in call say. */
async function notIsolated(): Promise<Record<string, unknown>> {
  const why = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
  return { isolated: globalThis.crossOriginIsolated, open: await why(Device.open()), crc32c: await why(softdsa.crc32c(text('123456789'))) };
}

/** What Device.open() says when the engines' script cannot be loaded (the Node side makes its request fail), and after how long. */
async function engineStart(): Promise<{ said: string; ms: number }> {
  const t0 = performance.now();
  const said = await Device.open({ engines: 1 }).then(async (dev) => {
    await dev.close();
    return 'opened';
  }, (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
  return { said, ms: performance.now() - t0 };
}

/** Two calls that need the Wasm core on this thread (crc16t10dif), one after the other: what each said. */
async function coreTwice(): Promise<string[]> {
  const said: string[] = [];
  for (let i = 0; i < 2; i++) said.push(await softdsa.crc16t10dif(text('123456789')).then((v: number) => v.toString(16), (e: Error & { code?: string }) => `${e.code}: ${e.message}`));
  return said;
}

Object.assign(globalThis, { softdsaTest: { knownResults, fuzz, terminateEngine, dyingEngine, notIsolated, engineStart, coreTwice } });
document.title = 'ready';
