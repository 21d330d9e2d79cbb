// Every error softdsa throws, in one place. Each carries a stable `code`.
import { Status } from './format.ts';

export class SoftDsaError extends Error {
  readonly code: string;
  /** The DSA status code, where the error reports one. */
  readonly status?: number;
  /**
   * In a batch()'s rejection: which of its calls failed (its place among the calls added, from 0).
   * (An argument's TypeError or RangeError from a batch carries it too.)
   */
  readonly batchIndex?: number;
  constructor(code: string, message: string, status?: number) {
    super(message);
    this.name = 'SoftDsaError';
    this.code = code;
    if (status !== undefined) this.status = status;
  }
}

/** A configuration refused: which object (wq0.1, group0.0, dsa0) and which of its fields. */
export class ConfigError extends SoftDsaError {
  readonly target: string;
  readonly field: string;
  readonly #why: string;
  readonly #wqName: string | undefined;
  /** `name`: the WQ's name, shown beside its dev name when it has one */
  constructor(target: string, field: string, why: string, name?: string) {
    super('CONFIG_INVALID', `${target}${name ? ` (${JSON.stringify(name)})` : ''}: ${field}: ${why}`);
    this.name = 'ConfigError';
    this.target = target;
    this.field = field;
    this.#why = why;
    this.#wqName = name;
  }

  /** The same refusal, told more (e.g. what the file said, where a value was read from it). */
  noted(note: string): ConfigError {
    return new ConfigError(this.target, this.field, `${this.#why} ${note}`, this.#wqName);
  }
}

/** A file call's own error (files.ts): a code, as Node's fs errors have, and the path; a SoftDsaError, as softdsa's other errors are. */
export class FileCrcError extends SoftDsaError {
  readonly path?: string;
  constructor(code: string, message: string, path?: string) {
    super(code, message);
    if (path !== undefined) this.path = path;
  }
}

/** What Node's own APIs reject with on abort: name AbortError, code ABORT_ERR, the reason as cause. */
export function abortError(signal: AbortSignal): Error {
  const e = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string };
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

/** What a wrong argument is, for an error message: null, its typeof, or its class name. */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}

/**
 * What a value that is not the bytes asked for is, for an error message: its typeName, or for a
 * Proxy of a view or a buffer (which passes for one by its class, and has no bytes to reach)
 * "an object posing as a Uint8Array (a Proxy?)".
 */
export function bytesName(v: unknown): string {
  const posing = v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer) || v instanceof DataView || v instanceof Object.getPrototypeOf(Uint8Array);
  const name = typeName(v);
  return posing ? `an object posing as ${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name} (a Proxy?)` : name;
}

const hex = (n: number): string => '0x' + n.toString(16).padStart(2, '0');

/** A DIF field that failed its check: its expected and actual values; or an all-F tuple, with allFDetectError. */
export type DifMismatch =
  | {
      field: 'guard' | 'appTag' | 'refTag';
      expected: number;
      actual: number;
      /** appTag: the bits not compared */
      mask?: number;
    }
  | { field: 'allF' };

/** A DIF check failed (status 0x09): which block, and what was expected there. */
export class DifCheckError extends SoftDsaError {
  /** the failing block (0-based) and its byte offset in the data */
  readonly block: number;
  readonly offset: number;
  readonly mismatches: readonly DifMismatch[];
  constructor(op: string, block: number, offset: number, mismatches: DifMismatch[]) {
    const what = mismatches.map((m) =>
      m.field === 'allF'
        ? 'all-F tuple (all 8 bytes 0xFF)'
        : `${m.field} ${fieldHex(m.field, m.actual)}, expected ${fieldHex(m.field, m.expected)}${m.mask ? ` (mask ${fieldHex('appTag', m.mask)})` : ''}`,
    );
    // (none found in the block's bytes: the status came from elsewhere, e.g. a fault rule)
    const why = what.length > 0 ? what.join('; ') : 'the device reported it, but the block\'s tuple matches (an injected status?)';
    super('DIF_CHECK_FAILED', `${op}: block ${block} (byte offset ${offset}) failed its DIF check: ${why}`, Status.DIF_ERR);
    this.name = 'DifCheckError';
    this.block = block;
    this.offset = offset;
    this.mismatches = mismatches;
  }
}

const fieldHex = (field: string, v: number): string => '0x' + v.toString(16).padStart(field === 'refTag' ? 8 : 4, '0');

