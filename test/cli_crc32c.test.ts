// softdsa crc32c (issue 13): output formats (hex, --base64, --json), standard input, --check
// (OK / FAILED, exit 1), unreadable files, usage errors (exit 2, one line); run through
// bin/softdsa.js as a user runs it, from another directory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c as awsCrc } from '@aws-crypto/crc32c';
import { crc32cMain, parseCrc32cArgs } from '../src/cli/crc32c.ts';
import { shutdown } from '../src/index.ts';
import { UsageError } from '../src/cli/argv.ts';
import { Progress } from '../src/cli/progress.ts';
import { Writable } from 'node:stream';
import { parseCrc32c } from '../src/api/crc32c_digest.ts';
import { captured } from './captured.ts';

const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'softdsa-cli-crc-'));
const hex = (b: Uint8Array): string => (awsCrc(b) >>> 0).toString(16).padStart(8, '0');
const b64 = (b: Uint8Array): string => Buffer.from(hex(b), 'hex').toString('base64');

/** Through bin/softdsa.js in its own process, from another directory, as a user runs it. */
function spawned(args: string[], input?: Buffer | string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin/softdsa.js'), 'crc32c', ...args], { cwd: dir, input, encoding: 'utf8', timeout: 60000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * The same command in this process (the default device stays open between calls): stdout,
 * stderr and the exit code. Paths are given absolute and shown relative to dir (no chdir:
 * engine threads started under tsx resolve their loader from the working directory).
 */
async function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const abs = args.map((a, i) => (a.startsWith('-') || ['--chunk-size', '--in-flight'].includes(args[i - 1]) ? a : join(dir, a)));
  const rel = (t: string): string => t.split(dir + '/').join('');
  const { code, out, err } = await captured(() => crc32cMain(abs, { stdinGiven: false })); // (as from a terminal)
  return { code, out: rel(out), err: rel(err) };
}

const files: Record<string, Buffer> = {
  'vector.txt': Buffer.from('123456789'),
  'empty': Buffer.alloc(0),
  'one': Buffer.from([0x42]),
  'big.bin': randomBytes(9 * 1024 * 1024 + 13),
  'name with spaces': randomBytes(5000),
};
for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
mkdirSync(join(dir, 'sub'));
test.after(async () => {
  await shutdown();
  rmSync(dir, { recursive: true, force: true });
});

test('argument parsing: defaults, usage errors on one line', () => {
  const o = parseCrc32cArgs(['a', 'b'], false);
  assert.equal(o.files, ['a', 'b']);
  assert.is(o.base64, false);
  assert.is(o.chunkSize, undefined, "crc32cFile's own defaults");
  assert.is(o.progress, false);
  assert.is(parseCrc32cArgs(['a'], true).progress, true, 'a bar on a terminal');
  assert.is(parseCrc32cArgs(['a', '--json'], true).progress, false);
  assert.is(parseCrc32cArgs(['--chunk-size', '1m', 'a'], false).chunkSize, 1 << 20);
  for (const [argv, match] of [
    [[], /give one or more FILEs/],
    [['--check', 'S', 'f'], /give no FILE arguments/],
    [['--bogus', 'f'], /Unknown option/],
    [['--chunk-size', 'lots', 'f'], /--chunk-size/],
    [['--in-flight', '0', 'f'], /--in-flight/],
    [['--quiet', 'f'], /--quiet goes with --check/],
    [['-', '-'], /once/],
    [['--in-flight', 'nine'], /^--in-flight: "nine" must be a whole number/],
    [['--base64', '--check', 'S'], /does not go with --check/],
    [['--check'], /--check needs a file name/],
    [['-c../SUMS'], /^-c takes the list as its own argument: -c \.\.\/SUMS$/],
  ] as [string[], RegExp][]) {
    try {
      parseCrc32cArgs(argv, false);
      assert.unreachable(`no error for ${argv.join(' ')}`);
    } catch (e) {
      assert.instance(e, UsageError);
      assert.match((e as Error).message, match);
      assert.not.match((e as Error).message, /\n/);
    }
  }
  // --check is a flag with its SUMS file a positional, as sha256sum -c: the options around it in any order
  for (const argv of [['--check', '--quiet', 'S'], ['--quiet', '--check', 'S'], ['-c', 'S', '--quiet'], ['S', '--check', '--quiet']]) {
    const o = parseCrc32cArgs(argv, false);
    assert.equal([o.check, o.quiet, o.files], ['S', true, []], argv.join(' '));
  }
  assert.is(parseCrc32c('e3069283'), 0xe3069283);
  assert.is(parseCrc32c('E3069283'), 0xe3069283);
  assert.is(parseCrc32c('4waSgw=='), 0xe3069283);
  assert.is(parseCrc32c('e306928'), null);
  assert.is(parseCrc32c('nope'), null);
  for (const v of [null, Buffer.from('e3069283'), 0xe3069283]) assert.throws(() => parseCrc32c(v as unknown as string), (e: Error) => e instanceof TypeError && /^parseCrc32c: the text is a string/.test(e.message));
});

