// A thread's connection to a device: its portal to the work queues (submit and the raw verbs),
// views of the arena, interrupt handles. The opener's Device and an attached thread's
// AttachedDevice are both one (src/device.ts), with the drop-in calls on top (src/api/calls.ts).
import { Interrupt, Vectors } from './completion.ts';
import { argCoded, Errors } from './errors.ts';
import type { EventFdAddon } from './eventfd.ts';
import { type Layout, wqIndexOf, wqsListed } from './layout.ts';
import { type ErrorLogEntry, Portal, type SubmitOptions } from './portal.ts';

/** What another thread needs to attach: send it with postMessage or workerData. */
export interface DeviceHandle {
  memory: WebAssembly.Memory;
  layout: Layout;
  shared: boolean;
  eventfd: boolean;
  /** arena bytes [base, end) lent to the one thread that attaches with this handle (Device.lend): its buffers and drop-in calls */
  arena?: { base: number; end: number; key?: [number, number] };
  /** the opener's cacheBypassBytes: an attached thread's split copies cut their pieces to reach it */
  cacheBypassBytes?: number;
  /** the compiled core (Device.lend): the attached thread's inline calls need not compile it again */
  module?: WebAssembly.Module;
  /** arena ranges [from, to) the opener keeps for its own calls (its descriptor block, its here area): an attached thread's calls refuse views over them, as the opener's do */
  kept?: Array<[number, number]>;
}

/** Every connection made (a Device, an AttachedDevice): what their methods take as `this` (an object made from one, Object.create(dev), is none). */
const connections = new WeakSet<object>();

/** Whether x is a connection this copy of softdsa made (not one posing as one, nor another copy's). */
export const isConnection = (x: unknown): x is DeviceConnection => typeof x === 'object' && x !== null && connections.has(x);

/**
 * Makes own fields a subclass keeps to itself (TypeScript's `protected`) unlisted: Object.keys(dev)
 * and console.log(dev) show the API (memory, layout, options...), not the allocator's or vectors' state.
 */
export function unlisted(o: object, ...names: string[]): void {
  for (const name of names) Object.defineProperty(o, name, { enumerable: false });
}

/** A thread's connection to a device: submit, views, interrupts. */
export class DeviceConnection {
  readonly memory: WebAssembly.Memory;
  readonly layout: Layout;
  readonly portal: Portal;
  protected readonly vectors: Vectors;
  readonly #addon: EventFdAddon | null;
  protected readonly bytes: Uint8Array;
  readonly #interrupts = new Set<Interrupt>();
  protected closed = false;

  readonly #spin: number;
  /** this thread's portals to WQs other than its default one, by index in layout.wqs, and their vectors */
  readonly #wqPortals = new Map<number, { portal: Portal; vector: number }>();

