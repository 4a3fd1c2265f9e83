import type { KubeObject } from '../../kube/types.ts';
import { apiErrors, isStoreError } from '../errors.ts';
import { compilePredicate, decodeContinue, encodeContinue, type ListOptions } from '../list-options.ts';
import { sendJson, sendJsonText } from '../request.ts';
import type { KeyValue } from '../storage/backend.ts';
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
  } else if (options.resourceVersionMatch === 'Exact') {
    // Exact reads at that revision (410 when compacted); otherwise the current state is at least as new as asked.
    if (options.resourceVersion === undefined || !/^[1-9]\d*$/.test(options.resourceVersion)) {
      throw apiErrors.unprocessable('resourceVersionMatch: Forbidden: resourceVersionMatch "Exact" is forbidden for resourceVersion "0" or unset');
    }
    revision = Number(options.resourceVersion);
  } else if (options.resourceVersionMatch !== undefined && options.resourceVersionMatch !== 'NotOlderThan') {
    throw apiErrors.unprocessable(`resourceVersionMatch: Unsupported value: "${options.resourceVersionMatch}": supported values: "Exact", "NotOlderThan"`);
  }
  const kvs: KeyValue[] = [];
  let more = false;
  let lastKey: string | undefined;
  for (;;) {
    const page = await ctx.api.backend
      .list(prefix, { limit: options.limit > 0 ? options.limit - kvs.length : 0, ...(startAfter !== undefined ? { startAfter } : {}), ...(revision !== undefined ? { revision } : {}) })
      .catch((error: unknown) => {
        if (isStoreError(error, 'COMPACTED') && options.continueToken !== undefined) throw apiErrors.expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results.');
        if (isStoreError(error, 'COMPACTED')) throw apiErrors.expired(`too old resource version: ${options.resourceVersion}`);
        if (isStoreError(error, 'FUTURE_REVISION')) throw apiErrors.timeout(`Too large resource version: ${options.resourceVersion}, current: ${ctx.api.backend.currentRevision()}`);
        throw error;
      });
    revision = page.revision;
    for (const kv of page.items) {
      lastKey = kv.key;
      // Selectors read labels, names and fields, all present on the stored value.
      if (predicate(kv.value as KubeObject)) kvs.push(kv);
    }
    more = page.more;
    if (!more || options.limit === 0 || kvs.length >= options.limit || lastKey === undefined) break;
    startAfter = lastKey;
  }
  const metadata: Record<string, unknown> = { resourceVersion: String(revision) };
  if (more && lastKey !== undefined) {
    metadata.continue = encodeContinue({ rv: revision, start: lastKey });
  }
  if (wantsTable(ctx.req.headers.accept)) {
    const items = kvs.map((kv) => ctx.registry.toObject(kv));
    return sendJson(ctx.res, 200, toTable(ctx.def.kind, items, metadata, ctx.query.get('includeObject') ?? 'Metadata', ctx.def.custom?.printer));
  }
  const head = JSON.stringify({ kind: `${ctx.def.kind}List`, apiVersion: apiVersionOf(ctx.def), metadata });
  sendJsonText(ctx.res, 200, `${head.slice(0, -1)},"items":[${kvs.map((kv) => ctx.registry.toJson(kv)).join(',')}]}`);
}
