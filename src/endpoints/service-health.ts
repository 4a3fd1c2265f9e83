import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../util/log.ts';
import type { IPFamily } from './node-port-addresses.ts';
import type { ProxyState } from './proxy-state.ts';

const log = createLogger('service-health');

/** healthHostOf is where a family's proxier listens for health checks: '::' is IPv6 only, so both families' servers share the ports. */
export const healthHostOf = (family: IPFamily): string => (family === 4 ? '0.0.0.0' : '::');

/** HealthCheckService is one service with a health check node port (externalTrafficPolicy Local). */
export interface HealthCheckService {
  readonly namespace: string;
  readonly name: string;
  /** spec.healthCheckNodePort. */
  readonly port: number;
}

interface Listener {
  readonly service: HealthCheckService;
  readonly server: Server;
  localEndpoints: number;
}

/**
 * ServiceHealthServer serves kube-proxy's per-service health check node
 * ports: 200 when this node has local endpoints for the service (and the
 * proxy is healthy), 503 otherwise, so external load balancers send traffic
 * only to nodes that can serve it without a second hop. Every backend uses it.
 */
export class ServiceHealthServer {
  private readonly host: string;
  private readonly isProxyHealthy: () => boolean;
  /** Keyed by `namespace/name`. */
  private readonly listeners = new Map<string, Listener>();

  /**
   * host is the listen address ('0.0.0.0' in a node; '::' listens on IPv6
   * only, so an IPv6 proxier's server sits beside the IPv4 one's on the same
   * ports); isProxyHealthy feeds serviceProxyHealthy.
   */
  constructor(host: string, isProxyHealthy: () => boolean) {
    this.host = host;
    this.isProxyHealthy = isProxyHealthy;
  }

  /**
   * syncServices opens a listener per service (keyed `namespace/name`) and
   * closes those no longer wanted. A port that cannot be bound is reported
   * and retried on the next sync; it does not stop the others.
   */
  async syncServices(services: ReadonlyMap<string, HealthCheckService>): Promise<Error[]> {
    for (const [key, l] of this.listeners) {
      const want = services.get(key);
      if (!want || want.port !== l.service.port) {
        this.listeners.delete(key);
        await closeServer(l.server);
      }
    }
    const errors: Error[] = [];
    for (const [key, service] of services) {
      if (this.listeners.has(key)) continue;
      const listener: Listener = { service, server: createServer(), localEndpoints: 0 };
      listener.server.on('request', (_req, res) => {
        const healthy = this.isProxyHealthy();
        const body = JSON.stringify({ service: { namespace: service.namespace, name: service.name }, localEndpoints: listener.localEndpoints, serviceProxyHealthy: healthy });
        res.setHeader('Content-Type', 'application/json');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('X-Load-Balancing-Endpoint-Weight', String(listener.localEndpoints));
        res.statusCode = listener.localEndpoints > 0 && healthy ? 200 : 503;
        res.end(body);
      });
      try {
        await listen(listener.server, service.port, this.host);
        this.listeners.set(key, listener);
      } catch (e) {
        log.warn(`cannot open health check node port`, { service: key, port: service.port, err: String(e) });
        errors.push(e as Error);
      }
    }
    return errors;
  }

  /** syncEndpoints sets each service's local endpoint count (missing keys count 0). */
  syncEndpoints(localEndpoints: ReadonlyMap<string, number>): void {
    for (const [key, l] of this.listeners) l.localEndpoints = localEndpoints.get(key) ?? 0;
  }

  /**
   * syncFromState opens the health check node ports of `state`'s services
   * (externalTrafficPolicy Local) and sets their local endpoint counts, as
   * every proxy backend does after it programmed a snapshot.
   */
  async syncFromState(state: ProxyState): Promise<Error[]> {
    const wanted = new Map<string, HealthCheckService>();
    // kube-proxy's LocalReadyEndpoints: only ready local endpoints count, so the
    // check fails (load balancers drain the node) when it has only terminating
    // ones, which still serve what arrives; counted by IP across the service's ports.
    const localIPs = new Map<string, Set<string>>();
    for (const svc of state.services.values()) {
      if (svc.healthCheckNodePort <= 0) continue;
      const key = `${svc.namespace}/${svc.name}`;
      wanted.set(key, { namespace: svc.namespace, name: svc.name, port: svc.healthCheckNodePort });
      let ips = localIPs.get(key);
      if (!ips) localIPs.set(key, (ips = new Set()));
      for (const ep of state.endpoints.get(svc.key) ?? []) if (ep.isLocal && ep.ready) ips.add(ep.ip);
    }
    const errors = await this.syncServices(wanted);
    this.syncEndpoints(new Map([...localIPs].map(([key, ips]) => [key, ips.size])));
    return errors;
  }

  /** port returns the bound port of a service's listener (tests use port 0). */
  port(key: string): number | undefined {
    const addr = this.listeners.get(key)?.server.address();
    return addr && typeof addr === 'object' ? (addr as AddressInfo).port : undefined;
  }

  /** close closes every listener; idempotent. */
  async close(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map((l) => closeServer(l.server)));
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only: host.includes(':') }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
