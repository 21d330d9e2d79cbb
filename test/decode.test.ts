// Decoding (src/device/decode.ts): round trips against the Descriptor builders for every opcode
// (decoded fields given back to the builder give the same bytes), flag/status/DIF names, records,
// `softdsa decode` (output, --json, stdin, exit codes), and diagnostics_channel softdsa:descriptor.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { join } from 'node:path';
import { inspect } from 'node:util';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { decodeDescriptor, decodeRecord, Descriptor, DescriptorEvent, Device, Flag, Opcode, Status } from '../src/index.ts';
import { decodeMain, parseHex } from '../src/cli/decode.ts';
import { parseOpcode } from '../src/device/decode.ts';
import { captured } from './captured.ts';
import { DifFlag, SrcDif } from '../src/device/format.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// Random builder arguments, per builder: the fields each takes.
const addr = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 0xff });
const tags = fc.record({ refTag: u32, appTag: u16, appTagMask: u16 });
const common = fc.record({ flags: fc.integer({ min: 0, max: 0xffff }), completion: addr, intHandle: u16, pasid: fc.integer({ min: 0, max: 0xfffff }), privileged: fc.boolean() });
type Args = Record<string, unknown>;
const BUILDERS: Record<string, fc.Arbitrary<Args>> = {
  noop: fc.constant({}),
  drain: fc.constant({}),
  batch: fc.record({ list: addr, count: u32 }),
  memmove: fc.record({ src: addr, dst: addr, size: u32 }),
  fill: fc.record({ dst: addr, size: u32, pattern: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
  compare: fc.record({ src1: addr, src2: addr, size: u32, expected: fc.integer({ min: 0, max: 1 }) }),
  comparePattern: fc.record({ src: addr, pattern: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), size: u32, expected: fc.integer({ min: 0, max: 1 }) }),
  createDelta: fc.record({ src1: addr, src2: addr, size: u32, delta: addr, maxDeltaSize: u32, expectedMask: u8 }),
  applyDelta: fc.record({ delta: addr, deltaSize: u32, dst: addr, size: u32 }),
  dualcast: fc.record({ src: addr, dst1: addr, dst2: addr, size: u32 }),
  crc32c: fc.record({ src: addr, size: u32, seed: u32, seedAddr: fc.option(addr, { nil: undefined }) }),
  copyCrc32c: fc.record({ src: addr, dst: addr, size: u32, seed: u32, seedAddr: fc.option(addr, { nil: undefined }) }),
  cflush: fc.record({ dst: addr, size: u32 }),
  translationFetch: fc.record({ addr, size: u32 }),
  difCheck: fc.record({ src: addr, size: u32, difFlags: u8, srcDifFlags: u8, refTag: u32, appTag: u16, appTagMask: u16 }),
  difInsert: fc.record({ src: addr, dst: addr, size: u32, difFlags: u8, dstDifFlags: u8, refTag: u32, appTag: u16, appTagMask: u16 }),
  difStrip: fc.record({ src: addr, dst: addr, size: u32, difFlags: u8, srcDifFlags: u8, refTag: u32, appTag: u16, appTagMask: u16 }),
  difUpdate: fc.record({ src: addr, dst: addr, size: u32, difFlags: u8, srcDifFlags: u8, dstDifFlags: u8, srcTags: tags, dstTags: tags }),
  dixGenerate: fc.record({ src: addr, pi: addr, size: u32, difFlags: u8, dstDifFlags: u8, refTag: u32, appTag: u16, appTagMask: u16 }),
};
const build = Descriptor as unknown as Record<string, (o: Args) => Uint8Array>;
/** A decoded value as the builder was given it (numbers and bigints alike). */
const same = (a: unknown, b: unknown): boolean => (typeof a === 'object' && a !== null ? Object.entries(a).every(([k, v]) => same(v, (b as Args)[k])) : BigInt(a as number) === BigInt(b as number));

test('every opcode has a builder and decodes back to it', () => {
  const opcodes = Object.values(Opcode).filter((v): v is number => typeof v === 'number');
  const seen = new Set<string>();
  for (const op of opcodes) {
    const d = new Uint8Array(64);
    d[7] = op;
    const b = decodeDescriptor(d).builder;
    assert.ok(b !== null && b in BUILDERS, `opcode ${op}: builder ${b}`);
    seen.add(b!);
  }
  assert.equal([...seen].sort(), Object.keys(BUILDERS).sort());
});

for (const [name, arb] of Object.entries(BUILDERS)) {
  test(`round trip: Descriptor.${name} -> decodeDescriptor -> Descriptor.${name} gives the same bytes, fields by name`, () => {
    fc.assert(
      fc.property(common, arb, (c, args) => {
        const bytes = build[name]({ ...c, ...args });
        const d = decodeDescriptor(bytes);
        assert.is(d.builder, name);
        assert.is(d.opcode, bytes[7]);
        assert.equal(build[name](d as unknown as Args), bytes);
        for (const [k, v] of Object.entries(args)) if (v !== undefined && !same(v, d[k])) assert.unreachable(`${k}: ${inspect(v)} decoded as ${inspect(d[k])}`);
        assert.ok(same(c.completion, d.completion) && d.intHandle === c.intHandle && d.pasid === c.pasid && d.privileged === c.privileged);
        assert.equal(d.unusedNonZero, [], 'a builder writes only fields the opcode has');
      }),
      { numRuns: 150 },
    );
  });
}

test('builders refuse what does not fit a field, naming it: no silent wrap (a size of 2^32 + 16 moved 16 bytes)', () => {
  const bad: Array<[() => unknown, ErrorConstructor, RegExp]> = [
    [() => Descriptor.memmove({ src: 0, dst: 64, size: 2 ** 32 + 16 }), RangeError, /memmove: size must be an integer from 0 to 4294967295/],
    [() => Descriptor.memmove({ src: -1, dst: 0, size: 1 }), RangeError, /memmove: src must be an integer/],
    [() => Descriptor.memmove({ src: 2 ** 64, dst: 0, size: 1 }), RangeError, /src must be an integer from 0 to 2\^64 - 1/],
    [() => Descriptor.memmove({ src: 1.5, dst: 0, size: 1 }), RangeError, /src must be an integer/],
    [() => Descriptor.memmove({ src: 'a' as unknown as number, dst: 0, size: 1 }), TypeError, /src must be a number or a bigint; got string/],
    [() => Descriptor.fill({ dst: 0, size: 8, pattern: 1n << 64n }), RangeError, /pattern/],
    [() => Descriptor.noop({ intHandle: 0x10000 }), RangeError, /intHandle/],
    [() => Descriptor.memmove({ src: 0, dst: 0, size: 1, pasid: 2 ** 20 + 1 }), RangeError, /pasid must be an integer from 0 to 1048575 \(20 bits\)/],
    [() => Descriptor.noop({ privileged: 1 as unknown as boolean }), TypeError, /noop: privileged must be a boolean; got number/],
    [() => Descriptor.difCheck({ src: 0, size: 520, appTag: 0x10000 }), RangeError, /appTag must be an integer from 0 to 65535/],
    [() => (Descriptor.memmove as (o?: unknown) => unknown)(), TypeError, /memmove: its fields come as an object; got undefined/],
    // a name the builder does not take (a typo built a size of 0, found later as 0x13)
    [() => Descriptor.memmove({ src: 4096, dst: 8192, sizee: 5 } as never), TypeError, /^Descriptor\.memmove: unknown field sizee \(its fields: src, dst, size, flags, completion, intHandle, pasid, privileged\)$/],
    [() => Descriptor.noop({ size: 5 } as never), TypeError, /^Descriptor\.noop: unknown field size \(its fields: flags, completion/],
    // ... nor inside the tag objects, nor another operation's opcode or builder
    [() => Descriptor.difUpdate({ src: 0, dst: 4096, size: 520, srcTags: { refTg: 77 } } as never), TypeError, /^Descriptor\.difUpdate: unknown field srcTags\.refTg \(the fields of srcTags: /],
    [() => Descriptor.memmove({ src: 0, dst: 64, size: 8, opcode: Opcode.CRCGEN } as never), TypeError, /^Descriptor\.memmove: opcode 16 is not this builder's \(3\)/],
    [() => Descriptor.memmove({ src: 0, dst: 64, size: 8, builder: 'crc32c' } as never), TypeError, /^Descriptor\.memmove: builder crc32c is not this one/],
  ];
  for (const [f, type, match] of bad) {
    try {
      f();
      assert.unreachable(`no error (${match})`);
    } catch (e) {
      assert.instance(e, type);
      assert.match((e as Error).message, match);
    }
  }
  assert.is(Descriptor.memmove({ src: (1n << 64n) - 1n, dst: 0, size: 0xffffffff }).length, 64, 'the largest values fit');
});

test('names: flags (op-specific bits by opcode), opcodes, DIF flags and block size, unused bytes', () => {
  const d = decodeDescriptor(Descriptor.crc32c({ src: 64, size: 8, flags: Flag.FENCE | Flag.CRAV | Flag.RCI | Flag.CRC_BYPASS_INVERT | 0x40, seedAddr: 128 }));
  assert.equal(d.flagNames, ['FENCE', 'CRAV', 'RCI', 'BIT_6', 'CRC_SEED_ADDR', 'CRC_BYPASS_INVERT']);
  assert.is(d.opcodeName, 'CRCGEN');
  assert.is(d.seedAddr, 128);
  assert.equal(decodeDescriptor(Descriptor.translationFetch({ addr: 0, size: 8, flags: Flag.TRANSL_FETCH_STRIDE })).flagNames, ['TRANSL_FETCH_STRIDE']);
  // idxd.h: a u32 region_stride at @48, bytes 52-55 reserved (the core refuses them, 0x12)
  assert.throws(() => Descriptor.translationFetch({ addr: 0, size: 8, stride: 2 ** 32 + 4096 }), RangeError);
  const fetch = Descriptor.translationFetch({ addr: 0, size: 8, stride: 4096 });
  fetch[52] = 1;
  assert.equal([decodeDescriptor(fetch).stride, decodeDescriptor(fetch).unusedNonZero], [4096, [52]]);
  const dif = decodeDescriptor(Descriptor.difCheck({ src: 0, size: 520, difFlags: DifFlag.BLOCK_4104 | DifFlag.INVERT_CRC_RESULT, srcDifFlags: SrcDif.GUARD_CHECK_DISABLE | SrcDif.REF_TAG_TYPE, refTag: 0x12345678, appTag: 0xabcd, appTagMask: 0xff }));
  assert.equal([dif.blockSize, dif.difFlagNames, dif.srcDifFlagNames, dif.refTag, dif.appTag, dif.appTagMask], [4104, ['INVERT_CRC_RESULT'], ['GUARD_CHECK_DISABLE', 'REF_TAG_TYPE'], 0x12345678, 0xabcd, 0xff]);
  const raw = new Uint8Array(64);
  raw[7] = 0x7e;
  raw[38] = 1; // reserved
  raw[3] = 0x80; // privileged
  raw[50] = 9;
  const u = decodeDescriptor(raw);
  assert.equal([u.opcodeName, u.builder, u.privileged, u.unusedNonZero], ['UNKNOWN_0x7e', null, true, [38, 50]]);
  assert.throws(() => decodeDescriptor(new Uint8Array(32)), /decodeDescriptor: a descriptor is 64 bytes; got 32/);
});

test('decoding takes what submit() takes: a view from another realm, any TypedArray or DataView of 64 bytes; a lying subclass is measured as it is, a detached buffer and a wrong opcode type say so (an outside pass: "must be a Uint8Array; got object" for a Uint8Array of a vm context)', async () => {
  const realm = vm.createContext({});
  const foreign = vm.runInContext('new Uint8Array(64)', realm) as Uint8Array;
  foreign.set(Descriptor.memmove({ src: 64, dst: 4096, size: 100 }));
  assert.equal([decodeDescriptor(foreign).opcodeName, decodeDescriptor(foreign).size], ['MEMMOVE', 100]);
  const as32 = new Uint32Array(16);
  new Uint8Array(as32.buffer).set(Descriptor.noop());
  assert.is(decodeDescriptor(as32).opcodeName, 'NOOP');
  assert.is(decodeDescriptor(new DataView(as32.buffer)).opcodeName, 'NOOP');
  const rec = vm.runInContext('new Uint8Array(32)', realm) as Uint8Array;
  rec[0] = Status.SUCCESS;
  assert.is(decodeRecord(rec, Opcode.NOOP).statusName, 'SUCCESS');
  assert.is(decodeRecord(new DataView(new ArrayBuffer(32))).statusName, 'NONE');
  class Liar extends Uint8Array {
    override get length(): number { return 64; }
    override get byteLength(): number { return 64; }
  }
  assert.throws(() => decodeDescriptor(new Liar(8)), (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_INVALID_ARG_VALUE' && /decodeDescriptor: a descriptor is 64 bytes; got 8$/.test(e.message));
  assert.throws(() => decodeDescriptor([1, 2] as unknown as Uint8Array), /decodeDescriptor: bytes must be a descriptor's 64 bytes in a Uint8Array \(or other TypedArray\/DataView\); got Array/);
  const ab = new ArrayBuffer(64);
  const gone = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  assert.throws(() => decodeDescriptor(gone), /got 0 \(its buffer is detached/);
  const ab2 = new ArrayBuffer(64);
  const goneView = new DataView(ab2);
  structuredClone(ab2, { transfer: [ab2] });
  // (a detached DataView's byteLength getter throws: decoding threw V8's own TypeError)
  assert.throws(() => decodeDescriptor(goneView), /decodeDescriptor: a descriptor is 64 bytes; got 0 \(its buffer is detached/);
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  try {
    await dev.submit(gone).then(() => assert.unreachable('ran'), (e: Error) => assert.match(e.message, /got 0 \(its buffer is detached/));
    await dev.submit(goneView as unknown as Uint8Array).then(() => assert.unreachable('ran'), (e: Error) => assert.match(e.message, /got 0 \(its buffer is detached/));
    foreign.set(Descriptor.noop());
    assert.is(await dev.submit(foreign), Status.SUCCESS);
  } finally {
    await dev.close();
  }
  assert.throws(() => decodeRecord(new Uint8Array(32), '3' as unknown as number), (e: Error) => e instanceof TypeError && /opcode must be a number, 0-255; got string/.test(e.message));
  assert.throws(() => decodeRecord(new Uint8Array(32), 3n as unknown as number), /got bigint/);
});

test('records: status names, write bit, op-specific fields by opcode', () => {
  const rec = (bytes: Record<number, number>): Uint8Array => {
    const r = new Uint8Array(32);
    for (const [at, v] of Object.entries(bytes)) r[Number(at)] = v;
    return r;
  };
  const pf = decodeRecord(rec({ 0: 0x83, 4: 0x10, 8: 0x40, 9: 0x12, 16: 0x78, 17: 0x56 }), Opcode.COPY_CRC);
  assert.equal([pf.status, pf.statusName, pf.writeFault, pf.bytesCompleted, pf.faultAddress, pf.crc, pf.opcodeName], [3, 'PAGE_FAULT', true, 16, 0x1240n, 0x5678, 'COPY_CRC']);
  const dif = decodeRecord(rec({ 0: Status.DIF_ERR, 1: 0x05, 16: 1, 20: 0xff, 22: 0x34 }), Opcode.DIF_CHECK);
  assert.equal([dif.statusName, dif.difStatusNames, dif.refTag, dif.appTagMask, dif.appTag], ['DIF_ERR', ['GUARD', 'REF_TAG'], 1, 0xff, 0x34]);
  const upd = decodeRecord(rec({ 0: 1, 16: 2, 24: 3 }), Opcode.DIF_UPDT);
  assert.equal([upd.srcTags, upd.dstTags], [{ refTag: 2, appTagMask: 0, appTag: 0 }, { refTag: 3, appTagMask: 0, appTag: 0 }]);
  assert.is(decodeRecord(rec({ 0: Status.INVALID_FLAGS, 16: 0x40 }), Opcode.MEMMOVE).invalidFlags, 0x40);
  assert.is(decodeRecord(rec({ 0: Status.BATCH_FAIL, 4: 7 }), Opcode.BATCH).descriptorsCompleted, 7);
  assert.is(decodeRecord(rec({ 0: 1, 1: 1 }), Opcode.COMPARE).different, true);
  assert.is(decodeRecord(rec({ 0: 1, 16: 80 }), Opcode.CR_DELTA).deltaRecordSize, 80);
  assert.equal([decodeRecord(rec({ 0: 0xff })).statusName, decodeRecord(rec({})).statusName, decodeRecord(rec({ 0: 0x7e })).statusName], ['ABORTED', 'NONE', 'UNKNOWN_0x7e']);
  // every code of idxd.h's dsa_completion_status has its name, also those the core never writes
  assert.equal([0x04, 0x1d, 0x1e, 0x1f, 0x21, 0x22, 0x26, 0x27].map((c) => decodeRecord(rec({ 0: c })).statusName), ['PAGE_FAULT_IR', 'PRIVILEGE', 'TRAFFIC_CLASS', 'READBACK_FAULT', 'HW_ERROR_DRB', 'TRANSLATION_FAIL', 'DRAIN_EVL', 'BATCH_EVL']);
  assert.throws(() => decodeRecord(new Uint8Array(64)), /decodeRecord: a completion record is 32 bytes; got 64/);
});

/** `softdsa decode` in this process: stdout, stderr, exit code. */
const cli = (args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> => captured(() => decodeMain(args, () => stdin));

test('softdsa decode: text, --json, --record --opcode, hex as pasted, standard input', async () => {
  const desc = Descriptor.memmove({ src: 0x20000, dst: 0x21000, size: 4096, completion: 0x22000 });
  const text = await cli([hex(desc)]);
  assert.is(text.code, 0);
  for (const line of [/^opcodeName\s+MEMMOVE$/m, /^flagNames\s+CRAV RCR$/m, /^src\s+0x20000$/m, /^dst\s+0x21000$/m, /^size\s+4096$/m, /^completion\s+0x22000$/m]) assert.match(text.out, line);
  // as xxd -g1 or a debugger prints it
  const spaced = Buffer.from(desc).toString('hex').match(/../g)!.map((b) => `0x${b}`).join(', ');
  assert.is((await cli([spaced])).out, text.out);
  assert.is((await cli(['-'], hex(desc) + '\n')).out, text.out);
  const json = JSON.parse((await cli(['--json', hex(desc)])).out) as Record<string, unknown>;
  assert.equal([json.opcodeName, json.src, json.size, json.flagNames], ['MEMMOVE', 0x20000, 4096, ['CRAV', 'RCR']]);
  const big = JSON.parse((await cli(['--json', hex(Descriptor.memmove({ src: 1n << 60n, dst: 0, size: 1 }))])).out) as Record<string, unknown>;
  assert.is(big.src, String(1n << 60n));
  const r = new Uint8Array(32);
  r[0] = 1;
  new DataView(r.buffer).setUint32(16, 0xe3069283, true);
  const rec = await cli(['--record', '--opcode', 'crcgen', hex(r)]);
  assert.is(rec.code, 0);
  assert.match(rec.out, /^statusName\s+SUCCESS$/m);
  assert.match(rec.out, /^crc\s+0xe3069283$/m);
  assert.match((await cli(['--record', '--opcode', '0x10', hex(r)])).out, /^opcodeName\s+CRCGEN$/m);
  // the builder's name too, which decode prints (`builder crc32c`)
  assert.match((await cli(['--record', '--opcode', 'crc32c', hex(r)])).out, /^opcodeName\s+CRCGEN$/m);
  assert.match((await cli(['--record', '--opcode', 'difUpdate', hex(r)])).out, /^opcodeName\s+DIF_UPDT$/m);
  // a record's 64-bit fault address: a number where exact, as descriptors' fields (it was always a string)
  const recJson = JSON.parse((await cli(['--record', '--opcode', 'crcgen', '--json', hex(r)])).out) as Record<string, unknown>;
  assert.is(recJson.faultAddress, 0);
  const help = (await cli(['--help'])).out;
  assert.match(help, /^Usage: softdsa decode/m);
  // the help's examples, as a shell takes them (a line ending in \ goes on): each decodes (a
  // continuation written into the help text itself joined each example's halves with spaces)
  const examples = help.split('Examples\n')[1].replace(/ \\\n\s*/g, ' ').split('\n').filter((l) => l.startsWith('  softdsa decode '));
  assert.is(examples.length, 2);
  for (const line of examples) {
    const r = await cli(line.trim().split(/\s+/).slice(2));
    assert.is(r.code, 0, `${line}: ${r.err}`);
  }
  assert.match(help, /0000 \\\n {17}0010/);
});

test('softdsa decode: usage errors on one line, exit 2', async () => {
  const desc = hex(Descriptor.noop());
  const cases: Array<[string[], RegExp]> = [
    [[], /give the bytes in hex/],
    [['12zz'], /"z" is not a hex digit\n$/],
    // a character a terminal would act on, or that cannot be seen, is named by its code point
    [['12\x1b]0;title\x07'], /U\+001B is not a hex digit \(the input looks binary: give its bytes as hex, e\.g\. xxd -p desc\.bin \| softdsa decode -\)\n$/],
    [['12\u200b34'], /U\+200B is not a hex digit\n$/],
    [['12é'], /U\+00E9 is not a hex digit\n$/], // (an argument is text: a letter, not "binary")
    [['12"34'], /U\+0022 is not a hex digit\n$/],
    [['123'], /3 hex digits is not a whole number of bytes/],
    [['00'.repeat(32)], /a descriptor is 64 bytes \(128 hex digits\); got 32 \(a completion record\? add --record\)/],
    [['--record', desc], /a completion record is 32 bytes \(64 hex digits\); got 64 \(a descriptor\? drop --record\)/],
    [['--opcode', 'memmove', desc], /--opcode goes with --record/],
    [['--record', '--opcode', 'nosuch', '00'.repeat(32)], /--opcode: "nosuch" is not an opcode/],
    [['--bogus', desc], /Unknown option '--bogus'/],
    [['-', desc], /"-" reads the hex from standard input: give nothing else/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.is(r.code, 2, args.join(' '));
    assert.is(r.out, '');
    assert.match(r.err, re);
    assert.ok(/^softdsa: decode: [^\n]*\n$|^softdsa: [^\n]*\n$/.test(r.err), `one line: ${r.err}`);
  }
});

test('softdsa decode through bin/softdsa.js, as a user runs it', () => {
  const run = (args: string[], input?: string): { code: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [join(root, 'bin/softdsa.js'), 'decode', ...args], { input, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const ok = run(['-'], hex(Descriptor.fill({ dst: 0x30000, size: 64, pattern: 0x0102030405060708n })));
  assert.is(ok.code, 0, ok.err);
  assert.match(ok.out, /^opcodeName\s+MEMFILL$/m);
  assert.match(ok.out, /^pattern\s+0x102030405060708$/m);
  const bad = run(['xyz']);
  assert.equal([bad.code, bad.out], [2, '']);
  assert.match(bad.err, /^softdsa: decode: "x" is not a hex digit\n$/);
  // a whole dump piped in is refused once it is clearly more than one descriptor (it was read to its end)
  // hex saved with a UTF-8 byte-order mark decodes, as it did when standard input was read as UTF-8
  const marked = run(['-'], Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(hex(Descriptor.noop()) + '\n')]) as never);
  assert.equal([marked.code, marked.err], [0, '']);
  assert.match(marked.out, /^opcodeName\s+NOOP$/m);
  // binary on standard input: the first byte that is not hex, as the byte it is, and what to do
  const binary = run(['-'], Buffer.from([0xde, 0xad, 0xbe, 0xef]) as never);
  assert.equal([binary.code, binary.out], [2, '']);
  assert.match(binary.err, /^softdsa: decode: byte 0xde is not a hex digit \(the input looks binary: give its bytes as hex, e\.g\. xxd -p desc\.bin \| softdsa decode -\)\n$/);
  const dump = run(['-'], '00'.repeat(4 << 20));
  assert.equal([dump.code, dump.out], [2, '']);
  assert.match(dump.err, /^softdsa: decode: standard input holds more than 64 KiB: give one descriptor .*xxd -p -l 64 dump\.bin \| softdsa decode -\n$/);
});

test('diagnostics_channel softdsa:descriptor: each submitted descriptor and its record, decoded', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  const events: DescriptorEvent[] = [];
  const on = (m: unknown): void => {
    events.push(m as DescriptorEvent);
  };
  try {
    const src = dev.alloc(4096);
    const rec = dev.alloc(32, 32);
    dev.view(src, 9).set(Buffer.from('123456789'));
    await dev.submit(Descriptor.noop()); // nobody listens: nothing published
    subscribe('softdsa:descriptor', on);
    const desc = Descriptor.crc32c({ src, size: 9, completion: rec });
    assert.is(await dev.submit(desc), Status.SUCCESS);
    dev.inject({ opcode: Opcode.MEMMOVE, pageFault: { offset: 100 }, times: 1 });
    assert.is(await dev.submit(Descriptor.memmove({ src, dst: src + 2048, size: 1000, completion: rec })), Status.PAGE_FAULT);
    await dev.submit(Descriptor.noop());
    unsubscribe('softdsa:descriptor', on);
    await dev.submit(Descriptor.noop());
    assert.is(events.length, 3);
    const [crc, pf, noop] = events;
    assert.instance(crc, DescriptorEvent);
    assert.equal(crc.bytes, desc);
    assert.equal([crc.status, crc.wq, crc.descriptor.opcodeName, crc.descriptor.src, crc.descriptor.size], [Status.SUCCESS, 0, 'CRCGEN', src, 9]);
    assert.equal([crc.record!.statusName, crc.record!.crc], ['SUCCESS', 0xe3069283]);
    assert.equal([pf.record!.statusName, pf.record!.bytesCompleted, pf.record!.faultAddress], ['PAGE_FAULT', 100, BigInt(src + 100)]);
    assert.equal([noop.descriptor.opcodeName, noop.record, noop.recordBytes], ['NOOP', null, null]);
    // a descriptor given as a Buffer from Node's pool (at an offset in a shared 8 KiB buffer),
    // rewritten by its caller as soon as submit() returns: the event has the bytes submitted
    events.length = 0;
    subscribe('softdsa:descriptor', on);
    const pooled = Buffer.from(Descriptor.crc32c({ src, size: 9, completion: rec, flags: Flag.CRAV | Flag.RCR }));
    assert.ok(pooled.byteOffset > 0 || pooled.buffer.byteLength > 64, '(a pooled Buffer)');
    const want = Buffer.from(pooled);
    const done = dev.submit(pooled);
    pooled.fill(0xee);
    assert.is(await done, Status.SUCCESS);
    unsubscribe('softdsa:descriptor', on);
    assert.equal(Buffer.from(events[0].bytes), want);
    assert.equal([events[0].descriptor.opcodeName, events[0].record!.crc], ['CRCGEN', 0xe3069283]);
  } finally {
    unsubscribe('softdsa:descriptor', on);
    await dev.close();
  }
});

test('softdsa:descriptor shows only what the program submitted: not the device\'s own measuring (its handoff calibration), nor its warm-up', async () => {
  const events: DescriptorEvent[] = [];
  const on = (m: unknown): void => {
    events.push(m as DescriptorEvent);
  };
  subscribe('softdsa:descriptor', on);
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  try {
    await dev.crc32c(Buffer.alloc(4096)); // (done here: no descriptor)
    await dev.submit(Descriptor.noop());
    // the calibration runs once the device is first idle (20 ms after the first call) and
    // submits 4 batches of 64 NOOPs: wait for it (up to 15 s on a loaded machine), and see it ran
    const until = Date.now() + 15_000;
    while (Date.now() < until && dev.stats().completed < 3) await new Promise((r) => setTimeout(r, 20));
    assert.ok(dev.stats().completed >= 3, `the calibration ran: ${dev.stats().completed} completed`);
    assert.equal(events.map((e) => e.descriptor.opcodeName), ['NOOP']);
  } finally {
    unsubscribe('softdsa:descriptor', on);
    await dev.close();
  }
});

test('softdsa:descriptor: no record where the device wrote none (CRAV without RCR and a success; a misaligned record address)', async () => {
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20 });
  const events: DescriptorEvent[] = [];
  const on = (m: unknown): void => {
    events.push(m as DescriptorEvent);
  };
  subscribe('softdsa:descriptor', on);
  try {
    const src = dev.alloc(4096);
    const rec = dev.alloc(64, 32);
    dev.view(rec, 64).fill(0x42); // what a record read anyway would show
    assert.is(await dev.submit(Descriptor.memmove({ src, dst: src + 2048, size: 0, flags: Flag.CRAV, completion: rec })), Status.TRANSFER_SIZE);
    assert.is(await dev.submit(Descriptor.memmove({ src, dst: src + 2048, size: 16, flags: Flag.CRAV, completion: rec })), Status.SUCCESS);
    assert.is(await dev.submit(Descriptor.memmove({ src, dst: src + 2048, size: 16, completion: rec + 8 })), Status.COMPLETION_ALIGN);
    assert.equal(events.map((e) => e.record?.statusName ?? null), ['TRANSFER_SIZE', null, null]);
  } finally {
    unsubscribe('softdsa:descriptor', on);
    await dev.close();
  }
});

test('a dump pasted as it is: xxd\'s and hexdump -C\'s offsets and text columns are dropped (their "." was not a hex digit), od -An too; a "*" line (repeats left out) is refused; --opcode takes the bench\'s names', () => {
  const hex = '0b3055039fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126';
  const xxd = `00000000: 0b30 5503 9fc4 e90e 3358 7da2 c7ec 1136  .0U.....3X}....6
00000010: 5b80 a5ca ef14 395e 83a8 cdf2 173c 6186  [.....9^.....<a.
00000020: abd0 f51a 3f64 89ae d3f8 1d42 678c b1d6  ....?d.....Bg...
00000030: fb20 456a 8fb4 d9fe 2348 6d92 b7dc 0126  . Ej....#Hm....&
`;
  const hexdump = `00000000  0b 30 55 03 9f c4 e9 0e  33 58 7d a2 c7 ec 11 36  |.0U.....3X}....6|
00000010  5b 80 a5 ca ef 14 39 5e  83 a8 cd f2 17 3c 61 86  |[.....9^.....<a.|
00000020  ab d0 f5 1a 3f 64 89 ae  d3 f8 1d 42 67 8c b1 d6  |....?d.....Bg...|
00000030  fb 20 45 6a 8f b4 d9 fe  23 48 6d 92 b7 dc 01 26  |. Ej....#Hm....&|
00000040
`;
  const od = hex.match(/.{32}/g)!.map((l) => ' ' + l.match(/../g)!.join(' ')).join('\n') + '\n';
  for (const [name, text] of [['xxd', xxd], ['hexdump -C', hexdump], ['od -An -tx1', od], ['xxd -p', hex.match(/.{1,60}/g)!.join('\n')]]) {
    assert.is(Buffer.from(parseHex(text!, true)).toString('hex'), hex, name);
  }
  assert.throws(() => parseHex('00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n*\n00000040\n'), /a line "\*" stands for repeated lines the dump left out/);
  assert.equal(['dif-check', 'compare-pattern', 'create-delta', 'crc32c', 'memmove'].map(parseOpcode), [Opcode.DIF_CHECK, Opcode.COMPVAL, Opcode.CR_DELTA, Opcode.CRCGEN, Opcode.MEMMOVE]);
});

test.run();
