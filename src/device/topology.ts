// A device's topology as DSA has it: groups, each with engines and work queues (WQs).
//
// Plain data, checked once (checkTopology) the way accel-config and the idxd driver check a
// configuration before they enable it, so that a wrong one is refused with the field that is
// wrong instead of misbehaving later. The limits are DSA 1.0's (Sapphire Rapids): 4 groups,
// 4 engines, 8 WQs sharing 128 WQ entries, max batch 1024, max transfer 2 GiB.
import { Errors } from './errors.ts';
import { Limit } from './format.ts';
import type { GroupLayout, WqSpec } from './layout.ts';

export const DSA = {
  MAX_GROUPS: 4,
  MAX_ENGINES: 4,
  MAX_WQS: 8,
  /** the WQ entries of a device, shared by its WQs (max_work_queues_size) */
  TOTAL_WQ_SIZE: 128,
  MAX_PRIORITY: 15,
  MAX_BATCH: Limit.MAX_BATCH_DEFAULT as number,
  MAX_TRANSFER: Limit.MAX_TRANSFER_DEFAULT as number,
} as const;

/**
 * An IAA device's topology (iaxN: 8 groups, 8 engines): accepted so that its configurations load too;
 * softdsa runs DSA operations on it (it has no compression).
 */
export const IAA = { ...DSA, MAX_GROUPS: 8, MAX_ENGINES: 8 } as const;

/** The topology limits of a device by its name. */
export const limitsOf = (device: string): typeof DSA | typeof IAA => (/^iax/.test(device) ? IAA : DSA);

export type WqMode = 'dedicated' | 'shared';

export interface WqConfig {
  /** M of wqN.M */
  id: number;
  /** the group (id) whose engines serve it */
  group: number;
  name: string;
  mode: WqMode;
  /** WQ entries: at most this many descriptors wait in it for an engine */
  size: number;
  /** 1-15: its weight in the group's arbitration (arbiter.ts) */
  priority: number;
  /** shared WQs: a submission that finds this many descriptors waiting is refused (0 for a dedicated WQ) */
  threshold: number;
  /** a batch descriptor counting more gets status 0x14; a power of two (rounded up, as the driver does) */
  maxBatchSize: number;
  /** a descriptor moving more bytes gets status 0x13; a power of two (rounded up, as the driver does) */
  maxTransferSize: number;
  blockOnFault: boolean;
  /**
   * Device.open's WQ: its ring is exactly this many slots (wqSize), and only a full ring refuses,
   * unreaped work included (as DPDK's ring). Absent (a configured WQ): the ring has room for the
   * group's engines' descriptors beside `size` waiting ones, and `size`, or a shared WQ's threshold,
   * counts only those waiting, whatever runs.
   */
  slots?: number;
}

export interface GroupConfig {
  /** G of groupN.G */
  id: number;
  /** engine ids (E of engineN.E) */
  engines: number[];
}

export interface Topology {
  /** the device's name, dsaN */
  device: string;
  groups: GroupConfig[];
  /** by id */
  wqs: WqConfig[];
  /**
   * Where it has more than a DSA 1.0 (Device.open({ engines, wqSize }) makes such a device): its
   * engines and its WQ entries, as accel-config's max_engines and max_work_queues_size say them
   */
  capacity?: { engines: number; wqEntries: number };
}

/** The topology of Device.open(): one group, every engine, one WQ. */
export function singleQueue(o: { engines: number; wqSize: number; wqMode: WqMode; maxBatch: number; maxTransfer: number }): Topology {
  const t: Topology = {
    device: 'dsa0',
    groups: [{ id: 0, engines: Array.from({ length: o.engines }, (_, i) => i) }],
    wqs: [{ id: 0, group: 0, name: 'wq0.0', mode: o.wqMode, size: o.wqSize, priority: 10, threshold: o.wqMode === 'shared' ? o.wqSize : 0, maxBatchSize: o.maxBatch, maxTransferSize: o.maxTransfer, blockOnFault: false, slots: o.wqSize }],
  };
  // (more engines or entries than a DSA has: said, so that config() reads back through fromConfig)
  if (o.engines > DSA.MAX_ENGINES || o.wqSize > DSA.TOTAL_WQ_SIZE) t.capacity = { engines: Math.max(o.engines, DSA.MAX_ENGINES), wqEntries: Math.max(o.wqSize, DSA.TOTAL_WQ_SIZE) };
  return t;
}

