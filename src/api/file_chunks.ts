// The file calls' default chunking (files.ts), in a module of its own: the CLI's help shows
// these, and its bundle must not carry the file calls themselves (it reaches them through the
// package's entry, the one copy of the library a process loads).

/** Bytes per read (and per CRC) when chunkSize is not given. */
export const DEFAULT_CHUNK = 8 << 20;
/**
 * A mapped file's bytes per descriptor when chunkSize is not given: at most this, and fewer for a
 * small file, so that every engine has two (a 64 MiB file in the page cache, session 21: 32 MiB
 * 9.9 ms, 8 MiB 9.1; a 16 MiB one 4.4 and 4.0 ms, 4 MiB 3.6).
 */
export const MAPPED_CHUNK = 8 << 20;
/** Chunks in flight when inFlight is not given. */
export const DEFAULT_IN_FLIGHT = 4;
