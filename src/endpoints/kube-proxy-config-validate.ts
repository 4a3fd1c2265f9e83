import { isIP } from 'node:net';
import { ConfigError, type KubeProxyConfiguration } from './kube-proxy-config-decode.ts';
import { parsePortRange } from './proxy-config-validate.ts';

/**
 * Defaults and validation of a decoded KubeProxyConfiguration, after
 * kube-proxy's `SetDefaults_KubeProxyConfiguration` and `Validate`: errors
 * carry kube's field paths (`KubeProxyConfiguration.iptables.masqueradeBit:
 * Invalid value: 32: ...`). A setting Ferry does not implement is refused
 * the same way, naming it; a field holding kube's default (or the zero value
 * that means "leave the kernel as it is") is accepted.
 */

const MS = { s: 1000, m: 60_000, h: 3_600_000 };

/** applyKubeProxyDefaults fills zero values with kube-proxy's defaults on Linux, in place. */
export function applyKubeProxyDefaults(c: KubeProxyConfiguration): KubeProxyConfiguration {
  c.bindAddress ||= '0.0.0.0';
  c.healthzBindAddress ||= '0.0.0.0:10256';
  c.metricsBindAddress ||= '127.0.0.1:10249';
  c.mode ||= 'iptables';
  c.detectLocalMode ||= 'ClusterCIDR';
  c.configSyncPeriod ||= 15 * MS.m;
  c.oomScoreAdj ??= -999;
  c.clientConnection.contentType ||= 'application/vnd.kubernetes.protobuf';
  c.clientConnection.qps ||= 5;
  c.clientConnection.burst ||= 10;
  c.logging.format ||= 'text';
  c.logging.flushFrequency ||= 5 * MS.s;
  c.iptables.localhostNodePorts ??= true;
  for (const section of [c.iptables, c.nftables]) {
    section.masqueradeBit ??= 14;
    section.syncPeriod ||= 30 * MS.s;
    section.minSyncPeriod ||= 1 * MS.s;
  }
  c.ipvs.syncPeriod ||= 30 * MS.s;
  c.conntrack.maxPerCore ??= 32768;
  c.conntrack.min ??= 131072;
  c.conntrack.tcpEstablishedTimeout ??= 24 * MS.h;
  c.conntrack.tcpCloseWaitTimeout ??= 1 * MS.h;
  return c;
}

/** Modes kube-proxy accepts on Linux, plus Ferry's own userspace and dry-run. */
const MODES = ['iptables', 'ipvs', 'nftables', 'userspace', 'dry-run'];
const DETECT_LOCAL_MODES = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'];
const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq', 'mh'];
/** Feature gates whose behaviour Ferry always has, so any value is accepted (NFTablesProxyMode gated the mode in 1.29–1.30). */
const ACCEPTED_FEATURE_GATES = new Set(['NFTablesProxyMode']);
/** Feature gates Ferry carries out in one position only: that value is accepted, the other refused (LoadBalancerIPMode is GA and locked on from 1.32). */
const FIXED_FEATURE_GATES = new Map([['LoadBalancerIPMode', true]]);

type Errors = string[];
const P = 'KubeProxyConfiguration';
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? JSON.stringify(v) : String(v));
const invalid = (errs: Errors, path: string, value: unknown, detail: string) => errs.push(`${P}.${path}: Invalid value: ${show(value)}: ${detail}`);
const unsupported = (errs: Errors, path: string, value: unknown, supported: readonly unknown[]) =>
  errs.push(`${P}.${path}: Unsupported value: ${show(value)}: supported values: ${supported.map(show).join(', ')}`);
/** notImplemented refuses a setting Ferry does not carry out, rather than ignoring it. */
const notImplemented = (errs: Errors, path: string, value: unknown, accepted: readonly unknown[]) =>
  errs.push(`${P}.${path}: Unsupported value: ${show(value)}: not implemented by ferry (accepted: ${accepted.map(show).join(', ')})`);

function isCIDR(text: string): boolean {
  const m = /^(.+)\/(\d{1,3})$/.exec(text);
  const family = m ? isIP(m[1]!) : 0;
  return family !== 0 && Number(m![2]) <= (family === 4 ? 32 : 128);
}

