import type { KubeObject } from '../kube/types.ts';
import type { ResourceDef, Strategy } from './resource.ts';
import { configMapStrategy, endpointSliceStrategy, endpointsStrategy, eventStrategy, namespaceStrategy, nodeStrategy, plainStrategy } from './strategies/basic.ts';
import { deploymentStrategy, podStrategy, replicaSetStrategy } from './strategies/workloads.ts';
import { moreResourceDefs } from './resources-more.ts';
import { eventsV1Def } from './events-v1.ts';

/** The resources Ferry serves, in discovery order; the Service strategy is passed in since it holds the allocators. */
type Obj = Record<string, unknown>;

function path(obj: KubeObject, ...keys: string[]): string | undefined {
  let v: unknown = obj;
  for (const k of keys) v = typeof v === 'object' && v !== null ? (v as Obj)[k] : undefined;
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : String(v);
}

const involved = Object.fromEntries(
  ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((k) => [`involvedObject.${k}`, (o: KubeObject) => path(o, 'involvedObject', k)]),
);

export function resourceDefs(serviceStrategy: Strategy): ResourceDef[] {
  const core = { group: '', version: 'v1' };
  return [
    { ...core, resource: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, nameFormat: 'label', shortNames: ['ns'], subresources: ['status'], statusSubresource: true, noDeleteCollection: true, strategy: namespaceStrategy, fields: { 'status.phase': (o) => path(o, 'status', 'phase') } },
    { ...core, resource: 'nodes', singular: 'node', kind: 'Node', namespaced: false, nameFormat: 'subdomain', shortNames: ['no'], subresources: ['status'], statusSubresource: true, strategy: nodeStrategy, fields: { 'spec.unschedulable': (o) => path(o, 'spec', 'unschedulable') ?? 'false' } },
    {
      ...core, resource: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, nameFormat: 'subdomain', shortNames: ['po'], categories: ['all'], subresources: ['status', 'binding', 'log', 'exec', 'attach', 'portforward'], statusSubresource: true, strategy: podStrategy,
      fields: {
        'spec.nodeName': (o) => path(o, 'spec', 'nodeName'),
        'spec.schedulerName': (o) => path(o, 'spec', 'schedulerName'),
        'spec.restartPolicy': (o) => path(o, 'spec', 'restartPolicy'),
        'spec.serviceAccountName': (o) => path(o, 'spec', 'serviceAccountName'),
        'status.phase': (o) => path(o, 'status', 'phase'),
        'status.podIP': (o) => path(o, 'status', 'podIP'),
        'status.nominatedNodeName': (o) => path(o, 'status', 'nominatedNodeName'),
      },
    },
    { ...core, resource: 'services', singular: 'service', kind: 'Service', namespaced: true, nameFormat: 'dns1035', shortNames: ['svc'], categories: ['all'], subresources: ['status'], statusSubresource: true, strategy: serviceStrategy, fields: { 'spec.clusterIP': (o) => path(o, 'spec', 'clusterIP'), 'spec.type': (o) => path(o, 'spec', 'type') } },
    { ...core, resource: 'endpoints', singular: 'endpoints', kind: 'Endpoints', namespaced: true, nameFormat: 'subdomain', shortNames: ['ep'], subresources: [], statusSubresource: false, allowCreateOnUpdate: true, strategy: endpointsStrategy },
    {
      ...core, resource: 'events', singular: 'event', kind: 'Event', namespaced: true, nameFormat: 'subdomain', shortNames: ['ev'], subresources: [], statusSubresource: false, allowCreateOnUpdate: true, strategy: eventStrategy,
      fields: { ...involved, reason: (o) => path(o, 'reason'), type: (o) => path(o, 'type'), source: (o) => path(o, 'source', 'component'), reportingComponent: (o) => path(o, 'reportingComponent') },
    },
    { ...core, resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, nameFormat: 'subdomain', shortNames: ['cm'], subresources: [], statusSubresource: false, strategy: configMapStrategy },
    { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', namespaced: true, nameFormat: 'subdomain', shortNames: [], subresources: [], statusSubresource: false, strategy: endpointSliceStrategy, fields: { addressType: (o) => path(o, 'addressType') } },
    { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', singular: 'lease', kind: 'Lease', namespaced: true, nameFormat: 'subdomain', shortNames: [], subresources: [], statusSubresource: false, strategy: plainStrategy },
    { group: 'apps', version: 'v1', resource: 'deployments', singular: 'deployment', kind: 'Deployment', namespaced: true, nameFormat: 'subdomain', shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'], statusSubresource: true, strategy: deploymentStrategy },
    { group: 'apps', version: 'v1', resource: 'replicasets', singular: 'replicaset', kind: 'ReplicaSet', namespaced: true, nameFormat: 'subdomain', shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'], statusSubresource: true, strategy: replicaSetStrategy, fields: { 'status.replicas': (o) => path(o, 'status', 'replicas') } },
    ...moreResourceDefs(),
    eventsV1Def(),
  ];
}
