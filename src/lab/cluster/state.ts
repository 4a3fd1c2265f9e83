import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GuestLink } from './guest-exec.ts';
import type { LabPlan } from './plan.ts';
import { repoPath } from '../../util/repo.ts';

/**
 * A lab's state directory `.ferry/<name>/` (under the checkout): the
 * apiserver's file store, its Unix socket, the kubeconfig, component logs and
 * `state.json`, which records every process and namespace the lab made so
 * `ferry down` can remove them even after a crash.
 */

export const FERRY_HOME = repoPath('.ferry');

export interface ComponentRecord {
  /** `apiserver`, `controller-manager`, `scheduler`, `relay`, `node-node1`, `proxy-node1`. */
  name: string;
  argv: string[];
  /** Namespace the process runs in (through `ip netns exec`); absent: the root namespace. */
  netns?: string;
  pid: number;
  log: string;
}

export interface LabState {
  plan: LabPlan;
  apiPort: number;
  socket: string;
  startedAt: string;
  components: ComponentRecord[];
  /** Extra `ferry proxy` flags (`ferry up --proxy-arg`), for proxies started later (an ipvs lab's guest). */
  proxyArgs?: string[];
  /** ipvs labs: the User-Mode Linux guest running the nodes, reached through its exec agent. */
  guest?: GuestLink;
  /** 'pods': the proxies run as the ferry-proxy DaemonSet's pods (data-plane.ts), not as components. */
  proxies?: 'pods';
}

export interface LabPaths {
  dir: string;
  data: string;
  logs: string;
  socket: string;
  /** The apiserver's HTTPS socket, authenticated as TCP: what the `kubernetes` Service relays pods to. */
  tlsSocket: string;
  kubeconfig: string;
  state: string;
}

export function labPaths(name: string, home = FERRY_HOME): LabPaths {
  const dir = join(home, name);
  return {
    dir,
    data: join(dir, 'data'),
    logs: join(dir, 'logs'),
    // Unix socket paths are limited to 107 bytes: keep it short and absolute.
    socket: join(dir, 'api.sock'),
    tlsSocket: join(dir, 'api-tls.sock'),
    kubeconfig: join(dir, 'kubeconfig'),
    state: join(dir, 'state.json'),
  };
}

export function readState(paths: LabPaths): LabState | undefined {
  if (!existsSync(paths.state)) return undefined;
  return JSON.parse(readFileSync(paths.state, 'utf8')) as LabState;
}

/** writeState replaces state.json atomically (a crash mid-write must not lose the pids). */
export function writeState(paths: LabPaths, state: LabState): void {
  mkdirSync(paths.dir, { recursive: true });
  const tmp = `${paths.state}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, paths.state);
}

/** labNames lists the labs that have a state file. */
export function labNames(home = FERRY_HOME): string[] {
  if (!existsSync(home)) return [];
  return readdirSync(home).filter((n) => existsSync(join(home, n, 'state.json')));
}
