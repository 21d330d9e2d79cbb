// npm run bench [-- --quick]: every suite in bench/, in one go.
//
//   1. device.bench.ts (benny throughput, latency percentiles, baselines, idle CPU)
//      -> bench/results/device.json
//   2. a `softdsa bench` sweep (the CLI's runner: throughput against size, node and
//      piscina baselines in the same run) -> bench/results/sweep.json
//   3. every other bench/*.bench.ts (kernels.bench.ts, ...), each in its own process;
//      they write their own results/*.json
//   4. bench/results/chart.html (charts of 2 and of kernels.json, tables of 1) and
//      bench/results/performance.md (the README's performance table)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chart, esc, page, type Series } from '../src/cli/html.ts';
import { lastLevelCache } from '../src/cli/machine.ts';
import { parse } from '../src/cli/options.ts';
import { table as sweepTable } from '../src/cli/report.ts';
import { fmtSize, runBench, type BenchResult } from '../src/cli/run.ts';
import { baselines, BATCH, idleCpu, latency, throughput, WINDOW } from './device.bench.ts';
import { fingerprint, load } from './harness.ts';

const quick = process.argv.includes('--quick');
const started = performance.now();
const loads: { at: string; load: number[] }[] = [];
const mark = (at: string): void => {
  loads.push({ at, load: load() });
};
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const fp = fingerprint();
console.log(`softdsa ${fp.softdsa} on ${fp.cpu} (${fp.cores} cores), Node ${fp.node}; load average ${load().join(' ')}${quick ? '; --quick' : ''}`);

const n = (x: number, d = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

type DeviceResults = {
  throughput: Awaited<ReturnType<typeof throughput>>;
  baselines: Awaited<ReturnType<typeof baselines>>;
  latency: Awaited<ReturnType<typeof latency>>;
  idle: Awaited<ReturnType<typeof idleCpu>>;
  [k: string]: unknown;
};

/** The device suites as table rows (terminal and chart.html). */
function deviceRows(r: Pick<DeviceResults, 'throughput' | 'baselines' | 'latency' | 'idle'>): string[][] {
  const { throughput: thr, baselines: base, latency: lat, idle } = r;
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
  rows.push(['Idle device (2 engines): CPU over 1 s right after work / the next 1 s (engines parked)', `${n(idle.cpuMs, 1)} ms`, `${n(idle.cpuMsParked, 1)} ms`, `states ${idle.engineStates.join(',')}`]);
  return rows;
}

/** The device suites' headline figures as a markdown table (performance.md, README). */
function deviceMarkdown(r: DeviceResults): string {
  const desc = (p: string) => r.throughput.find((t) => t.name.startsWith(p));
  const lat = (p: string) => r.latency.find((l) => l.name.startsWith(p))!;
  const bt = (p: string) => r.baselines.throughput.find((t) => t.name.startsWith(p));
  const m = (x: number | undefined): string => (x === undefined ? '—' : `${(x / 1e6).toFixed(2)} M`);
  const us = (l: { p50: number; p99: number }): string => `${n(l.p50, l.p50 < 100 ? 2 : 0)} / ${n(l.p99, l.p99 < 100 ? 1 : 0)} µs`;
  const t4 = desc('raw verbs: memmove 4 KiB, batch 32 x 32 in flight, 1 engine');
  const pl = r.baselines.piscinaLatency;
  return [
    '| device suites (`device.bench.ts`) | softdsa | baseline (same run) |',
    '|---|---:|---:|',
    `| batched 64 B memmove (batches of 32), 1 engine, raw verbs | ${m(desc('raw verbs: memmove 64 B, batch 32 x 32 in flight, 1 engine')?.descPerSec)} desc/s | — |`,
    `| batched 64 B memmove, \`submit()\`, 1 engine | ${m(desc('submit(): memmove 64 B, batch 32 x 32 in flight, 1 engine')?.descPerSec)} desc/s | — |`,
    `| batched 4 KiB memmove, 1 engine | ${m(t4?.descPerSec)} desc/s (${t4?.descPerSec ? ((t4.descPerSec * 4096) / 1e9).toFixed(1) : '—'} GB/s) | \`Buffer.copy\` ${m(bt('main thread: Buffer.copy')?.opsPerSecMedian)} ops/s |`,
    `| hot round trip, one 4 KiB memmove (engine and caller polling), p50 / p99 | ${us(lat('(a)'))} | piscina task per copy ${us(pl)} |`,
    `| parked round trip (engine parked, caller on eventfd), p50 / p99 | ${us(lat('(b)'))} | |`,
    `| parked round trip, Atomics path, p50 / p99 | ${us(lat('(c)'))} | |`,
    `| a copy after 40 ms idle (engine parked, woken by submit()), p50 / p99 | ${us(lat('(e)'))} | |`,
    `| idle device CPU, 2 engines parked | ${n(r.idle.cpuMsParked, 1)} ms per s | |`,
  ].join('\n') + '\n';
}

// ---- 1. device suites ----
async function deviceSuites(): Promise<DeviceResults> {
  mark('start');
  const idle = await idleCpu(); // first: nothing else has run in this process yet
  mark('idle');
  const thr = await throughput();
  mark('throughput');
  const base = await baselines();
  mark('baselines');
  const lat = await latency();
  mark('latency');

  const rows = deviceRows({ throughput: thr, baselines: base, latency: lat, idle });
  const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length)));
  console.log();
  for (const r of rows) console.log(r[0].padEnd(w[0]) + '  ' + r.slice(1).map((x, i) => x.padStart(w[i + 1])).join('  '));

  const batched64 = Math.max(...thr.filter((t) => t.name.startsWith('raw verbs: memmove 64 B')).map((t) => t.descPerSec ?? 0));
  const find = (p: string) => lat.find((l) => l.name.startsWith(p))!;
  const pl = base.piscinaLatency;
  const targets = [
    { target: 'batched 64 B memmove >= 5,000,000 descriptors/s', value: batched64, met: batched64 >= 5e6 },
    { target: 'hot round trip p50 <= 2 µs', value: find('(a)').p50, met: find('(a)').p50 <= 2 },
    { target: 'parked round trip (eventfd) p50 <= 25 µs', value: find('(b)').p50, met: find('(b)').p50 <= 25 },
    { target: 'piscina task per copy ~40-85 µs (baseline)', value: pl.p50, met: pl.p50 >= 30 && pl.p50 <= 100 },
  ];
  console.log();
  for (const t of targets) console.log(`${t.met ? 'met    ' : 'NOT met'}  ${t.target}: ${n(t.value, t.value > 1000 ? 0 : 2)}`);
  const device = {
    machine: fp,
    load: loads,
    seconds: +((performance.now() - started) / 1000).toFixed(1),
    config: { batch: BATCH, window: WINDOW, copyBytes: 4096 },
    throughput: thr,
    baselines: base,
    latency: lat,
    idle,
    targets,
  };
  writeFileSync(new URL('device.json', dir), JSON.stringify(device, null, 2) + '\n');
  console.log('saved bench/results/device.json');
  return device;
}

