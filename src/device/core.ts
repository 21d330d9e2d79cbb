// The Wasm core: compiled once per process, instantiated by every engine (and by the
// host for inline work) over the device's one shared memory.
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { buildPath } from './paths.ts';

export interface Core {
  /** builds the CRC tables (ctx names their region) and gives the instance its scratch area */
  init(ctx: number, scratch: number): void;
  execute(desc: number, ctx: number, irq: number): number;
  heapBase(): number;
  crc32c(addr: number, len: number, seed: number, flags: number): number;
  /** CRC-16 T10-DIF (MSB-first, no inversion) */
  crc16(addr: number, len: number, seed: number): number;
  setOutcome(result: number, bytes: number, faultAddr: bigint, specific: number): void;
  /** fault injection: [start, start + len) is unmapped for the descriptors this instance runs next (len 0: none) */
  injectHole(start: number, len: number): void;
}

/** The host's JS path for descriptors in foreign address spaces (see foreign.ts). */
export type ForeignHook = (desc: number, op: number, flags: number) => number;

let compiled: WebAssembly.Module | null = null;

export function coreModule(): WebAssembly.Module {
  if (compiled === null) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(buildPath('core.wasm'));
    } catch {
      throw new Error('softdsa: build/core.wasm is missing; run `npm run build` (npm install builds it)');
    }
    compiled = optimizedModule(new Uint8Array(bytes));
  }
  return compiled;
}

/**
 * The module compiled for V8's optimizing tier (TurboFan) from the start. V8's default runs a
 * function first in its baseline tier (Liftoff) and optimizes it after use: the core's kernels
 * are long loops over the caller's whole input, and a first 1 MiB CRC ran 5-11 ms in baseline
 * code against 0.1-0.3 ms optimized. Liftoff is off only while this module is compiled
 * (functions are still compiled lazily, each at its first call: the engines' warm-up makes those
 * calls, see warm_up.ts); a process started with --no-liftoff keeps it.
 */
function optimizedModule(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  const keep = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].includes('--no-liftoff');
  try {
    setFlagsFromString('--no-liftoff');
    return new WebAssembly.Module(bytes);
  } finally {
    if (!keep) setFlagsFromString('--liftoff');
  }
}

/** An instance over `memory`. Without a foreign hook, foreign-space descriptors get 0x10. */
export function instantiateCore(module: WebAssembly.Module, memory: WebAssembly.Memory, foreign?: ForeignHook): Core {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      foreign: foreign ?? ((): number => 0x10),
      abort(_msg: number, _file: number, line: number, col: number): never {
        throw new Error(`softdsa core aborted at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as Core;
}
