// npm pack / npm publish hooks: the package.json inside the tarball carries no lifecycle
// script a consumer's npm would run or flag.
//
// `prepare` builds everything on the repository's own `npm install` / `npm ci`. npm does not
// run a dependency's `prepare` when it installs a tarball or a registry package, but npm ≥ 11
// lists it among the "install scripts not yet covered by allowScripts" all the same, so the
// packed manifest drops it (as pinst does for husky's postinstall). Because `prepare` is gone
// by the time npm's pack step would run it, `prepack` does its work first: check that the
// committed prebuilds match their sources, then build (Wasm core, addon, dist/).
//
//   prepack   restore a manifest left over by an interrupted pack; check the prebuilds; build;
//             save package.json to build/package.json.prepack and write the packed one.
//   postpack  restore package.json, except during `npm publish`, which re-reads package.json
//             after packing to send it to the registry: there `postpublish` restores it.
//   postpublish  restore package.json. npm runs it from the re-read (packed) manifest, so the
//             packed manifest keeps this one script; a consumer's npm never runs or flags it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkgPath = join(root, 'package.json');
const saved = join(root, 'build', 'package.json.prepack');
/** Lifecycle scripts left out of the packed manifest. */
const DROP = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare', 'prepack', 'postpack'];

function restore() {
  if (!existsSync(saved)) return;
  copyFileSync(saved, pkgPath);
  rmSync(saved);
}

function node(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 2, 2] }); // stdout: npm pack --json
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const step = process.argv[2];
if (step === 'prepack') {
  restore();
  node([join(root, 'scripts', 'prebuild.mjs'), '--check']);
  node([join(root, 'scripts', 'build.mjs')]);
  const text = readFileSync(pkgPath, 'utf8');
  const pkg = JSON.parse(text);
  for (const s of DROP) delete pkg.scripts?.[s];
  mkdirSync(dirname(saved), { recursive: true });
  writeFileSync(saved, text);
  writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n');
} else if (step === 'postpack') {
  if (process.env.npm_command !== 'publish') restore();
} else if (step === 'postpublish') {
  restore();
} else {
  console.error('usage: node scripts/pack-manifest.mjs prepack|postpack|postpublish');
  process.exit(2);
}
