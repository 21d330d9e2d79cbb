// The CPU's CRC-32C instruction, through @node-rs/crc32, for bytes outside the arena. Its native
// binary ships for 13 targets, and `npm install --omit=optional` leaves it out: where it does not
// load, softdsa must still load and answer (crc32c_js.ts), not fail at import.
import { createRequire } from 'node:module';
import { crc32cJs } from './crc32c_js.ts';

export type CpuCrc = (u8: Uint8Array, seed: number) => number;

/** @node-rs/crc32's crc32c, checked on the standard input; null where it cannot be loaded. */
function loadCpuCrc(): CpuCrc | null {
  try {
    const native = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: (b: Buffer, seed?: number) => number }).crc32c;
    if (native(Buffer.from('123456789')) >>> 0 !== 0xe3069283) return null;
    return (u8, seed) => native(Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength), seed) >>> 0;
  } catch {
    return null;
  }
}

let loaded: CpuCrc | null | undefined;

/** The CPU's CRC, loaded once per thread at the first ask (~25 ms: a thread that never asks does not pay it); null where it does not load. */
export const cpuCrc = (): CpuCrc | null => (loaded === undefined ? (loaded = loadCpuCrc()) : loaded);

/** CRC-32C of bytes outside the arena: the CPU's, or JavaScript's where that does not load. */
export const crc32cHere = (u8: Uint8Array, seed: number): number => (cpuCrc() ?? crc32cJs)(u8, seed);
