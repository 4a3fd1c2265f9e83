import { ConfigError, decodeKubeProxyConfiguration, emptyKubeProxyConfiguration, type KubeProxyConfiguration } from './kube-proxy-config-decode.ts';
import { applyKubeProxyDefaults, validateKubeProxyConfiguration } from './kube-proxy-config-validate.ts';

export { encodeKubeProxyConfiguration, ConfigError, type KubeProxyConfiguration } from './kube-proxy-config-decode.ts';

/**
 * `ferry proxy --config FILE`: the KubeProxyConfiguration and `ferry proxy`'s
 * flags are two spellings of one configuration. The file is decoded,
 * flags given on the command line are written over it (kube-proxy lets an
 * explicit flag win), kube's defaults fill the rest, the result is
 * validated with kube's field paths, and then read back as flag values for
 * the one validation path every start goes through (`validateProxyConfig`).
 * Flag values use the parsed representation: durations in ms, lists as arrays.
 */
export type FlagValueMap = Record<string, unknown>;

/** The section whose sync periods the mode uses (kube-proxy: each proxier reads its own). */
function syncSection(c: KubeProxyConfiguration) {
  return c.mode === 'ipvs' ? c.ipvs : c.mode === 'nftables' ? c.nftables : c.iptables;
}
/** The section whose masquerade settings the mode uses (the IPVS proxier reads the iptables section). */
function masqSection(c: KubeProxyConfiguration) {
  return c.mode === 'nftables' ? c.nftables : c.iptables;
}

interface FieldMapping {
  /** The config field, for messages. */
  readonly path: string;
  read(c: KubeProxyConfiguration): unknown;
  write(c: KubeProxyConfiguration, value: never): void;
  /** Whether the field holds kube's default, which a build without the flag can accept. */
  isDefault(c: KubeProxyConfiguration): boolean;
}

const always = () => true;
const orUndefined = <T>(v: T) => (v === '' ? undefined : v);

/** FIELDS maps each `ferry proxy` flag the file can carry to its field. */
const FIELDS: Record<string, FieldMapping> = {
  mode: { path: 'mode', read: (c) => c.mode, write: (c, v: string) => (c.mode = v), isDefault: always },
  'hostname-override': { path: 'hostnameOverride', read: (c) => orUndefined(c.hostnameOverride), write: (c, v: string) => (c.hostnameOverride = v), isDefault: always },
  'cluster-cidr': {
    path: 'clusterCIDR',
    read: (c) => c.clusterCIDR.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    write: (c, v: string[]) => (c.clusterCIDR = v.join(',')),
    isDefault: always,
  },
  'masquerade-all': {
    path: 'iptables.masqueradeAll',
    read: (c) => masqSection(c).masqueradeAll,
    write: (c, v: boolean) => (c.iptables.masqueradeAll = c.nftables.masqueradeAll = v),
    isDefault: always,
  },
  'iptables-masquerade-bit': {
    path: 'iptables.masqueradeBit',
    read: (c) => masqSection(c).masqueradeBit,
    write: (c, v: number) => (c.iptables.masqueradeBit = c.nftables.masqueradeBit = v),
    isDefault: always,
  },
  'sync-period': {
    path: 'iptables.syncPeriod',
    read: (c) => syncSection(c).syncPeriod,
    write: (c, v: number) => (c.iptables.syncPeriod = c.ipvs.syncPeriod = c.nftables.syncPeriod = v),
    isDefault: always,
  },
  'min-sync-period': {
    path: 'iptables.minSyncPeriod',
    read: (c) => syncSection(c).minSyncPeriod,
    write: (c, v: number) => (c.iptables.minSyncPeriod = c.ipvs.minSyncPeriod = c.nftables.minSyncPeriod = v),
    isDefault: always,
  },
  'config-sync-period': { path: 'configSyncPeriod', read: (c) => c.configSyncPeriod, write: (c, v: number) => (c.configSyncPeriod = v), isDefault: always },
  // An empty flag disables the server, which the file cannot say ("" there means the default): such a flag passes through.
  'healthz-bind-address': { path: 'healthzBindAddress', read: (c) => c.healthzBindAddress, write: (c, v: string) => v && (c.healthzBindAddress = v), isDefault: always },
  'metrics-bind-address': { path: 'metricsBindAddress', read: (c) => c.metricsBindAddress, write: (c, v: string) => v && (c.metricsBindAddress = v), isDefault: always },
  'nodeport-addresses': { path: 'nodePortAddresses', read: (c) => (c.nodePortAddresses.length ? c.nodePortAddresses : undefined), write: (c, v: string[]) => (c.nodePortAddresses = v), isDefault: (c) => c.nodePortAddresses.length === 0 },
  'iptables-localhost-nodeports': {
    path: 'iptables.localhostNodePorts',
    read: (c) => c.iptables.localhostNodePorts,
    write: (c, v: boolean) => (c.iptables.localhostNodePorts = v),
    isDefault: (c) => c.iptables.localhostNodePorts === true,
  },
  'ipvs-scheduler': { path: 'ipvs.scheduler', read: (c) => c.ipvs.scheduler || 'rr', write: (c, v: string) => (c.ipvs.scheduler = v), isDefault: always },
  'ipvs-tcp-timeout': { path: 'ipvs.tcpTimeout', read: (c) => c.ipvs.tcpTimeout, write: (c, v: number) => (c.ipvs.tcpTimeout = v), isDefault: always },
  'ipvs-tcpfin-timeout': { path: 'ipvs.tcpFinTimeout', read: (c) => c.ipvs.tcpFinTimeout, write: (c, v: number) => (c.ipvs.tcpFinTimeout = v), isDefault: always },
  'ipvs-udp-timeout': { path: 'ipvs.udpTimeout', read: (c) => c.ipvs.udpTimeout, write: (c, v: number) => (c.ipvs.udpTimeout = v), isDefault: always },
  'ipvs-exclude-cidrs': {
    path: 'ipvs.excludeCIDRs',
    read: (c) => (c.ipvs.excludeCIDRs.length ? c.ipvs.excludeCIDRs : undefined),
    write: (c, v: string[]) => (c.ipvs.excludeCIDRs = v),
    isDefault: (c) => c.ipvs.excludeCIDRs.length === 0,
  },
  'conntrack-tcp-be-liberal': { path: 'conntrack.tcpBeLiberal', read: (c) => c.conntrack.tcpBeLiberal, write: (c, v: boolean) => (c.conntrack.tcpBeLiberal = v), isDefault: (c) => !c.conntrack.tcpBeLiberal },
  'proxy-port-range': { path: 'portRange', read: (c) => orUndefined(c.portRange), write: (c, v: string) => (c.portRange = v), isDefault: always },
  kubeconfig: { path: 'clientConnection.kubeconfig', read: (c) => orUndefined(c.clientConnection.kubeconfig), write: (c, v: string) => (c.clientConnection.kubeconfig = v), isDefault: always },
  v: { path: 'logging.verbosity', read: (c) => c.logging.verbosity, write: (c, v: number) => (c.logging.verbosity = v), isDefault: always },
};

