import { readBody, parseJsonObject, sendJsonText } from '../request.ts';
import { yieldIfBusy } from '../yield.ts';
import { checkKind, checkNamespace, isDryRun, requireNamespace } from './admission.ts';
import type { Ctx } from './context.ts';
import { restrictNodeCreate } from '../rbac/node-authorizer.ts';
import { enforce, fieldValidationOf, problemsOf } from '../field-validation.ts';
import { managerOf, recordUpdate } from '../managed-fields/managers.ts';

/** handleCreate answers POST to a collection: 201 with the stored object. */
export async function handleCreate(ctx: Ctx): Promise<void> {
  const directive = fieldValidationOf(ctx.query);
  const raw = await readBody(ctx.req);
  const body = await parseJsonObject(raw, ctx.req.headers['content-type']);
  await yieldIfBusy();
  checkKind(ctx.def, body);
  if (directive !== 'Ignore') enforce(directive, ctx.def, problemsOf(ctx.def, body, raw), ctx.res, 'decode');
  await yieldIfBusy();
  checkNamespace(body, ctx.namespace);
  if (ctx.def.group === '' && ctx.def.resource === 'nodes') restrictNodeCreate(ctx.api.user(ctx.req), String(body.metadata?.name ?? ''));
  if (ctx.namespace !== undefined) await requireNamespace(ctx.api, ctx.namespace);
  recordUpdate(ctx.def, undefined, body, managerOf(ctx.req, ctx.query));
  await yieldIfBusy();
  const created = await ctx.registry.create(ctx.namespace, body, isDryRun(ctx.query));
  await yieldIfBusy();
  sendJsonText(ctx.res, 201, ctx.registry.jsonOf(created));
}
