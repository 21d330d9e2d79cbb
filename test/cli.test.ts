// softdsa bench: option parsing, the JSON schema, the outputs, Ctrl-C, and a tiny real
// run of every operation with --verify (through the CLI, as a user runs it).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Device } from '../src/index.ts';
import { loadCrc } from '../src/cli/kernels.ts';
import { Kit } from '../src/cli/kit.ts';
import { OPS, parse, parseDuration, parseSizes, type BenchOptions } from '../src/cli/options.ts';
import { parseBytes, UsageError } from '../src/cli/argv.ts';
import { csv, validate } from '../src/cli/report.ts';
import { fmtSize, plan, type BenchResult } from '../src/cli/run.ts';
import { parseAccelConfig } from '../src/device/accel_config.ts';

const root = new URL('..', import.meta.url).pathname;
const ENV = { cores: 2, llc: 32 << 20, isTTY: false };
const opts = (...argv: string[]): BenchOptions => parse(['bench', ...argv], ENV).options!;
const usage = (argv: string[], match: RegExp): void => {
  try {
    parse(argv, ENV);
  } catch (e) {
    assert.instance(e, UsageError, String(e));
    assert.match((e as Error).message, match);
    assert.not.match((e as Error).message, /\n/, 'one line');
    return;
  }
  assert.unreachable(`no error for ${argv.join(' ')}`);
};

/** Runs the CLI from the sources; returns exit code and outputs. */
function cli(args: string[], timeout = 60000): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// ---- parsing ----

test('sizes: lists, units, ranges doubling, factors, steps; sorted and unique', () => {
  assert.equal(parseBytes('64'), 64);
  assert.equal(parseBytes('4k'), 4096);
  assert.equal(parseBytes('4KiB'), 4096);
  assert.equal(parseBytes('1.5m'), 1.5 * 2 ** 20);
  assert.equal(parseBytes('2G'), 2 ** 31);
  assert.equal(parseSizes('4k,64k,1m'), [4096, 65536, 1 << 20]);
  assert.equal(parseSizes('1m,4k,4k'), [4096, 1 << 20]);
  assert.equal(parseSizes('4k-64k'), [4096, 8192, 16384, 32768, 65536]);
  assert.equal(parseSizes('4k-1m:x4'), [4096, 16384, 65536, 262144, 1 << 20]);
  assert.equal(parseSizes('4k-1m:*16'), [4096, 65536, 1 << 20]);
  assert.equal(parseSizes('1k-4k:+1k'), [1024, 2048, 3072, 4096]);
  assert.equal(parseSizes('64,1k-2k'), [64, 1024, 2048]);
  assert.equal(parseSizes('4k-10k'), [4096, 8192], 'the end is included only when a step lands on it');
  assert.equal(parseSizes('1-4:x1.1'), [1, 2, 3, 4], 'a factor too small to move a size moves it a byte');
  for (const huge of ['4k-1g:+1', '4k-1m:x1.0001']) assert.throws(() => parseSizes(huge), (e: Error) => e instanceof UsageError && /more than 4096 sizes/.test(e.message), huge);
});

test('durations and defaults', () => {
  assert.equal(parseDuration('2s', 'd'), 2);
  assert.equal(parseDuration('500ms', 'd'), 0.5);
  assert.equal(parseDuration('1.5', 'd'), 1.5);
  const o = opts();
  assert.equal(o.ops, ['memmove']);
  assert.equal(o.sizes, [4096, 65536, 1 << 20]);
  assert.equal(o.batch, [1]);
  assert.equal(o.qd, [16]);
  assert.equal(o.engines, [1], 'cores - 1');
  assert.equal(o.completion, ['busy']);
  assert.equal(o.wqMode, 'dedicated');
  assert.equal(o.duration, 1);
  assert.equal(o.iterations, 0);
  assert.equal(o.warmup, 0.2);
  assert.equal(o.placement, 'reused');
  assert.equal(o.baselines, ['node', 'piscina', 'npm']);
  assert.is(o.verify, false);
  assert.is(o.progress, false, 'no progress bar off a terminal');
  assert.is(parse(['bench'], { ...ENV, isTTY: true }).options!.progress, true);
  assert.is(parse(['bench', '--json'], { ...ENV, isTTY: true }).options!.progress, false, 'no progress bar with --json');
});

