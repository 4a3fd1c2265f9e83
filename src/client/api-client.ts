import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { InvalidArgumentError } from '../util/errors.ts';
import type { ClientConfig } from './kubeconfig.ts';
import { ApiError, ConnectionError } from './errors.ts';
import type { Status } from './errors.ts';
import { RequestLimiter, type RequestLimits } from './rate-limit.ts';
import { resourcePath } from './resources.ts';
import type { ResourceRef } from './resources.ts';
import { readWatchEvents } from './watch-stream.ts';
import type { WatchEvent } from './watch-stream.ts';

/** KubeObject is the part of every API object the client relies on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

export interface ObjectList<T> {
  readonly items: T[];
  readonly resourceVersion: string;
  /** Token for the next page; undefined on the last one. */
  readonly continue: string | undefined;
}

export interface ListOptions {
  readonly namespace?: string | undefined;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  readonly limit?: number | undefined;
  readonly continue?: string | undefined;
  readonly resourceVersion?: string | undefined;
}

export interface WatchOptions {
  readonly namespace?: string | undefined;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  readonly resourceVersion?: string | undefined;
  readonly allowWatchBookmarks?: boolean;
  /** Server-side end of the watch; the stream then ends cleanly. */
  readonly timeoutSeconds?: number | undefined;
  /**
   * Longest silence (no event, no bookmark) before the watch is given up as a
   * ConnectionError (default: until timeoutSeconds + 30 s, or never). It
   * catches half-open connections whose peer vanished without a reset.
   */
  readonly idleTimeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

export type PatchType = 'merge' | 'json' | 'strategic';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

export interface ApiClientOptions {
  /** Timeout of each non-watch request, headers and body inactivity (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Keep-alive connections per origin (default 16; a watch holds one for its lifetime, and a controller manager watches 9 kinds). */
  readonly connections?: number;
  /** Sent as User-Agent (default `ferry`). */
  readonly userAgent?: string;
  /** Client-side rate limits (QPS, burst, requests in flight); default none. */
  readonly limits?: RequestLimits;
  /** Told of every request once its response headers are in (or it failed), for client-go's request metrics. */
  readonly onRequest?: (r: RequestRecord) => void;
}

/** RequestRecord is one request as client-go's metrics see it. */
export interface RequestRecord {
  /** The HTTP method (a watch is a GET). */
  readonly method: string;
  /** The API server's host:port. */
  readonly host: string;
  /** The status code, or `<error>` when no response came. */
  readonly code: string;
  /** From sending to the response headers. */
  readonly seconds: number;
  /** Spent waiting for the rate limiter first. */
  readonly waitedSeconds: number;
}

interface RawRequest {
  method: Dispatcher.HttpMethod;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** What the request does, for error messages (`list services`). */
  what: string;
}

const TOKEN_FILE_TTL_MS = 60_000;

/**
 * ApiClient is a typed Kubernetes REST client over undici with keep-alive
 * connections. It works for any resource (core and grouped) and subresource,
 * so the proxy, DNS, controllers and scheduler share it. Every failure is an
 * ApiError (the server answered with a Status) or a ConnectionError (it did
 * not answer), both naming the server and the request.
 */
export class ApiClient {
  readonly server: string;
  readonly #origin: string;
  readonly #dispatcher: Agent;
  readonly #config: ClientConfig;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  #tokenCache: { token: string; readAt: number } | undefined;
  #closed = false;
  readonly #limiter: RequestLimiter | undefined;
  readonly #onRequest: ((r: RequestRecord) => void) | undefined;
  readonly #host: string;

  constructor(config: ClientConfig, options: ApiClientOptions = {}) {
    this.#config = config;
    this.server = config.server;
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#userAgent = options.userAgent ?? 'ferry';
    const { origin, connect } = connectionFor(config);
    this.#origin = origin;
    this.#host = new URL(origin).host;
    this.#onRequest = options.onRequest;
    this.#dispatcher = new Agent({ connect, keepAliveTimeout: 30_000, connections: options.connections ?? 16 });
    const l = options.limits;
    this.#limiter = l && ((l.qps ?? 0) > 0 || (l.maxInflight ?? 0) > 0) ? new RequestLimiter(l) : undefined;
  }

  async get<T extends KubeObject>(ref: ResourceRef, name: string, at: { namespace?: string; subresource?: string } = {}): Promise<T> {
    return this.#json<T>({ method: 'GET', path: resourcePath(ref, { ...at, name }), what: `get ${ref.resource} ${qualified(at.namespace, name)}` });
  }

