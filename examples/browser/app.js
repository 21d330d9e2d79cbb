// softdsa's browser demo: CRC-32C of a file (against hash-wasm, chunk by chunk, on a live
// chart) and copy/compare of generated buffers. Plain JS, no framework, no bundler.
import * as softdsa from 'softdsa/browser';
import { createCRC32 } from 'hash-wasm';

const $ = (id) => document.getElementById(id);
const MiB = 1 << 20;
const CHUNK = 16 * MiB;
const CRC32C_POLY = 0x82f63b78;

const gbps = (bytes, ms) => (ms > 0 ? bytes / ms / 1e6 : 0);
const fmtRate = (bytes, ms) => `${gbps(bytes, ms).toFixed(2)} GB/s`;
const fmtMs = (ms) => (ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`);
const fmtSize = (n) => (n >= MiB ? `${(n / MiB).toFixed(n % MiB ? 1 : 0)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const hex = (crc) => crc.toString(16).padStart(8, '0');
/** The form of upload headers (x-goog-hash: crc32c=…): the CRC's 4 bytes, big-endian, in base64. */
const base64 = (crc) => btoa(String.fromCharCode(crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff));

let busy = false;

/** The arena buffer files are read into, chunk by chunk (kept for the page's life). */
let stage = null;

async function start() {
  try {
    softdsa.configure({ arenaBytes: 320 * MiB }); // room for two 128 MiB buffers and the staging one
    await softdsa.ready(); // the default device opens: its engines are up (or the page says why not)
    // Both hashers once over the staging buffer: first touches and code tier-up are not what the chart should show.
    stage = softdsa.alloc(CHUNK);
    random(stage);
    await softdsa.crc32c(stage);
    (await createCRC32(CRC32C_POLY)).update(stage);
    const st = softdsa.stats();
    $('status').innerHTML = [
      `<li><b>${navigator.hardwareConcurrency}</b> engines (Web Workers)</li>`,
      `<li>completions: <b>${st.completionPath === 'atomics' ? 'Atomics.waitAsync' : st.completionPath}</b></li>`,
      `<li>cross-origin isolated <b class="ok">✓</b></li>`,
    ].join('');
  } catch (e) {
    $('status').innerHTML = '<li>not available</li>';
    $('banner').hidden = false;
    $('banner').textContent = e.message;
    for (const b of document.querySelectorAll('button')) b.disabled = true;
  }
}

// ---- the chart --------------------------------------------------------------------------

const series = { ours: [], theirs: [] };
let drawn = false;

function drawChart() {
  drawn = false;
  const canvas = $('chart');
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== w * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const pad = { l: 44, r: 12, t: 12, b: 24 };
  const n = Math.max(series.ours.length, series.theirs.length, 2);
  const top = Math.max(1, ...series.ours, ...series.theirs) * 1.15;
  const x = (i) => pad.l + (i / (n - 1)) * (w - pad.l - pad.r);
  const y = (v) => h - pad.b - (v / top) * (h - pad.t - pad.b);
  g.font = '12px system-ui, sans-serif';
  g.fillStyle = '#667085';
  g.strokeStyle = '#e4e7ec';
  g.lineWidth = 1;
  const step = top > 8 ? 2 : top > 4 ? 1 : 0.5;
  for (let v = 0; v <= top; v += step) {
    g.beginPath(); g.moveTo(pad.l, y(v)); g.lineTo(w - pad.r, y(v)); g.stroke();
    g.fillText(v.toFixed(step < 1 ? 1 : 0), 8, y(v) + 4);
  }
  g.fillText('chunk →', w - pad.r - 48, h - 6);
  for (const [key, color] of [['theirs', '#f08c2e'], ['ours', '#2f6fed']]) {
    const pts = series[key];
    if (pts.length === 0) continue;
    g.strokeStyle = color; g.fillStyle = color; g.lineWidth = 2.5;
    g.beginPath();
    pts.forEach((v, i) => (i === 0 ? g.moveTo(x(i), y(v)) : g.lineTo(x(i), y(v))));
    g.stroke();
    if (pts.length < 80) pts.forEach((v, i) => { g.beginPath(); g.arc(x(i), y(v), 3, 0, 2 * Math.PI); g.fill(); });
  }
}
const redraw = () => { if (!drawn) { drawn = true; requestAnimationFrame(drawChart); } };

// ---- hashing ----------------------------------------------------------------------------

/**
 * Hashes `size` bytes that `fill(view, offset)` writes chunk by chunk into one arena buffer:
 * softdsa's crc32c (chained across chunks) and hash-wasm's incremental CRC-32C on the same bytes.
 */
async function hashChunks(name, size, fill) {
  if (busy) return;
  busy = true;
  for (const b of document.querySelectorAll('button')) b.disabled = true;
  series.ours.length = 0; series.theirs.length = 0;
  redraw();
  const buf = stage;
  const theirs = await createCRC32(CRC32C_POLY);
  let crc = 0;
  let oursMs = 0;
  let theirsMs = 0;
  try {
    for (let off = 0; off < size || (size === 0 && off === 0); off += CHUNK) {
      const n = Math.min(CHUNK, size - off);
      const view = buf.subarray(0, n);
      await fill(view, off);
      $('progress').textContent = `${name}: ${fmtSize(off + n)} of ${fmtSize(size)}`;
      let t0 = performance.now();
      crc = await softdsa.crc32c(view, crc);
      const a = performance.now() - t0;
      t0 = performance.now();
      theirs.update(view);
      const b = performance.now() - t0;
      oursMs += a; theirsMs += b;
      if (n >= MiB) { series.ours.push(gbps(n, a)); series.theirs.push(gbps(n, b)); redraw(); }
      if (size === 0) break;
    }
    const theirCrc = parseInt(theirs.digest('hex'), 16) >>> 0;
    $('result').hidden = false;
    $('r-name').textContent = `${name} · ${fmtSize(size)}`;
    $('r-hex').textContent = hex(crc);
    $('r-b64').textContent = `x-goog-hash: crc32c=${base64(crc)}`;
    $('r-ours').textContent = `${fmtRate(size, oursMs)} · ${fmtMs(oursMs)}`;
    $('r-theirs').textContent = `${fmtRate(size, theirsMs)} · ${fmtMs(theirsMs)}`;
    const same = theirCrc === crc;
    $('r-check').innerHTML = same
      ? `<span class="ok">✓ equal</span> · ${(theirsMs / Math.max(oursMs, 1e-3)).toFixed(1)}× faster`
      : `<span class="bad">✗ hash-wasm says ${hex(theirCrc)}</span>`;
    $('progress').textContent = '';
    document.body.dataset.crc = hex(crc);
  } finally {
    busy = false;
    for (const b of document.querySelectorAll('button')) b.disabled = false;
  }
}

function hashFile(file) {
  return hashChunks(file.name, file.size, async (view, off) => {
    view.set(new Uint8Array(await file.slice(off, off + view.length).arrayBuffer()));
  });
}

/** Fills view with pseudo-random words (xorshift32) from state; returns the next state. (crypto.getRandomValues refuses shared memory.) */
function random(view, x = 0x2545f491) {
  const w = new Uint32Array(view.buffer, view.byteOffset, view.length >>> 2);
  for (let i = 0; i < w.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; w[i] = x; }
  return x;
}

function generated(size) {
  let x = 0x2545f491;
  return hashChunks('generated.bin', size, (view) => { x = random(view, x); });
}

$('file').addEventListener('change', (e) => { const f = e.target.files[0]; if (f) void hashFile(f); });
$('generate').addEventListener('click', () => void generated(256 * MiB));
const drop = $('drop');
for (const t of ['dragenter', 'dragover']) drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add('over'); });
for (const t of ['dragleave', 'drop']) drop.addEventListener(t, () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); const f = e.dataTransfer.files[0]; if (f) void hashFile(f); });
window.addEventListener('resize', redraw);