/** ResolvedProxySettings is the effective configuration in both spellings. */
export interface ResolvedProxySettings {
  /** Every flag's value: the file's, overridden by the flags given on the command line. */
  readonly flags: FlagValueMap;
  /** The effective configuration, defaulted and validated (what `--write-config-to` writes). */
  readonly config: KubeProxyConfiguration;
}

export interface ResolveOptions {
  /** Parsed flag values, defaults included. */
  readonly flags: FlagValueMap;
  /** Flags given on the command line. */
  readonly explicit: ReadonlySet<string>;
  /** The flags this build of `ferry proxy` has: a file setting whose flag is missing must hold kube's default. */
  readonly knownFlags: ReadonlySet<string>;
  /** The config file; without one, every flag (defaults included) is the configuration. */
  readonly file?: { readonly path: string; readonly text: string };
}

/** resolveProxySettings merges a KubeProxyConfiguration file with the command line, as kube-proxy does. Throws ConfigError. */
export function resolveProxySettings(opts: ResolveOptions): ResolvedProxySettings {
  const config = opts.file ? decodeKubeProxyConfiguration(opts.file.text, opts.file.path) : emptyKubeProxyConfiguration();
  const overriding = (flag: string) => opts.flags[flag] !== undefined && (!opts.file || opts.explicit.has(flag));
  // The mode first: which section a generic flag such as --sync-period lands in depends on it.
  for (const flag of ['mode', ...Object.keys(FIELDS)]) if (overriding(flag)) FIELDS[flag]!.write(config, opts.flags[flag] as never);
  applyKubeProxyDefaults(config);
  validateKubeProxyConfiguration(config);
  const flags: FlagValueMap = { ...opts.flags };
  for (const [flag, field] of Object.entries(FIELDS)) {
    if (!opts.knownFlags.has(flag)) {
      if (!field.isDefault(config)) throw new ConfigError(`KubeProxyConfiguration.${field.path}: Unsupported value: ${JSON.stringify(field.read(config))}: not implemented by this build of ferry`);
      continue;
    }
    if (overriding(flag)) continue; // the command line's own spelling, e.g. an empty address that disables a server
    flags[flag] = field.read(config);
  }
  return { flags, config };
}

/**
 * inConfigTerms adds the config field to a flag validation message
 * (`invalid --cluster-cidr ...`), for a setting that came from the file.
 */
export function inConfigTerms(message: string, file: string): string {
  const flag = /--([a-z0-9-]+)/.exec(message)?.[1];
  const field = flag === undefined ? undefined : FIELDS[flag];
  return field ? `${message} (KubeProxyConfiguration.${field.path} in ${file})` : message;
}

/** mapsToConfig tells whether a `ferry proxy` flag is also a field of the file. */
export function mapsToConfig(flag: string): boolean {
  return Object.hasOwn(FIELDS, flag);
}
