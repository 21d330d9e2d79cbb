// Files and streams (issue 13), every figure beside its baselines in the same run, on a
// 1 GiB file in the page cache and cold (its pages dropped with posix_fadvise(DONTNEED)
// before each run, where the machine lets us: checked with fincore):
//   raw read       - the limit, reading the file and doing nothing with the bytes, two ways:
//                    the read path's positioned reads into arena buffers (its chunk size and
//                    reads in flight), and two threads of 1 MiB synchronous reads, like the
//                    engines' on a mapped file but each thread its own half, in order, through
//                    an open of its own (bench/two_threads.ts); ratios against the faster
//   crc32cFile     - on the default device (engines at nice 10) and on one with engineNice 0
//   baselines      - fs.createReadStream + @node-rs/crc32 per chunk; fs.readFile + @node-rs/crc32
//   stream         - pipeline(createReadStream, createCrc32cStream(), createWriteStream) (to tmpfs) against
//                    the same pipeline without the checksum, and with a PassThrough stage instead
//   copy           - copyFileCrc32c (both ways of checksumming) beside fs.copyFile (no CRC)
// The cases of a mode run interleaved, round by round, in a shuffled order (the three pipelines
// one after another); medians of 5 rounds (the pipeline cost: the median of each round's own ratio).
// Main-thread CPU per GB (/proc/thread-self/schedstat) beside each.
//
// node --import tsx bench/files.bench.ts [--quick]  -> table on stdout, bench/results/files.json
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, createReadStream, createWriteStream, mkdirSync, openSync, readFile, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { crc32c as nativeCrc } from '@node-rs/crc32';
// The compiled package, as users run it (npm install builds dist/): the sources under tsx ran the
// checksum stream's per-chunk code markedly slower (a fresh process, the same three pipelines:
// +56% against +24% for dist/ in one run), and made the stream's cost look larger than it is.
import { Device, copyFileCrc32c, createCrc32cStream, crc32cFile, defaultDevice, shutdown } from '../dist/src/index.js';
import { DEFAULT_CHUNK, DEFAULT_IN_FLIGHT } from '../src/api/files.ts';
import { fingerprint, load, median } from './harness.ts';
import { TwoThreadRead } from './two_threads.ts';

const quick = process.argv.includes('--quick');
const SIZE = quick ? 256 << 20 : 1 << 30;
const REPS = quick ? 3 : 5;
const dir = join(tmpdir(), `softdsa-files-bench-${process.pid}`);
mkdirSync(dir, { recursive: true });
const file = join(dir, 'data.bin');
const out = join(dir, 'out.bin');
// The pipelines write to tmpfs where there is one: written to disk, the kernel's writeback of the
// earlier runs' dirty pages throttled each run by up to 2x, and drowned what the checksum costs.
const pipeOut = existsSync('/dev/shm') ? join('/dev/shm', `softdsa-files-bench-${process.pid}.bin`) : out;
const readFileP = promisify(readFile);

const threadNs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);

