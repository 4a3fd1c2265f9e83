import type { Server as HttpServer } from 'node:http';
import { isIP } from 'node:net';
import { ClientAcl } from './acl.ts';
import type { DnsController } from './controller.ts';
import { Forwarder, type Upstream } from './forward.ts';
import { DnsHandler } from './handler.ts';
import { startHttp } from './health.ts';
import type { PodMode } from './lookup.ts';
import { DnsMetrics } from './metrics.ts';
import { TcpServer } from './server-tcp.ts';
import { UdpServer } from './server-udp.ts';

/** DnsServerOptions are validated `ferry dns` settings (see src/cli/commands/dns.ts for defaults). */
export interface DnsServerOptions {
  controller: DnsController;
  /** Listen host and port (port 0 picks one; UDP and TCP then share it). */
  host: string;
  port: number;
  zone: string;
  ttl: number;
  podMode: PodMode;
  upstreams: Upstream[];
  forwardAllow: string[];
  upstreamTimeoutMs?: number;
  /** '' disables an endpoint. */
  healthAddress: string;
  readyAddress: string;
  metricsAddress: string;
  /** Receive UDP here only (cluster workers share the primary's socket); default true. */
  tcp?: boolean;
}

/**
 * DnsServer is one running `ferry dns`: the handler on UDP and TCP, the
 * forwarder, and the health/ready/metrics endpoints. close() is idempotent.
 */
export class DnsServer {
  readonly handler: DnsHandler;
  readonly metrics: DnsMetrics;
  readonly #udp: UdpServer;
  readonly #tcp: TcpServer | undefined;
  readonly #forwarder: Forwarder;
  readonly #http: HttpServer[] = [];
  /** Bound `host:port` of each enabled HTTP endpoint (ports resolved when 0 was asked). */
  readonly httpAddresses: { health?: string; ready?: string; metrics?: string } = {};
  #port = 0;
  #closed = false;

  private constructor(o: DnsServerOptions) {
    this.metrics = new DnsMetrics(`dns://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`);
    this.#forwarder = new Forwarder({ upstreams: o.upstreams, timeoutMs: o.upstreamTimeoutMs ?? 2000, cacheSize: 10_000 });
    this.handler = new DnsHandler({
      controller: o.controller,
      zone: o.zone,
      ttl: o.ttl,
      podMode: o.podMode,
      forwarder: o.upstreams.length ? this.#forwarder : undefined,
      acl: new ClientAcl(o.forwardAllow),
      metrics: this.metrics,
    });
    o.controller.onChange((kind, at) => at !== undefined && this.metrics.programmed(kind, at));
    const family = isIP(o.host) === 6 ? 6 : 4;
    this.#udp = new UdpServer(this.handler, family);
    this.#tcp = o.tcp === false ? undefined : new TcpServer(this.handler, { idleTimeoutMs: 10_000, maxConnections: 1000 });
  }

  static async start(o: DnsServerOptions): Promise<DnsServer> {
    const server = new DnsServer(o);
    try {
      if (server.#tcp) {
        // TCP first: with port 0 it picks the port, and UDP takes the same one.
        server.#port = await server.#tcp.listen(o.port, o.host);
        await server.#udp.listen(server.#port, o.host);
      } else server.#port = await server.#udp.listen(o.port, o.host);
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

  get port(): number {
    return this.#port;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#forwarder.close();
    await Promise.all([this.#udp.close(), this.#tcp?.close(), ...this.#http.map((s) => new Promise((r) => s.close(r)))]);
  }
}