test('every option, short and long', () => {
  const o = opts('-o', 'memmove,crc32c,copy', '-s', '64,4k', '-b', '1,32', '-q', '1,64', '-e', '1,2', '--wq-mode', 'shared', '-c', 'busy,eventfd,atomics', '--wq-size', '128', '--engine-spin', '0', '--poll-spin', '5', '--nap', '0', '-n', '10k', '-w', '0', '--placement', 'fresh', '--fresh-bytes', '8m', '--verify', '--baseline', 'node', '--max-arena', '512m', '--csv', '--html', 'x.html', '--no-progress', '--quiet');
  assert.equal(o.ops, ['memmove', 'crc32c']);
  assert.equal(o.sizes, [64, 4096]);
  assert.equal(o.batch, [1, 32]);
  assert.equal(o.qd, [1, 64]);
  assert.equal(o.engines, [1, 2]);
  assert.equal(o.wqMode, 'shared');
  assert.equal(o.completion, ['busy', 'eventfd', 'atomics']);
  assert.equal([o.wqSize, o.engineSpin, o.pollSpin, o.nap], [128, 0, 5, 0]);
  assert.equal([o.duration, o.iterations, o.warmup], [1, 10000, 0]);
  assert.equal(opts('-d', '250ms').duration, 0.25);
  assert.equal([o.placement, o.freshBytes, o.verify, o.maxArena], ['fresh', 8 << 20, true, 512 << 20]);
  assert.equal(o.baselines, ['node']);
  assert.equal([o.csv, o.json, o.html, o.progress, o.quiet], [true, false, 'x.html', false, true]);
  assert.equal(opts('-o', 'all').ops, [...OPS]);
  assert.equal(opts('--baseline', 'none').baselines, []);
  assert.equal(parse(['--help'], ENV).command, 'help');
  assert.equal(parse(['bench', '-h'], ENV).command, 'help');
  assert.equal(parse(['-V'], ENV).command, 'version');
});

test('bad options: one clear line each', () => {
  usage(['bench', '--frobnicate'], /Unknown option '--frobnicate'/);
  usage(['bench', '-s'], /argument missing|requires|missing/i);
  usage(['bench', '-s', '4q'], /--size: cannot read "4q"/);
  usage(['bench', '-s', '1m-4k'], /ends below its start/);
  usage(['bench', '-s', '4k-1m:x1'], /factor/);
  usage(['bench', '-s', '0'], /--size/);
  usage(['bench', '-o', 'memcopy'], /--op: unknown "memcopy"/);
  usage(['bench', '-q', '0'], /--qd: "0" must be a whole number from 1/);
  usage(['bench', '-b', 'two'], /--batch/);
  usage(['bench', '-b', '2000'], /--batch/);
  usage(['bench', '-c', 'interrupt'], /--completion: unknown/);
  usage(['bench', '--wq-size', '100'], /power of two/);
  usage(['bench', '--wq-size', '8', '-q', '16'], /do not fit/);
  assert.equal(opts('--wq-size', '8').qd, [8], 'the default depth, within a smaller WQ');
  usage(['bench', '-d', 'soon'], /--duration: cannot read/);
  usage(['bench', '-d', '0'], /--duration: must be above 0/);
  usage(['bench', '-n', '-3'], /--iterations|argument/);
  usage(['bench', '-n', '99999999999999999999'], /--iterations: "99999999999999999999" is more than 2\^53 - 1/); // (accepted, it ran for good)
  usage(['bench', '-d', '1s', '-n', '100'], /--duration and --iterations: give one/); // (-d was ignored)
  usage(['bench', '-s', '-4k'], /Option '-s' argument is ambiguous: a value that starts with a dash is given as '--size=-XYZ'/);
  usage(['bench', '--size=-4k'], /--size: cannot read range "-4k"/);
  usage(['bench', '--placement', 'nearby'], /--placement: unknown/);
  usage(['bench', '--json', '--csv'], /choose one/);
  usage(['bench', '-o', 'create-delta', '-s', '1m'], /multiples of 8 up to 512k/);
  assert.equal(plan(opts('-o', 'memmove,apply-delta', '-s', '4k,1m')).steps.map((s) => `${s.op} ${s.size}`), ['memmove 4096', 'memmove 1048576', 'apply-delta 4096'], 'delta ops skip the sizes they do not take');
  usage(['bench', '-o', 'apply-delta', '-s', '100'], /multiples of 8/);
  usage(['bench', 'now'], /unexpected argument "now"/);
  usage(['benchmark'], /unknown command "benchmark"/);
  usage([], /missing command/);
  // The arena the run would need.
  assert.throws(() => plan(opts('-s', '1g', '-q', '64')), (e: Error) => e instanceof UsageError && /arena/.test(e.message));
  assert.not.throws(() => plan(opts('-s', '4k-1m', '-q', '32')));
  // (a --max-arena under 1 MiB is said in bytes, not rounded to "0m")
  assert.throws(() => plan(opts('--max-arena', '1k')), (e: Error) => e instanceof UsageError && /above --max-arena 1024 bytes/.test(e.message));
});

