#!/usr/bin/env node
// scripts/image.mjs [--output FILE] [--tag NAME:TAG]: the container image of
// Ferry as an OCI image archive (an OCI image layout, tarred), built without
// a container engine: one layer holding
//   /usr/bin/node and the shared libraries it and koffi's addon link against
//   (with the dynamic loader), found with ldd;
//   the node-side tools the proxy modes run (iptables and ip6tables in both
//   backends, conntrack, ipset, nft, ip), iptables' extension modules,
//   libnftables (nftables mode, through koffi) and their libraries;
//   /opt/ferry: package.json, bin/ferry, the esbuild bundles (dist/*.mjs) and
//   koffi (the one native addon the data plane loads: netlink, libnftables,
//   the userspace engine's libc calls), linux_x64 build only;
//   /usr/local/bin/ferry -> /opt/ferry/dist/ferry.mjs, which carries a
//   `#!/usr/bin/node` line, so `ferry proxy ...` works as a command without a
//   shell in the image;
// a config whose Entrypoint is ["/usr/local/bin/ferry"], the manifest, an
// index.json naming the image (org.opencontainers.image.ref.name and
// containerd's io.containerd.image.name) and oci-layout. The tars are
// reproducible (names sorted, owner 0, mtime 0, gzip without a name or time),
// so building twice from the same checkout gives the same digests.
// Prints the archive's path (default dist/ferry-image.tar); the image name is
// ferry:v<package.json version>, as deploy/ names it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function parseArgs(argv) {
  const o = { output: join(root, 'dist', 'ferry-image.tar'), tag: `ferry:v${pkg.version}` };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => inline ?? argv[++i];
    if (flag === '--output' || flag === '-o') o.output = value();
    else if (flag === '--tag') o.tag = value();
    else {
      process.stderr.write('usage: scripts/image [--output FILE] [--tag NAME:TAG]\n');
      process.exit(2);
    }
  }
  return o;
}

/** sharedLibraries lists what ldd says `file` loads, with the dynamic loader, as absolute paths. */
function sharedLibraries(file) {
  const out = execFileSync('ldd', [file], { encoding: 'utf8' });
  const libs = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

/** copyInto copies a host file to the same path under the staging root, following symlinks (the image gets the file itself). */
function copyInto(stage, path, as = path) {
  const to = join(stage, as);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(path, to);
}

/** TOOLS: the programs ferry proxy runs on a node, as kube-proxy's image carries them. */
const TOOLS = ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore',
  'iptables-nft', 'iptables-nft-save', 'iptables-nft-restore', 'ip6tables-nft', 'ip6tables-nft-save', 'ip6tables-nft-restore',
  'iptables-legacy', 'iptables-legacy-save', 'iptables-legacy-restore', 'ip6tables-legacy', 'ip6tables-legacy-save', 'ip6tables-legacy-restore',
  'conntrack', 'ipset', 'nft', 'ip'];
const LIBDIR = '/usr/lib/x86_64-linux-gnu';
const ETC_FILES = ['/etc/protocols', '/etc/services', '/etc/ethertypes'];

/**
 * stageTools copies TOOLS (each a link to the real program, which is copied
 * once: iptables -> xtables-nft-multi, which picks its role from its name),
 * iptables' extension modules and libnftables; returns what they link against.
 */
function stageTools(stage) {
  const programs = new Set();
  for (const name of TOOLS) {
    const found = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
    if (!found) throw new Error(`scripts/image: ${name} is not installed (scripts/setup installs it)`);
    const real = realpathSync(found);
    const dir = dirname(found).replace(/^\/(s?bin)$/, '/usr/$1');
    if (!programs.has(real)) copyInto(stage, real, join(dir, basename(real)));
    programs.add(real);
    if (basename(real) !== name) symlinkSync(basename(real), join(stage, dir, name));
  }
  const modules = readdirSync(join(LIBDIR, 'xtables')).map((f) => join(LIBDIR, 'xtables', f));
  const nftables = realpathSync(join(LIBDIR, 'libnftables.so.1'));
  for (const m of modules) copyInto(stage, m);
  copyInto(stage, nftables, join(LIBDIR, 'libnftables.so.1'));
  for (const f of ETC_FILES.filter((f) => existsSync(f))) copyInto(stage, f);
  return [...programs, ...modules, nftables].flatMap(sharedLibraries);
}

const KOFFI_FILES = ['package.json', 'index.js', 'indirect.js', 'LICENSE.txt'];

