// softdsa in a real browser: headless Chromium (Debian's chromium; .ci/run installs it) driven
// by puppeteer-core, on pages served with and without the cross-origin-isolation headers by
// the demo's server. The page imports the built dist/browser/softdsa.js by URL; the checks run
// there (browser_page.ts, bundled here with the shared fuzzer and the JS reference).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { Status } from '../src/device/format.ts';
import type { Page } from 'puppeteer-core';
import { root, startRig, type Rig } from './browser_rig.ts';

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : (Math.random() * 2 ** 31) >>> 0;
const FUZZ_N = Number(process.env.FUZZ_BROWSER_N ?? 10_016);

let rig: Rig;
let shared: Page | undefined;

test.before(async () => {
  try {
    rig = await startRig('test/browser_page.ts', 'test');
  } catch (e) {
    console.error(`browser.test: ${(e as Error).message}`); // uvu does not print a failing hook's error
    throw e;
  }
});

test.after(async () => {
  await rig?.close();
});

/** Runs window.softdsaTest[name](...args): in the page every test shares, or in a fresh one served with `query`. */
async function run<T>(name: string, args: unknown[] = [], query?: string): Promise<T> {
  const page = query === undefined ? (shared ??= await rig.open()) : await rig.open(query);
  try {
    return (await page.evaluate((n, a) => (globalThis as any).softdsaTest[n](...a), name, args)) as T;
  } finally {
    if (page !== shared) await page.close();
  }
}

test('the drop-in API and raw descriptors in Chromium: known results', async () => {
  const r = await run<Record<string, any>>('knownResults');
  assert.is(r.checkInline, 0xe3069283, 'CRC-32C check value, inline');
  assert.is(r.checkArena, 0xe3069283, 'CRC-32C check value, on the device');
  assert.ok(r.memcpyEqual, 'memcpy copied');
  assert.is(r.compareEqual, 0);
  assert.ok(r.compareSign, 'compare orders like Buffer.compare');
  assert.is(r.firstDifference, 3_000_000);
  assert.is(r.crcSplit, r.crcReference, 'a 4 MiB CRC (split across engines) equals the reference');
  assert.is(r.crcChained, r.crcReference, 'chained CRCs');
  assert.is(r.copyCrc, r.crcReference);
  assert.ok(r.copyEqual && r.fillOk);
  assert.is(r.crcPlain, r.crcPlainReference, 'memory outside the arena (inline)');
  assert.is(r.firstDifferencePlain, 40000, 'firstDifference outside the arena');
  assert.ok(r.comparePlain, 'compare outside the arena');
  assert.is(r.crcStaged, r.crcStagedReference, 'a 20 MiB CRC outside the arena, seeded (staged through it)');
  assert.ok(r.placements.split >= 1 && r.placements.device >= 1 && r.placements.staged === 1, JSON.stringify(r.placements));
  assert.is(r.completionPath, 'atomics');
  assert.is(r.streamCrc, r.crcReference, 'crc32cTransformStream over a Response body');
  assert.equal(r.digests, [(r.crcReference as number).toString(16).padStart(8, '0'), Buffer.from([r.crcReference >>> 24, (r.crcReference >>> 16) & 255, (r.crcReference >>> 8) & 255, r.crcReference & 255]).toString('base64'), '4waSgw==', 0xe3069283, [0xe3, 0x06, 0x92, 0x83]]);
  assert.is(r.crc16, 0xd0db, 'CRC-16/T10-DIF check value');
  assert.is(r.difLength, 64 * 520);
  assert.is(r.difCheck, 'ok');
  assert.is(r.difCorrupt, 'DifCheckError 37', 'a corrupted block is named');
  assert.equal(r.absent, [], 'Node-only parts are absent from the browser module');
  assert.is(r.submit, Status.SUCCESS);
  assert.is(r.record, Status.SUCCESS);
  assert.ok(r.copied);
  assert.is(r.bad, Status.PAGE_FAULT | Status.WRITE_FAULT_BIT, 'a write past the arena faults');
  assert.match(r.closedRejects, /closed/);
  assert.is(r.attach, 'NOT_IN_BROWSER', 'Device.attach is refused');
  assert.match(r.eventfdOption, 'there is no eventfd in a browser');
});

test(`fuzz in Chromium: ${FUZZ_N} random descriptors match the reference (seed ${SEED})`, async () => {
  try {
    const r = await run<{ done: number; summary: string; ms: number }>('fuzz', [SEED, FUZZ_N]);
    assert.ok(r.done >= 10_000);
    console.log(`  ${r.done} descriptors in ${r.ms.toFixed(0)} ms, seed ${SEED}; records by status: ${r.summary}`);
  } catch (e) {
    console.error(`browser fuzz failed: FUZZ_SEED=${SEED}`);
    throw e;
  }
});

