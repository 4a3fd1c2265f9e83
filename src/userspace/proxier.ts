import type { Proxier, SyncResult } from '../endpoints/proxier.ts';
import type { Endpoint, ProxyState, ServicePort } from '../endpoints/proxy-state.ts';
import { categorizeEndpoints } from '../endpoints/topology.ts';
import { createLogger } from '../util/log.ts';
import { TcpEngine } from './engine/engine.ts';
import { ListenError } from './errors.ts';
import type { UserspaceMetrics } from './metrics.ts';
import { PortAllocator } from './port-allocator.ts';
import { renderPortal, renderRestore } from './portal-rules.ts';
import type { PortalRunner } from './portal-runner.ts';
import { UdpProxy } from './udp-proxy.ts';

const log = createLogger('userspace');

/** UserspaceProxierOptions are the explicit arguments of the userspace backend. */
export interface UserspaceProxierOptions {
  /** Address listeners bind: 0.0.0.0 on a node (portal rules redirect to it); tests use 127.0.0.1. */
  readonly listenAddress: string;
  readonly portRange: readonly [number, number] | undefined;
  readonly udpIdleTimeoutMs: number;
  readonly runner: PortalRunner;
  readonly metrics: UserspaceMetrics;
  /** Engine threads proxying TCP (see engine/engine.ts). */
  readonly tcpThreads: number;
}

/** ServiceListener is a service port's listener with the balancer its new connections use. */
interface ServiceListener {
  readonly port: number;
  update(endpoints: readonly string[], affinityMs: number): void;
  close(): Promise<void>;
}

/** ProxiedService is one service port with its own listener. */
interface ProxiedService {
  svc: ServicePort;
  readonly listener: ServiceListener;
  /** The port allocator's reservation (0 when the kernel chose the port). */
  readonly reserved: number;
}

/**
 * UserspaceProxier is the userspace mode: every TCP/UDP service port gets a
 * listener on the node, portal rules send the service's traffic to it, and
 * the proxy moves bytes to an endpoint: TCP on the engine threads, UDP
 * through node:dgram. The backend sees connections from the
 * node, never the client's address (source IP is lost, as in upstream's
 * userspace mode). SCTP ports and IPv6 addresses are not proxied.
 *
 * Invariant: `services` and `rules` are mutated only inside sync/close, and
 * calls never overlap (Proxier contract).
 */
export class UserspaceProxier implements Proxier {
  readonly mode = 'userspace';
  private readonly options: UserspaceProxierOptions;
  private readonly ports: PortAllocator;
  private readonly services = new Map<string, ProxiedService>();
  /** Portal rule lines last written, per service key. */
  private rules = new Map<string, readonly string[]>();
  private needFullSync = true;
  /** Its threads start with the first TCP listener, so a proxier that never serves starts none. */
  private readonly engine: TcpEngine;

  constructor(options: UserspaceProxierOptions) {
    this.options = options;
    this.ports = new PortAllocator(options.portRange);
    this.engine = new TcpEngine(options.tcpThreads, options.metrics);
  }

  /** proxyPort is the listener port of a service key (for tests and logs), or undefined. */
  proxyPort(serviceKey: string): number | undefined {
    return this.services.get(serviceKey)?.listener.port;
  }

  async sync(state: ProxyState): Promise<SyncResult> {
    const wanted = proxiedServices(state);
    await this.closeRemoved(wanted);
    const errors: Error[] = [];
    for (const svc of wanted.values()) {
      const entry = this.services.get(svc.key) ?? (await this.openService(svc).catch((err: Error) => void errors.push(err)));
      if (!entry) continue;
      entry.svc = svc;
      entry.listener.update(endpointAddresses(svc, state.endpoints.get(svc.key) ?? []), svc.sessionAffinity.type === 'ClientIP' ? svc.sessionAffinity.timeoutSeconds * 1000 : 0);
    }
    const full = this.needFullSync;
    try {
      await this.writeRules(full);
    } catch (err) {
      this.needFullSync = true;
      return { ok: false, error: err as Error };
    }
    if (errors.length > 0) return { ok: false, error: errors[0]! };
    return { ok: true, full, stats: { services: this.services.size, openConnections: this.options.metrics.openConnections() } };
  }

  async cleanup(): Promise<void> {
    await this.close();
    await this.options.runner.removeAll();
    this.rules = new Map();
    this.needFullSync = true;
  }

  async close(): Promise<void> {
    await this.closeRemoved(new Map());
    await this.engine.close();
  }

  private async openService(svc: ServicePort): Promise<ProxiedService> {
    let lastError: unknown;
    for (let i = 0; i < this.ports.attempts; i++) {
      const reserved = this.ports.next();
      try {
        const listener = svc.protocol === 'UDP'
          ? await UdpProxy.open(svc.key, this.options.listenAddress, reserved, this.options.udpIdleTimeoutMs, this.options.metrics)
          : this.engine.listen(svc.key, this.options.listenAddress, reserved, [], 0);
        const entry = { svc, listener, reserved };
        this.services.set(svc.key, entry);
        log.info(2, 'Opened proxy listener', { service: svc.key, protocol: svc.protocol, port: listener.port });
        return entry;
      } catch (err) {
        // Keep the busy port reserved so the allocator moves past it.
        lastError = err;
      }
    }
    throw new ListenError(svc.key, lastError);
  }

  /** closeRemoved closes listeners of services that are gone or changed protocol. */
  private async closeRemoved(wanted: ReadonlyMap<string, ServicePort>): Promise<void> {
    for (const [key, entry] of [...this.services]) {
      const next = wanted.get(key);
      if (next && next.protocol === entry.svc.protocol) continue;
      this.services.delete(key);
      await entry.listener.close();
      this.ports.release(entry.reserved);
      log.info(2, 'Closed proxy listener', { service: key });
    }
  }

  private async writeRules(full: boolean): Promise<void> {
    const next = new Map<string, readonly string[]>();
    for (const [key, { svc, listener }] of this.services) {
      next.set(key, renderPortal({ serviceKey: key, protocol: svc.protocol as 'TCP' | 'UDP', ips: serviceIPs(svc), port: svc.port, nodePort: svc.nodePort, proxyPort: listener.port }));
    }
    const text = renderRestore(this.rules, next, full);
    if (text !== undefined) await this.options.runner.restore(text);
    // After the restore: a full one has just created the chains the jumps point to.
    if (full) await this.options.runner.ensureJumps();
    this.rules = next;
    this.needFullSync = false;
  }
}

const isIPv4 = (ip: string) => !ip.includes(':');

/** proxiedServices selects the service ports this mode serves: TCP/UDP with an IPv4 cluster IP. */
function proxiedServices(state: ProxyState): Map<string, ServicePort> {
  const out = new Map<string, ServicePort>();
  for (const svc of state.services.values()) {
    if (svc.protocol === 'SCTP' || !svc.clusterIPs.some(isIPv4)) continue;
    out.set(svc.key, svc);
  }
  return out;
}

function serviceIPs(svc: ServicePort): string[] {
  return [...new Set([...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs])].filter(isIPv4);
}

/**
 * endpointAddresses picks the endpoints new connections may use. One listener
 * serves internal and external traffic alike (the client address is not
 * known to the rules), so a service that uses cluster-wide endpoints uses
 * them for all traffic, otherwise its local ones.
 */
function endpointAddresses(svc: ServicePort, endpoints: readonly Endpoint[]): string[] {
  const c = categorizeEndpoints(svc, endpoints);
  return (c.cluster ?? c.local ?? []).filter((ep) => isIPv4(ep.ip)).map((ep) => `${ep.ip}:${ep.port}`);
}
