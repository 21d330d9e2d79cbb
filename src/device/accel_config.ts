// accel-config's JSON: what `accel-config save-config` writes and `load-config` reads (an array
// of devices, each with groups holding `grouped_workqueues` and `grouped_engines`), to a Topology
// and back.
//
// Read as leniently as accel-config reads it (json-c's non-strict parser): trailing commas and
// comments are accepted, numbers may be given as strings. Fields that mean nothing in software
// (read buffers, traffic classes, ATS/PRS, drivers, read-only device information) are accepted
// and reported, one line each, in `warnings`. Absent WQ fields take the values accel-config
// and the driver give them (config-user-default's for size and threshold).
import { ConfigError, Errors } from './errors.ts';
import { readTextFile, readTextFileAsync } from './host.ts';
import { checkTopology, deviceNumber, DSA, type GroupConfig, limitsOf, nextPow2, type Topology, type WqConfig } from './topology.ts';
import { MAX_ENGINES } from './layout.ts';
import { isBuffer } from './views.ts';

export interface ParsedConfig {
  topology: Topology;
  /** fields accepted and ignored, and defaults taken, one line each */
  warnings: string[];
}

type Json = Record<string, unknown>;

/** A WQ's fields that are numbers. */
const NUMBER_FIELDS = ['size', 'group_id', 'priority', 'block_on_fault', 'max_batch_size', 'max_transfer_size', 'threshold'];

/** A device's fields softdsa reads: its groups, and what it has more of than a DSA 1.0 (a softdsa device's config() says so). */
const DEVICE_FIELDS = ['dev', 'groups', 'max_engines', 'max_work_queues_size'];

/**
 * max_engines and max_work_queues_size, read-only on hardware (4 and 128 on a DSA 1.0): more than
 * that is a device of softdsa's (Device.open({ engines: 8 }).config() writes them), read with
 * those limits; as much or less, a DSA's.
 */
function capacityOf(d: Record<string, unknown>, device: string, notes: Notes): { engines: number; wqEntries: number } | undefined {
  const lim = limitsOf(device);
  const field = (name: string, dflt: number, max: number): number => {
    const given = d[name];
    if (given === undefined || given === null) return dflt;
    const v = saidInt(device, name, given, notes); // (as the WQs' numbers are read)
    if (!Number.isInteger(v) || v > max) throw Errors.config(device, name, `valid ${name.replace(/_/g, '-')} should be an integer up to ${max}, got ${shown(given)}`);
    // (0 and less too, as "two" read json-c's way is: less than a DSA has, said and ignored)
    if (v < dflt) notes.warnings.push(`${device}.${name}: ${v} ignored (a DSA has ${dflt}; softdsa reads it when it says more)`);
    return Math.max(v, dflt);
  };
  const engines = field('max_engines', lim.MAX_ENGINES, MAX_ENGINES);
  const wqEntries = field('max_work_queues_size', lim.TOTAL_WQ_SIZE, 65536);
  return engines > lim.MAX_ENGINES || wqEntries > lim.TOTAL_WQ_SIZE ? { engines, wqEntries } : undefined;
}

/** Why a field is accepted and ignored. */
const IGNORED: Array<[RegExp, string]> = [
  [/^(read_buffer|token|use_read_buffer|use_token|read_buffers|tokens)/, 'read buffers have no meaning in software'],
  [/^traffic_class/, 'traffic classes have no meaning in software'],
  [/^(ats_disable|prs_disable|pasid_enabled)$/, 'address translation has no meaning in software'],
  [/^(desc_progress_limit|batch_progress_limit)$/, 'progress limits have no meaning in software'],
  [/^(type|driver_name)$/, 'softdsa serves every WQ to user code'],
  [/^op_config$/, 'every operation is enabled on every WQ'],
  [/^event_log_size$/, 'softdsa keeps no event log'],
  [/^ungrouped_/, 'engines and WQs in no group are not used'],
];
/** The fields softdsa reads, for a name close to one of them (a typo took the default, said only as "ignored"). */
const READ_FIELDS = ['mode', 'size', 'group_id', 'priority', 'block_on_fault', 'max_batch_size', 'max_transfer_size', 'name', 'threshold', 'grouped_workqueues', 'grouped_engines', 'groups', 'max_engines', 'max_work_queues_size'];