/** stageRootfs fills `stage` with the image's file system. */
function stageRootfs(stage) {
  const node = '/usr/bin/node';
  const koffiDir = join(root, 'node_modules', 'koffi');
  const koffiBuild = join(koffiDir, 'build', 'koffi', 'linux_x64');
  copyInto(stage, node);
  const libs = new Set([...sharedLibraries(node), ...readdirSync(koffiBuild).filter((f) => f.endsWith('.node')).flatMap((f) => sharedLibraries(join(koffiBuild, f))), ...stageTools(stage)]);
  for (const lib of libs) copyInto(stage, lib);
  // The bundles, fresh (scripts/bundle.mjs rebuilds them when a source is newer).
  execFileSync(process.execPath, [join(root, 'scripts', 'bundle.mjs'), 'ferry'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const app = join(stage, 'opt', 'ferry');
  for (const f of readdirSync(join(root, 'dist')).filter((f) => f.endsWith('.mjs'))) copyInto(stage, join(root, 'dist', f), join('/opt/ferry/dist', f));
  // The CLI as a command: a hashbang in front of the bundle (Node allows one in an ES module).
  const cli = join(app, 'dist', 'ferry.mjs');
  writeFileSync(cli, `#!/usr/bin/node\n${readFileSync(cli, 'utf8')}`);
  chmodSync(cli, 0o755);
  // package.json and bin/ferry mark the checkout root the bundle finds its paths from (src/util/repo.ts).
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true }, null, 2)}\n`);
  copyInto(stage, join(root, 'bin', 'ferry'), '/opt/ferry/bin/ferry');
  for (const f of KOFFI_FILES) copyInto(stage, join(koffiDir, f), join('/opt/ferry/node_modules/koffi', f));
  for (const f of readdirSync(koffiBuild)) copyInto(stage, join(koffiBuild, f), join('/opt/ferry/node_modules/koffi/build/koffi/linux_x64', f));
  mkdirSync(join(stage, 'usr', 'local', 'bin'), { recursive: true });
  symlinkSync('/opt/ferry/dist/ferry.mjs', join(stage, 'usr', 'local', 'bin', 'ferry'));
  for (const dir of ['tmp', 'run', 'proc', 'sys', 'dev', 'etc']) mkdirSync(join(stage, dir), { recursive: true });
  chmodSync(join(stage, 'tmp'), 0o1777);
  writeFileSync(join(stage, 'etc', 'passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n');
  writeFileSync(join(stage, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/** reproducibleTar tars `dir`'s contents (or the given entries) with sorted names, owner 0 and mtime 0. */
function reproducibleTar(dir, out, entries = ['.']) {
  execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', dir, '-cf', out, ...entries]);
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/** writeBlob stores content under blobs/sha256/ and returns its descriptor. */
function writeBlob(layout, mediaType, content) {
  const digest = sha256(content);
  writeFileSync(join(layout, 'blobs', 'sha256', digest), content);
  return { mediaType, digest: `sha256:${digest}`, size: content.length };
}

function buildImage({ output, tag }) {
  const work = mkdtempSync(join(tmpdir(), 'ferry-image-'));
  try {
    const stage = join(work, 'rootfs');
    const layout = join(work, 'layout');
    mkdirSync(stage);
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    stageRootfs(stage);
    reproducibleTar(stage, join(work, 'layer.tar'));
    const layerTar = readFileSync(join(work, 'layer.tar'));
    // Level 1: the layer is mostly node's binary; higher levels cost seconds for a few MB.
    const layer = writeBlob(layout, 'application/vnd.oci.image.layer.v1.tar+gzip', gzipSync(layerTar, { level: 1 }));
    const config = {
      created: '1970-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: {
        Entrypoint: ['/usr/local/bin/ferry'],
        Cmd: ['--help'],
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        WorkingDir: '/',
        Labels: { 'org.opencontainers.image.title': 'ferry', 'org.opencontainers.image.version': pkg.version, 'org.opencontainers.image.description': pkg.description },
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layerTar)}`] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'scripts/image: node, its libraries and the ferry bundles' }],
    };
    const configBlob = writeBlob(layout, 'application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify(config)));
    const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configBlob, layers: [layer] };
    const manifestBlob = writeBlob(layout, 'application/vnd.oci.image.manifest.v1+json', Buffer.from(JSON.stringify(manifest)));
    const refName = tag.slice(tag.lastIndexOf(':') + 1);
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ ...manifestBlob, platform: { architecture: 'amd64', os: 'linux' }, annotations: { 'org.opencontainers.image.ref.name': refName, 'io.containerd.image.name': tag } }],
    };
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    mkdirSync(dirname(output), { recursive: true });
    const partial = `${output}.${process.pid}.partial`;
    reproducibleTar(layout, partial, ['oci-layout', 'index.json', 'blobs']);
    renameSync(partial, output);
    return { output, manifest: manifestBlob.digest };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const opts = parseArgs(process.argv.slice(2));
if (!existsSync('/usr/bin/node')) throw new Error('scripts/image takes node from /usr/bin/node, which this machine lacks');
const built = buildImage(opts);
process.stdout.write(`${relative(process.cwd(), built.output) || built.output}\n`);
