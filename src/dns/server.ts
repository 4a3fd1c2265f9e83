import type { Server as HttpServer } from 'node:http';
import { isIP } from 'node:net';
import { ClientAcl } from './acl.ts';
import { answerContext } from './answer.ts';
import type { ApiClientMetrics } from './client-metrics.ts';
import type { DnsController } from './controller.ts';
import { Forwarder, type Upstream } from './forward.ts';
import { DnsHandler, type Client } from './handler.ts';
import type { PacketHandler } from './packet-handler.ts';
import { startHttp } from './health.ts';
import type { PodMode } from './lookup.ts';
import { MallocTrimmer } from './malloc-trim.ts';
import { DnsMetrics } from './metrics.ts';
import { TcpServer } from './server-tcp.ts';
import { ZoneTransfer, type TransferConfig } from './transfer.ts';
import { UdpServer } from './server-udp.ts';
import { AddressSockets } from './server-udp-addresses.ts';
import { BatchUdpServer } from './udp-batch/server.ts';
import { createLogger } from '../util/log.ts';
import { BUNDLED } from '../util/repo.ts';

const log = createLogger('dns');

/** DnsServerOptions are validated `ferry dns` settings (see src/cli/commands/dns.ts for defaults). */
export interface DnsServerOptions {
  controller: DnsController;
  /** Listen host and port (port 0 picks one; UDP and TCP then share it). */
  host: string;
  port: number;
  zone: string;
  /** Reverse zones answered from the cluster and zones whose NXDOMAINs are forwarded (see HandlerOptions; default kubeadm's). */
  reverseZones?: readonly string[];
  fallthrough?: readonly string[];
  multiclusterZones?: readonly string[];
  otherZones?: readonly string[];
  ttl: number;
  podMode: PodMode;
  /** `kubernetes { zonal }`: zone-scoped names of headless services. */
  zonal?: boolean;
  upstreams: Upstream[];
  forwardAllow: string[];
  /** Non-loopback addresses this server answers on (the apex NS glue); see boundIPs. */
  localIPs?: readonly string[];
  upstreamTimeoutMs?: number;
  /** '' disables an endpoint. */
  healthAddress: string;
  readyAddress: string;
  metricsAddress: string;
  /**
   * Answer UDP with the batched recvmmsg/sendmmsg worker (IPv4, Linux).
   * Default: when running from the bundle (the worker is a separate bundled
   * file; under tsx a worker thread cannot load TypeScript). Without it, or
   * when it cannot start, node:dgram serves.
   */
  udpBatch?: boolean;
  /** Forwarder cache size (default 10,000; 0: a Corefile without `cache`), longest TTL kept (`cache TTL`), upstream order (`policy`). */
  forwardCacheSize?: number;
  forwardMaxTtl?: number;
  forwardMaxNegativeTtl?: number;
  forwardMinTtl?: number;
  forwardPolicy?: 'random' | 'round_robin' | 'sequential';
  /**
   * wrapHandler puts a Corefile's plugin chain (rewrite, hosts, ...) in
   * front of the handler. Then the batched UDP worker may only answer
   * responses `batchable` accepts by itself; others go to the main thread
   * and through the chain.
   */
  wrapHandler?: (handler: DnsHandler) => PacketHandler;
  /**
   * false: open no DNS sockets; another server on the same port hands this
   * one the queries for its zones (several Corefile blocks on one port).
   */
  listen?: boolean;
  /** The API client's request metrics, shown on this server's /metrics too. */
  clientMetrics?: ApiClientMetrics;
  /** `transfer`: AXFR/IXFR of the cluster zone over TCP; without it transfers are REFUSED. */
  transfer?: TransferConfig;
  /** Transfers of other plugins' zones (`k8s_external`), asked when the cluster zones' is not the one asked for. */
  moreTransfers?: { messages(packet: Buffer, client: Client): Iterable<Buffer> | undefined };
  batchable?: (response: Buffer) => boolean;
}

/**
 * DnsServer is one running `ferry dns`: the handler on UDP and TCP, the
 * forwarder, and the health/ready/metrics endpoints. close() is idempotent.
 */
export class DnsServer {
  readonly handler: DnsHandler;
  /** What the servers call: the handler, or the plugin chain around it. */
  readonly entry: PacketHandler;
  readonly metrics: DnsMetrics;
  #udp: UdpServer | BatchUdpServer;
  /** node:dgram on a wildcard address: a socket per local address, so answers leave from the queried address. */
  #perAddress: AddressSockets | undefined;
  readonly #tcp: TcpServer;
  readonly #family: 4 | 6;
  readonly #forwarder: Forwarder;
  readonly #trimmer: MallocTrimmer;
  readonly #http: HttpServer[] = [];
  /** Bound `host:port` of each enabled HTTP endpoint (ports resolved when 0 was asked). */
  readonly httpAddresses: { health?: string; ready?: string; metrics?: string } = {};
  #port = 0;
  #closed = false;

