import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../../kube/types.ts';
import { ApiError, apiErrors } from '../errors.ts';
import { enforce, fieldValidationOf, problemsOf } from '../field-validation.ts';
import { queryBool } from '../list-options.ts';
import { applyConfig } from '../managed-fields/apply.ts';
import { readBody, sendJson } from '../request.ts';
import { checkKind, checkNamespace, isDryRun, requireNamespace } from './admission.ts';
import type { Ctx } from './context.ts';

/** parseApplyBody reads an apply configuration: YAML (JSON is YAML too), one object. */
function parseApplyBody(body: Buffer): KubeObject {
  if (body.length === 0) throw apiErrors.badRequest('the request body is empty');
  let value: unknown;
  try {
    value = parseYaml(body.toString('utf8'), { maxAliasCount: 100 });
  } catch (error) {
    throw apiErrors.badRequest(`error decoding YAML: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw apiErrors.badRequest('the apply configuration must be an object');
  return value as KubeObject;
}

/**
 * handleApply answers PATCH with `application/apply-patch+yaml`: applies the
 * configuration to the live object (200) or creates it (201), as kube-apiserver.
 */
export async function handleApply(ctx: Ctx): Promise<void> {
  const manager = ctx.query.get('fieldManager') ?? '';
  if (manager === '') throw apiErrors.unprocessable('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
  if (ctx.subresource !== undefined) throw apiErrors.methodNotAllowed('PATCH (apply)', `${ctx.def.resource}/${ctx.subresource}`);
  const force = queryBool(ctx.query.get('force'));
  const directive = fieldValidationOf(ctx.query);
  const config = parseApplyBody(await readBody(ctx.req));
  checkKind(ctx.def, config);
  checkNamespace(config, ctx.namespace);
  const name = ctx.name!;
  if (config.metadata?.name !== undefined && config.metadata.name !== name) throw apiErrors.badRequest(`the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`);
  if (directive !== 'Ignore') enforce(directive, ctx.def, problemsOf(ctx.def, config, undefined), ctx.res, 'patch');
  const dryRun = isDryRun(ctx.query);
  try {
    const updated = await ctx.registry.mutate(ctx.namespace, name, (live) => applyConfig(ctx.def, live, config, manager, force), undefined, dryRun);
    return sendJson(ctx.res, 200, updated);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status.reason !== 'NotFound') throw error;
  }
  if (ctx.namespace !== undefined) await requireNamespace(ctx.api, ctx.namespace);
  const created = applyConfig(ctx.def, undefined, { ...config, metadata: { ...config.metadata, name } }, manager, force);
  sendJson(ctx.res, 201, await ctx.registry.create(ctx.namespace, created, dryRun));
}
