// A benchmark run: the plan (every measurement, in order), then the measurements. For
// each device configuration (engines × completion mode) one device is opened with an
// arena sized for the largest kit; for each operation, size, batch and queue depth a kit
// is laid out in the arena, the device is measured, and then the baselines on the same
// buffers (each baseline once per distinct work: later variants reuse its row).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Piscina } from 'piscina';
import { Device } from '../index.ts';
import { crc16Table, isDif, loadCrc, loadNpmCrc16 } from './kernels.ts';
import { Kit, kitBytes } from './kit.ts';
import { fingerprint, loadNow, type Machine } from './machine.ts';
import { BusyLoop, NodeLoop, PiscinaLoop, SubmitLoop, type Control, type Latency, type Measure, type Phase } from './measure.ts';
import { UsageError } from './argv.ts';
import { sizesFor, type BenchOptions, type Completion, type Op } from './options.ts';
import { topologyLayout } from '../device/topology.ts';
import { packageRoot, sourceExt } from '../device/paths.ts';
import type { WqSpec } from '../device/layout.ts';
import type { CrcFn } from './kernels.ts';

export const SCHEMA = 'softdsa-bench/1';
/** piscina tasks in flight at most (a window of qd × batch tasks beyond this tells nothing new) */
export const PISCINA_MAX_INFLIGHT = 256;
/** seconds of warm-up before the first measurement on a newly opened device (unless --warmup 0) */
export const DEVICE_WARMUP = 0.6;

export type Impl = 'softdsa' | 'node' | 'piscina' | 'npm';

export interface Row {
  op: Op;
  /** transfer size, bytes */
  size: number;
  impl: Impl;
  /** human label, e.g. "softdsa busy e2 q16" or "node Buffer.copy" */
  name: string;
  /** softdsa: the device variant; baselines: null */
  variant: { completion: Completion; engines: number; batch: number; qd: number; wqMode: string; wqSize: number; completionPath: string; napMicros: number | null } | null;
  /** piscina: threads and tasks in flight; node: null */
  pool: { threads: number; inflight: number } | null;
  placement: string;
  /** buffer sets cycled through */
  sets: number;
  /** transfers completed while measuring */
  ops: number;
  /** work descriptors (softdsa: a batch counts once; baselines: = ops) */
  descs: number;
  seconds: number;
  /** 1e9 bytes per second of transfer size */
  gbps: number;
  opsPerSec: number;
  /** µs per work descriptor (softdsa), call (node; sampled) or task (piscina) */
  latencyUs: Latency;
  cpu: {
    /** CPU ms of the main thread per GB (1e9 bytes) moved */
    mainMsPerGB: number | null;
    /** CPU ms of the whole process (every thread) per GB */
    processMsPerGB: number | null;
    mainSource: 'schedstat' | 'process';
  };
  /** softdsa rows: this row's GB/s divided by each baseline's GB/s for the same work */
  ratio: Partial<Record<'node' | 'piscina' | 'npm', number>>;
  /** results checked (--verify), else 0 */
  verified: number;
  errors: number;
  firstError?: string;
  /** cut short by Ctrl-C */
  partial: boolean;
  /** arbitration rows (--config): this WQ's share of its group's completions while every WQ of the group was kept full */
  arbitration?: { group: number; wq: string; priority: number; share: number; expected: number };
}

export interface BenchResult {
  schema: typeof SCHEMA;
  machine: Machine;
  options: Record<string, unknown>;
  argv: string[];
  startedAt: string;
  seconds: number;
  interrupted: boolean;
  /** how the figures are obtained (the same text as --help's notes) */
  notes: string[];
  crc: string;
  rows: Row[];
}