  private constructor(o: DnsServerOptions) {
    this.metrics = new DnsMetrics(`dns://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`);
    o.clientMetrics?.registerIn(this.metrics.registry);
    this.#forwarder = new Forwarder({
      upstreams: o.upstreams, timeoutMs: o.upstreamTimeoutMs ?? 2000, cacheSize: o.forwardCacheSize ?? 10_000, maxTtl: o.forwardMaxTtl,
      maxNegativeTtl: o.forwardMaxNegativeTtl, minTtl: o.forwardMinTtl, policy: o.forwardPolicy,
    });
    this.#family = isIP(o.host) === 6 ? 6 : 4;
    const batch = (o.udpBatch ?? BUNDLED) && this.#family === 4 && o.listen !== false ? new BatchUdpServer(this.metrics) : undefined;
    this.handler = new DnsHandler({
      controller: o.controller,
      zone: o.zone,
      ...(o.reverseZones ? { reverseZones: o.reverseZones } : {}),
      ...(o.fallthrough ? { fallthrough: o.fallthrough } : {}),
      ...(o.multiclusterZones ? { multiclusterZones: o.multiclusterZones } : {}),
      ...(o.otherZones ? { otherZones: o.otherZones } : {}),
      ttl: o.ttl,
      podMode: o.podMode,
      zonal: o.zonal ?? false,
      localIPs: o.localIPs ?? [],
      forwarder: o.upstreams.length ? this.#forwarder : undefined,
      acl: new ClientAcl(o.forwardAllow),
      metrics: this.metrics,
      ...(batch ? { cacheListener: batchListener(batch.cacheListener, o.batchable) } : {}),
    });
    this.entry = o.wrapHandler ? o.wrapHandler(this.handler) : this.handler;
    if (batch) batch.handler = this.entry;
    o.controller.onChange((kind, at) => at !== undefined && this.metrics.programmed(kind, at));
    this.#udp = batch ?? new UdpServer(this.entry, this.#family);
    const transfer = o.transfer && new ZoneTransfer(o.transfer, answerContext(o), o.multiclusterZones, o.otherZones);
    const more = o.moreTransfers;
    const transfers = transfer && more ? { messages: (p: Buffer, c: Client) => transfer.messages(p, c) ?? more.messages(p, c) } : transfer ?? more;
    this.#tcp = new TcpServer(this.entry, { idleTimeoutMs: 10_000, maxConnections: 1000, ...(transfers ? { transfer: transfers } : {}) });
    this.#trimmer = new MallocTrimmer(o.controller);
  }

  static async start(o: DnsServerOptions): Promise<DnsServer> {
    const server = new DnsServer(o);
    try {
      if (o.listen === false) server.#port = o.port;
      else await server.#listenDns(o);
      const endpoints = new Map<string, Parameters<typeof startHttp>[1]>();
      const add = (addr: string, what: Parameters<typeof startHttp>[1]) => {
        if (addr) endpoints.set(addr, { ...endpoints.get(addr), ...what });
      };
      add(o.healthAddress, { health: true });
      add(o.readyAddress, { ready: o.controller });
      add(o.metricsAddress, { metrics: server.metrics });
      for (const [addr, what] of endpoints) {
        const started = await startHttp(addr, what);
        server.#http.push(started.server);
        const bound = addr.replace(/:\d+$/, `:${started.port}`);
        if (what.health) server.httpAddresses.health = bound;
        if (what.ready) server.httpAddresses.ready = bound;
        if (what.metrics) server.httpAddresses.metrics = bound;
      }
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  async #listenDns(o: DnsServerOptions): Promise<void> {
    // TCP first: with port 0 it picks the port, and UDP takes the same one.
    this.#port = await this.#tcp.listen(o.port, o.host);
    try {
      await this.#udp.listen(this.#port, o.host);
    } catch (error) {
      if (!(this.#udp instanceof BatchUdpServer) || (error as { code?: string }).code === 'EADDRINUSE') throw error;
      log.warn('Batched UDP unavailable, using node:dgram', { err: error });
      this.#udp = new UdpServer(this.entry, this.#family);
      await this.#udp.listen(this.#port, o.host);
    }
    // The batched path answers from the queried address itself (IP_PKTINFO); node:dgram cannot.
    if (this.#udp instanceof UdpServer && isWildcard(o.host)) {
      this.#perAddress = new AddressSockets(this.entry, { family: this.#family, port: this.#port });
      await this.#perAddress.scan();
    }
  }

  get port(): number {
    return this.#port;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#trimmer.stop();
    this.#forwarder.close();
    await Promise.all([this.#udp.close(), this.#tcp.close(), this.#perAddress?.close(), ...this.#http.map((s) => new Promise((r) => s.close(r)))]);
  }
}

/** batchListener passes the worker only the prebuilt responses it may answer without the main thread. */
function batchListener(listener: BatchUdpServer['cacheListener'], batchable: ((response: Buffer) => boolean) | undefined): BatchUdpServer['cacheListener'] {
  if (!batchable) return listener;
  return {
    set: (key, response) => {
      if (batchable(response)) listener.set(key, response);
    },
    clear: () => listener.clear(),
  };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}
