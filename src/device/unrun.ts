// Descriptors no engine completed, finished on the device's behalf, exactly once: those a dead
// engine held (status 0x20, hardware error) and those still published when the device closed
// (0xff, aborted, as Linux's idxd driver reports). Either way the record is written where the
// descriptor asks for one, its RCI handle is raised, and its submitter's vector is signalled.
import type { Vectors } from './completion.ts';
import type { Layout } from './layout.ts';
import { settleUnrun } from './record.ts';
import type { WorkQueue } from './work_queue.ts';

export class Unrun {
  readonly #wq: WorkQueue;
  readonly #vectors: Vectors;
  readonly #mem: Uint8Array;
  readonly #base: number;
  readonly #end: number;

  constructor(wq: WorkQueue, vectors: Vectors, memory: WebAssembly.Memory, layout: Layout) {
    this.#wq = wq;
    this.#vectors = vectors;
    this.#mem = new Uint8Array(memory.buffer as unknown as SharedArrayBuffer);
    this.#base = layout.arenaBase;
    this.#end = layout.arenaEnd;
  }

  /** Completes a position claimed by an engine that died. */
  finishClaimed(pos: number, status: number): void {
    const handle = settleUnrun(this.#mem, this.#wq.descriptor(pos), this.#base, this.#end, status);
    const vector = this.#wq.vectorOf(pos);
    this.#raiseHandle(handle); // (before the slot is done: no engine mark holds the handle back from a next owner here, see Vectors.claim)
    this.#wq.complete(pos, status);
    this.#vectors.signal(vector);
  }

  /** Aborts a published position no engine will run; false if an engine or another aborter took it first. */
  abortPublished(pos: number, status: number): boolean {
    const vector = this.#wq.vectorOf(pos);
    const done = this.#wq.abort(pos, status, (desc) => {
      this.#raiseHandle(settleUnrun(this.#mem, desc, this.#base, this.#end, status)); // (before the slot is done)
    });
    if (done) this.#vectors.signal(vector);
    return done;
  }

  /** RCI of a descriptor finished unrun: its handle, where it asked for one that is valid (-1: none). */
  #raiseHandle(handle: number): void {
    if (handle >= 0 && this.#vectors.isHandle(handle)) this.#vectors.signal(handle);
  }
}
