import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../client/api-client.ts';
import { resources } from '../../client/resources.ts';
import { execIn } from '../netns.ts';
import { podNamespace } from '../node-network.ts';
import { callGuest, type GuestResult } from './guest-exec.ts';
import { LabError } from './errors.ts';
import { labPaths, readState, type LabState } from './state.ts';

/** openLab reads a running lab's state and an API client on its Unix socket. */
export function openLab(name: string): { state: LabState; client: ApiClient } {
  const state = readState(labPaths(name));
  if (!state) throw new LabError('FERRY_ERR_LAB_NOT_FOUND', `no lab named ${name} (start one with ferry up --name ${name})`);
  return { state, client: new ApiClient({ server: `unix://${state.socket}` }, { userAgent: 'ferry-lab' }) };
}

/**
 * targetNamespace resolves `ferry exec`'s target to a network namespace:
 * `node/<node>` is the node's, anything else a pod name (in `namespace`)
 * whose namespace the node agent named from its node, name and uid.
 */
export async function targetNamespace(state: LabState, client: ApiClient, target: string, namespace: string): Promise<string> {
  if (target.startsWith('node/')) {
    const node = state.plan.nodes.find((n) => n.name === target.slice(5));
    if (!node) throw new LabError('FERRY_ERR_LAB_NOT_FOUND', `no node ${target.slice(5)} in lab ${state.plan.name}`);
    return node.ns;
  }
  const pod = await client.get<Pod>(resources.pods, target, { namespace });
  const node = pod.spec?.nodeName;
  if (!node || !pod.status?.podIP) throw new LabError('FERRY_ERR_LAB_POD', `pod ${namespace}/${target} is not running yet (phase ${pod.status?.phase ?? 'Pending'})`);
  return podNamespace(state.plan.prefix, node, target, pod.metadata?.uid ?? '');
}

/**
 * execInLab runs a program inside one of the lab's network namespaces and
 * collects its output: with `ip netns exec` on the host, or through the exec
 * agent of an ipvs lab's User-Mode Linux guest, whose namespaces the host
 * cannot enter.
 */
export async function execInLab(state: LabState, ns: string, file: string, args: readonly string[], timeoutMs: number): Promise<GuestResult> {
  if (state.guest) return callGuest(state.guest, { op: 'exec', ns, argv: [file, ...args], timeoutMs }, { timeoutMs });
  const r = await execIn(ns, file, args, { allowFailure: true, timeoutMs });
  return { code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr };
}
