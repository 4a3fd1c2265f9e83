import type { ResourceDef } from './resource.ts';

/**
 * Route is what a request path names (apiserver `RequestInfoFactory`): a
 * discovery document, a health check, or a resource request with its
 * group/version, namespace, resource, name and subresource.
 */
export type Route =
  | { kind: 'discovery'; doc: 'api' | 'apis' | 'group' | 'resources'; group: string; version: string }
  | { kind: 'version' }
  | { kind: 'health'; check: string }
  | { kind: 'resource'; def: ResourceDef; namespace?: string; name?: string; subresource?: string }
  | { kind: 'bindings'; namespace: string }
  | { kind: 'unknown' };

export function route(pathname: string, lookup: (group: string, version: string, resource: string) => ResourceDef | undefined, served: (group: string, version: string) => boolean): Route {
  let segs: string[];
  try {
    segs = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    return { kind: 'unknown' };
  }
  if (segs.length === 1 && (segs[0] === 'healthz' || segs[0] === 'livez' || segs[0] === 'readyz')) return { kind: 'health', check: segs[0] };
  if (segs.length >= 2 && (segs[0] === 'healthz' || segs[0] === 'livez' || segs[0] === 'readyz')) return { kind: 'health', check: segs.join('/') };
  if (segs.length === 1 && segs[0] === 'version') return { kind: 'version' };
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length === 1) return { kind: 'discovery', doc: 'api', group: '', version: '' };
    group = '';
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length === 1) return { kind: 'discovery', doc: 'apis', group: '', version: '' };
    if (segs.length === 2) return { kind: 'discovery', doc: 'group', group: segs[1]!, version: '' };
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return { kind: 'unknown' };
  if (!served(group, version)) return { kind: 'unknown' };
  if (rest.length === 0) return { kind: 'discovery', doc: 'resources', group, version };
  return resourceRoute(group, version, rest, lookup);
}

function resourceRoute(group: string, version: string, rest: string[], lookup: (group: string, version: string, resource: string) => ResourceDef | undefined): Route {
  let namespace: string | undefined;
  // namespaces/{ns}/{resource}/... names a namespaced resource; namespaces/{name}[/status] the namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    namespace = rest[1];
    rest = rest.slice(2);
    if (group === '' && rest[0] === 'bindings' && rest.length === 1) return { kind: 'bindings', namespace: namespace! };
  }
  const def = lookup(group, version, rest[0]!);
  if (!def || rest.length > 3) return { kind: 'unknown' };
  if (def.namespaced === false && namespace !== undefined) return { kind: 'unknown' };
  const r: Route = { kind: 'resource', def };
  if (namespace !== undefined) r.namespace = namespace;
  if (rest[1] !== undefined) r.name = rest[1];
  if (rest[2] !== undefined) {
    if (!def.subresources.includes(rest[2] as never)) return { kind: 'unknown' };
    r.subresource = rest[2];
  }
  return r;
}
