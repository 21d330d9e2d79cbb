// The Wasm core: compiled once per process, instantiated by every engine (and by the
// host for inline work) over the device's one shared memory.
import { readFileSync } from 'node:fs';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { buildPath } from './paths.ts';

export interface Core {
  init(ctx: number): void;
  execute(desc: number, ctx: number, irq: number): number;
  heapBase(): number;
  crc32c(addr: number, len: number, seed: number, flags: number): number;
  setOutcome(result: number, bytes: number, faultAddr: bigint, specific: number): void;
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
    compiled = new WebAssembly.Module(new Uint8Array(bytes));
  }
  return compiled;
}

/** The standard CRC-32C of memory bytes, lent to the core (see assembly/kernels/crcops.ts). */
export type CrcHook = (addr: number, len: number, seed: number) => number;

/**
 * An instance over `memory`. Without a foreign hook, foreign-space descriptors get 0x10.
 * The core's standard CRC-32C of 1 KiB and more runs on the CPU's CRC instruction through
 * @node-rs/crc32 (about twice the Wasm kernel's speed here), unless `crc` says otherwise
 * (the tests lend the Wasm kernel itself, to test it).
 */
export function instantiateCore(module: WebAssembly.Module, memory: WebAssembly.Memory, foreign?: ForeignHook, crc?: CrcHook): Core {
  const buf = memory.buffer as unknown as ArrayBuffer;
  const native: CrcHook = (addr, len, seed) => nativeCrc32c(Buffer.from(buf, addr, len), seed) >>> 0;
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      foreign: foreign ?? ((): number => 0x10),
      crc32c: crc ?? native,
      abort(_msg: number, _file: number, line: number, col: number): never {
        throw new Error(`softdsa core aborted at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as Core;
}