function dropPages(path: string): boolean {
  const r = spawnSync('python3', ['-c', 'import os,sys\nfd=os.open(sys.argv[1],os.O_RDONLY)\nos.fsync(fd)\nos.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)\nos.close(fd)', path]);
  return r.status === 0;
}
/** Fraction of the file's pages in the page cache (fincore), or null when it cannot tell. */
function cached(path: string): number | null {
  try {
    const t = execFileSync('fincore', ['-b', '-n', '-o', 'RES,SIZE', path], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    return t[1] > 0 ? t[0] / t[1] : null;
  } catch {
    return null;
  }
}

interface Row {
  name: string;
  mode: 'cache' | 'cold';
  gbps: number;
  mainMsPerGB: number;
  reps: number[];
  /** fraction of the file cached just before the runs (cold mode) */
  cachedBefore?: number | null;
}

/** `together`: cases with the same tag run one after another in each round (in a shuffled order among them), so their per-round ratio compares runs seconds apart */
interface Case { name: string; fn: () => Promise<unknown>; together?: string }

/** The order with the cases of each `together` tag moved next to the first of them. */
function stitched(order: number[], cases: Case[]): number[] {
  const out: number[] = [];
  for (const i of order) {
    const tag = cases[i].together;
    if (tag === undefined) out.push(i);
    else if (!out.some((j) => cases[j].together === tag)) out.push(...order.filter((j) => cases[j].together === tag));
  }
  return out;
}

/** Round r's order of n cases: a shuffle seeded by r, so no case always follows the same one (a case that leaves dirty pages or garbage behind would weigh on its successor each round). */
function roundOrder(n: number, r: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let x = (r + 1) * 0x9e3779b1;
  for (let i = n - 1; i > 0; i--) {
    x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) ^ Math.imul(x ^ (x >>> 12), 0x297a2d39);
    const j = (x >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * Every case of a mode, interleaved: round r runs each case once (in a shuffled order), so a
 * slow minute of this shared machine falls on every case alike, not on one. Medians of REPS;
 * `reps[r]` of two cases were measured in the same round.
 */
async function measureAll(mode: 'cache' | 'cold', cases: Case[]): Promise<Row[]> {
  const reps = cases.map((): number[] => []);
  const cpu = cases.map((): number[] => []);
  const before: Array<number | null | undefined> = cases.map(() => undefined);
  if (mode === 'cache') for (const c of cases) await c.fn(); // warm: file in the cache, code compiled
  for (let r = 0; r < REPS; r++) {
    for (const i of stitched(roundOrder(cases.length, r), cases)) {
      if (mode === 'cold') {
        dropPages(file);
        before[i] = cached(file);
      }
      rmSync(out, { force: true });
      const c0 = threadNs();
      const t0 = performance.now();
      await cases[i].fn();
      const ms = performance.now() - t0;
      cpu[i].push((threadNs() - c0) / 1e6 / (SIZE / 1e9));
      reps[i].push(SIZE / 1e6 / ms);
    }
  }
  rmSync(out, { force: true });
  return cases.map((c, i) => {
    const row: Row = { name: c.name, mode, gbps: median(reps[i]), mainMsPerGB: median(cpu[i]), reps: reps[i] };
    const b = before[i];
    if (mode === 'cold') row.cachedBefore = b;
    console.log(`${mode.padEnd(5)}  ${c.name.padEnd(62)} ${row.gbps.toFixed(2).padStart(6)} GB/s  ${row.mainMsPerGB.toFixed(0).padStart(5)} ms/GB main${b !== undefined && b !== null ? `  (cached before: ${(b * 100).toFixed(0)}%)` : ''}`);
    return row;
  });
}

async function rawRead(dev: Device, chunk = DEFAULT_CHUNK, inFlight = DEFAULT_IN_FLIGHT): Promise<void> {
  const fh = await open(file, 'r');
  const bufs = Array.from({ length: inFlight }, () => dev.buffer(chunk));
  let pos = 0;
  await Promise.all(bufs.map(async (b) => {
    for (;;) {
      const p = pos;
      pos += chunk;
      if (p >= SIZE) break;
      await fh.read(b, 0, chunk, p);
    }
  }));
  for (const b of bufs) dev.free(b.byteOffset);
  await fh.close();
}

const fp = fingerprint();
console.log(`softdsa ${fp.softdsa} on ${fp.cpu} (${fp.cores} cores), Node ${fp.node}; load ${load().join(' ')}; file ${SIZE >> 20} MiB in ${dir}${quick ? '; --quick' : ''}`);
{
  const fd = openSync(file, 'w');
  const block = randomBytes(16 << 20);
  for (let at = 0; at < SIZE; at += block.length) writeSync(fd, block, 0, Math.min(block.length, SIZE - at));
  closeSync(fd);
}
const nice0 = await Device.open({ engineNice: 0 });
const dev = defaultDevice();
const want = nativeCrc(readFileSync(file)) >>> 0;
const check = (crc: number): void => {
  if (crc >>> 0 !== want) throw new Error(`wrong CRC ${crc} (want ${want})`);
};
const coldOk = dropPages(file) && (cached(file) ?? 1) < 0.05;
console.log(coldOk ? 'cold runs: pages dropped with posix_fadvise(DONTNEED) before each (fincore confirms)' : 'cold runs: this machine does not let us drop the file\'s pages; cold rows skipped');

const twoReaders = new TwoThreadRead(file, SIZE);
const rows: Row[] = [];
const startLoad = load();
for (const mode of coldOk ? (['cache', 'cold'] as const) : (['cache'] as const)) {
  rows.push(...await measureAll(mode, [
    { name: `raw read (${DEFAULT_IN_FLIGHT} x ${DEFAULT_CHUNK >> 20} MiB reads into the arena, nothing else)`, fn: () => rawRead(dev) },
    { name: 'raw read (2 threads x 1 MiB synchronous reads, nothing else)', fn: () => twoReaders.read() },
    { name: 'crc32cFile (default device)', fn: async () => check(await crc32cFile(file)) },
    { name: 'crc32cFile (device with engineNice 0)', fn: async () => check(await crc32cFile(file, { device: nice0 })) },
    { name: 'fs.createReadStream + @node-rs/crc32', fn: async () => {
      let crc = 0;
      for await (const c of createReadStream(file)) crc = nativeCrc(c as Buffer, crc);
      check(crc);
    } },
    { name: 'fs.readFile + @node-rs/crc32', fn: async () => check(nativeCrc(await readFileP(file))) },
    { name: 'pipeline(createReadStream, createWriteStream)', fn: () => pipeline(createReadStream(file), createWriteStream(pipeOut)), together: 'pipeline' },
    { name: 'pipeline(createReadStream, new PassThrough(), createWriteStream)', fn: () => pipeline(createReadStream(file), new PassThrough(), createWriteStream(pipeOut)), together: 'pipeline' },
    { name: 'pipeline(createReadStream, createCrc32cStream(), createWriteStream)', fn: async () => {
      const s = createCrc32cStream();
      await pipeline(createReadStream(file), s, createWriteStream(pipeOut));
      check(s.digest());
    }, together: 'pipeline' },
    { name: 'fs.copyFile (no CRC)', fn: () => copyFile(file, out) },
    { name: "copyFileCrc32c (via 'crc32c', default)", fn: async () => check(await copyFileCrc32c(file, out)) },
    { name: "copyFileCrc32c (via 'copyCrc32c')", fn: async () => check(await copyFileCrc32c(file, out, { via: 'copyCrc32c' })) },
  ]));
}
await nice0.close();
await twoReaders.close();
await shutdown();
rmSync(dir, { recursive: true, force: true });
rmSync(pipeOut, { force: true });

const get = (mode: string, prefix: string): Row | undefined => rows.find((r) => r.mode === mode && r.name.startsWith(prefix));
/** Median over rounds of (time with the checksum / time without) - 1. */
const pairedCost = (without: Row, withCrc: Row): number => median(without.reps.map((g, r) => g / withCrc.reps[r] - 1));
const ratios: Record<string, Record<string, number>> = {};
for (const mode of ['cache', 'cold']) {
  const f = get(mode, 'crc32cFile (default');
  if (f === undefined) continue;
  const r = (p: string): number => f.gbps / get(mode, p)!.gbps;
  const raw = Math.max(...rows.filter((x) => x.mode === mode && x.name.startsWith('raw read')).map((x) => x.gbps));
  const plain = get(mode, 'pipeline(createReadStream, createWriteStream)')!;
  const withCrc = get(mode, 'pipeline(createReadStream, createCrc32cStream')!;
  ratios[mode] = {
    'crc32cFile / createReadStream+@node-rs/crc32 (target >= 2)': r('fs.createReadStream'),
    'crc32cFile / readFile+@node-rs/crc32 (target >= 1.5)': r('fs.readFile'),
    'crc32cFile / raw read, the faster way (target >= 0.8)': f.gbps / raw,
    'crc32cFile engineNice 0 / raw read, the faster way': get(mode, 'crc32cFile (device with')!.gbps / raw,
    // The pipelines' times swing by 2x from round to round here, more than the checksum costs:
    // the cost is the median of the rounds' own ratios (the pipelines of a round run one after
    // another), not a ratio of medians taken from different rounds.
    'pipeline cost of the checksum, time (target <= 10%)': pairedCost(plain, withCrc),
    'pipeline cost of the checksum over a PassThrough stage, time': pairedCost(get(mode, 'pipeline(createReadStream, new PassThrough()')!, withCrc),
  };
}
console.log();
for (const [mode, rs] of Object.entries(ratios)) for (const [k, v] of Object.entries(rs)) console.log(`${mode.padEnd(5)}  ${k.padEnd(60)} ${k.includes('cost') ? `${(v * 100).toFixed(1)}%` : `${v.toFixed(2)}x`}`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/files.json', import.meta.url), JSON.stringify({ machine: fp, date: new Date().toISOString(), load: { start: startLoad, end: load() }, bytes: SIZE, reps: REPS, chunkSize: DEFAULT_CHUNK, inFlight: DEFAULT_IN_FLIGHT, cold: coldOk, rows, ratios }, null, 2) + '\n');
console.log('saved bench/results/files.json');
