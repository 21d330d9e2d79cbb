// Output: an aligned table for people, JSON and CSV for machines, and a check of the
// JSON shape (the schema "softdsa-bench/1", used by the tests and by bench/).
import { OPS } from './options.ts';
import { fmtSize, SCHEMA, type BenchResult, type Row } from './run.ts';

const IMPL_ORDER = { softdsa: 0, node: 1, npm: 2, piscina: 3 } as const;

/** Rows grouped for reading: by operation, size, then softdsa variants before the baselines. */
export function ordered(rows: readonly Row[]): Row[] {
  return rows
    .map((r, i) => ({ r, i }))
    .sort((x, y) => OPS.indexOf(x.r.op) - OPS.indexOf(y.r.op) || x.r.size - y.r.size || IMPL_ORDER[x.r.impl] - IMPL_ORDER[y.r.impl] || x.i - y.i)
    .map((x) => x.r);
}

const num = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
/** 3 significant digits, thousands separated. */
export const sig = (x: number | null | undefined): string => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  if (x === 0) return '0';
  const d = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  return num(x, Math.min(d, 3));
};
const compact = (x: number): string => (x >= 1e6 ? `${sig(x / 1e6)} M` : x >= 1e4 ? `${sig(x / 1e3)} k` : sig(x));
const ratio = (x: number | undefined): string => (x === undefined ? '' : `${sig(x)}x`);

export function table(res: BenchResult, color = false): string {
  const rows = ordered(res.rows);
  const hasNode = rows.some((r) => r.impl === 'node');
  const hasPiscina = rows.some((r) => r.impl === 'piscina');
  const hasNpm = rows.some((r) => r.impl === 'npm');
  const verify = rows.some((r) => r.verified > 0);
  const head = ['op', 'size', 'implementation', 'GB/s', 'ops/s', 'p50 µs', 'p99 µs', 'p99.9 µs', 'main CPU ms/GB'];
  if (hasNode) head.push('vs node');
  if (hasPiscina) head.push('vs piscina');
  if (hasNpm) head.push('vs npm');
  if (verify) head.push('verified');
  const body: string[][] = [];
  let prev = '';
  for (const r of rows) {
    const group = `${r.op} ${r.size}`;
    const line = [group === prev ? '' : r.op, group === prev ? '' : fmtSize(r.size), r.name + (r.partial ? ' (cut short)' : ''), sig(r.gbps), compact(r.opsPerSec), sig(r.latencyUs.p50), sig(r.latencyUs.p99), sig(r.latencyUs.p999), sig(r.cpu.mainMsPerGB)];
    if (hasNode) line.push(ratio(r.ratio.node));
    if (hasPiscina) line.push(ratio(r.ratio.piscina));
    if (hasNpm) line.push(ratio(r.ratio.npm));
    if (verify) line.push(r.errors > 0 ? `${r.errors} FAILED` : r.arbitration !== undefined ? 'not checked' : `${r.verified} ok`); // (arbitration rows: the WQs share buffers)
    body.push(line);
    prev = group;
  }
  const w = head.map((h, c) => Math.max(h.length, ...body.map((l) => l[c].length)));
  const left = new Set([0, 1, 2]);
  const fmt = (l: string[]): string => l.map((x, c) => (left.has(c) ? x.padEnd(w[c]) : x.padStart(w[c]))).join('  ').trimEnd();
  const bold = (s: string): string => (color ? `\x1b[1m${s}\x1b[0m` : s);
  const m = res.machine;
  const out = [
    `softdsa ${m.softdsa} bench · ${m.cpu} (${m.cores} cores) · Node ${m.node} · load ${m.load.start}${m.load.end !== undefined ? `→${m.load.end}` : ''} · ${res.options.placement} buffers · ${res.seconds} s${res.interrupted ? ' · INTERRUPTED' : ''}`,
    '',
    bold(fmt(head)),
    ...body.map(fmt),
    '',
    'vs X: softdsa GB/s divided by X\'s GB/s for the same work in this run (above 1: softdsa faster).',
    'Latency: softdsa per work descriptor, enqueue to completion seen (includes queueing at qd > 1);',
    'node per call (sampled); piscina per task. main CPU: the main thread\'s CPU time per GB moved.',
  ];
  const bad = rows.filter((r) => r.errors > 0);
  for (const r of bad) out.push(`ERROR ${r.op} ${fmtSize(r.size)} ${r.name}: ${r.errors} failed, first: ${r.firstError}`);
  return out.join('\n') + '\n';
}

export function json(res: BenchResult): string {
  return JSON.stringify(res, null, 2) + '\n';
}

const CSV_COLUMNS = ['op', 'size', 'impl', 'name', 'completion', 'engines', 'batch', 'qd', 'wq_mode', 'placement', 'sets', 'ops', 'seconds', 'gbps', 'ops_per_sec', 'p50_us', 'p99_us', 'p999_us', 'mean_us', 'samples', 'main_cpu_ms_per_gb', 'process_cpu_ms_per_gb', 'vs_node', 'vs_piscina', 'vs_npm', 'verified', 'errors', 'partial', 'cpu', 'cores', 'node', 'softdsa', 'started_at'];

