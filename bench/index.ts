// npm run bench: every suite, a compact table, and bench/results/device.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { baselines, BATCH, idleCpu, latency, throughput, WINDOW } from './device.bench.ts';
import { fingerprint, load } from './harness.ts';

const started = performance.now();
const loads: { at: string; load: number[] }[] = [];
const mark = (at: string): void => {
  loads.push({ at, load: load() });
};
const fp = fingerprint();
console.log(`softdsa ${fp.softdsa} on ${fp.cpu} (${fp.cores} cores), Node ${fp.node}; load average ${load().join(' ')}`);

mark('start');
const idle = await idleCpu(); // first: nothing else has run in this process yet
mark('idle');
const thr = await throughput();
mark('throughput');
const base = await baselines();
mark('baselines');
const lat = await latency();
mark('latency');
const seconds = (performance.now() - started) / 1000;

const n = (x: number, d = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const rows: string[][] = [];
rows.push(['Throughput (benny; median sample)', 'ops/s', 'descriptors/s', '±%']);
for (const t of thr) rows.push([t.name, n(t.opsPerSecMedian), n(t.descPerSec ?? 0), n(t.rme, 1)]);
for (const t of base.throughput) rows.push([t.name, n(t.opsPerSecMedian), '', n(t.rme, 1)]);
rows.push(['', '', '', '']);
rows.push(['Latency, one 4 KiB memmove round trip (median of 3 reps)', 'p50 µs', 'p99 µs', 'samples/rep']);
for (const l of lat) rows.push([l.name + (l.intendedState !== undefined ? ` [state as intended ${n(l.intendedState * 100)}%]` : ''), n(l.p50, 2), n(l.p99, 2), n(l.samples)]);
const pl = base.piscinaLatency;
rows.push(['baseline: piscina task per 4 KiB copy, awaited', n(pl.p50, 2), n(pl.p99, 2), n(pl.samples)]);
rows.push(['', '', '', '']);
rows.push(['Idle device (2 engines): CPU over 1 s right after work / 1 s once asleep', `${n(idle.cpuMs, 1)} ms`, `${n(idle.cpuMsAsleep, 1)} ms`, `states ${idle.engineStates.join(',')}`]);

const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length)));
console.log();
for (const r of rows) console.log(r[0].padEnd(w[0]) + '  ' + r.slice(1).map((x, i) => x.padStart(w[i + 1])).join('  '));

const batched64 = Math.max(...thr.filter((t) => t.name.startsWith('raw verbs: memmove 64 B')).map((t) => t.descPerSec ?? 0));
const find = (p: string) => lat.find((l) => l.name.startsWith(p))!;
const targets = [
  { target: 'batched 64 B memmove >= 5,000,000 descriptors/s', value: batched64, met: batched64 >= 5e6 },
  { target: 'hot round trip p50 <= 2 µs', value: find('(a)').p50, met: find('(a)').p50 <= 2 },
  { target: 'parked round trip (eventfd) p50 <= 25 µs', value: find('(b)').p50, met: find('(b)').p50 <= 25 },
  { target: 'piscina task per copy ~40-85 µs (baseline)', value: pl.p50, met: pl.p50 >= 30 && pl.p50 <= 100 },
];
console.log();
for (const t of targets) console.log(`${t.met ? 'met    ' : 'NOT met'}  ${t.target}: ${n(t.value, t.value > 1000 ? 0 : 2)}`);
mark('end');
console.log(`\n${n(seconds, 1)} s; load average ${loads.map((l) => `${l.at} ${l.load[0]}`).join(', ')}`);

const results = {
  machine: fp,
  load: loads,
  seconds: +seconds.toFixed(1),
  config: { batch: BATCH, window: WINDOW, copyBytes: 4096 },
  throughput: thr,
  baselines: base,
  latency: lat,
  idle,
  targets,
};
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL('device.json', dir), JSON.stringify(results, null, 2) + '\n');
console.log('saved bench/results/device.json');
