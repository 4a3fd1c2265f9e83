import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:https';
import { isIP } from 'node:net';
import type { KubeObject } from '../../kube/types.ts';
import { ApiError } from '../errors.ts';
import { isRecord } from '../../util/records.ts';

/**
 * A CRD's conversion webhook, called as kube-apiserver calls it
 * (apiextensions `webhook_converter.go`): an `apiextensions.k8s.io/v1`
 * ConversionReview POSTed over HTTPS (verified with the CRD's caBundle, or
 * the system's roots without one), its response checked (uid, Success,
 * count, apiVersion and kind of each object, name, namespace and uid kept)
 * and each converted object's metadata restored from the original but for
 * labels and annotations, the only metadata a webhook may change.
 */
export interface ServiceReference { namespace: string; name: string; path?: string; port?: number }
export interface WebhookClientConfig { url?: string; service?: ServiceReference; caBundle?: string }
export interface CrdConversion {
  strategy?: string;
  webhook?: { clientConfig?: WebhookClientConfig; conversionReviewVersions?: string[] };
}

/** Where a Service's webhook is reached: an address the apiserver dials and the name its certificate must carry. */
export interface ResolvedService { host: string; port: number }
/** Resolves a webhook's Service to an address this process can dial (served.ts: its EndpointSlices). */
export type ServiceResolver = (namespace: string, name: string, port: number) => Promise<ResolvedService>;

export interface WebhookOptions {
  /** kube's conversion webhook client waits 30 s (the `?timeout=30s` it sends); the whole request then fails. */
  timeoutMs?: number;
}

/** reviewVersionOf is the first ConversionReview version the CRD lists that kube knows, as kube picks it. */
export function reviewVersionOf(versions: readonly string[] | undefined): 'v1' | 'v1beta1' {
  return (versions ?? []).find((v): v is 'v1' | 'v1beta1' => v === 'v1' || v === 'v1beta1') ?? 'v1';
}

const DEFAULT_TIMEOUT_MS = 30_000;
/**
 * A response may be this much larger than the request: converted objects are
 * about the size of the originals, and the 3 MiB floor is kube's request
 * body limit, so a webhook cannot make the apiserver buffer without bound.
 */
const RESPONSE_SLACK_BYTES = 3 * 1024 * 1024;
/**
 * Connections to a webhook are kept for reuse (a TLS handshake took about
 * 4 of the 5 ms a one-object review cost) and closed after this long idle,
 * so a CRD that changed or went away leaves nothing open for long.
 */
const IDLE_CONNECTION_MS = 15_000;

/** gvk prints a group-version-kind as Go's schema.GroupVersionKind does, as kube's messages name it. */
function gvk(obj: KubeObject): string {
  return `${String(obj.apiVersion)}, Kind=${String(obj.kind)}`;
}

/** conversionFailed is kube's answer for a conversion that went wrong: 500 with no reason, the message as kube words it. */
export function conversionFailed(message: string): ApiError {
  const error = new ApiError(500, '', message);
  delete (error.status as { reason?: string }).reason;
  return error;
}


