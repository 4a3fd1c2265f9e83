import { apiVersionOf, type ResourceDef } from './resource.ts';

/** Discovery documents (apiserver `pkg/endpoints/discovery`), in the legacy unaggregated JSON forms client-go accepts. */
const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiVersions(): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '' }] };
}

function groupVersions(defs: readonly ResourceDef[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const d of defs) {
    if (d.group === '') continue;
    const versions = groups.get(d.group) ?? [];
    if (!versions.includes(d.version)) versions.push(d.version);
    groups.set(d.group, versions);
  }
  return groups;
}

function apiGroup(name: string, versions: string[]): unknown {
  const list = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: list, preferredVersion: list[0] };
}

/**
 * Group order of kube-apiserver's discovery (the aggregator's group
 * priorities): kubectl expands categories such as `all` in discovery order,
 * so `kubectl get all` lists kinds in kube's order only when groups come so.
 */
const groupPriority = [
  'apps', 'events.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io', 'autoscaling', 'batch', 'certificates.k8s.io', 'networking.k8s.io', 'policy',
  'rbac.authorization.k8s.io', 'storage.k8s.io', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'scheduling.k8s.io', 'coordination.k8s.io', 'node.k8s.io', 'discovery.k8s.io',
];

function rank(group: string): number {
  const i = groupPriority.indexOf(group);
  return i < 0 ? groupPriority.length : i;
}

export function apiGroupList(defs: readonly ResourceDef[]): unknown {
  const groups = [...groupVersions(defs)].sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(([name, versions]) => apiGroup(name, versions)) };
}

export function apiGroupDoc(defs: readonly ResourceDef[], group: string): unknown | undefined {
  const versions = groupVersions(defs).get(group);
  return versions ? apiGroup(group, versions) : undefined;
}

function subresourceEntries(d: ResourceDef): unknown[] {
  return d.subresources.map((sub) => {
    const base = { name: `${d.resource}/${sub}`, singularName: '', namespaced: d.namespaced };
    switch (sub) {
      case 'status':
        return { ...base, kind: d.kind, verbs: ['get', 'patch', 'update'] };
      case 'scale':
        return { ...base, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
      case 'binding':
        return { ...base, kind: 'Binding', verbs: ['create'] };
      case 'log':
        return { ...base, kind: 'Pod', verbs: ['get'] };
      case 'exec':
      case 'attach':
        return { ...base, kind: 'PodExecOptions', verbs: ['create', 'get'] };
      case 'portforward':
        return { ...base, kind: 'PodPortForwardOptions', verbs: ['create', 'get'] };
      case 'token':
        return { ...base, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
    }
  });
}

/** apiResourceList is the APIResourceList of one group-version, or undefined when it is not served. */
export function apiResourceList(defs: readonly ResourceDef[], group: string, version: string): unknown | undefined {
  // Resources by name, as kube-apiserver lists them (each followed by its subresources).
  const matching = defs.filter((d) => d.group === group && d.version === version).sort((a, b) => a.resource.localeCompare(b.resource));
  if (matching.length === 0) return undefined;
  const resources = matching.flatMap((d) => [
    {
      name: d.resource,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.createOnly ? ['create'] : d.noDeleteCollection ? allVerbs.filter((v) => v !== 'deletecollection') : allVerbs,
      ...(d.shortNames.length > 0 ? { shortNames: d.shortNames } : {}),
      ...(d.categories ? { categories: d.categories } : {}),
    },
    ...subresourceEntries(d),
  ]);
  if (group === '') resources.push({ name: 'bindings', singularName: 'binding', namespaced: true, kind: 'Binding', verbs: ['create'] });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}

export function versionInfo(): unknown {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-ferry',
    gitCommit: 'ferry',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsx',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}