/** Levenshtein distance, for the suggestion above. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

const ignoredWhy = (field: string): string => {
  const known = IGNORED.find(([re]) => re.test(field))?.[1];
  if (known !== undefined) return known;
  const near = READ_FIELDS.find((f) => f !== field && distance(f, field) <= 2);
  return near !== undefined ? `not a field softdsa reads: did you mean ${near}?` : 'read-only information, or not a field softdsa reads';
};

/**
 * JSON text as json-c reads it: comments and trailing commas outside strings are dropped. Text
 * that does not parse is refused saying where, as line and column of the text given (JSON.parse
 * counts in the text without the comments), and, from a file, of which (`where`: its target).
 */
export function parseLenientJson(text: string, where = 'config'): unknown {
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0; // (a byte-order mark, as an editor may save it)
  let out = '';
  /** [where in out, where in text] of each piece kept: a position in out, back in the text */
  const pieces: Array<[number, number]> = [];
  const keep = (from: number, to: number): void => {
    pieces.push([out.length, from]);
    out += text.slice(from, to);
  };
  for (let i = bom; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      keep(i, j + 1);
      i = j;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      if (i < text.length) keep(i, i + 1);
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === ',' && /^\s*[\]}]/.test(text.slice(i + 1, i + 64))) {
      // trailing comma: dropped
    } else {
      keep(i, i + 1);
    }
  }
  try {
    return JSON.parse(out);
  } catch (e) {
    const why = (e as Error).message;
    const at = /at position (\d+)/.exec(why);
    let place = '';
    if (at !== null) {
      const p = Number(at[1]);
      let k = pieces.length - 1;
      while (k > 0 && pieces[k][0] > p) k--;
      const t = pieces.length === 0 ? text.length : Math.min(text.length, pieces[k][1] + (p - pieces[k][0]));
      const before = text.slice(0, t);
      const line = before.split('\n').length;
      place = ` (line ${line}, column ${t - before.lastIndexOf('\n') - (line === 1 ? bom : 0)})`;
    } else if (/end of JSON input/.test(why)) {
      place = ` (at its end, line ${text.split('\n').length})`;
    }
    throw Errors.config(where, 'json', `not JSON accel-config can read: ${why.replace(/( in JSON)? at position \d+.*$/, '').replace(/ \(line \d+ column \d+\)$/, '')}${place}`);
  }
}

/**
 * The file a config source names (a path, or a file: URL as a URL or a string), or null: the
 * source is the config itself (JSON text, its bytes, or parsed).
 */
export function configFile(source: unknown): string | null {
  if (source instanceof URL) return filePath(source);
  if (typeof source !== 'string') return null;
  if (source.trim() === '') throw Errors.config('config', 'source', 'an empty string is no config: give JSON text, a file path (or file: URL), its bytes, or the parsed JSON');
  // (JSON text may open with a comment, as accel-config's own files do; a path may start with //)
  if (/^\s*([[{]|\/\*)/.test(source) || /^\s*\/\/.*[\r\n\u2028\u2029]/.test(source)) return null;
  return /^file:/i.test(source) ? filePath(urlOf(source)) : source;
}

/** A config given as JSON text, a file path or file: URL, its bytes, or already parsed; `text`: the named file's, read already. */
export function readConfig(source: unknown, text?: string): unknown {
  const path = configFile(source);
  if (path !== null) return parseLenientJson(text ?? readFile(path), path);
  if (ArrayBuffer.isView(source)) return parseLenientJson(new TextDecoder().decode(new Uint8Array(source.buffer, source.byteOffset, source.byteLength)));
  if (isBuffer(source)) return parseLenientJson(new TextDecoder().decode(new Uint8Array(source))); // (of any realm)
  if (typeof source === 'string') return parseLenientJson(source);
  if (typeof source !== 'object' || source === null) throw Errors.config('config', 'source', `a config is JSON text, a file path (or file: URL), its bytes, or the parsed JSON; got ${source === null ? 'null' : typeof source}`);
  return source;
}

/** A file: URL given as a string, as a URL. */
function urlOf(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw Errors.config('config', 'source', `${shown(text)} is not a file: URL`);
  }
}

/** A file: URL's path, as fs takes one: no host, no encoded '/'; anything else a ConfigError. */
function filePath(url: URL): string {
  const bad = (why: string): Error => Errors.config(url.href, 'source', why);
  if (url.protocol !== 'file:') throw bad(`a config URL must be a file: URL; got ${url.protocol}`);
  if (url.hostname !== '' && url.hostname !== 'localhost') throw bad('a file: URL must name no host');
  if (/%2f/i.test(url.pathname)) throw bad("a file: URL's path must not hold an encoded '/'");
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    throw bad("a file: URL's path is not valid percent-encoded UTF-8");
  }
}

