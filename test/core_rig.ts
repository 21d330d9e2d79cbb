// The layout of the test device that core.test.ts and dif.test.ts run the Wasm core in, and the
// device context written from a reference context (test/reference.ts's RefCtx).
import { readFileSync } from 'node:fs';
import { Ctx, Limit } from '../src/device/format.ts';
import type { RefCtx } from './reference.ts';

export const PAGE = 65536;
export const CTX = 4096;
export const IRQ = 4160;
/** top-level descriptors live outside the arena, as in the control region */
export const DESC = 4224;
export const TABLES = PAGE;
/** one area per instance */
export const SCRATCH = TABLES + Limit.CORE_TABLE_BYTES;
/** the first page past the scratch */
export const ARENA_LO = Math.ceil((SCRATCH + Limit.CORE_SCRATCH_BYTES) / PAGE) * PAGE;

/** The core: build/core.wasm, or CORE_WASM=<path> (e.g. a mutant) without touching it. */
export const coreWasm = (): WebAssembly.Module => new WebAssembly.Module(readFileSync(process.env.CORE_WASM ?? new URL('../build/core.wasm', import.meta.url)));

/** Writes `ctx` into the device context the core reads. */
export function writeCtx(view: DataView, ctx: RefCtx): void {
  view.setUint32(CTX + Ctx.ARENA_BASE, ctx.arenaBase, true);
  view.setUint32(CTX + Ctx.ARENA_END, ctx.arenaEnd, true);
  view.setUint32(CTX + Ctx.MAX_TRANSFER, ctx.maxTransfer, true);
  view.setUint32(CTX + Ctx.MAX_BATCH, ctx.maxBatch, true);
  view.setBigUint64(CTX + Ctx.INT_HANDLES, ctx.handles, true);
  view.setUint32(CTX + Ctx.TABLES, TABLES, true);
}
