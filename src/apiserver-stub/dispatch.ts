import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiErrors } from './errors.ts';
import { parseListOptions, queryBool } from './list-options.ts';
import { readBody, parseJsonObject } from './request.ts';
import type { Api, Ctx } from './handlers/context.ts';
import { handleCreate } from './handlers/create.ts';
import { handleDelete, handleDeleteCollection } from './handlers/delete.ts';
import { handleGet } from './handlers/get.ts';
import { handleList } from './handlers/list.ts';
import { handlePatch } from './handlers/patch.ts';
import { handleUpdate } from './handlers/update.ts';
import { handleWatch } from './handlers/watch.ts';
import { bind, handleBinding, handleLog, handleScale } from './handlers/subresources.ts';
import { handleTokenRequest } from './serviceaccount/token-request.ts';
import { handleReview } from './handlers/reviews.ts';

/** dispatchResource picks the handler for a resource request by method, name and subresource. */
export async function dispatchResource(ctx: Ctx): Promise<void> {
  const method = ctx.req.method ?? 'GET';
  if (ctx.def.createOnly) return handleReview(ctx, ctx.api.user(ctx.req));
  if (ctx.subresource === 'scale') return handleScale(ctx);
  if (ctx.subresource === 'binding') return handleBinding(ctx);
  if (ctx.subresource === 'log') return handleLog(ctx);
  if (ctx.subresource === 'token') return handleTokenRequest(ctx);
  if (ctx.subresource === 'exec' || ctx.subresource === 'attach' || ctx.subresource === 'portforward') {
    throw apiErrors.badRequest(`pods/${ctx.subresource} needs an upgraded connection (WebSocket or SPDY)`);
  }
  if (ctx.name === undefined) {
    if (ctx.def.namespaced && ctx.namespace === undefined && method !== 'GET') throw apiErrors.methodNotAllowed(method, `${ctx.def.resource} across all namespaces`);
    switch (method) {
      case 'GET': {
        const options = parseListOptions(ctx.query);
        return options.watch ? handleWatch(ctx, options) : handleList(ctx, options);
      }
      case 'POST':
        return handleCreate(ctx);
      case 'DELETE':
        if (ctx.def.noDeleteCollection) break;
        return handleDeleteCollection(ctx);
    }
    throw apiErrors.methodNotAllowed(method, ctx.def.resource);
  }
  if (ctx.subresource === 'status' && method !== 'GET' && method !== 'PUT' && method !== 'PATCH') throw apiErrors.methodNotAllowed(method, `${ctx.def.resource}/status`);
  switch (method) {
    case 'GET':
      if (queryBool(ctx.query.get('watch'))) {
        const options = parseListOptions(ctx.query);
        const fieldSelector = [`metadata.name=${ctx.name}`, options.fieldSelector].filter((s) => s !== '').join(',');
        return handleWatch(ctx, { ...options, fieldSelector });
      }
      return handleGet(ctx);
    case 'PUT':
      return handleUpdate(ctx);
    case 'PATCH':
      return handlePatch(ctx);
    case 'DELETE':
      if (ctx.subresource !== undefined) break;
      return handleDelete(ctx);
  }
  throw apiErrors.methodNotAllowed(method, ctx.def.resource);
}

/** dispatchBindings answers POST namespaces/{ns}/bindings, the Binding form with the pod's name in metadata. */
export async function dispatchBindings(api: Api, req: IncomingMessage, res: ServerResponse, query: URLSearchParams, namespace: string): Promise<void> {
  if (req.method !== 'POST') throw apiErrors.methodNotAllowed(req.method ?? '', 'bindings');
  const body = await parseJsonObject(await readBody(req), req.headers['content-type']);
  const name = body.metadata?.name;
  if (typeof name !== 'string' || name === '') throw apiErrors.invalid('Binding', '', '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value' }]);
  const registry = api.registry('', 'pods');
  await bind({ req, res, query, api, def: registry.def, registry, namespace, name, subresource: 'binding' }, name, body);
}

