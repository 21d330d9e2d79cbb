// Dispatch of one descriptor: validation order, kernel, completion record, interrupt.
//
// Readings of the format page (docs/format.md) where it leaves room; test/reference.ts
// implements the same ones independently:
// - Record address (CRAV=1): misaligned -> 0x1B, checked right after the opcode: nothing runs.
//   Not entirely in the arena -> 0x1A, once the descriptor has run and its record is due (RCR, or
//   a status other than success), as DSA's completion-record translation fault comes when the
//   record is written (the driver then finds the record in the event log): a success without RCR
//   writes nothing and is not refused. Neither gets a record or an interrupt. An unsupported
//   opcode keeps 0x10 even when its record address is bad (then simply no record is written).
// - Interrupts: any descriptor that ran to a status (failures included, not 0x1A/0x1B, not
//   abandoned batch members) signals its handle when RCI is set and the handle is valid.
// - Op checks run in status-code order 0x13..0x19, then 0x1C (DML checks dualcast 0x17 before
//   overlap 0x16). CFLUSH gets the transfer-size check but no page-fault check (no data access).
// - Page faults: memmove/fill/compare/CRC/dualcast are byte-exact; the delta ops work in whole
//   words/entries (see kernels/delta.ts); apply-delta bytes completed counts delta record bytes.
// - A CRC seed address is read before the data (no alignment required); if it faults, nothing
//   is done and the record's CRC is 0.
// - DIF ops (kernels/dif.ts): transfer size a multiple of the source block step (0x13), then
//   source/destination overlap (0x16); they work and fault block by block. Not in foreign spaces.
import { Opcode, Flag, Status, Desc, Ctx, Record, PasidWord } from "../src/device/format";
import { prefix } from "./bounds";
import { resetOutcome, writeRecord } from "./record";
import { opIndex, validate, handleValid } from "./validate";
import { memmove } from "./kernels/memmove";
import { fill } from "./kernels/fill";
import { compare, compval } from "./kernels/compare";
import { createDelta, applyDelta } from "./kernels/delta";
import { dualcast } from "./kernels/dualcast";
import { crcgen, copyCrc } from "./kernels/crcops";
import { dif, translFetch } from "./kernels/dif";
import { batch } from "./batch";

// Address spaces: PASID 0 is the arena. A non-zero PASID names another shared memory the
// host registered (a SharedArrayBuffer this module cannot address); the host runs the data
// operations on it (its JS path) through this import, after the same validation, and the
// record is written here as for any descriptor. It reports the outcome through setOutcome.
@external("env", "foreign")
declare function foreign(desc: u32, op: u32, flags: u32): u32;

/** Operations the host runs in a foreign space; the others need the arena (0x10). */
function foreignKernel(desc: u32, op: u32, flags: u32): u32 {
  switch (op) {
    case Opcode.MEMMOVE:
    case Opcode.MEMFILL:
    case Opcode.COMPARE:
    case Opcode.COMPVAL:
    case Opcode.DUALCAST:
    case Opcode.CRCGEN:
    case Opcode.COPY_CRC:
      return foreign(desc, op, flags);
    case Opcode.NOOP:
    case Opcode.CFLUSH:
      return Status.SUCCESS;
    default:
      return Status.INVALID_OPCODE;
  }
}

function kernel(desc: u32, ctx: u32, irq: u32, op: u32, flags: u32): u32 {
  switch (op) {
    case Opcode.MEMMOVE: return memmove(desc);
    case Opcode.MEMFILL: return fill(desc);
    case Opcode.COMPARE: return compare(desc, flags);
    case Opcode.COMPVAL: return compval(desc, flags);
    case Opcode.CR_DELTA: return createDelta(desc, flags);
    case Opcode.AP_DELTA: return applyDelta(desc);
    case Opcode.DUALCAST: return dualcast(desc);
    case Opcode.CRCGEN: return crcgen(desc, flags);
    case Opcode.COPY_CRC: return copyCrc(desc, flags);
    case Opcode.DIF_CHECK:
    case Opcode.DIF_INS:
    case Opcode.DIF_STRP:
    case Opcode.DIF_UPDT:
    case Opcode.DIX_GEN: return dif(desc, op);
    case Opcode.TRANSL_FETCH: return translFetch(desc);
    case Opcode.BATCH: return batch(desc, ctx, irq);
    // NOOP, DRAIN (the host already waited for earlier work), CFLUSH (no data effect)
    default: return Status.SUCCESS;
  }
}

/** One descriptor, top level or inside a batch: validate, run, record, interrupt. */
export function runOne(desc: u32, ctx: u32, irq: u32, inBatch: bool): u32 {
  const flags = load<u32>(desc + Desc.FLAGS) & 0xffffff;
  const op = <u32>load<u8>(desc + Desc.OPCODE);
  const rec = load<u64>(desc + Desc.COMPLETION);
  // read before the kernel runs: a batch member in the arena may be overwritten by its own work
  const handle = <u32>load<u16>(desc + Desc.INT_HANDLE);
  const crav = (flags & Flag.CRAV) != 0;
  const recOk = crav && (rec & (Record.ALIGN - 1)) == 0 && prefix(rec, Record.SIZE) == Record.SIZE;
  resetOutcome();

  let status: u32;
  const idx = opIndex(op);
  if (idx == 0xff || (inBatch && (op == Opcode.BATCH || op == Opcode.DRAIN))) {
    // opcode first: its status stands even if the record address is bad (then no record)
    status = Status.INVALID_OPCODE;
  } else if (crav && (rec & (Record.ALIGN - 1)) != 0) {
    return Status.COMPLETION_ALIGN; // no record, no interrupt
  } else {
    status = validate(desc, ctx, idx, op, flags);
    const pasid = load<u32>(desc + Desc.PASID) & PasidWord.PASID_MASK;
    if (status == 0) status = pasid == 0 ? kernel(desc, ctx, irq, op, flags) : foreignKernel(desc, op, flags);
    if (crav && !recOk && ((flags & Flag.RCR) != 0 || status != Status.SUCCESS)) return Status.COMPLETION_FAULT;
  }

  if (recOk && ((flags & Flag.RCR) != 0 || status != Status.SUCCESS)) writeRecord(<u32>rec, status);
  if ((flags & Flag.RCI) != 0 && handleValid(handle, ctx)) {
    const bit = <u64>1 << <u64>handle;
    if ((irq & 7) == 0) atomic.or<u64>(irq, bit);
    else store<u64>(irq, load<u64>(irq) | bit);
  }
  return status;
}
