// The Wasm core: compiled once per process, instantiated by every engine (and by the
// host for inline work) over the device's one shared memory.
import type { CpuCrc } from './cpu_crc.ts';
import { compileCore } from './host.ts';

export interface Core {
  /** builds the CRC tables (ctx names their region) and gives the instance its scratch area */
  init(ctx: number, scratch: number): void;
  execute(desc: number, ctx: number, irq: number): number;
  heapBase(): number;
  crc32c(addr: number, len: number, seed: number, flags: number): number;
  /** CRC-16 T10-DIF (MSB-first, no inversion) */
  crc16(addr: number, len: number, seed: number): number;
  /** memmove within the memory (no bounds checks) */
  copy(dst: number, src: number, len: number): void;
  /** MEMFILL of [dst, dst + len) with the 8-byte pattern, phase from dst (no bounds checks) */
  fill(dst: number, len: number, pattern: bigint): void;
  setOutcome(result: number, bytes: number, faultAddr: bigint, specific: number): void;
  /** fault injection: [start, start + len) is unmapped for the descriptors this instance runs next (len 0: none) */
  injectHole(start: number, len: number): void;
  /** the fault address of the descriptor just run (fault injection: was it the hole's?) */
  faultAddress(): bigint;
  /** after a BATCH: its first member whose record could not be written ((index + 1) << 8 | status, bit 20: more), or 0 */
  batchRecordError(): number;
  /** MEMMOVEs of `bytes` or more without Flag.CC go to the streamCopy import (0: none; the default) */
  setStreamFrom(bytes: number): void;
  /** reflected CRCs of `bytes` or more, no copy, go to the hostCrc import (0: none; the default) */
  setHostCrcFrom(bytes: number): void;
}

/** A copy that bypasses the cache, within the memory (what the addon's streamCopy does). */
export type StreamCopy = (dst: number, src: number, n: number) => void;

/** The host's JS path for descriptors in foreign address spaces (see foreign.ts). */
export type ForeignHook = (desc: number, op: number, flags: number) => number;

/** What the host lends an instance, where it has it. */
export interface CoreHost {
  /** descriptors in foreign address spaces; without it they get 0x10 */
  foreign?: ForeignHook | undefined;
  /** copies that bypass the cache (turned on by setStreamFrom) */
  streamCopy?: StreamCopy | undefined;
  /** CRCs of HOST_CRC_FROM bytes or more, where they lie (the addon's: cpu_crc.ts), on by itself */
  crc?: CpuCrc | null | undefined;
}

/**
 * CRCs from this size go to the host's CRC: below it the call's crossing (Wasm to JS to the
 * addon and back, ~0.3 us) costs what it saves (the raw export here: 2 KiB 0.36-0.39 us either
 * way; 4 KiB 0.52 -> 0.43; 64 KiB 5.2-6.0 -> 3.2-3.8).
 */
export const HOST_CRC_FROM = 4096;

let compiled: WebAssembly.Module | null = null;

/** The core, compiled once per thread (how is the host's: host.ts). */
export function coreModule(): WebAssembly.Module {
  return (compiled ??= compileCore());
}

/** An instance over `memory`. Without a foreign hook, foreign-space descriptors get 0x10. */
export function instantiateCore(module: WebAssembly.Module, memory: WebAssembly.Memory, host: CoreHost = {}): Core {
  const { foreign, streamCopy, crc } = host;
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      foreign: foreign ?? ((): number => 0x10),
      // (called only once setStreamFrom() turned it on, which an instance without one never does)
      streamCopy: streamCopy ?? ((): never => {
        throw new Error('softdsa core: streamCopy without a host copy');
      }),
      // (Wasm's i32s arrive signed: addresses from 2 GiB up are negative until made unsigned)
      hostCrc: crc ? (p: number, n: number, seed: number): number => crc(new Uint8Array(memory.buffer, p >>> 0, n >>> 0), seed >>> 0) : (): never => {
        throw new Error('softdsa core: hostCrc without a host CRC');
      },
      abort(_msg: number, _file: number, line: number, col: number): never {
        throw new Error(`softdsa core aborted at ${line}:${col}`);
      },
    },
  });
  const core = instance.exports as unknown as Core;
  if (crc) core.setHostCrcFrom(HOST_CRC_FROM);
  return core;
}