function isHostPort(text: string): boolean {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(text);
  return m !== null && isIP(m[1]!) !== 0 && Number(m[2]) <= 65535;
}

function validateModeSection(errs: Errors, name: 'iptables' | 'nftables', s: KubeProxyConfiguration['iptables' | 'nftables']): void {
  if (s.masqueradeBit! < 0 || s.masqueradeBit! > 31) invalid(errs, `${name}.masqueradeBit`, s.masqueradeBit, 'must be within the range [0, 31]');
  if (s.syncPeriod <= 0) invalid(errs, `${name}.syncPeriod`, s.syncPeriod, 'must be greater than 0');
  if (s.minSyncPeriod < 0) invalid(errs, `${name}.minSyncPeriod`, s.minSyncPeriod, 'must be greater than or equal to 0');
  if (s.minSyncPeriod > s.syncPeriod) invalid(errs, `${name}.minSyncPeriod`, s.minSyncPeriod, `must be less than or equal to ${P}.${name}.syncPeriod`);
}

function validateIPVS(errs: Errors, c: KubeProxyConfiguration): void {
  const s = c.ipvs;
  if (s.syncPeriod <= 0) invalid(errs, 'ipvs.syncPeriod', s.syncPeriod, 'must be greater than 0');
  if (s.minSyncPeriod < 0) invalid(errs, 'ipvs.minSyncPeriod', s.minSyncPeriod, 'must be greater than or equal to 0');
  if (s.minSyncPeriod > s.syncPeriod) invalid(errs, 'ipvs.syncPeriod', s.syncPeriod, `must be greater than or equal to ${P}.ipvs.minSyncPeriod`);
  if (s.scheduler && !IPVS_SCHEDULERS.includes(s.scheduler)) unsupported(errs, 'ipvs.scheduler', s.scheduler, IPVS_SCHEDULERS);
  for (const f of ['tcpTimeout', 'tcpFinTimeout', 'udpTimeout'] as const) if (s[f] < 0) invalid(errs, `ipvs.${f}`, s[f], 'must be greater than or equal to 0');
  s.excludeCIDRs.forEach((cidr, i) => isCIDR(cidr) || invalid(errs, `ipvs.excludeCIDRs[${i}]`, cidr, 'must be a valid CIDR block'));
  if (s.strictARP) notImplemented(errs, 'ipvs.strictARP', true, [false]);
}

function validateAddresses(errs: Errors, c: KubeProxyConfiguration): void {
  if (!isIP(c.bindAddress)) invalid(errs, 'bindAddress', c.bindAddress, 'must be a valid IP address');
  else if (c.bindAddress !== '0.0.0.0' && c.bindAddress !== '::') notImplemented(errs, 'bindAddress', c.bindAddress, ['0.0.0.0', '::']);
  for (const f of ['healthzBindAddress', 'metricsBindAddress'] as const) if (!isHostPort(c[f])) invalid(errs, f, c[f], 'must be IP:port');
  c.clusterCIDR.split(',').filter((s) => s !== '').forEach((cidr) => isCIDR(cidr.trim()) || invalid(errs, 'clusterCIDR', c.clusterCIDR, 'must be a valid CIDR block (e.g. 10.100.0.0/16 or fde4:8dba:82e1::/48)'));
  const npa = c.nodePortAddresses;
  if (npa.includes('primary')) {
    if (npa.length > 1) invalid(errs, 'nodePortAddresses', npa, '"primary" must be the only value');
  } else npa.forEach((cidr, i) => isCIDR(cidr) || invalid(errs, `nodePortAddresses[${i}]`, cidr, 'must be a valid CIDR'));
  if (c.portRange) {
    try {
      parsePortRange(c.portRange);
    } catch {
      invalid(errs, 'portRange', c.portRange, 'must be begin-end or begin+offset within 1-65535');
    }
  }
}

