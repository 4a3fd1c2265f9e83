import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '../../client/api-client.ts';
import { resources } from '../../client/resources.ts';
import { getErrorMessage } from '../../util/errors.ts';
import { deleteNamespace, execIn, ip, listNamespaces } from '../netns.ts';
import { etcNetnsDir, killNamespaceProcesses } from '../node-network.ts';
import { LabError } from './errors.ts';
import { componentSpecs, startNodeHalf } from './lab.ts';
import { nodeIdentity, writeComponentKubeconfigs } from './component-credentials.ts';
import { ensureCa } from '../../apiserver-stub/pki.ts';
import { proxyPodOn } from './data-plane.ts';
import { planLab, type NodePlan, type ProxyMode } from './plan.ts';
import { labPaths, readState, writeState, type ComponentRecord, type LabState } from './state.ts';
import { isAlive, startFresh, stopComponents } from './supervisor.ts';

/**
 * Growing a running lab: `ferry up --nodes N` on a lab of fewer nodes adds
 * the missing ones (node agent and proxy each, as `ferry up` starts them),
 * so a student can watch a DaemonSet put a pod on a node that joins later.
 * A node that does not come up is taken out again (processes, namespaces,
 * route and Node object) and the lab stays as it was, so the same command
 * can simply be run again.
 */

export interface GrowResult {
  added: string[];
  state: LabState;
}

const isReady = (n: Node) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** runningLab is the lab's state when any of its processes runs. */
export function runningLab(name: string): LabState | undefined {
  const state = readState(labPaths(name));
  return state?.components.some((c) => isAlive(c.pid)) ? state : undefined;
}

/** refuseGrowth says why this running lab cannot become `nodes` nodes of `mode`, or nothing when it can. */
function refuseGrowth(state: LabState, nodes: number, mode: ProxyMode): string | undefined {
  const { name } = state.plan;
  const have = state.plan.nodes.length;
  const down = `ferry down --name ${name} first`;
  if (mode !== state.plan.mode) return `lab ${name} is running in proxy mode ${state.plan.mode}, not ${mode} (${down})`;
  if (state.guest) return `lab ${name} is running (its nodes are in a User-Mode Linux guest, which cannot take nodes later: ${down})`;
  if (nodes <= have) return `lab ${name} is running (ferry down --name ${name} first; it has ${have} node(s): ferry up --name ${name} --nodes ${have + 1} adds a node)`;
  return undefined;
}

