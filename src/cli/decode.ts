// `softdsa decode HEX`: a descriptor (64 bytes) or a completion record (32 bytes) given in hex,
// printed field by field (src/device/decode.ts). Same conventions as the other commands: errors
// on one line on stderr, exit 2 for usage.
import { readSync } from 'node:fs';
import { decodeDescriptor, decodedJson, decodeRecord, formatDecoded, parseOpcode } from '../device/decode.ts';
import { Desc, Record } from '../device/format.ts';
import { parseArgv, UsageError, usageLine } from './argv.ts';

export const DECODE_HELP = `softdsa decode: a DSA descriptor or completion record, field by field

Usage: softdsa decode [options] HEX...     (HEX "-" reads the hex from standard input)

HEX is the bytes in memory order, 128 hex digits for a descriptor, 64 for a record; spaces,
colons and a 0x prefix are ignored, and the offsets and text columns of xxd's and hexdump -C's
lines too, so xxd (-p or not), hexdump -C or od -An -tx1 output can be pasted as it is.

Options
      --record            HEX is a completion record (32 bytes)
      --opcode OP         the opcode of the descriptor that wrote the record (a name such
                          as memmove or crcgen, its builder's such as crc32c, or a number:
                          3, 0x10): names its fields
      --json              JSON on stdout (64-bit values beyond 2^53 as decimal strings)
  -h, --help              this help

Exit status: 0 decoded; 2 bad usage (not hex, wrong length, unknown opcode).

Examples
  softdsa decode 000000000c000003002002000000000000000200000000000010020000000000 \\
                 0010000000000000000000000000000000000000000000000000000000000000
  softdsa decode --record --opcode crcgen \\
                 01000000090000000000000000000000839206e3000000000000000000000000
  xxd -p -s 4096 -l 64 dump.bin | softdsa decode -
`;

