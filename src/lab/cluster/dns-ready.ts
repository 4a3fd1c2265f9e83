import type { Pod } from 'kubernetes-types/core/v1.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from '../../client/api-client.ts';
import { resources } from '../../client/resources.ts';
import { podNamespace } from '../node-network.ts';
import { execInLab } from './client.ts';
import { LabError } from './errors.ts';
import { CLUSTER_DNS_IP, CLUSTER_DOMAIN } from './plan.ts';
import type { LabState } from './state.ts';

/**
 * Whether cluster DNS is usable the way a pod uses it: `dig` over UDP and
 * over TCP to the `kube-dns` ClusterIP, from inside pods (the DNS pods'
 * own namespaces, the pods there are when a lab starts) and from the first
 * node, answers `kubernetes.default` with the API's ClusterIP. `ferry up`
 * waits for this before it calls the lab ready: DNS pods that run are not
 * enough while a proxy has not programmed the ClusterIP yet (an ipvs lab's
 * pods were refused for ~30 s after `ferry up` returned).
 */

const NAME = `kubernetes.default.svc.${CLUSTER_DOMAIN}`;
/** How long one lookup may take (`timeout` seconds): far more than a lab's answer, under a loaded machine too. */
const DIG_PATIENCE = '0.5';

/** dnsPodNamespaces are the network namespaces of the running cluster DNS pods. */
async function dnsPodNamespaces(state: LabState, client: ApiClient): Promise<string[]> {
  const pods = (await client.list<Pod>(resources.pods, { namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' })).items;
  return pods.filter((p) => p.status?.podIP && p.spec?.nodeName)
    .map((p) => podNamespace(state.plan.prefix, p.spec!.nodeName!, p.metadata!.name!, p.metadata!.uid ?? ''));
}

/**
 * digAnswers is whether one dig from `ns` over `transport` gets an A record
 * for the API's Service. dig waits at least a second for an answer that is
 * not coming (no rule for the ClusterIP yet), so `timeout` ends it sooner
 * and the next try goes out: the lab is ready within ~half a second of DNS
 * answering, not up to a second after.
 */
async function digAnswers(state: LabState, ns: string, transport: 'udp' | 'tcp'): Promise<boolean> {
  const args = [DIG_PATIENCE, 'dig', '+short', '+time=1', '+tries=1', ...(transport === 'tcp' ? ['+tcp'] : []), `@${CLUSTER_DNS_IP}`, NAME];
  try {
    const r = await execInLab(state, ns, 'timeout', args, 5000);
    return r.code === 0 && /^\d+\.\d+\.\d+\.\d+$/m.test(r.stdout);
  } catch {
    return false;
  }
}

/** clusterDnsAnswers checks every probe point once over both transports; what failed, or nothing. */
export async function clusterDnsAnswers(state: LabState, client: ApiClient): Promise<string | undefined> {
  let from: string[];
  try {
    from = await dnsPodNamespaces(state, client);
  } catch {
    return 'the apiserver did not list the DNS pods';
  }
  if (from.length === 0) return 'no cluster DNS pod is running yet';
  from.push(state.plan.nodes[0]!.ns);
  const checks = from.flatMap((ns) => (['udp', 'tcp'] as const).map(async (t) => ((await digAnswers(state, ns, t)) ? undefined : `${ns} over ${t.toUpperCase()}`)));
  const failed = (await Promise.all(checks)).filter((x) => x !== undefined);
  return failed.length === 0 ? undefined : `no answer from ${CLUSTER_DNS_IP} in ${failed.join(', ')}`;
}

/** waitForClusterDns waits until clusterDnsAnswers finds nothing wrong, or fails saying what still did not answer. */
export async function waitForClusterDns(state: LabState, client: ApiClient, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const problem = await clusterDnsAnswers(state, client);
    if (!problem) return;
    if (Date.now() > end) throw new LabError('FERRY_ERR_LAB_START', `cluster DNS did not answer over UDP and TCP within ${timeoutMs / 1000} s: ${problem}; see ferry status and ferry logs`);
    await sleep(100);
  }
}
