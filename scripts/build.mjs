// npm install (through `prepare`) / npm run build: in the repository only, never in a
// consumer's install (the package ships everything built; see README "Install").
//   addon  the eventfd addon for this machine (node-gyp, in native/) into native/build/Release.
//          Optional: where it does not build, the loader falls back to native/prebuilds/, then
//          to the Atomics path, so a failure here is a warning, not an error.
//   wasm   the Wasm core (asc) into build/core.wasm.
//   ts     dist/: tsc's ESM build with .d.ts types, the CommonJS entry dist/src/index.cjs
//          bundled from the same sources by esbuild, and its .d.cts types.
//   browser  dist/browser/: softdsa.js (the browser entry, src/browser/index.ts), its engine worker
//          engine.js and core.wasm, side by side (esbuild; part of the ts step).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status === 0;
const only = process.argv[2]?.startsWith('--') ? undefined : process.argv[2]; // optional: 'wasm' | 'addon' | 'ts' | 'browser'
if (only && !['wasm', 'addon', 'ts', 'browser'].includes(only)) { console.error(`softdsa: unknown build step ${only} (wasm, addon, ts, browser)`); process.exit(2); }

mkdirSync(join(root, 'build'), { recursive: true });

if (!only || only === 'addon') {
  // configure + build (incremental), in native/: the addon's build folder is native/build.
  const gyp = process.env.npm_config_node_gyp
    ? [process.execPath, [process.env.npm_config_node_gyp]]
    : [bin('node-gyp'), []];
  // Build against the running Node's own headers when npm has not said where they are
  // (run outside npm): no download, which a closed network would refuse.
  const prefix = dirname(dirname(process.execPath));
  const nodedir = !process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
  const step = (verb) => spawnSync(gyp[0], [...gyp[1], verb, ...nodedir], { cwd: join(root, 'native'), stdio: 'inherit' }).status === 0;
  if (!existsSync(gyp[0]) || !step('configure') || !step('build')) {
    console.warn('softdsa: the eventfd addon did not build; completions will use the Atomics path');
  }
}

if (!only || only === 'wasm') {
  // Up to date (core.wasm newer than its inputs: assembly/, src/device/format.ts which assembly/ imports,
  // and this script): skip asc, as make would; npm pack runs `prepare` again.
  // `node scripts/build.mjs wasm --force` rebuilds anyway.
  const core = join(root, 'build', 'core.wasm');
  const inputs = [fileURLToPath(import.meta.url), join(root, 'src', 'device', 'format.ts'), ...walk(join(root, 'assembly'))];
  const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
  if (!process.argv.includes('--force') && existsSync(core) && statSync(core).mtimeMs >= newest) {
    // nothing to do
  } else if (existsSync(bin('asc'))) {
    // Shared imported memory, no runtime allocator: one module serves every engine.
    const ok = run(bin('asc'), [
      'assembly/index.ts', '-o', 'build/core.wasm', '-t', 'build/core.wat',
      '--runtime', 'stub', '--importMemory', '--sharedMemory', '--initialMemory', '1',
      '--maximumMemory', '65535', '--enable', 'threads', '--enable', 'simd',
      '-O3', '--noAssert', '--converge',
    ]);
    if (!ok) { console.error('softdsa: building the Wasm core failed'); process.exit(1); }
  } else if (!existsSync(join(root, 'build', 'core.wasm'))) {
    console.error('softdsa: no AssemblyScript compiler and no prebuilt build/core.wasm'); process.exit(1);
  }
}

if (!only || only === 'ts') {
  if (!existsSync(bin('tsc'))) { console.error('softdsa: no TypeScript compiler (npm install first)'); process.exit(1); }
  rmSync(join(root, 'dist'), { recursive: true, force: true }); // no stale modules in the package
  if (!run(bin('tsc'), ['-p', 'tsconfig.json'])) { console.error('softdsa: tsc failed'); process.exit(1); }
  await dualBuild();
}

if (!only || only === 'ts' || only === 'browser') await browserBuild();

/** Every file under dir (recursive), as paths. */
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Rewrite the relative import specifiers of a declaration file ('./x.ts' -> './x' + ext). */
function respecify(text, ext) {
  return text.replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*?)\.(?:ts|js)\2/g, (_, lead, q, p) => `${lead}${q}${p}${ext}${q}`);
}

/**
 * One source, two module systems. tsc writes ESM (dist/src/*.js) and declarations that keep
 * the sources' '.ts' specifiers: those become '.js'. esbuild then bundles src/index.ts into
 * one CommonJS file at dist/src/index.cjs, the same folder depth as dist/src/index.js, so the
 * URLs computed from import.meta.url (the engine worker at ../workers/engine.js, the package
 * root) resolve alike; import.meta.url is shimmed as tsup does it (pathToFileURL(__filename)).
 * Dependencies stay external (require'd). The engine worker stays ESM for both: piscina
 * imports it by URL. The .d.cts tree is the .d.ts tree with '.cjs' specifiers, so TypeScript
 * sees CommonJS types under node16/nodenext for `require('softdsa')`.
 */
