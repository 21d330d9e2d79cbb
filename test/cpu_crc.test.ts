// Where the CPU's CRC-32C (@node-rs/crc32's native binary) does not load: softdsa still loads,
// and CRCs of memory outside the arena come from JavaScript, or from the engines through the
// arena when large, with the same results (test/fixtures/no_cpu_crc.cjs makes it fail to load).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32c as cpuCrc32c } from '@node-rs/crc32';

const here = dirname(fileURLToPath(import.meta.url));

test('@node-rs/crc32 not loadable: import works; crc32c of plain memory (small, large: staged), a SharedArrayBuffer (the engines), a stream, all right', () => {
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
  const r = spawnSync(process.execPath, ['--require', join(here, 'fixtures', 'no_cpu_crc.cjs'), '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const bytes = (n: number, k: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * k) & 255;
    return b;
  };
  let stream = 0;
  for (let i = 0; i < 5; i++) stream = cpuCrc32c(bytes(3000 + i, 5), stream);
  assert.equal(out, {
    small: cpuCrc32c(bytes(1000, 7)) >>> 0,
    large: cpuCrc32c(bytes(4 << 20, 13)) >>> 0,
    largePlacement: ['staged'],
    shared: cpuCrc32c(bytes(1 << 20, 3)) >>> 0,
    stream: stream >>> 0,
  });
});

test.run();
