// Address spaces: the PASIDs under which engines reach SharedArrayBuffers other than the
// device's own memory (see foreign.ts for the engines' side).
//
// A space is registered when a call first sends such a buffer to the engines, and ends when
// the buffer is garbage-collected (held here only while descriptors naming it are in flight) or, when all 4095 are
// taken, when it is the least recently used one with nothing in flight. Its PASID carries a
// generation (bits 19:12), so a reused slot never names the old buffer in an engine that has
// not yet heard of the end. Of another softdsa device's memory only its arena is reachable:
// its control region faults like unmapped memory.
import { Ctx } from './format.ts';
import { type FileWindow, MAX_SPACES, type SpaceMessage } from './foreign.ts';
import { CTX_ADDR } from './layout.ts';

/** Written into every device context, so any thread can tell a device memory from other buffers. */
export const DEVICE_MAGIC = 0x41534453; // 'SDSA'

interface Entry {
  /** the buffer (null: a file space) */
  ref: WeakRef<SharedArrayBuffer> | null;
  file?: FileWindow;
  pasid: number;
  lo: number;
  hi: number;
  /** descriptors in flight naming it; a space the raw API handed out is pinned (never evicted) */
  inflight: number;
  /** the buffer, held strongly while descriptors naming it are in flight (hold()) */
  held: SharedArrayBuffer | null;
  pinned: boolean;
  used: number;
}

/** The bytes of `buffer` descriptors may reach: all of it, or a device memory's arena only. */
export function windowOf(buffer: SharedArrayBuffer, ctx = CTX_ADDR): [lo: number, hi: number] {
  if (buffer.byteLength >= ctx + Ctx.SIZE) {
    const dv = new DataView(buffer, ctx, Ctx.SIZE);
    if (dv.getUint32(Ctx.MAGIC, true) === DEVICE_MAGIC) {
      const lo = dv.getUint32(Ctx.ARENA_BASE, true);
      const hi = dv.getUint32(Ctx.ARENA_END, true);
      if (lo <= hi && hi <= buffer.byteLength) return [lo, hi];
      return [0, 0];
    }
  }
  return [0, buffer.byteLength];
}

export class AddressSpaces {
  /** slot - 1 -> entry */
  readonly #slots: Array<Entry | null> = [];
  readonly #ids = new WeakMap<SharedArrayBuffer, number>();
  readonly #generation = new Uint8Array(MAX_SPACES);
  readonly #post: (m: SpaceMessage) => void;
  readonly #gone = new FinalizationRegistry<number>((pasid) => this.#end(pasid));
  #clock = 0;

  constructor(post: (m: SpaceMessage) => void) {
    this.#post = post;
  }

  /** The PASID of `buffer` (registered now if need be), or -1 when every slot is in use. */
  id(buffer: SharedArrayBuffer, pinned = false): number {
    let pasid = this.#ids.get(buffer);
    if (pasid === undefined) {
      const [lo, hi] = windowOf(buffer);
      pasid = this.#register({ ref: new WeakRef(buffer), lo, hi, pinned }, { buffer, lo, hi });
      if (pasid < 0) return -1;
      this.#ids.set(buffer, pasid);
      this.#gone.register(buffer, pasid, buffer);
    }
    const e = this.#slots[(pasid & 0xfff) - 1]!;
    e.pinned ||= pinned;
    e.used = ++this.#clock;
    if (buffer.byteLength > e.hi && e.lo === 0 && (buffer as { growable?: boolean }).growable === true) {
      // A growable SharedArrayBuffer that grew since: its window grows with it (posted before
      // the descriptors that reach past the old end, which the engines read after it).
      e.hi = buffer.byteLength;
      this.#post({ id: pasid, buffer, lo: 0, hi: e.hi });
    }
    return pasid;
  }

