// npm install / npm run build: the Wasm core (asc), the eventfd addon (node-gyp) and the
// compiled JavaScript (tsc). The addon is optional: where it does not build, softdsa runs
// on its Atomics completion path, so a failure there is a warning, not an error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status === 0;
const only = process.argv[2]; // optional: 'wasm' | 'addon' | 'ts'

mkdirSync(join(root, 'build'), { recursive: true });

if (!only || only === 'addon') {
  // configure + build, not rebuild: a rebuild would wipe build/ and the core with it.
  const gyp = process.env.npm_config_node_gyp
    ? [process.execPath, [process.env.npm_config_node_gyp]]
    : [bin('node-gyp'), []];
  // Build against the running Node's own headers when npm has not said where they are
  // (run outside npm): no download, which a closed network would refuse.
  const prefix = dirname(dirname(process.execPath));
  const nodedir = !process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
  const step = (verb) => run(gyp[0], [...gyp[1], verb, ...nodedir]);
  if (!existsSync(gyp[0]) || !step('configure') || !step('build')) {
    console.warn('softdsa: the eventfd addon did not build; completions will use the Atomics path');
  }
}

if (!only || only === 'wasm') {
  if (existsSync(bin('asc'))) {
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

if ((!only || only === 'ts') && existsSync(bin('tsc'))) {
  if (!run(bin('tsc'), ['-p', 'tsconfig.json'])) { console.error('softdsa: tsc failed'); process.exit(1); }
}
