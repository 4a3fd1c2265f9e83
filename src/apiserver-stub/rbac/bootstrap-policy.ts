import type { KubeObject } from '../../kube/types.ts';
import { ApiError } from '../errors.ts';
import type { Api } from '../handlers/context.ts';
import type { PolicyRule } from './authorizer.ts';
import { nodeRules } from './node-authorizer.ts';

/**
 * Kube's bootstrap RBAC policy (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy`),
 * the part Ferry's users and components need: cluster-admin for
 * `system:masters`, discovery, basic-user and public-info for everyone, the
 * aggregated admin/edit/view roles, and the components' roles
 * (system:node-proxier for `ferry proxy` as user system:kube-proxy,
 * system:coredns as CoreDNS's manifest has it for `ferry dns`, the scheduler's
 * and the controller manager's). Created at start when absent (kube
 * reconciles them; here an edited bootstrap role is left as edited).
 */
const read = ['get', 'list', 'watch'];
const write = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const all = ['*'];
const auto = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const discoveryURLs = ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'];
const publicURLs = ['/healthz', '/livez', '/readyz', '/version', '/version/'];

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({ verbs, apiGroups, resources });
const eventRules = [rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events'])];

function clusterRole(name: string, rules: PolicyRule[], labels: Record<string, string> = {}, aggregateFrom?: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: { name, labels: { ...auto, ...labels }, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } },
    ...(aggregateFrom ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [`rbac.authorization.k8s.io/${aggregateFrom}`]: 'true' } }] } } : {}),
    rules,
  };
}

function binding(role: string, subjects: Array<{ kind: string; name: string; namespace?: string }>): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
    metadata: { name: role, labels: auto, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: subjects.map((s) => (s.kind === 'ServiceAccount' ? s : { apiGroup: 'rbac.authorization.k8s.io', ...s })),
  };
}

const viewable = ['pods', 'pods/log', 'pods/status', 'services', 'services/status', 'endpoints', 'configmaps', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'replicationcontrollers', 'replicationcontrollers/scale', 'replicationcontrollers/status', 'serviceaccounts', 'events', 'namespaces', 'namespaces/status', 'limitranges', 'resourcequotas', 'bindings'];
const workloads = ['deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status', 'daemonsets', 'daemonsets/status', 'controllerrevisions'];

export function bootstrapClusterRoles(): KubeObject[] {
  return [
    clusterRole('cluster-admin', [rule(all, ['*'], ['*']), { verbs: all, nonResourceURLs: ['*'] }], {}),
    clusterRole('system:discovery', [{ verbs: ['get'], nonResourceURLs: discoveryURLs }]),
    clusterRole('system:public-info-viewer', [{ verbs: ['get'], nonResourceURLs: publicURLs }]),
    clusterRole('system:basic-user', [rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']), rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'])]),
    clusterRole('admin', [], {}, 'aggregate-to-admin'),
    clusterRole('edit', [], { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' }, 'aggregate-to-edit'),
    clusterRole('view', [], { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' }, 'aggregate-to-view'),
    clusterRole('system:aggregate-to-admin', [rule(all, ['rbac.authorization.k8s.io'], ['roles', 'rolebindings']), rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews'])], { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' }),
    clusterRole('system:aggregate-to-edit', [
      rule(write, [''], [...viewable.filter((r) => r !== 'namespaces' && r !== 'namespaces/status' && r !== 'bindings'), 'secrets']),
      rule(write, ['apps'], workloads), rule(write, ['batch'], ['jobs', 'cronjobs']), rule(write, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
      rule(write, ['discovery.k8s.io'], ['endpointslices']), rule(read, [''], ['secrets']),
    ], { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' }),
    clusterRole('system:aggregate-to-view', [
      rule(read, [''], viewable), rule(read, ['apps'], workloads), rule(read, ['batch'], ['jobs', 'jobs/status', 'cronjobs', 'cronjobs/status']),
      rule(read, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']), rule(read, ['discovery.k8s.io'], ['endpointslices']),
    ], { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' }),
    clusterRole('system:node-proxier', [rule(['list', 'watch'], [''], ['services', 'endpoints']), rule(['get', 'list', 'watch'], [''], ['nodes']), rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']), ...eventRules]),
    // Kube makes it and binds it to no one: node agents get these rules from the Node authorizer.
    clusterRole('system:node', [...nodeRules]),
    clusterRole('system:coredns', [rule(['list', 'watch'], [''], ['endpoints', 'services', 'pods', 'namespaces']), rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices'])]),
    clusterRole('system:kube-scheduler', [
      ...eventRules, rule(['create'], ['coordination.k8s.io'], ['leases']), rule(['get', 'update'], ['coordination.k8s.io'], ['leases']),
      rule(read, [''], ['nodes', 'pods', 'namespaces', 'services', 'replicationcontrollers', 'persistentvolumeclaims', 'persistentvolumes']), rule(['delete'], [''], ['pods']),
      rule(['create'], [''], ['bindings', 'pods/binding']), rule(['patch', 'update'], [''], ['pods/status']),
      rule(read, ['apps'], ['replicasets', 'statefulsets']), rule(read, ['discovery.k8s.io'], ['endpointslices']),
    ]),
    // kube's controller manager acts through one service account per controller; Ferry's runs as one user with
    // their union: the garbage collector's and namespace controller's reach every kind they meet.
    clusterRole('system:kube-controller-manager', [
      ...eventRules, rule(['create', 'get', 'update'], ['coordination.k8s.io'], ['leases']),
      rule([...read, ...write], ['', 'apps', 'batch', 'discovery.k8s.io'], ['*']),
      rule([...read, 'delete', 'deletecollection', 'patch', 'update'], ['*'], ['*']),
    ]),
  ];
}

export function bootstrapClusterRoleBindings(): KubeObject[] {
  const group = (name: string) => ({ kind: 'Group', name });
  const user = (name: string) => ({ kind: 'User', name });
  return [
    binding('cluster-admin', [group('system:masters')]),
    binding('system:discovery', [group('system:authenticated')]),
    binding('system:basic-user', [group('system:authenticated')]),
    binding('system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
    binding('system:node-proxier', [user('system:kube-proxy')]),
    binding('system:coredns', [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }, user('system:coredns')]),
    binding('system:kube-scheduler', [user('system:kube-scheduler')]),
    binding('system:kube-controller-manager', [user('system:kube-controller-manager')]),
  ];
}

/** ensureBootstrapPolicy creates the bootstrap roles and bindings that do not exist yet. */
export async function ensureBootstrapPolicy(api: Api): Promise<void> {
  const create = async (resource: string, obj: KubeObject): Promise<void> => {
    try {
      await api.registry('rbac.authorization.k8s.io', resource).create(undefined, obj);
    } catch (error) {
      if (!(error instanceof ApiError && error.status.reason === 'AlreadyExists')) throw error;
    }
  };
  for (const role of bootstrapClusterRoles()) await create('clusterroles', role);
  for (const b of bootstrapClusterRoleBindings()) await create('clusterrolebindings', b);
}
