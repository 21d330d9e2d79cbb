// CRC-32C values as people write them down:
//   hex    - 8 lowercase hex digits of the value (big-endian), as crc32c tools print it:
//            "123456789" -> e3069283
//   base64 - the value's 4 bytes big-endian, in base64: the form of Google Cloud Storage's
//            `x-goog-hash: crc32c=...` and S3's `x-amz-checksum-crc32c`: "123456789" -> 4waSgw==
//   number - the unsigned 32-bit value, as crc32c() resolves
//   buffer - the 4 bytes big-endian
// The value given may be unsigned or signed 32-bit; anything else is an error.
import { argCoded } from '../device/errors.ts';
import { newBytes } from '../device/host.ts';

export type Crc32cFormat = 'number' | 'hex' | 'base64' | 'buffer';

const FORMATS: readonly string[] = ['number', 'hex', 'base64', 'buffer'];

export function formatCrc32c(crc: number, format?: 'number'): number;
export function formatCrc32c(crc: number, format: 'hex' | 'base64'): string;
export function formatCrc32c(crc: number, format: 'buffer'): Buffer;
export function formatCrc32c(crc: number, format?: Crc32cFormat): number | string | Buffer;
export function formatCrc32c(crc: number, format: Crc32cFormat = 'number'): number | string | Buffer {
  return formatAs('formatCrc32c', crc, format);
}

/** formatCrc32c, its errors named by `where` (the function called). */
export function formatAs(where: string, crc: number, format: Crc32cFormat): number | string | Buffer {
  if (!FORMATS.includes(format as string)) throw argCoded(new TypeError(`${where}: a CRC-32C format is one of ${FORMATS.join(', ')}; got ${String(format)}`));
  // A CRC is a 32-bit integer; anything else is a mistake to say, not to print as a checksum
  // (a forgotten await made 'AAAAAA==' of a promise). A signed 32-bit value, as some libraries
  // return it, is the same CRC.
  if (typeof crc !== 'number') throw argCoded(new TypeError(`${where}: a CRC-32C is a number; got ${crc === null ? 'null' : typeof crc}${(crc as unknown) instanceof Promise ? ' (a Promise: missing await?)' : ''}`));
  if (!Number.isInteger(crc) || crc < -0x80000000 || crc > 0xffffffff) throw argCoded(new RangeError(`${where}: a CRC-32C is an integer from -2^31 to 2^32-1; got ${crc}`));
  const v = crc >>> 0;
  if (format === 'number') return v;
  if (format === 'hex') return v.toString(16).padStart(8, '0');
  // (no Buffer in a browser: the host's bytes, and btoa, which both have)
  const b = newBytes(4);
  new DataView(b.buffer, b.byteOffset, 4).setUint32(0, v, false);
  return format === 'base64' ? btoa(String.fromCharCode(...b)) : (b as Buffer);
}

/** The CRC-32C as 8 lowercase hex digits (e3069283). */
export const crc32cHex = (crc: number): string => formatAs('crc32cHex', crc, 'hex') as string;

/** The CRC-32C as base64 of its 4 big-endian bytes (4waSgw==), as in x-goog-hash and x-amz-checksum-crc32c. */
export const crc32cBase64 = (crc: number): string => formatAs('crc32cBase64', crc, 'base64') as string;

/** A CRC-32C written as 8 hex digits or as base64 of 4 bytes; null when the text is neither. */
export function parseCrc32c(text: string): number | null {
  if (typeof text !== 'string') throw argCoded(new TypeError(`parseCrc32c: the text is a string (8 hex digits, or base64 as in x-goog-hash); got ${text === null ? 'null' : typeof text}`));
  const t = text.trim();
  if (/^[0-9a-fA-F]{8}$/.test(t)) return parseInt(t, 16) >>> 0;
  if (/^[A-Za-z0-9+/]{6}==$/.test(t)) {
    const bytes = atob(t);
    const v = ((bytes.charCodeAt(0) << 24) | (bytes.charCodeAt(1) << 16) | (bytes.charCodeAt(2) << 8) | bytes.charCodeAt(3)) >>> 0;
    if (formatCrc32c(v, 'base64') === t) return v; // (the canonical form only: unused bits zero)
  }
  return null;
}