  /**
   * The PASID of a file space (see foreign.ts): the file open at `file.fd`, its first `size`
   * bytes, read through the arena windows `file` names. It stays until end(); -1 when every
   * slot is in use.
   */
  file(file: FileWindow, size: number): number {
    // (pinned: never the least recently used space evicted, so its clock is never read)
    return this.#register({ ref: null, file, lo: 0, hi: size, pinned: true }, { buffer: null, lo: 0, hi: size, file });
  }

  /** Ends a file space (once no descriptor naming it is in flight). */
  end(pasid: number): void {
    if (this.#slots[(pasid & 0xfff) - 1]?.file !== undefined) this.#end(pasid);
  }

  /** A space in a free slot, its PASID (slot + 1, the slot's reuse generation in bits 19:12) posted to the engines with `message`; -1 when none is free. */
  #register(entry: Omit<Entry, 'pasid' | 'inflight' | 'used' | 'held'>, message: Omit<SpaceMessage, 'id'>): number {
    const slot = this.#freeSlot();
    if (slot < 0) return -1;
    const pasid = (slot + 1) | (this.#generation[slot] << 12);
    this.#slots[slot] = { ...entry, pasid, inflight: 0, used: 0, held: null };
    this.#post({ id: pasid, ...message });
    return pasid;
  }

  /** [lo, hi) of a registered space. */
  window(pasid: number): [number, number] {
    const e = this.#slots[(pasid & 0xfff) - 1];
    return e === null || e === undefined || e.pasid !== pasid ? [0, 0] : [e.lo, e.hi];
  }

  /**
   * A call is sending descriptors naming pasid / they have all completed. While any is in flight
   * the buffer is held here: a call's promise need not hold it (a crc32c resolves to a number),
   * and a program that kept only the promise had its buffer collected, and its space ended, while
   * the descriptors waited for room in the queue (they faulted: PAGE_FAULT).
   */
  hold(pasid: number): void {
    const e = this.#slots[(pasid & 0xfff) - 1];
    if (e?.pasid !== pasid) return;
    if (e.inflight++ === 0) e.held = e.ref?.deref() ?? null;
  }

  release(pasid: number): void {
    const e = this.#slots[(pasid & 0xfff) - 1];
    if (e?.pasid === pasid && e.inflight > 0 && --e.inflight === 0) e.held = null;
  }

  /** Registrations to send a newly launched engine. */
  current(): SpaceMessage[] {
    const out: SpaceMessage[] = [];
    for (const e of this.#slots) {
      if (e?.file !== undefined) out.push({ id: e.pasid, buffer: null, lo: e.lo, hi: e.hi, file: e.file });
      const buffer = e?.ref?.deref();
      if (e && buffer !== undefined) out.push({ id: e.pasid, buffer, lo: e.lo, hi: e.hi });
    }
    return out;
  }

  /** Spaces registered now. */
  get size(): number {
    return this.#slots.reduce((n, e) => n + (e === null ? 0 : 1), 0);
  }

  #freeSlot(): number {
    const free = this.#slots.indexOf(null);
    if (free >= 0) return free;
    if (this.#slots.length < MAX_SPACES) {
      this.#slots.push(null);
      return this.#slots.length - 1;
    }
    // Full: end the least recently used space that nothing is using.
    let victim = -1;
    for (let i = 0; i < this.#slots.length; i++) {
      const e = this.#slots[i]!;
      if (e.inflight === 0 && !e.pinned && (victim < 0 || e.used < this.#slots[victim]!.used)) victim = i;
    }
    if (victim < 0) return -1;
    this.#end(this.#slots[victim]!.pasid);
    return victim;
  }

  #end(pasid: number): void {
    const slot = (pasid & 0xfff) - 1;
    const e = this.#slots[slot];
    if (e === null || e === undefined || e.pasid !== pasid) return;
    const buffer = e.ref?.deref();
    if (buffer !== undefined) {
      this.#ids.delete(buffer);
      this.#gone.unregister(buffer);
    }
    this.#slots[slot] = null;
    this.#generation[slot] = (this.#generation[slot] + 1) & 0xff;
    this.#post({ id: pasid, buffer: null, lo: 0, hi: 0 });
  }
}
