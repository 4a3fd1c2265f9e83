import type { Container } from 'kubernetes-types/core/v1.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FerryError } from '../util/errors.ts';
import { bundlePath, repoPath } from '../util/repo.ts';

/**
 * Images are not pulled in the lab: an image names a program. `ferry/agnhost`
 * (any tag; also the upstream `registry.k8s.io/e2e-test-images/agnhost`)
 * runs Ferry's built-in agnhost with the container's command and args as
 * its arguments (so `kubectl create deployment web --image=ferry/agnhost --
 * netexec` works). The images tutorials use most have stand-ins (IMAGES):
 * `nginx` and `httpd` run Debian's nginx and Apache configured as those
 * images are (src/lab/images/), `busybox` runs its command with Debian's
 * busybox applets first on its PATH (`sh`, `sleep`, `wget`...), `pause` sleeps, `ferry` (the image scripts/image
 * builds, which deploy/ runs) runs this checkout's bin/ferry. Any other image runs the container's
 * `command` + `args` as a host program, and without a command it cannot
 * start (ErrImagePull, saying why).
 */

export const AGNHOST_IMAGE = 'ferry/agnhost';

const tsxLoader = repoPath('node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
const agnhostMain = repoPath('src', 'lab', 'agnhost-main.ts');

let agnhostProgram: string[] | undefined;

/**
 * agnhostArgv is how to start agnhost: its esbuild bundle under plain node
 * (bundlePath), since a
 * pod's server under tsx costs ~0.5 s of CPU to start (far more in a UML
 * guest); tsx when the bundle cannot be had. Checked once per process.
 */
function agnhostArgv(): string[] {
  if (!agnhostProgram) {
    try {
      agnhostProgram = [process.execPath, bundlePath('agnhost')];
    } catch {
      agnhostProgram = [process.execPath, '--import', tsxLoader, agnhostMain];
    }
  }
  return agnhostProgram;
}

/** ImageError is a container that cannot be turned into a program; reason is kubelet's (ErrImagePull, CreateContainerError). */
export class ImageError extends FerryError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super('FERRY_ERR_IMAGE', message);
    this.name = 'ImageError';
    this.reason = reason;
  }
}

/** imageName is an image reference without registry defaults, tag or digest: `docker.io/library/nginx:1.27` is `nginx`. */
export function imageName(image: string): string {
  let name = image.split('@')[0]!;
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  if (colon >= 0) name = name.slice(0, colon);
  for (const prefix of ['docker.io/', 'index.docker.io/', 'registry-1.docker.io/']) if (name.startsWith(prefix)) name = name.slice(prefix.length);
  if (name.startsWith('library/')) name = name.slice('library/'.length);
  return name;
}

const UPSTREAM_AGNHOST = new Set(['registry.k8s.io/e2e-test-images/agnhost', 'k8s.gcr.io/e2e-test-images/agnhost']);

export function isAgnhost(image: string | undefined): boolean {
  return image !== undefined && (imageName(image) === AGNHOST_IMAGE || UPSTREAM_AGNHOST.has(imageName(image)));
}

/**
 * A stand-in image: its ENTRYPOINT and CMD as the real image has them, and
 * how to run the words that result (`program` turns the image's own server
 * command into Ferry's stand-in; anything else runs as a host program).
 */
interface StandInImage {
  entrypoint: string[];
  cmd: string[];
  program?: (argv: string[]) => string[] | undefined;
  /** The image's ENV, under the container's own variables. */
  env?: () => Record<string, string>;
}

/**
 * BUSYBOX_BIN holds a link to Debian's busybox for each of its applets, made
 * once (`busybox --install -s`): first on the busybox image's PATH, so `sh`,
 * `wget`, `nslookup` and what they run are busybox's, as in the image.
 */
const BUSYBOX_BIN = '/run/ferry-lab/busybox/bin';

function busyboxPath(): Record<string, string> {
  if (!existsSync(`${BUSYBOX_BIN}/sh`) && existsSync('/usr/bin/busybox')) {
    mkdirSync(BUSYBOX_BIN, { recursive: true });
    execFileSync('/usr/bin/busybox', ['--install', '-s', BUSYBOX_BIN], { stdio: 'ignore' });
  }
  // Without Debian's busybox (scripts/setup installs it) the host's programs stand in.
  return { PATH: `${existsSync(`${BUSYBOX_BIN}/sh`) ? `${BUSYBOX_BIN}:` : ''}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` };
}

/**
 * debianServer runs the image's server command with Debian's program, set
 * up as the image is (src/lab/images/<name>: its configuration, default
 * page, logs to stdout and stderr); other commands run as given.
 */
