// The device fuzzer's body, shared by the Node fuzz (fuzz.test.ts) and the browser's
// (browser_page.ts): seeded random batches through a device, each replayed by the JS reference
// on a mirror of the memory; memory must match byte for byte after every batch, and the
// control region, the core's tables and another device's arena must never change.
import { Descriptor } from '../src/device/descriptor.ts';
import { Ctx, Limit, Status } from '../src/device/format.ts';
import { randomDescriptor, rng, type Region } from './gen.ts';
import { referenceExecute, type RefCtx } from './reference.ts';

/** What the fuzzer needs of a device (the Node one or the browser one: the same class). */
export interface FuzzDevice {
  memory: WebAssembly.Memory;
  layout: { ctx: number; tables: number; arenaBase: number; arenaEnd: number };
  alloc(bytes: number, align?: number): number;
  submit(desc: Uint8Array): Promise<number>;
}

export interface FuzzResult {
  done: number;
  /** completion-record status -> count (-1: no record) */
  statuses: Map<number, number>;
}

const PER_BATCH = 32;

/** Throws (an Error naming the seed and round) at the first difference from the reference. */
export async function fuzzDevice(dev: FuzzDevice, other: FuzzDevice, seed: number, n: number): Promise<FuzzResult> {
  const arena = dev.layout.arenaEnd - dev.layout.arenaBase;
  const mem = new Uint8Array(dev.memory.buffer as unknown as SharedArrayBuffer);
  const otherMem = new Uint8Array(other.memory.buffer as unknown as SharedArrayBuffer);
  const otherArena = (): Uint8Array => otherMem.subarray(other.layout.arenaBase, other.layout.arenaEnd);
  const otherBefore = otherArena().slice();
  const { arenaBase, arenaEnd } = dev.layout;
  const dv = new DataView(mem.buffer, dev.layout.ctx, 64);
  const ctx: RefCtx = {
    arenaBase,
    arenaEnd,
    maxTransfer: dv.getUint32(Ctx.MAX_TRANSFER, true),
    maxBatch: dv.getUint32(Ctx.MAX_BATCH, true),
    handles: dv.getBigUint64(Ctx.INT_HANDLES, true),
  };
  const control = mem.slice(dev.layout.ctx, dev.layout.ctx + 64);
  const tables = mem.slice(dev.layout.tables, dev.layout.tables + Limit.CORE_TABLE_BYTES);
  const records = dev.alloc(32 * 64, 32);
  const lists = dev.alloc(64 * 64, 64); // nested batch lists the generator writes
  const top = dev.alloc(64 * PER_BATCH, 64); // the list of each submitted batch
  const batchRec = dev.alloc(32, 32);
  const base = dev.alloc(arena / 2, 4096);
  const g: Region = { base, size: arena / 2, records, recordCount: 64, arenaBase, arenaEnd };
  const r = rng(seed);
  mem.subarray(base, base + arena / 2).forEach((_, i, v) => (v[i] = r() & 3 ? r() & 0xff : 0));
  const mirror = mem.slice();
  const write = (addr: number, bytes: Uint8Array): void => {
    mem.set(bytes, addr);
    mirror.set(bytes, addr);
  };
  const fail = (why: string): never => {
    throw new Error(`fuzz seed ${seed}: ${why}`);
  };
  /** The first index where a and b differ, or -1 (32-bit words first: both start 4-aligned). */
  const firstDiff = (a: Uint8Array, b: Uint8Array): number => {
    const x = new Int32Array(a.buffer, a.byteOffset, a.length >>> 2);
    const y = new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
    let w = 0;
    while (w < x.length && x[w] === y[w]) w++;
    for (let i = w << 2; i < a.length; i++) if (a[i] !== b[i]) return i;
    return -1;
  };
  const statuses = new Map<number, number>();
  let done = 0;
  for (let round = 0; done < n; round++) {
    for (let i = 0; i < PER_BATCH; i++) write(top + 64 * i, randomDescriptor(r, g, { write, lists, listSlots: 64, wrong: 0.25, maxSize: 1024, dif: true }));
    const batch = Descriptor.batch({ list: top, count: PER_BATCH, completion: batchRec });
    const scratch = 64; // the reference reads the batch descriptor from the control region of its mirror
    mirror.set(batch, scratch);
    const ref = referenceExecute(mirror, scratch, ctx);
    const status = await dev.submit(batch);
    if (status !== ref.status) fail(`round ${round}: batch status 0x${status.toString(16)}, reference 0x${ref.status.toString(16)}`);
    for (let i = 0; i < PER_BATCH; i++) {
      const rec = new DataView(mem.buffer).getUint32(top + 64 * i + 8, true);
      const s = rec % 32 === 0 && rec >= arenaBase && rec < arenaEnd ? mem[rec] & 0x7f : -1;
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    const at = firstDiff(mem.subarray(arenaBase, arenaEnd), mirror.subarray(arenaBase, arenaEnd));
    if (at >= 0) fail(`round ${round}: arena byte ${arenaBase + at} is ${mem[arenaBase + at]}, reference ${mirror[arenaBase + at]}`);
    done += PER_BATCH;
  }
  if (firstDiff(mem.subarray(dev.layout.ctx, dev.layout.ctx + 64), control) >= 0) fail('device context changed');
  if (firstDiff(mem.subarray(dev.layout.tables, dev.layout.tables + Limit.CORE_TABLE_BYTES), tables) >= 0) fail('core tables changed');
  if (firstDiff(otherArena(), otherBefore) >= 0) fail("the other device's arena changed");
  // Both kernels and checks were exercised.
  if ((statuses.get(Status.SUCCESS) ?? 0) <= n / 10) fail('too few successes');
  if ([...statuses.keys()].filter((s) => s > Status.SUCCESS).length < 8) fail('too few kinds of failure');
  return { done, statuses };
}

/** "0x00:n 0x01:n ...": records by status, for the log. */
export const statusSummary = (statuses: Map<number, number>): string =>
  [...statuses].sort((a, b) => a[0] - b[0]).map(([s, k]) => `${s < 0 ? 'none' : '0x' + s.toString(16)}:${k}`).join(' ');
