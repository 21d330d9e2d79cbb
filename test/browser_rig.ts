// What the browser test and the browser bench share: a page bundled from TypeScript (softdsa
// itself imported by URL, the built dist/browser/softdsa.js), the demo's server (with the
// cross-origin-isolation headers), and Debian's headless chromium through puppeteer-core.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
// @ts-expect-error: a plain .mjs module without types
import { serve } from '../examples/browser/server.mjs';

export const root = fileURLToPath(new URL('..', import.meta.url));

const onPath = (): string => execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();

/**
 * The chromium binary: CHROMIUM, else Debian's on the PATH, installed with apt-get where it is
 * missing and this process may (root), so that `npm test` on a fresh clone sets up what it needs
 * on this project's machine kind (as .ci/run does before it).
 */
export function chromium(): string {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  try {
    return onPath();
  } catch {
    // not there yet
  }
  if (process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const cmd of ['apt-get install -y chromium', 'apt-get update && apt-get install -y chromium']) {
      try {
        execFileSync('sh', ['-c', cmd], { stdio: 'ignore', env, timeout: 300_000 });
        return onPath();
      } catch {
        // the next way, or the error below
      }
    }
  }
  throw new Error('no chromium on this machine: apt-get install -y chromium (as root: the test tries), or set CHROMIUM=/path/to/chrome');
}

export interface Rig {
  browser: Browser;
  /** http://localhost:port */
  base: string;
  /** A fresh tab on dist/<dir>/<name>.html (query '?no-coi': without the isolation headers), once the page set its title to 'ready'. */
  open(query?: string): Promise<Page>;
  close(): Promise<void>;
}

/** Bundles `entry` (a page module, e.g. test/browser_page.ts) into dist/<dir>/, serves the repository, starts chromium. */
export async function startRig(entry: string, dir: string): Promise<Rig> {
  if (!existsSync(join(root, 'dist', 'browser', 'softdsa.js'))) throw new Error('dist/browser/softdsa.js is not built (npm run build)');
  const name = entry.replace(/^.*\//, '').replace(/\.ts$/, '');
  mkdirSync(join(root, 'dist', dir), { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: `dist/${dir}/${name}.js`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['/dist/browser/*'],
    logLevel: 'warning',
  });
  writeFileSync(join(root, 'dist', dir, `${name}.html`), `<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="./${name}.js"></script>\n`);
  const executablePath = chromium();
  const userDataDir = join(tmpdir(), `softdsa-chromium-${process.pid}`);
  const browser = await puppeteer.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    userDataDir,
  }).catch((e: Error) => {
    rmSync(userDataDir, { recursive: true, force: true });
    throw new Error(`chromium (${executablePath}) did not start: ${e.message.split('\n')[0]}`);
  });
  const server = (await serve(0)) as Server;
  const base = `http://localhost:${(server.address() as AddressInfo).port}`;
  return {
    browser,
    base,
    async open(query = '') {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${base}/dist/${dir}/${name}.html${query}`);
      await page.waitForFunction(() => document.title === 'ready', { timeout: 15000 }).catch(() => {
        throw new Error(`the page did not load: ${errors.join('; ')}`);
      });
      return page;
    },
    async close() {
      await browser.close();
      server.close();
      rmSync(userDataDir, { recursive: true, force: true }); // (its profile: 3 MB a run, left in /tmp)
    },
  };
}
