import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BindMount } from './pod-volumes.ts';

/**
 * The shell commands that bind-mount a container's volumes inside its own
 * mount namespace (the one `ip netns exec` gives it, a slave of the host's,
 * which sees the same files as this agent). A mount point the host lacks
 * (`/etc/coredns`, `/var/lib/kube-proxy`) is not made on the host: the
 * nearest directory above it that exists gets an overlay in this mount
 * namespace only (its upper layer in the container's scratch directory),
 * and the mount point is made in that. An overlay on /etc hides the files
 * `ip netns exec` bound over /etc (the pod's hosts and resolv.conf): they
 * are bound again. Where an overlay cannot go (on /, which would hide every
 * other mount, or above the scratch directory or a volume's source) the
 * mount point is made on the host, an empty directory or file. A hostPath
 * at its own path needs no mount.
 */

export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const under = (path: string, dir: string) => path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);

function nearestExisting(path: string): string {
  let dir = dirname(path);
  while (!existsSync(dir)) dir = dirname(dir);
  return dir;
}

const isDir = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/**
 * mountScript returns the commands (to be joined with `&&`) that mount
 * `mounts`; `scratch` is a directory of this container instance's own,
 * `netns` the network namespace `ip netns exec` entered.
 */
export function mountScript(mounts: readonly BindMount[], scratch: string, netns: string): string[] {
  const needed = mounts.filter((m) => m.source !== m.target);
  const lines: string[] = [];
  const overlays: string[] = [];
  needed.forEach((m, i) => {
    const [src, dst] = [shellQuote(m.source), shellQuote(m.target)];
    if (!existsSync(m.target)) {
      const above = nearestExisting(m.target);
      const blocked = above === '/' || under(scratch, above) || needed.some((n) => under(n.source, above));
      if (!blocked && !overlays.some((o) => under(above, o))) {
        const dir = shellQuote(`${scratch}/${i}`);
        lines.push(`mkdir -p ${dir}/upper ${dir}/work`, `mount -t overlay ferry-mount-points -o lowerdir=${shellQuote(above)},upperdir=${dir}/upper,workdir=${dir}/work ${shellQuote(above)}`);
        overlays.push(above);
        if (above === '/etc' && existsSync(`/etc/netns/${netns}`)) {
          lines.push(`for f in /etc/netns/${shellQuote(netns)}/*; do [ ! -e "$f" ] || mount --bind "$f" "/etc/\${f##*/}"; done`);
        }
      }
      lines.push(isDir(m.source) ? `mkdir -p ${dst}` : `{ [ -e ${dst} ] || { mkdir -p ${shellQuote(dirname(m.target))} && : > ${dst}; }; }`);
    }
    lines.push(`mount --bind ${src} ${dst}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${dst}`);
  });
  return lines;
}
