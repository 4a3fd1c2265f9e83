import { readBody, parseJsonObject, sendJson } from '../request.ts';
import { checkKind, checkNamespace, isDryRun, requireNamespace } from './admission.ts';
import type { Ctx } from './context.ts';

/** handleUpdate answers PUT of an object or its status: 200, or 201 when an absent object was created. */
export async function handleUpdate(ctx: Ctx): Promise<void> {
  const body = parseJsonObject(await readBody(ctx.req), ctx.req.headers['content-type']);
  checkKind(ctx.def, body);
  checkNamespace(body, ctx.namespace);
  if (ctx.namespace !== undefined && ctx.def.allowCreateOnUpdate) await requireNamespace(ctx.api, ctx.namespace);
  const { object, created } = await ctx.registry.update(ctx.namespace, ctx.name!, body, ctx.subresource === 'status' ? 'status' : undefined, isDryRun(ctx.query));
  sendJson(ctx.res, created ? 201 : 200, object);
}