  /** `addon`: the eventfd addon, or none; `wqIndex`: the WQ of the default portal (layout.wqs) */
  protected constructor(memory: WebAssembly.Memory, layout: Layout, addon: EventFdAddon | null, spin: number, wqIndex = 0) {
    this.memory = memory;
    this.layout = layout;
    this.#addon = addon;
    this.bytes = new Uint8Array(memory.buffer as unknown as SharedArrayBuffer);
    this.vectors = new Vectors(memory, layout, () => this.#addon);
    this.portal = new Portal(memory, layout, this.vectors, spin, wqIndex);
    this.#spin = spin;
    unlisted(this, 'vectors', 'bytes', 'closed');
    connections.add(this);
  }

  /**
   * The portal of a work queue, by name or id (M of wqN.M): `submit` (and the raw verbs) as on the
   * device, into that WQ. Its completions come on a vector of its own (taken on first use).
   */
  wq(which: string | number): Portal {
    if (this.isClosing) throw Errors.closed();
    const wqs = this.layout.wqs;
    if (typeof which !== 'string' && typeof which !== 'number') throw Errors.wqType(which);
    const index = wqIndexOf(wqs, which);
    if (index < 0) throw index === -2 ? Errors.ambiguousWq(which, wqsListed(wqs)) : Errors.noWq(which, wqsListed(wqs));
    if (index === this.portal.wq.index) return this.portal;
    if (wqs[index].mode === 'dedicated' && !this.ownsDedicated) throw Errors.dedicated(wqs[index].name);
    let entry = this.#wqPortals.get(index);
    if (entry === undefined) {
      const vector = this.vectors.claim();
      if (vector < 0) throw Errors.noHandles();
      const portal = new Portal(this.memory, this.layout, this.vectors, this.#spin, index, this.portal.errorLog);
      portal.attachInterrupt(vector, this.vectors.owner(vector), () => new Interrupt(this.vectors, vector, this.addon, portal.poll, portal.poll));
      entry = { portal, vector };
      this.#wqPortals.set(index, entry);
    }
    return entry.portal;
  }

  /** True on the thread that opened the device: the one that may submit to dedicated WQs. */
  protected get ownsDedicated(): boolean {
    return false;
  }

  /** This thread's portals. */
  #portals(): Portal[] {
    return [this.portal, ...[...this.#wqPortals.values()].map((e) => e.portal)];
  }

  /** This thread's descriptors in flight, on every portal. */
  protected get inflight(): number {
    return this.#portals().reduce((n, p) => n + p.inflight, 0);
  }

  /** The device is closing: what a fault rule refuses is refused for good (DEVICE_CLOSED), not waited with for room. */
  protected closingPortals(): void {
    for (const p of this.#portals()) p.closing();
  }

  /** Waits for this thread's work on every portal, the device closing: nothing more is waited for room. */
  protected async settlePortals(): Promise<void> {
    this.closingPortals();
    await Promise.all(this.#portals().map((p) => p.settled()));
  }

  /** Closes the WQ portals and gives their vectors back (after settlePortals). */
  protected closePortals(): void {
    for (const { portal } of this.#wqPortals.values()) portal.close(); // (each gives its vector back)
    this.#wqPortals.clear();
    this.portal.close();
  }

  /** The eventfd addon of this thread, or null. */
  protected get addon(): EventFdAddon | null {
    return this.#addon;
  }

  protected connect(vector: number): void {
    this.portal.attachInterrupt(vector, this.vectors.owner(vector), () => new Interrupt(this.vectors, vector, this.addon, this.portal.poll, this.portal.poll));
  }

  /** A live view of arena bytes [addr, addr + length). */
  view(addr: number, length: number): Uint8Array {
    if (!Number.isInteger(addr) || !Number.isInteger(length) || length < 0 || addr < this.layout.arenaBase || addr + length > this.layout.arenaEnd) {
      throw Errors.outOfArena(addr, length);
    }
    return this.bytes.subarray(addr, addr + length);
  }

  /** The device is closing or closed (an attached thread's: detaching or detached, or its opener closed it). */
  get isClosing(): boolean {
    return this.closed;
  }

  /** Submits a 64-byte descriptor; resolves to its status once the device has finished it. */
  submit(desc: Uint8Array, opts?: SubmitOptions): Promise<number> {
    if (this.isClosing) return Promise.reject(Errors.closed());
    return this.portal.submit(desc, opts);
  }

  /** Statuses that could not be written into a completion record (misaligned or unmapped record), from every WQ this thread submits to, each entry with its `wq`. */
  get errorLog(): readonly ErrorLogEntry[] {
    return this.portal.errorLog;
  }

  /**
   * Allocates an interrupt handle: descriptors with RCI and this handle at @36 signal it.
   * `onInterrupt` runs on this thread's event loop once per wake-up in which the handle was
   * signalled (signals coalesce), never when it was not.
   */
  allocInterrupt(onInterrupt: () => void): InterruptHandle {
    if (this.isClosing) throw Errors.closed();
    if (typeof onInterrupt !== 'function') throw argCoded(new TypeError(`allocInterrupt(onInterrupt): onInterrupt must be a function; got ${typeof onInterrupt}`));
    const v = this.vectors.claim();
    if (v < 0) throw Errors.noHandles();
    const irq = new Interrupt(this.vectors, v, this.addon, () => {
      try {
        onInterrupt();
      } finally {
        irq.wait();
      }
    });
    irq.wait();
    this.#interrupts.add(irq);
    return {
      handle: v,
      path: irq.path,
      ref: () => irq.ref(),
      unref: () => irq.unref(),
      close: () => {
        if (this.#interrupts.delete(irq)) irq.close(); // gives the handle back: descriptors naming it get 0x19
      },
    };
  }

  protected closeInterrupts(): void {
    for (const irq of this.#interrupts) irq.close();
    this.#interrupts.clear();
  }
}

rejectOffDevice(DeviceConnection, ['submit']);
throwOffDevice(DeviceConnection, ['wq', 'view', 'allocInterrupt']);

export interface InterruptHandle {
  /** the value for descriptor @36 */
  handle: number;
  path: 'eventfd' | 'atomics';
  /** keep the process alive while waiting for this interrupt (default: not) */
  ref(): void;
  unref(): void;
  close(): void;
}

/**
 * Has each of `names`, promise-returning methods of `cls`, reject when called on anything but one
 * of its instances (a method taken off its device, or passed as a callback; an object made from
 * one): with a TypeError that says so, as every failure of such a method goes through its
 * promise (without this, reading the device's private state threw at once, "Cannot read
 * properties of undefined"). `noun`: what they are methods of, for the message.
 */
export function rejectOffDevice<T extends object>(cls: Function & { prototype: T }, names: ReadonlyArray<keyof T & string>, noun: 'device' | 'batch' = 'device'): void {
  guardOffDevice(cls, names, noun, true);
}

/**
 * throwOffDevice: rejectOffDevice's twin for methods that return no promise (buffer, alloc,
 * stats, …): called off their device, they throw ERR_INVALID_THIS saying how to call them (it
 * was "Cannot read properties of undefined (reading 'alloc')").
 */
export function throwOffDevice<T extends object>(cls: Function & { prototype: T }, names: ReadonlyArray<keyof T & string>): void {
  guardOffDevice(cls, names, 'device', false);
}

function guardOffDevice<T extends object>(cls: Function & { prototype: T }, names: ReadonlyArray<keyof T & string>, noun: 'device' | 'batch', promised: boolean): void {
  const proto = cls.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const is = noun === 'device' ? (x: unknown): boolean => isConnection(x) && x instanceof cls : (x: unknown): boolean => x instanceof cls;
  for (const name of names) {
    const method = proto[name];
    const guarded = promised
      ? {
          [name](this: unknown, ...args: unknown[]): unknown {
            if (!is(this)) return Promise.reject(Errors.offDevice(name, this, noun, isOtherCopy(this, cls)));
            try {
              return method.apply(this, args);
            } catch (e) {
              return Promise.reject(e);
            }
          },
        }[name]
      : {
          [name](this: unknown, ...args: unknown[]): unknown {
            if (!is(this)) throw Errors.offDevice(name, this, noun, isOtherCopy(this, cls));
            return method.apply(this, args);
          },
        }[name];
    Object.defineProperty(guarded, 'length', { value: method.length });
    Object.defineProperty(proto, name, { value: guarded, writable: true, configurable: true, enumerable: false });
  }
}

/** A device of another copy of softdsa (its ES module and CommonJS builds each have their own classes): one by its shape, not of `cls` at all. */
function isOtherCopy(x: unknown, cls: Function): boolean {
  return typeof x === 'object' && x !== null && !(x instanceof cls) && (x as { memory?: unknown }).memory instanceof WebAssembly.Memory && typeof (x as { crc32c?: unknown }).crc32c === 'function';
}