/** An argument's error with Node's code for it, where it has none: ERR_INVALID_ARG_TYPE for a TypeError, ERR_INVALID_ARG_VALUE for a RangeError. */
export function argCoded<E>(e: E): E {
  if ((e instanceof TypeError || e instanceof RangeError) && (e as { code?: unknown }).code === undefined) {
    Object.assign(e, { code: e instanceof TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_INVALID_ARG_VALUE' });
  }
  return e;
}

export const Errors = {
  queueFull: () => new SoftDsaError('QUEUE_FULL', 'work queue is full: the descriptor was refused (retry later, or submit with { retry: true })'),
  closed: () => new SoftDsaError('DEVICE_CLOSED', 'the device is closed'),
  batchSubmitted: () => new SoftDsaError('BATCH_SUBMITTED', 'this batch was submitted already: build another with batch()'),
  /** the arena's shared WebAssembly.Memory could not be made (the engine's RangeError is its cause) */
  noArenaMemory: (bytes: number) =>
    new SoftDsaError('NO_ARENA_MEMORY', `could not reserve the device's ${bytes} bytes of shared memory: a shared WebAssembly memory also reserves about 10 GB of address space (its bounds-check guard), which a limit on virtual memory (ulimit -v, a container's) refuses whatever arenaBytes is; copies, fills, compares and CRC-32Cs of plain memory still run, inline (DIF, deltas, crc16t10dif and batches need the device)`),
  noWasm: () => new SoftDsaError('NO_WASM', 'softdsa needs WebAssembly, which this process runs without (--jitless or --no-expose-wasm): the device is a WebAssembly module'),
  dedicated: (wq?: string) =>
    new SoftDsaError('WQ_DEDICATED', wq === undefined
      ? 'the device\'s work queues are dedicated to the thread that opened it: to submit from other threads, open it with wqMode "shared" (a device from a config: give the config a WQ with mode "shared")'
      : `work queue ${wq} is dedicated to the thread that opened the device: only shared WQs take submissions from other threads`),
  /** a device's (or a batch's) promise-returning method called on something else: taken off it, or passed as a callback, or given another copy of softdsa's device (`otherCopy`) (Node's own code for it) */
  offDevice: (method: string, self: unknown, noun: 'device' | 'batch' = 'device', otherCopy = false) => {
    const holder = noun === 'device' ? 'dev' : 'b';
    const why = otherCopy
      ? `${method}() was called on a device of another copy of softdsa (its ES module and CommonJS builds each have their own classes, and one's methods do not run on the other's devices): call that device's own ${method}()`
      : `${method}() was called on ${self === undefined ? 'undefined' : typeName(self)}, not on a ${noun}: a method taken off its ${noun} (const f = ${holder}.${method}; f(…), or passed as a callback) loses it: call it as ${holder}.${method}(…), or bind it (${holder}.${method}.bind(${holder}))`;
    return Object.assign(new TypeError(why), { code: 'ERR_INVALID_THIS' });
  },
  descriptorSize: (n: number, detached = false) => argCoded(new TypeError(`a descriptor is 64 bytes in DSA layout; got ${n}${detached ? ' (its buffer is detached: transferred, or its memory released)' : ''}`)),
  descriptorType: (v: unknown) =>
    argCoded(new TypeError(`a descriptor is a 64-byte Uint8Array (or other TypedArray/DataView); got ${bytesName(v)}`)),
  /** `align`: given when a free piece is large enough and only the alignment kept the block out */
  arenaFull: (bytes: number, size: number, largest: number, align?: number, larger = 'open the device with a larger arenaBytes') =>
    Object.assign(new RangeError(align !== undefined
      ? `device arena has no free piece that holds ${bytes} bytes at an alignment of ${align} (the largest free piece is ${largest} bytes, of its ${size}): ask a smaller alignment, or free() buffers no longer used`
      : `device arena cannot fit ${bytes} more bytes (of its ${size}, the calls' own areas among them, the largest free piece is ${largest}): free() buffers no longer used, or ${larger}`), { code: 'ARENA_FULL' }),
  badFree: (addr: number) => argCoded(new RangeError(`address ${addr} was not allocated by this device (or was freed already)`)),
  notFreeable: (addr: number, why: string) => argCoded(new RangeError(`free(${addr}): ${why}`)),
  outOfArena: (addr: number, length: number) => argCoded(new RangeError(`range [${addr}, ${addr + length}) is not inside the device arena`)),
  config: (target: string, field: string, why: string, name?: string) => new ConfigError(target, field, why, name),
  noWq: (which: string | number, known: string) => new SoftDsaError('NO_SUCH_WQ', `no work queue ${typeof which === 'number' ? String(which) : JSON.stringify(which)} on this device (its WQs: ${known})`),
  /** a name several of the device's WQs have (accel-config lets them) */
  ambiguousWq: (name: string | number, known: string) => new SoftDsaError('NO_SUCH_WQ', `work queue name ${JSON.stringify(name)} is on several of this device's WQs (${known}): give its id or 'wqN.M'`),
  wqType: (which: unknown) => argCoded(new TypeError(`wq(which): a work queue's name, 'wqN.M' or id (a number); got ${which === null ? 'null' : typeof which === 'bigint' ? `${String(which)}n (a bigint)` : typeof which}`)),
  option: (name: string, why: string) => argCoded(new RangeError(`option ${name}: ${why}`)),
  optionType: (name: string, why: string) => argCoded(new TypeError(`option ${name}: ${why}`)),
  faultRule: (why: string) => argCoded(new RangeError(`fault rule: ${why}`)),
  /** a rule that is not an object, or names a field rules do not have (as unknown option names are) */
  faultRuleShape: (why: string) => argCoded(new TypeError(`fault rule: ${why}`)),
  noHandles: () => new SoftDsaError('NO_INT_HANDLES', 'all interrupt handles are in use'),
  /** the fault table is full: a capacity, not a bad argument */
  noRuleRoom: (max: number) => new SoftDsaError('NO_FAULT_RULES', `fault rule: at most ${max} rules at a time: remove() some first (spent ones make room)`),
  noArena: () => new SoftDsaError('NO_ARENA', 'this thread has no part of the device arena: attach with a handle from dev.lend(bytes) to take buffers and make drop-in calls here'),
  partGone: () => new SoftDsaError('PART_GONE', 'this handle\'s part of the arena is no longer lent (reclaimed, or never lent): ask the opener for a new one (lend)'),
  partTaken: () => new SoftDsaError('PART_TAKEN', 'this part of the arena is attached by another thread already: lend() one part for each thread'),
  partInUse: () => new SoftDsaError('PART_IN_USE', 'this part of the arena is in use by the thread that attached with it: reclaim it once that thread detached or ended'),
  noSpaces: () => new SoftDsaError('NO_PASID', 'every address space (PASID) of the device is in use'),
  /** a call whose descriptor completed with 0x20: what a dead engine's descriptors get, and what a fault rule may give */
  hwError: (what: string) => new SoftDsaError('ENGINE_FAILED', `${what}: status 0x20 (hardware error): the engine running it died, or a fault rule set that status`, Status.HW_ERROR),
  engineStart: (why: string) => new SoftDsaError('ENGINE_START_FAILED', `the device's engines cannot start (${why}): its calls run on the calling thread`),
  difCheck: (op: string, block: number, offset: number, mismatches: DifMismatch[]) => new DifCheckError(op, block, offset, mismatches),
  notSecure: () =>
    new SoftDsaError('NOT_CROSS_ORIGIN_ISOLATED',
      'softdsa needs a cross-origin-isolated page, and only a secure context (https://, or http://localhost) can be one: serve the page over HTTPS, ' +
      'with the headers "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" (isSecureContext is false)'),
  notIsolated: () =>
    new SoftDsaError('NOT_CROSS_ORIGIN_ISOLATED',
      'softdsa needs a cross-origin-isolated page (shared memory between the page and its engine workers): serve the page with the headers ' +
      '"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" (crossOriginIsolated is false)'),
  noCore: (why: string) => new SoftDsaError('NO_CORE', `softdsa: cannot load the Wasm core from ${why}: the engines cannot start (calls run on this thread), and the DIF calls and crc16t10dif, which run on the core here too, cannot run`),
  browserInNode: (node: string) => new SoftDsaError('BROWSER_BUILD_IN_NODE', `softdsa/browser runs its device in a page; this is Node ${node}: import 'softdsa' here`),
  notInBrowser: (what: string, why: string) => new SoftDsaError('NOT_IN_BROWSER', `${what} is not available in a browser: ${why}`),
  noWaitAsync: () => new SoftDsaError('NO_WAIT_ASYNC', 'softdsa needs Atomics.waitAsync (completions wake the page through it), which this browser lacks'),
  /** A device call's status failure, said as the call `op` that made it (a file call, a stream). */
  restated: (op: string, e: unknown): unknown => {
    if (!(e instanceof SoftDsaError) || e.status === undefined) return e;
    if (e.code === 'ENGINE_FAILED') return Errors.hwError(op);
    return e.code === 'DSA_STATUS' ? Errors.status(op, e.status) : e;
  },
  /** A descriptor finished with a status other than success (high-level API). */
  status: (op: string, status: number) => {
    const code = status === Status.ABORTED ? status : status & Status.CODE_MASK;
    return new SoftDsaError('DSA_STATUS', `${op} failed with DSA status ${hex(code)} (${statusName(status)})${code !== status ? ` (status byte ${hex(status)})` : ''}`, status);
  },
};

const NOT_STATUSES = new Set(['WRITE_FAULT_BIT', 'CODE_MASK']);
/** The name of a status code (bits 6:0, or the whole byte for ABORTED). */
export function statusName(status: number): string {
  const code = status === Status.ABORTED ? status : status & Status.CODE_MASK;
  const name = (Status as unknown as Record<number, string | undefined>)[code];
  return name !== undefined && !NOT_STATUSES.has(name) ? name : `UNKNOWN_${hex(code)}`;
}
