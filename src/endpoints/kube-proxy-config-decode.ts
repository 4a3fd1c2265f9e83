import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { InvalidArgumentError } from '../util/errors.ts';
import { formatDuration, parseDuration } from '../util/duration.ts';

/**
 * The `kubeproxy.config.k8s.io/v1alpha1` KubeProxyConfiguration as
 * kube-proxy 1.29–1.33 decodes it: strictly (an unknown or duplicated field
 * is an error naming it, field names are case-sensitive), `null` leaves a
 * field at its zero value as Go's JSON decoder does, durations are Go
 * duration strings. Durations are held in milliseconds here.
 */
export const KUBE_PROXY_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
export const KUBE_PROXY_KIND = 'KubeProxyConfiguration';

/** ConfigError is a config file kube-proxy would refuse; the message names the file and the field. */
export class ConfigError extends InvalidArgumentError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Leaf = 'string' | 'bool' | 'int' | 'float' | 'duration' | 'durationOrNs' | 'strings' | 'boolMap' | 'quantity' | 'vmodule';
/** A field's kind; a trailing `?` marks a Go pointer, which stays null (unset) rather than zero. */
type Kind = Leaf | `${Leaf}?` | Schema;
interface Schema {
  readonly [field: string]: Kind;
}

const outputRouting: Schema = { splitStream: 'bool', infoBufferSize: 'quantity' };

/** SCHEMA lists every field of v1alpha1 from 1.29 to 1.33, nested as in the file. */
const SCHEMA: Schema = {
  apiVersion: 'string',
  kind: 'string',
  featureGates: 'boolMap',
  clientConnection: { kubeconfig: 'string', acceptContentTypes: 'string', contentType: 'string', qps: 'float', burst: 'int' },
  logging: { format: 'string', flushFrequency: 'durationOrNs', verbosity: 'int', vmodule: 'vmodule', options: { text: outputRouting, json: outputRouting } },
  hostnameOverride: 'string',
  bindAddress: 'string',
  healthzBindAddress: 'string',
  metricsBindAddress: 'string',
  bindAddressHardFail: 'bool',
  enableProfiling: 'bool',
  showHiddenMetricsForVersion: 'string',
  mode: 'string',
  iptables: { masqueradeBit: 'int?', masqueradeAll: 'bool', localhostNodePorts: 'bool?', syncPeriod: 'duration', minSyncPeriod: 'duration' },
  ipvs: {
    syncPeriod: 'duration', minSyncPeriod: 'duration', scheduler: 'string', excludeCIDRs: 'strings', strictARP: 'bool',
    tcpTimeout: 'duration', tcpFinTimeout: 'duration', udpTimeout: 'duration',
  },
  nftables: { masqueradeBit: 'int?', masqueradeAll: 'bool', syncPeriod: 'duration', minSyncPeriod: 'duration' },
  winkernel: { networkName: 'string', sourceVip: 'string', enableDSR: 'bool', rootHnsEndpointName: 'string', forwardHealthCheckVip: 'bool' },
  detectLocalMode: 'string',
  detectLocal: { bridgeInterface: 'string', interfaceNamePrefix: 'string' },
  clusterCIDR: 'string',
  nodePortAddresses: 'strings',
  oomScoreAdj: 'int?',
  conntrack: {
    maxPerCore: 'int?', min: 'int?', tcpEstablishedTimeout: 'duration?', tcpCloseWaitTimeout: 'duration?', tcpBeLiberal: 'bool',
    udpTimeout: 'duration', udpStreamTimeout: 'duration',
  },
  configSyncPeriod: 'duration',
  portRange: 'string',
};

type DecodedConfig = { [field: string]: unknown };

interface OutputRouting {
  splitStream: boolean;
  infoBufferSize: string;
}
interface ModeSection {
  masqueradeBit: number | null;
  masqueradeAll: boolean;
  syncPeriod: number;
  minSyncPeriod: number;
}

/**
 * KubeProxyConfiguration is a decoded file in SCHEMA's shape: zero values
 * where a field was absent, null for unset pointers. Durations are ms.
 */
export interface KubeProxyConfiguration {
  apiVersion: string;
  kind: string;
  featureGates: Record<string, boolean>;
  clientConnection: { kubeconfig: string; acceptContentTypes: string; contentType: string; qps: number; burst: number };
  logging: { format: string; flushFrequency: number; verbosity: number; vmodule: unknown[]; options: { text: OutputRouting; json: OutputRouting } };
  hostnameOverride: string;
  bindAddress: string;
  healthzBindAddress: string;
  metricsBindAddress: string;
  bindAddressHardFail: boolean;
  enableProfiling: boolean;
  showHiddenMetricsForVersion: string;
  mode: string;
  iptables: ModeSection & { localhostNodePorts: boolean | null };
  ipvs: {
    syncPeriod: number; minSyncPeriod: number; scheduler: string; excludeCIDRs: string[]; strictARP: boolean;
    tcpTimeout: number; tcpFinTimeout: number; udpTimeout: number;
  };
  nftables: ModeSection;
  winkernel: { networkName: string; sourceVip: string; enableDSR: boolean; rootHnsEndpointName: string; forwardHealthCheckVip: boolean };
  detectLocalMode: string;
  detectLocal: { bridgeInterface: string; interfaceNamePrefix: string };
  clusterCIDR: string;
  nodePortAddresses: string[];
  oomScoreAdj: number | null;
  conntrack: {
    maxPerCore: number | null; min: number | null; tcpEstablishedTimeout: number | null; tcpCloseWaitTimeout: number | null;
    tcpBeLiberal: boolean; udpTimeout: number; udpStreamTimeout: number;
  };
  configSyncPeriod: number;
  portRange: string;
}