export const NOTES = [
  'GB/s = transfer size x transfers completed / seconds, GB = 1e9 bytes; ops/s = transfers per second',
  'softdsa latency: from enqueue to the submitter seeing the completion, per work descriptor (a batch counts once); at qd > 1 it includes queueing and head-of-line waiting: use --qd 1 for round trips',
  'node latency: one synchronous call, sampled on every k-th call; piscina latency: pool.run() to its resolution',
  'main CPU ms/GB: CPU time of the main thread (Linux /proc/thread-self/schedstat) over the measurement; busy poll spins, so it is about the wall time; process CPU (every thread) is in the JSON',
  'baselines run right after the device, with the device idle, over the same buffer layout: node on an ordinary (non-shared) copy of it (Buffer.copy on shared memory is several times slower), piscina on the arena itself (a SharedArrayBuffer); piscina uses as many threads as the device has engines',
  'DIF (dif-*): size = data bytes, in 4 KiB blocks with 8-byte tuples (guard CRC-16 T10-DIF, app tag 0, ref tags incrementing); node and piscina check and build tuples block by block with a 256-entry table CRC-16 (what a user writes), npm with polycrc, the fastest CRC-16 T10-DIF package on npm we measured (omitted when it is not installed)',
];

interface Config {
  engines: number;
  completion: Completion;
}

export interface Step {
  config: Config;
  op: Op;
  size: number;
  batch: number;
  qd: number;
  /** measurements in this step: softdsa, then the baselines not measured yet */
  impls: Impl[];
  label: string;
  /** an arbitration step (--config): the group (index in the device's layout) whose WQs are kept full together */
  arbitration?: number;
}

const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(n));

export function fmtSize(n: number): string {
  // (in a unit only where two decimals say it exactly: 4100 B is not "4 KiB", 4104 not "4.01 KiB")
  for (const [u, v] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 1024]] as const) if (n >= v && Number.isInteger((n * 100) / v)) return `${n / v} ${u}`;
  return `${n} B`;
}

/** One baseline row per distinct work: node and npm once per (op, size); piscina also per pool shape. */
const baselineKey = (op: Op, size: number, impl: Impl, threads: number, inflight: number): string =>
  impl === 'piscina' ? `piscina ${op} ${size} ${threads} ${inflight}` : `${impl} ${op} ${size}`;

/** Every measurement of the run, in order; arena bytes per configuration. */
export function plan(o: BenchOptions): { steps: Step[]; arena: Map<string, number> } {
  const steps: Step[] = [];
  const arena = new Map<string, number>();
  const seen = new Set<string>();
  for (const engines of o.engines)
    for (const completion of o.completion) {
      const config = { engines, completion };
      let need = 0;
      for (const op of o.ops)
        for (const size of sizesFor(op, o.sizes))
          for (const batch of o.batch)
            for (const qd of o.qd) {
              need = Math.max(need, kitBytes(op, size, qd, batch, o.placement, o.freshBytes));
              const impls: Impl[] = ['softdsa'];
              for (const b of o.baselines) {
                if (b === 'npm' && !isDif(op)) continue; // elsewhere the node baseline is the best npm code already
                const key = baselineKey(op, size, b, engines, Math.min(qd * batch, PISCINA_MAX_INFLIGHT));
                if (!seen.has(key)) {
                  seen.add(key);
                  impls.push(b);
                }
              }
              steps.push({ config, op, size, batch, qd, impls, label: `${op} ${fmtSize(size)} ${completion} e${engines} b${batch} q${qd}` });
            }
      // --config: each group with several WQs, every one kept full, per operation and size.
      if (o.config !== undefined) {
        const { wqs, groups } = topologyLayout(o.config.topology);
        groups.forEach((g, gi) => {
          if (g.wqs.length < 2) return;
          const depth = g.wqs.reduce((n, i) => n + roomOf(wqs[i]), 0);
          for (const op of o.ops)
            for (const size of sizesFor(op, o.sizes)) {
              need = Math.max(need, kitBytes(op, size, depth, 1, o.placement, o.freshBytes));
              steps.push({ config, op, size, batch: 1, qd: depth, impls: ['softdsa'], arbitration: gi, label: `${op} ${fmtSize(size)} ${completion} arbitration group${g.id}` });
            }
        });
      }
      const bytes = Math.ceil((need + (2 << 20)) / 65536) * 65536;
      if (bytes > o.maxArena) {
        throw new UsageError(`this run needs a ${Math.ceil(bytes / 2 ** 20)} MiB arena (largest size x queue depth x batch${o.placement === 'fresh' ? ', or --fresh-bytes' : ''}), above --max-arena ${o.maxArena >= 2 ** 20 ? `${Math.round(o.maxArena / 2 ** 20)}m` : `${o.maxArena} bytes`}: lower them or raise --max-arena`);
      }
      arena.set(`${engines} ${completion}`, bytes);
    }
  return { steps, arena };
}

