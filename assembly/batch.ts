// BATCH: runs a list of descriptors in order, with the [decided] FENCE rule: once one has
// failed (any status but Success), a descriptor with FENCE and all after it are abandoned
// (no effect, no record); those without FENCE still run. Each listed descriptor is read from
// memory when its turn comes, so an earlier one may rewrite a later one, as on hardware.
import { Desc, Flag, Status } from "../src/device/format";
import { prefix } from "./bounds";
import { resetOutcome, setBytes, fault } from "./record";
import { runOne } from "./dispatch";

/**
 * The first member of the last batch run whose completion record could not be written (0x1A,
 * 0x1B: it gets no record, so the error log is the only place its status can go, as DSA's
 * SWERR register): (index + 1) << 8 | status, bit 20 set when more than one; 0: none.
 */
export let recordError: u32 = 0;

export function batch(desc: u32, ctx: u32, irq: u32): u32 {
  recordError = 0;
  const list = load<u64>(desc + Desc.LIST);
  const count = load<u32>(desc + Desc.COUNT);
  const bytes = <u64>count * Desc.SIZE;
  const ok = prefix(list, bytes);
  if (ok < bytes) {
    // the whole list is checked first: a fault there runs none of it
    fault(list + ok, 0, false);
    return Status.BATCH_PAGE_FAULT;
  }
  let ran: u32 = 0;
  let failed = false;
  for (let j: u32 = 0; j < count; j++) {
    const d = <u32>list + j * Desc.SIZE;
    if (failed && (load<u8>(d + Desc.FLAGS) & Flag.FENCE) != 0) break;
    const status = runOne(d, ctx, irq, true);
    if (status != Status.SUCCESS) {
      failed = true;
      if (status == Status.COMPLETION_ALIGN || status == Status.COMPLETION_FAULT) recordError = recordError == 0 ? ((j + 1) << 8) | status : recordError | (1 << 20);
    }
    ran++;
  }
  resetOutcome(); // the members' outcomes are not the batch's
  setBytes(ran);
  return failed ? Status.BATCH_FAIL : Status.SUCCESS;
}