  /** list fetches one page; see listAll for every page. */
  async list<T extends KubeObject>(ref: ResourceRef, options: ListOptions = {}): Promise<ObjectList<T>> {
    const body = await this.#json<{ items?: T[] | null; metadata?: { resourceVersion?: string; continue?: string } }>({
      method: 'GET',
      path: resourcePath(ref, { namespace: options.namespace }),
      query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, limit: options.limit, continue: options.continue, resourceVersion: options.resourceVersion },
      what: `list ${ref.resource}`,
    });
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '', continue: body.metadata?.continue || undefined };
  }

  /**
   * listAll pages through with limit/continue; the resourceVersion is the
   * first page's (a consistent snapshot). `map` is applied to each page as it
   * arrives, so a caller that keeps only part of each object never holds
   * every whole object at once.
   */
  async listAll<T extends KubeObject>(ref: ResourceRef, options: Omit<ListOptions, 'continue'> = {}, map: (item: T) => T = (item) => item): Promise<ObjectList<T>> {
    const items: T[] = [];
    let page = await this.list<T>(ref, options);
    const resourceVersion = page.resourceVersion;
    for (const item of page.items) items.push(map(item));
    while (page.continue) {
      page = await this.list<T>(ref, { ...options, resourceVersion: undefined, continue: page.continue });
      for (const item of page.items) items.push(map(item));
    }
    return { items, resourceVersion, continue: undefined };
  }

  async create<T extends KubeObject>(ref: ResourceRef, obj: T, at: { namespace?: string; subresource?: string; name?: string } = {}): Promise<T> {
    const namespace = at.namespace ?? obj.metadata?.namespace;
    return this.#json<T>({ method: 'POST', path: resourcePath(ref, { namespace, name: at.name, subresource: at.subresource }), body: obj, what: `create ${ref.resource}${at.subresource ? `/${at.subresource}` : ''} ${qualified(namespace, at.name ?? obj.metadata?.name)}` });
  }

  /** update replaces the object named by its metadata (optimistic concurrency on metadata.resourceVersion). */
  async update<T extends KubeObject>(ref: ResourceRef, obj: T, at: { subresource?: string } = {}): Promise<T> {
    const { namespace, name } = nameOf(obj);
    return this.#json<T>({ method: 'PUT', path: resourcePath(ref, { namespace, name, subresource: at.subresource }), body: obj, what: `update ${ref.resource}${at.subresource ? `/${at.subresource}` : ''} ${qualified(namespace, name)}` });
  }

  async updateStatus<T extends KubeObject>(ref: ResourceRef, obj: T): Promise<T> {
    return this.update(ref, obj, { subresource: 'status' });
  }

  async patch<T extends KubeObject>(ref: ResourceRef, name: string, patch: unknown, type: PatchType, at: { namespace?: string; subresource?: string } = {}): Promise<T> {
    return this.#json<T>({ method: 'PATCH', path: resourcePath(ref, { ...at, name }), body: patch, contentType: PATCH_CONTENT_TYPES[type], what: `patch ${ref.resource}${at.subresource ? `/${at.subresource}` : ''} ${qualified(at.namespace, name)}` });
  }

  /** delete removes an object; `options` is a DeleteOptions body (preconditions, propagationPolicy). */
  async delete(ref: ResourceRef, name: string, at: { namespace?: string } = {}, options?: Record<string, unknown>): Promise<Status | KubeObject> {
    return this.#json({ method: 'DELETE', path: resourcePath(ref, { ...at, name }), body: options, what: `delete ${ref.resource} ${qualified(at.namespace, name)}` });
  }

  /**
   * watch opens a watch and yields its events until the server ends the
   * stream (timeoutSeconds), the signal aborts it, or the connection breaks
   * (a ConnectionError). An HTTP error status throws an ApiError before the
   * first event; an ERROR event is yielded as such for the caller to judge.
   */
  async *watch<T extends KubeObject>(ref: ResourceRef, options: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const what = `watch ${ref.resource}`;
    const timeoutSeconds = options.timeoutSeconds;
    const response = await this.#send({
      method: 'GET',
      path: resourcePath(ref, { namespace: options.namespace }),
      query: {
        watch: 1, resourceVersion: options.resourceVersion, allowWatchBookmarks: options.allowWatchBookmarks ? 'true' : undefined,
        timeoutSeconds, labelSelector: options.labelSelector, fieldSelector: options.fieldSelector,
      },
      what,
    }, { signal: options.signal, bodyTimeoutMs: options.idleTimeoutMs ?? (timeoutSeconds !== undefined ? (timeoutSeconds + 30) * 1000 : 0) });
    if (response.statusCode >= 300) throw await this.#apiError(response, what);
    try {
      yield* readWatchEvents<T>(response.body);
    } catch (error) {
      if (options.signal?.aborted) return;
      throw new ConnectionError(this.server, what, error);
    } finally {
      response.body.destroy();
    }
  }

  /** request sends any REST call and returns the parsed JSON body (for paths the typed methods do not cover). */
  async request<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    return this.#json<T>({ method, path, body, query, what: `${method} ${path}` });
  }

  /** putText sends a text/plain body, as the node agent reports container logs to `pods/{name}/log`. */
  async putText<T>(path: string, text: string): Promise<T> {
    return this.#json<T>({ method: 'PUT', path, body: text, contentType: 'text/plain; charset=utf-8', what: `PUT ${path}` });
  }

  /**
   * sibling is a client of the same server and credentials with its own
   * connection pool, so that more long-lived watches do not take the
   * connections this client's requests need.
   */
  sibling(options: Pick<ApiClientOptions, 'connections'> = {}): ApiClient {
    return new ApiClient(this.#config, { userAgent: this.#userAgent, requestTimeoutMs: this.#timeoutMs, ...options });
  }

  /** close drops the keep-alive connections and aborts open watches; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#dispatcher.destroy();
  }

  async #json<T>(req: RawRequest): Promise<T> {
    const response = await this.#send(req, {});
    if (response.statusCode >= 300) throw await this.#apiError(response, req.what);
    try {
      return (await response.body.json()) as T;
    } catch (error) {
      throw new ConnectionError(this.server, `${req.what}: reading the response`, error);
    }
  }

  async #send(req: RawRequest, opts: { signal?: AbortSignal | undefined; bodyTimeoutMs?: number }): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.#userAgent };
    const token = this.#token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (req.body !== undefined) headers['content-type'] = req.contentType ?? 'application/json';
    // Rate limited as client-go's round tripper: the place in flight is given back once the headers are in.
    const queued = performance.now();
    const release = await this.#limiter?.acquire();
    const sent = performance.now();
    let code = '<error>';
    try {
      const response = await request(this.#origin + req.path + queryString(req.query), {
        method: req.method,
        headers,
        body: req.body === undefined ? null : typeof req.body === 'string' && req.contentType?.startsWith('text/') ? req.body : JSON.stringify(req.body),
        dispatcher: this.#dispatcher,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: opts.bodyTimeoutMs ?? this.#timeoutMs,
        signal: opts.signal,
      });
      code = String(response.statusCode);
      return response;
    } catch (error) {
      throw new ConnectionError(this.server, req.what, error);
    } finally {
      release?.();
      this.#onRequest?.({ method: req.method, host: this.#host, code, seconds: (performance.now() - sent) / 1000, waitedSeconds: (sent - queued) / 1000 });
    }
  }

  async #apiError(response: Dispatcher.ResponseData, what: string): Promise<ApiError> {
    const text = await response.body.text().catch(() => '');
    let status: Status | undefined;
    try {
      const parsed = JSON.parse(text) as Status;
      if (parsed && typeof parsed === 'object' && parsed.kind === 'Status') status = parsed;
    } catch {
      // Not a Status (a proxy's HTML page, say): the text goes into the message instead.
    }
    return new ApiError(this.server, what, response.statusCode, status, text);
  }

  #token(): string | undefined {
    const file = this.#config.tokenFile;
    if (!file) return this.#config.token;
    const now = Date.now();
    if (!this.#tokenCache || now - this.#tokenCache.readAt > TOKEN_FILE_TTL_MS) {
      try {
        this.#tokenCache = { token: readFileSync(file, 'utf8').trim(), readAt: now };
      } catch (error) {
        // Keep the last token if the file is briefly missing during rotation.
        if (!this.#tokenCache) throw new ConnectionError(this.server, `reading token file ${file}`, error);
      }
    }
    return this.#tokenCache.token;
  }
}

function connectionFor(config: ClientConfig): { origin: string; connect: Agent.Options['connect'] } {
  let url: URL;
  try {
    url = new URL(config.server);
  } catch {
    throw new InvalidArgumentError(`invalid apiserver URL ${JSON.stringify(config.server)}`);
  }
  if (url.protocol === 'unix:') {
    if (!url.pathname) throw new InvalidArgumentError(`invalid apiserver URL ${JSON.stringify(config.server)}: no socket path`);
    return { origin: 'http://localhost', connect: { socketPath: url.pathname } };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`invalid apiserver URL ${JSON.stringify(config.server)}: scheme must be https, http or unix`);
  const tls = url.protocol === 'https:'
    ? { ca: config.ca, cert: config.clientCert, key: config.clientKey, rejectUnauthorized: !config.insecureSkipTlsVerify, servername: config.tlsServerName }
    : {};
  // A kubeconfig server may carry a path prefix (behind a proxy); keep it.
  return { origin: url.origin + url.pathname.replace(/\/$/, ''), connect: tls };
}

function queryString(query: RawRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

function qualified(namespace: string | undefined, name: string | undefined): string {
  return namespace ? `${namespace}/${name ?? ''}` : (name ?? '');
}

function nameOf(obj: KubeObject): { namespace: string | undefined; name: string } {
  const name = obj.metadata?.name;
  if (!name) throw new InvalidArgumentError('object has no metadata.name');
  return { namespace: obj.metadata?.namespace, name };
}
