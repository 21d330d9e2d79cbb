// Decoding: a descriptor's 64 bytes and a completion record's 32 as named fields, for people
// reading what a program submitted (softdsa decode, the softdsa:descriptor channel).
//
// The fields come from fields.ts, the table the Descriptor builders write with, under the
// builders' option names, so that a decoded descriptor given back to its builder gives the same
// bytes:  Descriptor[d.builder](d)  ==  the bytes decoded (for the fields the opcode has).
import { COMMON, HEADER_BYTES, type Kind, OPS, readField as read, RECORD_FIELDS } from './fields.ts';
import { Desc, DifFlag, DifStatus, DstDif, Flag, Opcode, PasidWord, Record as Rec, SrcDif, Status } from './format.ts';
import { type CompletionRecord, readRecord } from './record.ts';
import type { Descriptor } from './descriptor.ts';
import { argCoded, bytesName, statusName, typeName } from './errors.ts';
import { measured, plainBytes } from './views.ts';

export { statusName };

/** The name of a Descriptor builder (every key of Descriptor but encode). */
export type BuilderName = Exclude<keyof typeof Descriptor, 'encode'>;

export type FieldValue = number | bigint | string | string[] | number[] | boolean | { [k: string]: number };

export interface DecodedDescriptor {
  opcode: number;
  /** Opcode name (MEMMOVE), or UNKNOWN_0xNN */
  opcodeName: string;
  /** the Descriptor builder that makes this opcode ('memmove'), or null: `Descriptor[d.builder!](d as never)` gives these bytes back */
  builder: BuilderName | null;
  pasid: number;
  /** bit 31 of the PASID word: a supervisor-mode request */
  privileged: boolean;
  flags: number;
  /** the flags' names (FENCE, CRAV, ...; op-specific bits by the opcode's names), unknown bits as BIT_n */
  flagNames: string[];
  completion: number | bigint;
  intHandle: number;
  /** offsets of non-zero bytes no field of this opcode covers (a device answers 0x12 for some) */
  unusedNonZero: number[];
  /** the opcode's own fields by the builder's names: src, dst, size, pattern, difFlags, ... */
  [field: string]: FieldValue | null;
}

export interface DecodedRecord extends CompletionRecord {
  /** the status byte as written (code, write bit) */
  statusByte: number;
  statusName: string;
  opcode: number | null;
  opcodeName: string | null;
  /** the op-specific fields by name (crc, deltaRecordSize, difStatusNames, refTag, ...) */
  [field: string]: FieldValue | null;
}

const hex = (n: number, digits = 2): string => '0x' + n.toString(16).padStart(digits, '0');

/** Names of an enum's single-bit members, by value (the last declared wins, as the enum's reverse map does). */
function bitNames(e: Record<string, string | number>, mask = 0xffffffff): Map<number, string> {
  const m = new Map<number, string>();
  for (const [name, v] of Object.entries(e)) if (typeof v === 'number' && v !== 0 && (v & (v - 1)) === 0 && (v & mask) === v) m.set(v, name);
  return m;
}
const GENERIC_FLAGS = bitNames(Flag as unknown as Record<string, number>, 0xffff);
const CRC_FLAGS = new Map<number, string>([
  [Flag.CRC_SEED_ADDR, 'CRC_SEED_ADDR'],
  [Flag.CRC_BYPASS_INVERT, 'CRC_BYPASS_INVERT'],
  [Flag.CRC_BYPASS_DATA_REFLECT, 'CRC_BYPASS_DATA_REFLECT'],
]);
/** Flag bits 16-23 mean something per opcode. */
const OP_FLAGS: Record<number, Map<number, string>> = {
  [Opcode.CRCGEN]: CRC_FLAGS,
  [Opcode.COPY_CRC]: CRC_FLAGS,
  [Opcode.TRANSL_FETCH]: new Map([[Flag.TRANSL_FETCH_STRIDE, 'TRANSL_FETCH_STRIDE']]),
  [Opcode.DUALCAST]: new Map([[0x010000, 'DST2_STEERING_TAG']]),
};

function names(value: number, bits: number, known: Map<number, string>, other?: Map<number, string>): string[] {
  const out: string[] = [];
  for (let b = 0; b < bits; b++) {
    const v = 2 ** b;
    if ((value & v) === 0) continue;
    out.push(known.get(v) ?? other?.get(v) ?? `BIT_${b}`);
  }
  return out;
}

