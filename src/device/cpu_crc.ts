// The CPU's CRC-32C instruction, for bytes outside the arena, where they lie. Best first:
//   - the addon's (native/crc32c.cc): three streams of the instruction, 21-23 GB/s here;
//   - @node-rs/crc32's: one stream, 4-5 GB/s. Its native binary ships for 13 targets, and
//     `npm install --omit=optional` leaves it out;
//   - JavaScript's (crc32c_js.ts), where neither loads: softdsa must still load and answer.
import { createRequire } from 'node:module';
import { crc32cJs } from './crc32c_js.ts';
import { loadEventFd } from './eventfd.ts';

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

/** @node-rs/crc32's CRC (the benchmarks' baseline), loaded once per thread at the first ask (~25 ms); null where it does not load. */
export const cpuCrc = (): CpuCrc | null => (loaded === undefined ? (loaded = loadCpuCrc()) : loaded);

/** The addon's CRC, checked on the standard input; null without the addon, or the instruction. */
function loadAddonCrc(): CpuCrc | null {
  const crc = loadEventFd()?.crc32c;
  return crc !== undefined && crc(Buffer.from('123456789'), 0) === 0xe3069283 ? crc : null;
}

let addon: CpuCrc | null | undefined;

/** The addon's three-stream CRC (loaded once per thread at the first ask), or null. */
export const addonCrc = (): CpuCrc | null => (addon === undefined ? (addon = loadAddonCrc()) : addon);

let best: CpuCrc | undefined;

/** The CRC-32C of bytes outside the arena, where they lie: the addon's, else @node-rs/crc32's, else JavaScript's. */
export const crc32cHere = (u8: Uint8Array, seed: number): number => (best ??= addonCrc() ?? cpuCrc() ?? crc32cJs)(u8, seed);

/** Whether this thread checksums bytes outside the arena natively (the addon, or @node-rs/crc32), not in JavaScript. */
export const nativeHere = (): boolean => addonCrc() !== null || cpuCrc() !== null;
