import type { KubeObject } from '../../kube/types.ts';
import { applyJsonPatch } from '../../kube/json-patch.ts';
import { applyMergePatch } from '../../kube/merge-patch.ts';
import { applyStrategicMergePatch } from '../../kube/strategic-merge-patch.ts';
import { PatchError, PatchLimitError, type Json } from '../../kube/patch-errors.ts';
import { jsonSize } from '../../kube/json-size.ts';
import { apiErrors } from '../errors.ts';
import { readBody, parseJson, sendJsonText } from '../request.ts';
import type { Ctx } from './context.ts';
import { checkKind, isDryRun } from './admission.ts';
import { enforce, fieldValidationOf, problemsOf } from '../field-validation.ts';
import { managerOf, recordUpdate } from '../managed-fields/managers.ts';
import { handleApply } from './apply.ts';

export function isApplyPatch(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/apply-patch+yaml';
}

/** The PATCH types served; server-side apply (`application/apply-patch+yaml`) goes to handleApply. */
export type PatchType = 'json' | 'merge' | 'strategic';

export function patchTypeOf(contentType: string | undefined): PatchType {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  switch (media) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    default:
      throw apiErrors.unsupportedMediaType(media || '(none)');
  }
}

/** The largest object a patch may produce, as kube's 3 MiB limit on a stored object. */
const maxObjectBytes = 3 * 1024 * 1024;

/** applyPatch applies a parsed patch of the given type to a copy of obj; bad patches are 422. */
export function applyPatch(type: PatchType, obj: KubeObject, patch: unknown, kind: string): KubeObject {
  let result: Json;
  try {
    if (type === 'json') result = applyJsonPatch(obj as Json, patch);
    else if (type === 'merge') {
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new PatchError('a merge patch must be a JSON object');
      result = applyMergePatch(obj as Json, patch as Json);
    } else result = applyStrategicMergePatch(obj as Json, patch as Json, kind);
  } catch (error) {
    if (error instanceof PatchLimitError) throw apiErrors.tooLarge(error.message);
    if (error instanceof PatchError) throw apiErrors.unprocessable(`the server rejected our request due to an error in our request: ${error.message}`);
    throw error;
  }
  if (typeof result !== 'object' || result === null || Array.isArray(result)) throw apiErrors.unprocessable('the patched object must be a JSON object');
  // As kube's object size limit: a merge patch can grow an object too (by up to its own size).
  if (jsonSize(result, maxObjectBytes) > maxObjectBytes) throw apiErrors.tooLarge(`the patched object is larger than the limit of ${maxObjectBytes} bytes`);
  const out = result as KubeObject;
  if (out.metadata !== undefined && (typeof out.metadata !== 'object' || out.metadata === null || Array.isArray(out.metadata))) {
    throw apiErrors.unprocessable('metadata must be a JSON object');
  }
  return out;
}

function withVersion(obj: KubeObject, resourceVersion: string): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion } };
}

function unpinned(obj: KubeObject, resourceVersion: string): KubeObject {
  if (obj.metadata?.resourceVersion === resourceVersion) delete obj.metadata.resourceVersion;
  return obj;
}

/** handlePatch answers PATCH of an object or its status. */
export async function handlePatch(ctx: Ctx): Promise<void> {
  if (isApplyPatch(ctx.req.headers['content-type'])) return handleApply(ctx);
  const type = patchTypeOf(ctx.req.headers['content-type']);
  const manager = managerOf(ctx.req, ctx.query);
  const directive = fieldValidationOf(ctx.query);
  const raw = await readBody(ctx.req);
  const patch = parseJson(raw);
  const updated = await ctx.registry.mutate(
    ctx.namespace,
    ctx.name!,
    (obj, resourceVersion) => {
      // A JSON patch sees the stored resourceVersion (kubectl's apply migration tests it); left as it was, it pins nothing.
      const patched = type === 'json' ? unpinned(applyPatch(type, withVersion(obj, resourceVersion), patch, ctx.def.kind), resourceVersion) : applyPatch(type, obj, patch, ctx.def.kind);
      checkKind(ctx.def, patched);
      // Only fields the patch brings count: a JSON patch body is a list of operations, so its duplicates are not fields.
      if (directive !== 'Ignore') enforce(directive, ctx.def, problemsOf(ctx.def, patched, type === 'json' ? undefined : raw, obj), ctx.res, 'patch');
      recordUpdate(ctx.def, obj, patched, manager, ctx.subresource);
      return patched;
    },
    ctx.subresource === 'status' ? 'status' : undefined,
    isDryRun(ctx.query),
  );
  sendJsonText(ctx.res, 200, ctx.registry.jsonOf(updated));
}