/** The names of a descriptor's flags, read as `opcode` reads them. */
export function flagNames(flags: number, opcode: number): string[] {
  return names(flags & 0xffffff, 24, GENERIC_FLAGS, OP_FLAGS[opcode]);
}

export function opcodeName(opcode: number): string {
  const name = (Opcode as unknown as Record<number, string | undefined>)[opcode];
  return name ?? `UNKNOWN_${hex(opcode)}`;
}

/** An opcode from its name (memmove, MEMMOVE) or number (3, 0x03); undefined if neither. */
export function parseOpcode(text: string): number | undefined {
  const t = text.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) {
    const n = Number(t);
    return n <= 0xff ? n : undefined;
  }
  const v = (Opcode as unknown as Record<string, number | undefined>)[t.toUpperCase().replace(/-/g, '_')];
  if (typeof v === 'number') return v;
  // (or its builder's name, which decode prints: crc32c, difUpdate; or as softdsa bench names it: dif-update)
  const lower = t.toLowerCase().replace(/-/g, '');
  for (const [op, spec] of Object.entries(OPS)) if (spec.builder.toLowerCase() === lower) return Number(op);
  return undefined;
}

const DIF_BLOCK = [512, 520, 4096, 4104];
const DIF_FLAG_NAMES = new Map([[DifFlag.INVERT_CRC_SEED as number, 'INVERT_CRC_SEED'], [DifFlag.INVERT_CRC_RESULT as number, 'INVERT_CRC_RESULT']]);
const SRC_DIF_NAMES = bitNames(SrcDif as unknown as Record<string, number>);
const DST_DIF_NAMES = bitNames(DstDif as unknown as Record<string, number>);
const DIF_STATUS_NAMES = bitNames(DifStatus as unknown as Record<string, number>);

/**
 * The n bytes to decode, from any view submit() and readRecord take: of another realm too, read
 * through the intrinsic getters (a subclass that lies about its length is measured as it is).
 */
function viewOf(bytes: unknown, n: number, what: string): DataView {
  const thing = what === 'decodeDescriptor' ? 'a descriptor' : 'a completion record';
  const m = measured(bytes);
  if (m === null) throw argCoded(new TypeError(`${what}: bytes must be ${thing}'s ${n} bytes in a Uint8Array (or other TypedArray/DataView); got ${bytesName(bytes)}`));
  if (m.length !== n) throw argCoded(new RangeError(`${what}: ${thing} is ${n} bytes; got ${m.length}${m.detached ? ' (its buffer is detached: transferred, or its memory released)' : ''}`));
  const b = plainBytes(bytes as ArrayBufferView);
  return new DataView(b.buffer, b.byteOffset, n);
}

/** Sets `name` (or "a.b": a nested field) in `out`. */
function put(out: Record<string, unknown>, name: string, v: unknown): void {
  const dot = name.indexOf('.');
  if (dot < 0) {
    out[name] = v;
    return;
  }
  const outer = name.slice(0, dot);
  const inner = (out[outer] ??= {}) as Record<string, unknown>;
  inner[name.slice(dot + 1)] = v;
}

/** Every field of a 64-byte descriptor, by name. */
export function decodeDescriptor(bytes: ArrayBufferView): DecodedDescriptor {
  const dv = viewOf(bytes, Desc.SIZE, 'decodeDescriptor');
  const opcode = dv.getUint8(Desc.OPCODE);
  const flags = dv.getUint32(Desc.FLAGS, true) & 0xffffff;
  const pasidWord = dv.getUint32(Desc.PASID, true);
  const op = OPS[opcode];
  const out: Record<string, unknown> = {
    opcode,
    opcodeName: opcodeName(opcode),
    builder: (op?.builder ?? null) as BuilderName | null, // (fields.ts names only builders: decode.test.ts builds each back)
    pasid: pasidWord & PasidWord.PASID_MASK,
    privileged: (pasidWord & PasidWord.PRIVILEGED) !== 0,
    flags,
    flagNames: flagNames(flags, opcode),
  };
  const covered = new Set(HEADER_BYTES);
  for (const spec of [...COMMON, ...(op?.fields ?? [])]) {
    if (spec.when !== undefined && (flags & spec.when) === 0) continue;
    const v = read(dv, spec);
    put(out, spec.name, v);
    for (let i = 0; i < spec.width; i++) covered.add(spec.at + i);
    if (spec.kind === 'dif') {
      out.blockSize = DIF_BLOCK[(v as number) & DifFlag.BLOCK_SIZE_MASK];
      out.difFlagNames = names((v as number) & ~DifFlag.BLOCK_SIZE_MASK, 8, DIF_FLAG_NAMES);
    }
    if (spec.kind === 'srcDif') out.srcDifFlagNames = names(v as number, 8, SRC_DIF_NAMES);
    if (spec.kind === 'dstDif') out.dstDifFlagNames = names(v as number, 8, DST_DIF_NAMES);
  }
  // bits 30:20 of the PASID word are reserved
  const unused = [(dv.getUint8(2) & 0xf0) !== 0 ? 2 : -1, (dv.getUint8(3) & 0x7f) !== 0 ? 3 : -1].filter((i) => i >= 0);
  for (let i = 0; i < Desc.SIZE; i++) if (!covered.has(i) && dv.getUint8(i) !== 0) unused.push(i);
  out.unusedNonZero = unused;
  return out as DecodedDescriptor;
}

