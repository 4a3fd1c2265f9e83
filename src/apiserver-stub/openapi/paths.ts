import { apiVersionOf, type ResourceDef } from '../resource.ts';
import { definitionName } from './definitions.ts';

/**
 * The path items of each served resource, in swagger 2.0 form: the verbs,
 * their query parameters (`fieldValidation`, `dryRun`, `fieldManager` on
 * writes, which clients look for to know the server validates fields),
 * `x-kubernetes-action` and `x-kubernetes-group-version-kind`.
 */
export type PathItem = Record<string, unknown>;

type Param = { name: string; description: string; type: string };

const fieldValidation: Param = {
  name: 'fieldValidation',
  type: 'string',
  description:
    'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.',
};
const dryRun: Param = { name: 'dryRun', type: 'string', description: 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed' };
const fieldManager: Param = { name: 'fieldManager', type: 'string', description: 'fieldManager is a name associated with the actor or entity that is making these changes.' };
const force: Param = { name: 'force', type: 'boolean', description: 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people.' };
const watch: Param = { name: 'watch', type: 'boolean', description: 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.' };
const query = (p: Param): Record<string, unknown> => ({ ...p, in: 'query', uniqueItems: true });

const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];
const produces = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

function operation(def: ResourceDef, action: string, verb: string, params: Param[], response: string, body?: string): Record<string, unknown> {
  const op: Record<string, unknown> = {
    operationId: `${verb}${def.kind}`,
    description: `${verb} ${def.kind}`,
    consumes: action === 'patch' ? patchTypes : ['*/*'],
    produces,
    parameters: [...(body ? [{ name: 'body', in: 'body', required: true, schema: { $ref: `#/definitions/${body}` } }] : []), ...params.map(query)],
    responses: { '200': { description: 'OK', schema: { $ref: `#/definitions/${response}` } }, '401': { description: 'Unauthorized' } },
    tags: [apiVersionOf(def).replace(/[./]/g, '_')],
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: def.group, kind: def.kind, version: def.version },
  };
  return op;
}

function pathParams(names: string[]): Record<string, unknown>[] {
  return names.map((name) => ({ name, in: 'path', required: true, type: 'string', uniqueItems: true, description: `${name} of the object` }));
}

/** resourcePaths gives the collection and item paths of one resource. */
export function resourcePaths(def: ResourceDef): Record<string, PathItem> {
  const base = def.group === '' ? `/api/${def.version}` : `/apis/${def.group}/${def.version}`;
  const prefix = def.namespaced ? `${base}/namespaces/{namespace}/${def.resource}` : `${base}/${def.resource}`;
  const scope = def.namespaced ? ['namespace'] : [];
  const obj = definitionName(def);
  const list = definitionName({ ...def, kind: `${def.kind}List` });
  const status = 'io.k8s.apimachinery.pkg.apis.meta.v1.Status';
  const writes = [dryRun, fieldManager, fieldValidation];
  // Reviews are only ever created (kube publishes POST alone for them).
  if (def.createOnly) return { [prefix]: { post: operation(def, 'post', 'create', writes, obj, obj), parameters: pathParams(scope) } };
  const paths: Record<string, PathItem> = {
    [prefix]: {
      get: operation(def, 'list', 'list', [watch], list),
      post: operation(def, 'post', 'create', writes, obj, obj),
      delete: operation(def, 'deletecollection', 'deletecollection', [dryRun], status),
      parameters: pathParams(scope),
    },
    [`${prefix}/{name}`]: {
      get: operation(def, 'get', 'read', [], obj),
      put: operation(def, 'put', 'replace', writes, obj, obj),
      patch: operation(def, 'patch', 'patch', [...writes, force], obj, 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch'),
      delete: operation(def, 'delete', 'delete', [dryRun], status),
      parameters: pathParams([...scope, 'name']),
    },
  };
  if (def.subresources.includes('status')) {
    paths[`${prefix}/{name}/status`] = {
      get: operation(def, 'get', 'readStatus', [], obj),
      put: operation(def, 'put', 'replaceStatus', writes, obj, obj),
      patch: operation(def, 'patch', 'patchStatus', [...writes, force], obj, 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch'),
      parameters: pathParams([...scope, 'name']),
    };
  }
  return paths;
}