async function dualBuild() {
  const dist = join(root, 'dist');
  for (const f of walk(dist)) if (f.endsWith('.d.ts')) writeFileSync(f, respecify(readFileSync(f, 'utf8'), '.js'));
  // The types name WebAssembly.Memory and .Module, which TypeScript declares only in its DOM lib (and
  // @types/node 20 not at all): a consumer with `lib: ["es2023"]` would see errors, or an any.
  // An empty interface of the same name merges with the DOM one where it exists.
  writeFileSync(join(dist, 'src', 'webassembly.d.ts'),
    '// WebAssembly.Memory and .Module for consumers without the DOM lib (merges with it where present).\ndeclare namespace WebAssembly {\n  interface Memory {}\n  interface Module {}\n}\n');
  const index = join(dist, 'src', 'index.d.ts');
  writeFileSync(index, '/// <reference path="./webassembly.d.ts" />\n' + readFileSync(index, 'utf8'));
  const esbuild = await import('esbuild');
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['src/index.ts'],
    outfile: 'dist/src/index.cjs',
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    // Whitespace and comments out, local names shortened, function and class names kept (stack
    // traces name them): the package stays within its 400 kB budget with the browser build and
    // two prebuilt addons beside it (61 -> 44 kB compressed; short local names took 4.8 kB more off the package).
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: true,
    keepNames: true,
    lineLimit: 200, // (an uncaught error prints its source line: not a whole 100 KB chunk)
    define: { 'import.meta.url': '__softdsa_import_meta_url' },
    // (a require() that fails here: bundled as CommonJS into an ES module bundle, where every
    // require of the bundle fails; said as paths.ts says it for the other bundles)
    banner: { js: "'use strict'; // strict from the first line (the shim comes before esbuild's own directive)\nlet __softdsa_import_meta_url; try { __softdsa_import_meta_url = require('node:url').pathToFileURL(__filename).href; } catch (e) { throw new Error(`softdsa: cannot load (${e && e.message}): softdsa runs from its installed files (its engine worker, the Wasm core, the eventfd addon), so a bundle must leave it out and import it from node_modules (esbuild: --external:softdsa or --packages=external; webpack: externals: { softdsa: 'module softdsa' }; Vite/Rollup: external: ['softdsa'])`, { cause: e }); }" },
    // `import softdsa from 'softdsa'` in CommonJS TypeScript (esModuleInterop) type-checks, as a
    // default import of a CommonJS module does, and compiles to require('softdsa').default: which
    // is then the module itself, not undefined (the module is marked __esModule).
    // (not enumerable: Object.keys(require('softdsa')) lists the library's names only)
    footer: { js: "Object.defineProperty(module.exports, 'default', { value: module.exports, enumerable: false });" },
    legalComments: 'none',
    logLevel: 'warning',
  });
  // The ES module entry is the CommonJS bundle's exports, re-exported by name: one copy of the
  // library, which `import` and `require` in one process share (one default device and engine
  // pool, one arena; one set of classes, so instanceof holds across them). Before, each build
  // carried the library, and a program whose dependencies took softdsa both ways ran two devices.
  const names = Object.keys(createRequire(import.meta.url)(join(dist, 'src', 'index.cjs'))).filter((n) => n !== 'default').sort();
  for (const f of [...walk(join(dist, 'src')), ...walk(join(dist, 'workers'))]) if (f.endsWith('.js')) rmSync(f);
  // (Imported through a CommonJS file of three lines: Node's import of a CommonJS file first scans
  // its source for export names, which took 57 ms of a 90 ms import of index.cjs here; a
  // createRequire() call instead would hide index.cjs from bundlers.)
  writeFileSync(join(dist, 'src', 'index.js'),
    "// softdsa's ES module entry: the CommonJS bundle (index.cjs), the one copy of the library a process loads.\n" +
    // (paths.js first: bundled into a program away from its files, softdsa says so there, where
    // the bundle's require() of index.cjs would fail with less to say)
    "import './device/paths.js';\n" +
    "import softdsa from './entry.cjs';\n" +
    `export const { ${names.join(', ')} } = softdsa;\n`);
  writeFileSync(join(dist, 'src', 'entry.cjs'),
    "'use strict'; // index.cjs for index.js, without the scan for its export names (see scripts/build.mjs)\nconst softdsa = require('./index.cjs');\nmodule.exports = softdsa;\n");
  // The other entry points (the CLI, its baseline worker, the engine worker), bundled with shared
  // chunks (dist/src/chunks/), in place of tsc's module-per-file output. Node loads an ES module
  // graph file by file: 55 modules took 90-115 ms to import here, the same code in a few files
  // ~50 ms (the engine worker loads its graph at every boot too). Minified as the CommonJS bundle
  // is, function and class names kept. Every path computed at run time goes through the package
  // root (src/device/paths.ts), so a chunk's folder does not matter. The CLI reaches the library
  // through its entry (src/index.ts), which stays outside the bundle: the chunks and the CLI
  // live one folder under dist/src, as the engine worker's folder is one under dist, so the
  // entry is ../index.js from each, and the CLI's own code has no second copy of the library.
  const entries = { 'src/device/paths': 'src/device/paths.ts', 'src/cli/main': 'src/cli/main.ts', 'src/cli/baseline-worker': 'src/cli/baseline-worker.ts', 'workers/engine': 'workers/engine.ts' };
  const entryOutside = {
    name: 'softdsa-entry-outside',
    setup(b) {
      b.onResolve({ filter: /(^|\/)index\.ts$/ }, (a) => (join(a.resolveDir, a.path) === join(root, 'src', 'index.ts') ? { path: '../index.js', external: true } : undefined));
    },
  };
  const esm = await esbuild.build({
    absWorkingDir: root,
    entryPoints: entries,
    outdir: 'dist',
    chunkNames: 'src/chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    plugins: [entryOutside],
    metafile: true,
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: true, // (local names, as in the CommonJS bundle: 3 kB of the package)
    keepNames: true,
    lineLimit: 200, // (an uncaught error prints its source line: not a whole 100 KB chunk)
    legalComments: 'none',
    logLevel: 'warning',
  });
  // What would load a second library: its stateful modules in an output, or the entry from the
  // engine worker (whose ../index.js is not the entry).
  for (const [out, o] of Object.entries(esm.metafile.outputs)) {
    const second = Object.keys(o.inputs).filter((i) => /^src\/(device|attached_device|index)\.ts$|^src\/api\/(default_device|ops|files|calls)\.ts$/.test(i));
    const entryFromWorker = out.startsWith('dist/workers/') && o.imports.some((i) => i.path === '../index.js');
    if (second.length > 0 || entryFromWorker) { console.error(`softdsa: ${out} carries a second copy of the library (${second.join(', ') || '../index.js'})`); process.exit(1); }
  }
  copyFileSync(join(root, 'workers', 'engine.cjs'), join(dist, 'workers', 'engine.cjs')); // (what piscina loads: see there)
  // The CLI module (softdsa/cli) is ESM only (top-level await): no .d.cts for it. The CommonJS
  // declarations are the ES ones without their doc comments (23 kB of the packed package, whose
  // budget is 400 kB, once the ES tree's doc comments were a second time in it): a program that
  // require()s softdsa gets the same types, and its editor the docs only from the ES tree.
  for (const f of [...walk(join(dist, 'src')), ...walk(join(dist, 'workers'))]) {
    if (f.endsWith('.d.ts') && !f.includes('/cli/') && !f.endsWith('webassembly.d.ts')) writeFileSync(f.slice(0, -'.d.ts'.length) + '.d.cts', withoutDocComments(respecify(readFileSync(f, 'utf8'), '.cjs')));
  }
  // require('softdsa').default is the module itself (the bundle's footer): typed so too, for a
  // default import compiled to CommonJS without esModuleInterop (TS1192 before).
  const cjsIndex = join(dist, 'src', 'index.d.cts');
  writeFileSync(cjsIndex, readFileSync(cjsIndex, 'utf8') + "declare const softdsa: typeof import('./index.cjs');\nexport default softdsa;\n");
  // The internal modules' declarations ship without their doc comments (75 kB of the 318 kB of
  // declarations, 20 kB of the packed package, whose budget is 400 kB): no program names them,
  // and contributors read them in the source. The modules a user's editor shows (what index.ts
  // exports, and the classes Device inherits from) keep theirs.
  const internal = internalModules();
  for (const f of [...walk(join(dist, 'src')), ...walk(join(dist, 'workers'))]) {
    const m = /[/\\]dist[/\\](?:src[/\\])?(.+)\.d\.c?ts$/.exec(f);
    if (m !== null && internal.has(m[1].replaceAll('\\', '/'))) writeFileSync(f, withoutDocComments(readFileSync(f, 'utf8')));
  }
  pruneDeclarations(dist);
}

