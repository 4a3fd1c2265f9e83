import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { execFile, type ExecOptions, type ExecResult } from '../util/exec.ts';

/**
 * Network namespace primitives over iproute2. Every link is created inside a
 * lab namespace (`ip -n <ns> link add ...`), never in the root namespace, so
 * nothing here can change the host's own network (LAB.md safety rules).
 */

export function ip(args: readonly string[], options?: ExecOptions): Promise<ExecResult> {
  return execFile('ip', args, options);
}

export async function createNamespace(name: string): Promise<void> {
  await ip(['netns', 'add', name]);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
}

/** deleteNamespace removes a namespace if present (its links and processes' network go with it). */
export async function deleteNamespace(name: string): Promise<void> {
  await ip(['netns', 'delete', name], { allowFailure: true });
}

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await ip(['netns', 'list'], { allowFailure: true });
  return stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n !== '');
}

/** execIn runs a program inside a namespace and collects its output. */
export function execIn(ns: string, file: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult> {
  return execFile('ip', ['netns', 'exec', ns, file, ...args], options);
}

/** spawnIn starts a long-running program inside a namespace; the caller owns the process. */
export function spawnIn(ns: string, file: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

/** vethPair joins two namespaces with a veth pair and brings both ends up. */
export async function vethPair(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
  await ip(['-n', nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
  await ip(['-n', nsA, 'link', 'set', ifA, 'up']);
  await ip(['-n', nsB, 'link', 'set', ifB, 'up']);
}

export async function addAddress(ns: string, dev: string, cidr: string): Promise<void> {
  await ip(['-n', ns, 'addr', 'add', cidr, 'dev', dev]);
}

export async function createBridge(ns: string, name: string, cidr?: string): Promise<void> {
  await ip(['-n', ns, 'link', 'add', name, 'type', 'bridge']);
  await ip(['-n', ns, 'link', 'set', name, 'up']);
  if (cidr) await addAddress(ns, name, cidr);
}

export async function setMaster(ns: string, dev: string, bridge: string): Promise<void> {
  await ip(['-n', ns, 'link', 'set', dev, 'master', bridge]);
}

export async function addRoute(ns: string, args: readonly string[]): Promise<void> {
  await ip(['-n', ns, 'route', 'add', ...args]);
}

/** sysctlIn writes a sysctl inside a namespace (per-namespace keys such as net.ipv4.ip_forward). */
export async function sysctlIn(ns: string, key: string, value: string): Promise<void> {
  await execIn(ns, 'sysctl', ['-qw', `${key}=${value}`]);
}