/** proxyHealthy is whether the node's proxy answers /healthz with 200 (it has synced its rules once). */
async function proxyHealthy(n: NodePlan): Promise<boolean> {
  const r = await execIn(n.ns, 'curl', ['-s', '-m', '1', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:10256/healthz'], { allowFailure: true, timeoutMs: 3000 });
  return r.stdout === '200';
}

/** crashedProxyPod names a new node whose ferry-proxy pod's container exited (the DaemonSet's proxies), with its last words. */
async function crashedProxyPod(client: ApiClient, nodes: NodePlan[]): Promise<string | undefined> {
  for (const n of nodes) {
    const pod = await proxyPodOn(client, n.name);
    const status = pod?.status?.containerStatuses?.[0];
    const ended = status?.state?.terminated ?? status?.lastState?.terminated;
    if (!pod || !ended) continue;
    return `proxy-${n.name} exited (pod ${pod.metadata?.name}, exit code ${ended.exitCode}; kubectl -n kube-system logs ${pod.metadata?.name} --previous)`;
  }
  return undefined;
}

/** waitUsable waits for each new node to be Ready and its proxy healthy; a component or proxy pod that exits fails it at once. */
async function waitUsable(client: ApiClient, nodes: NodePlan[], components: ComponentRecord[], timeoutMs: number, proxyPods: boolean): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const dead = components.find((c) => !isAlive(c.pid));
    if (dead) throw new LabError('FERRY_ERR_LAB_START', `${dead.name} exited; see ${dead.log}`);
    const crashed = proxyPods ? await crashedProxyPod(client, nodes) : undefined;
    if (crashed) throw new LabError('FERRY_ERR_LAB_START', crashed);
    const ready = new Set((await client.list<Node>(resources.nodes)).items.filter(isReady).map((n) => n.metadata?.name));
    if (nodes.every((n) => ready.has(n.name)) && (await Promise.all(nodes.map(proxyHealthy))).every(Boolean)) return;
    if (Date.now() > end) throw new LabError('FERRY_ERR_LAB_START', `node(s) ${nodes.map((n) => n.name).join(', ')} not Ready with a healthy proxy within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * deleteOrphanedPods removes the pods bound to a node taken out (DaemonSet
 * pods made for it meanwhile), as kube's pod garbage collector does for a
 * deleted node: its agent is gone, so its finalizer goes first.
 */
async function deleteOrphanedPods(client: ApiClient, node: string): Promise<void> {
  const pods = await client.list<Pod>(resources.pods, { fieldSelector: `spec.nodeName=${node}` }).catch(() => ({ items: [] as Pod[] }));
  await Promise.all(pods.items.map(async (p) => {
    const at = { namespace: p.metadata?.namespace };
    await client.patch(resources.pods, p.metadata?.name ?? '', { metadata: { finalizers: null } }, 'merge', at).catch(() => undefined);
    await client.delete(resources.pods, p.metadata?.name ?? '', at, { gracePeriodSeconds: 0 }).catch(() => undefined);
  }));
}

/** removeNodes undoes a failed growth: the new nodes' processes, namespaces (node and pods), control-plane routes and Node objects. */
async function removeNodes(state: LabState, nodes: NodePlan[], components: ComponentRecord[], client: ApiClient): Promise<void> {
  await stopComponents(components);
  const names = await listNamespaces();
  for (const n of nodes) {
    // Pods are `<node ns>_<pod>_<uid>`: match the node exactly, not node1 as a prefix of node10.
    const mine = names.filter((x) => x.startsWith(`${n.ns}_`)).concat(names.filter((x) => x === n.ns));
    for (const ns of mine) await killNamespaceProcesses(ns);
    for (const ns of mine) {
      await deleteNamespace(ns);
      rmSync(etcNetnsDir(ns), { recursive: true, force: true });
    }
    await ip(['-n', state.plan.controlPlaneNs, 'route', 'del', n.podCIDR], { allowFailure: true });
    await client.delete(resources.nodes, n.name).catch(() => undefined);
    await deleteOrphanedPods(client, n.name);
  }
}

/**
 * growLab adds nodes to the running lab `state` until it has `nodes`, and
 * waits for them to be Ready with a healthy proxy; refused (LabError FERRY_ERR_LAB_EXISTS) when
 * the lab already has as many, runs another mode, or runs in a UML guest.
 */
export async function growLab(state: LabState, nodes: number, mode: ProxyMode, timeoutMs = 30_000): Promise<GrowResult> {
  const refusal = refuseGrowth(state, nodes, mode);
  if (refusal) throw new LabError('FERRY_ERR_LAB_EXISTS', refusal);
  const paths = labPaths(state.plan.name);
  const grown = planLab(state.plan.name, nodes, mode, state.plan.prefix);
  const added = grown.nodes.slice(state.plan.nodes.length);
  const before = { plan: state.plan, components: [...state.components] };
  const mine: ComponentRecord[] = [];
  const specs = componentSpecs(grown, paths, paths.socket, state.apiPort, state.proxyArgs);
  const client = new ApiClient({ server: `unix://${paths.socket}` }, { userAgent: 'ferry-up' });
  // Recorded before anything starts, so `ferry down` finds the new nodes even if this process dies half-way.
  state.plan = grown;
  writeState(paths, state);
  try {
    for (const n of added) await ip(['-n', grown.controlPlaneNs, 'route', 'replace', n.podCIDR, 'via', n.ip]);
    await writeComponentKubeconfigs(paths, ensureCa(paths.data), state.apiPort, added.map((n) => nodeIdentity(n.name)));
    const start = (spec: Parameters<typeof startFresh>[0]) => {
      const rec = startFresh(spec);
      mine.push(rec);
      state.components.push(rec);
      writeState(paths, state);
      return rec;
    };
    await startNodeHalf({ ...grown, nodes: added }, specs, start, undefined, { relay: false, proxiesAsPods: state.proxies === 'pods' });
    await waitUsable(client, added, mine, timeoutMs, state.proxies === 'pods');
    return { added: added.map((n) => n.name), state };
  } catch (error) {
    await removeNodes(state, added, mine, client);
    Object.assign(state, before);
    writeState(paths, state);
    throw new LabError('FERRY_ERR_LAB_START', `adding node(s) ${added.map((n) => n.name).join(', ')} to lab ${state.plan.name} failed and was undone: ${getErrorMessage(error)}`);
  } finally {
    await client.close();
  }
}
