import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject } from '../kube/types.ts';
import { ApiError, apiErrors } from './errors.ts';
import { decodeProtobufBody, isProtobuf } from './protobuf-body.ts';
import { checkJsonDepth } from './body-shape.ts';
import { decodeYaml } from './yaml-body.ts';
import { yieldIfBusy } from './yield.ts';

/** The largest request body accepted, as kube-apiserver's 3 MiB limit. */
export const maxBodyBytes = 3 * 1024 * 1024;

/** readBody collects the request body; more than maxBodyBytes is a 413. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > maxBodyBytes) {
    req.resume();
    return Promise.reject(apiErrors.tooLarge(`the request body of ${declared} bytes is larger than the limit of ${maxBodyBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        failed = true;
        reject(apiErrors.tooLarge(`the request body is larger than the limit of ${maxBodyBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      if (!failed) reject(apiErrors.badRequest(`reading the request body: ${error.message}`));
    });
  });
}

/** parseJson parses a body; malformed JSON is a 400 BadRequest. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw apiErrors.badRequest('the request body is empty');
  const text = body.toString('utf8');
  checkJsonDepth(text);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw apiErrors.badRequest(`the request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * parseJsonObject parses an object body: JSON, or YAML when the request says
 * `application/yaml` (kube-apiserver accepts both for writes), or protobuf
 * (kubectl 1.32+ sends typed creates so) decoded to the same JSON object.
 */
export async function parseJsonObject(body: Buffer, contentType?: string): Promise<KubeObject> {
  await yieldIfBusy();
  const value = isProtobuf(contentType) ? decodeProtobufBody(body) : isYaml(contentType) ? await parseYamlBody(body) : parseJson(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw apiErrors.badRequest('the request body must be a JSON object');
  const obj = value as KubeObject;
  if (obj.metadata !== undefined && (typeof obj.metadata !== 'object' || obj.metadata === null || Array.isArray(obj.metadata))) {
    throw apiErrors.badRequest('metadata must be a JSON object');
  }
  return obj;
}

function isYaml(contentType: string | undefined): boolean {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return media === 'application/yaml' || media === 'application/x-yaml' || media === 'text/yaml';
}

/** parseYamlBody decodes a YAML body off the main thread (yaml-body.ts): a 3 MiB manifest must not stall health probes. */
function parseYamlBody(body: Buffer): Promise<unknown> {
  if (body.length === 0) throw apiErrors.badRequest('the request body is empty');
  return decodeYaml(body.toString('utf8'));
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  sendJsonText(res, code, JSON.stringify(body));
}

/** sendJsonText sends an already serialised JSON body. */
export function sendJsonText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, error: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, error.httpCode, error.status);
}
