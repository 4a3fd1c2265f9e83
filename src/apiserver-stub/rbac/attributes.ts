import { ApiError } from '../errors.ts';
import type { UserInfo } from '../handlers/reviews.ts';
import type { Route } from '../router.ts';

/**
 * Authorization attributes of a request (apiserver `authorizer.Attributes`,
 * from `RequestInfoFactory`): a resource request's verb, group, resource,
 * subresource, namespace and name, or a non-resource path and verb.
 */
export type Attributes =
  | { kind: 'resource'; verb: string; group: string; resource: string; subresource: string; namespace: string; name: string }
  | { kind: 'path'; verb: string; path: string };

/** verbOf maps an HTTP request to kube's verb: GET is get/list/watch, DELETE of a collection is deletecollection. */
function verbOf(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

const streamSubresources = new Set(['exec', 'attach', 'portforward']);

/**
 * singleName: a list or watch of one object by `metadata.name=<name>` is
 * about that name, as kube's RequestInfoFactory has it (a kubelet watches
 * each Secret and ConfigMap its pods use that way).
 */
function singleName(fieldSelector: string | null): string {
  const m = /^\s*metadata\.name\s*==?\s*([^,=!\s]+)\s*$/.exec(fieldSelector ?? '');
  return m?.[1] ?? '';
}

export function attributesOf(method: string, pathname: string, query: URLSearchParams, r: Route): Attributes {
  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  if (r.kind === 'resource') {
    // Streams are `create` whatever the method (kube 1.32 also for a WebSocket GET).
    const verb = streamSubresources.has(r.subresource ?? '') ? 'create' : verbOf(method, r.name !== undefined, watch);
    const name = r.name ?? (verb === 'list' || verb === 'watch' ? singleName(query.get('fieldSelector')) : '');
    return { kind: 'resource', verb, group: r.def.group, resource: r.def.resource, subresource: r.subresource ?? '', namespace: r.namespace ?? '', name };
  }
  if (r.kind === 'bindings') return { kind: 'resource', verb: verbOf(method, false, false), group: '', resource: 'bindings', subresource: '', namespace: r.namespace, name: '' };
  return { kind: 'path', verb: method === 'HEAD' ? 'get' : method.toLowerCase(), path: pathname };
}

/** forbidden is kube's 403 Status for a denied request, worded as `responsewriters.forbiddenMessage`. */
export function forbidden(user: UserInfo, a: Attributes, reason: string): ApiError {
  const who = `User ${JSON.stringify(user.username)}`;
  const why = reason === '' ? '' : `: ${reason}`;
  if (a.kind === 'path') return new ApiError(403, 'Forbidden', `forbidden: ${who} cannot ${a.verb} path ${JSON.stringify(a.path)}${why}`, {});
  const resource = a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`;
  const scope = a.namespace === '' ? 'at the cluster scope' : `in the namespace ${JSON.stringify(a.namespace)}`;
  const qualified = a.group === '' ? a.resource : `${a.resource}.${a.group}`;
  const subject = a.name === '' ? qualified : `${qualified} ${JSON.stringify(a.name)}`;
  return new ApiError(403, 'Forbidden', `${subject} is forbidden: ${who} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.group)} ${scope}${why}`, {
    ...(a.name === '' ? {} : { name: a.name }),
    group: a.group,
    kind: a.resource,
  });
}
