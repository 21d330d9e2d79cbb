// softdsa: a software Intel DSA for Node.js.
export { Device, AttachedDevice, DeviceConnection, LEND_MIN } from './device.ts';
export type { DeviceOptions, DeviceHandle, InterruptHandle, ConfigOptions, MappedFile } from './device.ts';
export type { Topology, GroupConfig, WqConfig, WqMode } from './device/topology.ts';
export { Opcode, Flag, Status, Desc, Record, Limit, DifFlag, SrcDif, DstDif, DifStatus, DifTuple } from './device/format.ts';
export { Descriptor, encode } from './device/descriptor.ts';
export type { Common, Fields, DifTags } from './device/descriptor.ts';
export { readRecord } from './device/record.ts';
export { decodeDescriptor, decodeRecord, opcodeName, statusName, flagNames } from './device/decode.ts';
export type { DecodedDescriptor, DecodedRecord } from './device/decode.ts';
export { DescriptorEvent } from './device/trace.ts';
export type { CompletionRecord } from './device/record.ts';
export { SoftDsaError, ConfigError, DifCheckError, FileCrcError } from './device/errors.ts';
export type { DifMismatch } from './device/errors.ts';
export type { Portal, SubmitOptions, ErrorLogEntry } from './device/portal.ts';
export type { DeviceStats } from './device.ts';
export type { FaultRule, FaultHandle, FaultStats, FaultEffect, EngineDeath } from './device/faults.ts';
export { BatchBuilder } from './api/batch_builder.ts';
export type { OpName, OpSnapshot, OpsSnapshot, Placement } from './api/stats.ts';
export type { Bytes } from './api/args.ts';
export { eventFdStatus } from './device/eventfd.ts';
export type { EventFdStatus } from './device/eventfd.ts';
export {
  alloc, free, memcpy, memmove, fill, compare, firstDifference, crc32c, copyCrc32c, dualcast,
  createDelta, applyDelta, batch, stats, shutdown, configure, defaultDevice, ready,
  difInsert, difCheck, difStrip, difUpdate, dixGenerate, crc16t10dif,
} from './api/default_device.ts';
export type { DifOptions, DifUpdateOptions, DifTagOptions, DifBlockSize } from './api/dif.ts';
// Files and streams: src/api/files.ts, crc32c_stream.ts, crc32c_transform_stream.ts, crc32c_digest.ts
export { crc32cFile, crc32cFileInfo, copyFileCrc32c, copyFileCrc32cInfo } from './api/files.ts';
export type { FileCrcOptions, CopyFileCrcOptions } from './api/files.ts';
export { createCrc32cStream, Crc32cStream } from './api/crc32c_stream.ts';
export { crc32cTransformStream, Crc32cTransformStream } from './api/crc32c_transform_stream.ts';
export type { Crc32cStreamOptions } from './api/crc32c_accumulator.ts';
export { formatCrc32c, crc32cHex, crc32cBase64, parseCrc32c } from './api/crc32c_digest.ts';
export type { Crc32cFormat } from './api/crc32c_digest.ts';