export interface Hooks {
  ctl: Control;
  /** a measurement starts: index among `total` */
  onMeasure?(index: number, total: number, label: string): void;
  onRow?(row: Row): void;
}

function rowOf(m: Measure, base: Omit<Row, 'ops' | 'descs' | 'seconds' | 'gbps' | 'opsPerSec' | 'latencyUs' | 'cpu' | 'ratio' | 'verified' | 'errors' | 'partial'>): Row {
  const bytes = m.ops * base.size;
  const gb = bytes / 1e9;
  const per = (ns: number): number | null => (gb > 0 ? +(ns / 1e6 / gb).toFixed(3) : null);
  return {
    ...base,
    ops: m.ops,
    descs: m.descs,
    seconds: +m.seconds.toFixed(4),
    gbps: m.seconds > 0 ? +(gb / m.seconds).toFixed(4) : 0,
    opsPerSec: m.seconds > 0 ? Math.round(m.ops / m.seconds) : 0,
    latencyUs: m.latency,
    cpu: { mainMsPerGB: per(m.cpu.mainNs), processMsPerGB: per(m.cpu.processNs), mainSource: m.cpu.mainSource },
    ratio: {},
    verified: m.verified,
    errors: m.errors,
    ...(m.firstError !== undefined ? { firstError: m.firstError } : {}),
    partial: m.partial,
  };
}

const NODE_NAMES: Record<Op, string> = {
  memmove: 'Buffer.copy',
  fill: 'buffer.fill',
  compare: 'Buffer.compare',
  'compare-pattern': 'Buffer.compare vs pattern',
  crc32c: 'CRC',
  'copy-crc32c': 'Buffer.copy + CRC',
  dualcast: '2 x Buffer.copy',
  'create-delta': 'JS loop',
  'apply-delta': 'JS loop',
  'dif-check': 'per-block table CRC-16',
  'dif-insert': 'per-block table CRC-16',
  'dif-strip': 'per-block table CRC-16',
  'dif-update': 'per-block table CRC-16',
};

