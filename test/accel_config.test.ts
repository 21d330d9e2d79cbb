// accel-config's JSON: the sample shapes load (trailing commas, ignored fields, absent fields
// defaulted), every configuration accel-config or the driver refuses is refused naming the field,
// and config() round-trips through fromConfig.
import { test } from 'uvu';
import { runInNewContext } from 'node:vm';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Device } from '../src/index.ts';
import { parseAccelConfig, parseLenientJson, toAccelConfig } from '../src/device/accel_config.ts';
import { ConfigError } from '../src/device/errors.ts';

const fixture = (name: string): string => join(import.meta.dirname, 'fixtures', 'accel-config', name);

test('two_groups.conf (trailing commas, traffic classes, read buffers): groups, WQs and engines as written; ignored fields listed', () => {
  const { topology, warnings } = parseAccelConfig(fixture('two_groups.conf'));
  assert.is(topology.device, 'dsa0');
  assert.equal(topology.groups, [{ id: 0, engines: [0] }, { id: 1, engines: [1] }, { id: 2, engines: [] }]);
  assert.equal(topology.wqs, [
    { id: 0, group: 0, name: 'small', mode: 'shared', size: 24, priority: 12, threshold: 20, maxBatchSize: 16, maxTransferSize: 8192, blockOnFault: false },
    { id: 1, group: 1, name: 'bulk', mode: 'dedicated', size: 64, priority: 5, threshold: 0, maxBatchSize: 1024, maxTransferSize: 2097152, blockOnFault: true },
  ]);
  for (const f of ['dsa0.read_buffer_limit', 'group0.0.traffic_class_a', 'group0.0.traffic_class_b', 'wq0.0.ats_disable', 'group0.2.read_buffers_reserved']) {
    assert.ok(warnings.some((w) => w.startsWith(`${f}: ignored (`)), `${f} listed as ignored: ${warnings.join('; ')}`);
  }
  assert.not.ok(warnings.some((w) => w.includes('.type:') || w.includes('.driver_name:')), 'type and driver_name "user" are what softdsa does: not listed');
});

test('user_default.conf (config-user-default template): absent size/threshold/engines take accel-config\'s values; the IAA device is skipped, or opened when named', () => {
  const { topology, warnings } = parseAccelConfig(fixture('user_default.conf'));
  assert.equal(topology.wqs[0], { id: 0, group: 0, name: 'user_default_wq', mode: 'shared', size: 16, priority: 10, threshold: 16, maxBatchSize: 1024, maxTransferSize: 0x80000000, blockOnFault: true });
  assert.equal(topology.groups[0].engines, [0, 1, 2, 3]);
  assert.ok(warnings.some((w) => w.startsWith('iax1: ignored')));
  assert.ok(warnings.some((w) => w.startsWith('wq0.0.size: absent, 16')));
  assert.ok(warnings.some((w) => w.startsWith('wq0.0.prs_disable: ignored')));
  const iax = parseAccelConfig(fixture('user_default.conf'), 'iax1');
  assert.is(iax.topology.device, 'iax1');
  assert.equal(iax.topology.groups[0].engines, [0, 1, 2, 3, 4, 5, 6, 7], 'an IAA device has 8 engines');
  assert.ok(iax.warnings.some((w) => w.startsWith('iax1: an IAA device')));
  assert.ok(iax.warnings.some((w) => w.startsWith('dsa0: ignored')));
});

test('lenient JSON as json-c reads it: trailing commas and comments outside strings; commas and slashes inside strings kept', () => {
  assert.equal(parseLenientJson('[ {"a": "x,]//y", /* c */ "b": [1, 2,], }, ] // end'), [{ a: 'x,]//y', b: [1, 2] }]);
  assert.throws(() => parseLenientJson('[{"a": }]'), (e: ConfigError) => e.code === 'CONFIG_INVALID' && e.field === 'json');
});

