import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { addAddress, addRoute, createBridge, createNamespace, deleteNamespace, ip, listNamespaces, setMaster, sysctlIn, vethPair } from './netns.ts';
import type { PodIpam } from './ipam.ts';
import { removePodDirs } from './pod-volumes.ts';

/**
 * The lab's node and pod networking (what a CNI plugin plus a host-gw route
 * controller do on a real cluster), built only inside lab namespaces:
 *
 *   <prefix>switch           bridge br0 joining every node of the lab
 *   <prefix><node>           the node: eth0 on the switch (node IP), bridge
 *                            cbr0 (first podCIDR address), ip_forward on,
 *                            routes to the other nodes' podCIDRs via their IPs
 *   <prefix><node>_<pod>_<uid> a pod: eth0 (veth into cbr0), default route
 *                            via cbr0's address ('_' cannot occur in node
 *                            or pod names, so one node's pods never match
 *                            another node's prefix)
 *
 * Nothing is linked to the root namespace (LAB.md safety rules).
 */

export const NODE_BRIDGE = 'cbr0';
export const SWITCH_BRIDGE = 'br0';

export interface NodeNetworkConfig {
  /** Prefix of every namespace of this lab, e.g. `fytest-a1b2c3-` or `ferry-`. */
  prefix: string;
  nodeName: string;
  /** The node's address on the lab switch, with its prefix length, e.g. `192.168.200.11/24`. */
  nodeAddress: string;
}

export const switchNamespace = (prefix: string) => `${prefix}switch`;
export const nodeNamespace = (prefix: string, node: string) => `${prefix}${node}`;
const shortHash = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 8);

/** podNamespace names a pod's namespace; the uid suffix keeps a recreated pod of the same name apart. */
export function podNamespace(prefix: string, node: string, podName: string, uid: string): string {
  return `${nodeNamespace(prefix, node)}_${podName}_${uid.replace(/-/g, '').slice(0, 6)}`;
}

const switchPortName = (node: string) => `n${shortHash(node)}`;

/** hostVethName is the pod's veth end on the node bridge (interface names have at most 15 characters). */
export const hostVethName = (podNs: string) => `veth${shortHash(podNs)}`;

async function ensureSwitch(prefix: string): Promise<string> {
  const ns = switchNamespace(prefix);
  if (!(await listNamespaces()).includes(ns)) {
    // Two agents may start at once; whichever loses the race finds it made.
    await createNamespace(ns).catch(async (error: unknown) => {
      if (!(await listNamespaces()).includes(ns)) throw error;
    });
  }
  const { code } = await ip(['-n', ns, 'link', 'show', SWITCH_BRIDGE], { allowFailure: true });
  if (code !== 0) {
    await createBridge(ns, SWITCH_BRIDGE).catch(async (error: unknown) => {
      if ((await ip(['-n', ns, 'link', 'show', SWITCH_BRIDGE], { allowFailure: true })).code !== 0) throw error;
    });
  }
  return ns;
}

/** setupNodeNetwork creates the node namespace, joins it to the lab switch and creates its pod bridge. */
export async function setupNodeNetwork(cfg: NodeNetworkConfig, ipam: PodIpam): Promise<string> {
  const ns = nodeNamespace(cfg.prefix, cfg.nodeName);
  await createNamespace(ns);
  await sysctlIn(ns, 'net.ipv4.ip_forward', '1');
  const port = switchPortName(cfg.nodeName);
  // Another node of the lab may remove the switch as it leaves just as we join: make it again and retry.
  for (let attempt = 1; ; attempt++) {
    const sw = await ensureSwitch(cfg.prefix);
    try {
      await vethPair(ns, 'eth0', sw, port);
      await setMaster(sw, port, SWITCH_BRIDGE);
      break;
    } catch (error) {
      await ip(['-n', ns, 'link', 'del', 'eth0'], { allowFailure: true });
      if (attempt >= 3) throw error;
    }
  }
  await addAddress(ns, 'eth0', cfg.nodeAddress);
  await createBridge(ns, NODE_BRIDGE, `${ipam.gateway}/${ipam.prefix}`);
  return ns;
}

export interface PeerRoute {
  podCIDR: string;
  nodeIP: string;
}

/** syncNodeRoutes makes the node's static routes to other nodes' podCIDRs exactly `peers` (host-gw). */
export async function syncNodeRoutes(nodeNs: string, peers: readonly PeerRoute[]): Promise<void> {
  const { stdout } = await ip(['-n', nodeNs, '-j', 'route', 'show', 'proto', 'static']);
  const current = (JSON.parse(stdout || '[]') as Array<{ dst: string; gateway?: string }>).map((r) => ({ dst: r.dst, via: r.gateway ?? '' }));
  const want = new Map(peers.map((p) => [p.podCIDR, p.nodeIP]));
  for (const r of current) if (want.get(r.dst) !== r.via) await ip(['-n', nodeNs, 'route', 'del', r.dst, 'proto', 'static'], { allowFailure: true });
  for (const [dst, via] of want) {
    if (current.some((r) => r.dst === dst && r.via === via)) continue;
    await ip(['-n', nodeNs, 'route', 'replace', dst, 'via', via, 'proto', 'static']);
  }
}

