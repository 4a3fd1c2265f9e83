#!/usr/bin/env node
// scripts/bundle-dns.mjs: bundle `ferry dns` (src/dns/daemon.ts and what it
// imports) into dist/ferry-dns.mjs, and its batched UDP worker into
// dist/ferry-dns-udp-worker.mjs, with esbuild; print the bundle's path.
// koffi stays external (a native addon), resolved from the checkout's node_modules.
// bin/ferry runs the bundle under plain node: tsx's off-thread loader alone
// holds ~37 MB resident, and the DNS server has a memory budget (issue 8).
// The bundle is rebuilt when any source file is newer than it.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ferry-dns.mjs');
const workerOut = join(root, 'dist', 'ferry-dns-udp-worker.mjs');

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
  fresh = Math.min(statSync(out).mtimeMs, statSync(workerOut).mtimeMs) >= Math.max(newestSource(join(root, 'src')), statSync(join(root, 'package-lock.json')).mtimeMs);
} catch {
  fresh = false;
}
if (!fresh) {
  mkdirSync(dirname(out), { recursive: true });
  const tmpDir = join(root, 'dist', `.build-${process.pid}`);
  await build({
    entryPoints: { 'ferry-dns': join(root, 'src', 'dns', 'daemon.ts'), 'ferry-dns-udp-worker': join(root, 'src', 'dns', 'udp-batch', 'worker.ts') },
    outExtension: { '.js': '.mjs' },
    external: ['koffi'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: tmpDir,
    logLevel: 'error',
    minify: true,
    keepNames: true,
    // Some bundled CommonJS packages call require() on Node built-ins.
    banner: { js: "import { createRequire as __ferryCreateRequire } from 'node:module'; const require = __ferryCreateRequire(import.meta.url);" },
  });
  renameSync(join(tmpDir, 'ferry-dns-udp-worker.mjs'), workerOut);
  renameSync(join(tmpDir, 'ferry-dns.mjs'), out);
  rmSync(tmpDir, { recursive: true, force: true });
}
process.stdout.write(out);