test('no FILE: standard input is read when it is not a terminal, as sha256sum reads it (`cat f | softdsa crc32c` was a usage error; an outside pass); --check with no SUMS reads the list so', () => {
  const one = spawned([], '123456789');
  assert.equal([one.code, one.out], [0, 'e3069283  -\n'], one.err);
  const b = spawned(['--base64'], '123456789');
  assert.equal([b.code, b.out], [0, '4waSgw==  -\n'], b.err);
  writeFileSync(join(dir, 'nine'), '123456789');
  const c = spawned(['--check'], 'e3069283  nine\n');
  assert.equal([c.code, c.out], [0, 'nine: OK\n'], c.err);
  // (in this process the arguments are parsed as from a terminal: no FILE is still a usage error)
  assert.throws(() => parseCrc32cArgs([], false, false), /give one or more FILEs/);
  assert.equal(parseCrc32cArgs([], false, true).files, ['-']);
});

test('names with a newline or backslash are escaped as sha256sum does, and --check reads them back', async () => {
  const odd = ['new\nline', 'back\\slash'];
  for (const n of odd) writeFileSync(join(dir, n), n);
  const r = spawned(odd);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, `\\${hex(Buffer.from(odd[0]))}  new\\nline\n\\${hex(Buffer.from(odd[1]))}  back\\\\slash\n`);
  writeFileSync(join(dir, 'ODD.SUMS'), r.out);
  const c = spawned(['--check', 'ODD.SUMS']);
  assert.is(c.code, 0, c.out + c.err);
  // (as sha256sum -c prints them, GNU 9: escaped only where the name has a newline)
  assert.is(c.out, '\\new\\nline: OK\nback\\slash: OK\n');
  // an escape sha256sum does not write (\q), or a NUL in a name: the line is not well formed (\q was read as q: another file checked)
  writeFileSync(join(dir, 'niqne'), 'x');
  writeFileSync(join(dir, 'ESC.SUMS'), `\\${hex(Buffer.from('x'))}  ni\\qne\n${hex(Buffer.from('x'))}  ni\0qne\n`);
  const e = spawned(['--check', 'ESC.SUMS']);
  assert.is(e.code, 1, e.out + e.err);
  assert.is(e.out, '');
  assert.match(e.err, /no properly formatted CRC-32C checksum lines found/);
});

test('--check: a listed name that is not UTF-8 (a Latin-1 name, as sha256sum lists it) is checked by its bytes, and printed as them', () => {
  const name = Buffer.from('caf\xe9.txt', 'latin1');
  const data = Buffer.from('hello');
  writeFileSync(Buffer.concat([Buffer.from(dir + '/'), name]), data);
  const sums = Buffer.concat([Buffer.from(`${hex(data)}  `), name, Buffer.from('\n')]);
  writeFileSync(join(dir, 'LATIN1.SUMS'), sums);
  const r = spawnSync(process.execPath, [join(root, 'bin/softdsa.js'), 'crc32c', '--check', 'LATIN1.SUMS'], { cwd: dir, timeout: 60000 });
  assert.is(r.status, 0, r.stderr.toString());
  assert.equal(r.stdout, Buffer.concat([name, Buffer.from(': OK\n')]));
});

