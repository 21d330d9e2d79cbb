// A seeded fuzzer through the whole device: random descriptors (valid, invalid, faulting,
// batches of them, delta records) submitted in batch lists to real engines, each batch
// replayed by the independent JS reference on a mirror of the memory. Every descriptor
// must yield a status; memory must equal the reference's byte for byte after every batch
// (so nothing was written outside what the reference writes: the destinations); the
// control region and a second device must never change.
// Reproduce: FUZZ_SEED=<seed> (printed on failure); FUZZ_DEVICE_N=<descriptors>.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Device, Descriptor, Status } from '../src/index.ts';
import { Ctx, Limit } from '../src/device/format.ts';
import { randomDescriptor, rng, type Region } from './gen.ts';
import { referenceExecute, type RefCtx } from './reference.ts';

const ARENA = 1 << 20;
const N = Number(process.env.FUZZ_DEVICE_N ?? 1_000_000);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : (Math.random() * 2 ** 31) >>> 0;
const PER_BATCH = 32;

test(`fuzz: ${N} random descriptors through the device match the reference (seed ${SEED})`, async () => {
  const dev = await Device.open({ engines: 2, arenaBytes: ARENA, wqSize: 64 });
  const other = await Device.open({ engines: 1, arenaBytes: 1 << 16 });
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
  const base = dev.alloc(ARENA / 2, 4096);
  const g: Region = { base, size: ARENA / 2, records, recordCount: 64, arenaBase, arenaEnd };
  const r = rng(SEED);
  mem.subarray(base, base + ARENA / 2).forEach((_, i, v) => (v[i] = r() & 3 ? r() & 0xff : 0));
  const mirror = mem.slice();
  const write = (addr: number, bytes: Uint8Array): void => {
    mem.set(bytes, addr);
    mirror.set(bytes, addr);
  };
  const statuses = new Map<number, number>();
  let done = 0;
  try {
    for (let round = 0; done < N; round++) {
      for (let i = 0; i < PER_BATCH; i++) write(top + 64 * i, randomDescriptor(r, g, { write, lists, listSlots: 64, wrong: 0.25, maxSize: 1024, dif: true }));
      const batch = Descriptor.batch({ list: top, count: PER_BATCH, completion: batchRec });
      const scratch = 64; // the reference reads the batch descriptor from the control region of its mirror
      mirror.set(batch, scratch);
      const ref = referenceExecute(mirror, scratch, ctx);
      const status = await dev.submit(batch);
      if (status !== ref.status) assert.unreachable(`seed ${SEED} round ${round}: batch status 0x${status.toString(16)}, reference 0x${ref.status.toString(16)}`);
      for (let i = 0; i < PER_BATCH; i++) {
        const rec = new DataView(mem.buffer).getUint32(top + 64 * i + 8, true);
        const s = rec % 32 === 0 && rec >= arenaBase && rec < arenaEnd ? mem[rec] & 0x7f : -1;
        statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
      if (Buffer.compare(mem.subarray(arenaBase, arenaEnd), mirror.subarray(arenaBase, arenaEnd)) !== 0) {
        let at = arenaBase;
        while (mem[at] === mirror[at]) at++;
        assert.unreachable(`seed ${SEED} round ${round}: arena byte ${at} is ${mem[at]}, reference ${mirror[at]}`);
      }
      done += PER_BATCH;
    }
    assert.equal(mem.subarray(dev.layout.ctx, dev.layout.ctx + 64), control, 'device context changed');
    assert.equal(mem.subarray(dev.layout.tables, dev.layout.tables + Limit.CORE_TABLE_BYTES), tables, 'core tables changed');
    assert.ok(Buffer.compare(otherArena(), otherBefore) === 0, "the other device's arena changed");
    // Both kernels and checks were exercised.
    assert.ok((statuses.get(Status.SUCCESS) ?? 0) > N / 10, 'too few successes');
    assert.ok([...statuses.keys()].filter((s) => s > Status.SUCCESS).length >= 8, 'too few kinds of failure');
    console.log(`  ${done} descriptors, seed ${SEED}; records by status: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s < 0 ? 'none' : '0x' + s.toString(16)}:${n}`).join(' ')}`);
  } catch (e) {
    console.error(`fuzz failed: FUZZ_SEED=${SEED}`);
    throw e;
  } finally {
    await dev.close();
    await other.close();
  }
});

test.run();
