// The package as a user gets it. `npm pack` (prepack: prebuilds checked, everything built), the
// tarball's contents and size, then an offline install into a fresh project whose PATH has the
// compilers, make and python replaced by stubs that fail, and against that installed copy only:
// the README's quick examples verbatim (ES module and CommonJS), TypeScript consumers checked
// against the installed types (ESM and CommonJS, under nodenext, node16 and bundler), the
// completion path (eventfd on linux-x64, from the prebuild), and `npx softdsa bench`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'softdsa-package-'));
const app = join(work, 'app');
const stubs = join(work, 'no-toolchain');
const MAX_PACKED = 400_000; // bytes (issue 10: ≤ 400 kB packed), addons and the browser build (dist/browser: about 45 kB packed) included
const ADDONS = ['linux-x64', 'linux-arm64'].map((t) => `native/prebuilds/${t}/softdsa_eventfd.napi.glibc.node`);

interface Run { code: number | null; out: string; err: string }
function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): Run {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? app, env: opts.env ?? userEnv(), encoding: 'utf8', timeout: opts.timeout ?? 60000 });
  if (r.error) return { code: null, out: r.stdout ?? '', err: `${r.error.message}\n${r.stderr ?? ''}` };
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const show = (r: Run): string => `exit ${r.code}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`;

/** This process's environment as npm's `run test` left it, minus what ties it to this repository. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_|^npm_command$|^npm_config_local_prefix$|^INIT_CWD$/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/**
 * A user's shell: no repository tools on PATH (node_modules/.bin, npm's node-gyp shim) and the
 * build tools stubbed out, so anything that tried to compile would fail loudly.
 */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = cleanEnv();
  const path = (env.PATH ?? '').split(delimiter).filter((p) => p && !p.includes('node_modules') && !p.includes('node-gyp-bin'));
  return { ...env, npm_config_node_gyp: undefined, PATH: [stubs, ...path].join(delimiter), ...extra };
}

/** The fenced code blocks under a README heading, with their info strings. */
function readmeBlocks(heading: string): Array<{ lang: string; code: string }> {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README has a "## ${heading}" section`);
  const end = text.indexOf('\n## ', start + 4);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], code: m[2] }));
}

let tarball = '';
let packedFiles: string[] = [];

test('prebuilt addons match native/ (else: npm run prebuilds)', () => {
  const r = run(process.execPath, [join(root, 'scripts', 'prebuild.mjs'), '--check'], { cwd: root, env: cleanEnv() });
  assert.is(r.code, 0, show(r));
  for (const [file, machine] of [[ADDONS[0], 0x3e], [ADDONS[1], 0xb7]] as const) {
    const b = readFileSync(join(root, file));
    assert.is(b.readUInt32BE(0), 0x7f454c46, `${file}: ELF`);
    assert.is(b[4], 2, `${file}: 64-bit`);
    assert.is(b.readUInt16LE(16), 3, `${file}: a shared object`);
    assert.is(b.readUInt16LE(18), machine, `${file}: machine`);
    // the symbol versions it needs: what every Linux that runs Node 20 has (libstdc++ 3.4.21, glibc 2.17)
    const text = b.toString('latin1');
    const newest = (re: RegExp): number => Math.max(0, ...[...text.matchAll(re)].map((m) => Number(m[1])));
    assert.ok(newest(/GLIBCXX_3\.4\.(\d+)/g) <= 21, `${file}: needs GLIBCXX_3.4.${newest(/GLIBCXX_3\.4\.(\d+)/g)}`);
    assert.ok(newest(/GLIBC_2\.(\d+)/g) <= 17, `${file}: needs GLIBC_2.${newest(/GLIBC_2\.(\d+)/g)}`);
  }
});

test('npm pack: what runs, and only that, within 400 kB', () => {
  const before = readFileSync(join(root, 'package.json'), 'utf8');
  const r = run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, env: cleanEnv(), timeout: 180000 });
  assert.is(r.code, 0, show(r));
  assert.is(readFileSync(join(root, 'package.json'), 'utf8'), before, 'postpack restored package.json');
  const info = (JSON.parse(r.out.slice(r.out.search(/^\[/m))) as Array<{ filename: string; size: number; unpackedSize: number; entryCount: number; files: Array<{ path: string }> }>)[0];
  tarball = join(work, info.filename);
  packedFiles = info.files.map((f) => f.path);
  console.log(`# ${info.filename}: ${info.size} B packed, ${info.unpackedSize} B unpacked, ${info.entryCount} files`);
  const need = [
    'package.json', 'README.md', 'LICENSE', 'docs/format.md', 'bin/softdsa.js',
    'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/index.cjs', 'dist/src/index.d.cts', 'dist/src/device.d.ts', 'dist/src/device.d.cts',
    'dist/workers/engine.js', 'dist/src/cli/main.js', 'dist/src/cli/main.d.ts', 'native/binding.gyp', 'native/eventfd.cc', 'native/crc32c.cc', 'native/crc32c.h', ...ADDONS,
    'dist/browser/softdsa.js', 'dist/browser/engine.js', 'dist/browser/core.wasm', 'dist/src/browser/index.d.ts',
  ];
  for (const f of need) assert.ok(packedFiles.includes(f), `the tarball has ${f}`);
  const banned = [
    /^test\//, /^bench\//, /^src\//, /^assembly\//, /^scripts\//, /^workers\//, /^\.ci\//, /^node_modules\//,
    /(?<!\.d)\.ts$/, /\.map$/, /\.wat$/, /^build\//, /^native\/build\//, /SOURCE\.sha256$/,
    /^binding\.gyp$/, // a root binding.gyp would make npm run node-gyp at install
    /^package-lock\.json$/, /^tsconfig/,
  ];
  for (const f of packedFiles) for (const re of banned) assert.not.match(f, re, `the tarball should not hold ${f}`);
  assert.ok(info.size <= MAX_PACKED, `packed size ${info.size} B > ${MAX_PACKED} B`);
});

