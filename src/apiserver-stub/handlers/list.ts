import type { KubeObject } from '../../kube/types.ts';
import { apiErrors, isStoreError } from '../errors.ts';
import { compilePredicate, decodeContinue, encodeContinue, type ListOptions } from '../list-options.ts';
import { sendJson, sendJsonText } from '../request.ts';
import type { KeyValue } from '../storage/backend.ts';
import { apiVersionOf } from '../resource.ts';
import type { ServerResponse } from 'node:http';
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
    const page = await ctx.registry.store
      .list(prefix, { limit: options.limit > 0 ? options.limit - kvs.length : 0, ...(startAfter !== undefined ? { startAfter } : {}), ...(revision !== undefined ? { revision } : {}) })
      .catch((error: unknown) => {
        if (isStoreError(error, 'COMPACTED') && options.continueToken !== undefined) throw apiErrors.expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results.');
        // kube's etcd3 store words an exact list at a compacted revision so (a watch's 410 names the revisions).
        if (isStoreError(error, 'COMPACTED')) throw apiErrors.expired('The resourceVersion for the provided list is too old.');
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
  await sendItems(ctx.res, `${head.slice(0, -1)},"items":[`, kvs.map((kv) => () => ctx.registry.toJson(kv)), ']}');
}

/** Lists up to this size are sent whole, with a Content-Length; larger ones are streamed. */
const streamAboveBytes = 1024 * 1024;

/**
 * sendItems sends `head`, the items joined by commas, then `tail`. Items are
 * serialised one at a time; once the response passes streamAboveBytes it is
 * sent chunked, each chunk (an item, or items up to chunkBytes) written
 * when the socket has taken the previous ones, so a list of many 3 MiB
 * objects holds about one of them as text rather than all of them at once
 * (issue 19: memory per request).
 */
async function sendItems(res: ServerResponse, head: string, items: ReadonlyArray<() => string>, tail: string): Promise<void> {
  const parts: string[] = [head];
  let size = head.length;
  let i = 0;
  for (; i < items.length && size <= streamAboveBytes; i++) {
    const text = (i > 0 ? ',' : '') + items[i]!();
    parts.push(text);
    size += text.length;
  }
  if (i === items.length) return sendJsonText(res, 200, parts.join('') + tail);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let writable = res.write(parts.join(''));
  // Items go out in chunks of about chunkBytes: one write (and one chunk header) per item costs more than the item's bytes.
  let chunk = '';
  for (; i < items.length; i++) {
    if (!writable) {
      if (!(await drained(res))) return;
      writable = true;
    }
    chunk += `,${items[i]!()}`;
    if (chunk.length >= chunkBytes) {
      writable = res.write(chunk);
      chunk = '';
    }
  }
  res.end(chunk + tail);
}

/** The size of a streamed list's chunks. */
const chunkBytes = 64 * 1024;

/** drained resolves true when res can take more, false when the client has gone. */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