export interface PodNetwork {
  ns: string;
  ip: string;
}

/** setupPodNetwork creates the pod namespace with eth0 on the node bridge, its address and default route. */
export async function setupPodNetwork(nodeNs: string, podNs: string, ipam: PodIpam): Promise<PodNetwork> {
  const address = ipam.allocate();
  try {
    await createNamespace(podNs);
    const hostIf = hostVethName(podNs);
    await vethPair(nodeNs, hostIf, podNs, 'eth0');
    await setMaster(nodeNs, hostIf, NODE_BRIDGE);
    // kubelet's hairpin-veth: a pod reaching itself through a Service is DNATed back out the port it came in on.
    await ip(['-n', nodeNs, 'link', 'set', hostIf, 'type', 'bridge_slave', 'hairpin', 'on']);
    await addAddress(podNs, 'eth0', `${address}/${ipam.prefix}`);
    await addRoute(podNs, ['default', 'via', ipam.gateway]);
    // The node may still hold a neighbour entry for this address from the pod that had it before.
    await ip(['-n', nodeNs, 'neigh', 'flush', 'to', address], { allowFailure: true });
    return { ns: podNs, ip: address };
  } catch (error) {
    await teardownPodNetwork(podNs);
    ipam.release(address);
    throw error;
  }
}

export interface PodFiles {
  hostname: string;
  ip: string;
  /** Cluster DNS service IPs; none leaves resolv.conf out (the host's is used). */
  nameservers: readonly string[];
  namespace: string;
  clusterDomain: string;
}

/** etcNetnsDir is where `ip netns exec` finds files it bind-mounts over /etc. */
export const etcNetnsDir = (ns: string) => join('/etc/netns', ns);

/** writePodFiles writes the pod's resolv.conf (ClusterFirst, as kubelet) and hosts. */
export function writePodFiles(podNs: string, f: PodFiles): void {
  const dir = etcNetnsDir(podNs);
  mkdirSync(dir, { recursive: true });
  if (f.nameservers.length > 0) {
    const search = [`${f.namespace}.svc.${f.clusterDomain}`, `svc.${f.clusterDomain}`, f.clusterDomain];
    writeFileSync(join(dir, 'resolv.conf'), `${f.nameservers.map((s) => `nameserver ${s}`).join('\n')}\nsearch ${search.join(' ')}\noptions ndots:5\n`);
  }
  writeFileSync(join(dir, 'hosts'), `# Kubernetes-managed hosts file (ferry node).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${f.ip}\t${f.hostname}\n`);
}

/** killNamespaceProcesses SIGKILLs whatever still runs in a namespace (leftovers of an agent that died). */
export async function killNamespaceProcesses(ns: string): Promise<void> {
  const { stdout } = await ip(['netns', 'pids', ns], { allowFailure: true });
  for (const pid of stdout.split('\n').filter((l) => /^\d+$/.test(l))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

export async function teardownPodNetwork(podNs: string): Promise<void> {
  await deleteNamespace(podNs);
  rmSync(etcNetnsDir(podNs), { recursive: true, force: true });
}

/**
 * teardownNode removes the node's pod namespaces and the node namespace, then
 * the lab switch if no node is left on it (unless keepSwitch: an agent
 * clearing its own leftovers at start must not pull the switch from under a
 * node starting beside it). Safe to run on a half-built or already removed
 * node (it is also `ferry node --cleanup`).
 */
export async function teardownNode(prefix: string, nodeName: string, options: { keepSwitch?: boolean } = {}): Promise<void> {
  const ns = nodeNamespace(prefix, nodeName);
  for (const name of await listNamespaces()) {
    if (!name.startsWith(`${ns}_`)) continue;
    await killNamespaceProcesses(name);
    await teardownPodNetwork(name);
  }
  await killNamespaceProcesses(ns);
  await deleteNamespace(ns);
  // The volumes of its pods, hostNetwork ones included (they had no namespace of their own).
  removePodDirs(`${ns}_`);
  const sw = switchNamespace(prefix);
  if (options.keepSwitch || !(await listNamespaces()).includes(sw)) return;
  // The kernel removes a deleted namespace's veth peers asynchronously: wait for ours to leave the switch.
  const port = switchPortName(nodeName);
  for (let i = 0; i < 50 && (await switchPorts(sw)).includes(port); i++) await sleep(50);
  if ((await switchPorts(sw)).length === 0) await deleteNamespace(sw);
}

async function switchPorts(sw: string): Promise<string[]> {
  const { stdout } = await ip(['-n', sw, '-j', 'link', 'show', 'master', SWITCH_BRIDGE], { allowFailure: true });
  return (JSON.parse(stdout || '[]') as Array<{ ifname: string }>).map((l) => l.ifname);
}
