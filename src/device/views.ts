// The bytes a view really covers, read through the intrinsic getters of typed arrays and
// DataViews: a view's own (or its class's) buffer, byteOffset or byteLength could lie, and
// what a descriptor or a copy touches must be exactly the bytes the view covers (a subclass
// that said byteLength 8192 over 64 bytes had a memcpy overwrite the next arena block).
const typedArray = Object.getPrototypeOf(Uint8Array.prototype) as object;
const getter = (proto: object, name: string): ((this: unknown) => unknown) => Object.getOwnPropertyDescriptor(proto, name)!.get as (this: unknown) => unknown;
const TA = { buffer: getter(typedArray, 'buffer'), offset: getter(typedArray, 'byteOffset'), length: getter(typedArray, 'byteLength') };
const DV = { buffer: getter(DataView.prototype, 'buffer'), offset: getter(DataView.prototype, 'byteOffset'), length: getter(DataView.prototype, 'byteLength') };

const TypedArray = Object.getPrototypeOf(Uint8Array) as abstract new () => ArrayBufferView;

/** Whether a view is a DataView, of this realm or another's (vm, an iframe: instanceof says no, and the typed arrays' getters refuse it). */
const isDataView = (v: ArrayBufferView): boolean => v instanceof DataView || (!(v instanceof TypedArray) && answers(DV.buffer, v));

/** Uint8Arrays whose getters are the intrinsic ones: no need to look again. */
const PLAIN: ReadonlySet<object> = new Set<object>(typeof Buffer === 'undefined' ? [Uint8Array.prototype] : [Uint8Array.prototype, Buffer.prototype]);

/**
 * Whether a view has a property of its own where its class has a getter: defined on it, to lie
 * (`buffer` set to another's aimed a copy at another arena block). Asked of every view: asked
 * only of those whose `buffer` said shared memory, a getter that answered otherwise the first
 * time got through (the second regression pass). 20 ns a view.
 */
const shadowed = (v: object): boolean => Object.hasOwn(v, 'buffer') || Object.hasOwn(v, 'byteOffset') || Object.hasOwn(v, 'byteLength') || Object.hasOwn(v, 'length');

/**
 * Whether v is a plain Uint8Array (or Buffer) whose getters are the intrinsic ones: what it says of
 * its bytes is true. (isView first: a Proxy of a Buffer passes instanceof, and its getters throw.)
 */
export const isPlain = (v: unknown): v is Uint8Array => ArrayBuffer.isView(v) && v instanceof Uint8Array && PLAIN.has(Object.getPrototypeOf(v) as object) && !shadowed(v);

/** The view itself when it is a plain Uint8Array (or Buffer) with no property of its own that could lie, else a plain Uint8Array over the bytes it really covers. Throws (TypeError) when it is not a view, or its buffer is detached. */
export function plainBytes(v: ArrayBufferView): Uint8Array {
  if (isPlain(v)) {
    // (a view of a detached buffer reads as empty: making one over that buffer throws, as below)
    if (v.byteLength === 0) new Uint8Array(v.buffer, 0, 0);
    return v;
  }
  const of = isDataView(v) ? DV : TA;
  return new Uint8Array(of.buffer.call(v) as ArrayBuffer, of.offset.call(v) as number, of.length.call(v) as number);
}

const SUBARRAY = (typedArray as { subarray: (this: unknown, begin: number) => unknown }).subarray;
const AT = (typedArray as { at: (this: unknown, index: number) => unknown }).at;

/**
 * Whether a view that reads as empty lies past the end of its buffer (a resizable ArrayBuffer
 * shrunk below it), not detached nor made empty: its getters then say 0 bytes at 0, and V8 went
 * on to call it detached, or took it for 0 bytes (a CRC of nothing, no error). A typed array's
 * subarray(0) is made at its own offset, which the buffer no longer reaches; a DataView's
 * byteLength throws, as on a detached buffer, which a view made over the buffer tells apart.
 */
export function outOfBounds(v: ArrayBufferView): boolean {
  try {
    if (isDataView(v)) {
      DV.length.call(v);
      return false;
    }
    SUBARRAY.call(v, 0);
    // (one at offset 0 makes its subarray(0) in bounds, 0 bytes at 0: at() checks the view itself, as V8's methods do)
    AT.call(v, 0);
    return false;
  } catch (e) {
    if (!isDataView(v)) return e instanceof RangeError || (e instanceof TypeError && !isDetached(TA.buffer.call(v) as ArrayBufferLike));
    return !isDetached(DV.buffer.call(v) as ArrayBuffer);
  }
}

/** Whether an ArrayBuffer is detached (transferred): a view made over it throws (Node 20 has no .detached). */
export function isDetached(b: ArrayBufferLike): boolean {
  try {
    new Uint8Array(b, 0, 0);
    return false;
  } catch {
    return true;
  }
}

const AB_LENGTH = getter(ArrayBuffer.prototype, 'byteLength');
const SAB_LENGTH = typeof SharedArrayBuffer === 'undefined' ? null : getter(SharedArrayBuffer.prototype, 'byteLength');

/**
 * Whether v is an ArrayBuffer or a SharedArrayBuffer, asked of the intrinsic getters (they read
 * the buffer's own slot): a Proxy of one passes `instanceof` but has no bytes to reach (new
 * Uint8Array(proxy) is empty: a CRC of nothing, a copy of nothing, and no error), and one from
 * another realm (vm, an iframe) fails `instanceof` but is one.
 */
export function isBuffer(v: unknown): v is ArrayBuffer | SharedArrayBuffer {
  return (typeof v === 'object' && v !== null && answers(AB_LENGTH, v)) || isSharedBuffer(v);
}

/** Whether v is a SharedArrayBuffer (of any realm; not a Proxy of one), asked as isBuffer asks. */
export function isSharedBuffer(v: unknown): v is SharedArrayBuffer {
  return typeof v === 'object' && v !== null && SAB_LENGTH !== null && answers(SAB_LENGTH, v);
}

function answers(getter: (this: unknown) => unknown, v: object): boolean {
  try {
    getter.call(v);
    return true;
  } catch {
    return false;
  }
}

/** Whether a view's buffer is detached, its buffer read through the intrinsic getter. */
const viewDetached = (v: ArrayBufferView): boolean => isDetached((isDataView(v) ? DV : TA).buffer.call(v) as ArrayBufferLike);

/**
 * A view's real length (realLength) and whether its buffer is detached; null when v is no view. A
 * DataView whose buffer is detached (or shrunk below it) has no length to read, its getter throws:
 * 0 bytes here.
 */
export function measured(v: unknown): { length: number; detached: boolean } | null {
  if (!ArrayBuffer.isView(v)) return null;
  let length = 0;
  try {
    length = realLength(v);
  } catch {
    // (0 bytes, as a typed array's getter says of a detached buffer)
  }
  return { length, detached: length === 0 && viewDetached(v) };
}

/** [length] of a view, read through the intrinsic getter (a TypeError when v is not a view). */
export const realLength = (v: ArrayBufferView): number => (isDataView(v) ? DV : TA).length.call(v) as number;
