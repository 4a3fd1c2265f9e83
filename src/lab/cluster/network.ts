import { rmSync } from 'node:fs';
import { addAddress, createBridge, createNamespace, deleteNamespace, ip, listNamespaces, setMaster, vethPair } from '../netns.ts';
import { etcNetnsDir, killNamespaceProcesses, SWITCH_BRIDGE } from '../node-network.ts';
import { removePodDirs } from '../pod-volumes.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTROL_PLANE_IP, SERVICE_CIDR, type LabPlan, type NodePlan } from './plan.ts';

/**
 * The lab-wide part of the network: the switch (which the node agents would
 * also create on demand) and the control-plane namespace on it, where
 * `ferry relay` gives pods a TCP path to the apiserver's Unix socket. Nodes
 * and pods are the node agents' (src/lab/node-network.ts).
 */

export async function setupControlPlaneNetwork(plan: LabPlan): Promise<void> {
  await createNamespace(plan.switchNs);
  await createBridge(plan.switchNs, SWITCH_BRIDGE);
  await createNamespace(plan.controlPlaneNs);
  await vethPair(plan.controlPlaneNs, 'eth0', plan.switchNs, 'cp0');
  await setMaster(plan.switchNs, 'cp0', SWITCH_BRIDGE);
  await addAddress(plan.controlPlaneNs, 'eth0', `${CONTROL_PLANE_IP}/24`);
  // Pods talk to the relay with their own addresses (not masqueraded): route replies to each node's pod range.
  for (const node of plan.nodes) await ip(['-n', plan.controlPlaneNs, 'route', 'add', node.podCIDR, 'via', node.ip]);
}

/**
 * routeServicesFromNode gives the node a route for the service range once its
 * agent has made eth0: a node's own programs (curl on the node, the proxy's
 * health checks) need a route before the OUTPUT chain can DNAT a ClusterIP,
 * which real nodes have through their default route.
 */
export async function routeServicesFromNode(node: NodePlan, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { code } = await ip(['-n', node.ns, 'route', 'replace', SERVICE_CIDR, 'dev', 'eth0', 'src', node.ip], { allowFailure: true });
    if (code === 0) return;
    if (Date.now() > end) throw new Error(`node ${node.name}: eth0 with ${node.ip} did not appear within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/**
 * removeLabNamespaces kills whatever still runs in any namespace of the lab's
 * prefix and deletes them, pods first, the switch last, and the pods'
 * volume directories. Safe to run twice.
 */
export async function removeLabNamespaces(prefix: string): Promise<string[]> {
  const mine = (await listNamespaces()).filter((n) => n.startsWith(prefix));
  const order = (n: string) => (n.includes('_') ? 0 : n === `${prefix}switch` ? 2 : 1);
  mine.sort((a, b) => order(a) - order(b));
  for (const ns of mine) await killNamespaceProcesses(ns);
  for (const ns of mine) {
    await deleteNamespace(ns);
    rmSync(etcNetnsDir(ns), { recursive: true, force: true });
  }
  // Pod volumes a killed node agent left (hostNetwork pods' too, which had no namespace of their own).
  removePodDirs(prefix);
  return mine;
}