test('an engine Worker terminated mid-run: what it held completes once with 0x20, a new worker takes over', async () => {
  const r = await run<Record<string, any>>('terminateEngine');
  assert.is(r.status, Status.HW_ERROR, 'the batch it held');
  assert.is(r.record, Status.HW_ERROR, 'its completion record');
  assert.ok(r.membersDone >= 1 && r.membersDone < 1024, `members done before the end: ${r.membersDone}`);
  assert.ok(r.after, 'later descriptors succeed');
  assert.ok(r.relaunched, 'a new engine worker');
  assert.is(r.engineFailures, 1);
  assert.is(r.recovered, 1);
  assert.ok(r.exactlyOnce, 'completed + recovered = submitted');
  console.log(`  terminated with ${r.membersDone} of 1024 members done; the batch completed (0x20) ${r.ms.toFixed(0)} ms after terminate()`);
});

test('an engine dying by fault injection (a throw, close()), before or after running: 0x20 once, the device goes on', async () => {
  for (const [how, when] of [['throw', 'before'], ['exit', 'after']] as const) {
    const r = await run<Record<string, any>>('dyingEngine', [how, when]);
    const at = `${how}, ${when}`;
    assert.is(r.status, Status.HW_ERROR, at);
    assert.is(r.record, Status.HW_ERROR, at);
    assert.ok(r.after, `${at}: later work succeeds`);
    assert.is(r.engineFailures, 1, at);
    assert.ok(r.exactlyOnce, `${at}: completed + recovered = submitted`);
  }
});

test('a page that is not cross-origin isolated: open() and the drop-in calls say which headers to set', async () => {
  const r = await run<Record<string, any>>('notIsolated', [], '?no-coi');
  assert.is(r.isolated, false);
  for (const said of [r.open, r.crc32c]) {
    assert.match(said, /^NOT_CROSS_ORIGIN_ISOLATED: /);
    assert.match(said, 'Cross-Origin-Opener-Policy: same-origin');
    assert.match(said, 'Cross-Origin-Embedder-Policy: require-corp');
  }
});

