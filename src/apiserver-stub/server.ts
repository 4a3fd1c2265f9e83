import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DEFAULT_EVENT_TTL_MS, EventExpiry } from './event-ttl.ts';
import { createServer as createTlsServer } from 'node:https';
import { chmodSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Backend } from './storage/backend.ts';
import { StoreFeed } from './storage/store-feed.ts';
import type { KubeObject } from '../kube/types.ts';
import { createLogger } from '../util/log.ts';
import { ApiError, apiErrors, storeFailure } from './errors.ts';
import type { TokenUser } from './auth.ts';
import type { UserInfo } from './handlers/reviews.ts';
import { Authority, type AuthorizationMode } from './rbac/authority.ts';
import { apiGroupDoc, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.ts';
import { dispatchBindings, dispatchResource } from './dispatch.ts';
import type { Api } from './handlers/context.ts';
import { Registry } from './registry.ts';
import { resourceDefs } from './resources.ts';
import { sendError, sendJson } from './request.ts';
import { route } from './router.ts';
import { nodeStreamPort, rejectUpgrade, relayUpgrade, STREAM_SUBRESOURCES } from './handlers/node-relay.ts';
import { parsePortRange } from './allocators/cidr.ts';
import { parseServiceCIDRs } from './allocators/ipv6-range.ts';
import { ServiceAllocator, serviceKey } from './allocators/service-allocator.ts';
import { serviceStrategy } from './strategies/service.ts';
import { bootstrap } from './bootstrap.ts';
import { OpenApiDocs } from './openapi/documents.ts';
import { isOpenApiPath, serveOpenApi } from './openapi/serve.ts';
import { CustomResources } from './crd/served.ts';
import type { ResourceDef } from './resource.ts';
import { InflightLimiter, defaultInflightLimits, type InflightLimits } from './inflight.ts';
import { ServiceAccountTokenSigner } from './serviceaccount/token-signer.ts';
import type { ServiceAccount } from 'kubernetes-types/core/v1.js';
import { withServiceAccountAdmission } from './strategies/pod-service-account.ts';
import { enabledAdmissionPlugins, type AdmissionPlugin } from './admission-plugins.ts';

const log = createLogger('apiserver');

export interface ApiServerOptions {
  readonly backend: Backend;
  /** Default 10.96.0.0/12. */
  readonly serviceClusterIPRange?: string;
  /** Default 30000-32767. */
  readonly serviceNodePortRange?: string;
  /** Bearer tokens; when set, every TCP request but health and version needs one (the Unix socket is the local admin). */
  readonly tokens?: ReadonlyMap<string, TokenUser>;
  /**
   * `--authorization-mode`, asked in order: AlwaysAllow (the default) lets
   * every authenticated request through; Node authorizes node agents
   * (rbac/node-authorizer.ts); RBAC evaluates Roles and bindings (rbac/authorizer.ts).
   */
  readonly authorizationMode?: AuthorizationMode | readonly AuthorizationMode[];
  /** Where the `kubernetes` Service's endpoints point (address:port), when given. */
  readonly advertise?: { address: string; port: number };
  readonly bookmarkIntervalMs?: number;
  /** `--max-requests-inflight` and `--max-mutating-requests-inflight` (kube's defaults: 400 and 200). */
  readonly inflight?: InflightLimits;
  /**
   * `--request-timeout`: how long a client may take to send its whole request
   * (default 60 s), so a client trickling a body cannot hold a slot forever.
   * Watches are not affected: their request is complete when they start.
   */
  readonly requestTimeoutMs?: number;
  /**
   * `--min-request-timeout` (default 1800 s, as kube): a watch that gives no
   * timeoutSeconds ends after a random time between one and two times this,
   * so clients re-establish their watches spread over time (and a
   * load-balanced apiserver's watchers rebalance).
   */
  readonly minRequestTimeoutMs?: number;
  /** `--event-ttl`: Events are deleted this long after they last happened (default 1 h; 0 keeps them). */
  readonly eventTtlMs?: number;
  /** Signs and checks ServiceAccount tokens (`--service-account-signing-key-file`); default a key of this process only. */
  readonly serviceAccountSigner?: ServiceAccountTokenSigner;
  /**
   * `--disable-admission-plugins`: kube's names of the default-on plugins to
   * turn off (admission-plugins.ts). `ServiceAccount` refuses pods whose
   * account does not exist, so a server without the serviceaccount
   * controller (which makes each namespace's `default`) turns it off, as
   * kube's own integration tests do.
   */
  readonly disableAdmissionPlugins?: readonly AdmissionPlugin[];
  /** How long a CRD conversion webhook may take (default 30 s, kube's). */
  readonly conversionWebhookTimeoutMs?: number;
}

/**
 * ApiServer is the compact Kubernetes API server: it serves discovery, the
 * resources of resources.ts over a storage Backend, and health checks, on
 * any number of HTTP(S) or Unix-socket listeners.
 */
export class ApiServer implements Api {
  readonly backend: Backend;
  /** The built-in resources' registries; `registries` adds each CRD's. */
  private readonly builtin: Registry[];
  private readonly custom: CustomResources;
  readonly podLogs = new Map<string, string>();
  readonly bookmarkIntervalMs: number;
  readonly minRequestTimeoutMs: number;
  readonly allocator: ServiceAllocator;
  private readonly byResource = new Map<string, Registry>();
  readonly authority: Authority;
  readonly tokenSigner: ServiceAccountTokenSigner;
  private readonly advertise: { address: string; port: number } | undefined;
  private readonly servers: Server[] = [];
  private readonly serviceFeed: StoreFeed;
  private openApi: OpenApiDocs | undefined;
  private readonly inflight: InflightLimiter;
  private readonly requestTimeoutMs: number;
  readonly eventExpiry: EventExpiry;

  constructor(options: ApiServerOptions) {
    this.backend = options.backend;
    this.tokenSigner = options.serviceAccountSigner ?? ServiceAccountTokenSigner.ephemeral();
    this.authority = new Authority(options.backend, options.tokens, [options.authorizationMode ?? 'AlwaysAllow'].flat(), this.tokenSigner);
    this.advertise = options.advertise;
    this.bookmarkIntervalMs = options.bookmarkIntervalMs ?? 30_000;
    this.inflight = new InflightLimiter(options.inflight ?? defaultInflightLimits);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.minRequestTimeoutMs = options.minRequestTimeoutMs ?? 1_800_000;
    const serviceCIDRs = parseServiceCIDRs(options.serviceClusterIPRange ?? '10.96.0.0/12');
    this.allocator = new ServiceAllocator(serviceCIDRs.v4, parsePortRange(options.serviceNodePortRange ?? '30000-32767'), serviceCIDRs.v6);
    const plugins = enabledAdmissionPlugins(options.disableAdmissionPlugins ?? []);
    this.builtin = resourceDefs(serviceStrategy(this.allocator)).map((def) => new Registry(this.backend, this.withAdmission(def, plugins)));
    for (const r of this.builtin) this.byResource.set(`${r.def.group}/${r.def.resource}`, r);
    this.serviceFeed = this.serviceFeedOf();
    this.eventExpiry = new EventExpiry(this.backend, this.registry('', 'events'), options.eventTtlMs ?? DEFAULT_EVENT_TTL_MS);
    this.custom = new CustomResources(this.backend, this.registry('apiextensions.k8s.io', 'customresourcedefinitions'), () => {
      this.openApi = undefined;
    }, options.conversionWebhookTimeoutMs !== undefined ? { timeoutMs: options.conversionWebhookTimeoutMs } : {});
  }

  /** withAdmission adds the admission plugins that read the store to the strategies they apply to. */
  private withAdmission(def: ResourceDef, plugins: ReadonlySet<AdmissionPlugin>): ResourceDef {
    if (def.group !== '' || def.resource !== 'pods' || !plugins.has('ServiceAccount')) return def;
    const lookup = async (namespace: string, name: string) => (await this.backend.get(this.registry('', 'serviceaccounts').key(namespace, name)))?.value as ServiceAccount | undefined;
    return { ...def, strategy: withServiceAccountAdmission(def.strategy, lookup) };
  }

  /** Every resource's registry: the built-in ones and one per CustomResourceDefinition. */
  get registries(): readonly Registry[] {
    return [...this.builtin, ...this.custom.storageRegistries()];
  }

  /** The ResourceDefs served now (discovery, OpenAPI): built-in and each CRD's served versions. */
  private servedDefs(): ResourceDef[] {
    return [...this.builtin.map((x) => x.def), ...this.custom.defs()];
  }

  private lookup(group: string, version: string, resource: string): ResourceDef | undefined {
    const def = this.byResource.get(`${group}/${resource}`)?.def;
    return def?.version === version ? def : this.custom.lookup(group, version, resource);
  }

  user(req: IncomingMessage): UserInfo {
    return this.authority.user(req);
  }

  registry(group: string, resource: string): Registry {
    const r = this.byResource.get(`${group}/${resource}`) ?? this.custom.storageRegistries().find((x) => x.def.group === group && x.def.resource === resource);
    if (!r) throw new Error(`no registry for ${resource}.${group}`);
    return r;
  }

  /** start opens the store, loads allocations, and creates the default namespaces and the `kubernetes` Service. */
  async start(): Promise<void> {
    await this.backend.start();
    await this.serviceFeed.start();
    await bootstrap(this, this.allocator.firstIP(), this.advertise);
    this.eventExpiry.start();
    await this.custom.start();
    await this.authority.start(this);
  }

  /**
   * serviceFeedOf records every stored Service's addresses and ports in the
   * allocator, then follows changes. A relist records what it lists again
   * (record is idempotent) and leaves the rest as it was.
   */
  private serviceFeedOf(): StoreFeed {
    // The stored values themselves (read only): the allocator reads names and spec, not what toObject adds, on every Service write.
    return new StoreFeed(this.backend, this.registry('', 'services').prefix(), 'Service allocation', {
      reset: () => {},
      put: (_key, value) => this.allocator.record(serviceKey(value as KubeObject), value as KubeObject),
      remove: (_key, value) => this.allocator.record(serviceKey(value as KubeObject), undefined),
    });
  }

  /** handle is the request listener: it never throws and always answers. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const release = this.admit(req, res);
    if (release === undefined) return;
    if (release !== 'exempt') res.once('close', release);
    this.serve(req, res).catch((error: unknown) => {
      if (error instanceof ApiError) return sendError(res, error);
      const mapped = storeFailure(error);
      if (mapped) return sendError(res, mapped);
      log.error('Request failed', { method: req.method, url: req.url, error: error instanceof Error ? error.stack : error });
      sendError(res, apiErrors.internal(error instanceof Error ? error.message : String(error)));
    });
  };

  /** admit counts the request into its inflight pool; a full pool is a 429 with Retry-After, as kube answers. */
  private admit(req: IncomingMessage, res: ServerResponse): (() => void) | 'exempt' | undefined {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return 'exempt'; // serve() answers the malformed URL
    }
    const release = this.inflight.enter(req, url);
    if (release !== undefined) return release;
    req.resume();
    res.setHeader('Retry-After', '1');
    sendError(res, new ApiError(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 }));
    return undefined;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw apiErrors.badRequest('malformed request URL');
    }
    const defs = this.servedDefs();
    const r = route(url.pathname, (g, v, resource) => this.lookup(g, v, resource), (g, v) => defs.some((d) => d.group === g && d.version === v));
    if (r.kind === 'health') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      return void res.end('ok');
    }
    if (r.kind === 'version') return sendJson(res, 200, versionInfo());
    const user = await this.authority.authenticate(req);
    if (user === undefined) throw apiErrors.unauthorized();
    await this.authority.check(user, req.method ?? 'GET', url, r);
    if (isOpenApiPath(url.pathname)) return serveOpenApi(req, res, url, (this.openApi ??= new OpenApiDocs(defs)));
    switch (r.kind) {
      case 'discovery': {
        if (req.method !== 'GET') throw apiErrors.methodNotAllowed(req.method ?? '', url.pathname);
        const doc = r.doc === 'api' ? apiVersions() : r.doc === 'apis' ? apiGroupList(defs) : r.doc === 'group' ? apiGroupDoc(defs, r.group) : apiResourceList(defs, r.group, r.version);
        if (doc === undefined) throw apiErrors.pathNotFound(url.pathname);
        return sendJson(res, 200, doc);
      }
      case 'bindings':
        return dispatchBindings(this, req, res, url.searchParams, r.namespace);
      case 'resource': {
        const registry = r.def.custom ? this.custom.registry(r.def.group, r.def.version, r.def.resource)! : this.registry(r.def.group, r.def.resource);
        return dispatchResource({ req, res, query: url.searchParams, api: this, def: r.def, registry, namespace: r.namespace, name: r.name, subresource: r.subresource });
      }
      default:
        throw apiErrors.pathNotFound(url.pathname);
    }
  }

  /**
   * upgrade serves requests that ask for an upgraded connection: pods/exec,
   * pods/attach and pods/portforward, relayed to the pod's node; anything
   * else is refused with a Status.
   */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    this.relayToNode(req, socket, head).catch((error: unknown) => {
      rejectUpgrade(socket, error instanceof ApiError ? error : storeFailure(error) ?? apiErrors.internal(error instanceof Error ? error.message : String(error)));
    });
  };

  private async relayToNode(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const r = route(url.pathname, (g, v, res2) => this.byResource.get(`${g}/${res2}`)?.def.version === v ? this.byResource.get(`${g}/${res2}`)?.def : undefined, () => true);
    const user = await this.authority.authenticate(req);
    if (user === undefined) throw apiErrors.unauthorized();
    await this.authority.check(user, req.method ?? 'GET', url, r);
    const stream = r.kind === 'resource' && r.def.resource === 'pods' && r.def.group === '' && r.namespace && r.name && (STREAM_SUBRESOURCES as readonly string[]).includes(r.subresource ?? '');
    if (!stream) throw apiErrors.badRequest(`${url.pathname} cannot be upgraded`);
    relayUpgrade(await nodeStreamPort(this, r.namespace!, r.name!), req, socket, head);
  }

  private track(server: Server): Server {
    server.on('upgrade', this.upgrade);
    server.keepAliveTimeout = 65_000;
    server.requestTimeout = this.requestTimeoutMs;
    server.headersTimeout = Math.min(60_000, this.requestTimeoutMs);
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return void socket.destroy();
      const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const status = timedOut ? new ApiError(408, 'Timeout', `the request was not received within ${this.requestTimeoutMs} ms`).status : apiErrors.badRequest('malformed HTTP request').status;
      socket.end(`HTTP/1.1 ${timedOut ? '408 Request Timeout' : '400 Bad Request'}\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(status)}`);
    });
    this.servers.push(server);
    return server;
  }

  /** listen serves on host:port (port 0 picks one) over HTTP, or HTTPS with tls files; resolves to the bound address. */
  listen(host: string, port: number, tls?: ServingTls): Promise<AddressInfo> {
    const checking = { connectionsCheckingInterval: Math.min(30_000, Math.max(100, this.requestTimeoutMs / 4)) };
    const server = this.track(tls ? createTlsServer({ ...tlsOptions(tls), ...checking }, this.handle) : createServer(checking, this.handle));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(server.address() as AddressInfo));
    });
  }

  /**
   * listenTlsUnix serves HTTPS on a Unix socket, authenticated as TCP
   * clients are: for a relay that carries remote clients' TLS connections to
   * it (the lab's `kubernetes` Service, reached from pods).
   */
  listenTlsUnix(path: string, tls: ServingTls): Promise<void> {
    const server = this.track(createTlsServer({ ...tlsOptions(tls), connectionsCheckingInterval: Math.min(30_000, Math.max(100, this.requestTimeoutMs / 4)) }, this.handle));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  }

  /** listenUnix serves the same API on a Unix socket (plain HTTP). */
  listenUnix(path: string): Promise<void> {
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      this.authority.markLocal(req);
      this.handle(req, res);
    };
    const server = this.track(createServer({ connectionsCheckingInterval: Math.min(30_000, Math.max(100, this.requestTimeoutMs / 4)) }, handle));
    // Upgrades (exec, attach, port-forward) on the socket are the local admin's too.
    server.prependListener('upgrade', (req: IncomingMessage) => this.authority.markLocal(req));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        // Whoever can connect is the administrator: only the owner may.
        chmodSync(path, 0o600);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.eventExpiry.stop();
    this.serviceFeed.close();
    this.custom.close();
    this.authority.close();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
    await this.backend.close();
  }
}

/** ServingTls: the serving certificate and key, and the CA whose client certificates authenticate (`--client-ca-file`). */
export interface ServingTls {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}

/**
 * tlsOptions: with a client CA the server asks for a certificate but lets a
 * connection without one (or with an unknown one) through, as kube-apiserver
 * does; the authenticator then trusts only a certificate that verified.
 */
function tlsOptions(tls: ServingTls): { cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean; rejectUnauthorized?: boolean } {
  const served = { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
  return tls.clientCaFile ? { ...served, ca: readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: false } : served;
}
