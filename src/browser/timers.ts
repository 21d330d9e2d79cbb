// Node's timer functions as the device's shared source uses them, for the browser build
// (esbuild `inject`: free uses of these names in the bundle resolve here). setImmediate is a
// macrotask without the 4 ms clamp of nested setTimeout (a MessageChannel, as Node's check
// phase comes after I/O); ref()/unref() only keep the state hasRef() tells (the device's
// safety-net timer clears itself once unref'd), as a page never exits because it is idle.
class Timer {
  #ref = true;
  constructor(readonly id: number) {}
  ref(): this {
    this.#ref = true;
    return this;
  }
  unref(): this {
    this.#ref = false;
    return this;
  }
  hasRef(): boolean {
    return this.#ref;
  }
}

const id = (t: unknown): number | undefined => (t instanceof Timer ? t.id : (t as number | undefined));

// (taken at load, as Node's are from node:timers: a page's test runner that fakes the global
// timers or clock does not stall the device)
const g = { setTimeout: globalThis.setTimeout.bind(globalThis), setInterval: globalThis.setInterval.bind(globalThis), clearTimeout: globalThis.clearTimeout.bind(globalThis), clearInterval: globalThis.clearInterval.bind(globalThis) };
const perf = globalThis.performance;

/** performance.now(), bound at load. */
export const performance: { now(): number } = { now: perf.now.bind(perf) };

export function setTimeout(fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): Timer {
  return new Timer(g.setTimeout(fn, ms, ...args) as unknown as number);
}
export function setInterval(fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): Timer {
  return new Timer(g.setInterval(fn, ms, ...args) as unknown as number);
}
export function clearTimeout(t: unknown): void {
  g.clearTimeout(id(t));
}
export function clearInterval(t: unknown): void {
  g.clearInterval(id(t));
}

const queue: Array<() => void> = [];
let channel: MessageChannel | null = null;

export function setImmediate(fn: (...args: unknown[]) => void, ...args: unknown[]): Timer {
  if (channel === null) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => queue.shift()?.();
  }
  queue.push(() => fn(...args));
  channel.port2.postMessage(null);
  return new Timer(-1); // (for unref(), which does nothing here)
}

/** setImmediate: a page is not held up by what it schedules (device/timers.ts says why Node's differs). */
export function backgroundTurn(fn: () => void): void {
  setImmediate(fn);
}
