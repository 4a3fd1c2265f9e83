import { InvalidArgumentError } from '../util/errors.ts';
import { cidrFamily, NODE_PORT_ADDRESSES_PRIMARY } from './node-port-addresses.ts';
import type { ProxyConfig } from './proxy-config.ts';

/** PROXY_MODES are the modes kube-proxy-style flags accept; whether one is built in is the registry's business. */
export const PROXY_MODES = ['iptables', 'nftables', 'ipvs', 'userspace', 'dry-run'] as const;

/** RawProxyFlags is what `ferry proxy` parsed, before validation. Durations are ms. */
export interface RawProxyFlags {
  mode: string;
  nodeName: string;
  clusterCIDRs: string[];
  masqueradeAll: boolean;
  masqueradeBit: number;
  nodePortAddresses: string[];
  localhostNodePorts: boolean;
  syncPeriodMs: number;
  minSyncPeriodMs: number;
  iptablesBackend: string | undefined;
  ipvsScheduler: string;
  ipvsTcpTimeoutMs: number;
  ipvsTcpFinTimeoutMs: number;
  ipvsUdpTimeoutMs: number;
  ipvsExcludeCIDRs: string[];
  proxyPortRange: string | undefined;
  udpIdleTimeoutMs: number;
  conntrackTCPBeLiberal: boolean;
}

/** checkCIDR accepts a CIDR of either family (kube-proxy's dual-stack `--cluster-cidr` and `--ipvs-exclude-cidrs`: each family's proxier takes its own). */
function checkCIDR(flag: string, cidr: string): string {
  if (!cidrFamily(cidr)) throw new InvalidArgumentError(`invalid --${flag} ${JSON.stringify(cidr)}: not a CIDR`);
  return cidr;
}

/** checkNodePortAddresses accepts CIDRs of either family, or `primary` alone, as kube-proxy's validation. */
function checkNodePortAddresses(values: readonly string[]): string[] {
  const list = values.map((v) => v.trim());
  if (list.includes(NODE_PORT_ADDRESSES_PRIMARY)) {
    if (list.length !== 1) throw new InvalidArgumentError(`invalid --nodeport-addresses ${JSON.stringify(list.join(','))}: can't use both 'primary' and CIDRs`);
    return list;
  }
  for (const cidr of list) if (!cidrFamily(cidr)) throw new InvalidArgumentError(`invalid --nodeport-addresses ${JSON.stringify(cidr)}: must be a valid CIDR or 'primary'`);
  return list;
}

/** parsePortRange reads `--proxy-port-range` as kube-proxy does: `begin-end` or `begin+offset`. */
export function parsePortRange(value: string): [number, number] {
  const m = /^(\d+)([-+])(\d+)$/.exec(value.trim());
  const begin = Number(m?.[1]);
  const end = m?.[2] === '+' ? begin + Number(m[3]) : Number(m?.[3]);
  if (!m || begin < 1 || end > 65535 || end < begin) throw new InvalidArgumentError(`invalid --proxy-port-range ${JSON.stringify(value)}: want begin-end or begin+offset within 1-65535`);
  return [begin, end];
}

/** validateProxyConfig checks every field once, naming the flag at fault, and returns the frozen ProxyConfig. */
export function validateProxyConfig(raw: RawProxyFlags): ProxyConfig {
  if (!(PROXY_MODES as readonly string[]).includes(raw.mode)) throw new InvalidArgumentError(`invalid --mode ${JSON.stringify(raw.mode)}: want one of ${PROXY_MODES.join(', ')}`);
  if (!raw.nodeName) throw new InvalidArgumentError('invalid --hostname-override: empty node name');
  if (!Number.isInteger(raw.masqueradeBit) || raw.masqueradeBit < 0 || raw.masqueradeBit > 31) throw new InvalidArgumentError(`invalid --iptables-masquerade-bit ${raw.masqueradeBit}: must be within 0-31`);
  if (!(raw.syncPeriodMs > 0)) throw new InvalidArgumentError('invalid --sync-period: must be greater than 0');
  if (raw.minSyncPeriodMs < 0) throw new InvalidArgumentError('invalid --min-sync-period: must be >= 0');
  if (raw.minSyncPeriodMs > raw.syncPeriodMs) throw new InvalidArgumentError('invalid --min-sync-period: must be <= --sync-period');
  if (raw.iptablesBackend !== undefined && raw.iptablesBackend !== 'nft' && raw.iptablesBackend !== 'legacy') throw new InvalidArgumentError(`invalid --iptables-backend ${JSON.stringify(raw.iptablesBackend)}: want nft or legacy`);
  for (const [flag, ms] of [['ipvs-tcp-timeout', raw.ipvsTcpTimeoutMs], ['ipvs-tcpfin-timeout', raw.ipvsTcpFinTimeoutMs], ['ipvs-udp-timeout', raw.ipvsUdpTimeoutMs], ['udp-timeout', raw.udpIdleTimeoutMs]] as const) {
    if (ms < 0) throw new InvalidArgumentError(`invalid --${flag}: must be >= 0`);
  }
  if (!raw.ipvsScheduler) throw new InvalidArgumentError('invalid --ipvs-scheduler: empty');
  return Object.freeze({
    mode: raw.mode,
    nodeName: raw.nodeName,
    clusterCIDRs: Object.freeze(raw.clusterCIDRs.map((c) => checkCIDR('cluster-cidr', c.trim()))),
    masqueradeAll: raw.masqueradeAll,
    masqueradeBit: raw.masqueradeBit,
    nodePortAddresses: Object.freeze(checkNodePortAddresses(raw.nodePortAddresses)),
    localhostNodePorts: raw.localhostNodePorts,
    syncPeriodMs: raw.syncPeriodMs,
    minSyncPeriodMs: raw.minSyncPeriodMs,
    iptablesBackend: raw.iptablesBackend as ProxyConfig['iptablesBackend'],
    ipvsScheduler: raw.ipvsScheduler,
    ipvsTcpTimeoutMs: raw.ipvsTcpTimeoutMs,
    ipvsTcpFinTimeoutMs: raw.ipvsTcpFinTimeoutMs,
    ipvsUdpTimeoutMs: raw.ipvsUdpTimeoutMs,
    ipvsExcludeCIDRs: Object.freeze(raw.ipvsExcludeCIDRs.map((c) => checkCIDR('ipvs-exclude-cidrs', c.trim()))),
    proxyPortRange: raw.proxyPortRange ? Object.freeze(parsePortRange(raw.proxyPortRange)) : undefined,
    udpIdleTimeoutMs: raw.udpIdleTimeoutMs,
    conntrackTCPBeLiberal: raw.conntrackTCPBeLiberal,
  });
}