test('npm install of the tarball: offline, no compiler, no script', () => {
  assert.ok(tarball, 'packed');
  // Stubs for every build tool: a compile attempted anywhere fails (and says so).
  mkdirSync(stubs, { recursive: true });
  for (const tool of ['cc', 'gcc', 'c++', 'g++', 'clang', 'clang++', 'make', 'gmake', 'python', 'python3', 'node-gyp']) {
    writeFileSync(join(stubs, tool), `#!/bin/sh\necho "${tool}: not available on this machine" >&2\nexit 1\n`);
    chmodSync(join(stubs, tool), 0o755);
  }
  assert.is(run('cc', ['--version'], { cwd: work }).code, 1, 'cc is stubbed');
  assert.is(run('python3', ['--version'], { cwd: work }).code, 1, 'python3 is stubbed');
  // A fresh project. Its lockfile pins softdsa's dependencies to the versions of this
  // repository's lockfile, whose tarballs `npm ci` put in the npm cache: `npm ci --offline`
  // then needs no network (not even the registry's metadata, which the cache may lack).
  mkdirSync(app, { recursive: true });
  const spec = `file:../${basename(tarball)}`;
  const manifest = JSON.parse(run('tar', ['-xzOf', tarball, 'package/package.json'], { cwd: work }).out) as Record<string, any>;
  const repoLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, any>> };
  const registry = (run('npm', ['config', 'get', 'registry'], { cwd: work }).out.trim() || 'https://registry.npmjs.org/').replace(/\/?$/, '/');
  const packages: Record<string, Record<string, any>> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { softdsa: spec } },
    'node_modules/softdsa': {
      version: manifest.version, resolved: spec, integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: manifest.license, dependencies: manifest.dependencies, bin: manifest.bin, engines: manifest.engines,
    },
  };
  for (const [key, entry] of Object.entries(repoLock.packages)) {
    if (key === '' || entry.dev || entry.link || !key.startsWith('node_modules/')) continue; // the repository's own devDependencies
    const { dev, devOptional, peer, ...rest } = entry;
    if (devOptional) rest.optional = true;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    rest.resolved ??= `${registry}${name}/-/${name.split('/').pop()}-${rest.version}.tgz`;
    packages[key] = rest;
  }
  for (const dep of Object.keys(manifest.dependencies ?? {})) assert.ok(packages[`node_modules/${dep}`], `the repository lockfile has ${dep}`);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: { softdsa: spec } }, null, 2));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
  const r = run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--foreground-scripts'], { timeout: 120000 });
  assert.is(r.code, 0, show(r));
  assert.not.match(r.out + r.err, /install-scripts|gyp|not available on this machine/i, show(r));
  const installed = join(app, 'node_modules', 'softdsa');
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string>; dependencies?: Record<string, string> };
  for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) assert.is(pkg.scripts?.[s], undefined, `no ${s} script in the installed package`);
  assert.not.ok(existsSync(join(installed, 'binding.gyp')), 'no root binding.gyp (npm would infer node-gyp rebuild)');
  assert.not.ok(existsSync(join(installed, 'native', 'build')), 'nothing was built at install');
  for (const dep of ['node-addon-api', 'node-gyp', 'assemblyscript', 'typescript', 'esbuild']) {
    assert.not.ok(dep in (pkg.dependencies ?? {}), `${dep} is not a runtime dependency`);
  }
  for (const f of [...ADDONS, 'dist/src/index.cjs', 'dist/src/index.d.cts']) assert.ok(existsSync(join(installed, f)), `installed ${f}`);
  assert.not.ok(existsSync(join(installed, 'build', 'core.wasm')), 'the core ships once: dist/browser/core.wasm, which Node reads too');
  // softdsa/browser through the exports map: the browser module, with its worker and core beside it.
  const browser = run(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('softdsa/browser'))"], { cwd: app });
  assert.is(browser.code, 0, show(browser));
  assert.match(browser.out.trim(), /\/node_modules\/softdsa\/dist\/browser\/softdsa\.js$/);
  for (const f of ['engine.js', 'core.wasm']) assert.ok(existsSync(join(installed, 'dist', 'browser', f)), `installed dist/browser/${f}`);
});

