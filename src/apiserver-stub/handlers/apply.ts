import type { KubeObject } from '../../kube/types.ts';
import { ApiError, apiErrors } from '../errors.ts';
import { enforce, fieldValidationOf, problemsOf } from '../field-validation.ts';
import { queryBool } from '../list-options.ts';
import { applyConfig } from '../managed-fields/apply.ts';
import { readBody, sendJsonText } from '../request.ts';
import { decodeYaml } from '../yaml-body.ts';
import { checkKind, checkNamespace, isDryRun, requireNamespace } from './admission.ts';
import type { Ctx } from './context.ts';

/** parseApplyBody reads an apply configuration: YAML (JSON is YAML too), one object, decoded off the main thread. */
async function parseApplyBody(body: Buffer): Promise<KubeObject> {
  if (body.length === 0) throw apiErrors.badRequest('the request body is empty');
  const value = await decodeYaml(body.toString('utf8'), 'error decoding YAML');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw apiErrors.badRequest('the apply configuration must be an object');
  return value as KubeObject;
}

/**
 * handleApply answers PATCH with `application/apply-patch+yaml`: applies the
 * configuration to the live object (200) or creates it (201), as kube-apiserver;
 * on `/status` it applies the status of an object that exists.
 */
export async function handleApply(ctx: Ctx): Promise<void> {
  const manager = ctx.query.get('fieldManager') ?? '';
  if (manager === '') throw apiErrors.unprocessable('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
  if (ctx.subresource !== undefined && ctx.subresource !== 'status') throw apiErrors.methodNotAllowed('PATCH (apply)', `${ctx.def.resource}/${ctx.subresource}`);
  const subresource = ctx.subresource === 'status' ? 'status' : undefined;
  const force = queryBool(ctx.query.get('force'));
  const directive = fieldValidationOf(ctx.query);
  const config = await parseApplyBody(await readBody(ctx.req));
  checkKind(ctx.def, config);
  checkNamespace(config, ctx.namespace);
  const name = ctx.name!;
  if (config.metadata?.name !== undefined && config.metadata.name !== name) throw apiErrors.badRequest(`the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`);
  if (directive !== 'Ignore') enforce(directive, ctx.def, problemsOf(ctx.def, config, undefined), ctx.res, 'patch');
  const dryRun = isDryRun(ctx.query);
  try {
    const updated = await ctx.registry.mutate(ctx.namespace, name, (live) => applyConfig(ctx.def, live, config, manager, force, subresource), subresource, dryRun);
    return sendJsonText(ctx.res, 200, ctx.registry.jsonOf(updated));
  } catch (error) {
    // As kube's status store: an apply to the status of an object that does not exist is a 404, not a create.
    if (!(error instanceof ApiError) || error.status.reason !== 'NotFound' || subresource !== undefined) throw error;
  }
  if (ctx.namespace !== undefined) await requireNamespace(ctx.api, ctx.namespace);
  const created = applyConfig(ctx.def, undefined, { ...config, metadata: { ...config.metadata, name } }, manager, force);
  sendJsonText(ctx.res, 201, ctx.registry.jsonOf(await ctx.registry.create(ctx.namespace, created, dryRun)));
}
