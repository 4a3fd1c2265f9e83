import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiErrors } from '../errors.ts';
import type { Doc, OpenApiDocs } from './documents.ts';

/**
 * serveOpenApi answers `/openapi/v2` and `/openapi/v3[/...]` as kube-openapi's
 * handlers do: ETags with 304 on `If-None-Match`, protobuf v2 when the
 * client accepts it, and v3 documents requested with their current `hash`
 * cached for good (another hash is redirected to the current one).
 */
const v2ProtobufTypes = ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'];

export function isOpenApiPath(pathname: string): boolean {
  return pathname === '/openapi/v2' || pathname === '/openapi/v3' || pathname.startsWith('/openapi/v3/');
}

function send(req: IncomingMessage, res: ServerResponse, d: Doc, contentType: string, immutable: boolean): void {
  const headers: Record<string, string> = { ETag: d.etag, 'Content-Type': contentType, 'Cache-Control': immutable ? 'public, immutable, max-age=31536000' : 'no-cache, private' };
  if (req.headers['if-none-match'] === d.etag) {
    res.writeHead(304, headers);
    return void res.end();
  }
  res.writeHead(200, { ...headers, 'Content-Length': String(d.body.length) });
  res.end(req.method === 'HEAD' ? undefined : d.body);
}

export function serveOpenApi(req: IncomingMessage, res: ServerResponse, url: URL, docs: OpenApiDocs): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw apiErrors.methodNotAllowed(req.method ?? '', url.pathname);
  if (url.pathname === '/openapi/v2') {
    const accept = req.headers.accept ?? '';
    const protobuf = v2ProtobufTypes.find((t) => accept.includes(t));
    // Answered with the dotted media type whichever was asked: Go's mime parser refuses the `@` form.
    return protobuf ? send(req, res, docs.v2Protobuf, v2ProtobufTypes[1]!, false) : send(req, res, docs.v2Json, 'application/json', false);
  }
  if (url.pathname === '/openapi/v3' || url.pathname === '/openapi/v3/') return send(req, res, docs.v3Index, 'application/json', false);
  const gv = url.pathname.slice('/openapi/v3/'.length);
  const d = docs.v3.get(gv);
  if (!d) throw apiErrors.pathNotFound(url.pathname);
  const hash = url.searchParams.get('hash');
  if (hash !== null && hash !== d.hash) {
    res.writeHead(301, { Location: `/openapi/v3/${gv}?hash=${d.hash}`, 'Cache-Control': 'no-cache' });
    return void res.end();
  }
  send(req, res, d, 'application/json', hash !== null);
}
