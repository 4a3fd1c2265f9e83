#!/usr/bin/env node
// scripts/bundle.mjs <ferry|dns|agnhost>: bundle the programs that run under
// plain node instead of tsx, with esbuild, into dist/, and print the path of
// the one asked for:
// - ferry: the CLI (src/cli/main.ts), and the userspace proxy's engine thread. Under
//   tsx every process pays ~0.5 s of CPU to start; `ferry up` starts a dozen
//   at once (and a User-Mode Linux guest pays far more). bin/ferry runs it
//   when it is newer than every source (`ferry bench` stays on tsx).
// - dns: `ferry dns` (src/dns/daemon.ts), plus its batched UDP worker. tsx's
//   off-thread loader alone holds ~37 MB resident, and the DNS server has a
//   memory budget (issue 8).
// - agnhost: image `ferry/agnhost` (src/lab/agnhost-main.ts), one process per
//   lab pod. Under tsx each takes ~0.5 s of CPU to start, several seconds in a
//   User-Mode Linux guest; the bundle starts in a fraction of that.
// Native addons (koffi, resvg) and what does not bundle cleanly (etcd3's gRPC,
// the charting libraries of `ferry bench`) stay external, resolved from the
// checkout's node_modules.
// The bundles are rebuilt when any source file is newer than them.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const entries = {
  ferry: join(root, 'src', 'cli', 'main.ts'),
  'ferry-userspace-engine': join(root, 'src', 'userspace', 'engine', 'thread.ts'),
  'ferry-dns': join(root, 'src', 'dns', 'daemon.ts'),
  'ferry-dns-udp-worker': join(root, 'src', 'dns', 'udp-batch', 'worker.ts'),
  'ferry-agnhost': join(root, 'src', 'lab', 'agnhost-main.ts'),
};
const wanted = { ferry: 'ferry', dns: 'ferry-dns', agnhost: 'ferry-agnhost' }[process.argv[2] ?? 'ferry'];
if (!wanted) {
  process.stderr.write('usage: scripts/bundle.mjs <ferry|dns|agnhost>\n');
  process.exit(2);
}
const outPath = (name) => join(dist, `${name}.mjs`);

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
  const oldest = Math.min(...Object.keys(entries).map((name) => statSync(outPath(name)).mtimeMs));
  fresh = oldest >= Math.max(newestSource(join(root, 'src')), statSync(join(root, 'package-lock.json')).mtimeMs);
} catch {
  fresh = false;
}
if (!fresh) {
  mkdirSync(dist, { recursive: true });
  const tmpDir = join(dist, `.build-${process.pid}`);
  await build({
    entryPoints: entries,
    outExtension: { '.js': '.mjs' },
    external: ['koffi', '@resvg/resvg-js', 'etcd3', 'vega', 'vega-lite', 'esbuild'],
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
  // The CLI last: bin/ferry takes its age as the age of them all.
  for (const name of ['ferry-dns-udp-worker', 'ferry-userspace-engine', 'ferry-agnhost', 'ferry-dns', 'ferry']) renameSync(join(tmpDir, `${name}.mjs`), outPath(name));
  rmSync(tmpDir, { recursive: true, force: true });
}
process.stdout.write(outPath(wanted));
