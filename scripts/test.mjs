// npm test: every test/*.test.ts file in its own Node process (worker threads inherit
// the tsx loader through execArgv), with a time limit each, then one summary line
// that CI reads: "N passed, N failed".
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2] ?? '';
const files = readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.ts') && f.includes(filter)).sort();
const LIMIT_MS = Number(process.env.SOFTDSA_TEST_TIMEOUT_MS ?? 240000);

let passed = 0;
let failed = 0;
for (const file of files) {
  const started = Date.now();
  const { code, out } = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test', file)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    const timer = setTimeout(() => { out += `\n${file}: timed out after ${LIMIT_MS} ms\n`; child.kill('SIGKILL'); }, LIMIT_MS);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
  // uvu prints "Total: N", "Passed: N" (with colour codes); strip them.
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const bad = Math.max(total - ok, code === 0 ? 0 : 1);
  passed += ok;
  failed += bad;
  console.log(`# ${file}: ${ok} passed, ${bad} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
