/**
 * ProxyConfig is `ferry proxy`'s configuration after flag parsing and
 * validation, in kube-proxy's KubeProxyConfiguration spirit: flags → this
 * object → explicit arguments to a backend's factory. Backends never read
 * flags or globals. Durations are milliseconds.
 */
import type { IPFamily } from './node-port-addresses.ts';

export interface ProxyConfig {
  /** iptables | ipvs | userspace | dry-run. */
  readonly mode: string;
  /**
   * The node IP's family (kube-proxy's primary IP family), found at start
   * from the Node object; undefined: IPv4. Dual-stack iptables mode puts this
   * family's proxier first; the other family runs beside it when its
   * ip6tables/iptables work.
   */
  readonly primaryIPFamily?: IPFamily;
  /** This node's name (`--hostname-override`, else the host name). */
  readonly nodeName: string;
  /** `--cluster-cidr`: pod CIDRs; traffic from outside them to a service is masqueraded. Empty: no local detection. */
  readonly clusterCIDRs: readonly string[];
  /** `--masquerade-all`: SNAT every packet sent to a service IP. */
  readonly masqueradeAll: boolean;
  /** `--iptables-masquerade-bit` (default 14 → mark 0x4000). */
  readonly masqueradeBit: number;
  /**
   * `--nodeport-addresses`: CIDRs (either family) whose local addresses accept NodePorts, or ['primary'] for
   * the node's primary IPs; a family with no CIDR of its own accepts them on every local address (node-port-addresses.ts).
   */
  readonly nodePortAddresses: readonly string[];
  /**
   * `--iptables-localhost-nodeports` (default true): NodePorts also answer on
   * 127.0.0.1 (iptables mode, IPv4): sets route_localnet=1 and blocks other
   * localnet traffic from outside the node (KUBE-FIREWALL), as kube-proxy.
   */
  readonly localhostNodePorts: boolean;
  /** `--sync-period` (default 30 s): full resync interval and healthz timeout basis. */
  readonly syncPeriodMs: number;
  /** `--min-sync-period` (default 1 s): minimum time between syncs. */
  readonly minSyncPeriodMs: number;
  /** `--iptables-backend`: which iptables binaries to use; undefined means what `iptables` points to. */
  readonly iptablesBackend: 'nft' | 'legacy' | undefined;
  /** `--ipvs-scheduler` (default rr). */
  readonly ipvsScheduler: string;
  /** `--ipvs-tcp-timeout`, `--ipvs-tcpfin-timeout`, `--ipvs-udp-timeout`; 0 leaves the kernel's value. */
  readonly ipvsTcpTimeoutMs: number;
  readonly ipvsTcpFinTimeoutMs: number;
  readonly ipvsUdpTimeoutMs: number;
  /**
   * `--ipvs-exclude-cidrs`: CIDRs (either family) whose IPVS virtual servers
   * the IPVS mode leaves alone. Every other virtual server of a proxier's
   * family that it does not want is deleted on a full sync, as kube-proxy's
   * cleanLegacyService; each family's proxier keeps its own family's CIDRs.
   */
  readonly ipvsExcludeCIDRs: readonly string[];
  /** `--proxy-port-range` for userspace listeners, e.g. [30000, 32767]; undefined means ephemeral ports. */
  readonly proxyPortRange: readonly [number, number] | undefined;
  /** `--udp-timeout` (default 250 ms): idle timeout of userspace UDP sessions. */
  readonly udpIdleTimeoutMs: number;
  /**
   * `--conntrack-tcp-be-liberal`: set nf_conntrack_tcp_be_liberal=1 in the
   * proxy's network namespace at start, so only out-of-window RSTs count as
   * INVALID; the iptables mode then installs no INVALID drop rule (it reads the sysctl).
   */
  readonly conntrackTCPBeLiberal: boolean;
}

/**
 * masqueradeMark is the packet mark for `--iptables-masquerade-bit` in the
 * hex form iptables and nft print. `1 << 31` is negative in JavaScript, so
 * the mark is computed as a power of two.
 */
export function masqueradeMark(bit: number): string {
  return `0x${(2 ** bit).toString(16)}`;
}
