import type { ExecutionContext } from 'ava';
import type { ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ProxyConfig } from '../../../src/endpoints/proxy-config.ts';
import type { Endpoint, ServicePort } from '../../../src/endpoints/proxy-state.ts';
import { spawnIn } from '../../../src/lab/netns.ts';
import type { DriverCommand, WireState } from './driver.ts';
import { proxyConfig as testProxyConfig, servicePort } from '../../helpers/proxy-state-fixtures.ts';

const driverPath = fileURLToPath(new URL('./driver.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export const SERVICE_CIDR = '172.30.0.0/16';

/**
 * DataplaneMode is what the traffic tests run against: the iptables proxier
 * on one of its backends, or the nftables proxier.
 */
export type DataplaneMode = 'iptables-nft' | 'iptables-legacy' | 'nftables' | 'userspace';

/** proxyConfig is a ProxyConfig for tests: pods in 10.244.0.0/16, long sync period (tests decide syncs). */
export function proxyConfig(mode: DataplaneMode, over: Partial<ProxyConfig> = {}): ProxyConfig {
  const backend = mode === 'iptables-legacy' ? 'legacy' : 'nft';
  return testProxyConfig({ syncPeriodMs: 3_600_000, minSyncPeriodMs: 0, mode: mode.startsWith('iptables') ? 'iptables' : mode, iptablesBackend: backend, ...over });
}

/**
 * ProxyDriver runs the iptables proxier inside the node namespace and feeds
 * it snapshots. Like the watcher, it works out what changed since the last
 * snapshot it sent (changed keys, UDP endpoints gone, UDP services that just
 * got endpoints).
 */
export class ProxyDriver {
  private readonly child: ChildProcess;
  private readonly lines: Interface;
  private readonly pending: Array<(line: string) => void> = [];
  private previous = new Map<string, string>();
  private previousEndpoints = new Map<string, Endpoint[]>();
  private previousServices = new Map<string, ServicePort>();
  /** The Node's primary IPs the snapshots carry, as the watcher reads them from the Node object. */
  nodeIPs: string[] = [];

  constructor(t: ExecutionContext, ns: string, config: ProxyConfig) {
    this.child = spawnIn(ns, process.execPath, ['--import', 'tsx', driverPath, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'], detached: true, cwd: repoRoot,
    });
    let stderr = '';
    this.child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    this.lines = createInterface({ input: this.child.stdout! });
    this.lines.on('line', (l) => this.pending.shift()?.(l));
    this.child.on('exit', () => {
      for (const p of this.pending.splice(0)) p(JSON.stringify({ ok: false, error: `driver exited: ${stderr}` }));
    });
    t.teardown(() => {
      if (this.child.exitCode === null && this.child.pid) {
        try {
          process.kill(-this.child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    });
  }

  private send(cmd: DriverCommand): Promise<{ ok: boolean; full?: boolean; error?: string }> {
    return new Promise((resolve) => {
      this.pending.push((l) => resolve(JSON.parse(l)));
      this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    });
  }

  /** sync sends the desired services and endpoints; rejects when the proxier reports a failed sync. */
  async sync(services: readonly ServicePort[], endpoints: Readonly<Record<string, Endpoint[]>>): Promise<{ full: boolean }> {
    const current = new Map(services.map((s) => [s.key, JSON.stringify([s, endpoints[s.key] ?? []])]));
    const changed = [...new Set([...current.keys(), ...this.previous.keys()])].filter((k) => current.get(k) !== this.previous.get(k));
    const deletedEndpoints: WireState['deletedEndpoints'] = [];
    const newlyActive: string[] = [];
    for (const key of changed) {
      const svc = services.find((s) => s.key === key) ?? this.previousServices.get(key);
      if (svc?.protocol !== 'UDP') continue;
      const before = this.previousEndpoints.get(key) ?? [];
      const after = endpoints[key] ?? [];
      const now = new Set(after.filter((e) => e.ready).map((e) => `${e.ip}:${e.port}`));
      for (const e of before) if (e.ready && !now.has(`${e.ip}:${e.port}`)) deletedEndpoints.push({ serviceKey: key, endpoint: `${e.ip}:${e.port}` });
      if (before.filter((e) => e.ready).length === 0 && now.size > 0) newlyActive.push(key);
    }
    const state: WireState = { services: [...services], endpoints: Object.entries(endpoints), changed, deletedEndpoints, newlyActive, nodeIPs: this.nodeIPs };
    const r = await this.send({ op: 'sync', state });
    if (!r.ok) throw new Error(`sync failed: ${r.error}`);
    this.previous = current;
    this.previousEndpoints = new Map(Object.entries(endpoints));
    this.previousServices = new Map(services.map((s) => [s.key, s]));
    return { full: r.full ?? false };
  }

  async cleanup(): Promise<void> {
    const r = await this.send({ op: 'cleanup' });
    if (!r.ok) throw new Error(`cleanup failed: ${r.error}`);
  }
}

/** service builds a ServicePort `default/<name>:http` on port 80 → agnhost 8080 unless told. */
export function service(name: string, clusterIP: string, over: Partial<ServicePort> = {}): ServicePort {
  return servicePort('default', name, { portName: 'http', clusterIPs: [clusterIP], ...over });
}

/** endpoint is a ready endpoint of a pod IP on agnhost's HTTP port (8080) unless told. */
export function endpoint(ip: string, over: Partial<Endpoint> = {}): Endpoint {
  return { ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: true, nodeName: 'node', ...over };
}