test('engines whose script cannot be loaded: open() rejects ENGINE_START_FAILED saying why (an HTTP error; no COEP header on it; no answer in 15 s: it waited for good)', async () => {
  const { readFileSync } = await import('node:fs');
  const script = readFileSync(join(root, 'dist', 'browser', 'engine.js'));
  const cases: Array<[string, (r: import('puppeteer-core').HTTPRequest) => void, RegExp]> = [
    ['404', (r) => void r.respond({ status: 404, body: 'gone' }), /engine\.js: HTTP 404/],
    ['no COEP', (r) => void r.respond({ status: 200, contentType: 'text/javascript', headers: { 'Cross-Origin-Opener-Policy': 'same-origin' }, body: script }), /engine\.js is served without Cross-Origin-Embedder-Policy/],
    // (a wrong type: the worker's error said only "failed to load"; an outside pass)
    ['text/plain', (r) => void r.respond({ status: 200, contentType: 'text/plain', headers: { 'Cross-Origin-Embedder-Policy': 'require-corp' }, body: script }), /engine\.js is served as text\/plain: a worker's module script must be served as JavaScript/],
    ['an HTML page', (r) => void r.respond({ status: 200, contentType: 'text/html', headers: { 'Cross-Origin-Embedder-Policy': 'require-corp' }, body: '<!doctype html>' }), /served as text\/html: .*an HTML page: a server's fallback/],
    ['no answer', () => {}, /engine\.js: no answer in 15 s/],
  ];
  for (const [what, answer, why] of cases) {
    const page = await rig.open(`?engine-${what.replace(/ /g, '-')}`);
    try {
      await page.setRequestInterception(true);
      page.on('request', (r) => (r.url().endsWith('/dist/browser/engine.js') ? answer(r) : void r.continue()));
      const r = (await page.evaluate(() => (globalThis as any).softdsaTest.engineStart())) as { said: string; ms: number };
      assert.match(r.said, /^ENGINE_START_FAILED: /, what);
      assert.match(r.said, why, what);
      assert.ok(r.ms < 40_000, `${what}: ${r.ms} ms`);
    } finally {
      await page.close();
    }
  }
});

test('a core that cannot be loaded is said again at once for 30 s, not fetched again by every call (each waited its own 15 s when the server never answered; an outside pass); an HTML page served for it is said to be one', async () => {
  for (const [what, answer, why] of [
    ['404', (r: import('puppeteer-core').HTTPRequest) => void r.respond({ status: 404, body: 'gone' }), /core\.wasm: HTTP 404/],
    ['html', (r: import('puppeteer-core').HTTPRequest) => void r.respond({ status: 200, contentType: 'text/html', body: '<!doctype html>' }), /core\.wasm: served as text\/html, not the Wasm core \(an HTML page/],
  ] as const) {
    const page = await rig.open(`?core-${what}`);
    try {
      let asked = 0;
      await page.setRequestInterception(true);
      page.on('request', (r) => (r.url().endsWith('/dist/browser/core.wasm') ? (asked++, answer(r)) : void r.continue()));
      const said = (await page.evaluate(() => (globalThis as any).softdsaTest.coreTwice())) as string[];
      for (const s of said) assert.match(s, /^NO_CORE: /, what);
      for (const s of said) assert.match(s, why, what);
      assert.is(asked, 1, what);
    } finally {
      await page.close();
    }
  }
});

test('softdsa imported from another origin (a CDN): ready() rejects ENGINE_START_FAILED saying engine.js is on another origin (it said the COEP header was missing, which a cross-origin answer hides); calls run on the page', async () => {
  const { readFileSync } = await import('node:fs');
  const other = rig.base.replace('//localhost:', '//127.0.0.1:');
  const page = await rig.browser.newPage();
  try {
    const isolated = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    await page.setRequestInterception(true);
    page.on('request', (r) => {
      const url = r.url();
      if (url === `${rig.base}/cdn.html`) {
        void r.respond({ status: 200, contentType: 'text/html', headers: isolated, body: `<!doctype html><title>loading</title><script type="module">
          import { crc32c, ready } from '${other}/dist/browser/softdsa.js';
          const said = await ready().then(() => 'ready', (e) => e.code + ': ' + e.message);
          const crc = await crc32c(new TextEncoder().encode('123456789'));
          document.title = JSON.stringify({ said, crc });
        </script>` });
      } else if (url.startsWith(`${other}/dist/browser/`)) {
        // (served as a CDN serves it to an isolated page: CORS, and the resource policy that lets it in)
        const file = join(root, new URL(url).pathname);
        void r.respond({ status: 200, contentType: file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', headers: { ...isolated, 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' }, body: readFileSync(file) });
      } else void r.continue();
    });
    await page.goto(`${rig.base}/cdn.html`);
    await page.waitForFunction(() => document.title.startsWith('{'), { timeout: 40_000 });
    const { said, crc } = JSON.parse(await page.title()) as { said: string; crc: number };
    assert.match(said, /^ENGINE_START_FAILED: /);
    assert.match(said, /engine\.js is on another origin than the page \(http:\/\/localhost:\d+\): a browser makes no worker from another origin's script/);
    assert.is(crc, 0xe3069283);
  } finally {
    await page.close();
  }
});

test('the demo page: a generated file hashed (hex and base64 as hash-wasm and Node agree), copy and compare; a screenshot', async () => {
  const file = join(tmpdir(), `softdsa-demo-${process.pid}.bin`);
  const bytes = randomBytes(24 << 20);
  writeFileSync(file, bytes);
  const expected = crc32c(bytes) >>> 0;
  const page = await rig.browser.newPage();
  try {
    await page.setViewport({ width: 1180, height: 1100 });
    await page.goto(`${rig.base}/`);
    await page.waitForFunction(() => document.body.dataset.ready === '1', { timeout: 15000 });
    const input = await page.$('#file');
    await (input as any).uploadFile(file);
    await page.waitForFunction(() => document.body.dataset.crc !== undefined, { timeout: 20000 });
    const shown = await page.evaluate(() => ({
      hex: document.getElementById('r-hex')!.textContent,
      b64: document.getElementById('r-b64')!.textContent,
      check: document.getElementById('r-check')!.textContent,
    }));
    const be = Buffer.alloc(4);
    be.writeUInt32BE(expected);
    assert.is(shown.hex, expected.toString(16).padStart(8, '0'));
    assert.is(shown.b64, `x-goog-hash: crc32c=${be.toString('base64')}`);
    assert.match(shown.check!, /equal/, 'hash-wasm agrees');
    await page.select('#size', '16');
    await page.click('#run-copy');
    await page.waitForFunction(() => !document.getElementById('ops')!.hidden, { timeout: 15000 });
    const cells = await page.$$eval('#ops tbody tr', (rows) => rows.map((r) => r.cells[1].textContent));
    assert.equal(cells.slice(2), ['0 (equal)', `byte ${Math.floor(16 * 2 ** 20 * 0.73).toLocaleString('en-US')} (changed: ${Math.floor(16 * 2 ** 20 * 0.73).toLocaleString('en-US')})`, cells[4]]);
    assert.match(cells[4]!, /^-?[1-9]\d* \(a [<>] b\)$/);
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    await page.screenshot({ path: join(root, 'bench', 'results', 'browser-demo.png'), fullPage: true });
  } finally {
    await page.close();
    rmSync(file, { force: true });
  }
});

test.run();
