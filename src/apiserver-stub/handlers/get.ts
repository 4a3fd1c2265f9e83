import { sendJson } from '../request.ts';
import type { Ctx } from './context.ts';

/** handleGet answers GET of one object. */
export async function handleGet(ctx: Ctx): Promise<void> {
  sendJson(ctx.res, 200, await ctx.registry.get(ctx.namespace, ctx.name!));
}