function readFile(path: string): string {
  try {
    return readTextFile(path);
  } catch (e) {
    throw Errors.config(path, 'file', `cannot read the config file: ${(e as Error).message}`);
  }
}

/** readFile off the calling thread (Device.fromConfig). */
export async function readConfigFile(path: string): Promise<string> {
  try {
    return await readTextFileAsync(path);
  } catch (e) {
    throw Errors.config(path, 'file', `cannot read the config file: ${(e as Error).message}`);
  }
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * An integer as json-c's json_object_get_int reads it (accel-config reads its fields so): a number
 * truncated toward zero, a boolean as 1 or 0, a string's leading decimal digits as strtoll reads
 * them ("16.5" is 16, "0x10" and "abc" are 0); anything else NaN (refused, saying what it was).
 */
function int(v: unknown): number {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v); // (no JSON holds one: an object built by hand)
  if (typeof v === 'string') return Number(/^\s*([+-]?\d+)/.exec(v)?.[1] ?? 0);
  return 0; // (an array or an object: json_object_get_int gives 0)
}

/** What reading a file noted: its warnings, and what it said for each value read json-c's way ("where.field" -> the file's value). */
interface Notes {
  readonly warnings: string[];
  readonly said: Map<string, unknown>;
}

/** A value of the config as a message shows it: as JSON, a bigint as 16n, a number past a double's range (1e400 parses as Infinity; JSON writes null) said so. */
function shown(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' && !Number.isFinite(v)) return `a number past a double's range (${v})`;
  return JSON.stringify(v) ?? String(v);
}

/** int(v), and a warning saying so where v is not an integer already ("2M" is 2). */
function saidInt(where: string, field: string, v: unknown, notes: Notes): number {
  const n = int(v);
  if (typeof v === 'number' && Number.isInteger(v)) return n;
  notes.said.set(`${where}.${field}`, v);
  notes.warnings.push(`${where}.${field}: ${shown(v)} read as ${n} (as accel-config's json-c reads a number: its leading digits, truncated)`);
  return n;
}

/** A string as json-c's json_object_get_string gives it: a number or boolean in its JSON form. */
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

/**
 * The trailing number of a dev name of `device` (wq0.3 -> 3, group0.1 -> 1 under dsa0), or NaN;
 * a name of another device's (wq1.3 under dsa0) throws.
 */
const indexOf = (dev: unknown, kind: string, device: string): number => {
  const m = typeof dev === 'string' ? new RegExp(`^${kind}(\\d+)\\.(\\d+)$`).exec(dev) : null;
  if (m !== null && Number(m[1]) !== Number(deviceNumber(device))) throw Errors.config(dev as string, 'dev', `names ${kind} ${m[2]} of device ${m[1]}, but it is listed under ${device}`);
  // (an id of more digits than any limit would be printed back as another: wq0.1e20)
  if (m !== null && m[2].length > 6) throw Errors.config(dev as string, 'dev', `${kind} id ${m[2]} is out of range (devices have at most 8 WQs, 4 engines and 4 groups)`);
  return m === null ? Number.NaN : Number(m[2]);
};

/**
 * The topology of one DSA device of an accel-config file (the first, or the one named), checked.
 * Throws ConfigError naming the device, group or WQ and the field that is wrong.
 */
export function parseAccelConfig(source: unknown, deviceName?: string, text?: string): ParsedConfig {
  const json = readConfig(source, text);
  const devices = Array.isArray(json) ? json : [json];
  const notes: Notes = { warnings: [], said: new Map() };
  const { warnings } = notes;
  const named = (d: unknown): string => (isObject(d) && typeof d.dev === 'string' ? d.dev : '?');
  // (as a message lists them: "?" said nothing of what was there)
  const listed = (d: unknown): string => (isObject(d) ? (typeof d.dev === 'string' ? d.dev : `an object without a dev name (keys: ${Object.keys(d).join(', ') || 'none'})`) : d === null ? 'null' : Array.isArray(d) ? 'an array' : typeof d);
  // The first DSA device, else the first IAA device (its topology, with DSA operations).
  const first = (re: RegExp): unknown => devices.find((d) => re.test(named(d)));
  const chosen = deviceName === undefined ? (first(/^dsa\d+$/) ?? first(/^iax\d+$/)) : devices.find((d) => named(d) === deviceName);
  if (chosen === undefined) {
    const have = devices.map(listed).join('; ') || 'none';
    throw Errors.config(deviceName ?? 'config', 'dev', deviceName === undefined ? `no DSA (dsaN) or IAA (iaxN) device in the config (devices: ${have})` : `no device ${deviceName} in the config (devices: ${have})`);
  }
  if (!isObject(chosen)) throw Errors.config('config', 'dev', 'a device must be an object');
  const device = named(chosen);
  if (!/^(dsa|iax)\d+$/.test(device)) throw Errors.config(device, 'dev', 'a device is named dsaN (or iaxN)');
  if (device.startsWith('iax')) warnings.push(`${device}: an IAA device: its groups, engines and WQs are opened, and run DSA operations (softdsa has no compression)`);
  if (devices.filter((d) => named(d) === device).length > 1) throw Errors.config(device, 'dev', 'the device is listed twice');
  for (const d of devices) if (d !== chosen) warnings.push(`${named(d)}: ignored (one device is opened: ${device}; choose another with { device })`);
  for (const key of Object.keys(chosen)) if (!DEVICE_FIELDS.includes(key)) warnings.push(`${device}.${key}: ignored (${ignoredWhy(key)})`);
  const capacity = capacityOf(chosen, device, notes);

  const groups: GroupConfig[] = [];
  const wqs: WqConfig[] = [];
  const groupList = chosen.groups ?? [];
  if (!Array.isArray(groupList)) throw Errors.config(device, 'groups', 'must be an array of groups');
  // config-user-default's template (no engine, no WQ size: that command computes them) is read as
  // that command applies it: every engine to the first group, size 128 / 8 WQs, threshold = size.
  // In any other file an absent size or threshold is the driver's 0, refused below.
  const template = groupList.every((g) => isObject(g) && g.grouped_engines === undefined && Array.isArray(g.grouped_workqueues ?? []) && ((g.grouped_workqueues ?? []) as unknown[]).every((w) => isObject(w) && w.size === undefined));
  const lim = { ...limitsOf(device), ...(capacity === undefined ? {} : { MAX_ENGINES: capacity.engines }) };
  // (a refusal anywhere from here is told with what reading the file noted: explained())
  try {
    for (const g of groupList) {
      if (!isObject(g)) throw Errors.config(device, 'groups', 'a group must be an object');
      const id = indexOf(g.dev, 'group', device);
      const gname = typeof g.dev === 'string' ? g.dev : '?';
      if (!Number.isInteger(id)) throw Errors.config(device, 'groups', `a group's dev must be groupN.G, got ${shown(g.dev)}`);
      for (const key of Object.keys(g)) if (!['dev', 'grouped_workqueues', 'grouped_engines', 'group_id'].includes(key)) warnings.push(`${gname}.${key}: ignored (${ignoredWhy(key)})`);
      const engines: number[] = [];
      for (const e of list(g.grouped_engines, gname, 'grouped_engines')) {
        const eid = indexOf(e.dev, 'engine', device);
        const ename = typeof e.dev === 'string' ? e.dev : '?';
        if (!Number.isInteger(eid)) throw Errors.config(gname, 'grouped_engines', `an engine's dev must be engineN.E, got ${shown(e.dev)}`);
        if (e.group_id !== undefined && int(e.group_id) !== id) throw Errors.config(ename, 'group_id', `${String(e.group_id)}, but the engine is listed in ${gname}`);
        for (const key of Object.keys(e)) if (key !== 'dev' && key !== 'group_id') warnings.push(`${ename}.${key}: ignored (${ignoredWhy(key)})`);
        engines.push(eid);
      }
      groups.push({ id, engines });
      for (const w of list(g.grouped_workqueues, gname, 'grouped_workqueues')) wqs.push(wqOf(w, device, id, gname, template, notes));
    }
    if (template && wqs.length > 0) {
      groups[0].engines = Array.from({ length: lim.MAX_ENGINES }, (_, i) => i);
      warnings.push(`${device}: no engine is configured: all ${lim.MAX_ENGINES} engines go to group${deviceNumber(device)}.${groups[0].id} (as accel-config config-user-default does)`);
    }
    const topology: Topology = { device, groups, wqs: wqs.sort((a, b) => a.id - b.id), ...(capacity === undefined ? {} : { capacity }) };
    checkTopology(topology);
    const dev = (id: number): string => `wq${deviceNumber(device)}.${id}`;
    for (const w of topology.wqs) {
      const others = topology.wqs.filter((o) => o !== w && o.name === w.name).map((o) => dev(o.id));
      if (others.length > 0) warnings.push(`${dev(w.id)}.name: ${shown(w.name)} is ${others.join(' and ')}'s too: dev.wq(${shown(w.name)}) cannot tell them apart (give the id, or 'wqN.M')`);
      const holder = topology.wqs.find((o) => o !== w && dev(o.id) === w.name);
      if (holder !== undefined) warnings.push(`${dev(w.id)}.name: ${shown(w.name)} is the device name of another WQ: dev.wq(${shown(w.name)}) finds that one (give this one's id, or '${dev(w.id)}')`);
    }
    return { topology, warnings };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw explained(e, notes);
  }
}

/**
 * A refusal told with what reading the file noted of it: the values read json-c's way that it
 * stands on, as the file wrote them (size true is 1: "over the WQ's size 1" said nothing of true),
 * and the fields it ignored as likely typos (grouped_workqueue: "no work queue is configured").
 */
function explained(e: ConfigError, notes: Notes): ConfigError {
  let out = e;
  for (const [key, v] of notes.said) {
    if (key === `${e.target}.${e.field}`) out = out.noted(`(the file says ${shown(v)}, read as accel-config reads it)`);
    else if (key.startsWith(`${e.target}.`)) out = out.noted(`(its ${key.slice(e.target.length + 1)}: the file says ${shown(v)}, read as ${int(v)})`);
  }
  const typos = notes.warnings.filter((w) => w.includes('did you mean'));
  return typos.length === 0 ? out : out.noted(`(and the file has ${typos.join('; ')})`);
}

function list(v: unknown, where: string, field: string): Json[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every(isObject)) throw Errors.config(where, field, 'must be an array of objects');
  return v;
}