test('a FILE argument that is not UTF-8 is found by its bytes and printed as them; after --, --check=x is a name; names in messages escaped', () => {
  const name = Buffer.from('caf\xe9.arg', 'latin1');
  const data = Buffer.from('hello');
  writeFileSync(Buffer.concat([Buffer.from(dir + '/'), name]), data);
  writeFileSync(join(dir, '--check=nine'), '9');
  // (a spawned program's arguments are UTF-8 strings: bash's printf gives the raw byte)
  const sh = (args: string): ReturnType<typeof spawnSync> => spawnSync('bash', ['-c', `"${process.execPath}" "${join(root, 'bin/softdsa.js')}" crc32c ${args}`], { cwd: dir, timeout: 60000 });
  const r = sh(`"$(printf 'caf\\xe9.arg')"`);
  assert.is(r.status, 0, String(r.stderr));
  assert.equal(r.stdout, Buffer.concat([Buffer.from(`${hex(data)}  `), name, Buffer.from('\n')]));
  // --json: shown with an escape (which a name with a backslash could spell too), and its bytes beside it
  const j = JSON.parse(String(sh(`--json "$(printf 'caf\\xe9.arg')"`).stdout)) as { files: Array<{ path: string; pathBase64?: string }> };
  assert.equal(j.files[0], { ...j.files[0], path: 'caf\\xe9.arg', pathBase64: name.toString('base64') });
  const d = sh('-- --check=nine');
  assert.is(d.status, 0, String(d.stderr));
  assert.is(String(d.stdout), `${hex(Buffer.from('9'))}  --check=nine\n`);
  const e = sh(`"$(printf 'gone\\xe9\\033[31m')"`);
  assert.is(e.status, 1);
  assert.is(String(e.stderr), 'softdsa: gone\\xe9\\x1b[31m: No such file or directory\n', 'no raw escape byte reaches the terminal');
  // a name whose bytes were lost before the process (npx passes arguments on as text: U+FFFD) is said so
  const lost = sh(`"$(printf 'caf\\xef\\xbf\\xbd.arg')"`);
  assert.is(lost.status, 1);
  assert.match(String(lost.stderr), /: No such file or directory \(the name had bytes that are not UTF-8, lost before softdsa saw them: npx re-encodes its arguments; run node_modules\/\.bin\/softdsa, or give the names with --check\)\n$/);
  // (a usage error quotes the argument as typed: it was parsed as bytes)
  const u = sh(`--chunk-size=5€ x`);
  assert.equal([u.status, String(u.stderr)], [2, 'softdsa: crc32c: --chunk-size: cannot read "5€" (examples: 4k, 64k, 1.5m, 1g)\n']);
});

test('a reader that goes away (| head -1): a quiet exit, 141, no stack trace', () => {
  const names = Array.from({ length: 2000 }, () => 'vector.txt').join(' ');
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${join(root, 'bin/softdsa.js')}" crc32c ${names} | head -1; echo "status \${PIPESTATUS[0]}"`], { cwd: dir, encoding: 'utf8', timeout: 60000 });
  assert.is(r.stdout, 'e3069283  vector.txt\nstatus 141\n');
  assert.is(r.stderr, '', 'nothing on stderr');
});

test('hex lines, base64 lines, --json, standard input', async () => {
  const names = Object.keys(files);
  const r = spawned(names);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, names.map((n) => `${hex(files[n])}  ${n}\n`).join(''));
  assert.ok(r.out.startsWith('e3069283  vector.txt\n'));
  const b = await cli(['--base64', ...names]);
  assert.is(b.code, 0, b.err);
  assert.is(b.out, names.map((n) => `${b64(files[n])}  ${n}\n`).join(''));
  assert.ok(b.out.startsWith('4waSgw==  vector.txt\n'));
  const j = await cli(['--json', 'vector.txt', 'big.bin', 'missing']);
  assert.is(j.code, 1);
  const doc = JSON.parse(j.out);
  assert.is(doc.schema, 'softdsa-crc32c/1');
  assert.equal(doc.files[0], { path: 'vector.txt', bytes: 9, crc32c: 'e3069283', base64: '4waSgw==' });
  assert.equal(doc.files[1], { path: 'big.bin', bytes: files['big.bin'].length, crc32c: hex(files['big.bin']), base64: b64(files['big.bin']) });
  assert.equal(doc.files[2], { path: 'missing', error: 'No such file or directory', code: 'ENOENT' });
  const s = spawned(['-'], files['big.bin']);
  assert.is(s.code, 0, s.err);
  assert.is(s.out, `${hex(files['big.bin'])}  -\n`);
});

