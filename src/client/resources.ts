/**
 * ResourceRef names a kind of API object by group, version and plural
 * resource, as the REST paths do. Core resources have group ''.
 */
export interface ResourceRef {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  /** Whether objects live in namespaces (decides the path form). */
  readonly namespaced: boolean;
}

const core = (resource: string, namespaced = true): ResourceRef => ({ group: '', version: 'v1', resource, namespaced });

/** Resources the data plane and the control plane use; add others with a literal ResourceRef. */
export const resources = {
  namespaces: core('namespaces', false),
  nodes: core('nodes', false),
  pods: core('pods'),
  services: core('services'),
  endpoints: core('endpoints'),
  events: core('events'),
  configmaps: core('configmaps'),
  serviceaccounts: core('serviceaccounts'),
  secrets: core('secrets'),
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespaced: true },
  deployments: { group: 'apps', version: 'v1', resource: 'deployments', namespaced: true },
  replicasets: { group: 'apps', version: 'v1', resource: 'replicasets', namespaced: true },
  daemonsets: { group: 'apps', version: 'v1', resource: 'daemonsets', namespaced: true },
  statefulsets: { group: 'apps', version: 'v1', resource: 'statefulsets', namespaced: true },
  jobs: { group: 'batch', version: 'v1', resource: 'jobs', namespaced: true },
  cronjobs: { group: 'batch', version: 'v1', resource: 'cronjobs', namespaced: true },
} as const satisfies Record<string, ResourceRef>;

/** apiVersion of a resource as objects carry it: `v1` or `group/version`. */
export function apiVersionOf(ref: ResourceRef): string {
  return ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
}

/**
 * resourcePath builds `/api/v1/namespaces/ns/services/name/status` and its
 * grouped form. A namespaced resource without a namespace gives the
 * all-namespaces collection path.
 */
export function resourcePath(ref: ResourceRef, at: { namespace?: string | undefined; name?: string | undefined; subresource?: string | undefined } = {}): string {
  let path = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  if (ref.namespaced && at.namespace) path += `/namespaces/${encodeURIComponent(at.namespace)}`;
  path += `/${ref.resource}`;
  if (at.name !== undefined) path += `/${encodeURIComponent(at.name)}`;
  if (at.subresource !== undefined) path += `/${at.subresource}`;
  return path;
}
