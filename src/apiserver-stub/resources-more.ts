import type { KubeObject } from '../kube/types.ts';
import type { ResourceDef } from './resource.ts';
import { cronJobStrategy } from './strategies/cronjob.ts';
import { daemonSetStrategy } from './strategies/daemonset.ts';
import { ingressClassStrategy, ingressStrategy } from './strategies/ingress.ts';
import { jobStrategy } from './strategies/job.ts';
import { networkPolicyStrategy } from './strategies/network-policy.ts';
import { clusterRoleBindingStrategy, clusterRoleStrategy, roleBindingStrategy, roleStrategy } from './strategies/rbac.ts';
import { replicationControllerStrategy } from './strategies/replication-controller.ts';
import { crdStrategy } from './crd/crd-strategy.ts';
import { secretStrategy } from './strategies/secret.ts';
import { serviceAccountStrategy } from './strategies/service-account.ts';
import { statefulSetStrategy } from './strategies/statefulset.ts';
import { persistentVolumeClaimStrategy } from './strategies/volume-claim.ts';
import { persistentVolumeStrategy } from './strategies/volume.ts';

/**
 * The kinds everyday manifests and charts hold beyond the data plane's own
 * (issue 17): their names, short names and categories as kube-apiserver's
 * discovery gives them, so `kubectl get all`, `kubectl apply --prune`'s
 * default allow-list and helm find them.
 */
function read(obj: KubeObject, ...keys: string[]): string | undefined {
  let v: unknown = obj;
  for (const k of keys) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v === undefined || v === null ? undefined : String(v);
}

const core = { group: '', version: 'v1' };
const apps = { group: 'apps', version: 'v1' };
const batch = { group: 'batch', version: 'v1' };
const networking = { group: 'networking.k8s.io', version: 'v1' };
const rbac = { group: 'rbac.authorization.k8s.io', version: 'v1' };
const plain = { nameFormat: 'subdomain', subresources: [], statusSubresource: false } as const;
const withStatus = { nameFormat: 'subdomain', subresources: ['status'], statusSubresource: true } as const;
const scalable = { nameFormat: 'subdomain', subresources: ['status', 'scale'], statusSubresource: true } as const;
const all = ['all'];
/** kube-apiserver's warning on deleting a Job without a propagation policy (its pods stay). */
const jobDeleteWarning = 'child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning';
/** The self reviews `kubectl auth` asks (handlers/reviews.ts): create-only, cluster-scoped, stored nowhere. */
const review = { ...plain, namespaced: false, shortNames: [], createOnly: true, strategy: {} } as const;

export function moreResourceDefs(): ResourceDef[] {
  return [
    { ...core, ...plain, resource: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, shortNames: [], strategy: secretStrategy, fields: { type: (o) => read(o, 'type') } },
    { ...core, ...plain, subresources: ['token'], resource: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'], strategy: serviceAccountStrategy },
    { ...core, ...withStatus, resource: 'persistentvolumeclaims', singular: 'persistentvolumeclaim', kind: 'PersistentVolumeClaim', namespaced: true, shortNames: ['pvc'], strategy: persistentVolumeClaimStrategy },
    { ...core, ...withStatus, resource: 'persistentvolumes', singular: 'persistentvolume', kind: 'PersistentVolume', namespaced: false, shortNames: ['pv'], strategy: persistentVolumeStrategy },
    { ...core, ...scalable, resource: 'replicationcontrollers', singular: 'replicationcontroller', kind: 'ReplicationController', namespaced: true, shortNames: ['rc'], categories: all, strategy: replicationControllerStrategy, fields: { 'status.replicas': (o) => read(o, 'status', 'replicas') } },
    { ...apps, ...scalable, resource: 'statefulsets', singular: 'statefulset', kind: 'StatefulSet', namespaced: true, shortNames: ['sts'], categories: all, strategy: statefulSetStrategy },
    { ...apps, ...withStatus, resource: 'daemonsets', singular: 'daemonset', kind: 'DaemonSet', namespaced: true, shortNames: ['ds'], categories: all, strategy: daemonSetStrategy },
    { ...batch, ...withStatus, resource: 'jobs', singular: 'job', kind: 'Job', namespaced: true, shortNames: [], categories: all, strategy: jobStrategy, orphanByDefault: jobDeleteWarning, fields: { 'status.successful': (o) => read(o, 'status', 'succeeded') ?? '0' } },
    { ...batch, ...withStatus, resource: 'cronjobs', singular: 'cronjob', kind: 'CronJob', namespaced: true, shortNames: ['cj'], categories: all, strategy: cronJobStrategy },
    { ...networking, ...withStatus, resource: 'ingresses', singular: 'ingress', kind: 'Ingress', namespaced: true, shortNames: ['ing'], strategy: ingressStrategy },
    { ...networking, ...plain, resource: 'ingressclasses', singular: 'ingressclass', kind: 'IngressClass', namespaced: false, shortNames: [], strategy: ingressClassStrategy },
    { ...networking, ...plain, resource: 'networkpolicies', singular: 'networkpolicy', kind: 'NetworkPolicy', namespaced: true, shortNames: ['netpol'], strategy: networkPolicyStrategy },
    { ...rbac, ...plain, nameFormat: 'path', resource: 'clusterrolebindings', singular: 'clusterrolebinding', kind: 'ClusterRoleBinding', namespaced: false, shortNames: [], strategy: clusterRoleBindingStrategy },
    { ...rbac, ...plain, nameFormat: 'path', resource: 'clusterroles', singular: 'clusterrole', kind: 'ClusterRole', namespaced: false, shortNames: [], strategy: clusterRoleStrategy },
    { ...rbac, ...plain, nameFormat: 'path', resource: 'rolebindings', singular: 'rolebinding', kind: 'RoleBinding', namespaced: true, shortNames: [], strategy: roleBindingStrategy },
    { group: 'authentication.k8s.io', version: 'v1', ...review, resource: 'selfsubjectreviews', singular: 'selfsubjectreview', kind: 'SelfSubjectReview' },
    { group: 'authorization.k8s.io', version: 'v1', ...review, resource: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview', kind: 'SelfSubjectAccessReview' },
    { group: 'authorization.k8s.io', version: 'v1', ...review, resource: 'selfsubjectrulesreviews', singular: 'selfsubjectrulesreview', kind: 'SelfSubjectRulesReview' },
    { group: 'apiextensions.k8s.io', version: 'v1', ...withStatus, resource: 'customresourcedefinitions', singular: 'customresourcedefinition', kind: 'CustomResourceDefinition', namespaced: false, shortNames: ['crd', 'crds'], categories: ['api-extensions'], strategy: crdStrategy },
    { ...rbac, ...plain, nameFormat: 'path', resource: 'roles', singular: 'role', kind: 'Role', namespaced: true, shortNames: [], strategy: roleStrategy },
  ];
}