const csvCell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function csv(res: BenchResult): string {
  const lines = [CSV_COLUMNS.join(',')];
  const m = res.machine;
  for (const r of ordered(res.rows)) {
    const v = r.variant;
    lines.push(
      [r.op, r.size, r.impl, r.name, v?.completion, v?.engines ?? r.pool?.threads, v?.batch, v?.qd ?? r.pool?.inflight, v?.wqMode, r.placement, r.sets, r.ops, r.seconds, r.gbps, r.opsPerSec, r.latencyUs.p50, r.latencyUs.p99, r.latencyUs.p999, r.latencyUs.mean, r.latencyUs.samples, r.cpu.mainMsPerGB, r.cpu.processMsPerGB, r.ratio.node, r.ratio.piscina, r.ratio.npm, r.verified, r.errors, r.partial, m.cpu, m.cores, m.node, m.softdsa, res.startedAt]
        .map(csvCell)
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * Checks that a parsed JSON document has the shape of a softdsa-bench/1 result.
 * Returns the problems found (empty: valid).
 */
export function validate(doc: unknown): string[] {
  const errs: string[] = [];
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  const need = (o: Record<string, unknown>, k: string, type: string, where: string, nullable = false): void => {
    const v = o[k];
    if (nullable && v === null) return;
    if (type === 'array' ? !Array.isArray(v) : type === 'object' ? !isObj(v) : typeof v !== type) errs.push(`${where}.${k}: expected ${type}${nullable ? ' or null' : ''}, got ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}`);
    else if (type === 'number' && !Number.isFinite(v)) errs.push(`${where}.${k}: not a finite number`);
  };
  if (!isObj(doc)) return ['the document is not an object'];
  if (doc.schema !== SCHEMA) errs.push(`schema: expected "${SCHEMA}", got ${JSON.stringify(doc.schema)}`);
  need(doc, 'machine', 'object', '$');
  need(doc, 'options', 'object', '$');
  need(doc, 'argv', 'array', '$');
  need(doc, 'startedAt', 'string', '$');
  need(doc, 'seconds', 'number', '$');
  need(doc, 'interrupted', 'boolean', '$');
  need(doc, 'notes', 'array', '$');
  need(doc, 'crc', 'string', '$');
  need(doc, 'rows', 'array', '$');
  if (isObj(doc.machine)) {
    for (const k of ['cpu', 'os', 'node', 'v8', 'softdsa']) need(doc.machine, k, 'string', '$.machine');
    for (const k of ['cores', 'availableParallelism', 'llcBytes', 'memGiB']) need(doc.machine, k, 'number', '$.machine');
    need(doc.machine, 'load', 'object', '$.machine');
  }
  if (Array.isArray(doc.rows)) {
    doc.rows.forEach((r: unknown, i: number) => {
      const w = `$.rows[${i}]`;
      if (!isObj(r)) return void errs.push(`${w}: not an object`);
      if (!OPS.includes(r.op as never)) errs.push(`${w}.op: unknown ${JSON.stringify(r.op)}`);
      if (!['softdsa', 'node', 'piscina', 'npm'].includes(r.impl as string)) errs.push(`${w}.impl: unknown ${JSON.stringify(r.impl)}`);
      for (const k of ['size', 'sets', 'ops', 'descs', 'seconds', 'gbps', 'opsPerSec', 'verified', 'errors']) need(r, k, 'number', w);
      need(r, 'name', 'string', w);
      need(r, 'placement', 'string', w);
      need(r, 'partial', 'boolean', w);
      need(r, 'ratio', 'object', w);
      need(r, 'variant', 'object', w, r.impl !== 'softdsa');
      need(r, 'pool', 'object', w, r.impl !== 'piscina');
      if (r.impl === 'softdsa' && isObj(r.variant)) {
        for (const k of ['engines', 'batch', 'qd', 'wqSize']) need(r.variant, k, 'number', `${w}.variant`);
        for (const k of ['completion', 'wqMode', 'completionPath']) need(r.variant, k, 'string', `${w}.variant`);
      }
      need(r, 'latencyUs', 'object', w);
      if (isObj(r.latencyUs)) {
        for (const k of ['p50', 'p99', 'p999', 'mean']) need(r.latencyUs, k, 'number', `${w}.latencyUs`, true);
        need(r.latencyUs, 'samples', 'number', `${w}.latencyUs`);
      }
      need(r, 'cpu', 'object', w);
      if (isObj(r.cpu)) {
        need(r.cpu, 'mainMsPerGB', 'number', `${w}.cpu`, true);
        need(r.cpu, 'processMsPerGB', 'number', `${w}.cpu`, true);
        need(r.cpu, 'mainSource', 'string', `${w}.cpu`);
      }
    });
  }
  return errs;
}
