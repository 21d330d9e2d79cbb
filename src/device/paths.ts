// The package root, found from this module's location: src/ in development, dist/src/
// once compiled, node_modules/softdsa/... when installed. Built artefacts (build/) live
// under it.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory upwards holding a package.json named softdsa. */
function findRoot(): string {
  // (bundled into CommonJS output, an ES module's import.meta.url is undefined: esbuild's default for Node)
  const url: unknown = import.meta.url;
  let dir = typeof url === 'string' ? dirname(fileURLToPath(url)) : '/';
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'softdsa') return dir;
      } catch {
        // unreadable or not JSON: keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) {
      // (the usual way here: a bundler put softdsa's code into a program's bundle, away from its files)
      throw new Error(
        `softdsa: cannot find the package root from ${import.meta.url}: softdsa runs from its installed files ` +
          '(its engine worker, the Wasm core, the eventfd addon), so a bundle must leave it out and import it from node_modules ' +
          "(esbuild: --external:softdsa or --packages=external; webpack: externals: { softdsa: 'module softdsa' }; Vite/Rollup: external: ['softdsa'])",
      );
    }
    dir = up;
  }
}

export const packageRoot = findRoot();
export const buildPath = (...parts: string[]): string => join(packageRoot, 'build', ...parts);
/** The running flavour: '.ts' under tsx in development, '.js' once compiled. */
export const sourceExt = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