/**
 * Deletes the declaration files no entry point's types reach (the CLI's own modules, the browser
 * twins, most internal modules: 44 of 83, 43 kB of .d.ts and their .d.cts), so that the package
 * does not ship them: from each export's types, every relative import and reference is followed.
 */
function pruneDeclarations(dist) {
  const reached = new Set();
  const stack = ['src/index.d.ts', 'src/index.d.cts', 'src/cli/main.d.ts', 'src/browser/index.d.ts'].map((f) => join(dist, f));
  while (stack.length > 0) {
    const f = stack.pop();
    if (reached.has(f) || !existsSync(f)) continue;
    reached.add(f);
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|reference path=)(['"])(\.{1,2}\/[^'"]+)\1/g)) {
      stack.push(join(dirname(f), m[2]).replace(/\.(c?)js$/, (_, c) => `.d.${c}ts`));
    }
  }
  for (const f of walk(dist)) if (/\.d\.c?ts$/.test(f) && !reached.has(f)) rmSync(f);
}

/**
 * Modules no program imports or sees in its types' documentation (dist paths, no extension):
 * not what index.ts exports from (trace: DescriptorEvent), nor what a public type names
 * (engines: EngineFailure, work_queue: Portal.wq, layout: DeviceHandle.layout). A function:
 * hoisted, as the build runs above.
 */
