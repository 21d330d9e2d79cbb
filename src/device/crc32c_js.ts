// CRC-32C (Castagnoli, reflected 0x82F63B78) in JavaScript, slice-by-8: for bytes outside the
// arena, which the Wasm core cannot address, where the CPU's instruction is not at hand (cpu_crc.ts):
// in a browser, and in Node where @node-rs/crc32's native binary does not load.
const T = ((): Uint32Array[] => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[0][i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) for (let s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >>> 8) ^ t[0][t[s - 1][i] & 0xff];
  return t;
})();

/** CRC-32C of u8, continuing from `seed` (a previous result; 0 to start). */
export function crc32cJs(u8: Uint8Array, seed = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = T;
  let c = ~seed >>> 0;
  let i = 0;
  const n = u8.byteLength;
  for (; i + 8 <= n; i += 8) {
    const lo = (c ^ (u8[i] | (u8[i + 1] << 8) | (u8[i + 2] << 16) | (u8[i + 3] << 24))) >>> 0;
    c = t7[lo & 0xff] ^ t6[(lo >>> 8) & 0xff] ^ t5[(lo >>> 16) & 0xff] ^ t4[lo >>> 24] ^
      t3[u8[i + 4]] ^ t2[u8[i + 5]] ^ t1[u8[i + 6]] ^ t0[u8[i + 7]];
  }
  for (; i < n; i++) c = t0[(c ^ u8[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
