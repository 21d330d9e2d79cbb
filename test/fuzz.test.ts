// A seeded fuzzer through the whole device: random descriptors (valid, invalid, faulting,
// batches of them, delta records) submitted in batch lists to real engines, each batch
// replayed by the independent JS reference on a mirror of the memory. Every descriptor
// must yield a status; memory must equal the reference's byte for byte after every batch
// (so nothing was written outside what the reference writes: the destinations); the
// control region and a second device must never change (fuzz_device.ts; the browser test
// runs the same in Chromium).
// Reproduce: FUZZ_SEED=<seed> (printed on failure); FUZZ_DEVICE_N=<descriptors>.
import { test } from 'uvu';
import { Device } from '../src/index.ts';
import { fuzzDevice, statusSummary } from './fuzz_device.ts';

const ARENA = 1 << 20;
const N = Number(process.env.FUZZ_DEVICE_N ?? 1_000_000);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : (Math.random() * 2 ** 31) >>> 0;

test(`fuzz: ${N} random descriptors through the device match the reference (seed ${SEED})`, async () => {
  const dev = await Device.open({ engines: 2, arenaBytes: ARENA, wqSize: 64 });
  const other = await Device.open({ engines: 1, arenaBytes: 1 << 16 });
  try {
    const { done, statuses } = await fuzzDevice(dev, other, SEED, N);
    console.log(`  ${done} descriptors, seed ${SEED}; records by status: ${statusSummary(statuses)}`);
  } catch (e) {
    console.error(`fuzz failed: FUZZ_SEED=${SEED}`);
    throw e;
  } finally {
    await dev.close();
    await other.close();
  }
});

test.run();
