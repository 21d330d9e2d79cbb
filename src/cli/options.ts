// `softdsa bench` options: util.parseArgs (strict) for the syntax, then our own
// validation into a typed BenchOptions. Every problem is a UsageError with one line
// that says what is wrong; bench_main.ts prints it and exits with code 2.
import { parseAccelConfig } from '../device/accel_config.ts';
import { ConfigError } from '../device/errors.ts';
import { type Topology, topologyLayout } from '../device/topology.ts';
import { parseArgv, parseBytes, UsageError } from './argv.ts';

export const OPS = ['memmove', 'fill', 'compare', 'compare-pattern', 'crc32c', 'copy-crc32c', 'dualcast', 'create-delta', 'apply-delta', 'dif-check', 'dif-insert', 'dif-strip', 'dif-update'] as const;
export type Op = (typeof OPS)[number];
export const COMPLETIONS = ['busy', 'eventfd', 'atomics'] as const;
export type Completion = (typeof COMPLETIONS)[number];
/** node: the usual Node code on the main thread; piscina: the same in worker threads; npm: the best npm package where it differs (DIF: polycrc's CRC-16) */
export const BASELINES = ['node', 'piscina', 'npm'] as const;
export type Baseline = (typeof BASELINES)[number];
export type Placement = 'reused' | 'fresh';
export type WqMode = 'dedicated' | 'shared';

/** Largest transfer the delta operations accept (DSA: 512 KiB). */
export const DELTA_MAX = 512 * 1024;

/** The sizes an operation runs: the delta operations take multiples of 8 up to 512 KiB, the DIF ones whole 4 KiB blocks of data. */
export function sizesFor(op: Op, sizes: number[]): number[] {
  if (op.startsWith('dif-')) return sizes.filter((s) => s % 4096 === 0);
  return op === 'create-delta' || op === 'apply-delta' ? sizes.filter((s) => s % 8 === 0 && s <= DELTA_MAX) : sizes;
}


export interface BenchOptions {
  ops: Op[];
  /** transfer sizes in bytes, ascending, unique */
  sizes: number[];
  /** descriptors per batch descriptor; 1 = no batching */
  batch: number[];
  /** work descriptors in flight */
  qd: number[];
  engines: number[];
  wqMode: WqMode;
  completion: Completion[];
  /** seconds per measurement (unused when iterations is set: the two are not given together) */
  duration: number;
  /** operations (transfers) per measurement; 0 = use duration */
  iterations: number;
  /** seconds of warm-up before each measurement */
  warmup: number;
  placement: Placement;
  /** bytes of buffers the fresh placement cycles through */
  freshBytes: number;
  verify: boolean;
  baselines: Baseline[];
  /** engine / submitter spin budgets, µs; undefined = the device's defaults */
  engineSpin: number | undefined;
  pollSpin: number | undefined;
  /** busy poll: µs to sleep between polls once 50 µs passed without the completion; 0 = spin only */
  nap: number;
  /** work queue slots; 0 = the smallest power of two that holds the queue depth */
  wqSize: number;
  /** the largest arena the run may allocate */
  maxArena: number;
  /** --config: the accel-config file the device is opened from, and its topology */
  config: { file: string; topology: Topology } | undefined;
  json: boolean;
  csv: boolean;
  html: string | undefined;
  progress: boolean;
  quiet: boolean;
}

export interface Parsed {
  command: 'bench' | 'help' | 'version';
  options?: BenchOptions;
  /** the argv as given, for the report */
  argv: string[];
}


/** Sizes one --size may give. */
const MAX_SIZES = 4096;

/**
 * Transfer sizes: a comma list of items; an item is a size ("4k"), a doubling range
 * ("4k-1m" = 4k, 8k, ... 1m) or a range with a factor ("4k-1m:x4", or ":*4") or a
 * step ("1k-8k:+1k"). The end is included when a step lands on it.
 */
