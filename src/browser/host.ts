// What the device needs from its host, a browser's side (the browser build puts this module
// in place of src/device/host.ts). What has no meaning here is absent: no thread ids, no
// process to exit or keep alive, no diagnostics channel.
import { Errors } from '../device/errors.ts';
import { crc32cJs } from '../device/crc32c_js.ts';

/** Cores to size the engine pool by. */
// (no navigator in Node 20: a page's module imported there, by server-side rendering or a test, still loads)
export const cores = (): number => Math.max(1, (typeof navigator === 'undefined' ? 0 : navigator.hardwareConcurrency) || 1);

/**
 * Throws unless this page can share memory with workers: a shared WebAssembly.Memory and
 * Atomics.waitAsync need a cross-origin-isolated page.
 */
export function checkHost(): void {
  // (Node imports a page's module for server-side rendering or a test: that is no page to isolate)
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
  if (node !== undefined && globalThis.crossOriginIsolated === undefined) throw Errors.browserInNode(node);
  if (globalThis.crossOriginIsolated !== true) throw globalThis.isSecureContext === false ? Errors.notSecure() : Errors.notIsolated();
  if (typeof Atomics.waitAsync !== 'function') throw Errors.noWaitAsync();
}

/** No files in a browser: an accel-config configuration is given as JSON text or the parsed object. */
export function readTextFile(_path: string): never {
  throw Errors.notInBrowser('reading a file', 'give Device.fromConfig the JSON text or the parsed object');
}

export const readTextFileAsync = async (path: string): Promise<string> => readTextFile(path);

/** No Device.attach here: a worker that ends gives no sign (no exit event, no thread id), so the vector it holds could never be taken back. */
export function checkAttach(): never {
  throw Errors.notInBrowser('Device.attach', 'a worker that ends without detaching would keep its interrupt vector for good; submit from the page that opened the device');
}

/** What the engine worker was started with (set from its first message, before the engine module loads). */
export let workerData: unknown;
export function setWorkerData(data: unknown): void {
  workerData = data;
}

/** Ends this engine worker (an injected engine death, a descriptor held): close, and leave the loop. */
export function exitThread(code: number): never {
  (globalThis as unknown as { close(): void }).close();
  throw new Error(`softdsa fault injection: engine death (exit(${code}))`);
}

export function warn(message: string, code: string): void {
  console.warn(`${message} (${code})`);
}

/** Fresh bytes for a result (a Uint8Array). */
export const newBytes = (size: number): Uint8Array => new Uint8Array(size);

/** Arena bytes as the host's byte type (a Uint8Array). */
export const bytesAt = (buffer: ArrayBufferLike, addr: number, size: number): Uint8Array => new Uint8Array(buffer, addr, size);

/** CRC-32C of bytes outside the arena. */
export const crc32cOf = (u8: Uint8Array, seed: number): number => crc32cJs(u8, seed);

/**
 * Large CRCs of memory outside the arena (an ArrayBuffer from File.arrayBuffer(), say) are staged
 * through the arena for the engines: a browser has only JS to do them on the page's thread.
 */
export const stagesNotShared = (): boolean => true;

/** No addon in a browser: its CRC of bytes where they lie is JavaScript's (crc32cOf). */
export const addonCrc = (): null => null;

/** Negative, 0 or positive, like Buffer.compare. */
export const compareBytes = (a: Uint8Array, b: Uint8Array): number => rangeComparer(a, b)(0, Math.min(a.byteLength, b.byteLength)) || Math.sign(a.byteLength - b.byteLength);

