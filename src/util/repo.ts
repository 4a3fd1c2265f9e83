import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the checkout is, and whether this code runs from the esbuild bundle
 * (dist/*.mjs, plain node) or from source under tsx: paths to the CLI, the
 * lab's state and helper programs are the same either way.
 */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'ferry'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no Ferry checkout above ${from}`);
  }
}

export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

export const repoPath = (...parts: string[]): string => join(REPO_ROOT, ...parts);

/** BUNDLED: this module was loaded from a dist/ bundle (scripts/bundle.mjs). */
export const BUNDLED = import.meta.url.endsWith('.mjs');

/**
 * bundlePath is the path of a dist/ bundle, up to date: scripts/bundle.mjs
 * (re)builds the bundles when a source is newer. A process that runs from the
 * bundles needs no check: bin/ferry rebuilt them all before starting it.
 */
export function bundlePath(name: 'ferry' | 'dns' | 'agnhost'): string {
  if (BUNDLED) return repoPath('dist', name === 'ferry' ? 'ferry.mjs' : `ferry-${name}.mjs`);
  return execFileSync(process.execPath, [repoPath('scripts', 'bundle.mjs'), name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
