// Bytes no engine reaches, folded on this thread by its core: the core reads only the arena, so
// they are copied a window at a time into the thread's own area (its here window) and folded
// there (CRC-32C, CRC-16 T10-DIF), each window from the last one's result.
import { stillThere } from './args.ts';

/**
 * Folds u8[from, to) through the `cap`-byte window at `win` of mem: each piece copied in, then
 * `acc = fold(win, len, acc)`; the result. A buffer that shrank or was detached meanwhile (a
 * sliced call's turns between windows) throws BUFFER_GONE (stillThere).
 */
export function throughWindow(mem: Uint8Array, u8: Uint8Array, from: number, to: number, win: number, cap: number, acc: number, fold: (at: number, len: number, acc: number) => number): number {
  for (let i = from; i < to; i += cap) {
    const len = Math.min(cap, to - i);
    mem.set(stillThere(u8, i, i + len), win);
    acc = fold(win, len, acc);
  }
  return acc;
}