test('a config that does not parse is refused saying where: the file (its target), line and column of the text as written, comments and all (it said "config", and a position in the text without its comments)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'softdsa-config-'));
  try {
    const path = join(dir, 'broken.conf');
    writeFileSync(path, '// a comment\n/* block\n comment */ [\n {\n  "dev":"dsa0", // x\n  "groups":[ { "dev":"group0.0" "grouped_workqueues":[] } ]\n }\n]\n');
    for (const source of [path, pathToFileURL(path), pathToFileURL(path).href]) {
      assert.throws(() => Device.fromConfigSync(source), (e: ConfigError) => e.target === path && e.field === 'json' && / \(line 6, column 33\)$/.test(e.message), String(source));
    }
    assert.throws(() => Device.fromConfigSync(readFileSync(path, 'utf8')), (e: ConfigError) => e.target === 'config' && / \(line 6, column 33\)$/.test(e.message), 'as text');
    assert.throws(() => parseLenientJson('[ { "dev": "dsa0" } ] x'), (e: ConfigError) => /^config: json: not JSON accel-config can read: Unexpected non-whitespace character after JSON \(line 1, column 23\)$/.test(e.message));
    // a number past a double's range is said so, not as JSON.stringify writes Infinity (null)
    writeFileSync(path, JSON.stringify([{ dev: 'dsa0', groups: [{ dev: 'group0.0', grouped_workqueues: [{ dev: 'wq0.0', mode: 'shared', size: 0, priority: 1, threshold: 0 }], grouped_engines: [{ dev: 'engine0.0' }] }] }]).replace('"size":0', '"size":1e400'));
    assert.throws(() => Device.fromConfigSync(path), (e: ConfigError) => /the file says a number past a double's range \(Infinity\)/.test(e.message) && !/says null/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the config as text that opens with a comment, as bytes, as a file: URL; anything else refused saying what a config is', () => {
  const text = readFileSync(fixture('two_groups.conf'), 'utf8');
  const expected = parseAccelConfig(fixture('two_groups.conf')).topology;
  // (text opening with a comment was taken for a file path: ENAMETOOLONG, the text three times over)
  assert.equal(parseAccelConfig('// saved by accel-config\n' + text).topology, expected);
  assert.equal(parseAccelConfig('  /* a profile */' + text).topology, expected);
  assert.equal(parseAccelConfig(Buffer.from(text)).topology, expected);
  assert.equal(parseAccelConfig(new URL(`file://${fixture('two_groups.conf')}`)).topology, expected);
  // a file: URL as a string (it was read as a path: ENOENT), text and bytes with a byte-order mark
  assert.equal(parseAccelConfig(`file://${fixture('two_groups.conf')}`).topology, expected);
  assert.equal(parseAccelConfig('\ufeff' + text).topology, expected);
  assert.equal(parseAccelConfig(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])).topology, expected);
  // the same device twice: refused (it was opened, with a warning that it was ignored)
  const [one] = JSON.parse(JSON.stringify(parseLenientJson(text))) as unknown[];
  assert.throws(() => parseAccelConfig([one, one]), (e: ConfigError) => e.code === 'CONFIG_INVALID' && /the device is listed twice/.test(e.message));
  assert.throws(() => parseAccelConfig(42), (e: ConfigError) => e.code === 'CONFIG_INVALID' && /a config is JSON text, a file path \(or file: URL\), its bytes, or the parsed JSON; got number/.test(e.message));
  // a path that starts with // is a path still (POSIX), and an ArrayBuffer is bytes
  assert.equal(parseAccelConfig('/' + fixture('two_groups.conf')).topology, expected);
  assert.equal(parseAccelConfig('// saved on Windows\r\n' + text.replace(/\n/g, '\r\n')).topology, expected, 'CRLF');
  assert.equal(parseAccelConfig(new DataView(new Uint8Array(Buffer.from(text)).buffer)).topology, expected, 'a DataView');
  const bytes = Buffer.from(text);
  assert.equal(parseAccelConfig(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)).topology, expected);
  // an ArrayBuffer of another realm (a vm context's) is bytes too (it was taken for the parsed JSON)
  const foreign = runInNewContext('new ArrayBuffer(n)', { n: bytes.length }) as ArrayBuffer;
  new Uint8Array(foreign).set(bytes);
  assert.equal(parseAccelConfig(foreign).topology, expected, 'another realm\'s ArrayBuffer');
  for (const [u, re] of [['https://example.com/dsa.conf', /must be a file: URL/], ['file://server/dsa.conf', /no host/], ['file:///tmp/%FF.conf', /percent-encoded/]] as const) {
    assert.throws(() => parseAccelConfig(new URL(u)), (e: ConfigError) => e.code === 'CONFIG_INVALID' && re.test(e.message), u);
  }
});