test('--json to a pipe: the whole document, however long (the process had exited with its first 64 KiB written); an error about a name with a newline: one line', () => {
  const names = Array.from({ length: 3000 }, () => 'vector.txt');
  const r = spawned(['--json', ...names]);
  assert.is(r.code, 0, r.err);
  assert.ok(r.out.length > 256 * 1024, `${r.out.length} bytes`);
  const doc = JSON.parse(r.out) as { files: Array<{ crc32c: string }> };
  assert.is(doc.files.length, 3000);
  assert.ok(doc.files.every((f) => f.crc32c === 'e3069283'));
  // a reader that goes away: 141, for --json too (its one write is the last: it exited 0)
  for (const args of [['--json', ...names], ['--json', 'vector.txt'], ['vector.txt']]) {
    const g = spawnSync('bash', ['-c', `"${process.execPath}" "${join(root, 'bin/softdsa.js')}" crc32c ${args.join(' ')} | (exec 0<&-; sleep 0.3); echo "status \${PIPESTATUS[0]}"`], { cwd: dir, encoding: 'utf8', timeout: 60000 });
    assert.is(g.stdout, 'status 141\n', `${args.slice(0, 2).join(' ')}: ${g.stderr}`);
  }
  const e = spawned(['miss\ning', 'miss\\ning', 'c1\u009bx']);
  assert.is(e.code, 1);
  // (a backslash as \\: a name with one is told from a name with a newline; C1 controls escaped too)
  assert.is(e.err, 'softdsa: miss\\ning: No such file or directory\nsoftdsa: miss\\\\ning: No such file or directory\nsoftdsa: c1\\x9bx: No such file or directory\n');
});

test('unreadable paths: one line each on stderr, the others still printed, exit 1', async () => {
  const r = await cli(['missing', 'vector.txt', 'sub']);
  assert.is(r.code, 1);
  assert.is(r.out, 'e3069283  vector.txt\n');
  assert.is(r.err, 'softdsa: missing: No such file or directory\nsoftdsa: sub: Is a directory\n');
  // standard input that is a directory (it read as empty: 00000000, exit 0)
  const d = spawnSync('bash', ['-c', `"${process.execPath}" "${join(root, 'bin/softdsa.js')}" crc32c - < sub; echo "status $?"`], { cwd: dir, encoding: 'utf8', timeout: 60000 });
  assert.is(d.stdout, 'status 1\n');
  assert.is(d.stderr, 'softdsa: -: Is a directory\n');
  // a code outside the common few: the system's words too, not fs's message naming the path again
  const sock = spawnSync('python3', ['-c', "import socket; socket.socket(socket.AF_UNIX).bind('sock')"], { cwd: dir });
  if (sock.status === 0) {
    const s = await cli(['sock']);
    assert.is(s.err, 'softdsa: sock: No such device or address\n');
  }
  const u = await cli([]);
  assert.is(u.code, 2);
  assert.is(u.err.trim().split('\n').length, 1);
  // every usage error names the command, the option parser's own too
  for (const args of [[], ['--chunk', 'f'], ['--in-flight', 'x', 'f'], ['--chunk-size', '2g', 'f']]) {
    const e = await cli(args);
    assert.is(e.code, 2, args.join(' '));
    assert.match(e.err, /^softdsa: crc32c: [^\n]+\n$/, args.join(' '));
  }
  assert.match((await cli(['--bogus', 'f'])).err, /^softdsa: crc32c: Unknown option '--bogus' \(see softdsa crc32c --help\)\n$/);
  assert.is((await cli(['--bo\ngus', 'f'])).err, "softdsa: crc32c: Unknown option '--bo\\ngus' (see softdsa crc32c --help)\n", 'a newline in it: escaped, not a cut line');
});