export function parseSizes(text: string): number[] {
  const out: number[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') throw new UsageError(`--size: empty item in "${text}"`);
    const r = /^([^-:]+)-([^-:]+)(?::([x*+])?(.+))?$/i.exec(item);
    if (!r) {
      if (item.includes('-') || item.includes(':')) throw new UsageError(`--size: cannot read range "${item}" (examples: 4k-1m, 4k-1m:x4, 1k-8k:+1k)`);
      out.push(parseBytes(item, '--size'));
      continue;
    }
    const lo = parseBytes(r[1], '--size');
    const hi = parseBytes(r[2], '--size');
    if (hi < lo) throw new UsageError(`--size: range "${item}" ends below its start`);
    const kind = r[4] === undefined ? 'x' : (r[3] ?? 'x').toLowerCase();
    // (counted as the list grows: a step of 1 byte over 4k-1g would build a list V8 cannot hold)
    const add = (v: number): void => {
      if (out.length === MAX_SIZES) throw new UsageError(`--size: "${item}" gives more than ${MAX_SIZES} sizes`);
      out.push(v);
    };
    if (kind === '+') {
      const step = parseBytes(r[4]!, '--size step');
      for (let v = lo; v <= hi; v += step) add(v);
    } else {
      const f = r[4] === undefined ? 2 : Number(r[4]);
      if (!Number.isFinite(f) || f <= 1) throw new UsageError(`--size: the factor in "${item}" must be a number above 1`);
      // (each step moves by at least one byte: x1.1 from 1 would round back to 1 for ever)
      for (let v = lo; v <= hi; v = Math.max(v + 1, Math.round(v * f))) add(v);
    }
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/** "2s", "500ms", "1.5" (seconds), "0" → seconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`${what}: cannot read "${text}" (examples: 2s, 500ms, 1.5)`);
  const v = Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 } as Record<string, number>)[(m[2] ?? 's').toLowerCase()];
  if (v > 3600) throw new UsageError(`${what}: ${text} is more than an hour`);
  return v;
}

/** "1k", "10000", "1e6" → a positive integer count. */
export function parseCount(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([km]?)\s*$/i.exec(text);
  const v = m ? Number(m[1]) * ({ '': 1, k: 1e3, m: 1e6 } as Record<string, number>)[m[2].toLowerCase()] : NaN;
  if (!Number.isInteger(v) || v <= 0) throw new UsageError(`${what}: "${text}" is not a positive whole number`);
  if (!Number.isSafeInteger(v)) throw new UsageError(`${what}: "${text}" is more than 2^53 - 1 (a count past it cannot be kept exactly, nor run to its end)`);
  return v;
}

function intList(text: string, what: string, min: number, max: number): number[] {
  const out = text.split(',').map((s) => {
    const t = s.trim();
    const v = /^\d+$/.test(t) ? Number(t) : NaN;
    if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`${what}: "${t}" must be a whole number from ${min} to ${max}`);
    return v;
  });
  return [...new Set(out)];
}

function choiceList<T extends string>(text: string, what: string, allowed: readonly T[], aliases: Record<string, T> = {}): T[] {
  const out = text.split(',').map((s) => {
    const t = s.trim().toLowerCase();
    const v = (aliases[t] ?? t) as T;
    if (!allowed.includes(v)) throw new UsageError(`${what}: unknown "${s.trim()}" (one or more of: ${allowed.join(', ')})`);
    return v;
  });
  return [...new Set(out)];
}

export const HELP = `softdsa bench: data-movement throughput of the software DSA, with the CPU baselines beside it

Usage: softdsa bench [options]
       softdsa crc32c [options] FILE...   the CRC-32C of files (softdsa crc32c --help)
       softdsa decode [options] HEX       a descriptor or completion record, field by field

Work
  -o, --op LIST           operations (comma list): ${OPS.join(', ')},
                          or "all"                                   [memmove]
  -s, --size LIST         transfer sizes: 4k,64k,1m  ranges 4k-1m (doubling),
                          4k-1m:x4, 1k-8k:+1k; units k, m, g (1024)  [4k,64k,1m]
                          (create/apply-delta run the multiples of 8 up to 512k;
                          dif-* the multiples of 4k: data bytes in 4 KiB blocks)
  -b, --batch LIST        descriptors per BATCH descriptor; 1 = no batching  [1]
  -q, --qd LIST           queue depth: work descriptors in flight
                          (batch descriptors when --batch > 1)     [16, at most the WQ's room]
  -e, --engines LIST      engine threads      [cores - 1: one core for the submitter]
      --wq-mode MODE      dedicated | shared                       [dedicated]
  -c, --completion LIST   busy (raw verbs, spin on completed()),
                          eventfd | atomics (await submit())        [busy]
      --nap US            busy: after 50 µs without the completion, sleep US
                          between polls (0: spin only, needs a free core)  [20]
      --wq-size N         work queue slots (power of two)  [fits the queue depth]
      --config FILE       open the device from an accel-config JSON file (its
                          groups, engines and WQs; replaces --engines, --wq-size,
                          --wq-mode); work goes to its lowest-id WQ, and each
                          group with several WQs gets arbitration rows: every
                          WQ kept full, each one's share of the throughput
      --engine-spin US    engines spin this long before parking     [device default]
      --poll-spin US      submit() spins this long before sleeping  [device default]
Measuring
  -d, --duration TIME     per measurement: 2s, 500ms                [1s]
  -n, --iterations N      per measurement: N transfers instead of a duration (with -b B,
                          the device runs whole batches: N rounded up to a multiple of B)
  -w, --warmup TIME       warm-up before each measurement           [200ms]
                          (at least 600ms on a newly opened device; 0: none)
      --placement P       reused: each slot keeps its buffers (warm cache);
                          fresh: cycle through --fresh-bytes of buffers
                          so the data is not in the cache           [reused]
      --fresh-bytes SIZE  buffers the fresh placement cycles through
                                                       [2 x last-level cache, 64m-1g]
      --verify            check every result against the baseline's (every
                          other compare differs in its last byte, every
                          other DIF check has a bad guard there: 0x09)
      --baseline LIST     node, piscina, npm (DIF: the best npm CRC-16), or none
                                                           [node,piscina,npm]
      --max-arena SIZE    refuse runs that need a larger arena      [2g]
Output (an aligned table by default)
      --json              JSON on stdout (schema "softdsa-bench/1")
      --csv               CSV on stdout
      --html FILE         a self-contained page with charts (throughput against size)
      --no-progress       no progress bar (it shows only on a terminal)
      --quiet             no table (with --html: just write the file)
  -h, --help              this help
  -V, --version           softdsa's version

Examples
  npx softdsa bench -s 4k-1m -o memmove,crc32c
  npx softdsa bench -o all -s 64k -d 300ms --verify
  npx softdsa bench -s 256-64k:x4 -b 1,32 -q 1,32 --html bench.html
`;

const SPEC = {
  op: { type: 'string', short: 'o' },
  size: { type: 'string', short: 's' },
  batch: { type: 'string', short: 'b' },
  qd: { type: 'string', short: 'q' },
  engines: { type: 'string', short: 'e' },
  'wq-mode': { type: 'string' },
  completion: { type: 'string', short: 'c' },
  'wq-size': { type: 'string' },
  config: { type: 'string' },
  nap: { type: 'string' },
  'engine-spin': { type: 'string' },
  'poll-spin': { type: 'string' },
  duration: { type: 'string', short: 'd' },
  iterations: { type: 'string', short: 'n' },
  warmup: { type: 'string', short: 'w' },
  placement: { type: 'string' },
  'fresh-bytes': { type: 'string' },
  verify: { type: 'boolean' },
  baseline: { type: 'string' },
  'max-arena': { type: 'string' },
  json: { type: 'boolean' },
  csv: { type: 'boolean' },
  html: { type: 'string' },
  'no-progress': { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

export interface Defaults {
  cores: number;
  /** last-level cache bytes, 0 when unknown */
  llc: number;
  isTTY: boolean;
}


/** Parses argv (without node and the script). Throws UsageError. */
export function parse(argv: string[], env: Defaults): Parsed {
  const { values, positionals } = parseArgv(argv, SPEC, argv[0] === 'bench' ? 'bench' : undefined);
  if (values.version) return { command: 'version', argv };
  const [cmd, ...extra] = positionals;
  if (values.help || cmd === 'help') return { command: 'help', argv };
  if (cmd === undefined) throw new UsageError('missing command: try "softdsa bench" (or --help)');
  if (cmd !== 'bench') throw new UsageError(`unknown command "${cmd}": the commands are "bench", "crc32c" and "decode" (see --help)`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (options start with --; see --help)`);

  const str = (k: string): string | undefined => values[k] as string | undefined;
  const opText = str('op') ?? 'memmove';
  const ops = opText.trim().toLowerCase() === 'all' ? [...OPS] : choiceList(opText, '--op', OPS, { 'compare-pattern': 'compare-pattern', comppattern: 'compare-pattern', compval: 'compare-pattern', crc: 'crc32c', 'copy-crc': 'copy-crc32c', 'crc32c-copy': 'copy-crc32c', memcpy: 'memmove', copy: 'memmove', 'delta-create': 'create-delta', 'delta-apply': 'apply-delta', 'dif-ins': 'dif-insert', 'dif-strp': 'dif-strip', 'dif-updt': 'dif-update', dif: 'dif-check' });
  const sizes = parseSizes(str('size') ?? '4k,64k,1m');
  if (sizes[sizes.length - 1] > 2 ** 31) throw new UsageError(`--size: ${sizes[sizes.length - 1]} bytes is above the device's largest transfer (2g)`);
  // The delta operations run only the sizes they accept; at least one must be left.
  for (const op of ops) {
    if (sizesFor(op, sizes).length === 0) throw new UsageError(`--size: ${op} needs sizes that are ${op.startsWith('dif-') ? 'multiples of 4k (whole 4 KiB blocks)' : 'multiples of 8 up to 512k'}; got ${sizes.join(', ')}`);
  }
  const batch = intList(str('batch') ?? '1', '--batch', 1, 1024);
  const qd = intList(str('qd') ?? '16', '--qd', 1, 4096);
  const engines = intList(str('engines') ?? String(Math.max(1, env.cores - 1)), '--engines', 1, 64);
  const wqMode = choiceList(str('wq-mode') ?? 'dedicated', '--wq-mode', ['dedicated', 'shared'] as const);
  if (wqMode.length !== 1) throw new UsageError('--wq-mode: give one mode');
  const completion = choiceList(str('completion') ?? 'busy', '--completion', COMPLETIONS, { poll: 'busy', 'busy-poll': 'busy', raw: 'busy', atomic: 'atomics' });
  const wqSizeText = str('wq-size');
  const wqSize = wqSizeText === undefined ? 0 : intList(wqSizeText, '--wq-size', 4, 65536)[0];
  if (wqSize & (wqSize - 1)) throw new UsageError(`--wq-size: ${wqSize} is not a power of two`);
  if (wqSize > 0 && str('qd') === undefined) qd.splice(0, qd.length, Math.min(qd[0], wqSize)); // the default depth, within the WQ (as the help says)
  if (wqSize > 0 && qd.some((q) => q > wqSize)) throw new UsageError(`--qd: ${Math.max(...qd)} descriptors in flight do not fit a work queue of ${wqSize} slots`);
  const spin = (k: string): number | undefined => (str(k) === undefined ? undefined : intList(str(k)!, `--${k}`, 0, 1_000_000)[0]);
  const duration = parseDuration(str('duration') ?? '1s', '--duration');
  if (duration <= 0) throw new UsageError('--duration: must be above 0');
  const iterations = str('iterations') === undefined ? 0 : parseCount(str('iterations')!, '--iterations');
  if (iterations > 0 && str('duration') !== undefined) throw new UsageError('--duration and --iterations: give one (a measurement runs for a time, or for N transfers)');
  const warmup = parseDuration(str('warmup') ?? '200ms', '--warmup');
  const placement = choiceList(str('placement') ?? 'reused', '--placement', ['reused', 'fresh'] as const, { reuse: 'reused', cold: 'fresh', hot: 'reused' });
  if (placement.length !== 1) throw new UsageError('--placement: give one placement');
  const fresh = str('fresh-bytes') === undefined ? Math.min(1 << 30, Math.max(64 << 20, 2 * env.llc)) : parseBytes(str('fresh-bytes')!, '--fresh-bytes');
  const baseText = (str('baseline') ?? 'node,piscina,npm').trim().toLowerCase();
  const baselines = baseText === 'none' || baseText === '' ? [] : choiceList(baseText, '--baseline', BASELINES, { sync: 'node', cpu: 'node' });
  const maxArena = parseBytes(str('max-arena') ?? '2g', '--max-arena');
  if (maxArena > 4000 * 2 ** 20) throw new UsageError('--max-arena: the device arena cannot exceed about 4000m');
  const json = Boolean(values.json);
  const csv = Boolean(values.csv);
  if (json && csv) throw new UsageError('--json and --csv both write to stdout: choose one');
  const config = configOf(str('config'), { engines: str('engines'), 'wq-size': str('wq-size'), 'wq-mode': str('wq-mode') }, sizes, batch, qd, str('qd') !== undefined);
  const html = str('html');
  if (html !== undefined && html.trim() === '') throw new UsageError('--html: give a file name');
  // A group of several WQs gets arbitration rows, each WQ kept full: a count per WQ would give each
  // the same share, whatever the arbiter did.
  const shared = config === undefined ? undefined : topologyLayout(config.topology).groups.find((g) => g.wqs.length > 1);
  if (shared !== undefined && iterations > 0) throw new UsageError(`--iterations cannot measure the shares of group${shared.id}'s ${shared.wqs.length} WQs (each would run N): give a duration (-d) with --config`);

  return {
    command: 'bench',
    argv,
    options: {
      ops,
      sizes,
      batch,
      qd,
      engines: config === undefined ? engines : [topologyLayout(config.topology).engineCount],
      wqMode: wqMode[0],
      completion,
      duration,
      iterations,
      warmup,
      placement: placement[0],
      freshBytes: fresh,
      verify: Boolean(values.verify),
      baselines,
      nap: spin('nap') ?? 20,
      engineSpin: spin('engine-spin'),
      pollSpin: spin('poll-spin'),
      wqSize,
      maxArena,
      config,
      json,
      csv,
      html,
      progress: !values['no-progress'] && !json && !csv && env.isTTY,
      quiet: Boolean(values.quiet),
    },
  };
}

/**
 * --config FILE: the topology, checked (its errors as usage errors), and the run's work checked
 * against the WQ it goes to (the lowest id): its admission limit, max batch and max transfer.
 */
function configOf(file: string | undefined, replaced: Record<string, string | undefined>, sizes: number[], batch: number[], qd: number[], qdGiven: boolean): BenchOptions['config'] {
  if (file === undefined) return undefined;
  for (const [k, v] of Object.entries(replaced)) if (v !== undefined) throw new UsageError(`--${k}: the config file sets the device (give one or the other)`);
  let topology: Topology;
  try {
    topology = parseAccelConfig(file).topology;
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`--config: ${e.message}`);
    throw e;
  }
  const wq = [...topology.wqs].sort((a, b) => a.id - b.id)[0];
  const room = wq.mode === 'shared' ? Math.min(wq.size, wq.threshold) : wq.size;
  if (!qdGiven) qd.splice(0, qd.length, Math.min(qd[0], room)); // the default depth, within the WQ
  if (Math.max(...qd) > room) throw new UsageError(`--qd: ${Math.max(...qd)} descriptors in flight do not fit ${wq.name} (wq${wq.id}), which takes ${room}`);
  if (Math.max(...batch) > wq.maxBatchSize) throw new UsageError(`--batch: ${Math.max(...batch)} is over ${wq.name}'s max_batch_size ${wq.maxBatchSize}`);
  if (sizes[sizes.length - 1] > wq.maxTransferSize) throw new UsageError(`--size: ${sizes[sizes.length - 1]} bytes is over ${wq.name}'s max_transfer_size ${wq.maxTransferSize}`);
  // The arbitration rows run every size on every WQ of a group of several: each must take it.
  for (const w of topology.wqs) {
    const shared = topology.wqs.filter((x) => x.group === w.group).length > 1;
    if (shared && sizes[sizes.length - 1] > w.maxTransferSize) {
      throw new UsageError(`--size: ${sizes[sizes.length - 1]} bytes is over ${w.name}'s max_transfer_size ${w.maxTransferSize} (the arbitration rows run each size on every WQ of group${w.group})`);
    }
  }
  return { file, topology };
}
