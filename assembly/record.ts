// Completion record: the outcome of one descriptor, then its 32-byte write.
// Kernels fill the outcome globals (per instance, reset for every descriptor) and return the
// status byte; the dispatcher decides whether a record is written at all.
import { Record, Status } from "../src/device/format";

export let outResult: u32 = 0; // record byte 1
export let outBytes: u32 = 0; // record @4: bytes (or descriptors) completed
export let outFault: u64 = 0; // record @8: fault address
export let outSpecific: u64 = 0; // record @16: CRC, delta record size, invalid flags, DIF tags
export let outSpecific2: u64 = 0; // record @24: DIF insert/update destination tags

export function resetOutcome(): void {
  outResult = 0;
  outBytes = 0;
  outFault = 0;
  outSpecific = 0;
  outSpecific2 = 0;
}

export function setResult(v: u32): void { outResult = v; }
export function setBytes(v: u32): void { outBytes = v; }
export function setSpecific(v: u32): void { outSpecific = <u64>v; }
export function setSpecific64(at16: u64, at24: u64): void {
  outSpecific = at16;
  outSpecific2 = at24;
}
export function setFault(v: u64): void { outFault = v; }

/** A page fault: `done` units processed, first unmapped byte at `addr`. Returns the status. */
export function fault(addr: u64, done: u64, write: bool): u32 {
  outBytes = <u32>done;
  outFault = addr;
  return write ? Status.PAGE_FAULT | Status.WRITE_FAULT_BIT : Status.PAGE_FAULT;
}

/** Write all 32 bytes, the status byte last and atomically: the host polls it. */
export function writeRecord(rec: u32, status: u32): void {
  store<u8>(rec + Record.RESULT, <u8>outResult);
  store<u16>(rec + Record.FAULT_INFO, 0); // fault info + reserved byte 3
  store<u32>(rec + Record.BYTES_COMPLETED, outBytes);
  store<u64>(rec + Record.FAULT_ADDR, outFault);
  store<u64>(rec + Record.OP_SPECIFIC, outSpecific);
  store<u64>(rec + Record.OP_SPECIFIC + 8, outSpecific2);
  atomic.store<u8>(rec + Record.STATUS, <u8>status);
}