test('a WQ field softdsa does not read is said to be ignored, with the field it is close to; a WQ type the driver does not have is refused', () => {
  const { warnings } = parseAccelConfig(config({ max_tranfer_size: 4096, prority: 3 }));
  assert.ok(warnings.some((w) => /\.max_tranfer_size: ignored \(not a field softdsa reads: did you mean max_transfer_size\?\)/.test(w)), warnings.join('\n'));
  assert.ok(warnings.some((w) => /\.prority: ignored \(not a field softdsa reads: did you mean priority\?\)/.test(w)), warnings.join('\n'));
  assert.throws(() => parseAccelConfig(config({ type: 'wat' })), (e: ConfigError) => e.field === 'type' && /must be "user", "kernel", "mdev" or "none"/.test(e.message));
  assert.ok(parseAccelConfig(config({ type: 'kernel' })).warnings.some((w) => /\.type: ignored \(softdsa serves every WQ to user code\)/.test(w)));
});

test('limits are kept as powers of two, rounded up as the driver does; numbers given as strings are read', () => {
  const { topology } = parseAccelConfig(config({ max_transfer_size: 5000, max_batch_size: '20' }));
  assert.is(topology.wqs[0].maxTransferSize, 8192);
  assert.is(topology.wqs[0].maxBatchSize, 32);
});

