// --html: one self-contained page (inline SVG and CSS, no script, no network): per
// operation, throughput against transfer size with one line per variant, and latency
// against size; then the figures as a table and the machine fingerprint.
import { OPS } from './options.ts';
import { ordered, sig } from './report.ts';
import { fmtSize, type BenchResult, type Row } from './run.ts';

export interface Series {
  name: string;
  points: { x: number; y: number; label?: string }[];
  /** draw dashed (baselines) */
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** x values are bytes: label ticks 4 KiB, 1 MiB... */
  xBytes?: boolean;
  logX?: boolean;
  /** 'auto': log when the values span more than 20x */
  logY?: boolean | 'auto';
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A line chart as an SVG string. */
export function chart(series: Series[], o: ChartOptions): string {
  const W = o.width ?? 760;
  const H = o.height ?? 380;
  const legendW = 250;
  const m = { l: 64, r: legendW + 16, t: 34, b: 48 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y) && p.y > 0);
  if (pts.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60"><text x="10" y="30" font-size="14">${esc(o.title)}: no data</text></svg>`;
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const logX = o.logX ?? true;
  let x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  const logY = o.logY === 'auto' || o.logY === undefined ? y1 / y0 > 20 : o.logY;
  const fx = logX ? Math.log2 : (v: number) => v;
  const fy = logY ? Math.log10 : (v: number) => v;
  if (x0 === x1) {
    x0 = logX ? x0 / 2 : x0 - 1;
    x1 = logX ? x1 * 2 : x1 + 1;
  }
  if (logY) {
    y0 = 10 ** Math.floor(Math.log10(y0));
    y1 = 10 ** Math.ceil(Math.log10(y1));
  } else {
    y0 = 0;
    y1 = niceCeil(y1 * 1.05);
  }
  const X = (v: number): number => m.l + ((fx(v) - fx(x0)) / (fx(x1) - fx(x0))) * pw;
  const Y = (v: number): number => m.t + ph - ((fy(v) - fy(y0)) / (fy(y1) - fy(y0))) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif" font-size="12">`);
  parts.push(`<text x="${m.l}" y="20" font-size="15" font-weight="600">${esc(o.title)}</text>`);
  // grid and ticks
  const yt: number[] = [];
  if (logY) for (let e = Math.round(Math.log10(y0)); e <= Math.round(Math.log10(y1)); e++) yt.push(10 ** e);
  else for (let i = 0; i <= 5; i++) yt.push((y1 / 5) * i);
  for (const v of yt) {
    const y = Y(v).toFixed(1);
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#e3e3e3"/><text x="${m.l - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#555">${esc((+v.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 6 }))}</text>`);
  }
  const xt = [...new Set(xs)].sort((a, b) => a - b);
  const every = Math.ceil(xt.length / 10);
  xt.forEach((v, i) => {
    const x = X(v).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" stroke="#f0f0f0"/>`);
    if (i % every === 0) parts.push(`<text x="${x}" y="${m.t + ph + 16}" text-anchor="middle" fill="#555">${esc(o.xBytes ? fmtSize(v) : sig(v))}</text>`);
  });
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}${logY ? ' (log scale)' : ''}</text>`);
  // lines
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length];
    const p = s.points.filter((q) => Number.isFinite(q.y) && q.y > 0).sort((a, b) => a.x - b.x);
    if (p.length > 1) parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${p.map((q) => `${X(q.x).toFixed(1)},${Y(q.y).toFixed(1)}`).join(' ')}"/>`);
    for (const q of p) parts.push(`<circle cx="${X(q.x).toFixed(1)}" cy="${Y(q.y).toFixed(1)}" r="3.5" fill="${c}"><title>${esc(`${s.name}\n${o.xBytes ? fmtSize(q.x) : sig(q.x)}: ${q.label ?? sig(q.y)}`)}</title></circle>`);
    const ly = m.t + 8 + i * 18;
    parts.push(`<line x1="${W - legendW}" x2="${W - legendW + 22}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${W - legendW + 28}" y="${ly}" dominant-baseline="middle">${esc(s.name.length > 36 ? s.name.slice(0, 35) + '…' : s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const e = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * e >= v) return f * e;
  return 10 * e;
}

/** Rows of one operation as series: one per implementation name (per WQ for arbitration rows). */
export function seriesOf(rows: Row[], pick: (r: Row) => number | null, label: (r: Row) => string): Series[] {
  const by = new Map<string, Series>();
  for (const r of rows) {
    const y = pick(r);
    if (y === null) continue;
    // An arbitration row's name ends with its measured share: one series per WQ across sizes.
    const name = r.arbitration === undefined ? r.name : r.name.replace(/: .*$/, '');
    let s = by.get(name);
    if (!s) by.set(name, (s = { name, points: [], dashed: r.impl !== 'softdsa' }));
    s.points.push({ x: r.size, y, label: label(r) });
  }
  return [...by.values()];
}

export const PAGE_CSS = `body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
.charts{display:flex;flex-wrap:wrap;gap:8px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
td:nth-child(-n+3),th:nth-child(-n+3){text-align:left}th{background:#f6f6f6}
.meta td{text-align:left}.note{color:#555;font-size:13px}.bad{color:#b00;font-weight:600}`;

/** The --html page for a run; `extra` (HTML) goes after the charts. */
export function page(res: BenchResult, extra = ''): string {
  const m = res.machine;
  const out: string[] = [];
  out.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>softdsa bench · ${esc(m.cpu)}</title><style>${PAGE_CSS}</style></head><body>`);
  out.push(`<h1>softdsa bench${res.interrupted ? ' (interrupted)' : ''}</h1>`);
  out.push(`<p>${esc(m.cpu)} · ${m.cores} cores · Node ${esc(m.node)} · softdsa ${esc(m.softdsa)} · ${esc(res.startedAt)} · ${res.seconds} s · load ${m.load.start}${m.load.end !== undefined ? ` → ${m.load.end}` : ''}</p>`);
  const rows = ordered(res.rows);
  for (const op of OPS) {
    const r = rows.filter((x) => x.op === op);
    if (r.length === 0) continue;
    out.push(`<h2>${esc(op)}</h2><div class="charts">`);
    out.push(chart(seriesOf(r, (x) => x.gbps, (x) => `${sig(x.gbps)} GB/s, ${sig(x.opsPerSec)} ops/s`), { title: `${op}: throughput`, xLabel: 'transfer size', yLabel: 'GB/s', xBytes: true, logY: 'auto' }));
    out.push(chart(seriesOf(r, (x) => x.latencyUs.p50, (x) => `p50 ${sig(x.latencyUs.p50)} µs, p99 ${sig(x.latencyUs.p99)} µs`), { title: `${op}: latency p50`, xLabel: 'transfer size', yLabel: 'µs', xBytes: true, logY: 'auto' }));
    out.push('</div>');
  }
  if (extra) out.push(extra);
  out.push('<h2>Figures</h2><table><tr><th>op</th><th>size</th><th>implementation</th><th>GB/s</th><th>ops/s</th><th>p50 µs</th><th>p99 µs</th><th>p99.9 µs</th><th>main CPU ms/GB</th><th>vs node</th><th>vs piscina</th><th>vs npm</th><th>verified</th></tr>');
  for (const r of rows) {
    const ratio = (x: number | undefined): string => (x === undefined ? '' : `${sig(x)}x`);
    out.push(`<tr><td>${esc(r.op)}</td><td>${esc(fmtSize(r.size))}</td><td>${esc(r.name)}${r.partial ? ' (cut short)' : ''}</td><td>${sig(r.gbps)}</td><td>${sig(r.opsPerSec)}</td><td>${sig(r.latencyUs.p50)}</td><td>${sig(r.latencyUs.p99)}</td><td>${sig(r.latencyUs.p999)}</td><td>${sig(r.cpu.mainMsPerGB)}</td><td>${ratio(r.ratio.node)}</td><td>${ratio(r.ratio.piscina)}</td><td>${ratio(r.ratio.npm)}</td><td${r.errors ? ' class="bad"' : ''}>${r.errors ? `${r.errors} failed` : r.verified ? `${r.verified} ok` : ''}</td></tr>`);
  }
  out.push('</table>');
  out.push('<h2>How these figures are measured</h2><ul class="note">' + res.notes.map((n) => `<li>${esc(n)}</li>`).join('') + '</ul>');
  out.push('<h2>Machine and options</h2><table class="meta">');
  for (const [k, v] of Object.entries(m)) out.push(`<tr><td>${esc(k)}</td><td>${esc(typeof v === 'object' ? JSON.stringify(v) : String(v))}</td></tr>`);
  out.push(`<tr><td>CRC baseline</td><td>${esc(res.crc)}</td></tr><tr><td>command</td><td><code>softdsa ${esc(res.argv.join(' '))}</code></td></tr>`);
  for (const [k, v] of Object.entries(res.options)) if (v !== undefined) out.push(`<tr><td>${esc(k)}</td><td>${esc(JSON.stringify(v))}</td></tr>`);
  out.push('</table></body></html>');
  return out.join('\n') + '\n';
}
