// softdsa's command line: `softdsa bench [options]` (bench_main.ts; options.ts for the list), and
// `softdsa crc32c FILE…` (crc32c.ts), `softdsa decode HEX` (decode.ts).
// Exit codes: 0 done, 1 a run error or failed verification, 2 bad options,
// 130 interrupted (Ctrl-C: the rows measured so far are printed first), 141 the reader of
// its output went away (`softdsa crc32c * | head -1`: quietly, as a tool SIGPIPE ends).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Output to a reader that went away ends the command quietly; another output error in one line. */
function onStdoutError(e: NodeJS.ErrnoException): never {
  if (e.code === 'EPIPE') process.exit(141);
  process.stderr.write(`softdsa: standard output: ${e.message}\n`);
  process.exit(1);
}

/**
 * `bytes`: the same arguments as the bytes the command was given (argvBytes()), for file names
 * that are not UTF-8.
 */
export async function main(argv: string[], bytes?: Buffer[]): Promise<number> {
  process.stdout.on('error', onStdoutError);
  // (each command's modules loaded for it alone: `softdsa crc32c` loaded bench's too, 20 ms of its start)
  if (argv[0] === 'crc32c') return (await import('./crc32c.ts')).crc32cMain(argv.slice(1), { bytes: bytes?.slice(1) }); // softdsa crc32c: src/cli/crc32c.ts
  if (argv[0] === 'decode') return (await import('./decode.ts')).decodeMain(argv.slice(1)); // softdsa decode: src/cli/decode.ts
  return (await import('./bench_main.ts')).benchMain(argv);
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
