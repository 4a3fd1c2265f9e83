import type { KubeObject } from '../../kube/types.ts';
import { ApiError, apiErrors } from '../errors.ts';
import { compilePredicate, parseListOptions } from '../list-options.ts';
import { readBody, parseJsonObject, sendJson } from '../request.ts';
import type { Registry } from '../registry.ts';
import { createLogger } from '../../util/log.ts';
import type { Api, Ctx } from './context.ts';
import { isDryRun } from './admission.ts';

const log = createLogger('apiserver');

interface DeleteOptions {
  propagationPolicy?: string;
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
}

const protectedNamespaces = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

async function deleteOptions(ctx: Ctx): Promise<DeleteOptions> {
  const body = await readBody(ctx.req);
  const opts: DeleteOptions = body.length > 0 ? (await parseJsonObject(body, ctx.req.headers['content-type']) as DeleteOptions) : {};
  const policy = ctx.query.get('propagationPolicy');
  if (policy !== null) opts.propagationPolicy = policy;
  if (opts.propagationPolicy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy)) {
    throw apiErrors.unprocessable(`DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`);
  }
  if (opts.preconditions !== undefined && (typeof opts.preconditions !== 'object' || opts.preconditions === null)) throw apiErrors.badRequest('preconditions must be an object');
  const grace = ctx.query.get('gracePeriodSeconds');
  if (grace !== null) {
    if (!/^-?\d+$/.test(grace)) throw apiErrors.badRequest(`invalid gracePeriodSeconds "${grace}"`);
    opts.gracePeriodSeconds = Number(grace);
  }
  if (opts.gracePeriodSeconds !== undefined && !Number.isInteger(opts.gracePeriodSeconds)) throw apiErrors.badRequest('gracePeriodSeconds must be an integer');
  return opts;
}

// The garbage collector's finalizers (controllers/garbage-collector-plan.ts).
const FINALIZER_ORPHAN = 'orphan';
const FINALIZER_FOREGROUND = 'foregroundDeletion';

/**
 * propagationFinalizer is the finalizer the garbage collector acts on:
 * orphan (dependents lose their reference) or foregroundDeletion (dependents
 * go first). Background needs none: the collector deletes dependents whose
 * owners are gone.
 */
function propagationFinalizer(opts: DeleteOptions, orphanByDefault: boolean): { finalizer?: string } {
  if (opts.propagationPolicy === 'Orphan' || (opts.propagationPolicy === undefined && opts.orphanDependents === true) || orphanByDefault) return { finalizer: FINALIZER_ORPHAN };
  if (opts.propagationPolicy === 'Foreground') return { finalizer: FINALIZER_FOREGROUND };
  return {};
}

/** orphansByDefault: the request names no policy and the kind orphans then (Jobs); the client gets kube's warning. */
function orphansByDefault(ctx: Ctx, opts: DeleteOptions): boolean {
  if (ctx.def.orphanByDefault === undefined || opts.propagationPolicy !== undefined || opts.orphanDependents !== undefined) return false;
  ctx.res.setHeader('Warning', `299 - ${JSON.stringify(ctx.def.orphanByDefault)}`);
  return true;
}

/**
 * handleDelete answers DELETE of one object: 200 with a Success Status (pods:
 * the deleted object, as their registry's ReturnDeletedObject), or 200 with
 * the object marked for deletion while finalizers remain (propagationPolicy
 * Orphan and Foreground add the garbage collector's finalizer).
 */
export async function handleDelete(ctx: Ctx): Promise<void> {
  const opts = await deleteOptions(ctx);
  const name = ctx.name!;
  const dryRun = isDryRun(ctx.query);
  if (ctx.def.resource === 'namespaces' && protectedNamespaces.has(name)) {
    throw apiErrors.forbidden({ group: '', resource: 'namespaces' }, name, 'this namespace may not be deleted');
  }
  const { object, deleted } = await ctx.registry.delete(ctx.namespace, name, { ...(opts.preconditions ? { preconditions: opts.preconditions } : {}), ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}), ...propagationFinalizer(opts, orphansByDefault(ctx, opts)), dryRun });
  if (deleted) afterDelete(ctx.api, ctx.registry, object);
  if (!deleted || dryRun || ctx.def.resource === 'pods') return sendJson(ctx.res, 200, object);
  sendJson(ctx.res, 200, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, group: ctx.def.group, kind: ctx.def.resource, uid: object.metadata?.uid },
  });
}

/** handleDeleteCollection deletes every object matching the selectors. */
export async function handleDeleteCollection(ctx: Ctx): Promise<void> {
  const opts = await deleteOptions(ctx);
  const dryRun = isDryRun(ctx.query);
  const predicate = compilePredicate(ctx.def, parseListOptions(ctx.query));
  const policy = propagationFinalizer(opts, orphansByDefault(ctx, opts));
  const list = await ctx.registry.store.list(ctx.registry.prefix(ctx.namespace));
  const items: KubeObject[] = [];
  for (const kv of list.items) {
    const obj = ctx.registry.toObject(kv);
    if (!predicate(obj)) continue;
    try {
      const { object, deleted } = await ctx.registry.delete(obj.metadata?.namespace, obj.metadata!.name!, { ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}), ...policy, dryRun });
      if (deleted) afterDelete(ctx.api, ctx.registry, object);
      items.push(object);
    } catch (error) {
      if (!(error instanceof ApiError && error.httpCode === 404)) throw error;
    }
  }
  sendJson(ctx.res, 200, { kind: `${ctx.def.kind}List`, apiVersion: ctx.def.group === '' ? 'v1' : `${ctx.def.group}/${ctx.def.version}`, metadata: {}, items });
}

/**
 * afterDelete removes a deleted namespace's contents. Dependents by
 * ownerReferences are the garbage collector's (controller manager), as in kube.
 */
function afterDelete(api: Api, registry: Registry, object: KubeObject): void {
  if (registry.def.resource !== 'namespaces') return;
  purgeNamespace(api, object.metadata!.name!, Number(object.metadata?.resourceVersion ?? 0)).catch((error: unknown) => log.error('Cleaning up after a delete failed', { name: object.metadata?.name, error }));
}

/**
 * purgeNamespace deletes what a deleted namespace held. The namespace may be
 * created again while this runs: what was written after the deletion (at a
 * later revision) into a namespace that exists again is the new namespace's
 * and stays. Each object is deleted at the revision it was listed at, so one
 * written meanwhile is looked at again rather than deleted unseen.
 */
async function purgeNamespace(api: Api, namespace: string, deletedAt: number): Promise<void> {
  const namespaces = api.registry('', 'namespaces');
  const recreated = async (): Promise<boolean> => (await api.backend.get(namespaces.key(undefined, namespace))) !== undefined;
  for (const reg of api.registries) {
    if (!reg.def.namespaced) continue;
    const list = await api.backend.list(reg.prefix(namespace));
    for (let kv of list.items) {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (kv.revision > deletedAt && (await recreated())) break;
        try {
          await api.backend.delete(kv.key, kv.revision);
          break;
        } catch {
          const current = await api.backend.get(kv.key);
          if (!current) break;
          kv = current;
        }
      }
    }
  }
}