test('the CLI: --help, --version, and exit code 2 with one line for bad options', () => {
  const h = cli(['bench', '--help']);
  assert.is(h.code, 0);
  assert.match(h.out, /^softdsa bench: /);
  // softdsa --help, no command: the commands first (it printed bench's help alone, titled so)
  const top = cli(['--help']);
  assert.is(top.code, 0);
  // (no command is run by default: softdsa alone is a usage error, and the help said bench was the default; an outside pass)
  assert.match(top.out, /^softdsa: .*Commands: bench, crc32c, decode; each takes --help/);
  assert.not.match(top.out, /the default/);
  const none = cli([]);
  assert.is(none.code, 2);
  assert.match(none.err, /missing command/);
  assert.match(top.out, /Usage: softdsa bench/);
  for (const o of ['--op', '--size', '--batch', '--qd', '--engines', '--wq-mode', '--completion', '--duration', '--iterations', '--warmup', '--placement', '--verify', '--json', '--csv', '--html']) assert.ok(h.out.includes(o), o);
  const bad = cli(['bench', '--size', '4k-1q']);
  assert.is(bad.code, 2);
  assert.is(bad.out, '');
  assert.is(bad.err.trim().split('\n').length, 1, bad.err);
  assert.match(bad.err, /^softdsa: bench: --size/);
  // The bin launcher (development checkout: sources through tsx).
  const v = spawnSync(process.execPath, [join(root, 'bin/softdsa.js'), '--version'], { cwd: root, encoding: 'utf8', timeout: 60000 });
  assert.is(v.status, 0, v.stderr);
  assert.match(v.stdout, /^softdsa \d+\.\d+\.\d+/);
});

// ---- a real run of every operation ----

let all: BenchResult;
test('every operation, verified: device and both baselines agree on every result', () => {
  const r = cli(['bench', '-o', 'all', '-s', '4k', '-n', '200', '-w', '0', '-q', '4', '-e', '1', '--verify', '--json']);
  assert.is(r.code, 0, r.err);
  all = JSON.parse(r.out) as BenchResult;
  assert.equal(validate(all), []);
  for (const op of OPS) {
    // DIF: also the best npm CRC-16 (polycrc, a devDependency)
    for (const impl of op.startsWith('dif-') ? ['softdsa', 'node', 'piscina', 'npm'] : ['softdsa', 'node', 'piscina']) {
      const row = all.rows.find((x) => x.op === op && x.impl === impl);
      assert.ok(row, `${op} ${impl}`);
      assert.is(row!.errors, 0, `${op} ${impl}: ${row!.firstError}`);
      assert.is(row!.ops, 200, `${op} ${impl} ops`);
      assert.is(row!.verified, 200, `${op} ${impl} verified`);
      assert.ok(row!.gbps > 0 && row!.opsPerSec > 0 && row!.seconds > 0);
      assert.ok(row!.latencyUs.p50! > 0);
    }
    const dsa = all.rows.find((x) => x.op === op && x.impl === 'softdsa')!;
    assert.ok(dsa.ratio.node! > 0 && dsa.ratio.piscina! > 0, 'ratios beside the device row');
    // (the ratio of operations per second, the same size both sides: GB/s, rounded, read 0 at 1 byte)
    const node = all.rows.find((x) => x.op === op && x.impl === 'node')!;
    assert.ok(Math.abs(dsa.ratio.node! - dsa.opsPerSec / node.opsPerSec) < 1e-3 * Math.max(1, dsa.ratio.node!), `${op}: ratio ${dsa.ratio.node} against ${dsa.opsPerSec}/${node.opsPerSec}`);
    assert.is(dsa.ratio.npm !== undefined, op.startsWith('dif-'), `${op}: an npm ratio only for DIF`);
  }
  assert.is(all.machine.cores > 0, true);
  assert.type(all.machine.softdsa, 'string');
  assert.is(all.interrupted, false);
});

