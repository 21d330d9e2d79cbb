// WQ priority arbitration: `softdsa bench --config test/fixtures/accel-config/priorities.conf`
// (one engine, WQs "high" priority 12 and "low" priority 4 in one group), through the CLI's own
// runner. Its arbitration rows keep both WQs full at once and report each one's share of the
// completions beside its priority's share (75 % / 25 %); the ordinary rows run on the first WQ.
//
// node --import tsx bench/arbitration.bench.ts [--quick]   -> table on stdout, bench/results/arbitration.json
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lastLevelCache } from '../src/cli/machine.ts';
import { parse } from '../src/cli/options.ts';
import { table } from '../src/cli/report.ts';
import { runBench } from '../src/cli/run.ts';

const quick = process.argv.includes('--quick');
const config = fileURLToPath(new URL('../test/fixtures/accel-config/priorities.conf', import.meta.url));
const ARGS = ['bench', '--config', config, '-o', 'crc32c,memmove', '-s', '64k,1m', '-c', 'eventfd', '--baseline', 'none', '-d', quick ? '300ms' : '1s', '-w', '200ms'];
const o = parse(ARGS, { cores: availableParallelism(), llc: lastLevelCache(), isTTY: false }).options!;
const res = await runBench(o, ARGS, { ctl: { aborted: false, progress: () => {} } });
process.stdout.write(table(res));
writeFileSync(new URL('./results/arbitration.json', import.meta.url), JSON.stringify(res, null, 2) + '\n');
console.log('saved bench/results/arbitration.json');
