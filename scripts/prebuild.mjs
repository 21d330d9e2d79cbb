// npm run prebuilds: the prebuilt eventfd addons shipped in the npm package, in the
// prebuildify layout that node-gyp-build reads at run time:
//
//   native/prebuilds/linux-x64/softdsa_eventfd.napi.glibc.node    (the host's g++)
//   native/prebuilds/linux-arm64/softdsa_eventfd.napi.glibc.node  (cross: aarch64-linux-gnu-g++)
//   native/prebuilds/SOURCE.sha256              (sha256sum -c format, run from the repository root)
//
// SOURCE.sha256 records the hashes of the sources the binaries were built from
// (native/binding.gyp and its sources) and of the binaries themselves; test/package.test.ts
// fails when the sources changed and this command was not re-run. Idempotent: when the
// recorded source hashes match and both binaries are there and unchanged, nothing is
// rebuilt (`--force` rebuilds anyway; `--check` only checks). Each target is built in a
// scratch copy of native/, so the development build in native/build is never touched.
//
// (The script is `prebuilds`, not `prebuild`: npm would run a `prebuild` script before every
// `npm run build` as its pre-hook.)
//
// N-API (NAPI_VERSION 8): one binary per CPU serves every Node version from 20 on.
// Headers come from the running Node's own install (--nodedir), so no download.
// Needs: the host C++ toolchain, make, python3, and for arm64 `g++-aarch64-linux-gnu`
// (Debian/Ubuntu: apt-get install g++-aarch64-linux-gnu).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const checkOnly = process.argv.includes('--check');

const SOURCES = ['native/binding.gyp', 'native/eventfd.cc', 'native/crc32c.cc', 'native/crc32c.h'];
const FILE = 'softdsa_eventfd.napi.glibc.node';
const SUMS = 'native/prebuilds/SOURCE.sha256';
const TARGETS = [
  { arch: 'x64', dir: 'linux-x64', machine: 0x3e, cross: null },
  { arch: 'arm64', dir: 'linux-arm64', machine: 0xb7, cross: 'aarch64-linux-gnu-' },
];

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const rel = (t) => `native/prebuilds/${t.dir}/${FILE}`;

/** The lines of prebuilds/SOURCE.sha256 as { path: hash }. */
function recorded() {
  const p = join(root, SUMS);
  if (!existsSync(p)) return {};
  const out = {};
  for (const line of readFileSync(p, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line.trim());
    if (m) out[m[2]] = m[1];
  }
  return out;
}

/** Why the committed prebuilds do not match the sources, or null when they do. */
function staleness() {
  const rec = recorded();
  for (const s of SOURCES) if (rec[s] !== sha256(join(root, s))) return `${s} changed since the last npm run prebuilds`;
  for (const t of TARGETS) {
    const p = join(root, rel(t));
    if (!existsSync(p)) return `${rel(t)} is missing`;
    if (rec[rel(t)] !== sha256(p)) return `${rel(t)} does not match its recorded hash`;
  }
  return null;
}

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

/** ELF class/machine check: a 64-bit little-endian shared object for the target's CPU. */
function checkElf(path, t) {
  const b = readFileSync(path);
  const ok = b.readUInt32BE(0) === 0x7f454c46 && b[4] === 2 && b[5] === 1 && b.readUInt16LE(16) === 3 && b.readUInt16LE(18) === t.machine;
  if (!ok) throw new Error(`${path} is not a 64-bit ${t.arch} ELF shared object`);
}

/**
 * The newest symbol versions the binary needs are ones Node 20's own platforms have: libstdc++
 * 3.4.21 (GCC 5; Node 20 needs it too) and glibc 2.17. A newer toolchain slips in newer ones
 * (GCC 11's new[] check wanted 3.4.29: RHEL 8 and Ubuntu 20.04 would have had no addon).
 */
function checkVersions(path) {
  const text = readFileSync(path).toString('latin1');
  const newest = (re) => Math.max(0, ...[...text.matchAll(re)].map((m) => Number(m[1])));
  const cxx = newest(/GLIBCXX_3\.4\.(\d+)/g);
  const libc = newest(/GLIBC_2\.(\d+)/g);
  if (cxx > 21 || libc > 17) throw new Error(`${path} needs GLIBCXX_3.4.${cxx} / GLIBC_2.${libc}: at most 3.4.21 / 2.17 (see the end of native/eventfd.cc)`);
}

function build(t) {
  const nodeGyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(nodeGyp)) throw new Error('node-gyp is not installed: run npm install first');
  const cc = t.cross ? `${t.cross}gcc` : process.env.CC ?? 'cc';
  const cxx = t.cross ? `${t.cross}g++` : process.env.CXX ?? 'c++';
  const strip = t.cross ? `${t.cross}strip` : 'strip';
  if (spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`${cxx} not found` + (t.cross ? ' (Debian/Ubuntu: apt-get install g++-aarch64-linux-gnu)' : ''));
  }
  const work = mkdtempSync(join(tmpdir(), `softdsa-prebuild-${t.arch}-`));
  try {
    for (const s of ['binding.gyp', 'eventfd.cc', 'crc32c.cc', 'crc32c.h']) cpSync(join(root, 'native', s), join(work, s));
    symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'), 'dir'); // node-addon-api for binding.gyp
    const prefix = dirname(dirname(process.execPath));
    const nodedir = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
    const env = { ...process.env, CC: cc, CXX: cxx, LINK: cxx };
    delete env.npm_config_arch; // set by npm from its own config: the target is ours to say
    run(process.execPath, [nodeGyp, 'rebuild', '--release', `--arch=${t.arch}`, ...nodedir], { cwd: work, env });
    const built = join(work, 'build', 'Release', 'softdsa_eventfd.node');
    run(strip, ['--strip-unneeded', built]);
    checkElf(built, t);
    checkVersions(built);
    mkdirSync(dirname(join(root, rel(t))), { recursive: true });
    copyFileSync(built, join(root, rel(t)));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (checkOnly) {
  const why = staleness();
  if (why) {
    console.error(`softdsa: the prebuilt addons are out of date: ${why}; run npm run prebuilds`);
    process.exit(1);
  }
  console.log('softdsa: prebuilt addons match their sources');
} else if (!force && staleness() === null) {
  console.log('softdsa: prebuilt addons are up to date (npm run prebuilds -- --force rebuilds them)');
} else {
  for (const t of TARGETS) {
    console.log(`softdsa: building ${rel(t)}`);
    build(t);
  }
  const lines = [...SOURCES, ...TARGETS.map(rel)].map((p) => `${sha256(join(root, p))}  ${p}`);
  writeFileSync(join(root, SUMS), lines.join('\n') + '\n');
  console.log(`softdsa: wrote native/prebuilds/ and ${SUMS}`);
}
