import { readBody, parseJsonObject, sendJsonText } from '../request.ts';
import { yieldIfBusy } from '../yield.ts';
import { checkKind, checkNamespace, isDryRun, requireNamespace } from './admission.ts';
import type { Ctx } from './context.ts';
import { enforce, fieldValidationOf, problemsOf } from '../field-validation.ts';
import { managerOf, recordUpdate } from '../managed-fields/managers.ts';

/** handleUpdate answers PUT of an object or its status: 200, or 201 when an absent object was created. */
export async function handleUpdate(ctx: Ctx): Promise<void> {
  const directive = fieldValidationOf(ctx.query);
  const raw = await readBody(ctx.req);
  const body = await parseJsonObject(raw, ctx.req.headers['content-type']);
  await yieldIfBusy();
  checkKind(ctx.def, body);
  if (directive !== 'Ignore') enforce(directive, ctx.def, problemsOf(ctx.def, body, raw), ctx.res, 'decode');
  await yieldIfBusy();
  checkNamespace(body, ctx.namespace);
  if (ctx.namespace !== undefined && ctx.def.allowCreateOnUpdate) await requireNamespace(ctx.api, ctx.namespace);
  const manager = managerOf(ctx.req, ctx.query);
  const { object, created } = await ctx.registry.update(ctx.namespace, ctx.name!, body, ctx.subresource === 'status' ? 'status' : undefined, isDryRun(ctx.query), (b, old) => recordUpdate(ctx.def, old, b, manager, ctx.subresource));
  sendJsonText(ctx.res, created ? 201 : 200, ctx.registry.jsonOf(object));
}
