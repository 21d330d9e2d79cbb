// The CPU's CRC-32C for bytes outside the arena (src/device/cpu_crc.ts): the addon's three-stream
// CRC (native/crc32c.cc) against two independent ones; and where it or @node-rs/crc32's native
// binary does not load, softdsa still loads, and CRCs of memory outside the arena come from the
// other, or from JavaScript, or from the engines through the arena when large, with the same
// results (test/fixtures/no_cpu_crc.cjs makes @node-rs/crc32 fail to load; SOFTDSA_NO_EVENTFD=1 the addon).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32c as cpuCrc32c } from '@node-rs/crc32';
import { crc32c as awsCrc32c } from '@aws-crypto/crc32c';
import { loadEventFd } from '../src/device/eventfd.ts';
import { addonCrc } from '../src/device/cpu_crc.ts';

const here = dirname(fileURLToPath(import.meta.url));
const addon = loadEventFd();
const linuxWithCrc = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');

test('the addon has its CRC on Linux x64 and arm64 (CPUs with the instruction), and cpu_crc.ts takes it', () => {
  if (!linuxWithCrc || addon === null) return;
  assert.type(addon.crc32c, 'function');
  assert.is(addonCrc(), addon.crc32c);
});

test("the addon's crc32c: @node-rs/crc32's and @aws-crypto/crc32c's results at every size to 3 x 8 KiB + 1 KiB, at every alignment, with random seeds", () => {
  const crc = addon?.crc32c;
  if (crc === undefined) return;
  const buf = randomFillSync(Buffer.alloc(3 * 8192 + 1024 + 16));
  // every size through the three-block rounds of 8 KiB and 256 B, and the tails between
  for (let n = 0; n <= 3 * 8192 + 1024; n += n < 1024 ? 1 : 61) {
    const at = n & 15;
    const v = buf.subarray(at, at + n);
    const seed = (n * 2654435761) >>> 0;
    assert.is(crc(v, seed), cpuCrc32c(v, seed) >>> 0, `${n} bytes at ${at}, seed ${seed}`);
  }
  assert.is(crc(buf.subarray(5, 5 + 9000), 0), awsCrc32c(buf.subarray(5, 5 + 9000)) >>> 0);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 70000 }), fc.nat(15), fc.integer({ min: 0, max: 0xffffffff }), (bytes, off, seed) => {
      const b = Buffer.alloc(bytes.length + off);
      b.set(bytes, off);
      const v = b.subarray(off);
      return crc(v, seed) === cpuCrc32c(v, seed) >>> 0;
    }),
    { numRuns: 300 },
  );
});

test("the addon's crc32c: views of SharedArrayBuffers and plain ArrayBuffers alike, 1 MiB and more; a CRC continued in parts is the whole's", () => {
  const crc = addon?.crc32c;
  if (crc === undefined) return;
  const sab = new Uint8Array(new SharedArrayBuffer((4 << 20) + 3));
  randomFillSync(sab);
  const whole = crc(sab, 0x1234);
  assert.is(whole, cpuCrc32c(Buffer.from(sab), 0x1234) >>> 0);
  assert.is(crc(new Uint8Array(sab), 0x1234), whole, 'a plain copy');
  const cut = (1 << 20) + 77;
  assert.is(crc(sab.subarray(cut), crc(sab.subarray(0, cut), 0x1234)), whole);
});

test("the addon's crc32c: wrong arguments are refused with a TypeError or RangeError, nothing read", () => {
  const crc = addon?.crc32c as ((...a: unknown[]) => number) | undefined;
  if (crc === undefined) return;
  const b = Buffer.alloc(16);
  for (const args of [[], [b], ['bytes', 0], [new Uint16Array(4), 0], [new DataView(new ArrayBuffer(8)), 0], [b, '0']]) assert.throws(() => crc(...args), (e: Error) => e instanceof TypeError && /crc32c\(view, seed\)/.test(e.message), String(args));
  for (const seed of [-1, 2 ** 32, 1.5, NaN]) assert.throws(() => crc(b, seed), (e: Error) => e instanceof RangeError, String(seed));
  assert.is(crc(new Uint8Array(0), 0xabcdef01), 0xabcdef01, 'no bytes: the seed');
});

/** A program's out: CRCs of plain memory small and large, of a SharedArrayBuffer, of a stream; with `flags` (a preload, an env). */
function crcsWithout(preload: string[], env: Record<string, string>): Record<string, unknown> {
  const src = join(here, '..', 'src', 'index.ts');
  const script = `
    import { Device, crc32c, createCrc32cStream, shutdown, stats } from ${JSON.stringify(src)};
    const bytes = (n, k) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * k) & 255; return b; };
    const out = {};
    out.small = await crc32c(bytes(1000, 7));
    const dev = await Device.open({ engines: 1, inlineThreshold: 0 });
    out.large = await dev.crc32c(bytes(4 << 20, 13));
    out.largePlacement = Object.keys(dev.stats().ops.crc32c.placement);
    const sab = new Uint8Array(new SharedArrayBuffer(1 << 20)); sab.set(bytes(1 << 20, 3));
    out.shared = await dev.crc32c(sab);
    await dev.close();
    const s = createCrc32cStream();
    s.resume();
    for (let i = 0; i < 5; i++) s.write(bytes(3000 + i, 5));
    await new Promise((r) => s.end(r));
    out.stream = s.digest('number');
    await shutdown();
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, [...preload, '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function expected(largePlacement: string[]): Record<string, unknown> {
  const bytes = (n: number, k: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * k) & 255;
    return b;
  };
  let stream = 0;
  for (let i = 0; i < 5; i++) stream = cpuCrc32c(bytes(3000 + i, 5), stream);
  return {
    small: cpuCrc32c(bytes(1000, 7)) >>> 0,
    large: cpuCrc32c(bytes(4 << 20, 13)) >>> 0,
    largePlacement,
    shared: cpuCrc32c(bytes(1 << 20, 3)) >>> 0,
    stream: stream >>> 0,
  };
}

const NO_NODE_RS = ['--require', join(here, 'fixtures', 'no_cpu_crc.cjs')];

test("@node-rs/crc32 not loadable, the addon's CRC there: plain memory is checksummed where it lies, large too; all right", () => {
  if (addon?.crc32c === undefined) return;
  assert.equal(crcsWithout(NO_NODE_RS, {}), expected(['inline:not-shared']));
});

test('neither @node-rs/crc32 nor the addon loadable: import works; crc32c of plain memory (small, large: staged), a SharedArrayBuffer (the engines), a stream, all right', () => {
  assert.equal(crcsWithout(NO_NODE_RS, { SOFTDSA_NO_EVENTFD: '1' }), expected(['staged']));
});

test("the addon not loadable, @node-rs/crc32 there: the same results", () => {
  assert.equal(crcsWithout([], { SOFTDSA_NO_EVENTFD: '1' }), expected(['inline:not-shared']));
});

test.run();
