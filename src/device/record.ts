// Completion records: read the 32 bytes the device writes, and write one on the
// device's behalf (the supervisor does, for descriptors of an engine that died, and the
// closing device for descriptors no engine ran).
import { Desc, Flag, Record, Status } from './format.ts';

export interface CompletionRecord {
  /** status code (bits 6:0; 0xff whole for Status.ABORTED); 0 while the record is not written */
  status: number;
  /** the page fault was a write (status bit 7) */
  writeFault: boolean;
  result: number;
  faultInfo: number;
  bytesCompleted: number;
  faultAddress: bigint;
  /** u32 at @16: CRC value, delta record size, or the invalid flags */
  opSpecific: number;
}

export function readRecord(mem: Uint8Array, addr: number): CompletionRecord {
  const dv = new DataView(mem.buffer, mem.byteOffset + addr, Record.SIZE);
  const s = Atomics.load(new Uint8Array(mem.buffer, mem.byteOffset + addr, 1), 0);
  return {
    status: s === Status.ABORTED ? s : s & Status.CODE_MASK,
    writeFault: s !== Status.ABORTED && (s & Status.WRITE_FAULT_BIT) !== 0,
    result: dv.getUint8(Record.RESULT),
    faultInfo: dv.getUint8(Record.FAULT_INFO),
    bytesCompleted: dv.getUint32(Record.BYTES_COMPLETED, true),
    faultAddress: dv.getBigUint64(Record.FAULT_ADDR, true),
    opSpecific: dv.getUint32(Record.OP_SPECIFIC, true),
  };
}

/** Writes a record with `status` and zeroes elsewhere, the status byte last. */
export function writeRecord(mem: Uint8Array, addr: number, status: number): void {
  mem.fill(0, addr + 1, addr + Record.SIZE);
  Atomics.store(new Uint8Array(mem.buffer, mem.byteOffset + addr, 1), 0, status);
}

/**
 * Where a descriptor (`desc`: its 64 bytes) has its record written (dispatch.ts runOne): asked
 * for (CRAV), 32-byte aligned and inside [arenaBase, arenaEnd); -1 when none can be, or none is asked.
 */
export function recordAt(desc: Uint8Array, arenaBase: number, arenaEnd: number): number {
  const dv = new DataView(desc.buffer, desc.byteOffset, Desc.SIZE);
  const rec = dv.getBigUint64(Desc.COMPLETION, true);
  const ok = (dv.getUint32(Desc.FLAGS, true) & Flag.CRAV) !== 0 && rec % BigInt(Record.ALIGN) === 0n && rec >= BigInt(arenaBase) && rec + BigInt(Record.SIZE) <= BigInt(arenaEnd);
  return ok ? Number(rec) : -1;
}

/**
 * Finishes, on the device's behalf, a descriptor no engine completed (`desc`: its 64 bytes):
 * writes `status` into its record where it asks for one (CRAV, a 32-byte aligned record inside
 * [arenaBase, arenaEnd)). Returns the interrupt handle it asks to be raised (RCI), or -1.
 */
export function settleUnrun(mem: Uint8Array, desc: Uint8Array, arenaBase: number, arenaEnd: number, status: number): number {
  const dv = new DataView(desc.buffer, desc.byteOffset, Desc.SIZE);
  const flags = dv.getUint32(Desc.FLAGS, true) & 0xffffff;
  const rec = recordAt(desc, arenaBase, arenaEnd);
  if (rec >= 0) writeRecord(mem, rec, status);
  return (flags & Flag.RCI) !== 0 ? dv.getUint16(Desc.INT_HANDLE, true) : -1;
}