const SPEC = {
  record: { type: 'boolean' },
  opcode: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface DecodeOptions {
  bytes: Uint8Array;
  record: boolean;
  opcode: number | undefined;
  json: boolean;
  help: boolean;
}

/** xxd's line: an offset and ':' before the hex (its text column follows two spaces). */
const XXD_LINE = /^\s*[0-9a-f]+:\s/i;
/** hexdump -C's line: an offset, two spaces, the hex, its text column between bars. */
const HEXDUMP_LINE = /^[0-9a-f]+ {2}.*\|.*\|\s*$/i;

/**
 * The hex of a dump's lines as xxd and hexdump -C print them: their offsets and text columns
 * dropped (a line of hexdump's that is only an offset, its last, too). Other text is left as it
 * is. ('*', a run of lines left out as repeats, is refused: the bytes it stands for are not there.)
 */
export function dumpHex(text: string): string {
  const lines = text.split(/\r?\n/);
  if (lines.some((l) => l.trim() === '*')) throw new UsageError('decode: a line "*" stands for repeated lines the dump left out: dump them all (xxd without -a, hexdump -C -v, od -v)');
  const xxd = lines.some((l) => XXD_LINE.test(l));
  const hexdump = !xxd && lines.some((l) => HEXDUMP_LINE.test(l));
  if (!xxd && !hexdump) return text;
  return lines
    .map((l) => (xxd ? (XXD_LINE.test(l) ? l.replace(/^\s*[0-9a-f]+:/i, '').split('  ')[0] : l) : HEXDUMP_LINE.test(l) ? l.replace(/^[0-9a-f]+/i, '').replace(/\|.*\|\s*$/, '') : /^\s*[0-9a-f]+\s*$/i.test(l) ? '' : l))
    .join('\n');
}

/** The bytes of a hex text: whitespace, colons, commas and 0x prefixes are ignored, and a dump's offsets and text columns (dumpHex). `bytes`: the text is bytes, one char each (standard input). */
export function parseHex(text: string, bytes = false): Uint8Array {
  const digits = dumpHex(text).replace(/0x/gi, '').replace(/[\s:,]/g, '');
  const bad = /[^0-9a-f]/iu.exec(digits);
  if (bad) {
    // (shown escaped unless plainly printable: a terminal acts on an ESC, a NUL or a zero-width space is not seen;
    // a byte of standard input as the byte it is, not a character it is not: 0xff)
    const c = bad[0];
    const code = c.codePointAt(0)!;
    const shown = /^[\x21-\x7e]$/.test(c) && c !== '"' ? `"${c}"` : bytes ? `byte 0x${code.toString(16).padStart(2, '0')}` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    // (control bytes, or, read from standard input, bytes from 0x7F)
    const binary = (bytes ? /[\x00-\x08\x0e-\x1f\x7f-\xff]/ : /[\x00-\x08\x0e-\x1f\x7f]/).test(digits) ? ' (the input looks binary: give its bytes as hex, e.g. xxd -p desc.bin | softdsa decode -)' : '';
    throw new UsageError(`decode: ${shown} is not a hex digit${binary}`);
  }
  if (digits.length % 2 !== 0) throw new UsageError(`decode: ${digits.length} hex digits is not a whole number of bytes`);
  return Uint8Array.from(digits.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** The most standard input "-" reads: a descriptor in any dump's form fits many times over. */
const STDIN_MAX = 64 << 10;

/**
 * Standard input, up to STDIN_MAX bytes: more is a usage error, said at once (a whole dump piped
 * in, `xxd -p dump.bin` without `-l 64`, was read to its end: 16 MB took 9 s and 700 MB).
 */
function readStdin(): string {
  const buf = Buffer.alloc(STDIN_MAX + 1);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let n = 0;
  for (;;) {
    let got: number;
    try {
      got = readSync(0, buf, n, buf.length - n, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EOF') break;
      if (code !== 'EAGAIN') throw e;
      Atomics.wait(nap, 0, 0, 1); // (a non-blocking input with nothing yet)
      continue;
    }
    if (got === 0) break;
    n += got;
    if (n > STDIN_MAX) throw new UsageError(`decode: standard input holds more than ${STDIN_MAX >> 10} KiB: give one descriptor (64 bytes, 128 hex digits) or one record (32 bytes), e.g. xxd -p -l 64 dump.bin | softdsa decode -`);
  }
  // A byte a character, so that a bad one is named as the byte it is; less a UTF-8 byte-order
  // mark, as an editor saves one (read as UTF-8, it was whitespace to the hex).
  const bom = n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  return buf.toString('latin1', bom, n);
}

/** Parses the arguments after "decode" (`stdin`: reads standard input for "-"). Throws UsageError. */
export function parseDecodeArgs(argv: string[], stdin: () => string = readStdin): DecodeOptions {
  const { values, positionals } = parseArgv(argv, SPEC, 'decode');
  const help = Boolean(values.help);
  const record = Boolean(values.record);
  const json = Boolean(values.json);
  if (help) return { bytes: new Uint8Array(0), record, opcode: undefined, json, help };
  let opcode: number | undefined;
  if (values.opcode !== undefined) {
    if (!record) throw new UsageError('decode: --opcode goes with --record (a descriptor carries its own)');
    opcode = parseOpcode(values.opcode as string);
    if (opcode === undefined) throw new UsageError(`decode: --opcode: "${String(values.opcode)}" is not an opcode (a name such as memmove, or a number from 0 to 0xff)`);
  }
  if (positionals.length === 0) throw new UsageError('decode: give the bytes in hex (or - for standard input; see softdsa decode --help)');
  const stdinAt = positionals.indexOf('-');
  if (stdinAt >= 0 && positionals.length > 1) throw new UsageError('decode: "-" reads the hex from standard input: give nothing else');
  const bytes = stdinAt >= 0 ? parseHex(stdin(), true) : parseHex(positionals.join(''));
  const want = record ? Record.SIZE : Desc.SIZE;
  if (bytes.length !== want) {
    const hint = bytes.length === (record ? Desc.SIZE : Record.SIZE) ? (record ? ' (a descriptor? drop --record)' : ' (a completion record? add --record)') : '';
    throw new UsageError(`decode: a ${record ? 'completion record' : 'descriptor'} is ${want} bytes (${want * 2} hex digits); got ${bytes.length}${hint}`);
  }
  return { bytes, record, opcode, json, help };
}

/** Runs `softdsa decode`; returns the exit code. `stdin`: what "-" reads. */
export function decodeMain(argv: string[], stdin?: () => string): number {
  let o: DecodeOptions;
  try {
    o = parseDecodeArgs(argv, stdin);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`softdsa: ${usageLine(e, 'decode')}\n`);
      return 2;
    }
    throw e;
  }
  if (o.help) {
    process.stdout.write(DECODE_HELP);
    return 0;
  }
  const decoded = o.record ? decodeRecord(o.bytes, o.opcode) : decodeDescriptor(o.bytes);
  process.stdout.write(o.json ? decodedJson(decoded) : formatDecoded(decoded));
  return 0;
}
