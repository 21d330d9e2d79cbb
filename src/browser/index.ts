// softdsa in a browser: the same device and drop-in API, engines on Web Workers, completions
// on the Atomics path. Built by scripts/build.mjs into dist/browser/softdsa.js (with its
// engine worker, engine.js, and the core, core.wasm, beside it); needs a cross-origin-isolated
// page (Device.open() says which headers when it is not). What has no meaning in a browser is
// absent: eventfd, engine nice, /proc, files and Node streams (the WHATWG stream is here), other
// threads attaching.
export { Device } from '../device.ts';
export type { DeviceOptions, DeviceStats, InterruptHandle, ConfigOptions } from '../device.ts';
export type { Topology, GroupConfig, WqConfig, WqMode } from '../device/topology.ts';
export { Opcode, Flag, Status, Desc, Record, Limit, DifFlag, SrcDif, DstDif, DifStatus, DifTuple } from '../device/format.ts';
export { Descriptor, encode } from '../device/descriptor.ts';
export type { Common, Fields, DifTags } from '../device/descriptor.ts';
export { readRecord } from '../device/record.ts';
export { decodeDescriptor, decodeRecord, opcodeName, statusName, flagNames } from '../device/decode.ts';
export type { DecodedDescriptor, DecodedRecord } from '../device/decode.ts';
export type { FaultRule, FaultHandle, FaultStats, FaultEffect, EngineDeath } from '../device/faults.ts';
export type { CompletionRecord } from '../device/record.ts';
export { SoftDsaError, ConfigError, DifCheckError } from '../device/errors.ts';
export type { DifMismatch } from '../device/errors.ts';
export type { Portal, SubmitOptions, ErrorLogEntry } from '../device/portal.ts';
export { BatchBuilder } from '../api/batch_builder.ts';
export type { OpName, OpSnapshot, OpsSnapshot, Placement } from '../api/stats.ts';
export type { Bytes } from '../api/args.ts';
export {
  memcpy, memmove, fill, compare, firstDifference, crc32c, copyCrc32c, dualcast,
  createDelta, applyDelta, batch, stats, shutdown, configure, defaultDevice, ready,
  difInsert, difCheck, difStrip, difUpdate, dixGenerate, crc16t10dif,
} from '../api/default_device.ts';
export type { DifOptions, DifUpdateOptions, DifTagOptions, DifBlockSize } from '../api/dif.ts';
export { crc32cTransformStream, Crc32cTransformStream } from '../api/crc32c_transform_stream.ts';
export type { Crc32cStreamOptions } from '../api/crc32c_accumulator.ts';
export { crc32cHex, crc32cBase64, parseCrc32c } from '../api/crc32c_digest.ts';
export type { Crc32cFormat } from '../api/crc32c_digest.ts';
import { formatCrc32c as format, type Crc32cFormat } from '../api/crc32c_digest.ts';

/** The CRC-32C as a number, 8 hex digits, base64 of its 4 big-endian bytes, or those bytes ('buffer': a Uint8Array here, as there is no Buffer in a browser). */
export const formatCrc32c = format as {
  (crc: number, format?: 'number'): number;
  (crc: number, format: 'hex' | 'base64'): string;
  (crc: number, format: 'buffer'): Uint8Array;
  (crc: number, format?: Crc32cFormat): number | string | Uint8Array;
};
import { alloc as arenaAlloc, free as arenaFree } from '../api/default_device.ts';

/** Arena memory (a Uint8Array here: there is no Buffer in a browser): engines work on it with no copy. Give it back with free(). */
export const alloc = (size: number): Uint8Array => arenaAlloc(size);
/** Returns a Uint8Array from alloc() to the arena. */
export const free = (bytes: Uint8Array): void => arenaFree(bytes as Parameters<typeof arenaFree>[0]);