/** goError words a Node request failure as Go's net/http client would, which is what kube's message carries. */
function goError(error: NodeJS.ErrnoException, host: string, port: number): string {
  if (error.code === 'ECONNREFUSED') return `dial tcp ${host}:${port}: connect: connection refused`;
  if (error.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || error.code === 'SELF_SIGNED_CERT_IN_CHAIN' || error.code === 'DEPTH_ZERO_SELF_SIGNED_CERT') {
    return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
  }
  if (error.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `tls: failed to verify certificate: x509: ${error.message}`;
  return error.message;
}

/** servername is the TLS name to verify when it is not the address dialled; shown is the URL as kube's message prints it. */
interface Target { url: URL; host: string; port: number; servername: string | undefined; shown: string }

export class ConversionWebhook {
  private readonly config: WebhookClientConfig;
  private readonly resolve: ServiceResolver;
  private readonly timeoutMs: number;
  private readonly ca: string | undefined;
  private readonly reviewVersion: 'v1' | 'v1beta1';
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16, timeout: IDLE_CONNECTION_MS });

  constructor(config: WebhookClientConfig, resolve: ServiceResolver, options: WebhookOptions = {}, reviewVersion: 'v1' | 'v1beta1' = 'v1') {
    this.config = config;
    this.reviewVersion = reviewVersion;
    this.resolve = resolve;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.ca = config.caBundle ? Buffer.from(config.caBundle, 'base64').toString('utf8') : undefined;
  }

  /**
   * convert returns objects in desiredAPIVersion, in order; those already in
   * it are not sent. Any failure is a 500 naming the webhook's problem, so a
   * client never gets a wrongly converted object.
   */
  async convert(objects: readonly KubeObject[], desiredAPIVersion: string): Promise<KubeObject[]> {
    const todo = objects.map((o, i) => ({ o, i })).filter(({ o }) => o.apiVersion !== desiredAPIVersion);
    if (todo.length === 0) return [...objects];
    const what = `conversion webhook for ${gvk(todo[0]!.o)}`;
    const uid = randomUUID();
    const body = JSON.stringify({ apiVersion: `apiextensions.k8s.io/${this.reviewVersion}`, kind: 'ConversionReview', request: { uid, desiredAPIVersion, objects: todo.map(({ o }) => o) } });
    const target = await this.target().catch((error: unknown) => {
      throw conversionFailed(`${what} failed: ${(error as Error).message}`);
    });
    const reply = await this.post(target, body).catch((error: unknown) => {
      throw conversionFailed(`${what} failed: Post "${target.shown}": ${(error as Error).message}`);
    });
    const converted = responseObjects(reply, uid, what, this.reviewVersion);
    if (converted.length !== todo.length) throw conversionFailed(`${what} returned ${converted.length} objects, expected ${todo.length}`);
    const out = [...objects];
    todo.forEach(({ o, i }, n) => {
      const problem = checkConverted(o, converted[n], desiredAPIVersion);
      if (problem) throw conversionFailed(`${what} returned invalid converted object at index ${n}: ${problem}`);
      out[i] = withOriginalMeta(o, converted[n] as KubeObject);
    });
    return out;
  }

  /** target is the URL to POST to and the address to dial: `url` as given, or the Service's endpoint with `<name>.<namespace>.svc` as the TLS name. */
  private async target(): Promise<Target> {
    const timeout = `timeout=${Math.ceil(this.timeoutMs / 1000)}s`;
    const { url, service } = this.config;
    if (url) {
      const u = new URL(url);
      u.search = u.search ? `${u.search}&${timeout}` : `?${timeout}`;
      const host = u.hostname.replace(/^\[|\]$/g, '');
      return { url: u, host, port: Number(u.port || 443), servername: isIP(host) ? undefined : host, shown: u.href };
    }
    if (!service) throw new Error('no url or service in clientConfig');
    const port = service.port ?? 443;
    const at = await this.resolve(service.namespace, service.name, port);
    const servername = `${service.name}.${service.namespace}.svc`;
    const u = new URL(`https://${servername}:${port}${service.path ?? '/'}?${timeout}`);
    return { url: u, host: at.host, port: at.port, servername, shown: `https://${servername}:${port}${u.pathname}${u.search}` };
  }

  /** post sends body and reads the answer, bounded in time and size. */
  private post(target: Target, body: string): Promise<unknown> {
    const limit = 2 * Buffer.byteLength(body) + RESPONSE_SLACK_BYTES;
    return new Promise((resolve, reject) => {
      const req = request({
        host: target.host, port: target.port, ...(target.servername ? { servername: target.servername } : {}), path: `${target.url.pathname}${target.url.search}`, method: 'POST',
        headers: { Host: target.url.host, 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': Buffer.byteLength(body) },
        ...(this.ca ? { ca: this.ca } : {}), timeout: this.timeoutMs, agent: this.agent,
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > limit) req.destroy(new Error(`response body larger than ${limit} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (text === '') return reject(new Error(`0-length response with status code: ${status} and content type: ${res.headers['content-type'] ?? ''}`));
          if (status < 200 || status > 299) return reject(new Error(`an error on the server (${JSON.stringify(text.slice(0, 200))}) has prevented the request from succeeding`));
          try {
            resolve(JSON.parse(text));
          } catch (error) {
            reject(new Error(`decoding the response: ${(error as Error).message}`));
          }
        });
        res.on('error', reject);
      });
      const deadline = setTimeout(() => req.destroy(new Error('context deadline exceeded')), this.timeoutMs);
      req.on('close', () => clearTimeout(deadline));
      req.on('timeout', () => req.destroy(new Error('context deadline exceeded')));
      req.on('error', (error: NodeJS.ErrnoException) => reject(new Error(goError(error, target.host, target.port))));
      req.end(body);
    });
  }
}

/** responseObjects checks the ConversionReview's envelope and result as kube does and returns its convertedObjects. */
function responseObjects(reply: unknown, uid: string, what: string, version: 'v1' | 'v1beta1'): unknown[] {
  const fail = (why: string) => conversionFailed(`${what} failed: ${why}`);
  // kube checks v1beta1 answers for neither their kind nor their uid (older webhooks did not echo them).
  if (version === 'v1beta1') {
    const response = isRecord(reply) ? reply.response : undefined;
    if (!isRecord(response)) throw fail('no response provided');
    return successObjects(response, fail);
  }
  if (!isRecord(reply) || reply.apiVersion !== 'apiextensions.k8s.io/v1' || reply.kind !== 'ConversionReview') {
    const got = isRecord(reply) ? `${String(reply.apiVersion)}, Kind=${String(reply.kind)}` : typeof reply;
    throw fail(`expected webhook response of apiextensions.k8s.io/v1, Kind=ConversionReview, got ${got}`);
  }
  const response = reply.response;
  if (!isRecord(response)) throw fail('no response provided');
  if (response.uid !== uid) throw fail(`expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(response.uid ?? '')}`);
  return successObjects(response, fail);
}

function successObjects(response: Record<string, unknown>, fail: (why: string) => ApiError): unknown[] {
  const result = isRecord(response.result) ? response.result : {};
  if (result.status !== 'Success') {
    throw fail(typeof result.message === 'string' && result.message !== '' ? result.message : `response.result.status was '${String(result.status ?? '')}', not 'Success'`);
  }
  return Array.isArray(response.convertedObjects) ? response.convertedObjects : [];
}

/** checkConverted: the object is in the desired version and keeps kind, name, namespace and uid (kube's validateConvertedObject). */
function checkConverted(original: KubeObject, converted: unknown, desired: string): string | undefined {
  if (!isRecord(converted)) return `invalid object of type ${typeof converted}`;
  if (converted.apiVersion !== desired) return `invalid groupVersion (expected ${desired}, received ${String(converted.apiVersion)})`;
  if (converted.kind !== original.kind) return `invalid kind (expected ${String(original.kind)}, received ${String(converted.kind)})`;
  const meta = converted.metadata;
  if (!isRecord(meta)) return 'missing metadata in converted object';
  const before = original.metadata ?? {};
  for (const field of ['name', 'namespace', 'uid'] as const) {
    if ((meta[field] ?? '') !== (before[field] ?? '')) return `must have the same ${field === 'uid' ? 'UID' : field}: ${String(before[field] ?? '')} != ${String(meta[field] ?? '')}`;
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = meta[field];
    if (map === undefined || map === null) continue;
    if (!isRecord(map)) return `invalid metadata.${field} of type ${typeof map} in converted object`;
    const bad = Object.entries(map).find(([, v]) => typeof v !== 'string');
    if (bad) return `metadata.${field}[${bad[0]}] must be a string, but is ${typeof bad[1]} in converted object`;
  }
  return undefined;
}

/** withOriginalMeta is kube's restoreObjectMeta: the original's metadata, with the converted object's labels and annotations. */
function withOriginalMeta(original: KubeObject, converted: KubeObject): KubeObject {
  const metadata: Record<string, unknown> = structuredClone(original.metadata ?? {});
  const given = converted.metadata as Record<string, unknown>;
  for (const field of ['labels', 'annotations'] as const) {
    if (given[field] === undefined || given[field] === null) delete metadata[field];
    else metadata[field] = given[field];
  }
  return { ...converted, metadata } as KubeObject;
}