/** Compares a[start, end) with b[start, end): 32-bit words while they are equal (where both are 4-aligned), then bytes. */
export function rangeComparer(a: Uint8Array, b: Uint8Array): (start: number, end: number) => number {
  const aligned = ((a.byteOffset | b.byteOffset) & 3) === 0;
  const x = aligned ? new Uint32Array(a.buffer, a.byteOffset, a.byteLength >>> 2) : null;
  const y = aligned ? new Uint32Array(b.buffer, b.byteOffset, b.byteLength >>> 2) : null;
  return (start, end) => {
    let i = start;
    if (x !== null && y !== null) {
      let w = (start + 3) >>> 2;
      for (; i < w << 2 && i < end; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
      const last = end >>> 2;
      while (w < last && x[w] === y[w]) w++;
      i = Math.max(i, w << 2);
    }
    for (; i < end; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
  };
}

/** No diagnostics channels in a browser: nobody can subscribe. */
export const channel = (_name: string): { hasSubscribers: boolean; publish(message: unknown): void } => ({ hasSubscribers: false, publish(): void {} });

/** No thread ids here (0: never asked about). */
export const TID = 0;
export const threadGone = (_tid: number): boolean => false;

let compiled: WebAssembly.Module | null = null;
let loading: Promise<WebAssembly.Module> | null = null;

/** What to wait for before this thread's core can be made: its fetch and compile (started now), or null once it is compiled. */
export const coreLoading = (): Promise<unknown> | null => (compiled === null ? loadCore() : null);

/** The Wasm core, compiled by loadCore() (a browser compiles it asynchronously, fetched beside this module). */
export function compileCore(): WebAssembly.Module {
  if (compiled === null) throw new Error('softdsa: the Wasm core is not loaded yet (Device.open() loads it)');
  return compiled;
}

/** How long the core's (and the engine script's) fetch may take: a server that never answers must not leave open(), ready() and the calls waiting for good. */
const CORE_FETCH_MS = 15_000;

/** A file beside this module, answered with success within CORE_FETCH_MS; throws (an HTTP error: `HTTP 404`) otherwise. */
async function fetchOk(url: URL): Promise<Response> {
  const res = await fetch(url, { signal: AbortSignal.timeout(CORE_FETCH_MS) });
  if (!res.ok) {
    void res.body?.cancel().catch(() => {});
    throw new Error(`HTTP ${res.status}`);
  }
  return res;
}

/** Why a fetch (fetchOk) or what was done with its answer failed, in a few words. */
const whyFailed = (e: unknown): string => ((e as Error)?.name === 'TimeoutError' ? `no answer in ${CORE_FETCH_MS / 1000} s` : (e as Error)?.message ?? String(e));

/** The engine script's check (checkEngineScript), once a page: a later open() after a failure tries again. */
let engineChecked: Promise<void> | null = null;

/**
 * Asks for the engines' worker script as a worker would get it, once: a server that does not
 * answer, answers with an error, or serves it without the COEP header a cross-origin-isolated
 * page's worker needs, is said here, with why (a Worker's own error event says none of that,
 * and one whose script never came never ended: open() and ready() waited for good).
 */
export function checkEngineScript(url: URL): Promise<void> {
  engineChecked ??= (async () => {
    // (a browser makes no Worker of a script from another origin; nor would a cross-origin
    // answer show its COEP header here, which was then said to be missing)
    const origin = globalThis.location?.origin;
    if (origin !== undefined && origin !== 'null' && url.origin !== origin) {
      throw new Error(`${url.href} is on another origin than the page (${origin}): a browser makes no worker from another origin's script: serve softdsa's dist/browser files (softdsa.js, engine.js, core.wasm) from the page's own origin`);
    }
    let res: Response;
    try {
      res = await fetchOk(url);
    } catch (e) {
      throw new Error(`${url.href}: ${whyFailed(e)}`, { cause: e });
    }
    void res.body?.cancel().catch(() => {}); // (its headers are what is looked at: a worker fetches it again)
    // (a module worker's script must be JavaScript by its type: the worker's error event said
    // only that it failed to load, and the console nothing)
    const type = res.headers.get('content-type');
    if (type === null || !/^\s*(text|application)\/(x-)?(javascript|ecmascript)\b/i.test(type)) {
      throw new Error(`${url.href} is served ${type === null ? 'with no Content-Type' : `as ${type}`}: a worker's module script must be served as JavaScript (Content-Type: text/javascript)${servedPage(type)}`);
    }
    const coep = res.headers.get('cross-origin-embedder-policy');
    if (globalThis.crossOriginIsolated === true && coep !== 'require-corp' && coep !== 'credentialless') {
      throw new Error(`${url.href} is served without Cross-Origin-Embedder-Policy: require-corp (the engines' workers of a cross-origin-isolated page need the headers the page has)`);
    }
  })();
  engineChecked.catch(() => {
    engineChecked = null;
  });
  return engineChecked;
}

/** A hint for a file answered with an HTML page: a server's fallback for a path it does not have. */
const servedPage = (type: string | null): string => (type !== null && /^\s*text\/html\b/i.test(type) ? ' (an HTML page: a server\'s fallback for a file it does not have? serve softdsa\'s dist/browser files as they are)' : '');

/** How long a failed load of the core is told again at once before it is tried again: each try that got no answer waited CORE_FETCH_MS, a page's every DIF call 15 s. */
const CORE_RETRY_MS = 30_000;
let failed: { error: Error; at: number } | null = null;

/** Fetches and compiles core.wasm (beside this module), once. Fails with a SoftDsaError (NO_CORE) saying why. */
export function loadCore(url: URL = new URL('./core.wasm', import.meta.url)): Promise<WebAssembly.Module> {
  if (loading === null && failed !== null && performance.now() - failed.at < CORE_RETRY_MS) return Promise.reject(failed.error);
  loading ??= (async () => {
    try {
      const res = await fetchOk(url);
      const type = res.headers.get('content-type');
      const page = servedPage(type);
      if (page !== '') {
        void res.body?.cancel().catch(() => {});
        throw new Error(`served as ${type}, not the Wasm core${page}`);
      }
      // compileStreaming needs the application/wasm type; a server without it still gets the bytes compiled.
      compiled = type?.startsWith('application/wasm')
        ? await WebAssembly.compileStreaming(res)
        : await WebAssembly.compile(await res.arrayBuffer());
      return compiled;
    } catch (e) {
      throw Object.assign(Errors.noCore(`${url.href}: ${whyFailed(e)}`), { cause: e });
    }
  })();
  loading.catch((e: Error) => {
    loading = null; // a later open() tries again, once CORE_RETRY_MS have passed
    failed = { error: e, at: performance.now() };
  });
  return loading;
}
