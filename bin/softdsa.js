#!/usr/bin/env node
// softdsa's command line launcher. Runs the compiled CLI (dist/src/cli/main.js) when it
// is there and up to date; in a development checkout (sources newer, or not built) it
// runs the TypeScript sources in a child Node with `--import tsx`, which the engine
// worker threads inherit (a loader registered from here would not reach them).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'src', 'cli', 'main.js');
const source = join(root, 'src', 'cli', 'main.ts');

/** Newest modification time of the .ts files in the given folders. */
function newestSource() {
  let t = 0;
  for (const dir of ['src', 'src/cli', 'workers']) {
    const d = join(root, dir);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (f.endsWith('.ts')) t = Math.max(t, statSync(join(d, f)).mtimeMs);
  }
  return t;
}

const useCompiled = existsSync(compiled) && (!existsSync(source) || statSync(compiled).mtimeMs >= newestSource());
if (useCompiled) {
  globalThis.__softdsaBin = true;
  await import(pathToFileURL(compiled).href);
} else if (!existsSync(source)) {
  process.stderr.write('softdsa: the CLI is not built (dist/src/cli/main.js is missing): run npm run build\n');
  process.exit(1);
} else {
  // tsx as this package resolves it, so that the command works from any directory.
  let tsx = 'tsx';
  try {
    tsx = import.meta.resolve('tsx');
  } catch {}
  const child = spawn(process.execPath, ['--import', tsx, source, ...process.argv.slice(2)], { stdio: 'inherit', cwd: process.cwd() });
  // Ctrl-C on a terminal reaches the child too (same process group); a signal sent to
  // this process alone is passed on. The CLI treats two SIGINTs close together as one.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('error', (e) => {
    process.stderr.write(`softdsa: cannot start Node with tsx: ${e.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
}
