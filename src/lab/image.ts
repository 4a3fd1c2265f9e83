import type { Container } from 'kubernetes-types/core/v1.js';
import { FerryError } from '../util/errors.ts';
import { bundlePath, repoPath } from '../util/repo.ts';

/**
 * Images are not pulled in the lab: an image names a program. `ferry/agnhost`
 * (any tag) runs Ferry's built-in agnhost with the container's command and
 * args as its arguments (so `kubectl create deployment web
 * --image=ferry/agnhost -- netexec` works); any other image runs the
 * container's `command` + `args` as a host program.
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

/** ImageError is a container that cannot be turned into a program (kubelet's CreateContainerError). */
export class ImageError extends FerryError {
  constructor(message: string) {
    super('FERRY_ERR_IMAGE', message);
    this.name = 'ImageError';
  }
}

export function isAgnhost(image: string | undefined): boolean {
  return image !== undefined && (image === AGNHOST_IMAGE || image.startsWith(`${AGNHOST_IMAGE}:`) || image.startsWith(`${AGNHOST_IMAGE}@`));
}

/** containerArgv resolves what to execute for a container. */
export function containerArgv(c: Container): string[] {
  const words = [...(c.command ?? []), ...(c.args ?? [])];
  if (isAgnhost(c.image)) {
    // Real agnhost images are run as `/agnhost <mode>`; accept that spelling too.
    if (words[0] === '/agnhost' || words[0] === 'agnhost') words.shift();
    if (words.length === 0) throw new ImageError(`image ${c.image} needs a mode as its command or args (netexec, serve-hostname)`);
    return [...agnhostArgv(), ...words];
  }
  if (!c.command || c.command.length === 0) {
    throw new ImageError(`image ${JSON.stringify(c.image)} is not pulled in the lab: give the container a command (a host program) or use image ${AGNHOST_IMAGE}`);
  }
  return words;
}