test('the browser build names its engine worker and Wasm core as bundlers find them: new URL("./x", import.meta.url), each literal whole', () => {
  // (Vite and others rewrite such URLs to the assets: a literal cut over two lines, as esbuild's
  // lineLimit had cut "./engine.js", was resolved as "engine/\n.js" and the engines never started)
  const js = readFileSync(join(root, 'dist', 'browser', 'softdsa.js'), 'utf8');
  for (const asset of ['./engine.js', './core.wasm']) assert.ok(js.includes(`new URL("${asset}",import.meta.url)`), asset);
});

test('README quick examples, verbatim: ES module and CommonJS', () => {
  const dropIn = readmeBlocks('Quick example: the drop-in API');
  const esm = dropIn.find((b) => b.lang === 'ts' && b.code.includes("from 'softdsa'"));
  const cjs = dropIn.find((b) => b.lang === 'js' && b.code.includes("require('softdsa')"));
  const desc = readmeBlocks('Quick example: descriptors').find((b) => b.lang === 'ts');
  assert.ok(esm && cjs && desc, 'the README has the ESM, CommonJS and descriptor examples');
  writeFileSync(join(app, 'drop-in.mjs'), esm.code);
  writeFileSync(join(app, 'drop-in.cjs'), cjs.code);
  writeFileSync(join(app, 'descriptors.mjs'), desc.code);

  let r = run(process.execPath, ['drop-in.mjs']);
  assert.is(r.code, 0, show(r));
  let lines = r.out.trim().split('\n');
  assert.is(lines[0], '0', 'compare → 0');
  assert.match(lines[1], /^\d+$/, 'crc32c of the arena buffer');
  assert.is(lines[2], String(0xe3069283), 'crc32c("123456789")');
  assert.is(lines[3], '{ split: 1 }', 'placement');

  r = run(process.execPath, ['drop-in.cjs']);
  assert.is(r.code, 0, show(r));
  lines = r.out.trim().split('\n');
  assert.equal(lines.slice(0, 2), ['0', String(0xe3069283)]);
  assert.ok(lines[2] === 'eventfd' || lines[2] === 'atomics', lines[2]);

  r = run(process.execPath, ['descriptors.mjs']);
  assert.is(r.code, 0, show(r));
  lines = r.out.trim().split('\n');
  assert.match(lines[0], /^true \{/, `memmove: SUCCESS and its record\n${r.out}`);
  assert.match(r.out, /status: 1,/, r.out);
  assert.match(lines[lines.length - 1], /^[0-9a-f]{1,8}$/, `the CRC-32C in hex\n${r.out}`);
});

test('import and require in one process: one library (one default device, one engine pool, the same classes); the ES entry names every export', () => {
  // (a program whose dependencies take softdsa both ways: each build had carried the library, and
  // the process ran two default devices, two arenas and two pools of engines)
  writeFileSync(join(app, 'both.mjs'), [
    "import * as esm from 'softdsa';",
    "import { createRequire } from 'node:module';",
    "const cjs = createRequire(import.meta.url)('softdsa');",
    "const names = (m) => Object.keys(m).filter((k) => k !== 'default').sort().join();",
    "console.log(names(esm) === names(cjs), esm.Device === cjs.Device, esm.crc32c === cjs.crc32c, cjs.default === cjs && !Object.keys(cjs).includes('default'));",
    'await esm.crc32c(Buffer.alloc(1 << 20, 1));',
    'await cjs.crc32c(Buffer.alloc(1 << 20, 2));',
    'console.log(esm.defaultDevice() === cjs.defaultDevice());',
    "const e = await esm.crc32c('x').catch((x) => x);",
    'console.log(e instanceof cjs.SoftDsaError || e instanceof TypeError, e.code);',
    'await esm.shutdown();',
    "console.log(await cjs.crc32c(Buffer.from('123456789')));",
    'await cjs.shutdown();',
  ].join('\n'));
  const r = run(process.execPath, ['both.mjs']);
  assert.is(r.code, 0, show(r));
  assert.equal(r.out.trim().split('\n'), ['true true true true', 'true', 'true ERR_INVALID_ARG_TYPE', String(0xe3069283)], show(r));
});

test('under --disallow-code-generation-from-strings (a hardening flag) the engines start, ESM and CommonJS (piscina imported an ES module engine through new Function, which the flag refuses: ENGINE_START_FAILED)', () => {
  const body = "const d = await Device.open({ engines: 1 }); const b = d.buffer(1 << 20).fill(1); await d.crc32c(b); console.log(JSON.stringify(d.stats().ops.crc32c.placement)); await d.close();";
  for (const [file, code] of [['flag.mjs', `import { Device } from 'softdsa';\n${body}`], ['flag.cjs', `const { Device } = require('softdsa');\n(async () => { ${body} })();`]]) {
    writeFileSync(join(app, file), code);
    const r = run(process.execPath, ['--disallow-code-generation-from-strings', file]);
    assert.is(r.code, 0, show(r));
    assert.is(r.out.trim(), '{"device":1}', file);
    assert.not.match(r.err, /Code generation from strings disallowed/, show(r));
  }
});

test('completion path: eventfd from the prebuilt addon on linux-x64; Atomics where none fits', () => {
  const probe = `const s = require('softdsa');
    if (s.default !== s) throw new Error('require("softdsa").default is not the module: a default import from CommonJS TypeScript would be undefined');
    (async () => { const a = s.alloc(4096), b = s.alloc(4096); await s.memcpy(b, a);
      console.log(JSON.stringify({ path: s.stats().completionPath, addon: s.eventFdStatus() })); await s.shutdown(); })();`;
  const esmProbe = `import { alloc, memcpy, stats, eventFdStatus, shutdown } from 'softdsa';
    const a = alloc(4096), b = alloc(4096); await memcpy(b, a);
    console.log(JSON.stringify({ path: stats().completionPath, addon: eventFdStatus() })); await shutdown();`;
  writeFileSync(join(app, 'probe.cjs'), probe);
  writeFileSync(join(app, 'probe.mjs'), esmProbe);
  type Probe = { path: string; addon: { available: boolean; path: string | null; reason: string | null } };
  const probeRun = (file: string, extra: NodeJS.ProcessEnv = {}): Probe => {
    const r = run(process.execPath, [file], { env: userEnv(extra) });
    assert.is(r.code, 0, show(r));
    return JSON.parse(r.out) as Probe;
  };
  for (const file of ['probe.cjs', 'probe.mjs']) {
    const p = probeRun(file);
    console.log(`# ${file}: ${p.path} (${p.addon.path ?? p.addon.reason})`);
    if (process.platform === 'linux' && process.arch === 'x64') {
      assert.is(p.path, 'eventfd', JSON.stringify(p));
      assert.ok(p.addon.path?.endsWith('/native/prebuilds/linux-x64/softdsa_eventfd.napi.glibc.node'), JSON.stringify(p));
    }
  }
  // No prebuild fits (a musl system, as node-gyp-build sees it): the Atomics path, with the reason.
  const musl = probeRun('probe.cjs', { LIBC: 'musl' });
  assert.is(musl.path, 'atomics');
  assert.match(String(musl.addon.reason), /no eventfd addon fits .*libc=musl/);
  const off = probeRun('probe.mjs', { SOFTDSA_NO_EVENTFD: '1' });
  assert.is(off.path, 'atomics');
  assert.is(off.addon.reason, 'disabled by SOFTDSA_NO_EVENTFD=1');
});

test('TypeScript consumers: installed types, ESM and CommonJS, nodenext / node16 / bundler', () => {
  // Declarations TypeScript 5.0-5.6 read too: an inferred type printed as TypeScript 5.7's lib
  // spells it (`Uint8Array<ArrayBufferLike>`) is TS2315 there, and an `any` under skipLibCheck.
  const shipped = join(app, 'node_modules', 'softdsa', 'dist');
  const generic = /\b(?:Buffer|Uint8Array|Uint16Array|Uint32Array|Int8Array|Int16Array|Int32Array|Float32Array|Float64Array|BigInt64Array|BigUint64Array|DataView|Uint8ClampedArray|ArrayBufferView)</;
  const walkDecl = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walkDecl(join(d, e.name)) : /\.d\.c?ts$/.test(e.name) ? [join(d, e.name)] : []));
  for (const f of walkDecl(shipped)) assert.not.match(readFileSync(f, 'utf8'), generic, `${f.slice(shipped.length)}: a typed array's type parameter (TypeScript 5.7+ only)`);
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const ts = join(app, 'ts');
  mkdirSync(ts, { recursive: true });
  // The README examples as TypeScript, plus explicit types. Each file has one call that must
  // not type-check (marked as an expected error): were the types `any`, the check would fail.
  const dropIn = readmeBlocks('Quick example: the drop-in API').find((b) => b.lang === 'ts')!.code;
  const desc = readmeBlocks('Quick example: descriptors').find((b) => b.lang === 'ts')!.code;
  writeFileSync(join(ts, 'drop-in.mts'), dropIn + 'export {};\n');
  writeFileSync(join(ts, 'descriptors.mts'), desc + 'export {};\n');
  writeFileSync(join(ts, 'types.mts'), `import { alloc, batch, memcpy, stats, eventFdStatus, Device, Status, SoftDsaError, Descriptor, decodeDescriptor, difCheck, createCrc32cStream, crc32cTransformStream, formatCrc32c, type Crc32cFormat, type DeviceStats, type EventFdStatus, type Portal } from 'softdsa';
import { main } from 'softdsa/cli';
const s: DeviceStats = stats();
export const path: 'eventfd' | 'atomics' = s.completionPath;
export const addon: EventFdStatus = eventFdStatus();
export const copied: Promise<Buffer> = memcpy(alloc(64), Buffer.alloc(64));
export const ok: number = Status.SUCCESS;
export const dev: Promise<Device> = Device.open({ engines: 1 });
export const isError = (e: unknown): boolean => e instanceof SoftDsaError;
export const cli: (argv: string[]) => Promise<number> = main;
const decoded = decodeDescriptor(Descriptor.memmove({ src: 0n, dst: 64, size: 8, completion: 0x2000n }));
export const again: Uint8Array = Descriptor[decoded.builder!](decoded as never);
export const portal = async (d: Device): Promise<Portal> => d.wq(0);
// @ts-expect-error: difCheck writes nothing: it takes no dst
export const checked = difCheck(new Uint8Array(520), { dst: new Uint8Array(520) });
// a batch's results are typed in the order of its calls
const dst = alloc(64);
export const results: Promise<[Buffer, number, Uint8Array]> = batch().memcpy(dst, Buffer.alloc(64)).fence().crc32c(dst).createDelta(dst, dst).submit();
// @ts-expect-error: a string is not a byte buffer
export const wrong = memcpy('dst', 'src');
// stats().ops holds an entry for each operation called, none before: its type says so
// @ts-expect-error: possibly undefined
export const before: number = stats().ops.memcpy.count;
export const counted: number | undefined = stats().ops.crc32c?.count;
// a digest format held in a variable of the union type (no overload took it)
const format: Crc32cFormat = 'hex' as Crc32cFormat;
export const digested: number | string | Buffer = createCrc32cStream().digest(format);
// (no format: a number, as it returns; it was typed number | string | Buffer)
export const plain: number = formatCrc32c(0xe3069283);
// (the WHATWG twin's bytes are a Uint8Array: a Buffer in Node, none in a browser, where it was typed Buffer)
export const webDigested: number | string | Uint8Array = crc32cTransformStream().digest(format);
`);
  writeFileSync(join(ts, 'require.cts'), `import softdsa = require('softdsa');
import softdsaDefault from 'softdsa';
export const viaDefault: Promise<number> = softdsaDefault.crc32c(Buffer.from('1'));
// (require('softdsa').default is the module itself, and typed so: it was not declared)
export const itself: typeof softdsa.crc32c = softdsa.default.crc32c;
const s: softdsa.DeviceStats = softdsa.stats();
export const path: 'eventfd' | 'atomics' = s.completionPath;
export const crc: Promise<number> = softdsa.crc32c(Buffer.from('123456789'));
export const dev: Promise<softdsa.Device> = softdsa.Device.open();
// @ts-expect-error: a string is not a byte buffer
export const wrong = softdsa.memcpy('dst', 'src');
`);
  // Options given as undefined (as a JS caller passes a value it may not have) are taken as absent
  // at run time: the types say so, also under exactOptionalPropertyTypes.
  writeFileSync(join(ts, 'undefined-options.mts'), `import { Device, crc32cFile, difInsert, difUpdate, createCrc32cStream, Descriptor, type FaultRule } from 'softdsa';
const maybe = (): number | undefined => undefined;
const signal: AbortSignal | undefined = undefined;
export const dev = Device.open({ engines: maybe(), wqMode: undefined, faults: undefined });
export const file = crc32cFile('x', { signal, chunkSize: maybe(), onProgress: undefined });
export const dif = difInsert(new Uint8Array(512), { blockSize: undefined, refTag: maybe(), dst: undefined });
export const update = difUpdate(new Uint8Array(520), { to: { refTag: maybe(), keepGuard: undefined } });
export const stream = createCrc32cStream({ seed: maybe(), device: undefined });
export const d = Descriptor.memmove({ src: 0, dst: 64, size: 1, pasid: maybe(), flags: undefined });
export const rule: FaultRule = { opcode: undefined, pageFault: { offset: 0, operand: undefined } };
`);
  const modes: Array<[string, string]> = [['nodenext', 'nodenext'], ['node16', 'node16'], ['preserve', 'bundler']];
  for (const [module, moduleResolution] of modes) {
    const config = join(ts, `tsconfig.${moduleResolution}.json`);
    writeFileSync(config, JSON.stringify({
      compilerOptions: {
        target: 'es2022', lib: ['es2023'], module, moduleResolution, strict: true, noEmit: true,
        skipLibCheck: false, exactOptionalPropertyTypes: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
      },
      files: ['drop-in.mts', 'descriptors.mts', 'types.mts', 'require.cts', 'undefined-options.mts'],
    }, null, 2));
    const r = run(process.execPath, [tsc, '-p', config], { cwd: ts });
    assert.is(r.code, 0, `${moduleResolution}: ${show(r)}`);
  }
});