test('--check: OK lines exit 0; a mismatch, a missing file, bad lines: FAILED, exit 1', async () => {
  const sums = Object.keys(files).map((n, i) => `${i % 2 ? b64(files[n]) : hex(files[n])}  ${join(dir, n)}`).join('\n') + '\n';
  writeFileSync(join(dir, 'SUMS'), sums);
  const ok = await cli(['--check', 'SUMS']);
  assert.is(ok.code, 0, ok.err);
  assert.is(ok.out, Object.keys(files).map((n) => `${n}: OK\n`).join(''));
  // --check=SUMS, the form the options with a value take (it was refused: "does not take an argument")
  const eq = await cli(['--quiet', `--check=${join(dir, 'SUMS')}`]);
  assert.is(eq.code, 0, eq.err);
  assert.is(eq.out, '');
  const bad = `00000000  vector.txt\n${hex(files.one)} *one\ngarbage line\n12345678  missing\n`;
  writeFileSync(join(dir, 'BAD'), `00000000  ${join(dir, 'vector.txt')}\n${hex(files.one)} *${join(dir, 'one')}\ngarbage line\n12345678  ${join(dir, 'missing')}\n`);
  const r = spawned(['-c', '-'], bad);
  assert.is(r.code, 1);
  assert.is(r.out, 'vector.txt: FAILED\none: OK\nmissing: FAILED open or read\n');
  assert.match(r.err, /missing: No such file or directory/);
  assert.match(r.err, /1 line is improperly formatted/);
  assert.match(r.err, /1 computed checksum did NOT match/);
  // white space before a sum is skipped (as sha256sum skips it); a sum with only spaces after it names no file
  const lax = spawned(['-c', '-'], `  ${hex(files.one)}  one\n\t${hex(files.one)}  one\n${hex(files.one)}  \n`);
  assert.is(lax.out, 'one: OK\none: OK\n');
  assert.match(lax.err, /1 line is improperly formatted/);
  assert.is(lax.code, 0, 'as sha256sum: a line not well formed is only said (--strict is not taken)');
  // an empty FILE name is a file that is not there (as for sha256sum): the other files are read
  const empty = spawned(['vector.txt', '', 'one']);
  assert.is(empty.code, 1);
  assert.is(empty.out, `e3069283  vector.txt\n${hex(files.one)}  one\n`);
  assert.is(empty.err, "softdsa: '': No such file or directory\n");
  // (a name a message would lose, quoted: one space; --check of an empty name: a missing file too, exit 1, not a usage error)
  assert.is(spawned(['one', ' ']).err, "softdsa: ' ': No such file or directory\n");
  const noList = spawned(['--check', '']);
  assert.equal([noList.code, noList.err], [1, "softdsa: '': No such file or directory\n"]);
  const q = await cli(['-c', 'BAD', '--quiet']);
  assert.is(q.out, 'vector.txt: FAILED\nmissing: FAILED open or read\n');
  writeFileSync(join(dir, 'NONE'), 'nothing here\n');
  const none = await cli(['--check', 'NONE']);
  assert.is(none.code, 1);
  assert.match(none.err, /no properly formatted/);
  const emptyList = spawned(['--check', '-'], '');
  assert.equal([emptyList.code, emptyList.err], [1, "softdsa: 'standard input': no properly formatted CRC-32C checksum lines found\n"], 'named as sha256sum names it');
  const gone = await cli(['--check', 'NOSUMS']);
  assert.is(gone.code, 1);
  assert.is(gone.err, 'softdsa: NOSUMS: No such file or directory\n');
});