test('batches and the submit() completion paths, verified', () => {
  const r = cli(['bench', '-o', 'memmove,crc32c', '-s', '1k', '-n', '256', '-w', '0', '-b', '8', '-q', '2', '-e', '1', '-c', 'busy,eventfd,atomics', '--baseline', 'none', '--verify', '--json']);
  assert.is(r.code, 0, r.err);
  const res = JSON.parse(r.out) as BenchResult;
  assert.equal(validate(res), []);
  assert.is(res.rows.length, 6);
  for (const row of res.rows) {
    assert.is(row.errors, 0, row.firstError);
    assert.is(row.ops, 256);
    assert.is(row.descs, 32, 'batches of 8');
    assert.is(row.verified, 256);
    assert.is(row.variant!.batch, 8);
  }
  assert.equal([...new Set(res.rows.map((x) => x.variant!.completion))], ['busy', 'eventfd', 'atomics']);
});

test('--verify catches a wrong result', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 4 << 20 });
  try {
    const { crc32c } = loadCrc();
    for (const op of ['memmove', 'crc32c', 'compare', 'dif-insert', 'dif-check'] as const) {
      const kit = new Kit(dev, op, 4096, 1, 1, 'reused', 0, crc32c);
      kit.poison(0);
      assert.is(await dev.submit(kit.groups[0].desc), 1);
      assert.is(kit.checkDevice(0), null, op);
      const s = kit.sets[0];
      const mem = dev.view(s.rec, 32);
      if (op === 'memmove') dev.view(s.b + 4095, 1)[0] ^= 1;
      else if (op === 'dif-insert') dev.view(s.c + 4096 + 7, 1)[0] ^= 1; // the first ref tag
      else if (op === 'dif-check') mem[0] = 0x09;
      else if (op === 'crc32c') mem[16] ^= 1;
      else mem[1] = 1;
      assert.type(kit.checkDevice(0), 'string', `${op}: a corrupted result`);
      kit.poison(0);
      assert.type(kit.checkDevice(0), 'string', `${op}: a record not written`);
      kit.release();
    }
    // A compare that reports success without running (a record of zeros saying 0x01) is caught
    // too: every other set differs in its last byte.
    // So is a DIF check that does (every other set has a bad guard in its last block: 0x09 expected).
    for (const op of ['compare', 'compare-pattern', 'dif-check'] as const) {
      const kit = new Kit(dev, op, 4096, 2, 1, 'reused', 0, crc32c);
      for (const i of [0, 1]) {
        kit.poison(i);
        assert.is(await dev.submit(kit.groups[i].desc), kit.expectedStatus(i));
        assert.is(kit.expectedStatus(i), op === 'dif-check' && i === 1 ? 0x09 : 1);
        assert.is(kit.checkDevice(i), null, `${op} set ${i}`);
        const rec = dev.view(kit.sets[i].rec, 32);
        rec.fill(0);
        rec[0] = 1;
        if (i === 1) assert.type(kit.checkDevice(1), 'string', `${op}: a success that did not run`);
      }
      const m = kit.mirror();
      assert.is(kit.checkBaseline(0, 0, m), null);
      assert.type(kit.checkBaseline(1, 0, m), 'string', `${op}: a baseline that found no difference`);
      kit.release();
    }
  } finally {
    await dev.close();
  }
});

// ---- outputs ----

test('JSON schema: the validator rejects what is not a result', () => {
  assert.ok(all, 'needs the run above');
  assert.equal(validate(all), []);
  assert.ok(validate({}).length > 0);
  assert.ok(validate([]).length > 0);
  const broken = JSON.parse(JSON.stringify(all)) as Record<string, any>;
  broken.schema = 'other/1';
  delete broken.rows[0].gbps;
  broken.rows[1].latencyUs.p50 = 'fast';
  broken.rows[2].impl = 'gpu';
  delete broken.machine.cpu;
  const errs = validate(broken).join('\n');
  for (const m of [/schema/, /rows\[0\]\.gbps/, /rows\[1\]\.latencyUs\.p50/, /rows\[2\]\.impl/, /machine\.cpu/]) assert.match(errs, m);
});

test('CSV: a header and one line per row', () => {
  const text = csv(all);
  const lines = text.trim().split('\n');
  assert.is(lines.length, all.rows.length + 1);
  assert.match(lines[0], /^op,size,impl,name,/);
  const cols = lines[0].split(',').length;
  for (const l of lines.slice(1)) assert.is(l.split(',').length, cols, l);
});

