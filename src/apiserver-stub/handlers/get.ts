import { sendJson } from '../request.ts';
import { toTable, wantsTable } from '../printers.ts';
import type { Ctx } from './context.ts';

/** handleGet answers GET of one object (as a Table when the client asks for one). */
export async function handleGet(ctx: Ctx): Promise<void> {
  const obj = await ctx.registry.get(ctx.namespace, ctx.name!);
  if (wantsTable(ctx.req.headers.accept)) {
    return sendJson(ctx.res, 200, toTable(ctx.def.kind, [obj], { resourceVersion: obj.metadata?.resourceVersion }, ctx.query.get('includeObject') ?? 'Metadata', ctx.def.custom?.printer));
  }
  sendJson(ctx.res, 200, obj);
}
