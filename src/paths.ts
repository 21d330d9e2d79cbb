// The package root, found from this module's location: src/ in development,
// dist/src/ once compiled. Built artefacts (build/) live under it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'assembly'))) return dir;
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'build'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('softdsa: cannot find the package root from ' + import.meta.url);
}

export const packageRoot = findRoot();
export const buildPath = (...parts: string[]): string => join(packageRoot, 'build', ...parts);
/** The running flavour: '.ts' under tsx in development, '.js' once compiled. */
export const sourceExt = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
