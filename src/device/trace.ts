// Tracing: diagnostics_channel `softdsa:descriptor` publishes every descriptor submitted through
// a portal's submit() once it completes, with its completion record, decoded when read.
// Nobody subscribed: the portal's one check of hasSubscribers per submit is all it costs.
import { type DecodedDescriptor, type DecodedRecord, decodeDescriptor, decodeRecord } from './decode.ts';
import { Desc, Flag, Record, Status } from './format.ts';
import { channel } from './host.ts';
import { recordAt } from './record.ts';

export const descriptorChannel = channel('softdsa:descriptor');

/** What `softdsa:descriptor` publishes: the bytes, copied at submission and at completion; decoded on first read. */
export class DescriptorEvent {
  /** the 64 descriptor bytes as submitted */
  readonly bytes: Uint8Array;
  /** the 32 record bytes the device wrote at completion; null where it wrote none (no CRAV; CRAV without RCR and a success; a record address misaligned or outside the arena; a submit that rejected) */
  readonly recordBytes: Uint8Array | null;
  /** the status submit() resolved to, or null when it rejected (error) */
  readonly status: number | null;
  readonly error: unknown;
  /** the work queue's id */
  readonly wq: number;
  #descriptor: DecodedDescriptor | null = null;
  #record: DecodedRecord | null = null;

  constructor(bytes: Uint8Array, recordBytes: Uint8Array | null, status: number | null, error: unknown, wq: number) {
    this.bytes = bytes;
    this.recordBytes = recordBytes;
    this.status = status;
    this.error = error;
    this.wq = wq;
  }

  get descriptor(): DecodedDescriptor {
    return (this.#descriptor ??= decodeDescriptor(this.bytes));
  }

  get record(): DecodedRecord | null {
    if (this.recordBytes === null) return null;
    return (this.#record ??= decodeRecord(this.recordBytes, this.bytes[Desc.OPCODE]));
  }
}

/**
 * `p` (a submit's promise) that publishes its descriptor and record when it settles. `mem`: the
 * device memory, whose [arenaBase, arenaEnd) records can be read.
 */
export function traced(p: Promise<number>, desc: Uint8Array, mem: Uint8Array, arenaBase: number, arenaEnd: number, wq: number): Promise<number> {
  const bytes = new Uint8Array(desc.subarray(0, Desc.SIZE)); // (a copy, at offset 0 of its own buffer: a Buffer's slice() is a view)
  const dv = new DataView(bytes.buffer);
  const flags = dv.getUint32(Desc.FLAGS, true);
  const at = recordAt(bytes, arenaBase, arenaEnd);
  const written = (status: number | null): boolean => at >= 0 && status !== null && ((flags & Flag.RCR) !== 0 || status !== Status.SUCCESS);
  const publish = (status: number | null, error: unknown): void => {
    descriptorChannel.publish(new DescriptorEvent(bytes, written(status) ? mem.slice(at, at + Record.SIZE) : null, status, error, wq));
  };
  return p.then(
    (status) => {
      publish(status, undefined);
      return status;
    },
    (e: unknown) => {
      publish(null, e);
      throw e;
    },
  );
}