const debianServer = (name: 'nginx' | 'httpd', servers: string[]) => (argv: string[]) => {
  // The image's entrypoint script only prepares configuration: drop it.
  const words = argv[0] === '/docker-entrypoint.sh' ? argv.slice(1) : argv;
  return words.length > 0 && servers.includes(basename(words[0]!)) ? [join(IMAGE_LAUNCHERS, name), ...words.slice(1)] : words;
};

const IMAGE_LAUNCHERS = repoPath('src', 'lab', 'images');
const DEBIAN_PROGRAMS: Record<string, string> = { nginx: 'nginx', httpd: 'Apache httpd' };

/** FERRY_IMAGE is Ferry's own image (scripts/image, deploy/): in the lab it runs this checkout's bin/ferry. */
export const FERRY_IMAGE = 'ferry';
const FERRY_ENTRYPOINT = '/usr/local/bin/ferry';
const ferryProgram = (argv: string[]) => (argv[0] === 'ferry' || argv[0] === FERRY_ENTRYPOINT ? [repoPath('bin', 'ferry'), ...argv.slice(1)] : argv);

/** IMAGES lists the stand-ins for the images tutorials use; the README's table says the same. */
export const IMAGES: Readonly<Record<string, StandInImage>> = {
  nginx: { entrypoint: ['/docker-entrypoint.sh'], cmd: ['nginx', '-g', 'daemon off;'], program: debianServer('nginx', ['nginx']) },
  httpd: { entrypoint: [], cmd: ['httpd-foreground'], program: debianServer('httpd', ['httpd-foreground', 'httpd']) },
  busybox: { entrypoint: [], cmd: ['sh'], env: busyboxPath },
  [FERRY_IMAGE]: { entrypoint: [FERRY_ENTRYPOINT], cmd: ['--help'], program: ferryProgram },
  'registry.k8s.io/pause': { entrypoint: ['/pause'], cmd: [], program: (argv) => (argv[0] === '/pause' ? ['sleep', 'infinity'] : argv) },
  'k8s.gcr.io/pause': { entrypoint: ['/pause'], cmd: [], program: (argv) => (argv[0] === '/pause' ? ['sleep', 'infinity'] : argv) },
};

/** imageEnv is the environment the container's image sets (the busybox image's PATH); empty for others. */
export function imageEnv(c: Container): Record<string, string> {
  return (c.image ? IMAGES[imageName(c.image)]?.env?.() : undefined) ?? {};
}

/** containerArgv resolves what to execute for a container. */
export function containerArgv(c: Container): string[] {
  if (isAgnhost(c.image)) {
    const words = [...(c.command ?? []), ...(c.args ?? [])];
    // Real agnhost images are run as `/agnhost <mode>`; accept that spelling too.
    if (words[0] === '/agnhost' || words[0] === 'agnhost') words.shift();
    if (words.length === 0) throw new ImageError('CreateContainerError', `image ${c.image} needs a mode as its command or args (netexec, serve-hostname)`);
    return [...agnhostArgv(), ...words];
  }
  const standIn = c.image ? IMAGES[imageName(c.image)] : undefined;
  if (standIn) {
    // Kubernetes' rule: command replaces ENTRYPOINT, args replace CMD, and a command drops the image's CMD.
    const argv = [...(c.command ?? standIn.entrypoint), ...(c.args ?? (c.command ? [] : standIn.cmd))];
    const resolved = standIn.program ? standIn.program(argv) : argv;
    if (resolved && resolved.length > 0) return resolved;
  }
  if (!c.command || c.command.length === 0) {
    throw new ImageError('ErrImagePull', `image ${JSON.stringify(c.image)} is not available in the ferry lab (images are not pulled): use ${AGNHOST_IMAGE}, a stand-in (${Object.keys(IMAGES).join(', ')}), or give the container a command to run as a host program`);
  }
  return [...c.command, ...(c.args ?? [])];
}

/** describeArgv is a program line for people: Ferry's agnhost by name rather than its node and bundle paths. */
export function describeArgv(argv: readonly string[]): string {
  const agnhost = agnhostArgv();
  const isOurs = agnhost.every((w, i) => argv[i] === w);
  if (argv[0] === repoPath('bin', 'ferry')) return ['ferry', ...argv.slice(1)].join(' ');
  if (argv[0]?.startsWith(`${IMAGE_LAUNCHERS}/`)) return `Debian's ${DEBIAN_PROGRAMS[basename(argv[0])] ?? 'program'} (src/lab/images/${[basename(argv[0]), ...argv.slice(1)].join(' ')})`;
  return (isOurs ? ['ferry-agnhost', ...argv.slice(agnhost.length)] : [...argv]).join(' ');
}