test('values read as json-c reads them for accel-config: numbers truncated, booleans 1/0, strings by their leading digits, null as absent, a number as a name', () => {
  const { topology, warnings } = parseAccelConfig(config({ block_on_fault: true, priority: 5.7, size: '16.5', name: 5, max_batch_size: null, max_transfer_size: '2M' }));
  const w = topology.wqs[0];
  assert.equal([w.blockOnFault, w.priority, w.size, w.name, w.maxBatchSize, w.maxTransferSize], [true, 5, 16, '5', 1024, 2]);
  // ... and each one read so is said (a "2M" that became 2 bytes failed every transfer with 0x13, unsaid)
  for (const said of [/wq0\.0\.max_transfer_size: "2M" read as 2 \(as accel-config's json-c reads a number/, /wq0\.0\.priority: 5\.7 read as 5/, /wq0\.0\.size: "16\.5" read as 16/, /wq0\.0\.block_on_fault: true read as 1/]) {
    assert.ok(warnings.some((x) => said.test(x)), `${said}: ${warnings.join('\n')}`);
  }
  assert.is(parseAccelConfig(config({ priority: null })).topology.wqs[0].priority, 10, 'the driver\'s default priority');
  // strtoll in base 10: "0x10" is 0, a size the driver refuses (it was read as 16)
  // ... and a value so read that is refused names what the file wrote, not only the 0 it became
  assert.throws(() => parseAccelConfig(config({ size: '0x10' })), (e: ConfigError) => e.field === 'size' && /got 0 .*\(the file says "0x10", read as accel-config reads it\)$/.test(e.message));
  assert.throws(() => parseAccelConfig(config({ priority: 'high' })), (e: ConfigError) => e.field === 'priority' && /got 0 \(the file says "high", read as accel-config reads it\)$/.test(e.message));
  assert.throws(() => parseAccelConfig(config({ priority: 0 })), (e: ConfigError) => e.field === 'priority' && /got 0$/.test(e.message), 'a plain 0 is refused as it is');
  assert.throws(() => parseAccelConfig(config({ threshold: -1 })), (e: ConfigError) => e.field === 'threshold' && /threshold -1 is not a count from 1/.test(e.message));
});

/** A one-group, one-engine device whose first WQ has `wq` over these defaults; `more` WQs join group 0. */
function config(wq: Record<string, unknown>, more: Array<Record<string, unknown>> = [], engines: unknown[] = [{ dev: 'engine0.0', group_id: 0 }]): string {
  const base = { dev: 'wq0.0', mode: 'shared', size: 16, group_id: 0, priority: 10, block_on_fault: 0, max_batch_size: 32, max_transfer_size: 16384, type: 'user', driver_name: 'user', name: 'app1', threshold: 15 };
  const strip = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return JSON.stringify([{ dev: 'dsa0', groups: [{ dev: 'group0.0', grouped_workqueues: [strip({ ...base, ...wq }), ...more.map((m) => strip({ ...base, ...m }))], grouped_engines: engines }] }]);
}

const wqs = (n: number, size: number): Array<Record<string, unknown>> => Array.from({ length: n }, (_, i) => ({ dev: `wq0.${i + 1}`, name: `app${i + 2}`, size, threshold: size }));

// Each: the config, the object and field the error must name, and what its message must say.
const refused: Array<[string, string, string, string, RegExp]> = [
  ['a WQ whose group has no engines', config({}, [], []), 'wq0.0', 'group_id', /has no engines/],
  ['sizes over the device total (128)', config({ size: 100, threshold: 100 }, [{ dev: 'wq0.1', name: 'b', size: 29, threshold: 29 }]), 'wq0.1', 'size', /accumulated wq size exceeds 128/],
  ['a size over 128', config({ size: 129 }), 'wq0.0', 'size', /valid size should be 1 to 128, got 129$/],
  ['a WQ of another device', config({ dev: 'wq1.3' }), 'wq1.3', 'dev', /names wq 3 of device 1, but it is listed under dsa0/],
  ['an engine of another device', config({}, [], [{ dev: 'engine1.0', group_id: 0 }]), 'engine1.0', 'dev', /of device 1, but it is listed under dsa0/],
  ['a group of another device', JSON.stringify([{ dev: 'dsa0', groups: [{ dev: 'group2.0' }] }]), 'group2.0', 'dev', /of device 2, but it is listed under dsa0/],
  ['max_batch_size 1025 (the value given, not as rounded up)', config({ max_batch_size: 1025 }), 'wq0.0', 'max_batch_size', /1 to 1024, got 1025$/],
  ['a size of 0', config({ size: 0 }), 'wq0.0', 'size', /size 0 cannot be enabled/],
  ['threshold > size on a shared WQ', config({ size: 16, threshold: 17 }), 'wq0.0', 'threshold', /over the WQ's size 16/],
  ['threshold 0 on a shared WQ', config({ threshold: 0 }), 'wq0.0', 'threshold', /shared wq and threshold 0/],
  ['priority 0', config({ priority: 0 }), 'wq0.0', 'priority', /1 to 15, got 0/],
  ['priority 16', config({ priority: 16 }), 'wq0.0', 'priority', /1 to 15, got 16/],
  ['name missing', config({ name: undefined }), 'wq0.0', 'name', /name not set/],
  ['size absent (outside config-user-default\'s template)', config({ size: undefined }), 'wq0.0', 'size', /size 0 cannot be enabled/],
  ['threshold absent on a shared WQ', config({ threshold: undefined }), 'wq0.0', 'threshold', /shared wq and threshold 0/],
  ['name empty', config({ name: '' }), 'wq0.0', 'name', /name not set/],
  ['an unknown mode', config({ mode: 'exclusive' }), 'wq0.0', 'mode', /shared or dedicated/],
  ['max_batch_size over the device\'s 1024', config({ max_batch_size: 2048 }), 'wq0.0', 'max_batch_size', /1 to 1024/],
  ['max_batch_size 0', config({ max_batch_size: 0 }), 'wq0.0', 'max_batch_size', /1 to 1024/],
  ['max_transfer_size over 2 GiB', config({ max_transfer_size: 2 ** 31 + 1 }), 'wq0.0', 'max_transfer_size', /1 to 2147483648, got 2147483649$/],
  ['block_on_fault 2', config({ block_on_fault: 2 }), 'wq0.0', 'block_on_fault', /either 0 or 1/],
  ['9 WQs', config({ size: 8, threshold: 8 }, wqs(8, 8)), 'dsa0', 'groups', /exceeds 8/],
  ['a WQ id over 7', config({ dev: 'wq0.8' }), 'wq0.8', 'dev', /0 to 7/],
  ['a WQ listed twice', config({}, [{ name: 'b' }]), 'wq0.0', 'dev', /listed twice/],
  ['a WQ dev that is not wqN.M', config({ dev: 'queue1' }), 'group0.0', 'grouped_workqueues', /wqN\.M/],
  ['a WQ group_id that is not its group', config({ group_id: 1 }), 'wq0.0', 'group_id', /listed in group0\.0/],
  ['an engine id over 3', config({}, [], [{ dev: 'engine0.4', group_id: 0 }]), 'engine0.4', 'dev', /0 to 3/],
  ['an engine group_id that is not its group', config({}, [], [{ dev: 'engine0.0', group_id: 2 }]), 'engine0.0', 'group_id', /listed in group0\.0/],
  ['an engine in two groups', JSON.stringify([{ dev: 'dsa0', groups: [{ dev: 'group0.0', grouped_engines: [{ dev: 'engine0.1' }], grouped_workqueues: [{ dev: 'wq0.0', mode: 'dedicated', size: 8, name: 'a' }] }, { dev: 'group0.1', grouped_engines: [{ dev: 'engine0.1' }] }] }]), 'engine0.1', 'group_id', /one group/],
  ['a group id over 3', JSON.stringify([{ dev: 'dsa0', groups: [{ dev: 'group0.4' }] }]), 'group0.4', 'dev', /0 to 3/],
  ['no WQ at all', JSON.stringify([{ dev: 'dsa0', groups: [{ dev: 'group0.0', grouped_engines: [{ dev: 'engine0.0' }] }] }]), 'dsa0', 'groups', /no work queue/],
  ['no DSA or IAA device', JSON.stringify([{ dev: 'qat0', groups: [] }]), 'config', 'dev', /no DSA \(dsaN\) or IAA \(iaxN\) device/],
  ['a device not in the file', JSON.stringify([{ dev: 'dsa0', groups: [] }]), 'dsa2', 'dev', /no device dsa2/],
  ['groups not an array', JSON.stringify([{ dev: 'dsa0', groups: {} }]), 'dsa0', 'groups', /array/],
  // what was there is said, and what reading the file noted of the refusal
  ['an engine listed twice in one group', config({}, [], [{ dev: 'engine0.0', group_id: 0 }, { dev: 'engine0.0', group_id: 0 }]), 'engine0.0', 'dev', /the engine is listed twice in group 0$/],
  ['a device without a dev name', JSON.stringify({ groups: [] }), 'config', 'dev', /\(devices: an object without a dev name \(keys: groups\)\)$/],
  ['a size read json-c\'s way, refused by another field', config({ size: true }), 'wq0.0', 'threshold', /over the WQ's size 1: .*\(its size: the file says true, read as 1\)$/],
  ['a misspelt list (no WQ then)', JSON.stringify([{ dev: 'dsa0', groups: [{ dev: 'group0.0', grouped_workqueue: [{ dev: 'wq0.0', mode: 'dedicated', size: 8, name: 'a' }], grouped_engines: [{ dev: 'engine0.0' }] }] }]), 'dsa0', 'groups', /no work queue is configured .*\(and the file has group0\.0\.grouped_workqueue: ignored \(not a field softdsa reads: did you mean grouped_workqueues\?\)\)$/],
];

for (const [what, json, target, field, message] of refused) {
  test(`refused: ${what} (${target} ${field})`, () => {
    let caught: unknown;
    try {
      Device.fromConfigSync(json, { arenaBytes: 1 << 20, ...(target === 'dsa2' ? { device: 'dsa2' } : {}) });
    } catch (e) {
      caught = e;
    }
    assert.instance(caught, ConfigError, `${what}: refused with a ConfigError`);
    const e = caught as ConfigError;
    assert.is(e.code, 'CONFIG_INVALID');
    assert.is(e.target, target, e.message);
    assert.is(e.field, field, e.message);
    assert.match(e.message, message);
    assert.match(e.message, new RegExp(`^${target.replace(/\./g, '\\.').replace(/\//g, '\\/')}( \\("\\w+"\\))?: ${field}: `), 'the object (and a WQ\'s name), then the field');
  });
}

test('two WQs of one name (accel-config lets them): opened, with a warning; dev.wq(name) then says the name is ambiguous, not absent; ids and wqN.M still find each', async () => {
  const dev = await Device.fromConfig(config({ mode: 'dedicated', name: 'a' }, [{ dev: 'wq0.1', mode: 'dedicated', name: 'a' }]), { arenaBytes: 1 << 20 });
  try {
    assert.ok(dev.configWarnings.includes('wq0.0.name: "a" is wq0.1\'s too: dev.wq("a") cannot tell them apart (give the id, or \'wqN.M\')'), dev.configWarnings.join('\n'));
    assert.throws(() => dev.wq('a'), (e: Error & { code?: string }) => e.code === 'NO_SUCH_WQ' && /^work queue name "a" is on several of this device's WQs \(a \(id 0\), a \(id 1\)\): give its id or 'wqN.M'$/.test(e.message));
    assert.is(dev.wq('wq0.1'), dev.wq(1));
    for (const v of [0n, null, undefined, {}]) assert.throws(() => dev.wq(v as never), (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE' && /^wq\(which\): a work queue's name, 'wqN.M' or id/.test(e.message), String(v));
  } finally {
    await dev.close();
  }
});

test('a WQ named as another\'s device name (wqN.M): the device name finds its WQ, with a warning; names with control characters are listed quoted, on one line; an engine\'s misspelt field is said', async () => {
  const dev = await Device.fromConfig([{ dev: 'dsa0', groups: [{ dev: 'group0.0', grouped_engines: [{ dev: 'engine0.0', group_idd: 0 }], grouped_workqueues: [
    { dev: 'wq0.0', mode: 'shared', size: 8, threshold: 8, name: 'a\n\x1b[2J', group_id: 0 },
    { dev: 'wq0.1', mode: 'shared', size: 8, threshold: 8, name: 'wq0.0', group_id: 0 },
  ] }] }], { arenaBytes: 1 << 20 });
  try {
    assert.equal(dev.configWarnings, [
      'engine0.0.group_idd: ignored (not a field softdsa reads: did you mean group_id?)',
      `wq0.1.name: "wq0.0" is the device name of another WQ: dev.wq("wq0.0") finds that one (give this one's id, or 'wq0.1')`,
    ]);
    assert.is(dev.wq('wq0.0'), dev.portal);
    const listed = '(its WQs: "a\\n\\u001b[2J" (id 0), wq0.0 (id 1))';
    assert.throws(() => dev.wq('nope'), (e: Error) => e.message === `no work queue "nope" on this device ${listed}`);
    assert.throws(() => dev.wq(Number.NaN), (e: Error) => e.message === `no work queue NaN on this device ${listed}`);
    assert.throws(() => dev.inject({ wq: 'nope', status: 0x20 }), (e: Error) => e.message === `fault rule: wq "nope": this device has no such work queue ${listed}`);
  } finally {
    await dev.close();
  }
});

test('refused through the promise: fromConfig rejects; a file that is not there is named', async () => {
  const e = await Device.fromConfig(config({ priority: 99 })).then(() => null, (err: unknown) => err as ConfigError);
  assert.is(e?.field, 'priority');
  const f = await Device.fromConfig('/nonexistent/dsa.conf').then(() => null, (err: unknown) => err as ConfigError);
  assert.is(f?.target, '/nonexistent/dsa.conf');
  assert.is(f?.field, 'file');
  assert.throws(() => Device.fromConfigSync(fixture('two_groups.conf'), { engines: 2 } as never), /option engines: is set by the config/);
  assert.throws(() => Device.fromConfigSync(fixture('two_groups.conf'), { bogus: 1 } as never), (e: Error) => e instanceof TypeError && /^unknown Device\.fromConfig option bogus \(the options: device, arenaBytes, /.test(e.message) && !/engines|wqSize/.test(e.message));
});

test('a config file is a regular file, read off the event loop: a FIFO, a device, a directory are refused at once (a FIFO with no writer froze the process; /dev/zero was read until memory ran out; an outside pass)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'softdsa-config-'));
  const fifo = join(dir, 'dsa.fifo');
  execFileSync('mkfifo', [fifo]);
  try {
    for (const [path, kind] of [[fifo, 'a FIFO'], ['/dev/zero', 'a device'], [dir, 'a directory']]) {
      let turns = 0;
      const tick = setInterval(() => turns++, 1);
      const e = await Promise.race([
        Device.fromConfig(path).then(() => null, (err: unknown) => err as ConfigError),
        new Promise<string>((r) => setTimeout(() => r('still waiting after 5 s'), 5000)),
      ]);
      clearInterval(tick);
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal([e.target, e.field], [path, 'file']);
      assert.match(e.message, `${path} is ${kind}, not a regular file`);
      assert.throws(() => Device.fromConfigSync(path), (x: ConfigError) => x.field === 'file' && x.message.includes(kind));
    }
    // read asynchronously: the loop turns while the file is read
    const dev = await Device.fromConfig(pathToFileURL(fixture('two_groups.conf')));
    await dev.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config values of odd kinds are told as they are: an empty string is no path, a bigint is read as its number, a WQ id of 20 digits is named as written', async () => {
  const empty = await Device.fromConfig('').then(() => null, (err: unknown) => err as ConfigError);
  assert.equal([empty?.target, empty?.field], ['config', 'source']);
  assert.match(empty!.message, /an empty string is no config/);
  const parsed = JSON.parse(config({})) as Array<{ groups: Array<{ grouped_workqueues: Array<Record<string, unknown>> }> }>;
  parsed[0].groups[0].grouped_workqueues[0].size = 16n; // (an object built by hand: "Do not know how to serialize a BigInt")
  const big = parseAccelConfig(parsed);
  assert.is(big.topology.wqs[0].size, 16);
  assert.ok(big.warnings.some((w) => w.includes('16n read as 16')), big.warnings.join('; '));
  assert.throws(() => parseAccelConfig(config({ dev: 'wq0.99999999999999999999' })), (e: ConfigError) => e.target === 'wq0.99999999999999999999' && e.field === 'dev' && /out of range/.test(e.message));
});

test('round trip: save-config shape -> topology -> save-config shape -> the same topology', () => {
  for (const name of ['two_groups.conf', 'priorities.conf', 'user_default.conf']) {
    const first = parseAccelConfig(fixture(name)).topology;
    const again = parseAccelConfig(JSON.stringify(toAccelConfig(first))).topology;
    assert.equal(again, first, name);
    assert.equal(parseAccelConfig(toAccelConfig(first)).topology, first, `${name}: the parsed object too`);
  }
});

test('round trip through a device: dev.config() opens again as the same device; JSON text, a path or the parsed JSON', async () => {
  const text = readFileSync(fixture('two_groups.conf'), 'utf8');
  const expected = parseAccelConfig(fixture('two_groups.conf')).topology;
  assert.equal(parseAccelConfig(text).topology, expected);
  assert.equal(parseAccelConfig(parseLenientJson(text)).topology, expected);
  const dev = await Device.fromConfig(text, { arenaBytes: 1 << 20 });
  try {
    const saved = dev.config();
    assert.equal(saved, toAccelConfig(expected));
    const again = await Device.fromConfig(saved, { arenaBytes: 1 << 20 });
    try {
      assert.equal(again.config(), saved);
      assert.equal(again.configWarnings, []);
    } finally {
      await again.close();
    }
  } finally {
    await dev.close();
  }
});

test('Device.open() describes itself the same way: one group, its engines, one WQ', async () => {
  const dev = await Device.open({ engines: 2, wqSize: 32, wqMode: 'shared', arenaBytes: 1 << 20, maxBatch: 64, maxTransfer: 1 << 20 });
  try {
    const [d] = dev.config() as Array<{ groups: Array<{ grouped_workqueues: unknown[]; grouped_engines: unknown[] }> }>;
    assert.equal(d.groups[0].grouped_engines, [{ dev: 'engine0.0', group_id: 0 }, { dev: 'engine0.1', group_id: 0 }]);
    assert.equal(d.groups[0].grouped_workqueues, [{ dev: 'wq0.0', mode: 'shared', size: 32, group_id: 0, priority: 10, block_on_fault: 0, max_batch_size: 64, max_transfer_size: 1 << 20, type: 'user', driver_name: 'user', name: 'wq0.0', threshold: 32 }]);
    assert.is(dev.wq('wq0.0'), dev.portal);
    assert.is(dev.wq(0), dev.portal);
  } finally {
    await dev.close();
  }
});

test('Device.open() with more engines or WQ entries than a DSA has says so (max_engines, max_work_queues_size), and its config() opens again as the same device; a file says no more than the limits it reads', async () => {
  for (const o of [{ engines: 6 }, { engines: 2, wqSize: 256 }]) {
    const dev = await Device.open({ ...o, arenaBytes: 1 << 20 });
    try {
      const [d] = dev.config() as Array<Record<string, unknown>>;
      assert.equal([d.max_engines, d.max_work_queues_size], [Math.max(4, o.engines), Math.max(128, o.wqSize ?? 0)]);
      const again = await Device.fromConfig(dev.config(), { arenaBytes: 1 << 20 });
      try {
        assert.equal(again.config(), dev.config());
        assert.equal(again.configWarnings, []);
        assert.is(again.layout.engineCount, o.engines);
      } finally {
        await again.close();
      }
    } finally {
      await dev.close();
    }
  }
  // a DSA's own values (4 and 128) change nothing; engine 4 is still refused there
  const [base] = toAccelConfig((await import('../src/device/topology.ts')).singleQueue({ engines: 5, wqSize: 8, wqMode: 'dedicated', maxBatch: 32, maxTransfer: 1 << 20 })) as Array<Record<string, unknown>>;
  assert.throws(() => parseAccelConfig(JSON.stringify([{ ...base, max_engines: 4, max_work_queues_size: 128 }])), /engine0\.4: dev: valid engine id should be 0 to 3/);
  // as leniently as the WQs' numbers: a string by its leading digits, said; less than a DSA has, said and ignored
  const lenient = parseAccelConfig(JSON.stringify([{ ...base, max_engines: '8' }]));
  assert.equal(lenient.topology.capacity, { engines: 8, wqEntries: 128 });
  assert.ok(lenient.warnings.some((w) => /dsa0\.max_engines: "8" read as 8/.test(w)), lenient.warnings.join('\n'));
  const fewer = parseAccelConfig(JSON.stringify([{ ...base, max_engines: 8, max_work_queues_size: 4 }]));
  assert.ok(fewer.warnings.some((w) => /dsa0\.max_work_queues_size: 4 ignored \(a DSA has 128/.test(w)), fewer.warnings.join('\n'));
  // ... "lots" and 0 too (json-c reads "lots" as 0: less than a DSA has; it was refused)
  for (const given of ['lots', 0, [], -3]) {
    const read = parseAccelConfig(JSON.stringify([{ ...base, max_engines: 8, max_work_queues_size: given }]));
    assert.equal(read.topology.capacity, { engines: 8, wqEntries: 128 }, JSON.stringify(given));
    assert.ok(read.warnings.some((w) => /dsa0\.max_work_queues_size: -?\d+ ignored \(a DSA has 128/.test(w)), read.warnings.join('\n'));
  }
  assert.throws(() => parseAccelConfig(JSON.stringify([{ ...base, max_engines: 65 }])), /dsa0: max_engines: valid max-engines should be an integer up to 64, got 65/);
  // an array or an object where a WQ wants a number: read as 0, as json-c does (it said "got NaN")
  assert.throws(() => parseAccelConfig(config({ size: [] })), (e: ConfigError) => e.field === 'size' && /got 0 .*\(the file says \[\], read as accel-config reads it\)$/.test(e.message));
});

test("Device.open() rounds maxBatch and maxTransfer up to powers of two, as the driver rounds a WQ's (WQCFG keeps their log2): dev.config() reads back through fromConfig as the same device; a transfer over 2 GiB is refused", async () => {
  const { Descriptor, Status } = await import('../src/index.ts');
  const dev = await Device.open({ engines: 1, arenaBytes: 1 << 20, maxBatch: 100, maxTransfer: 1000 });
  const again = await Device.fromConfig(dev.config());
  try {
    assert.equal([dev.options.maxBatch, dev.options.maxTransfer], [128, 1024]);
    assert.equal(again.config(), dev.config());
    for (const d of [dev, again]) {
      const s = d.alloc(2048);
      assert.is(await d.submit(Descriptor.memmove({ src: s, dst: s + 1024, size: 1024 })), Status.SUCCESS, '1024 bytes: within the rounded limit');
      assert.is(await d.submit(Descriptor.memmove({ src: s, dst: s + 1024, size: 1025 })), Status.TRANSFER_SIZE, 'past it');
    }
  } finally {
    await dev.close();
    await again.close();
  }
  assert.throws(() => Device.openSync({ maxTransfer: 2 ** 31 + 1 }), (e: Error) => e instanceof RangeError && /option maxTransfer: must be an integer from 1 to 2147483648, got 2147483649/.test(e.message));
});

test('max_batch_size 1 holds on every WQ, the first too (it ran batches of 2), and the drop-in calls still run there, one descriptor each', async () => {
  const { Descriptor, Status } = await import('../src/index.ts');
  const wq = (id: number, name: string): Record<string, unknown> => ({ dev: `wq0.${id}`, mode: 'dedicated', size: 8, group_id: 0, priority: 10, max_batch_size: 1, max_transfer_size: 4096, name });
  const conf = [{ dev: 'dsa0', groups: [{ dev: 'group0.0', grouped_workqueues: [wq(0, 'a'), wq(1, 'b')], grouped_engines: [{ dev: 'engine0.0', group_id: 0 }] }] }];
  const dev = await Device.fromConfig(conf);
  try {
    const list = dev.alloc(128, 64);
    const src = dev.alloc(64);
    const dst = dev.alloc(64);
    for (let i = 0; i < 2; i++) dev.view(list + 64 * i, 64).set(Descriptor.memmove({ src, dst, size: 64 }));
    for (const name of ['a', 'b']) assert.is(await dev.wq(name).submit(Descriptor.batch({ list, count: 2 })), Status.BATCH_COUNT, name);
    // only dedicated WQs: no lending, and the hint fits a device from a config
    assert.throws(() => dev.lend(1 << 16), (e: Error & { code?: string }) => e.code === 'WQ_DEDICATED' && /give the config a WQ with mode "shared"/.test(e.message));
    const a = dev.buffer(10000).fill(3);
    const b = dev.buffer(10000);
    const calls = await Promise.all([dev.memcpy(b, a), dev.crc32c(a), dev.compare(a, b), dev.fill(b, 7)]);
    assert.is(calls[2], 0);
    assert.ok(b.every((x) => x === 7));
  } finally {
    await dev.close();
  }
});

test.run();