test('bundled into a program, away from its files: it says to leave it out of the bundle; its browser entry imports in Node', async () => {
  writeFileSync(join(app, 'bundle-me.mjs'), `import { crc32c } from 'softdsa';\nconsole.log(await crc32c(Buffer.from('1')));\n`);
  const esbuild = await import('esbuild');
  const out = join(app, 'bundled', 'out.mjs');
  await esbuild.build({ entryPoints: [join(app, 'bundle-me.mjs')], outfile: out, bundle: true, platform: 'node', format: 'esm', logLevel: 'silent' });
  const r = run(process.execPath, [out]);
  assert.is.not(r.code, 0, show(r));
  assert.match(r.err, /softdsa runs from its installed files .* a bundle must leave it out .*--external:softdsa/, show(r));
  // esbuild's default output for Node is CommonJS, where an ES module's import.meta.url is
  // undefined: the same message (it was fileURLToPath's "Received undefined")
  const outCjs = join(app, 'bundled', 'out.cjs');
  writeFileSync(join(app, 'bundle-me-too.mjs'), `import { crc32c } from 'softdsa';\ncrc32c(Buffer.from('1')).then(console.log);\n`);
  await esbuild.build({ entryPoints: [join(app, 'bundle-me-too.mjs')], outfile: outCjs, bundle: true, platform: 'node', format: 'cjs', logLevel: 'silent' });
  const c = run(process.execPath, [outCjs]);
  assert.is.not(c.code, 0, show(c));
  assert.match(c.err, /softdsa runs from its installed files .* a bundle must leave it out .*--external:softdsa/, show(c));
  // a CommonJS program bundled as an ES module, where the bundle's every require() fails (it said
  // "Dynamic require of "node:url" is not supported")
  writeFileSync(join(app, 'bundle-me.cjs'), `const { crc32c } = require('softdsa');\ncrc32c(Buffer.from('1')).then(console.log);\n`);
  const outEsm = join(app, 'bundled', 'from-cjs.mjs');
  await esbuild.build({ entryPoints: [join(app, 'bundle-me.cjs')], outfile: outEsm, bundle: true, platform: 'node', format: 'esm', logLevel: 'silent' });
  const m = run(process.execPath, [outEsm]);
  assert.is.not(m.code, 0, show(m));
  assert.match(m.err, /softdsa runs from its installed files .* a bundle must leave it out .*--external:softdsa/, show(m));
  // (server-side rendering, or a test, imports a page's module in Node: Node 20 has no navigator)
  const b = run(process.execPath, ['--input-type=module', '-e', "const m = await import('softdsa/browser'); console.log(typeof m.crc32c); console.log((await m.Device.open().catch((e) => e)).code);"]);
  assert.is(b.code, 0, show(b));
  // (its calls in Node said to serve a page with COOP/COEP headers)
  assert.equal(b.out.trim().split('\n'), ['function', 'BROWSER_BUILD_IN_NODE'], show(b));
});