function internalModules() {
  return new Set([
  'api/all_done', 'api/arena_room', 'api/batcher', 'api/crc_combine', 'api/file_gate', 'api/on_abort', 'api/ops', 'api/pacer', 'api/pipe_handle',
  'device/allocator', 'device/arbiter', 'device/core', 'device/cpu_crc', 'device/crc32c_js', 'device/engine_states', 'device/fields', 'device/foreign',
  'device/host', 'device/paths', 'device/pattern', 'device/pool_node', 'device/spaces', 'device/spin',
  'device/timers', 'device/unrun', 'device/v8_flags', 'device/views', 'device/warm_up', 'workers/engine',
  'browser/engine', 'browser/eventfd', 'browser/foreign', 'browser/host', 'browser/pool', 'browser/timers',
  ]);
}

/** A declaration file without its /** doc comments *\/ (a declaration holds no other '/**'). */
function withoutDocComments(text) {
  return text.replace(/^[ \t]*\/\*\*[\s\S]*?\*\/[ \t]*\n/gm, '').replace(/\/\*\*[\s\S]*?\*\/ ?/g, '');
}

/**
 * The browser build: one source, with the host's modules swapped for their browser twins
 * (src/device/X.ts -> src/browser/Y.ts below) and Node's timer functions supplied
 * (src/browser/timers.ts). platform 'browser': a node:* import left anywhere fails the build.
 * Plain ES modules a page imports by URL: softdsa.js finds engine.js and core.wasm beside it.
 * Each is whole, its code in no chunk of the two (8 kB of the package, as it is twice): a
 * bundler copies engine.js as an asset (Vite inlines one under 4 KiB as a data: URL), and the
 * chunks it imported were not there (session 31: a Vite build's engines never started).
 */
async function browserBuild() {
  const esbuild = await import('esbuild');
  const swaps = new Map([
    ['src/device/host.ts', 'src/browser/host.ts'],
    ['src/device/eventfd.ts', 'src/browser/eventfd.ts'],
    ['src/device/foreign.ts', 'src/browser/foreign.ts'],
    ['src/device/pool_node.ts', 'src/browser/pool.ts'],
    ['src/device/timers.ts', 'src/browser/timers.ts'],
  ].map(([from, to]) => [join(root, from), join(root, to)]));
  const twins = {
    name: 'browser-twins',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        const to = swaps.get(join(args.resolveDir, args.path));
        return to === undefined ? undefined : { path: to };
      });
    },
  };
  const out = join(root, 'dist', 'browser');
  rmSync(out, { recursive: true, force: true });
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { softdsa: 'src/browser/index.ts', engine: 'src/browser/engine.ts' },
    outdir: 'dist/browser',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    inject: ['src/browser/timers.ts'],
    plugins: [twins],
    // minified, names too, as a page's libraries are: a page downloads it, and the package stays
    // within its size budget (kept names cost 3.5 kB of it; errors still say what they are: their
    // names and codes are set, not taken from the minified classes)
    minify: true,
    // (no lineLimit: it cut string literals over lines, and a bundler then did not find the
    // engine's new URL('./engine.js', import.meta.url))
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(root, 'build', 'core.wasm'), join(out, 'core.wasm'));
  // tsc compiled src/browser/ with the rest: its .d.ts are the types of softdsa/browser; its
  // modules are in the bundle above, and are not CommonJS.
  const types = join(root, 'dist', 'src', 'browser');
  if (existsSync(types)) for (const f of walk(types)) if (!f.endsWith('.d.ts')) rmSync(f);
}
