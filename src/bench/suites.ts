import { InvalidArgumentError } from '../util/errors.ts';

/**
 * SuiteDef registers one benchmark suite: the script under `scripts/bench/`
 * that measures it, the programs it cannot run without, and how long a run
 * may take before it is counted as failed.
 */
export interface SuiteDef {
  readonly name: string;
  readonly description: string;
  /** Programs that must be on PATH; without one the suite is reported as skipped. */
  readonly requires: readonly string[];
  readonly timeoutMs: { readonly quick: number; readonly full: number };
}

const MIN = 60_000;

export const SUITES: readonly SuiteDef[] = [
  { name: 'store', description: 'storage backend: create rate, list, watch fan-out, restart', requires: [], timeoutMs: { quick: 1 * MIN, full: 5 * MIN } },
  { name: 'apiserver', description: 'create/list/watch fan-out of the compact apiserver, server-side against client-side apply, the list without managedFields', requires: [], timeoutMs: { quick: 2 * MIN, full: 10 * MIN } },
  { name: 'apiserver-secure', description: 'create and list over HTTPS with RBAC against plain HTTP with AlwaysAllow, in one run', requires: [], timeoutMs: { quick: 2 * MIN, full: 10 * MIN } },
  { name: 'scheduler', description: 'pods bound per second; EndpointSlice convergence', requires: [], timeoutMs: { quick: 2 * MIN, full: 10 * MIN } },
  { name: 'watcher', description: 'initial sync at 100k endpoints; change-to-snapshot latency', requires: [], timeoutMs: { quick: 2 * MIN, full: 10 * MIN } },
  { name: 'iptables', description: 'render and restore times, incremental sync, nft vs legacy', requires: ['iptables-restore'], timeoutMs: { quick: 2 * MIN, full: 15 * MIN } },
  { name: 'nftables', description: 'nftables full sync vs nft -f floor vs iptables; one change; API-to-traffic latency per mode', requires: ['nft'], timeoutMs: { quick: 5 * MIN, full: 30 * MIN } },
  { name: 'ipvs', description: 'IPVS sync vs ipvsadm --restore, under User-Mode Linux', requires: ['linux.uml', 'ipvsadm'], timeoutMs: { quick: 3 * MIN, full: 15 * MIN } },
  { name: 'userspace', description: 'userspace proxy vs HAProxy vs kernel DNAT', requires: ['iperf3', 'wrk', 'haproxy'], timeoutMs: { quick: 3 * MIN, full: 15 * MIN } },
  { name: 'datapath', description: 'first-packet latency vs number of services per mode', requires: ['iptables-restore'], timeoutMs: { quick: 3 * MIN, full: 20 * MIN } },
  { name: 'datapath-ipvs', description: 'first-packet latency vs number of services, ipvs mode under User-Mode Linux', requires: ['linux.uml', 'ipvsadm'], timeoutMs: { quick: 4 * MIN, full: 25 * MIN } },
  { name: 'dns', description: 'QPS and latency vs dnsmasq; memory', requires: ['dnsperf', 'dnsmasq'], timeoutMs: { quick: 2 * MIN, full: 10 * MIN } },
  { name: 'fuzz', description: 'hostile apiserver requests: 5xx, crashes, RSS, probe p99, restart', requires: [], timeoutMs: { quick: 2 * MIN, full: 6 * MIN } },
  { name: 'lab', description: 'ferry up: time until the demo service answers through its ClusterIP; a 100-pod Deployment and a 10-replica StatefulSet until Ready', requires: [], timeoutMs: { quick: 2 * MIN, full: 5 * MIN } },
];

/** selectSuites resolves names given on the command line; none means all. */
export function selectSuites(names: readonly string[]): SuiteDef[] {
  if (names.length === 0) return [...SUITES];
  return names.map((name) => {
    const suite = SUITES.find((s) => s.name === name);
    if (!suite) throw new InvalidArgumentError(`unknown suite ${JSON.stringify(name)} (known: ${SUITES.map((s) => s.name).join(', ')})`);
    return suite;
  });
}