export async function runBench(o: BenchOptions, argv: string[], hooks: Hooks): Promise<BenchResult> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const machine = fingerprint();
  const { steps, arena } = plan(o);
  const crc = loadCrc();
  const npm16 = loadNpmCrc16();
  const crcs = { crc32c: crc.crc32c, crc16: crc16Table };
  const crcShort = crc.name.startsWith('@node-rs') ? '@node-rs/crc32' : 'JS CRC-32C';
  const total = steps.reduce((n, s) => n + s.impls.length, 0);
  const rows: Row[] = [];
  const baselineRows = new Map<string, Row>();
  const ctl = hooks.ctl;
  const warm: Phase = { seconds: o.warmup, transfers: 0 };
  const meas: Phase = { seconds: o.duration, transfers: o.iterations };
  let index = 0;
  const emit = (r: Row): void => {
    rows.push(r);
    hooks.onRow?.(r);
  };

  let dev: Device | null = null;
  let pool: Piscina | null = null;
  try {
    let current = '';
    let firstOnDevice = true;
    for (const step of steps) {
      if (ctl.aborted) break;
      const { config, op, size, batch, qd } = step;
      const key = `${config.engines} ${config.completion}`;
      if (key !== current) {
        if (pool) await pool.destroy();
        pool = null;
        if (dev) await dev.close();
        dev = null;
        current = key;
        firstOnDevice = true;
        const wqSize = o.wqSize || nextPow2(Math.max(4, ...o.qd));
        const shared = {
          arenaBytes: arena.get(key)!,
          completion: config.completion === 'busy' ? ('auto' as const) : config.completion,
          ...(o.engineSpin !== undefined ? { engineSpinMicros: o.engineSpin } : {}),
          ...(o.pollSpin !== undefined ? { pollSpinMicros: o.pollSpin } : {}),
        };
        dev = o.config !== undefined
          ? await Device.fromConfig(o.config.file, shared)
          : await Device.open({ ...shared, engines: config.engines, wqSize, wqMode: o.wqMode, maxBatch: Math.max(2, ...o.batch) });
      }
      const d = dev!;
      if (step.arbitration !== undefined) {
        hooks.onMeasure?.(index++, total, step.label);
        for (const r of await arbitrate(d, step, o, crc.crc32c, ctl, firstOnDevice && o.warmup > 0 ? { ...warm, seconds: Math.max(o.warmup, DEVICE_WARMUP) } : warm, meas)) emit(r);
        firstOnDevice = false;
        continue;
      }
      const kit = new Kit(d, op, size, qd, batch, o.placement, o.freshBytes, crc.crc32c);
      try {
        const common = { op, size, placement: o.placement, sets: kit.count };
        // The device.
        hooks.onMeasure?.(index++, total, `${step.label} softdsa`);
        const loop = config.completion === 'busy' ? new BusyLoop(d, kit, qd, ctl, o.verify, o.nap) : new SubmitLoop(d, kit, qd, ctl, o.verify);
        // A device's first measurement warms up longer: the engines' Wasm tier-up
        // (Liftoff, then TurboFan) and their spin policy take a few hundred ms to settle,
        // and 200 ms left the first row ~25 % low against an independent loop.
        const m = await loop.run(firstOnDevice && o.warmup > 0 ? { ...warm, seconds: Math.max(o.warmup, DEVICE_WARMUP) } : warm, meas);
        firstOnDevice = false;
        // (with --config, the WQ the work goes to, the lowest-id one, and the engines of its group)
        const wq0 = d.layout.wqs[0];
        const engines = o.config === undefined ? config.engines : (d.layout.groups.find((g) => g.wqs.includes(0))?.engines.length ?? config.engines);
        const variant = { completion: config.completion, engines, batch, qd, wqMode: o.config === undefined ? o.wqMode : wq0.mode, wqSize: o.config === undefined ? d.options.wqSize : wq0.ring, completionPath: config.completion === 'busy' ? 'busy poll' : d.completionPath, napMicros: config.completion === 'busy' ? o.nap : null };
        const dsa = rowOf(m, { ...common, impl: 'softdsa', name: `softdsa ${config.completion} e${engines}${batch > 1 ? ` b${batch}` : ''} q${qd}`, variant, pool: null });
        if (m.ops === 0 && m.partial) break;
        // The baselines: measured here, or the row of the same work measured before.
        const threads = config.engines;
        const inflight = Math.min(qd * batch, PISCINA_MAX_INFLIGHT);
        const fresh: Row[] = [];
        for (const b of o.baselines) {
          const bk = baselineKey(op, size, b, threads, inflight);
          let row = baselineRows.get(bk);
          if (row === undefined && step.impls.includes(b) && !ctl.aborted) {
            hooks.onMeasure?.(index++, total, `${step.label} ${b}`);
            if (b === 'node') {
              const bm = await new NodeLoop(kit, crcs, ctl, o.verify).run(warm, meas);
              if (bm.ops > 0 || !bm.partial) row = rowOf(bm, { ...common, impl: 'node', name: `node ${isDif(op) ? NODE_NAMES[op] : NODE_NAMES[op].replace('CRC', crcShort)}`, variant: null, pool: null });
            } else if (b === 'npm') {
              if (npm16 === null) continue; // not installed: said in the notes
              const bm = await new NodeLoop(kit, { ...crcs, crc16: npm16.crc16 }, ctl, o.verify).run(warm, meas);
              if (bm.ops > 0 || !bm.partial) row = rowOf(bm, { ...common, impl: 'npm', name: `node ${npm16.name} CRC-16 per block`, variant: null, pool: null });
            } else {
              // (loaded here, when a run has a piscina baseline: `softdsa crc32c`, which imports this
              // module with the rest of the command line, loaded it for nothing, 17 ms of a 180 ms run)
              pool ??= new (await import('piscina')).Piscina({
                filename: pathToFileURL(join(packageRoot, sourceExt === '.ts' ? 'src/cli/baseline-worker.ts' : 'dist/src/cli/baseline-worker.js')).href,
                workerData: { sab: d.memory.buffer },
                minThreads: threads,
                maxThreads: threads,
                idleTimeout: Infinity,
              });
              // Every thread up (module loaded) before the clock starts.
              await Promise.all(Array.from({ length: 4 * threads }, () => pool!.run(kit.tasks[0])));
              const bm = await new PiscinaLoop(pool, kit, inflight, ctl, o.verify).run(warm, meas);
              if (bm.ops > 0 || !bm.partial) row = rowOf(bm, { ...common, impl: 'piscina', name: `piscina task/op t${threads} q${inflight}`, variant: null, pool: { threads, inflight } });
            }
            if (row) {
              baselineRows.set(bk, row);
              fresh.push(row);
            }
          }
          // (from the operations per second, the same size on both sides: at 1-byte transfers both GB/s rounded to 0)
          if (row && row.opsPerSec > 0) dsa.ratio[b] = +(dsa.opsPerSec / row.opsPerSec).toFixed(4);
        }
        emit(dsa);
        for (const r of fresh) emit(r);
      } finally {
        kit.release();
      }
    }
  } finally {
    if (pool) await pool.destroy();
    if (dev) await dev.close();
  }
  machine.load.end = loadNow();
  return {
    schema: SCHEMA,
    machine,
    options: { ...o },
    argv,
    startedAt,
    seconds: +((performance.now() - started) / 1000).toFixed(2),
    interrupted: ctl.aborted,
    notes: NOTES,
    crc: crc.name,
    rows,
  };
}