test('loaded as a test runner loads modules (jest: code compiled in a vm.Script, whose import() is refused without --experimental-vm-modules), the engines start', () => {
  // (the engine pool loaded Node's modules with import(): ENGINE_START_FAILED, and every call stayed inline)
  writeFileSync(join(app, 'runner.cjs'), [
    "const vm = require('node:vm'); const { createRequire } = require('node:module'); const { readFileSync } = require('node:fs');",
    "const file = require.resolve('softdsa');",
    "const m = { exports: {} };",
    "new vm.Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\\n})`, { filename: file }).runInThisContext()(m.exports, createRequire(file), m, file, require('node:path').dirname(file));",
    "(async () => { const dev = await m.exports.Device.open({ engines: 1, arenaBytes: 8 << 20 }); const b = dev.buffer(1 << 20).fill(1); await dev.crc32c(b); console.log(JSON.stringify(dev.stats().ops.crc32c.placement)); await dev.close(); })();",
  ].join('\n'));
  const r = run(process.execPath, ['runner.cjs']);
  assert.is(r.code, 0, show(r));
  assert.is(r.out.trim(), '{"device":1}', show(r));
});

test('npx softdsa bench, from the installed package', () => {
  const r = run('npx', ['--offline', 'softdsa', 'bench', '-o', 'memmove,crc32c', '-s', '4k', '-n', '200', '-w', '0', '-e', '1', '-c', 'eventfd', '--baseline', 'none', '--verify', '--json', '--no-progress']);
  assert.is(r.code, 0, show(r));
  const res = JSON.parse(r.out) as { schema: string; rows: Array<{ op?: string; errors: number; ops: number; variant: { completionPath: string } | null }> };
  assert.is(res.schema, 'softdsa-bench/1');
  assert.is(res.rows.length, 2);
  for (const row of res.rows) {
    assert.is(row.errors, 0);
    assert.is(row.ops, 200);
    if (process.platform === 'linux' && process.arch === 'x64') assert.is(row.variant?.completionPath, 'eventfd');
  }
  const v = run('npx', ['--offline', 'softdsa', '--version']);
  assert.is(v.code, 0, show(v));
  assert.match(v.out, /^softdsa \d+\.\d+\.\d+/);
});

test.after(() => {
  rmSync(work, { recursive: true, force: true });
});

test.run();
