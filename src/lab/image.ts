import type { Container } from 'kubernetes-types/core/v1.js';
import { FerryError } from '../util/errors.ts';
import { bundlePath, repoPath } from '../util/repo.ts';

/**
 * Images are not pulled in the lab: an image names a program. `ferry/agnhost`
 * (any tag; also the upstream `registry.k8s.io/e2e-test-images/agnhost`)
 * runs Ferry's built-in agnhost with the container's command and args as
 * its arguments (so `kubectl create deployment web --image=ferry/agnhost --
 * netexec` works). The images tutorials use most have stand-ins (IMAGES):
 * `nginx` and `httpd` serve their default page on port 80 (standins.ts),
 * `busybox` runs its command with the host's programs (`sh`, `sleep`,
 * `echo`, `wget`...), `pause` sleeps, `ferry` (the image scripts/image
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
}

const standInServer = (name: 'nginx' | 'httpd', servers: string[]) => (argv: string[]) => {
  // The image's entrypoint script only prepares configuration: drop it.
  const words = argv[0] === '/docker-entrypoint.sh' ? argv.slice(1) : argv;
  return words.length > 0 && servers.includes(words[0]!.split('/').pop()!) ? [...agnhostArgv(), name] : words;
};

/** FERRY_IMAGE is Ferry's own image (scripts/image, deploy/): in the lab it runs this checkout's bin/ferry. */
export const FERRY_IMAGE = 'ferry';
const FERRY_ENTRYPOINT = '/usr/local/bin/ferry';
const ferryProgram = (argv: string[]) => (argv[0] === 'ferry' || argv[0] === FERRY_ENTRYPOINT ? [repoPath('bin', 'ferry'), ...argv.slice(1)] : argv);

/** IMAGES lists the stand-ins for the images tutorials use; the README's table says the same. */
export const IMAGES: Readonly<Record<string, StandInImage>> = {
  nginx: { entrypoint: ['/docker-entrypoint.sh'], cmd: ['nginx', '-g', 'daemon off;'], program: standInServer('nginx', ['nginx']) },
  httpd: { entrypoint: [], cmd: ['httpd-foreground'], program: standInServer('httpd', ['httpd-foreground', 'httpd']) },
  busybox: { entrypoint: [], cmd: ['sh'] },
  [FERRY_IMAGE]: { entrypoint: [FERRY_ENTRYPOINT], cmd: ['--help'], program: ferryProgram },
  'registry.k8s.io/pause': { entrypoint: ['/pause'], cmd: [], program: (argv) => (argv[0] === '/pause' ? ['sleep', 'infinity'] : argv) },
  'k8s.gcr.io/pause': { entrypoint: ['/pause'], cmd: [], program: (argv) => (argv[0] === '/pause' ? ['sleep', 'infinity'] : argv) },
};

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
  return (isOurs ? ['ferry-agnhost', ...argv.slice(agnhost.length)] : [...argv]).join(' ');
}
