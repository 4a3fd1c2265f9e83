/**
 * The lab's topology plan: which namespaces, addresses and ranges a lab of
 * `nodes` nodes uses. Pure data, so `ferry up`, `ferry down`, `ferry exec`
 * and the e2e suite agree on names without asking each other.
 *
 *   <prefix>switch   lab switch (bridge br0, 192.168.200.0/24), made by the node agents' code
 *   <prefix>cp       control-plane namespace on the switch (192.168.200.2): `ferry relay`,
 *                    the `kubernetes` Service's endpoint
 *   <prefix>nodeN    node N (192.168.200.(10+N)), pods 10.244.N.0/24
 */

export const LAB_CIDR = '192.168.200.0/24';
export const CONTROL_PLANE_IP = '192.168.200.2';
export const CLUSTER_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/12';
export const CLUSTER_DNS_IP = '10.96.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
/** Prefix of every namespace `ferry up` makes for a lab unless --lab-prefix says otherwise. */
export const LAB_PREFIX_ROOT = 'fylab-';

export const PROXY_MODES = ['iptables', 'nftables', 'userspace', 'ipvs', 'dry-run'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

/**
 * labIptablesBackend: the iptables backend of a lab's proxies. An ipvs lab's
 * nodes run in a UML guest whose kernel has no nftables NAT (LAB.md), so
 * legacy; elsewhere none is forced (the proxy takes what `iptables` is).
 */
export function labIptablesBackend(mode: ProxyMode): 'legacy' | undefined {
  return mode === 'ipvs' ? 'legacy' : undefined;
}

export interface NodePlan {
  name: string;
  ip: string;
  podCIDR: string;
  ns: string;
}

export interface LabPlan {
  name: string;
  prefix: string;
  mode: ProxyMode;
  switchNs: string;
  controlPlaneNs: string;
  nodes: NodePlan[];
}

export const defaultPrefix = (name: string) => `${LAB_PREFIX_ROOT}${name}-`;

export function planLab(name: string, nodes: number, mode: ProxyMode, prefix = defaultPrefix(name)): LabPlan {
  return {
    name,
    prefix,
    mode,
    switchNs: `${prefix}switch`,
    controlPlaneNs: `${prefix}cp`,
    nodes: Array.from({ length: nodes }, (_, i) => {
      const n = i + 1;
      return { name: `node${n}`, ip: `192.168.200.${10 + n}`, podCIDR: `10.244.${n}.0/24`, ns: `${prefix}node${n}` };
    }),
  };
}
