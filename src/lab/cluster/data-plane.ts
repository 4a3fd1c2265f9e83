import { readFileSync } from 'node:fs';
import type { DaemonSet, Deployment } from 'kubernetes-types/apps/v1.js';
import type { ConfigMap, Container, Pod } from 'kubernetes-types/core/v1.js';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { ApiClient } from '../../client/api-client.ts';
import { isNotFound } from '../../client/errors.ts';
import { resources, type ResourceRef } from '../../client/resources.ts';
import { repoPath } from '../../util/repo.ts';
import { ensureObject } from './addons.ts';
import { CLUSTER_CIDR, PROXY_MODES, type ProxyMode } from './plan.ts';

/**
 * The lab's data plane as a cluster runs it: the ferry-proxy DaemonSet
 * (hostNetwork pods on every node, `ferry proxy --config` from the
 * `kube-proxy` ConfigMap) and the ferry-dns Deployment behind the `kube-dns`
 * Service, read from deploy/ (the manifests operators apply) and run by the
 * node agents with the `ferry` image's stand-in (this checkout's bin/ferry).
 * What the lab changes, and why:
 * - the `kube-proxy` ConfigMap: `mode` is the lab's mode (kubeadm leaves it
 *   empty, iptables), `clusterCIDR` the lab's, and kubeconfig.conf's server
 *   is the lab's apiserver as the nodes reach it (kubeadm writes its
 *   control-plane endpoint there); the proxies still authenticate with their
 *   `kube-proxy` ServiceAccount token and verify the cluster CA;
 * - ferry-proxy: `ferry up --proxy-arg` flags are appended to its command;
 * - ferry-dns: readiness is probed every second instead of every ten, so
 *   DNS answers within a second of starting. It uses the in-cluster config
 *   as CoreDNS does (the `coredns` ServiceAccount's token and the cluster
 *   CA), with KUBERNETES_SERVICE_HOST/PORT set to the apiserver's own
 *   address, as Cilium's agents are told to: through the `kubernetes`
 *   Service it would first wait for its node's proxy to program that
 *   Service (ferry up took 1.3 s longer).
 */

const DEPLOY_FILES = ['kube-proxy-configmap.yaml', 'ferry-proxy.yaml', 'ferry-dns.yaml'];

export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

const REFS: Record<string, ResourceRef> = {
  ConfigMap: resources.configmaps,
  ServiceAccount: { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true },
  Service: resources.services,
  ClusterRole: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', namespaced: false },
  DaemonSet: resources.daemonsets,
  Deployment: resources.deployments,
};

export const PROXY_DAEMONSET = 'ferry-proxy';
export const DNS_DEPLOYMENT = 'ferry-dns';
/** Labels of the ferry-proxy pods (the DaemonSet's selector). */
export const PROXY_POD_LABELS = { 'k8s-app': 'ferry-proxy' };

export interface DataPlaneOptions {
  mode: string;
  /** The apiserver's URL as the nodes reach it (the `kubernetes` Service's endpoint). */
  server: string;
  proxyArgs?: readonly string[];
}

/** readDeployManifests parses every document of the deploy/ files, in apply order. */
export function readDeployManifests(): Manifest[] {
  return DEPLOY_FILES.flatMap((f) => parseAllDocuments(readFileSync(repoPath('deploy', f), 'utf8')).map((d) => d.toJS() as Manifest));
}

function labProxyConfig(cm: ConfigMap, o: DataPlaneOptions): ConfigMap {
  const config = parse(cm.data!['config.conf']!) as Record<string, unknown>;
  config.mode = o.mode;
  config.clusterCIDR = CLUSTER_CIDR;
  const kubeconfig = parse(cm.data!['kubeconfig.conf']!) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of kubeconfig.clusters) c.cluster.server = o.server;
  return { ...cm, data: { ...cm.data, 'config.conf': stringify(config), 'kubeconfig.conf': stringify(kubeconfig) } };
}

