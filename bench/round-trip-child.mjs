// The awaited round trip of first_call.bench.ts (c), in a process of its own on the compiled
// package, as a user's program runs it (under tsx, the sources ran ~0.5 us slower per call, and
// the suites before it left the heap large): one 4 KiB memmove descriptor through
// `await dev.submit()`, then `await dev.memcpy()` of 4 KiB forced onto the device
// (inlineThreshold 0), one in flight; prints one JSON line: p50 and p99 (us) of each rep.
//   node bench/round-trip-child.mjs <calls per rep> <reps>
const { Device, Descriptor } = await import(new URL('../dist/src/index.js', import.meta.url).href);
const n = Number(process.argv[2] ?? 30000);
const reps = Number(process.argv[3] ?? 3);
const dev = await Device.open({ inlineThreshold: 0 });
const src = dev.alloc(4096);
const dst = dev.alloc(4096);
const d = Descriptor.memmove({ src, dst, size: 4096 });
const a = dev.buffer(4096);
const b = dev.buffer(4096);
const q = (xs, f) => xs.slice().sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(f * xs.length))];
const out = { submit: [], memcpy: [], placement: null };
for (let rep = 0; rep < reps; rep++) {
  const s = [];
  const c = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await dev.submit(d);
    s.push((performance.now() - t) * 1000);
  }
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await dev.memcpy(b, a);
    c.push((performance.now() - t) * 1000);
  }
  out.submit.push({ p50: q(s, 0.5), p99: q(s, 0.99) });
  out.memcpy.push({ p50: q(c, 0.5), p99: q(c, 0.99) });
}
out.placement = dev.stats().ops.memcpy.placement;
await dev.close();
console.log(JSON.stringify(out));
