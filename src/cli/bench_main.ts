// `softdsa bench`: parses its options, runs it (run.ts), prints its report. Loaded by main.ts
// for this command only: `softdsa crc32c` and `softdsa decode` load none of it.
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { page } from './html.ts';
import { lastLevelCache, packageInfo } from './machine.ts';
import { UsageError, usageLine } from './argv.ts';
import { HELP, parse, type Parsed } from './options.ts';
import { Progress } from './progress.ts';
import { csv, json, table } from './report.ts';
import { plan, runBench, type BenchResult } from './run.ts';

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

/** softdsa bench (also with no command: its help, --version): the exit code. */
export async function benchMain(argv: string[]): Promise<number> {
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
    // (softdsa --help, with no command: what the commands are, then bench's own)
    if (argv[0] !== 'bench') process.stdout.write('softdsa: a software Intel DSA for Node.js. Commands: bench, crc32c, decode; each takes --help. Below, the options of bench.\n\n');
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
