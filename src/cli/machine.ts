// The machine fingerprint every result carries: where and with what it was measured.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Machine {
  cpu: string;
  cores: number;
  availableParallelism: number;
  /** last-level cache, bytes (0: unknown) */
  llcBytes: number;
  memGiB: number;
  os: string;
  node: string;
  v8: string;
  softdsa: string;
  /** 1-minute load average at the start and the end of the run */
  load: { start: number; end?: number };
}

/** softdsa's package.json, found upwards from this file (src/cli or dist/src/cli). */
export function packageInfo(): { version: string; root: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'softdsa') return { version: pkg.version ?? '0.0.0', root: dir };
    }
    dir = dirname(dir);
  }
  return { version: 'unknown', root: dir };
}

/** Size of the largest CPU cache (Linux sysfs), 0 when unknown. */
export function lastLevelCache(): number {
  let best = 0;
  for (let i = 0; i < 8; i++) {
    try {
      const t = readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${i}/size`, 'utf8').trim();
      const m = /^(\d+)([KMG]?)$/i.exec(t);
      if (m) best = Math.max(best, Number(m[1]) * ({ '': 1, K: 1024, M: 1 << 20, G: 1 << 30 } as Record<string, number>)[m[2].toUpperCase()]);
    } catch {
      break;
    }
  }
  return best;
}

export function fingerprint(): Machine {
  const c = cpus();
  return {
    cpu: c[0]?.model?.trim() || 'unknown',
    cores: c.length,
    availableParallelism: availableParallelism(),
    llcBytes: lastLevelCache(),
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    os: `${process.platform} ${release()} ${process.arch}`,
    node: process.version,
    v8: process.versions.v8,
    softdsa: packageInfo().version,
    load: { start: +loadavg()[0].toFixed(2) },
  };
}

export const loadNow = (): number => +loadavg()[0].toFixed(2);
