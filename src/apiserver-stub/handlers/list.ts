import type { KubeObject } from '../../kube/types.ts';
import { apiErrors, isStoreError } from '../errors.ts';
import { compilePredicate, decodeContinue, encodeContinue, type ListOptions } from '../list-options.ts';
import { sendJson } from '../request.ts';
import { apiVersionOf } from '../resource.ts';
import type { Ctx } from './context.ts';
import { toTable, wantsTable } from '../printers.ts';

/**
 * handleList answers a LIST with label and field selectors and limit/continue
 * paging; a continue token pins the revision of the first page, and one whose
 * revision was compacted is a 410 Expired, as kube-apiserver's.
 */
export async function handleList(ctx: Ctx, options: ListOptions): Promise<void> {
  const predicate = compilePredicate(ctx.def, options);
  const prefix = ctx.registry.prefix(ctx.namespace);
  let startAfter: string | undefined;
  let revision: number | undefined;
  if (options.continueToken !== undefined) {
    const token = decodeContinue(options.continueToken, prefix);
    startAfter = token.start;
    revision = token.rv;
  }
  const items: KubeObject[] = [];
  let more = false;
  let lastKey: string | undefined;
  for (;;) {
    const page = await ctx.api.backend
      .list(prefix, { limit: options.limit > 0 ? options.limit - items.length : 0, ...(startAfter !== undefined ? { startAfter } : {}), ...(revision !== undefined ? { revision } : {}) })
      .catch((error: unknown) => {
        if (isStoreError(error, 'COMPACTED')) throw apiErrors.expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results.');
        throw error;
      });
    revision = page.revision;
    for (const kv of page.items) {
      lastKey = kv.key;
      const obj = ctx.registry.toObject(kv);
      if (predicate(obj)) items.push(obj);
    }
    more = page.more;
    if (!more || options.limit === 0 || items.length >= options.limit || lastKey === undefined) break;
    startAfter = lastKey;
  }
  const metadata: Record<string, unknown> = { resourceVersion: String(revision) };
  if (more && lastKey !== undefined) {
    metadata.continue = encodeContinue({ rv: revision, start: lastKey });
  }
  if (wantsTable(ctx.req.headers.accept)) return sendJson(ctx.res, 200, toTable(ctx.def.kind, items, metadata, ctx.query.get('includeObject') ?? 'Metadata'));
  sendJson(ctx.res, 200, { kind: `${ctx.def.kind}List`, apiVersion: apiVersionOf(ctx.def), metadata, items });
}