function validateLocalDetection(errs: Errors, c: KubeProxyConfiguration): void {
  if (!DETECT_LOCAL_MODES.includes(c.detectLocalMode)) unsupported(errs, 'detectLocalMode', c.detectLocalMode, DETECT_LOCAL_MODES);
  else if (c.detectLocalMode !== 'ClusterCIDR') notImplemented(errs, 'detectLocalMode', c.detectLocalMode, ['ClusterCIDR']);
  for (const f of ['bridgeInterface', 'interfaceNamePrefix'] as const) if (c.detectLocal[f]) notImplemented(errs, `detectLocal.${f}`, c.detectLocal[f], ['']);
}

/** validateUnimplemented refuses settings Ferry does not carry out unless they hold kube's default or "leave as is". */
function validateUnimplemented(errs: Errors, c: KubeProxyConfiguration): void {
  if (c.enableProfiling) notImplemented(errs, 'enableProfiling', true, [false]);
  if (c.showHiddenMetricsForVersion) notImplemented(errs, 'showHiddenMetricsForVersion', c.showHiddenMetricsForVersion, ['']);
  if (c.oomScoreAdj! < -1000 || c.oomScoreAdj! > 1000) invalid(errs, 'oomScoreAdj', c.oomScoreAdj, 'must be within the range [-1000, 1000]');
  else if (c.oomScoreAdj !== -999) notImplemented(errs, 'oomScoreAdj', c.oomScoreAdj, [-999]);
  const cc = c.clientConnection;
  if (cc.qps !== 5) notImplemented(errs, 'clientConnection.qps', cc.qps, [5]);
  if (cc.burst !== 10) notImplemented(errs, 'clientConnection.burst', cc.burst, [10]);
  const ct = c.conntrack;
  const accept = <T>(path: string, value: T, ok: readonly T[]) => ok.includes(value) || notImplemented(errs, `conntrack.${path}`, value, ok);
  for (const f of ['maxPerCore', 'min'] as const) if (ct[f]! < 0) invalid(errs, `conntrack.${f}`, ct[f], 'must be greater than or equal to 0');
  accept('maxPerCore', ct.maxPerCore, [32768, 0]);
  accept('min', ct.min, [131072, 0]);
  accept('tcpEstablishedTimeout', ct.tcpEstablishedTimeout, [24 * MS.h, 0]);
  accept('tcpCloseWaitTimeout', ct.tcpCloseWaitTimeout, [MS.h, 0]);
  accept('udpTimeout', ct.udpTimeout, [0]);
  accept('udpStreamTimeout', ct.udpStreamTimeout, [0]);
  const w = c.winkernel;
  for (const [f, v] of Object.entries(w)) if (v !== '' && v !== false) notImplemented(errs, `winkernel.${f}`, v, [v === true ? false : '']);
  const lg = c.logging;
  if (lg.format !== 'text') notImplemented(errs, 'logging.format', lg.format, ['text']);
  if (lg.vmodule.length > 0) notImplemented(errs, 'logging.vmodule', lg.vmodule, [[]]);
  for (const f of ['text', 'json'] as const) if (lg.options[f].splitStream) notImplemented(errs, `logging.options.${f}.splitStream`, true, [false]);
  for (const [gate, on] of Object.entries(c.featureGates)) {
    const fixed = FIXED_FEATURE_GATES.get(gate);
    if (!ACCEPTED_FEATURE_GATES.has(gate) && fixed !== on) notImplemented(errs, `featureGates.${gate}`, on, fixed === undefined ? [] : [fixed]);
  }
}

/**
 * validateKubeProxyConfiguration checks a defaulted configuration and throws
 * one ConfigError listing every fault (kube-proxy's aggregate form).
 */
export function validateKubeProxyConfiguration(c: KubeProxyConfiguration): void {
  const errs: Errors = [];
  if (!MODES.includes(c.mode)) unsupported(errs, 'mode', c.mode, MODES);
  validateModeSection(errs, 'iptables', c.iptables);
  validateModeSection(errs, 'nftables', c.nftables);
  validateIPVS(errs, c);
  if (c.configSyncPeriod <= 0) invalid(errs, 'configSyncPeriod', c.configSyncPeriod, 'must be greater than 0');
  validateAddresses(errs, c);
  validateLocalDetection(errs, c);
  validateUnimplemented(errs, c);
  if (errs.length === 1) throw new ConfigError(errs[0]!);
  if (errs.length > 1) throw new ConfigError(`[${errs.join(', ')}]`);
}
