#!/usr/bin/env node
// scripts/bundle-dns.mjs: bundle `ferry dns` (src/dns/daemon.ts and what it
// imports) into dist/ferry-dns.mjs with esbuild, and print the bundle's path.
// bin/ferry runs the bundle under plain node: tsx's off-thread loader alone
// holds ~37 MB resident, and the DNS server has a memory budget (issue 8).
// The bundle is rebuilt when any source file is newer than it.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ferry-dns.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let fresh = false;
try {
  fresh = statSync(out).mtimeMs >= Math.max(newestSource(join(root, 'src')), statSync(join(root, 'package-lock.json')).mtimeMs);
} catch {
  fresh = false;
}
if (!fresh) {
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(root, 'src', 'dns', 'daemon.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: tmp,
    logLevel: 'error',
    minify: true,
    keepNames: true,
    // Some bundled CommonJS packages call require() on Node built-ins.
    banner: { js: "import { createRequire as __ferryCreateRequire } from 'node:module'; const require = __ferryCreateRequire(import.meta.url);" },
  });
  renameSync(tmp, out);
}
process.stdout.write(out);
