// No foreign address spaces in a browser (the browser build puts this module in place of
// src/device/foreign.ts): an engine worker sits in its loop and cannot receive a
// SharedArrayBuffer synchronously, so no space is ever registered (MAX_SPACES 0) and calls on
// memory outside the arena run inline. A raw descriptor naming a PASID finds nothing mapped there.
import { Desc, Opcode, Status } from '../device/format.ts';

export type { FileWindow, SetOutcome, SpaceMessage } from '../device/foreign.ts';
import type { SetOutcome } from '../device/foreign.ts';

export const MAX_SPACES = 0;

export class ForeignSpaces {
  hole = -1;
  constructor(_port: unknown, _kit?: unknown) {}
  drain(): void {}
}

/** A descriptor in an address space that does not exist: a page fault at its first address. */
export function runForeign(mem: Uint8Array, desc: number, op: number, _flags: number, _spaces: ForeignSpaces, out: SetOutcome): number {
  const write = op === Opcode.MEMFILL;
  const at = new DataView(mem.buffer, mem.byteOffset).getBigUint64(desc + (write ? Desc.DST : Desc.SRC), true);
  out(0, 0, at, 0);
  return write ? Status.PAGE_FAULT | Status.WRITE_FAULT_BIT : Status.PAGE_FAULT;
}
