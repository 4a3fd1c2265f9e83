import test from 'ava';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { execFile } from '../../../src/util/exec.ts';
import { isRoot, NetnsFixture } from '../../helpers/netns-fixture.ts';

// Issue 21, acceptance 4: scripts/image builds an OCI image archive without a
// container engine; unpacked layer by layer into a root file system, its
// entrypoint runs `ferry version` there (chrooted with `unshare --root`, the
// image's own environment only), and koffi's native addon loads and calls
// libc from the image's libraries; the image's own iptables (both backends),
// nft and conntrack program a lab network namespace. Built twice, the archive is the same
// (reproducible digests); its name is the one deploy/ pulls.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }
interface ImageConfig { architecture: string; os: string; config: { Entrypoint: string[]; Env: string[] }; rootfs: { diff_ids: string[] } }

const blobPath = (layout: string, d: Descriptor) => join(layout, 'blobs', 'sha256', d.digest.replace(/^sha256:/, ''));
const readJSON = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;

/** deployImages lists the images the deploy/ manifests' containers name. */
function deployImages(): string[] {
  const dir = join(ROOT, 'deploy');
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as { spec?: { template?: { spec?: { containers?: Array<{ image: string }> } } } }))
    .flatMap((d) => d.spec?.template?.spec?.containers?.map((c) => c.image) ?? []);
}

(isRoot ? test : test.skip)('scripts/image: an OCI archive whose layers unpack to a root file system where the entrypoint runs `ferry version`; reproducible; named as deploy/ names it', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'ferry-image-test-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const archive = join(work, 'ferry.tar');
  const built = await execFile(join(ROOT, 'scripts', 'image'), ['--output', archive], { timeoutMs: 120_000 });
  t.true(built.stdout.trim().endsWith('ferry.tar'), built.stdout);

  const layout = join(work, 'layout');
  mkdirSync(layout);
  await execFile('tar', ['-xf', archive, '-C', layout]);
  t.deepEqual(readJSON(join(layout, 'oci-layout')), { imageLayoutVersion: '1.0.0' });
  const index = readJSON<{ manifests: Descriptor[] }>(join(layout, 'index.json'));
  t.is(index.manifests.length, 1);
  const entry = index.manifests[0]!;
  t.is(entry.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  t.is(entry.annotations?.['io.containerd.image.name'], `ferry:v${pkg.version}`);
  t.is(entry.annotations?.['org.opencontainers.image.ref.name'], `v${pkg.version}`);
  t.deepEqual([...new Set(deployImages())], [`ferry:v${pkg.version}`], 'deploy/ runs the image this builds');

  const manifest = readJSON<{ config: Descriptor; layers: Descriptor[] }>(blobPath(layout, entry));
  const config = readJSON<ImageConfig>(blobPath(layout, manifest.config));
  t.is(config.os, 'linux');
  t.deepEqual(config.config.Entrypoint, ['/usr/local/bin/ferry']);
  t.is(manifest.layers.length, config.rootfs.diff_ids.length);
  // Every blob is what its descriptor says (size and digest).
  for (const d of [entry, manifest.config, ...manifest.layers]) {
    const sum = (await execFile('sha256sum', [blobPath(layout, d)])).stdout.split(' ')[0];
    t.is(`sha256:${sum}`, d.digest);
    t.is(readFileSync(blobPath(layout, d)).length, d.size);
  }

  const rootfs = join(work, 'rootfs');
  mkdirSync(rootfs);
  for (const layer of manifest.layers) {
    t.is(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    await execFile('tar', ['-xzf', blobPath(layout, layer), '-C', rootfs]);
  }
  // Only the image's environment: nothing of the host's leaks in.
  const env = Object.fromEntries(config.config.Env.map((e) => e.split(/=(.*)/s).slice(0, 2) as [string, string]));
  const inImage = (argv: string[]) => execFile('unshare', [`--root=${rootfs}`, '--wd=/', ...argv], { env, timeoutMs: 30_000 });
  const version = await inImage([...config.config.Entrypoint, 'version']);
  t.regex(version.stdout, new RegExp(`^ferry v${pkg.version.replace(/\./g, '\\.')} \\(node v\\d+\\.\\d+\\.\\d+\\)\\n$`));
  t.is(version.stderr, '');
  // As the deploy/ manifests run it: `ferry` found on the image's PATH.
  const help = await inImage(['ferry', 'proxy', '--help']);
  t.regex(help.stdout + help.stderr, /--config/);
  // The native addon loads and calls into the image's libc.
  const koffi = await inImage(['/usr/bin/node', '-e', "const k = require('/opt/ferry/node_modules/koffi'); const getpid = k.load('libc.so.6').func('int getpid()'); console.log(getpid() === process.pid)"]);
  t.is(koffi.stdout.trim(), 'true');
  // The node tools the proxy modes run, from the image, in a namespace of this test only.
  const fx = new NetnsFixture(t);
  const ns = await fx.add('image');
  const inImageNs = (argv: string[], input?: string) => execFile('ip', ['netns', 'exec', ns, 'unshare', `--root=${rootfs}`, '--wd=/', ...argv], { env, timeoutMs: 30_000, ...(input ? { input } : {}) });
  await inImageNs(['iptables-restore', '--noflush'], '*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT\n');
  t.regex((await inImageNs(['iptables-save', '-t', 'nat'])).stdout, /-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES/);
  t.regex((await inImageNs(['nft', 'list', 'chain', 'ip', 'nat', 'KUBE-SERVICES'])).stdout, /chain KUBE-SERVICES/);
  await inImageNs(['iptables-legacy', '-t', 'nat', '-N', 'KUBE-LEGACY']);
  t.regex((await inImageNs(['iptables-legacy-save', '-t', 'nat'])).stdout, /:KUBE-LEGACY/);
  t.regex((await inImageNs(['conntrack', '-L'])).stderr, /0 flow entries/);

  // Built again, the same archive byte for byte.
  const again = join(work, 'again.tar');
  await execFile(join(ROOT, 'scripts', 'image'), ['--output', again], { timeoutMs: 120_000 });
  const sums = (await execFile('sha256sum', [archive, again])).stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
  t.is(sums[0], sums[1]);
});
