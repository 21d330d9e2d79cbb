// The wiper: blocks the device used for its own work go back to the arena zeroed, a large one a
// few slices per event-loop turn (an abort storm's file chunks, zeroed at once, held the loop).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TURN_BYTES, WIPE_SLICE, Wiper } from '../src/device/wiper.ts';
import { Device } from '../src/index.ts';

const releaseOwn = Symbol.for('softdsa.releaseOwn');
type Releasing = { [releaseOwn](addr: number, written?: number): void };
const turn = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

/** A wiper over a plain array of 0xff bytes, recording what it zeroes and frees. */
function rig(bytes: number): { mem: Uint8Array; w: Wiper; zeroed: number[]; freed: number[] } {
  const mem = new Uint8Array(bytes).fill(0xff);
  const zeroed: number[] = [];
  const freed: number[] = [];
  const w = new Wiper(
    (addr, n) => {
      zeroed.push(n);
      mem.fill(0, addr, addr + n);
    },
    (addr) => freed.push(addr),
  );
  return { mem, w, zeroed, freed };
}

test('a block of a slice or less is zeroed and freed at once', () => {
  const { mem, w, freed } = rig(2 * WIPE_SLICE);
  w.release(64, WIPE_SLICE);
  assert.equal(freed, [64]);
  assert.ok(mem.subarray(64, 64 + WIPE_SLICE).every((b) => b === 0));
  assert.is(mem[64 + WIPE_SLICE], 0xff, 'only the bytes asked for');
  w.release(0, 0);
  assert.equal(freed, [64, 0], 'nothing written: freed, nothing zeroed');
});

test('a larger block is zeroed a few slices per turn, stays taken until all of it is, and is freed once', async () => {
  const size = 2 * TURN_BYTES + 100;
  const { mem, w, zeroed, freed } = rig(size + 64);
  w.release(64, size);
  assert.equal(zeroed, [], 'nothing zeroed in the call');
  assert.ok(w.has(64));
  let turns = 0;
  while (freed.length === 0) {
    await turn();
    turns++;
    assert.ok(turns < 100, 'done in a bounded number of turns');
  }
  assert.ok(turns >= 3, `over three turns at least (took ${turns})`);
  assert.ok(zeroed.every((n) => n <= WIPE_SLICE), 'a slice at a time');
  assert.equal(freed, [64]);
  assert.not.ok(w.has(64));
  assert.ok(mem.subarray(64, 64 + size).every((b) => b === 0));
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(freed, [64], 'freed once');
});

test('flush() zeroes and frees every queued block now, and says whether there was one', () => {
  const { mem, w, freed } = rig(8 * WIPE_SLICE);
  assert.is(w.flush(), false);
  w.release(0, 3 * WIPE_SLICE);
  w.release(4 * WIPE_SLICE, 4 * WIPE_SLICE);
  assert.is(w.flush(), true);
  assert.equal(freed, [0, 4 * WIPE_SLICE]);
  assert.ok(mem.subarray(0, 3 * WIPE_SLICE).every((b) => b === 0));
  assert.is(mem[3 * WIPE_SLICE], 0xff);
  assert.is(w.flush(), false);
});

test('a caller awaiting a block (a reclaim) keeps the process alive until it is freed; with none waiting, the process may exit first', async () => {
  const { spawnSync } = await import('node:child_process');
  const script = (waits: boolean): string => `import { Wiper } from ${JSON.stringify(new URL('../src/device/wiper.ts', import.meta.url).href)};
const mem = new Uint8Array(64 << 20);
const w = new Wiper((a, n) => mem.fill(0, a, a + n), () => {});
${waits ? "w.release(0, mem.length, () => console.log('freed'));" : "w.release(0, mem.length); process.on('exit', () => console.log(w.has(0) ? 'exited first' : 'freed'));"}`;
  for (const waits of [true, false]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(waits)], { encoding: 'utf8', timeout: 60000 });
    assert.is(r.stdout.trim(), waits ? 'freed' : 'exited first', r.stderr);
  }
});

test('a loop waiting on something else (a timer) has its blocks zeroed meanwhile (an unref\'d immediate ran only when the loop woke for other work)', async () => {
  const { spawnSync } = await import('node:child_process');
  const script = `import { Wiper } from ${JSON.stringify(new URL('../src/device/wiper.ts', import.meta.url).href)};
const mem = new Uint8Array(64 << 20).fill(1);
const w = new Wiper((a, n) => mem.fill(0, a, a + n), () => {});
w.release(0, mem.length);
setTimeout(() => console.log(w.has(0) ? 'still waiting' : 'zeroed'), 1000);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  assert.is(r.stdout.trim(), 'zeroed', r.stderr);
});

test('on a device: a large block given back is zeroed over turns, the whole arena can be taken at once meanwhile, and it cannot be freed twice', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 32 << 20 });
  try {
    const big = dev.buffer(16 << 20);
    big.fill(0xa5);
    const at = big.byteOffset;
    (dev as unknown as Releasing)[releaseOwn](at);
    assert.is(big[big.length - 1], 0xa5, 'not zeroed in the call');
    assert.throws(() => dev.free(at), /freed already/, 'not the program\'s to free while it waits');
    let turns = 0;
    while (big[big.length - 1] !== 0) {
      await turn();
      turns++;
    }
    assert.ok(turns >= (16 << 20) / TURN_BYTES, `16 MiB over ${(16 << 20) / TURN_BYTES} turns at least (took ${turns})`);
    assert.ok(big.every((b) => b === 0), 'all of it zeroed');
    const again = dev.buffer(16 << 20);
    again.fill(0x5a);
    (dev as unknown as Releasing)[releaseOwn](again.byteOffset);
    // An allocation that finds no room finishes the waiting blocks first.
    const whole = dev.buffer(dev.arenaBytes - (8 << 20));
    assert.ok(whole.every((b) => b === 0), 'a block taken over one still waiting: zeroed before it was handed out');
    dev.free(whole);
  } finally {
    await dev.close();
  }
});

test.run();