const WQ_FIELDS = ['dev', 'mode', 'size', 'group_id', 'priority', 'block_on_fault', 'max_batch_size', 'max_transfer_size', 'name', 'threshold'];

const USER_FIELDS = ['type', 'driver_name'];

function wqOf(given: Json, device: string, group: number, gname: string, template: boolean, notes: Notes): WqConfig {
  const { warnings } = notes;
  // (a null field is one accel-config skips: the driver's default holds)
  const w = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null)) as Json;
  const id = indexOf(w.dev, 'wq', device);
  if (!Number.isInteger(id)) throw Errors.config(gname, 'grouped_workqueues', `a WQ's dev must be wqN.M, got ${shown(w.dev)}`);
  const where = w.dev as string;
  // (the driver's WQ types: another is refused by it, as here)
  if (w.type !== undefined && !['user', 'kernel', 'mdev', 'none'].includes(str(w.type))) throw Errors.config(where, 'type', `must be "user", "kernel", "mdev" or "none" (the driver's WQ types); got ${shown(w.type)}`);
  for (const key of Object.keys(w)) {
    // type and driver_name "user" say what softdsa does anyway (and config() writes them)
    if (!WQ_FIELDS.includes(key) && !(USER_FIELDS.includes(key) && w[key] === 'user')) warnings.push(`${where}.${key}: ignored (${ignoredWhy(key)})`);
  }
  // (a number written otherwise is read as json-c reads it for accel-config, and said: "2M" is 2)
  for (const key of NUMBER_FIELDS) if (w[key] !== undefined) saidInt(where, key, w[key], notes);
  if (w.group_id !== undefined && int(w.group_id) !== group) throw Errors.config(where, 'group_id', `${String(w.group_id)}, but the WQ is listed in ${gname}`);
  const mode = w.mode === undefined ? 'dedicated' : (w.mode as WqConfig['mode']);
  const fallback = (field: string, value: number, why: string): number => {
    if (!template) return 0; // the driver's default: refused by checkTopology
    warnings.push(`${where}.${field}: absent, ${value} (${why})`);
    return value;
  };
  const size = w.size === undefined ? fallback('size', DSA.TOTAL_WQ_SIZE / DSA.MAX_WQS, `the device's ${DSA.TOTAL_WQ_SIZE} entries over ${DSA.MAX_WQS} WQs, as accel-config config-user-default sets it`) : int(w.size);
  let threshold = 0;
  if (mode === 'shared') threshold = w.threshold === undefined ? fallback('threshold', size, 'the size, as accel-config config-user-default sets it') : int(w.threshold);
  else if (w.threshold !== undefined && int(w.threshold) !== 0) warnings.push(`${where}.threshold: ignored (a dedicated WQ has no threshold; accel-config does not write it)`);
  const bof = w.block_on_fault === undefined ? 0 : int(w.block_on_fault);
  // The driver keeps the two limits as powers of two (WQCFG holds their log2): rounded up (a
  // value out of range is left as it is, for the error to show).
  const pow2 = (v: unknown, dflt: number): number => (v === undefined ? dflt : Number.isInteger(int(v)) && int(v) > 0 && int(v) <= dflt ? nextPow2(int(v)) : int(v));
  return {
    id,
    group,
    name: str(w.name),
    mode,
    size,
    priority: w.priority === undefined ? 10 : int(w.priority),
    threshold,
    maxBatchSize: pow2(w.max_batch_size, DSA.MAX_BATCH),
    maxTransferSize: pow2(w.max_transfer_size, DSA.MAX_TRANSFER),
    blockOnFault: bof === 0 ? false : bof === 1 ? true : (bof as unknown as boolean),
  };
}

/** A topology as `accel-config save-config` writes it (loads back with parseAccelConfig). */
export function toAccelConfig(t: Topology): Json[] {
  const n = deviceNumber(t.device);
  return [{
    dev: t.device,
    ...(t.capacity === undefined ? {} : { max_engines: t.capacity.engines, max_work_queues_size: t.capacity.wqEntries }),
    groups: t.groups.map((g) => {
      const group: Json = { dev: `group${n}.${g.id}` };
      const wqs = t.wqs.filter((w) => w.group === g.id);
      if (wqs.length > 0) {
        group.grouped_workqueues = wqs.map((w) => ({
          dev: `wq${n}.${w.id}`,
          mode: w.mode,
          size: w.size,
          group_id: g.id,
          priority: w.priority,
          block_on_fault: w.blockOnFault ? 1 : 0,
          max_batch_size: w.maxBatchSize,
          max_transfer_size: w.maxTransferSize,
          type: 'user',
          driver_name: 'user',
          name: w.name,
          threshold: w.threshold,
        }));
      }
      if (g.engines.length > 0) group.grouped_engines = g.engines.map((e) => ({ dev: `engine${n}.${e}`, group_id: g.id }));
      return group;
    }),
  }];
}
