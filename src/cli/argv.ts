// The command line's own arguments: util.parseArgs with its errors as one-line UsageErrors, byte
// sizes, and text made safe for one terminal line. Shared by the commands (bench's options.ts,
// crc32c.ts, decode.ts); a module of its own, so that `softdsa crc32c` loads none of bench's.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

const escaped = (c: string): string => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/**
 * Text on one line, harmless to a terminal: control characters (C0, DEL) as escapes (\n, \x1b);
 * `c1`: those of C1 too (\x9b), for text that is decoded (not bytes one char each, where 0x80-0x9f
 * are parts of UTF-8 characters).
 */
export const oneLine = (text: string, c1 = true): string => text.replace(c1 ? /[\x00-\x1f\x7f-\x9f]/g : /[\x00-\x1f\x7f]/g, escaped);

/** A usage error's message, naming the subcommand (`command`) once: "crc32c: --in-flight: ...". */
export const usageText = (e: UsageError, command?: string): string => (command === undefined || e.message.startsWith(`${command}: `) ? e.message : `${command}: ${e.message}`);

/** A usage error as the line it is printed on. */
export const usageLine = (e: UsageError, command?: string): string => oneLine(usageText(e, command));

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1 << 20, mb: 1 << 20, mib: 1 << 20, g: 1 << 30, gb: 1 << 30, gib: 1 << 30 };

/** "4k" → 4096, "1.5m" → 1572864, "64" → 64. Binary units (k = 1024). */
export function parseBytes(text: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`${what}: cannot read "${text}" (examples: 4k, 64k, 1.5m, 1g)`);
  const v = Number(m[1]) * unit;
  if (!Number.isInteger(v) || v <= 0) throw new UsageError(`${what}: "${text}" is not a whole positive number of bytes`);
  return v;
}

/** util.parseArgs, strict, with its errors as one-line UsageErrors. */
export function parseArgv(argv: string[], options: ParseArgsConfig['options'], command?: string): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (e) {
    // parseArgs' messages are long and multi-line; keep the first line (for a value that starts
    // with a dash, "argument is ambiguous", with its hint: "-s -4k" is otherwise left unexplained).
    // (an argument with a newline in it, "--bo\ngus", is on one line too: its line was cut there)
    const message = argv.reduce((m, a) => (a === oneLine(a, false) ? m : m.split(a).join(oneLine(a, false))), String((e as Error).message));
    const lines = message.split('\n');
    const hint = lines.find((l) => l.startsWith('To specify an option argument starting with a dash'));
    const first = lines[0].replace(/\. To specify.*$/, '');
    if (hint === undefined || !/ambiguous/.test(first)) throw new UsageError(/^Unknown option/.test(first) ? `${first} (see softdsa ${command === undefined ? '' : `${command} `}--help)` : first);
    throw new UsageError(`${first.replace(/\.$/, '')}: a value that starts with a dash ${hint.replace(/^To specify an option argument starting with a dash use /, 'is given as ').replace(/\.$/, '')}`);
  }
}
