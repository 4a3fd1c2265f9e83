import type { KubeObject } from '../../kube/types.ts';
import { apiErrors } from '../errors.ts';
import { apiVersionOf, type ResourceDef } from '../resource.ts';
import type { Api } from './context.ts';

/** checkKind: a body naming another kind or group-version is a 400, as the decoder's. */
export function checkKind(def: ResourceDef, obj: KubeObject, kind = def.kind, apiVersion = apiVersionOf(def)): void {
  if (obj.kind !== undefined && obj.kind !== kind) throw apiErrors.badRequest(`the object provided is unrecognized (must be of type ${kind}): kind ${JSON.stringify(obj.kind)}`);
  if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) throw apiErrors.badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`);
}

/** checkNamespace: the body's namespace, when given, must be the URL's. */
export function checkNamespace(obj: KubeObject, namespace: string | undefined): void {
  const ns = obj.metadata?.namespace;
  if (namespace !== undefined && ns !== undefined && ns !== '' && ns !== namespace) {
    throw apiErrors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
}

/** requireNamespace is NamespaceLifecycle admission: creating in a missing or terminating namespace fails. */
export async function requireNamespace(api: Api, namespace: string): Promise<void> {
  const reg = api.registry('', 'namespaces');
  const kv = await api.backend.get(reg.key(undefined, namespace));
  if (!kv) throw apiErrors.notFound({ group: '', resource: 'namespaces' }, namespace);
  if ((kv.value as KubeObject).metadata?.deletionTimestamp !== undefined) {
    throw apiErrors.forbidden({ group: '', resource: 'namespaces' }, namespace, `unable to create new content in namespace ${namespace} because it is being terminated`);
  }
}

/** isDryRun reads `?dryRun=All` (the only value kube accepts); anything else is a 400. */
export function isDryRun(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  if (values.length === 0) return false;
  if (values.every((v) => v === 'All')) return true;
  throw apiErrors.badRequest(`dryRun: Unsupported value: ${JSON.stringify(values.find((v) => v !== 'All'))}: supported values: "All"`);
}