test('table and --html: a self-contained page with a chart per operation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'softdsa-cli-'));
  try {
    const file = join(dir, 'out.html');
    const r = cli(['bench', '-o', 'memmove,fill', '-s', '1k-4k', '-n', '100', '-w', '0', '-q', '2', '-e', '1', '--html', file]);
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /GB\/s\s+ops\/s\s+p50 µs\s+p99 µs\s+p99\.9 µs\s+main CPU ms\/GB\s+vs node\s+vs piscina/);
    assert.match(r.out, /memmove\s+1 KiB\s+softdsa busy e1 q2/);
    const html = readFileSync(file, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.is((html.match(/<svg /g) ?? []).length, 4, 'throughput and latency for each op');
    assert.match(html, /<polyline/);
    assert.not.match(html, /<script|<link|src=|@import|https:/, 'nothing fetched');
    assert.match(html, /Buffer\.copy/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C: prints the rows so far and exits 130, leaving no worker', async () => {
  // NODE_DEBUG=softdsa: the device says when it loads the eventfd addon, after it opened (and after
  // the CLI set its SIGINT handler): a fixed delay instead failed on a loaded machine, where
  // starting the CLI took longer than the delay.
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'bench', '-s', '4k,64k,1m', '-d', '20s', '-w', '0', '-e', '1', '-q', '2', '--baseline', 'node'], { cwd: root, env: { ...process.env, NODE_DEBUG: 'softdsa' } });
  let out = '';
  let err = '';
  let opened: () => void = () => {};
  const open = new Promise<void>((r) => (opened = r));
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    err += d;
    if (/eventfd addon/.test(err)) opened();
  });
  await open;
  // into the first measurement, inside its 20 s: the addon loads as the device is built, before its
  // engines boot (over a second under tsx on a loaded machine; a first measurement with no
  // operation done yet prints no row)
  await new Promise((r) => setTimeout(r, 5000));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.is(code, 130, err);
  assert.match(out, /INTERRUPTED/);
  assert.match(out, /memmove\s+4 KiB\s+softdsa busy e1 q2/);
  assert.match(err, /interrupted/);
});

// ---- --config ----

const conf = (name: string): string => join(root, 'test/fixtures/accel-config', name);