test('--check reads standard input for a "-" line, as sha256sum -c does: the line `softdsa crc32c -` printed checks', () => {
  const data = Buffer.from('some piped data\n');
  const made = spawned(['-'], data);
  assert.is(made.out, `${hex(data)}  -\n`);
  writeFileSync(join(dir, 'STDIN-SUMS'), made.out);
  const ok = spawned(['--check', 'STDIN-SUMS'], data);
  assert.is(ok.code, 0, ok.err);
  assert.is(ok.out, '-: OK\n');
  const bad = spawned(['--check', 'STDIN-SUMS'], Buffer.from('other data'));
  assert.is(bad.code, 1);
  assert.is(bad.out, '-: FAILED\n');
  // the list itself on standard input: a "-" line has no data to read
  const both = spawned(['--check', '-'], made.out);
  assert.is(both.code, 1);
  assert.match(both.err, /standard input holds the list/);
});

test('softdsa crc32c loads only what it uses: not the benchmark\'s modules (piscina: 17 ms of a 180 ms run)', () => {
  const f = join(dir, 'loaded.bin');
  writeFileSync(f, randomBytes(1000));
  const hook = join(root, 'test/fixtures/loaded_packages.cjs');
  // (without the addon, its CRC's stand-in @node-rs/crc32 loads: the hook sees packages)
  for (const env of [{}, { SOFTDSA_NO_EVENTFD: '1' }]) {
    const r = spawnSync(process.execPath, [join(root, 'bin/softdsa.js'), 'crc32c', f], { cwd: dir, encoding: 'utf8', timeout: 60000, env: { ...process.env, ...env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${hook}` } });
    assert.is(r.status, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('loaded packages:'));
    assert.ok(lines.length > 0, r.stderr);
    if ('SOFTDSA_NO_EVENTFD' in env) assert.ok(lines.some((l) => l.includes('@node-rs/crc32')), 'the hook sees packages');
    assert.ok(!lines.some((l) => l.includes('piscina')), lines.join('\n'));
  }
});

test('the progress bar goes by the files\' sizes: a small file after a big one is not half the run (it said 50% there)', async () => {
  let drawn = '';
  const tty = Object.assign(new Writable({ write: (c: Buffer, _e, cb) => { drawn += c.toString(); cb(); } }), { isTTY: true, columns: 100 }) as unknown as NodeJS.WriteStream;
  const bar = new Progress(true, tty);
  bar.weigh([600e6, 11]);
  await new Promise((r) => setTimeout(r, 1050)); // (it draws once the run has lasted a second)
  bar.step(0, 2, 'big');
  bar.step(1, 2, 'small');
  assert.match(drawn, /\] 99% 2\/2 .*small/, JSON.stringify(drawn));
  drawn = '';
  const even = new Progress(true, tty);
  even.weigh([0, 0]); // (no sizes known: equal shares)
  await new Promise((r) => setTimeout(r, 1050));
  even.step(1, 2, 'b');
  assert.match(drawn, /\] 50% 2\/2/, JSON.stringify(drawn));
  // A narrow terminal: the line is cut to its width (it was drawn 40 wide on 30 columns, and wrapped, leaving rows behind; an outside pass)
  // A terminal with no size set says 0 columns (under script(1)): taken as unknown, 80; there was no bar at all
  drawn = '';
  const sizeless = new Progress(true, Object.assign(tty, { columns: 0 }));
  await new Promise((r) => setTimeout(r, 1050));
  sizeless.step(0, 1, 'f');
  assert.match(drawn, /\] 0% 1\/1 f/, 'a bar on a terminal of 0 columns');
  for (const columns of [30, 16, 12]) {
    drawn = '';
    const narrow = new Progress(true, Object.assign(tty, { columns }));
    await new Promise((r) => setTimeout(r, 1050));
    narrow.step(0, 1, 'a-long-file-name.bin');
    const lines = drawn.split('\r').filter((l) => l !== '').map((l) => l.replace('\x1b[K', ''));
    if (columns < 16) assert.equal(lines, [], 'no bar on a terminal too narrow for one');
    else {
      assert.ok(lines.length > 0);
      for (const l of lines) assert.ok(l.length < columns, `${JSON.stringify(l)} fits ${columns} columns`);
    }
  }
});

test.run();
