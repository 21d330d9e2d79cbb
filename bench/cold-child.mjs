// One fresh process of the cold-start suite (first_call.bench.ts): imports softdsa as a user
// would (the compiled package), makes its first calls, and prints one JSON line of timings (ms).
//   node bench/cold-child.mjs <case>
// cases: crc-plain-1m   first await crc32c() of a 1 MiB Buffer (default device)
//        crc-arena-16m  alloc() 16 MiB, fill, first crc32c (default device); then, once its
//                       engines are ready, warm calls on the device (deviceWarmMs)
//        copy-arena-16m alloc() 2 x 16 MiB, fill, first memcpy (default device); the same
//        open           await Device.open(), then one 4 KiB memmove descriptor
//        native-1m      baseline: @node-rs/crc32 of a 1 MiB Buffer, imported in this process
//        native-16m     baseline: @node-rs/crc32 of 16 MiB
//        copy-native-16m baseline: Buffer.copy of 16 MiB
//        hold-1m        first await crc32c() of a 1 MiB Buffer, then the event loop watched for
//                       400 ms (a 1 ms timer): its longest hold (holdMaxMs) while the default
//                       device opens and starts its engines behind the program
//        hold-native-1m baseline: the same after @node-rs/crc32
import { createRequire } from 'node:module';

const which = process.argv[2];
const t0 = performance.now();
const out = { case: which };
const calls = async (n, fn) => {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return ms;
};

/** The event loop watched for `ms` with a 1 ms timer: its longest gap between ticks, less the 1 ms asked for. */
const longestHold = async (ms) => {
  let last = performance.now();
  let most = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    most = Math.max(most, now - last - 1);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, ms));
  clearInterval(tick);
  return most;
};

if (which.startsWith('hold')) {
  const a = Buffer.alloc(1 << 20, 7);
  if (which === 'hold-native-1m') {
    const { crc32c } = createRequire(import.meta.url)('@node-rs/crc32');
    out.importMs = performance.now() - t0;
    out.first10Ms = await calls(1, async () => crc32c(a));
  } else {
    const m = await import('../dist/src/index.js');
    out.importMs = performance.now() - t0;
    out.first10Ms = await calls(1, () => m.crc32c(a));
    out.holdMaxMs = await longestHold(400);
    await m.shutdown();
  }
  out.firstMs = out.first10Ms[0];
  out.holdMaxMs ??= await longestHold(400);
} else if (which.startsWith('native') || which === 'copy-native-16m') {
  const { crc32c } = createRequire(import.meta.url)('@node-rs/crc32');
  out.importMs = performance.now() - t0;
  const n = which === 'native-1m' ? 1 << 20 : 16 << 20;
  const a = Buffer.alloc(n, 7);
  const b = Buffer.alloc(n, 1);
  const ms = which === 'copy-native-16m' ? await calls(10, async () => a.copy(b)) : await calls(10, async () => crc32c(a));
  out.firstMs = ms[0];
  out.first10Ms = ms;
} else {
  const m = await import('../dist/src/index.js');
  out.importMs = performance.now() - t0;
  if (which === 'open') {
    const t = performance.now();
    const dev = await m.Device.open();
    out.openMs = performance.now() - t;
    const src = dev.alloc(4096);
    const dst = dev.alloc(4096);
    const d = m.Descriptor.memmove({ src, dst, size: 4096 });
    const ms = await calls(10, () => dev.submit(d));
    out.firstMs = ms[0];
    out.first10Ms = ms;
    await dev.close();
  } else {
    const n = which === 'crc-plain-1m' ? 1 << 20 : 16 << 20;
    let a;
    let b;
    const t = performance.now();
    if (which === 'crc-plain-1m') a = Buffer.alloc(n, 7);
    else {
      a = m.alloc(n).fill(7);
      b = m.alloc(n).fill(1);
    }
    out.setupMs = performance.now() - t;
    const ms = which === 'copy-arena-16m' ? await calls(10, () => m.memcpy(b, a)) : await calls(10, () => m.crc32c(a));
    out.firstMs = ms[0];
    out.first10Ms = ms;
    if (which !== 'crc-plain-1m') {
      // Warm calls on the device itself (the ten above ran here while its engines booted).
      const placed = m.stats().ops[which === 'copy-arena-16m' ? 'memcpy' : 'crc32c'].placement;
      await m.ready();
      const warm = which === 'copy-arena-16m' ? await calls(10, () => m.memcpy(b, a)) : await calls(10, () => m.crc32c(a));
      out.deviceWarmMs = warm.slice(5);
      out.placement = placed;
    }
    if (which === 'crc-plain-1m') {
      // The default device opens after the first calls (50 ms later, src/api/default_device.ts):
      // what that open costs this thread when it comes, opened here instead (stats() would).
      const t1 = performance.now();
      m.defaultDevice();
      out.deferredOpenMs = performance.now() - t1;
    }
    out.placement ??= m.stats().ops[which === 'copy-arena-16m' ? 'memcpy' : 'crc32c'].placement;
    await m.shutdown();
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