export const nextPow2 = (n: number): number => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)));

const isInt = (v: number, min: number, max: number): boolean => Number.isInteger(v) && v >= min && v <= max;

/**
 * Refuses a topology accel-config or the driver would refuse, naming the WQ (or group) and
 * the field: the first problem found, in device, group, WQ order.
 */
export function checkTopology(t: Topology): void {
  const dev = t.device;
  const base = limitsOf(dev);
  const lim = t.capacity === undefined ? base : { ...base, MAX_ENGINES: Math.max(base.MAX_ENGINES, t.capacity.engines), TOTAL_WQ_SIZE: Math.max(base.TOTAL_WQ_SIZE, t.capacity.wqEntries) };
  if (t.groups.length > lim.MAX_GROUPS) throw Errors.config(dev, 'groups', `${t.groups.length} groups; a DSA has ${lim.MAX_GROUPS}`);
  const engineGroup = new Map<number, number>();
  const groupIds = new Set<number>();
  for (const g of t.groups) {
    const where = `group${deviceNumber(dev)}.${g.id}`;
    if (!isInt(g.id, 0, lim.MAX_GROUPS - 1)) throw Errors.config(where, 'dev', `valid group id should be 0 to ${lim.MAX_GROUPS - 1}`);
    if (groupIds.has(g.id)) throw Errors.config(where, 'dev', 'the group is listed twice');
    groupIds.add(g.id);
    for (const e of g.engines) {
      const ename = `engine${deviceNumber(dev)}.${e}`;
      if (!isInt(e, 0, lim.MAX_ENGINES - 1)) throw Errors.config(ename, 'dev', `valid engine id should be 0 to ${lim.MAX_ENGINES - 1}`);
      const other = engineGroup.get(e);
      if (other !== undefined) throw other === g.id ? Errors.config(ename, 'dev', `the engine is listed twice in group ${g.id}`) : Errors.config(ename, 'group_id', `the engine is in group ${other} and in group ${g.id}: an engine belongs to one group`);
      engineGroup.set(e, g.id);
    }
  }
  if (t.wqs.length === 0) throw Errors.config(dev, 'groups', 'no work queue is configured (the driver refuses to enable such a device)');
  if (t.wqs.length > lim.MAX_WQS) throw Errors.config(dev, 'groups', `number of wq in the device exceeds ${lim.MAX_WQS} (${t.wqs.length} given)`);
  const ids = new Set<number>();
  let total = 0;
  for (const wq of t.wqs) {
    const where = `wq${deviceNumber(dev)}.${wq.id}`;
    const bad = (field: string, why: string): Error => Errors.config(where, field, why, typeof wq.name === 'string' ? wq.name : undefined);
    if (!isInt(wq.id, 0, lim.MAX_WQS - 1)) throw bad('dev', `valid wq id should be 0 to ${lim.MAX_WQS - 1}`);
    if (ids.has(wq.id)) throw bad('dev', 'the WQ is listed twice');
    ids.add(wq.id);
    const group = t.groups.find((g) => g.id === wq.group);
    if (group === undefined) throw bad('group_id', `no group ${wq.group} in ${dev}: a WQ must be in a group`);
    if (group.engines.length === 0) throw bad('group_id', `its group (group${deviceNumber(dev)}.${wq.group}) has no engines: nothing would run its descriptors`);
    if (typeof wq.name !== 'string' || wq.name.length === 0) throw bad('name', 'wq name not set (the driver refuses to enable a WQ without a name)');
    if (wq.mode !== 'dedicated' && wq.mode !== 'shared') throw bad('mode', `valid mode should be shared or dedicated, got ${JSON.stringify(wq.mode)}`);
    if (!isInt(wq.size, 1, lim.TOTAL_WQ_SIZE)) throw bad('size', `valid size should be 1 to ${lim.TOTAL_WQ_SIZE}, got ${String(wq.size)}${wq.size === 0 ? ' (a WQ of size 0 cannot be enabled)' : ''}`);
    total += wq.size;
    if (total > lim.TOTAL_WQ_SIZE) throw bad('size', `accumulated wq size exceeds ${lim.TOTAL_WQ_SIZE}: the WQs of ${dev} share ${lim.TOTAL_WQ_SIZE} entries (${total} with this one)`);
    if (!isInt(wq.priority, 1, lim.MAX_PRIORITY)) throw bad('priority', `valid priority should be 1 to ${lim.MAX_PRIORITY}, got ${String(wq.priority)}`);
    if (wq.mode === 'shared') {
      if (wq.threshold === 0) throw bad('threshold', 'shared wq and threshold 0: a shared WQ needs a threshold from 1 to its size');
      if (!isInt(wq.threshold, 1, wq.size)) throw bad('threshold', `threshold ${String(wq.threshold)} ${wq.threshold > wq.size ? `is over the WQ's size ${wq.size}` : 'is not a count from 1'}: a shared WQ's threshold is 1 to its size`);
    }
    if (!isInt(wq.maxBatchSize, 1, lim.MAX_BATCH)) throw bad('max_batch_size', `valid max-batch-size should be 1 to ${lim.MAX_BATCH}, got ${String(wq.maxBatchSize)}`);
    if (!isInt(wq.maxTransferSize, 1, lim.MAX_TRANSFER)) throw bad('max_transfer_size', `valid max-transfer-size should be 1 to ${lim.MAX_TRANSFER}, got ${String(wq.maxTransferSize)}`);
    if (typeof wq.blockOnFault !== 'boolean') throw bad('block_on_fault', 'valid block-on-fault should be either 0 or 1');
  }
}

/** N of dsaN (or iaxN). */
export const deviceNumber = (device: string): string => /(\d+)$/.exec(device)?.[1] ?? '0';

/**
 * Where a (checked) topology goes in memory: its WQs by id (the lowest is the default portal's),
 * its groups by index, and an engine thread for every engine of a group that has a WQ (engines
 * of a group without one would have nothing to do: they are not started).
 */
export function topologyLayout(t: Topology): { wqs: WqSpec[]; groups: GroupLayout[]; engineCount: number } {
  const wqs = [...t.wqs].sort((a, b) => a.id - b.id);
  const served = t.groups.filter((g) => wqs.some((w) => w.group === g.id));
  let thread = 0;
  const groups: GroupLayout[] = served.map((g) => ({
    id: g.id,
    wqs: wqs.flatMap((w, i) => (w.group === g.id ? [i] : [])),
    engines: g.engines.map(() => thread++),
  }));
  const specs: WqSpec[] = wqs.map((w) => {
    const limit = w.mode === 'shared' ? Math.min(w.size, w.threshold) : w.size;
    const group = served.findIndex((g) => g.id === w.group);
    // (a configured WQ's entries are the descriptors waiting, as on hardware, where one leaves the WQ
    // as an engine takes it: the ring holds what the engines run besides; a slot still waits to be reaped)
    const ring = w.slots ?? Math.max(4, nextPow2(w.size + served[group].engines.length));
    return { id: w.id, dev: `wq${deviceNumber(t.device)}.${w.id}`, name: w.name, mode: w.mode, group, priority: w.priority, ring, cap: limit < ring ? limit : 0 };
  });
  return { wqs: specs, groups, engineCount: thread };
}
