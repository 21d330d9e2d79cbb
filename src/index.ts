// softdsa: a software Intel DSA for Node.js.
export { Device, AttachedDevice, DeviceConnection } from './device.ts';
export type { DeviceOptions, DeviceHandle, InterruptHandle } from './device.ts';
export { Opcode, Flag, Status, Desc, Record, Limit } from './format.ts';
export { Descriptor, encode } from './descriptor.ts';
export type { Common, Fields } from './descriptor.ts';
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
