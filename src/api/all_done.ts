/**
 * Promise.all for the pieces of one call, but settled only once every piece has: rejected at its
 * first failing piece, a call would be over for its caller while other pieces still read or write
 * its buffers (a split memcpy's other pieces wrote into dst after its promise had rejected).
 */
export function allDone<T>(pieces: readonly Promise<T>[]): Promise<T[]> {
  return Promise.allSettled(pieces).then((settled) => {
    const out = new Array<T>(settled.length);
    for (let i = 0; i < settled.length; i++) {
      const r = settled[i];
      if (r.status === 'rejected') throw r.reason;
      out[i] = r.value;
    }
    return out;
  });
}
