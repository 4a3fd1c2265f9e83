import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addAddress, createNamespace, ip } from '../netns.ts';
import type { GuestLink } from './guest-exec.ts';
import type { LabPlan } from './plan.ts';
import type { LabPaths } from './state.ts';
import type { ComponentSpec } from './supervisor.ts';
import { REPO_ROOT } from '../../util/repo.ts';

/**
 * An ipvs lab's kernel: this host's kernel has no IPVS, so the node half of
 * the lab (node agents, ipvs proxies, pods, the switch) runs inside one
 * User-Mode Linux guest (LAB.md, "A kernel with IPVS"), booted by
 * scripts/uml-init with the host filesystem read-only as its root. The
 * control plane stays on the host, where kubectl reaches it as in the other
 * modes. The guest's one network link is a tap device in a lab namespace of
 * its own (`<prefix>uml`), never the root namespace: there a relay splices
 * the guest's API connections to the apiserver's Unix socket, and the host
 * reaches the guest's exec agent.
 */

const REPO = REPO_ROOT;
const FERRY_BIN = join(REPO, 'bin', 'ferry');

export const GUEST_LINK = { host: '192.168.201.1', guest: '192.168.201.2', prefixLength: 30, tap: 'tap0' } as const;
/** The exec agent's port on the guest link (the kubelet's port, as it plays that part). */
export const GUEST_EXEC_PORT = 10250;
/** Inside the guest, components reach the apiserver through this Unix socket (the guest's own tmpfs). */
export const GUEST_API_SOCKET = '/run/ferry-api.sock';
/**
 * Guest memory: a node agent, proxy and pod each hold 40-80 MB; UML maps this
 * lazily, so unused memory costs the host nothing.
 */
const GUEST_MEMORY = '3G';

export const guestLinkNamespace = (plan: LabPlan) => `${plan.prefix}uml`;

export function guestLink(plan: LabPlan): GuestLink {
  return { ns: guestLinkNamespace(plan), address: GUEST_LINK.guest, port: GUEST_EXEC_PORT };
}

/** UmlStatus says whether a User-Mode Linux guest can run commands on this host, and why not. */
export type UmlStatus = { readonly ok: true } | { readonly ok: false; readonly reason: string };

let probed: UmlStatus | undefined;

/**
 * umlStatus boots one guest that runs `true` (scripts/uml-run), once per
 * process, and remembers the answer per host kernel and CPU in the UML cache.
 * Being installed is not enough: Debian 12's UML 6.1 panics at boot on hosts
 * whose CPUs have AMX ("ptrace set fp regs failed, errno = 14": the host's
 * XSAVE area outgrew what that kernel passes to ptrace).
 */
export function umlStatus(): UmlStatus {
  if (probed) return probed;
  if (spawnSync('sh', ['-c', 'command -v linux.uml'], { stdio: 'ignore' }).status !== 0) {
    return (probed = { ok: false, reason: 'linux.uml is not installed (apt-get install user-mode-linux)' });
  }
  const key = spawnSync('sh', ['-c', "uname -r; grep -m1 '^flags' /proc/cpuinfo | md5sum"], { encoding: 'utf8' }).stdout.replace(/\W+/g, '-');
  const cacheDir = join(REPO, '.ferry', 'uml-cache');
  const cacheFile = join(cacheDir, `boots-${key}`);
  if (existsSync(cacheFile)) return (probed = JSON.parse(readFileSync(cacheFile, 'utf8')) as UmlStatus);
  const r = spawnSync(join(REPO, 'scripts', 'uml-run'), ['true'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, UML_TIMEOUT: '90' } });
  const panic = /ptrace[^\n]*failed[^\n]*|Kernel panic[^\n]*/.exec(r.stderr ?? '')?.[0];
  probed = r.status === 0 ? { ok: true } : { ok: false, reason: `User-Mode Linux does not boot on this host (${panic ?? `uml-run exited ${r.status}`})` };
  // A guest that timed out may only have met a busy machine: ask again next time.
  if (r.status !== 124 && r.status !== null) {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(cacheFile, JSON.stringify(probed));
  }
  return probed;
}

/** setupGuestLink makes the guest link's namespace and tap device (the guest attaches to it at boot). */
export async function setupGuestLink(plan: LabPlan): Promise<void> {
  const ns = guestLinkNamespace(plan);
  await createNamespace(ns);
  await ip(['-n', ns, 'tuntap', 'add', 'dev', GUEST_LINK.tap, 'mode', 'tap']);
  await addAddress(ns, GUEST_LINK.tap, `${GUEST_LINK.host}/${GUEST_LINK.prefixLength}`);
  await ip(['-n', ns, 'link', 'set', GUEST_LINK.tap, 'up']);
}

/**
 * guestSpec writes the script the guest's init runs (uml-init's run
 * directory: `cwd` and `cmd`) and returns the UML process as a lab
 * component. The script makes the lab directory writable at its own path
 * (logs), gives `ip netns exec` a writable /etc/netns, brings up eth0 and
 * runs `ferry lab-guest`; when that ends, the guest powers off.
 */
export function guestSpec(plan: LabPlan, paths: LabPaths): ComponentSpec {
  const run = join(paths.dir, 'uml');
  mkdirSync(run, { recursive: true });
  // The guest mounts a tmpfs here; the mount point must exist on the read-only root.
  mkdirSync('/etc/netns', { recursive: true });
  const cache = join(REPO, '.ferry', 'uml-cache');
  mkdirSync(cache, { recursive: true });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(join(run, 'cwd'), `${REPO}\n`);
  writeFileSync(join(run, 'cmd'), [
    'set -e',
    `mount -t hostfs none ${q(paths.dir)} -o ${q(paths.dir)}`,
    'mount -t tmpfs -o mode=755 tmpfs /etc/netns',
    `ip addr add ${GUEST_LINK.guest}/${GUEST_LINK.prefixLength} dev eth0`,
    'ip link set eth0 up',
    `exec ${q(FERRY_BIN)} lab-guest --name ${q(plan.name)} > ${q(join(paths.logs, 'lab-guest.log'))} 2>&1`,
    '',
  ].join('\n'));
  return {
    name: 'uml',
    argv: ['linux.uml', `mem=${GUEST_MEMORY}`, 'rootfstype=hostfs', 'rootflags=/', 'ro', `init=${REPO}/scripts/uml-init`,
      `ferry_run=${run}`, `ferry_cache=${cache}`, `ferry_repo=${REPO}`,
      `umid=ferry-${plan.name}`, `uml_dir=${run}`, 'con=null', 'con0=null,fd:1', `eth0=tuntap,${GUEST_LINK.tap}`],
    netns: guestLinkNamespace(plan),
    log: join(paths.logs, 'uml.log'),
  };
}