const ZERO: Record<Leaf, () => unknown> = {
  string: () => '', bool: () => false, int: () => 0, float: () => 0, duration: () => 0, durationOrNs: () => 0, strings: () => [],
  boolMap: () => ({}), quantity: () => '0', vmodule: () => [],
};

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value === 'number' ? 'number' : typeof value;
}

function mismatch(path: string, value: unknown, want: string): ConfigError {
  return new ConfigError(`cannot unmarshal ${typeName(value)} into field ${path} of type ${want}`);
}

function decodeLeaf(leaf: Leaf, value: unknown, path: string): unknown {
  switch (leaf) {
    case 'string':
      if (typeof value !== 'string') throw mismatch(path, value, 'string');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw mismatch(path, value, 'bool');
      return value;
    case 'int':
      if (!Number.isInteger(value)) throw mismatch(path, value, 'int32');
      return value;
    case 'float':
      if (typeof value !== 'number') throw mismatch(path, value, 'float32');
      return value;
    case 'duration':
      // metav1.Duration is a string; Go's time.ParseDuration names the bad text.
      if (typeof value !== 'string') throw mismatch(path, value, 'Duration');
      try {
        return parseDuration(value);
      } catch {
        throw new ConfigError(`${path}: time: invalid duration ${JSON.stringify(value)}`);
      }
    case 'durationOrNs':
      // logging's TimeOrMetaDuration: a duration string, or an integer of nanoseconds (kubeadm writes `flushFrequency: 0`).
      return typeof value === 'number' && Number.isInteger(value) ? value / 1e6 : decodeLeaf('duration', value, path);
    case 'strings':
    case 'vmodule':
      if (!Array.isArray(value)) throw mismatch(path, value, '[]string');
      if (leaf === 'strings') value.forEach((v, i) => decodeLeaf('string', v, `${path}[${i}]`));
      return value;
    case 'boolMap':
      if (typeName(value) !== 'object') throw mismatch(path, value, 'map[string]bool');
      for (const [k, v] of Object.entries(value as object)) decodeLeaf('bool', v, `${path}.${k}`);
      return { ...(value as object) };
    case 'quantity':
      if (typeof value !== 'string' && typeof value !== 'number') throw mismatch(path, value, 'Quantity');
      return String(value);
  }
}

function decodeObject(schema: Schema, value: unknown, path: string): DecodedConfig {
  if (value !== null && value !== undefined && typeName(value) !== 'object') throw mismatch(path || 'KubeProxyConfiguration', value, 'object');
  const input = (value ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(input)) {
    if (!Object.hasOwn(schema, name)) throw new ConfigError(`strict decoding error: unknown field ${JSON.stringify(path ? `${path}.${name}` : name)}`);
  }
  const out: DecodedConfig = {};
  for (const [name, kind] of Object.entries(schema)) {
    const fieldPath = path ? `${path}.${name}` : name;
    const raw = input[name];
    if (typeof kind === 'object') {
      out[name] = decodeObject(kind, raw, fieldPath);
      continue;
    }
    const pointer = kind.endsWith('?');
    const leaf = (pointer ? kind.slice(0, -1) : kind) as Leaf;
    out[name] = raw === undefined || raw === null ? (pointer ? null : ZERO[leaf]()) : decodeLeaf(leaf, raw, fieldPath);
  }
  return out;
}

/**
 * decodeKubeProxyConfiguration parses YAML or JSON text (JSON is YAML) as
 * kube-proxy's strict decoder does and checks apiVersion and kind. Errors
 * name the file and the field.
 */
export function decodeKubeProxyConfiguration(text: string, file: string): KubeProxyConfiguration {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, version: '1.2' });
  } catch (error) {
    throw new ConfigError(`failed to load config file ${JSON.stringify(file)}: ${(error as Error).message.split('\n')[0]}`);
  }
  try {
    const decoded = decodeObject(SCHEMA, doc, '');
    if (decoded.kind !== KUBE_PROXY_KIND || decoded.apiVersion !== KUBE_PROXY_API_VERSION) {
      throw new ConfigError(`no kind ${JSON.stringify(decoded.kind)} is registered for version ${JSON.stringify(decoded.apiVersion)}: want apiVersion ${KUBE_PROXY_API_VERSION}, kind ${KUBE_PROXY_KIND}`);
    }
    return decoded as unknown as KubeProxyConfiguration;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`failed to load config file ${JSON.stringify(file)}: ${error.message}`);
  }
}

/** emptyKubeProxyConfiguration is what an empty file decodes to, before defaults. */
export function emptyKubeProxyConfiguration(): KubeProxyConfiguration {
  return { ...decodeObject(SCHEMA, {}, ''), apiVersion: KUBE_PROXY_API_VERSION, kind: KUBE_PROXY_KIND } as unknown as KubeProxyConfiguration;
}

function encodeObject(schema: Schema, value: DecodedConfig): DecodedConfig {
  const out: DecodedConfig = {};
  for (const [name, kind] of Object.entries(schema)) {
    const v = value[name];
    if (typeof kind === 'object') out[name] = encodeObject(kind, v as DecodedConfig);
    else if (name === 'featureGates' && Object.keys(v as object).length === 0) continue; // omitempty, as kube writes it
    else out[name] = kind.startsWith('duration') && typeof v === 'number' ? formatDuration(v) : v;
  }
  return out;
}

/**
 * encodeKubeProxyConfiguration writes a configuration as kube-proxy's
 * `--write-config-to` does: YAML, keys sorted, Go duration strings.
 */
export function encodeKubeProxyConfiguration(c: KubeProxyConfiguration): string {
  return stringifyYaml(encodeObject(SCHEMA, c as unknown as DecodedConfig), { sortMapEntries: true, nullStr: 'null' });
}
