// Every error softdsa throws, in one place. Each carries a stable `code`.
import { Status } from './format.ts';

export class SoftDsaError extends Error {
  readonly code: string;
  /** The DSA status code, where the error reports one. */
  readonly status?: number;
  constructor(code: string, message: string, status?: number) {
    super(message);
    this.name = 'SoftDsaError';
    this.code = code;
    if (status !== undefined) this.status = status;
  }
}

const hex = (n: number): string => '0x' + n.toString(16).padStart(2, '0');

export const Errors = {
  queueFull: () => new SoftDsaError('QUEUE_FULL', 'work queue is full: the descriptor was refused (retry later, or submit with { retry: true })'),
  closed: () => new SoftDsaError('DEVICE_CLOSED', 'the device is closed'),
  dedicated: () => new SoftDsaError('WQ_DEDICATED', 'the work queue is dedicated to the thread that opened the device: open it with wqMode "shared" to submit from other threads'),
  descriptorSize: (n: number) => new TypeError(`a descriptor is 64 bytes in DSA layout; got ${n}`),
  descriptorType: (v: unknown) =>
    new TypeError(`a descriptor is a 64-byte Uint8Array (or other TypedArray/DataView); got ${v === null ? 'null' : typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v}`),
  arenaFull: (bytes: number) => new RangeError(`device arena cannot fit ${bytes} more bytes`),
  badFree: (addr: number) => new RangeError(`address ${addr} was not allocated by this device (or was freed already)`),
  outOfArena: (addr: number, length: number) => new RangeError(`range [${addr}, ${addr + length}) is not inside the device arena`),
  option: (name: string, why: string) => new RangeError(`option ${name}: ${why}`),
  faultRule: (why: string) => new RangeError(`fault rule: ${why}`),
  noHandles: () => new SoftDsaError('NO_INT_HANDLES', 'all interrupt handles are in use'),
  engineFailed: (why: string) => new SoftDsaError('ENGINE_FAILED', `an engine failed: ${why}`, Status.HW_ERROR),
  /** A descriptor finished with a status other than success (high-level API). */
  status: (op: string, status: number) =>
    new SoftDsaError('DSA_STATUS', `${op} failed with DSA status ${hex(status & Status.CODE_MASK)}`, status),
};
