import { createHash } from 'node:crypto';
import type { Protocol } from '../endpoints/proxy-state.ts';
import { base32 } from '../util/base32.ts';

/**
 * Chain names as kube-proxy computes them, so operators (and kube-proxy's own
 * test fixtures) recognise every chain: a prefix plus the first 16 characters
 * of base32(sha256(...)), which keeps names under iptables' 28-character limit.
 */

// Names are recomputed for every endpoint of every service on full syncs;
// memoizing them saves most of the hashing. Cleared wholesale when it grows
// past what 100k endpoints need, so churn cannot make it grow without bound.
const memo = new Map<string, string>();
const MEMO_LIMIT = 500_000;

function hash16(text: string): string {
  let h = memo.get(text);
  if (h === undefined) {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    h = base32(createHash('sha256').update(text).digest()).slice(0, 16);
    memo.set(text, h);
  }
  return h;
}

/** ServiceChains are the per-service-port chains, whether or not a sync uses them. */
export interface ServiceChains {
  /** KUBE-SVC-*: cluster-wide endpoints. */
  readonly cluster: string;
  /** KUBE-SVL-*: this node's endpoints only. */
  readonly local: string;
  /** KUBE-EXT-*: traffic to node ports, external IPs and load balancer IPs. */
  readonly external: string;
  /** KUBE-FW-*: loadBalancerSourceRanges filter in front of KUBE-EXT. */
  readonly firewall: string;
}

/** serviceChains names the chains of a service port key (`ns/name:port`) and protocol. */
export function serviceChains(key: string, protocol: Protocol): ServiceChains {
  const h = hash16(key + protocol.toLowerCase());
  return { cluster: `KUBE-SVC-${h}`, local: `KUBE-SVL-${h}`, external: `KUBE-EXT-${h}`, firewall: `KUBE-FW-${h}` };
}

/** endpointChain names the KUBE-SEP-* chain of one endpoint (`ip:port`) of a service port. */
export function endpointChain(key: string, protocol: Protocol, endpoint: string): string {
  return `KUBE-SEP-${hash16(key + protocol.toLowerCase() + endpoint)}`;
}

const SERVICE_CHAIN = /^KUBE-(SVC|SVL|EXT|FW|SEP)-[A-Z2-7]{16}$/;

/** isServiceChain tells per-service chains (which syncs create and delete) from fixed ones. */
export function isServiceChain(name: string): boolean {
  return SERVICE_CHAIN.test(name);
}
