// The fill kernel of the JS paths (inline calls, foreign spaces): an 8-byte pattern repeated.

/** Fills u8 with the 8-byte pattern, phase from u8[0]: the first 8 bytes, then doubling copies. */
export function fillPattern(u8: Uint8Array, pattern: Uint8Array): void {
  const n = u8.byteLength;
  const head = Math.min(8, n);
  u8.set(pattern.subarray(0, head));
  for (let done = head; done < n; done *= 2) u8.copyWithin(done, 0, Math.min(done, n - done));
}