test('--config: the engines come from the file; the default depth fits its first WQ; what the file sets or refuses is a usage error', () => {
  const o = opts('--config', conf('two_groups.conf'), '-s', '4k,8k');
  assert.equal(o.engines, [2]);
  assert.equal(o.qd, [16], 'wq0.0 admits 20 (its threshold)');
  assert.is(o.config?.topology.wqs.length, 2);
  usage(['bench', '--config', conf('two_groups.conf'), '-e', '2'], /--engines: the config file sets the device/);
  usage(['bench', '--config', conf('two_groups.conf'), '--wq-size', '64'], /--wq-size: the config file sets the device/);
  usage(['bench', '--config', conf('two_groups.conf'), '-s', '4k', '-q', '32'], /--qd: 32 descriptors in flight do not fit small \(wq0\), which takes 20/);
  usage(['bench', '--config', conf('two_groups.conf'), '-s', '16k'], /--size: 16384 bytes is over small's max_transfer_size 8192/);
  usage(['bench', '--config', conf('two_groups.conf'), '-s', '4k', '-b', '32'], /--batch: 32 is over small's max_batch_size 16/);
  usage(['bench', '--config', '/nonexistent.conf'], /--config: \/nonexistent\.conf: file: cannot read/);
  // The arbitration rows run each size on every WQ of the group: one that cannot take it would
  // fail every descriptor (0x13), counted as throughput and share.
  const dir = mkdtempSync(join(tmpdir(), 'softdsa-cli-'));
  try {
    const small = join(dir, 'small_low.conf');
    writeFileSync(small, readFileSync(conf('priorities.conf'), 'utf8').replace('"name":"low",', '"name":"low",\n            "max_transfer_size":16384,'));
    usage(['bench', '--config', small, '-s', '64k'], /--size: 65536 bytes is over low's max_transfer_size 16384 \(the arbitration rows run each size on every WQ of group0\)/);
    assert.is(opts('--config', small, '-s', '16k').sizes.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // a count per WQ would give each WQ of a group the same share, whatever the arbiter did
  usage(['bench', '--config', conf('priorities.conf'), '-s', '4k', '-n', '50'], /--iterations cannot measure the shares of group0's 2 WQs \(each would run N\): give a duration \(-d\)/);
});

test('-n N counts N transfers, also after a warm-up (what the warm-up left in flight is not counted); size labels are exact', () => {
  const r = cli(['bench', '-o', 'memmove', '-s', '4k', '-n', '3', '-w', '30ms', '-e', '1', '--baseline', 'piscina', '--json', '--no-progress'], 120000);
  assert.is(r.code, 0, r.err);
  const res = JSON.parse(r.out) as BenchResult;
  assert.equal(res.rows.map((row) => row.ops), [3, 3], 'softdsa and piscina: 3 each (the warm-up had left 16 in flight)');
  assert.equal([4096, 1536, 2 << 20, 4100, 4104, 1048577, 100].map(fmtSize), ['4 KiB', '1.5 KiB', '2 MiB', '4100 B', '4104 B', '1048577 B', '100 B']);
});

test('softdsa bench --config: a run on the configured device, with arbitration rows whose shares add up', () => {
  const r = cli(['bench', '--config', conf('priorities.conf'), '-o', 'crc32c', '-s', '1m', '-d', '200ms', '-w', '0', '--baseline', 'none', '--json'], 120000);
  assert.is(r.code, 0, r.err);
  const res = JSON.parse(r.out) as BenchResult;
  assert.equal(validate(res), []);
  const arb = res.rows.filter((row) => row.arbitration !== undefined);
  assert.equal(arb.map((row) => [row.arbitration!.wq, row.arbitration!.priority, row.arbitration!.expected]), [['high', 12, 0.75], ['low', 4, 0.25]]);
  assert.ok(Math.abs(arb[0].arbitration!.share + arb[1].arbitration!.share - 1) < 0.001);
  assert.ok(arb.every((row) => row.ops > 0 && row.errors === 0), 'both WQs served');
  assert.ok(res.rows.some((row) => row.arbitration === undefined && row.impl === 'softdsa' && row.ops > 0), 'the ordinary row, on the first WQ');
  // the ordinary row says which WQ it ran on: the first, shared, and its group's engines (it said dedicated, and every engine of the config)
  const first = parseAccelConfig(conf('priorities.conf')).topology;
  const row = res.rows.find((x) => x.arbitration === undefined && x.impl === 'softdsa')!;
  const wq0 = first.wqs.find((w) => w.id === 0)!;
  assert.equal([row.variant!.wqMode, row.variant!.engines], [wq0.mode, first.groups.find((g) => g.id === wq0.group)!.engines.length]);
});

test('main() returns 2 on a usage error (it ended its caller\'s process); --html that cannot be written: refused before the run, or one line after it', async () => {
  const { main } = await import('../src/cli/main.ts');
  const { captured } = await import('./captured.ts');
  const bad = await captured(() => main(['bench', '--frobnicate']));
  assert.is(bad.code, 2);
  assert.match(bad.err, /^softdsa: bench: Unknown option '--frobnicate' \(see softdsa bench --help\)/);
  // an argument with a newline or an escape in it: one line still, the whole of it shown
  for (const [argv, line] of [
    [['bench', '--fro\nb'], "softdsa: bench: Unknown option '--fro\\nb' (see softdsa bench --help)\n"],
    [['bo\ngus'], 'softdsa: unknown command "bo\\ngus": the commands are "bench", "crc32c" and "decode" (see --help)\n'],
    [['decode', '--x\x1b'], "softdsa: decode: Unknown option '--x\\x1b' (see softdsa decode --help)\n"],
  ] as Array<[string[], string]>) {
    const r = await captured(() => main(argv));
    assert.equal([r.code, r.err], [2, line]);
  }
  const dir = await captured(() => main(['bench', '-o', 'memmove', '-s', '4k', '-n', '10', '-w', '0', '--baseline', 'none', '--quiet', '--html', tmpdir()]));
  assert.equal([dir.code, dir.err.trim()], [2, `softdsa: bench: --html: ${tmpdir()} is a directory`]);
  const full = cli(['bench', '-o', 'memmove', '-s', '4k', '-n', '10', '-w', '0', '-e', '1', '--baseline', 'none', '--quiet', '--html', '/dev/full']);
  assert.is(full.code, 1);
  assert.match(full.err.trim(), /^softdsa: --html: cannot write \/dev\/full: ENOSPC[^\n]*$/);
});

test.run();
