import type { KubeObject } from '../kube/types.ts';
import { ApiError } from './errors.ts';
import type { Api } from './handlers/context.ts';

/**
 * bootstrap creates what kube-apiserver's controllers keep in place: the
 * default, kube-system, kube-public and kube-node-lease namespaces, and `default/kubernetes`
 * on the range's first address (labels provider=kubernetes,
 * component=apiserver, port https 443). With an advertise address it also
 * writes that Service's Endpoints and EndpointSlice pointing at it.
 */
export async function bootstrap(api: Api, firstIP: string, advertise?: { address: string; port: number }): Promise<void> {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    await ensure(api, '', 'namespaces', undefined, { metadata: { name } });
  }
  await ensure(api, '', 'services', 'default', {
    metadata: { name: 'kubernetes', labels: { provider: 'kubernetes', component: 'apiserver' } },
    spec: { type: 'ClusterIP', clusterIP: firstIP, clusterIPs: [firstIP], sessionAffinity: 'None', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: advertise?.port ?? 6443 }] },
  });
  if (!advertise) return;
  await ensure(api, '', 'endpoints', 'default', {
    metadata: { name: 'kubernetes', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: advertise.address }], ports: [{ name: 'https', port: advertise.port, protocol: 'TCP' }] }],
  });
  await ensure(api, 'discovery.k8s.io', 'endpointslices', 'default', {
    metadata: { name: 'kubernetes', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [advertise.address], conditions: { ready: true } }],
    ports: [{ name: 'https', port: advertise.port, protocol: 'TCP' }],
  });
}

async function ensure(api: Api, group: string, resource: string, namespace: string | undefined, obj: KubeObject): Promise<void> {
  try {
    await api.registry(group, resource).create(namespace, obj);
  } catch (error) {
    if (!(error instanceof ApiError && error.status.reason === 'AlreadyExists')) throw error;
  }
}
