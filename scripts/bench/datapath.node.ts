/**
 * The data-path benchmark's node half: runs inside the lab node namespace
 * (`ip netns exec <node> node --import tsx datapath.node.ts <mode>`) and
 * programs N synthetic services with one proxy backend. One JSON command per
 * stdin line, one JSON answer per line on stdout:
 *
 *   {"op":"sync","services":N,"endpoints":["10.244.1.11:8080",...]}
 *       → {"ok":true,"syncMs":812.4,"clusterIP":"10.96.40.15"}   (a fresh proxier, first sync from empty)
 *   {"op":"reset"} → {"ok":true}   (the proxier's cleanup: removes its rules and listeners)
 *
 * Service keys are zero-padded (`bench/svc-00042:http`) and given in order,
 * so the last service sorts last in iptables' KUBE-SERVICES and in the
 * userspace portal chain: the rule a first packet to it meets after all others
 * (IPVS looks services up in a hash table: no order there).
 */
import { createInterface } from 'node:readline';
import { ProxyMetrics } from '../../src/endpoints/metrics.ts';
import type { ProxyConfig } from '../../src/endpoints/proxy-config.ts';
import type { Proxier } from '../../src/endpoints/proxier.ts';
import type { Endpoint, ProxyState, ServicePort } from '../../src/endpoints/proxy-state.ts';
import { IptablesProxier } from '../../src/iptables/index.ts';
import { writeProcSysctl } from '../../src/iptables/sysctl.ts';
import { detectHostFeatures } from '../../src/iptables/host-features.ts';
import { createRunner } from '../../src/iptables/runner.ts';
import { createProxier as createUserspaceProxier } from '../../src/userspace/index.ts';
import { IpvsProxier } from '../../src/ipvs/proxier.ts';
import { benchProxyConfig, noIptablesMetrics } from './synthetic.ts';

export type DatapathMode = 'iptables-nft' | 'iptables-legacy' | 'userspace' | 'ipvs';

/** clusterIP of service i: 10.96.1.0 upwards, inside the lab only. */
export const clusterIP = (i: number): string => `10.96.${1 + (i >> 8)}.${i & 255}`;

/** The lab node's proxy: pods 10.244.0.0/16, NodePorts on localhost too, kube-proxy's sync periods. */
const config = (mode: DatapathMode): ProxyConfig => ({
  // ipvs runs under UML, whose kernel has no nftables NAT (LAB.md).
  ...benchProxyConfig(mode.startsWith('iptables') ? 'iptables' : mode, mode === 'iptables-legacy' || mode === 'ipvs' ? 'legacy' : 'nft'),
  nodeName: 'node',
  clusterCIDRs: ['10.244.0.0/16'],
  localhostNodePorts: true,
  syncPeriodMs: 30_000,
  minSyncPeriodMs: 1_000,
});

async function createProxier(mode: DatapathMode): Promise<Proxier> {
  if (mode === 'userspace') return createUserspaceProxier(config(mode), new ProxyMetrics());
  if (mode === 'ipvs') return new IpvsProxier(config(mode));
  const backend = mode === 'iptables-legacy' ? 'legacy' : 'nft';
  return new IptablesProxier({
    config: config(mode),
    runner: createRunner(backend),
    metrics: noIptablesMetrics,
    healthHost: '0.0.0.0',
    now: Date.now,
    sysctl: writeProcSysctl, // runs inside the node namespace
    host: await detectHostFeatures(backend),
  });
}

function servicePort(i: number, width: number): ServicePort {
  const name = `svc-${String(i).padStart(width, '0')}`;
  return {
    key: `bench/${name}:http`, namespace: 'bench', name, portName: 'http', protocol: 'TCP', type: 'ClusterIP',
    clusterIPs: [clusterIP(i)], port: 80, nodePort: 0, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    sessionAffinity: { type: 'None' }, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', healthCheckNodePort: 0,
  };
}

function endpoint(address: string): Endpoint {
  const [ip, port] = address.split(':');
  return { ip: ip!, port: Number(port), ready: true, serving: true, terminating: false, nodeName: 'node', isLocal: true };
}

/** syntheticState is N services on port 80, each with the given endpoints, all counted as changed. */
function syntheticState(n: number, endpoints: readonly string[]): ProxyState {
  const width = String(n).length;
  const services = new Map<string, ServicePort>();
  for (let i = 0; i < n; i++) {
    const sp = servicePort(i, width);
    services.set(sp.key, sp);
  }
  const eps = endpoints.map(endpoint);
  return {
    nodeName: 'node', nodeLabels: {}, services,
    endpoints: new Map([...services.keys()].map((k) => [k, eps])),
    changed: new Set(services.keys()),
    udpConntrack: { deletedEndpoints: [], newlyActiveServices: new Set() },
    triggerTimes: new Map(),
  };
}

type Command = { op: 'sync'; services: number; endpoints: string[] } | { op: 'reset' };

const mode = process.argv[2] as DatapathMode;
let proxier: Proxier | undefined;

async function handle(cmd: Command): Promise<Record<string, unknown>> {
  if (cmd.op === 'reset') {
    await proxier?.cleanup();
    await proxier?.close();
    proxier = undefined;
    return { ok: true };
  }
  proxier = await createProxier(mode);
  const state = syntheticState(cmd.services, cmd.endpoints);
  // A failed sync is retried as the SyncRunner would (legacy iptables shares
  // /run/xtables.lock with every other process on the machine); the time
  // reported is that of the sync that succeeded.
  let error = '';
  for (let attempt = 1; attempt <= 4; attempt++) {
    const started = performance.now();
    const r = await proxier.sync(state);
    const syncMs = performance.now() - started;
    if (r.ok) return { ok: true, syncMs, attempts: attempt, clusterIP: clusterIP(cmd.services - 1) };
    error = r.error.message;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return { ok: false, error: `4 attempts; last: ${error}` };
}

for await (const line of createInterface({ input: process.stdin })) {
  const out = await handle(JSON.parse(line) as Command).catch((err: Error) => ({ ok: false, error: err.message }));
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
// stdin closed: the orchestrator is done (or gone); leave nothing installed.
await proxier?.cleanup().catch(() => {});
await proxier?.close().catch(() => {});
process.exit(0);
