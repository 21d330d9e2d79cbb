// The bytes a view really covers, read through the intrinsic getters of typed arrays and
// DataViews: a view's own (or its class's) buffer, byteOffset or byteLength could lie, and
// what a descriptor or a copy touches must be exactly the bytes the view covers (a subclass
// that said byteLength 8192 over 64 bytes had a memcpy overwrite the next arena block).
const typedArray = Object.getPrototypeOf(Uint8Array.prototype) as object;
const getter = (proto: object, name: string): ((this: unknown) => unknown) => Object.getOwnPropertyDescriptor(proto, name)!.get as (this: unknown) => unknown;
const TA = { buffer: getter(typedArray, 'buffer'), offset: getter(typedArray, 'byteOffset'), length: getter(typedArray, 'byteLength') };
const DV = { buffer: getter(DataView.prototype, 'buffer'), offset: getter(DataView.prototype, 'byteOffset'), length: getter(DataView.prototype, 'byteLength') };

/** Uint8Arrays whose getters are the intrinsic ones: no need to look again. */
const PLAIN: ReadonlySet<object> = new Set<object>(typeof Buffer === 'undefined' ? [Uint8Array.prototype] : [Uint8Array.prototype, Buffer.prototype]);

/** The view itself when it is a plain Uint8Array (or Buffer), else a plain Uint8Array over the bytes it really covers. Throws (TypeError) when it is not a view, or its buffer is detached. (A plain one's own properties can still lie: see trueView.) */
export function plainBytes(v: ArrayBufferView): Uint8Array {
  if (v instanceof Uint8Array && PLAIN.has(Object.getPrototypeOf(v) as object)) {
    // (a view of a detached buffer reads as empty: making one over that buffer throws, as below)
    if (v.byteLength === 0) new Uint8Array(v.buffer, 0, 0);
    return v;
  }
  const of = v instanceof DataView ? DV : TA;
  return new Uint8Array(of.buffer.call(v) as ArrayBuffer, of.offset.call(v) as number, of.length.call(v) as number);
}

/**
 * A Uint8Array that lies where it says: u8 itself, or, where a property defined on it says
 * otherwise (`buffer` set to another's aimed a copy at another arena block), a view of the bytes
 * it covers. Asked only of views that say they are in shared memory, which descriptors address:
 * on every view, four Object.hasOwn cost small calls 8-14%.
 */
export function trueView(u8: Uint8Array, arena: SharedArrayBuffer): Uint8Array {
  const b = u8.buffer;
  if (b !== arena && b instanceof ArrayBuffer) return u8; // (other memory is reached only through the view's own slots)
  if (!Object.hasOwn(u8, 'buffer') && !Object.hasOwn(u8, 'byteOffset') && !Object.hasOwn(u8, 'byteLength') && !Object.hasOwn(u8, 'length')) return u8;
  return new Uint8Array(TA.buffer.call(u8) as ArrayBuffer, TA.offset.call(u8) as number, TA.length.call(u8) as number);
}

const AB_LENGTH = getter(ArrayBuffer.prototype, 'byteLength');
const SAB_LENGTH = typeof SharedArrayBuffer === 'undefined' ? null : getter(SharedArrayBuffer.prototype, 'byteLength');

/**
 * Whether v is an ArrayBuffer or a SharedArrayBuffer, asked of the intrinsic getter: a Proxy of
 * one passes `instanceof` but has no bytes to reach (new Uint8Array(proxy) is empty: a CRC of
 * nothing, a copy of nothing, and no error).
 */
export function isBuffer(v: unknown): v is ArrayBuffer | SharedArrayBuffer {
  const sab = SAB_LENGTH !== null && v instanceof SharedArrayBuffer;
  if (!sab && !(v instanceof ArrayBuffer)) return false;
  try {
    (sab ? SAB_LENGTH : AB_LENGTH).call(v);
    return true;
  } catch {
    return false;
  }
}

/** [length] of a view, read through the intrinsic getter (a TypeError when v is not a view). */
export const realLength = (v: ArrayBufferView): number => (v instanceof DataView ? DV : TA).length.call(v) as number;