// ---- 2. the sweep: what `softdsa bench` reports ----
const SWEEP_ARGS = quick
  ? ['bench', '-o', 'memmove,crc32c,compare,fill', '-s', '4k,64k,1m', '-b', '1,16', '-q', '8', '-d', '150ms', '-w', '50ms']
  : ['bench', '-o', 'memmove,crc32c,compare,fill', '-s', '4k-1m:x4', '-b', '1,16', '-q', '8', '-d', '400ms', '-w', '100ms'];
const sweepOpts = parse(SWEEP_ARGS, { cores: availableParallelism(), llc: lastLevelCache(), isTTY: false }).options!;
const ctl = { aborted: false, progress: () => {} };
process.once('SIGINT', () => (ctl.aborted = true));
async function runSweep(): Promise<BenchResult> {
  const res = await runBench(sweepOpts, SWEEP_ARGS, { ctl, onMeasure: (i, total, label) => process.stdout.write(`\r  ${i + 1}/${total} ${label}`.padEnd(72)) });
  process.stdout.write('\r'.padEnd(80) + '\r');
  mark('sweep');
  console.log(sweepTable(res));
  writeFileSync(new URL('sweep.json', dir), JSON.stringify(res, null, 2) + '\n');
  console.log('saved bench/results/sweep.json');
  return res;
}

// --report-only: rebuild chart.html and performance.md from the saved results.
const reportOnly = process.argv.includes('--report-only');
const readSaved = (name: string): any => JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
const device: DeviceResults = reportOnly ? readSaved('device.json') : await deviceSuites();
if (!reportOnly) console.log(`\nsweep: softdsa ${SWEEP_ARGS.join(' ')}`);
const sweep: BenchResult = reportOnly ? readSaved('sweep.json') : await runSweep();
const rows = deviceRows(device);