// ---- copy and compare -------------------------------------------------------------------

async function copyCompare() {
  if (busy) return;
  busy = true;
  $('run-copy').disabled = true;
  const size = Number($('size').value) * MiB;
  const a = softdsa.alloc(size);
  const b = softdsa.alloc(size);
  const rows = [];
  /** Best of 3: the first run also pays for first touches and code warming up. */
  const time = async (label, fn, bytes = size) => {
    let ms = Infinity;
    let result;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      result = await fn();
      ms = Math.min(ms, performance.now() - t0);
    }
    rows.push([label, result, fmtMs(ms), fmtRate(bytes, ms)]);
  };
  try {
    await softdsa.fill(a, 0x0123456789abcdefn); // an 8-byte pattern, on the engines
    random(a.subarray(0, 65536));
    b.fill(1); // touched: the first write to fresh memory costs page faults, not copying
    await time('TypedArray.set (this thread)', () => { b.set(a); return 'copied'; });
    b.fill(0);
    await time('softdsa memcpy', async () => { await softdsa.memcpy(b, a); return 'copied'; });
    await time('softdsa compare', async () => `${await softdsa.compare(a, b)} (equal)`);
    const at = Math.floor(size * 0.73);
    b[at] ^= 0x40;
    await time('softdsa firstDifference', async () => `byte ${(await softdsa.firstDifference(a, b)).toLocaleString()} (changed: ${at.toLocaleString()})`);
    await time('softdsa compare', async () => { const c = await softdsa.compare(a, b); return `${c} (${c < 0 ? 'a < b' : 'a > b'})`; });
    const tbody = $('ops').querySelector('tbody');
    tbody.innerHTML = '';
    for (const r of rows) {
      const tr = tbody.insertRow();
      for (const c of r) tr.insertCell().textContent = c;
    }
    $('ops').hidden = false;
  } finally {
    softdsa.free(a);
    softdsa.free(b);
    busy = false;
    $('run-copy').disabled = false;
  }
}
$('run-copy').addEventListener('click', () => void copyCompare());

drawChart();
await start();
document.body.dataset.ready = '1';
