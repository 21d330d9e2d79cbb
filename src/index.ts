// softdsa: a software Intel DSA for Node.js.
export { Device, AttachedDevice, DeviceConnection } from './device.ts';
export type { DeviceOptions, DeviceHandle, InterruptHandle } from './device.ts';
export { Opcode, Flag, Status, Desc, Record, Limit } from './format.ts';
export { Descriptor, encode } from './descriptor.ts';
export type { Common, Fields, DifTags } from './descriptor.ts';
export { readRecord } from './record.ts';
export type { CompletionRecord } from './record.ts';
export { SoftDsaError } from './errors.ts';
export type { SubmitOptions, ErrorLogEntry } from './portal.ts';
export type { DeviceStats } from './device.ts';
export { BatchBuilder } from './batch_builder.ts';
export type { OpSnapshot, Placement } from './stats.ts';
export type { Bytes } from './args.ts';
export { eventFdStatus } from './eventfd.ts';
export type { EventFdStatus } from './eventfd.ts';
export {
  alloc, free, memcpy, memmove, fill, compare, firstDifference, crc32c, copyCrc32c, dualcast,
  createDelta, applyDelta, batch, stats, shutdown, configure, defaultDevice, ready,
} from './default_device.ts';
// Files and streams (issue 13): src/files.ts, src/crc32c_stream.ts, src/crc32c_digest.ts
export { crc32cFile, crc32cFileInfo, copyFileCrc32c, copyFileCrc32cInfo } from './files.ts';
export type { FileCrcOptions, CopyFileCrcOptions } from './files.ts';
export { createCrc32cStream, crc32cTransformStream, Crc32cStream, Crc32cTransformStream } from './crc32c_stream.ts';
export type { Crc32cStreamOptions } from './crc32c_stream.ts';
export { formatCrc32c, crc32cHex, crc32cBase64, parseCrc32c } from './crc32c_digest.ts';
export type { Crc32cFormat } from './crc32c_digest.ts';