const DIF_OPS = new Set<number>([Opcode.DIF_CHECK, Opcode.DIF_INS, Opcode.DIF_STRP, Opcode.DIF_UPDT, Opcode.DIX_GEN]);

/**
 * Every field of a 32-byte completion record, by name. `opcode` (of the descriptor that wrote it)
 * names the op-specific fields; without it they stay as opSpecific.
 */
export function decodeRecord(bytes: ArrayBufferView, opcode?: number): DecodedRecord {
  const dv = viewOf(bytes, Rec.SIZE, 'decodeRecord');
  if (opcode !== undefined && typeof opcode !== 'number') throw argCoded(new TypeError(`decodeRecord: opcode must be a number, 0-255; got ${typeName(opcode)}`));
  if (opcode !== undefined && !(Number.isInteger(opcode) && opcode >= 0 && opcode <= 0xff)) throw argCoded(new RangeError(`decodeRecord: opcode must be 0-255; got ${String(opcode)}`));
  const rec = readRecord(new Uint8Array(dv.buffer, dv.byteOffset, Rec.SIZE), 0);
  const out: Record<string, unknown> = {
    ...rec,
    statusByte: dv.getUint8(Rec.STATUS),
    statusName: rec.status === 0 ? 'NONE' : statusName(rec.status),
    opcode: opcode ?? null,
    opcodeName: opcode === undefined ? null : opcodeName(opcode),
  };
  if (opcode === Opcode.BATCH) out.descriptorsCompleted = rec.bytesCompleted;
  if (opcode === Opcode.COMPARE || opcode === Opcode.COMPVAL) out.different = rec.result !== 0;
  if (opcode !== undefined && DIF_OPS.has(opcode)) out.difStatusNames = names(rec.result, 8, DIF_STATUS_NAMES);
  if (rec.status === Status.INVALID_FLAGS) out.invalidFlags = rec.opSpecific & 0xffffff;
  else for (const spec of RECORD_FIELDS[opcode ?? -1] ?? []) put(out, spec.name, read(dv, spec));
  return out as DecodedRecord;
}

// ---- text ----

const KIND = new Map<string, Kind>();
for (const spec of [...COMMON, ...Object.values(OPS).flatMap((o) => o.fields), ...Object.values(RECORD_FIELDS).flat()]) KIND.set(spec.name.replace(/^.*\./, ''), spec.kind);
for (const [name, kind] of [['opcode', 'hex'], ['status', 'hex'], ['opSpecific', 'hex'], ['faultAddress', 'addr'], ['faultInfo', 'hex'], ['statusByte', 'hex'], ['invalidFlags', 'hex'], ['flags', 'hex']] as const) KIND.set(name, kind);

function show(name: string, v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.join(' ');
  if (typeof v === 'number' || typeof v === 'bigint') {
    const kind = KIND.get(name);
    return kind === 'size' || kind === undefined ? String(v) : '0x' + v.toString(16);
  }
  return String(v);
}

/** Lines "name  value" for a decoded descriptor or record (nested fields as outer.inner). */
export function formatDecoded(d: DecodedDescriptor | DecodedRecord): string {
  const rows: Array<[string, string]> = [];
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      if (v === null || v === undefined) continue;
      if (typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}.`);
      else rows.push([prefix + k, show(k, v)]);
    }
  };
  walk(d, '');
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

/** JSON with 64-bit values that exceed a double as decimal strings. */
export function decodedJson(d: DecodedDescriptor | DecodedRecord): string {
  // (a 64-bit value as a number where it is exact, a decimal string beyond 2^53: a record's faultAddress is always a bigint)
  return JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v), 2) + '\n';
}