// ---- 3. the other suites, each in its own process ----
const here = fileURLToPath(new URL('.', import.meta.url));
const others = readdirSync(here).filter((f) => f.endsWith('.bench.ts') && f !== 'device.bench.ts').sort();
const suites: { file: string; code: number | null }[] = [];
for (const f of reportOnly ? [] : others) {
  if (ctl.aborted) break;
  console.log(`\n${f}:`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${here}${f}`, ...(quick ? ['--quick'] : [])], { stdio: 'inherit', cwd: fileURLToPath(new URL('..', import.meta.url)) });
  suites.push({ file: f, code: r.status });
  if (r.status !== 0) console.log(`${f} failed (exit ${r.status}); the other suites' results stand`);
  mark(f);
}

// ---- 4. chart.html and performance.md ----
const readJson = (name: string): any => {
  const u = new URL(name, dir);
  try {
    return existsSync(u) ? JSON.parse(readFileSync(u, 'utf8')) : null;
  } catch {
    return null;
  }
};
const extra: string[] = [];
const kernels = readJson('kernels.json');
if (kernels && Array.isArray(kernels.rows)) {
  extra.push('<h2>Wasm kernels beside their native baselines (kernels.bench.ts)</h2><div class="charts">');
  for (const r of kernels.rows as { kernel: string; baseline: string; cells: { size: number; wasm: number; native: number }[] }[]) {
    if (!Array.isArray(r.cells)) continue;
    const series: Series[] = [
      { name: `Wasm ${r.kernel}`, points: r.cells.map((c) => ({ x: c.size, y: c.wasm })) },
      { name: r.baseline, points: r.cells.map((c) => ({ x: c.size, y: c.native })), dashed: true },
    ];
    extra.push(chart(series, { title: r.kernel, xLabel: 'size', yLabel: 'GB/s', xBytes: true, width: 540, height: 260 }));
  }
  extra.push(`</div><p class="note">From bench/results/kernels.json (${esc(String(kernels.date ?? ''))}).</p>`);
}
extra.push('<h2>Device suites (device.bench.ts)</h2><table>');
for (const r of rows) extra.push(r[0] === '' ? '<tr><td colspan="4"></td></tr>' : `<tr><td>${esc(r[0])}</td><td>${esc(r[1])}</td><td>${esc(r[2])}</td><td>${esc(r[3])}</td></tr>`);
extra.push('</table>');
if (suites.length > 0) extra.push(`<p class="note">Other suites run: ${suites.map((s) => `${esc(s.file)} (exit ${s.code})`).join(', ')}; their JSON is in bench/results/.</p>`);
writeFileSync(new URL('chart.html', dir), page(sweep, extra.join('\n')));
console.log('saved bench/results/chart.html');

/** The README's table: per operation and size, the best softdsa variant beside the baselines. */
function performanceTable(res: BenchResult): string {
  const out = [
    `Measured with \`npm run bench\` on ${res.machine.cpu} (${res.machine.cores} cores), Node ${res.machine.node}, softdsa ${res.machine.softdsa}, ${res.startedAt.slice(0, 10)}, load ${res.machine.load.start}→${res.machine.load.end}; \`softdsa ${res.argv.join(' ')}\`.`,
    '',
    '| op | size | softdsa, 1 per descriptor | softdsa, batches of 16 | node (main thread) | piscina task per op | softdsa ÷ node | softdsa ÷ piscina |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  const g = (x: number | undefined): string => (x === undefined ? '—' : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
  const keys = [...new Set(res.rows.map((r) => `${r.op}|${r.size}`))];
  for (const k of keys) {
    const [op, size] = [k.split('|')[0], Number(k.split('|')[1])];
    const rs = res.rows.filter((r) => r.op === op && r.size === size);
    const one = rs.find((r) => r.impl === 'softdsa' && r.variant?.batch === 1);
    const bat = rs.find((r) => r.impl === 'softdsa' && (r.variant?.batch ?? 1) > 1);
    const node = rs.find((r) => r.impl === 'node');
    const pis = rs.filter((r) => r.impl === 'piscina').sort((a, b) => b.gbps - a.gbps)[0];
    const best = Math.max(one?.gbps ?? 0, bat?.gbps ?? 0);
    out.push(`| ${op} | ${fmtSize(size)} | ${g(one?.gbps)} GB/s | ${g(bat?.gbps)} GB/s | ${g(node?.gbps)} GB/s | ${g(pis?.gbps)} GB/s | ${node ? `${g(best / node.gbps)}×` : '—'} | ${pis ? `${g(best / pis.gbps)}×` : '—'} |`);
  }
  return out.join('\n') + '\n';
}
writeFileSync(new URL('performance.md', dir), performanceTable(sweep) + '\n' + deviceMarkdown(device));
console.log('saved bench/results/performance.md');
mark('end');
console.log(`\n${n((performance.now() - started) / 1000, 1)} s; load average ${loads.map((l) => `${l.at} ${l.load[0]}`).join(', ')}`);
if (ctl.aborted) process.exitCode = 130;
