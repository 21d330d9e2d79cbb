// V8's flags, set through node:v8, which is loaded at the first flag set: loading it loads Node's
// heap-snapshot and serializer modules too, 3 ms at import that a program which never compiles the
// core (a small file's CRC, a CRC of a plain Buffer) nor empties an address space did not need.
import { createRequire } from 'node:module';

let v8: typeof import('node:v8') | undefined;

/** v8.setFlagsFromString, node:v8 loaded at the first call. */
export function setV8Flags(flags: string): void {
  (v8 ??= createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString(flags);
}