/** Descriptors a WQ admits at once: its size, or a shared WQ's threshold. */
const roomOf = (w: WqSpec): number => w.cap || w.ring;

/**
 * The arbitration rows of one group: a SubmitLoop per WQ of the group, each keeping its WQ full
 * (its room in flight), all at once; each WQ's share of the group's completions against its
 * priority's share of the group's priorities (arbiter.ts). The engines must be the bottleneck
 * for the shares to show: at sizes the submitter cannot keep up with, the WQs run dry and share
 * what comes (the arbiter is work-conserving).
 */
async function arbitrate(d: Device, step: Step, o: BenchOptions, crc32c: CrcFn, ctl: Control, warm: Phase, meas: Phase): Promise<Row[]> {
  const g = d.layout.groups[step.arbitration!];
  const wqs = g.wqs.map((i) => d.layout.wqs[i]);
  const kit = new Kit(d, step.op, step.size, step.qd, 1, o.placement, o.freshBytes, crc32c);
  try {
    // No verification: the WQs share the kit's buffers.
    const loops = wqs.map((w) => new SubmitLoop(d.wq(w.id), kit, roomOf(w), ctl, false));
    const ms = await Promise.all(loops.map((l) => l.run(warm, meas)));
    const all = ms.reduce((n, m) => n + m.ops, 0);
    const weights = wqs.reduce((n, w) => n + w.priority, 0);
    return wqs.map((w, i) => {
      const share = all > 0 ? +(ms[i].ops / all).toFixed(4) : 0;
      const expected = +(w.priority / weights).toFixed(4);
      const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
      // (completion: the path these rows ran on, whatever -c said: they go through submit())
      const variant = { completion: d.completionPath, engines: g.engines.length, batch: 1, qd: roomOf(w), wqMode: w.mode, wqSize: w.ring, completionPath: d.completionPath, napMicros: null };
      const row = rowOf(ms[i], { op: step.op, size: step.size, placement: o.placement, sets: kit.count, impl: 'softdsa', name: `softdsa arbitration ${w.name} p${w.priority}: ${pct(share)} (priority share ${pct(expected)})`, variant, pool: null });
      row.arbitration = { group: g.id, wq: w.name, priority: w.priority, share, expected };
      return row;
    });
  } finally {
    kit.release();
  }
}
