// softdsa's command line: `softdsa bench [options]` (see options.ts for the list), and
// `softdsa crc32c FILE…` (crc32c.ts), `softdsa decode HEX` (decode.ts).
// Exit codes: 0 done, 1 a run error or failed verification, 2 bad options,
// 130 interrupted (Ctrl-C: the rows measured so far are printed first), 141 the reader of
// its output went away (`softdsa crc32c * | head -1`: quietly, as a tool SIGPIPE ends).
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { page } from './html.ts';
import { lastLevelCache, packageInfo } from './machine.ts';
import { HELP, parse, UsageError, usageLine, type Parsed } from './options.ts';
import { crc32cMain } from './crc32c.ts';
import { decodeMain } from './decode.ts';
import { Progress } from './progress.ts';
import { csv, json, table } from './report.ts';
import { plan, runBench, type BenchResult } from './run.ts';


/** Output to a reader that went away ends the command quietly; another output error in one line. */
function onStdoutError(e: NodeJS.ErrnoException): never {
  if (e.code === 'EPIPE') process.exit(141);
  process.stderr.write(`softdsa: standard output: ${e.message}\n`);
  process.exit(1);
}

/**
 * Refuses, before the run, an --html FILE that cannot be written: a missing directory, a
 * directory, a file or directory without write permission (it was found only after the whole run,
 * as a stack trace).
 */
function checkWritable(html: string): void {
  const path = resolve(html);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--html: directory ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--html: ${html} is a directory`);
  try {
    accessSync(existsSync(path) ? path : dir, constants.W_OK);
  } catch {
    throw new UsageError(`--html: ${html} cannot be written (permission denied)`);
  }
}

/**
 * `bytes`: the same arguments as the bytes the command was given (argvBytes()), for file names
 * that are not UTF-8.
 */
export async function main(argv: string[], bytes?: Buffer[]): Promise<number> {
  process.stdout.on('error', onStdoutError);
  if (argv[0] === 'crc32c') return crc32cMain(argv.slice(1), { bytes: bytes?.slice(1) }); // softdsa crc32c: src/cli/crc32c.ts
  if (argv[0] === 'decode') return decodeMain(argv.slice(1)); // softdsa decode: src/cli/decode.ts
  let parsed: Parsed;
  try {
    parsed = parse(argv, { cores: availableParallelism(), llc: lastLevelCache(), isTTY: process.stdout.isTTY === true && process.stderr.isTTY === true });
    if (parsed.options) {
      plan(parsed.options); // arena size: refuse before opening anything
      const html = parsed.options.html;
      if (html !== undefined) checkWritable(html);
    }
  } catch (e) {
    // (returned, not process.exit(2): main() is exported, and its caller's program goes on)
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`softdsa: ${usageLine(e, argv[0] === 'bench' ? 'bench' : undefined)}\n`);
    return 2;
  }
  if (parsed.command === 'help') {
    // (softdsa --help, with no command: what the commands are, then bench's own, the default command)
    if (argv[0] !== 'bench') process.stdout.write('softdsa: a software Intel DSA for Node.js. Commands: bench (the default), crc32c, decode; each takes --help.\n\n');
    process.stdout.write(HELP);
    return 0;
  }
  if (parsed.command === 'version') {
    process.stdout.write(`softdsa ${packageInfo().version}\n`);
    return 0;
  }
  const o = parsed.options!;
  const progress = new Progress(o.progress);
  const ctl = { aborted: false, progress: (f: number) => progress.update(f) };
  let first = 0;
  const onSigint = (): void => {
    const now = performance.now();
    if (first === 0) {
      first = now;
      ctl.aborted = true;
      progress.clear();
      process.stderr.write('softdsa: interrupted: stopping (Ctrl-C again to quit at once)\n');
    } else if (now - first > 500) {
      // A second Ctrl-C (not the same one passed on by the launcher).
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  let res: BenchResult;
  try {
    res = await runBench(o, argv, { ctl, onMeasure: (i, n, label) => progress.step(i, n, label) });
  } catch (e) {
    progress.clear();
    process.stderr.write(`softdsa: the run failed: ${(e as Error).message}\n`);
    return 1;
  } finally {
    progress.clear();
    process.off('SIGINT', onSigint);
  }
  if (o.json) process.stdout.write(json(res));
  else if (o.csv) process.stdout.write(csv(res));
  else if (!o.quiet) process.stdout.write(table(res, process.stdout.isTTY === true));
  if (o.html !== undefined) {
    try {
      writeFileSync(o.html, page(res));
      if (!o.json && !o.csv) process.stderr.write(`softdsa: wrote ${o.html}\n`);
    } catch (e) {
      process.stderr.write(`softdsa: --html: cannot write ${o.html}: ${(e as Error).message.split('\n')[0]}\n`);
      return 1;
    }
  }
  const failed = res.rows.filter((r) => r.errors > 0);
  if (failed.length > 0) process.stderr.write(`softdsa: ${failed.length} measurement(s) had failed operations\n`);
  if (res.interrupted) return 130;
  return failed.length > 0 ? 1 : 0;
}

/**
 * This process's arguments (process.argv.slice(2)) as bytes, from /proc/self/cmdline (Linux):
 * Node decodes them as UTF-8, and a name that is not UTF-8 (`caf\xe9`) cannot be found from its
 * decoded form. Undefined where they cannot be read, or do not decode to process.argv.
 */
function argvBytes(): Buffer[] | undefined {
  let all: Buffer;
  try {
    all = readFileSync('/proc/self/cmdline');
  } catch {
    return undefined;
  }
  const parts: Buffer[] = [];
  for (let at = 0; at < all.length; ) {
    const end = all.indexOf(0, at);
    parts.push(all.subarray(at, end < 0 ? all.length : end));
    at = end < 0 ? all.length : end + 1;
  }
  const args = process.argv.slice(2);
  const mine = parts.slice(parts.length - args.length);
  return mine.length === args.length && mine.every((b, i) => b.toString('utf8') === args[i]) ? mine : undefined;
}

// Run when executed directly (node src/cli/main.ts, or through bin/softdsa.js).
const self = process.argv[1] ? resolve(process.argv[1]) : '';
if (self.endsWith('/cli/main.ts') || self.endsWith('/cli/main.js') || (globalThis as { __softdsaBin?: boolean }).__softdsaBin) {
  const code = await main(process.argv.slice(2), argvBytes());
  process.exitCode = code;
  // Nothing of the run holds the process (device closed, pool destroyed); exit now anyway, so
  // that a stray handle cannot keep a finished benchmark alive, once what was written to
  // stdout and stderr is out (--json to a pipe lost all but its first 64 KiB).
  // (a reader that went away is exit 141 here too: the last write can be the one that fails)
  let streams = 2;
  const out = (): void => {
    if (--streams > 0) return;
    // (a turn later: a write's error, EPIPE, is emitted after its callback)
    setImmediate(() => {
      const failed = process.stdout.errored as NodeJS.ErrnoException | null;
      if (failed !== null) onStdoutError(failed);
      process.exit(code);
    });
  };
  process.stdout.write('', out);
  process.stderr.write('', out);
}
