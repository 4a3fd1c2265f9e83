import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Namespace, Node, Service } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../../client/api-client.ts';
import { ApiError } from '../../client/errors.ts';
import { resources, type ResourceRef } from '../../client/resources.ts';
import { AGNHOST_IMAGE } from '../image.ts';
import { CLUSTER_DNS_IP, CLUSTER_DOMAIN } from './plan.ts';
import { repoPath } from '../../util/repo.ts';

/**
 * The lab's add-ons, as objects in the API: cluster DNS the way kubeadm
 * deploys CoreDNS (Deployment `kube-system/coredns` behind Service
 * `kube-dns` at 10.96.0.10), and the `--demo` application.
 */

const FERRY_BIN = repoPath('bin', 'ferry');

export function dnsObjects(socket: string): { deployment: Deployment; service: Service } {
  const labels = { 'k8s-app': 'kube-dns' };
  const deployment: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'coredns', namespace: 'kube-system', labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          // The node agent runs a non-agnhost image's command as a host program: our DNS server.
          dnsPolicy: 'Default',
          containers: [{
            name: 'coredns',
            image: 'ferry/dns',
            command: [FERRY_BIN, 'dns', '--server', `unix://${socket}`, '--listen', '0.0.0.0:53', '--cluster-domain', CLUSTER_DOMAIN,
              '--metrics-bind-address', '0.0.0.0:9153', '--health-bind-address', ':8080', '--ready-bind-address', ':8181'],
            ports: [
              { name: 'dns', containerPort: 53, protocol: 'UDP' },
              { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
              { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
            ],
            readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 1 },
            livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10, failureThreshold: 5 },
          }],
        },
      },
    },
  };
  const service: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { ...labels, 'kubernetes.io/name': 'CoreDNS' } },
    spec: {
      selector: labels,
      clusterIP: CLUSTER_DNS_IP,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
    },
  };
  return { deployment, service };
}

export const DEMO_NAME = 'web';

export function demoObjects(): { deployment: Deployment; service: Service } {
  const labels = { app: DEMO_NAME };
  return {
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: DEMO_NAME, namespace: 'default', labels },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'netexec', image: AGNHOST_IMAGE, args: ['netexec', '--http-port=8080', '--udp-port=8081'], ports: [{ containerPort: 8080 }] }] },
        },
      },
    },
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: DEMO_NAME, namespace: 'default' },
      spec: { type: 'NodePort', selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
    },
  };
}

/** ensureObject creates an object, leaving one that already exists (a lab restarted on its old store) as it is. */
export async function ensureObject<T extends { metadata?: { name?: string; namespace?: string } }>(client: ApiClient, ref: ResourceRef, obj: T): Promise<T> {
  try {
    return await client.create(ref, obj as never, { namespace: obj.metadata?.namespace });
  } catch (error) {
    if (error instanceof ApiError && error.statusCode === 409) return client.get(ref, obj.metadata?.name ?? '', { namespace: obj.metadata?.namespace });
    throw error;
  }
}

export async function ensureNamespace(client: ApiClient, name: string): Promise<void> {
  const ns: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
  await ensureObject(client, resources.namespaces, ns);
}

/**
 * waitForNodes waits until `count` nodes are registered, so the first
 * Deployments spread over all nodes instead of landing on the first to join.
 */
export async function waitForNodes(client: ApiClient, count: number, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  // Ready, not just created: a Node without its status has no allocatable yet, and the scheduler
  // would put every pod on the first node whose status arrived.
  const ready = (n: Node) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  while ((await client.list<Node>(resources.nodes)).items.filter(ready).length < count) {
    if (Date.now() > end) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}