const onlyContainer = (spec: { template: { spec?: { containers: Container[] } } }) => spec.template.spec!.containers[0]!;

function labProxyDaemonSet(ds: DaemonSet, o: DataPlaneOptions): DaemonSet {
  const c = onlyContainer(ds.spec!);
  c.command = [...(c.command ?? []), ...(o.proxyArgs ?? [])];
  return ds;
}

function labDnsDeployment(d: Deployment, o: DataPlaneOptions): Deployment {
  const c = onlyContainer(d.spec!);
  const api = new URL(o.server);
  c.env = [...(c.env ?? []), { name: 'KUBERNETES_SERVICE_HOST', value: api.hostname }, { name: 'KUBERNETES_SERVICE_PORT', value: api.port || '443' }];
  if (c.readinessProbe) c.readinessProbe.periodSeconds = 1;
  return d;
}

/** dataPlaneObjects: the deploy/ manifests as the lab applies them (see the module comment). */
export function dataPlaneObjects(o: DataPlaneOptions): Manifest[] {
  return readDeployManifests().map((m) => {
    if (m.kind === 'ConfigMap' && m.metadata.name === 'kube-proxy') return labProxyConfig(m as ConfigMap, o) as Manifest;
    if (m.kind === 'DaemonSet' && m.metadata.name === PROXY_DAEMONSET) return labProxyDaemonSet(m as DaemonSet, o) as Manifest;
    if (m.kind === 'Deployment' && m.metadata.name === DNS_DEPLOYMENT) return labDnsDeployment(m as Deployment, o) as Manifest;
    return m;
  });
}

/**
 * applyDataPlane creates the data plane's objects in order, those `which`
 * picks (an object that exists is left as it is, e.g. kube's own
 * system:coredns role).
 */
export async function applyDataPlane(client: ApiClient, o: DataPlaneOptions, which: (m: Manifest) => boolean = () => true): Promise<void> {
  for (const m of dataPlaneObjects(o).filter(which)) {
    const ref = REFS[m.kind];
    if (!ref) throw new Error(`deploy/: no resource known for kind ${m.kind}`);
    await ensureObject(client, ref, m);
  }
}

/** configuredProxyMode is the mode the kube-proxy ConfigMap sets (kube-proxy's default, iptables, when empty); undefined without the ConfigMap. */
export async function configuredProxyMode(client: ApiClient): Promise<ProxyMode | undefined> {
  let cm: ConfigMap;
  try {
    cm = await client.get<ConfigMap>(resources.configmaps, 'kube-proxy', { namespace: 'kube-system' });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const mode = (parse(cm.data?.['config.conf'] ?? '') as { mode?: string } | null)?.mode;
  return PROXY_MODES.find((m) => m === (mode || 'iptables'));
}

/** proxyPodOn finds the ferry-proxy pod bound to a node, if any. */
export async function proxyPodOn(client: ApiClient, node: string): Promise<Pod | undefined> {
  const pods = await client.list<Pod>(resources.pods, { namespace: 'kube-system', labelSelector: 'k8s-app=ferry-proxy', fieldSelector: `spec.nodeName=${node}` });
  return pods.items.find((p) => !p.metadata?.deletionTimestamp);
}

/**
 * restartProxyPod deletes the node's ferry-proxy pod and waits until the
 * DaemonSet's replacement runs (what `ferry up`'s tests did to a proxy
 * process, done the cluster's way).
 */
export async function restartProxyPod(client: ApiClient, node: string, timeoutMs = 60_000): Promise<void> {
  const old = await proxyPodOn(client, node);
  if (old) {
    await client.delete(resources.pods, old.metadata!.name!, { namespace: 'kube-system' }).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }
  const end = Date.now() + timeoutMs;
  for (;;) {
    const pod = await proxyPodOn(client, node);
    const running = pod && pod.metadata?.uid !== old?.metadata?.uid && pod.status?.containerStatuses?.[0]?.state?.running;
    if (running) return;
    if (Date.now() > end) throw new Error(`no new ferry-proxy pod running on ${node} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
