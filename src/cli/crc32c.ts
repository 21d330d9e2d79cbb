// `softdsa crc32c FILE… | -`: the CRC-32C of files (issue 13), one line per file, or
// `--check SUMS` to verify a list, like sha256sum -c. Same conventions as `softdsa bench`:
// errors on one line on stderr, exit 2 for usage, 1 when a file failed or did not match.
import { fstatSync, readFileSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { getSystemErrorMap } from 'node:util';
// The library through its entry: the one copy a process loads (the package's CLI bundle carries none).
import { crc32cBase64, crc32cFileInfo, crc32cHex, createCrc32cStream, parseCrc32c, shutdown } from '../index.ts';
import { DEFAULT_CHUNK, DEFAULT_IN_FLIGHT, MAPPED_CHUNK } from '../api/file_chunks.ts';
import { oneLine, parseArgv, parseBytes, UsageError, usageText } from './argv.ts';
import { Progress } from './progress.ts';

export const CRC32C_HELP = `softdsa crc32c: the CRC-32C (Castagnoli) of files, on the software DSA's engines

Usage: softdsa crc32c [options] FILE...     (FILE "-" reads standard input)
       softdsa crc32c --check SUMS          (SUMS "-" reads the list from standard input)
With no FILE (or no SUMS), standard input is read when it is not a terminal, as sha256sum does.

Prints one line per file, "<crc>  <path>" (the form sha256sum prints): the CRC as 8 hex
digits (e3069283 for "123456789"), or with --base64 as base64 of its 4 big-endian bytes,
the form of GCS's "x-goog-hash: crc32c=..." and S3's "x-amz-checksum-crc32c" (4waSgw==).

Options
      --base64            print the CRC in base64 (GCS/S3 header form)
      --json              JSON on stdout (schema "softdsa-crc32c/1"): path, bytes, crc32c
                          (hex), base64, and with --check: expected, ok; error when unreadable;
                          pathBase64 (its bytes) for a name that is not UTF-8
  -c, --check SUMS        verify the files listed in SUMS (lines "<crc>  <path>", crc in hex
                          or base64): prints "path: OK" or "path: FAILED"
      --quiet             with --check: print only the failures
      --chunk-size SIZE   bytes per read, each checksummed on an engine as it lands [${DEFAULT_CHUNK >> 20}m]
                          (a file mapped into the device: bytes per descriptor [${MAPPED_CHUNK >> 20}m])
      --in-flight N       reads in flight (each an arena buffer of --chunk-size)   [${DEFAULT_IN_FLIGHT}]
      --no-progress       no progress bar (it shows on a terminal, for files that take > 1 s)
  -h, --help              this help

Exit status: 0 all files read (and, with --check, matched); 1 a file could not be read or
did not match; 2 bad usage.

Examples
  softdsa crc32c big.iso
  softdsa crc32c --base64 part-*.parquet
  tar c dir | softdsa crc32c -
  softdsa crc32c *.log > SUMS && softdsa crc32c --check SUMS
`;

const SPEC = {
  base64: { type: 'boolean' },
  json: { type: 'boolean' },
  // (a flag, its SUMS file a positional, as sha256sum -c: `--check --quiet SUMS` parses too)
  check: { type: 'boolean', short: 'c' },
  quiet: { type: 'boolean' },
  'chunk-size': { type: 'string' },
  'in-flight': { type: 'string' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface Crc32cOptions {
  files: string[];
  base64: boolean;
  json: boolean;
  check: string | undefined;
  quiet: boolean;
  /** undefined: crc32cFile's defaults */
  chunkSize: number | undefined;
  inFlight: number;
  progress: boolean;
  help: boolean;
}

/**
 * Parses the arguments after "crc32c". Throws UsageError. `stdinGiven`: standard input is not a
 * terminal (a pipe, a file): with no FILE (or no SUMS after --check) it is read, as sha256sum
 * reads it; from a terminal, no FILE is a usage error.
 */
export function parseCrc32cArgs(argv: string[], isTTY: boolean, stdinGiven = false): Crc32cOptions {
  // --check is a flag whose SUMS is the first positional (as sha256sum -c): --check=SUMS, the
  // form the options with a value take, is read as --check SUMS (not after "--": a name there).
  const end = argv.indexOf('--');
  argv = argv.flatMap((a, i) => (a.startsWith('--check=') && (end < 0 || i < end) ? ['--check', a.slice('--check='.length)] : [a]));
  // (-cSUMS read as flags, "Unknown option '-.'" for -c../SUMS, said nothing of what to do: as for
  // sha256sum, -c is a flag and the list its own argument)
  const glued = argv.findIndex((a, i) => /^-c[^-]/.test(a) && (end < 0 || i < end));
  if (glued >= 0) throw new UsageError(`-c takes the list as its own argument: -c ${argv[glued].slice(2)}`);
  const { values, positionals } = parseArgv(argv, SPEC, 'crc32c');
  // (the options' values first: `--in-flight nine` took "nine" for its value, and was told to give a FILE)
  const chunkSize = values['chunk-size'] === undefined ? undefined : parseBytes(values['chunk-size'] as string, '--chunk-size');
  if (chunkSize !== undefined && chunkSize > 1 << 30) throw new UsageError('--chunk-size: at most 1g');
  const flightText = values['in-flight'] as string | undefined;
  const inFlight = flightText === undefined ? DEFAULT_IN_FLIGHT : /^\d+$/.test(flightText.trim()) ? Number(flightText.trim()) : NaN;
  if (!Number.isInteger(inFlight) || inFlight < 1 || inFlight > 64) throw new UsageError(`--in-flight: "${flightText}" must be a whole number from 1 to 64`);
  const help = Boolean(values.help);
  const checking = values.check === true;
  if (stdinGiven && positionals.length === 0) positionals.push('-');
  const check = checking ? positionals[0] : undefined;
  if (!help) {
    if (checking && positionals.length > 1) throw new UsageError(`crc32c: --check reads the files to verify from ${shown(pathOf(positionals[0]))}: give no FILE arguments (got "${shown(pathOf(positionals[1]))}")`);
    if (!checking && positionals.length === 0) throw new UsageError('crc32c: give one or more FILEs (or - for standard input, which is read when no FILE is given and it is not a terminal), or --check SUMS (see softdsa crc32c --help)');
    if (checking && check === undefined) throw new UsageError('crc32c: --check needs a file name (or - for standard input)');
    if (values.quiet && check === undefined) throw new UsageError('crc32c: --quiet goes with --check');
    if (values.base64 && check !== undefined) throw new UsageError('crc32c: --base64 does not go with --check (the list may hold either form)');
    if (positionals.filter((p) => p === '-').length > 1) throw new UsageError('crc32c: standard input (-) can be read once');
  }
  const json = Boolean(values.json);
  return {
    files: checking ? [] : positionals,
    base64: Boolean(values.base64),
    json,
    check,
    quiet: Boolean(values.quiet),
    chunkSize,
    inFlight,
    progress: !values['no-progress'] && !json && isTTY,
    help,
  };
}

/** One line for an error: the system's words for the common codes, libuv's for the other system errors (not fs's message, which names the path again). */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EPERM: 'Operation not permitted',
    EISDIR: 'Is a directory',
    ENOTDIR: 'Not a directory',
    ELOOP: 'Too many levels of symbolic links',
    EIO: 'Input/output error',
  };
  const system = typeof err?.syscall === 'string' && typeof err.errno === 'number' ? getSystemErrorMap().get(err.errno)?.[1] : undefined;
  const text = (err?.code !== undefined && words[err.code]) || (system !== undefined ? system[0].toUpperCase() + system.slice(1) : String(err?.message ?? e));
  return text.split('\n')[0];
}

/**
 * A name as it goes on a line, as sha256sum writes it: one with a backslash, newline or carriage
 * return is escaped (\\ \n \r) and its line starts with a backslash. `mark`: that backslash, or ''.
 * `checked`: a --check result line, where sha256sum -c escapes only a name with a newline (GNU 9).
 */
function escapeName(path: string, checked = false): { mark: string; name: string } {
  if (!(checked ? /\n/ : /[\\\n\r]/).test(path)) return { mark: '', name: path };
  return { mark: '\\', name: path.replace(/[\\\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\r')) };
}

/** An escaped name back, or null where it holds an escape sha256sum does not write (\\q, a lone \\ at the end): the line is not well formed. */
function unescapeName(name: string): string | null {
  if (/\\(?![\\nr])/.test(name.replace(/\\\\/g, ''))) return null;
  return name.replace(/\\([\\nr])/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

/**
 * A name from its bytes (`raw`: one char a byte; a listed name, or an argument): the string when
 * the bytes are UTF-8, else the bytes themselves (a Latin-1 name, say, as sha256sum lists it),
 * which the file calls take as they are.
 */
function pathOf(raw: string): string | Buffer {
  const bytes = Buffer.from(raw, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.byteLength(text) === bytes.length && Buffer.from(text).equals(bytes) ? text : bytes;
}

/** Text built from arguments read as bytes (one char a byte), decoded as UTF-8 where it is. */
const textOf = (raw: string): string => (/[^\x00-\xff]/.test(raw) ? raw : String(pathOf(raw)));

/** A regular file's size, for the progress bar's shares (0: not a regular file, or not there). */
function sizeOf(path: string | Buffer): number {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st?.isFile() === true ? st.size : 0;
  } catch {
    return 0; // (its read says why)
  }
}

/**
 * A name in a message or the progress bar, on one line and harmless to a terminal: control
 * characters and bytes that are not UTF-8 as escapes (\n, \x1b, \xe9), and so a backslash as
 * \\ (a name "a\nb" is told from one with a newline).
 */
function shown(path: string | Buffer): string {
  const text = typeof path === 'string' ? path.replace(/\\/g, '\\\\') : [...path].map((b) => (b === 0x5c ? '\\\\' : b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
  return oneLine(text);
}

/** A name in an error message: shown(), and quoted where it is empty or begins or ends with white space, which a message would lose ('', ' '). */
function named(path: string | Buffer): string {
  const text = shown(path);
  return text === '' || /^\s|\s$/.test(text) ? `'${text}'` : text;
}

/** A name on an output line (`checked`: a --check result's), escaped as sha256sum does; with the encoding its line is written in (a name of bytes as they are). */
function nameOut(path: string | Buffer, checked = false): { mark: string; name: string; encoding: BufferEncoding } {
  return { ...escapeName(typeof path === 'string' ? path : path.toString('latin1'), checked), encoding: typeof path === 'string' ? 'utf8' : 'latin1' };
}

interface Result {
  path: string | Buffer;
  bytes?: number;
  crc?: number;
  error?: string;
  code?: string;
  expected?: string;
  ok?: boolean;
}

function readStdin(): Promise<{ crc: number; bytes: number }> {
  // (process.stdin on a directory just ends, empty: `softdsa crc32c - < dir` printed 00000000)
  if (fstatSync(0).isDirectory()) {
    const e = new Error('standard input is a directory') as NodeJS.ErrnoException;
    e.code = 'EISDIR';
    return Promise.reject(e);
  }
  const s = createCrc32cStream({ passThrough: false });
  return pipeline(process.stdin, s).then(() => ({ crc: s.digest(), bytes: s.bytes }));
}

/**
 * Runs `softdsa crc32c`; resolves to the exit code. shutdown: close the default device at the end;
 * stdinGiven: whether standard input is read when no FILE is given (by default, when it is not a terminal).
 */
export async function crc32cMain(argv: string[], opts: { shutdown?: boolean; bytes?: Buffer[]; stdinGiven?: boolean } = {}): Promise<number> {
  // (one line each, whatever a name or a bad option holds: names in it are shown() already)
  const say = (line: string): void => {
    process.stderr.write(`softdsa: ${oneLine(line)}\n`);
  };
  let o: Crc32cOptions;
  try {
    // The arguments as their bytes, one char a byte (pathOf): `bytes`, as the command was given
    // them, finds a name that is not UTF-8 (argv holds it decoded, U+FFFD for each such byte).
    const raw = (opts.bytes ?? argv.map((a) => Buffer.from(a))).map((b) => b.toString('latin1'));
    o = parseCrc32cArgs(raw, process.stderr.isTTY === true, opts.stdinGiven ?? process.stdin.isTTY !== true);
  } catch (e) {
    if (e instanceof UsageError) {
      // (the arguments were parsed as bytes, one char each: the message's text as it was typed)
      say(textOf(usageText(e, 'crc32c')));
      return 2;
    }
    throw e;
  }
  if (o.help) {
    process.stdout.write(CRC32C_HELP);
    return 0;
  }

  // The files, and with --check what each should be.
  let list: { path: string | Buffer; expected?: { text: string; crc: number } }[];
  let bad = 0;
  if (o.check !== undefined) {
    let text: string;
    try {
      // one char a byte: a listed name need not be UTF-8 (pathOf)
      text = (o.check === '-' ? readFileSync(0) : readFileSync(pathOf(o.check))).toString('latin1');
    } catch (e) {
      say(`${named(pathOf(o.check))}: ${reason(e)}`);
      return 1;
    }
    list = [];
    for (const raw of text.split('\n')) {
      // (white space before a line's checksum is skipped, as sha256sum skips it)
      let line = raw.replace(/\r$/, '').replace(/^[ \t]+/, '');
      if (line === '' || line.startsWith('#')) continue;
      const escaped = line.startsWith('\\');
      if (escaped) line = line.slice(1);
      // "sum  name" or "sum *name" as sha256sum writes them; else a sum, white space and a name
      // that starts with none (a line with a sum and only spaces after it names no file)
      const m = /^(\S+) [ *](.+)$/.exec(line) ?? /^(\S+)\s+(\S.*)$/.exec(line);
      const crc = m ? parseCrc32c(m[1]) : null;
      const name = m === null ? null : escaped ? unescapeName(m[2]) : m[2];
      // (a NUL cannot be in a path: as sha256sum, such a line is not well formed)
      if (m === null || crc === null || name === null || name.includes('\0')) {
        bad++;
        continue;
      }
      list.push({ path: pathOf(name), expected: { text: m[1], crc } });
    }
    if (list.length === 0) {
      say(`${o.check === '-' ? "'standard input'" : named(pathOf(o.check))}: no properly formatted CRC-32C checksum lines found`); // (as sha256sum names it)
      return 1;
    }
  } else {
    list = o.files.map((raw) => ({ path: pathOf(raw) }));
  }

  const progress = new Progress(o.progress);
  if (o.progress) progress.weigh(list.map(({ path }) => (path === '-' || path.length === 0 ? 0 : sizeOf(path))));
  const results: Result[] = [];
  let failedRead = 0;
  let mismatched = 0;
  const print = (line: string, encoding: BufferEncoding = 'utf8'): void => {
    progress.clear();
    process.stdout.write(Buffer.from(line + '\n', encoding));
  };
  try {
    for (let i = 0; i < list.length; i++) {
      const { path, expected } = list[i];
      progress.step(i, list.length, shown(path));
      const r: Result = { path };
      try {
        // ('-' in a list is standard input too, as for sha256sum -c: the line `softdsa crc32c -` printed)
        if (path === '-' && o.check === '-') throw new Error('standard input holds the list of checksums, not the data');
        // (an empty name is a file that is not there, as for sha256sum: the others are still read)
        if (path.length === 0) throw Object.assign(new Error('an empty FILE name'), { code: 'ENOENT' });
        const got = path === '-'
          ? await readStdin()
          : await crc32cFileInfo(path, { chunkSize: o.chunkSize, inFlight: o.inFlight, onProgress: (done, total) => (total > 0 ? progress.update(done / total) : progress.update(0, `${Math.round(done / 1e6)} MB read`)) });
        r.crc = got.crc;
        r.bytes = got.bytes;
      } catch (e) {
        r.error = reason(e);
        r.code = (e as NodeJS.ErrnoException)?.code;
        // (a name given as an argument that held bytes not UTF-8 reaches here as U+FFFD where the
        // bytes were lost before this process: npx passes arguments on as text)
        if (r.code === 'ENOENT' && typeof path === 'string' && path.includes('\uFFFD') && expected === undefined) {
          r.error += ' (the name had bytes that are not UTF-8, lost before softdsa saw them: npx re-encodes its arguments; run node_modules/.bin/softdsa, or give the names with --check)';
        }
        failedRead++;
        progress.clear();
        say(`${named(path)}: ${r.error}`);
      }
      if (expected !== undefined) {
        r.expected = expected.text;
        r.ok = r.crc !== undefined && r.crc === expected.crc;
        if (r.crc !== undefined && !r.ok) mismatched++;
        const { mark, name, encoding } = nameOut(path, true);
        if (!o.json && !(o.quiet && r.ok)) print(`${mark}${name}: ${r.ok ? 'OK' : r.crc === undefined ? 'FAILED open or read' : 'FAILED'}`, encoding);
      } else if (!o.json && r.crc !== undefined) {
        const { mark, name, encoding } = nameOut(path);
        print(`${mark}${o.base64 ? crc32cBase64(r.crc) : crc32cHex(r.crc)}  ${name}`, encoding);
      }
      results.push(r);
    }
  } finally {
    progress.clear();
    // (the command's process exits next: main.ts; closing the device would only add its close time)
    if (opts.shutdown) await shutdown();
  }
  if (o.json) {
    const files = results.map((r) => ({
      // (a name that is not UTF-8: shown with \xNN escapes, which another name could spell too; its bytes beside it)
      path: typeof r.path === 'string' ? r.path : shown(r.path),
      ...(typeof r.path === 'string' ? {} : { pathBase64: r.path.toString('base64') }),
      ...(r.crc !== undefined ? { bytes: r.bytes, crc32c: crc32cHex(r.crc), base64: crc32cBase64(r.crc) } : { error: r.error, code: r.code }),
      ...(r.expected !== undefined ? { expected: r.expected, ok: r.ok } : {}),
    }));
    process.stdout.write(JSON.stringify({ schema: 'softdsa-crc32c/1', files }, null, 2) + '\n');
  }
  if (bad > 0) say(`WARNING: ${bad} line${bad === 1 ? ' is' : 's are'} improperly formatted`);
  if (o.check !== undefined && failedRead > 0) say(`WARNING: ${failedRead} listed file${failedRead === 1 ? '' : 's'} could not be read`);
  if (mismatched > 0) say(`WARNING: ${mismatched} computed checksum${mismatched === 1 ? '' : 's'} did NOT match`);
  return failedRead > 0 || mismatched > 0 ? 1 : 0;
}
