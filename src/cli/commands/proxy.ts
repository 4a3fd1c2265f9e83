import { hostname } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { commonFlags, defineCommand } from '../command.ts';
import type { FlagSpecs, FlagValues } from '../flags.ts';
import { encodeKubeProxyConfiguration, inConfigTerms, mapsToConfig, resolveProxySettings } from '../../endpoints/kube-proxy-config.ts';
import { InvalidArgumentError } from '../../util/errors.ts';
import type { ProxyConfig } from '../../endpoints/proxy-config.ts';
import { createLogger, setVerbosity } from '../../util/log.ts';
import { ApiClient } from '../../client/api-client.ts';
import { loadClientConfig } from '../../client/kubeconfig.ts';
import { loadBackend } from '../../endpoints/backends.ts';
import { cleanupAllModes, cleanupOtherModes } from '../../endpoints/cleanup-all.ts';
import { ProxierHealth, healthzHandler, metricsHandler } from '../../endpoints/healthz.ts';
import { listenHttp, parseBindAddress } from '../../endpoints/http-server.ts';
import type { HttpServer } from '../../endpoints/http-server.ts';
import { ProxyMetrics } from '../../endpoints/metrics.ts';
import { ProxyLoop } from '../../endpoints/proxy-loop.ts';
import { detectPrimaryIPFamily } from '../../endpoints/primary-family.ts';
import { validateProxyConfig } from '../../endpoints/proxy-config-validate.ts';
import { TCP_BE_LIBERAL } from '../../iptables/host-features.ts';
import { writeProcSysctl } from '../../iptables/sysctl.ts';

const log = createLogger('proxy');

/** The modes that run a proxier per IP family where both work. */
const DUAL_STACK_MODES = new Set(['iptables', 'ipvs', 'nftables']);

/** proxyFlags are `ferry proxy`'s flags, spelled as kube-proxy's where they overlap. */
export const proxyFlags = {
  kubeconfig: { type: 'string', help: 'path to a kubeconfig file (else $KUBECONFIG, --server, or the in-cluster service account)' },
  server: { type: 'string', help: 'apiserver URL (https://, http:// or unix:///path/to/socket); overrides the kubeconfig server' },
  mode: { type: 'string', default: 'iptables', help: 'proxy mode: iptables, nftables, ipvs, userspace or dry-run' },
  'cluster-cidr': { type: 'list', help: 'pod CIDRs (comma-separated); traffic from outside them to a service is masqueraded' },
  'min-sync-period': { type: 'duration', default: '1s', help: 'minimum interval between syncs of the proxy rules' },
  'sync-period': { type: 'duration', default: '30s', help: 'maximum interval between syncs (also the retry delay after a failed sync)' },
  'config-sync-period': { type: 'duration', default: '15m', help: 'how often the informers resync their cache' },
  'healthz-bind-address': { type: 'string', default: '0.0.0.0:10256', help: 'host:port of the /healthz and /livez server; empty disables it' },
  'metrics-bind-address': { type: 'string', default: '127.0.0.1:10249', help: 'host:port of the /metrics server; empty disables it' },
  'hostname-override': { type: 'string', help: 'node name of this proxy (default: the host name)' },
  'masquerade-all': { type: 'boolean', default: false, help: 'SNAT all traffic sent to service cluster IPs' },
  'iptables-masquerade-bit': { type: 'int', default: 14, help: 'fwmark bit marking packets to SNAT (0-31)' },
  'nodeport-addresses': { type: 'list', help: "CIDRs whose local addresses accept NodePorts, or 'primary' for the node's primary IPs (default: all)" },
  'iptables-localhost-nodeports': { type: 'boolean', default: true, help: 'iptables mode: NodePorts also answer on 127.0.0.1 (sets route_localnet=1 and blocks outside localnet traffic)' },
  cleanup: { type: 'boolean', default: false, help: 'remove the rules every mode left (iptables in both backends, IPVS, ipsets, nftables) and exit' },
  'iptables-backend': { type: 'string', help: 'iptables binaries to use: nft or legacy (default: what iptables points to)' },
  'ipvs-scheduler': { type: 'string', default: 'rr', help: 'IPVS scheduler (rr, lc, dh, sh, sed, nq, wrr, wlc)' },
  'ipvs-tcp-timeout': { type: 'duration', default: '0s', help: 'IPVS idle TCP timeout (0 leaves the kernel value)' },
  'ipvs-tcpfin-timeout': { type: 'duration', default: '0s', help: 'IPVS TCP FIN_WAIT timeout (0 leaves the kernel value)' },
  'ipvs-udp-timeout': { type: 'duration', default: '0s', help: 'IPVS UDP timeout (0 leaves the kernel value)' },
  'ipvs-exclude-cidrs': { type: 'list', help: 'CIDRs (comma-separated, either family) whose IPVS virtual servers the IPVS mode never deletes' },
  'proxy-port-range': { type: 'string', help: 'userspace mode listener ports, begin-end or begin+offset (default: ephemeral)' },
  'udp-timeout': { type: 'duration', default: '250ms', help: 'userspace mode idle timeout of UDP sessions' },
  'conntrack-tcp-be-liberal': { type: 'boolean', default: false, help: 'set nf_conntrack_tcp_be_liberal=1 (only out-of-window RSTs are INVALID; iptables mode then drops no INVALID packets)' },
  ...commonFlags,
  config: { type: 'string', help: 'path to a kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration (YAML or JSON); flags given explicitly override it' },
  'write-config-to': { type: 'string', help: 'write the effective configuration (KubeProxyConfiguration YAML) to this file and exit' },
} as const satisfies FlagSpecs;

export type ProxyFlagValues = FlagValues<typeof proxyFlags>;

/** proxyConfigFromFlags validates flag values into the ProxyConfig a backend gets. */
export function proxyConfigFromFlags(flags: ProxyFlagValues): ProxyConfig {
  return validateProxyConfig({
    mode: flags.mode,
    nodeName: (flags['hostname-override'] ?? hostname()).trim().toLowerCase(),
    clusterCIDRs: flags['cluster-cidr'] ?? [],
    masqueradeAll: flags['masquerade-all'],
    masqueradeBit: flags['iptables-masquerade-bit'],
    nodePortAddresses: flags['nodeport-addresses'] ?? [],
    localhostNodePorts: flags['iptables-localhost-nodeports'],
    syncPeriodMs: flags['sync-period'],
    minSyncPeriodMs: flags['min-sync-period'],
    iptablesBackend: flags['iptables-backend'],
    ipvsScheduler: flags['ipvs-scheduler'],
    ipvsTcpTimeoutMs: flags['ipvs-tcp-timeout'],
    ipvsTcpFinTimeoutMs: flags['ipvs-tcpfin-timeout'],
    ipvsUdpTimeoutMs: flags['ipvs-udp-timeout'],
    ipvsExcludeCIDRs: flags['ipvs-exclude-cidrs'] ?? [],
    proxyPortRange: flags['proxy-port-range'],
    udpIdleTimeoutMs: flags['udp-timeout'],
    conntrackTCPBeLiberal: flags['conntrack-tcp-be-liberal'],
  });
}

/**
 * setConntrackTCPBeLiberal is kube-proxy's conntracker.SetTCPBeLiberal, run
 * before the backend starts so the iptables mode reads the new value. As
 * there, failing to set it stops the proxy: the operator asked for it.
 */
async function setConntrackTCPBeLiberal(): Promise<void> {
  try {
    await writeProcSysctl(TCP_BE_LIBERAL, '1');
  } catch (e) {
    throw new InvalidArgumentError(`--conntrack-tcp-be-liberal: cannot set ${TCP_BE_LIBERAL}=1: ${(e as Error).message}`);
  }
  log.info(0, 'Set sysctl', { entry: TCP_BE_LIBERAL, value: 1 });
}

/** Flags kube-proxy still applies when given with --config (it documents the others as ignored then). */
const KUBE_PROXY_HONOURS_WITH_CONFIG = new Set(['hostname-override', 'v']);

/**
 * resolveFlags applies `--config` (flags given on the command line win) and
 * handles `--write-config-to`, which writes the effective configuration and
 * makes the command exit ('written').
 */
export async function resolveFlags(parsed: ProxyFlagValues, explicit: ReadonlySet<string>): Promise<ProxyFlagValues | 'written'> {
  if (parsed.config === undefined && parsed['write-config-to'] === undefined) return parsed;
  const file = parsed.config === undefined ? undefined : { path: parsed.config, text: await readFile(parsed.config, 'utf8') };
  const resolved = resolveProxySettings({ flags: parsed, explicit, knownFlags: new Set(Object.keys(proxyFlags)), file });
  const overriding = file ? [...explicit].filter((f) => mapsToConfig(f) && !KUBE_PROXY_HONOURS_WITH_CONFIG.has(f)) : [];
  if (overriding.length) log.warn('Flags given with --config override the file; kube-proxy would ignore them', { flags: overriding.map((f) => `--${f}`).join(',') });
  const flags = resolved.flags as ProxyFlagValues;
  setVerbosity(flags.v);
  if (parsed['write-config-to'] === undefined) return flags;
  await writeFile(parsed['write-config-to'], encodeKubeProxyConfiguration(resolved.config));
  log.info(0, 'Wrote the effective configuration', { file: parsed['write-config-to'] });
  return 'written';
}

export default defineCommand({
  name: 'proxy',
  summary: 'Run the service proxy (kube-proxy): watch Services and EndpointSlices and program this node',
  flags: proxyFlags,
  async run({ flags: parsed, explicit }) {
    const flags = await resolveFlags(parsed, explicit ?? new Set());
    if (flags === 'written') return 0;
    let config: ProxyConfig;
    try {
      config = proxyConfigFromFlags(flags);
    } catch (error) {
      if (!(error instanceof InvalidArgumentError) || flags.config === undefined) throw error;
      throw new InvalidArgumentError(inConfigTerms(error.message, flags.config));
    }
    const healthzBind = flags['healthz-bind-address'] ? parseBindAddress('healthz-bind-address', flags['healthz-bind-address']) : undefined;
    const metricsBind = flags['metrics-bind-address'] ? parseBindAddress('metrics-bind-address', flags['metrics-bind-address']) : undefined;
    const metrics = new ProxyMetrics({ processMetrics: true });
    if (flags.cleanup) {
      const errors = await cleanupAllModes(config);
      log.info(0, 'Cleaned up every mode', { failed: errors.length });
      return errors.length === 0 ? 0 : 1;
    }
    await cleanupOtherModes(config);
    if (config.conntrackTCPBeLiberal) await setConntrackTCPBeLiberal();
    const client = new ApiClient(loadClientConfig({ kubeconfig: flags.kubeconfig, server: flags.server }), { userAgent: `ferry-proxy/${config.nodeName}` });
    let proxier;
    try {
      // The dual-stack modes put the node IP's family first, as kube-proxy (userspace is IPv4 only).
      const primaryIPFamily = DUAL_STACK_MODES.has(config.mode) ? await detectPrimaryIPFamily(client, config.nodeName) : undefined;
      proxier = await (await loadBackend(config.mode))({ ...config, primaryIPFamily }, metrics);
    } catch (error) {
      await client.close();
      throw error;
    }
    const health = new ProxierHealth({ healthTimeoutMs: 2 * config.syncPeriodMs });
    const servers: HttpServer[] = [];
    const loop = new ProxyLoop({ client, proxier, nodeName: config.nodeName, minSyncPeriodMs: config.minSyncPeriodMs, syncPeriodMs: config.syncPeriodMs, configSyncPeriodMs: flags['config-sync-period'], metrics, health });
    const shutdown = async () => {
      await loop.stop();
      await Promise.all(servers.map((s) => s.close()));
      await proxier.close();
      await client.close();
    };
    try {
      if (healthzBind) servers.push(await listenHttp(healthzBind, healthzHandler(health, metrics)));
      if (metricsBind) servers.push(await listenHttp(metricsBind, metricsHandler(metrics, config.mode)));
    } catch (error) {
      await shutdown();
      throw error;
    }
    log.info(0, 'Starting proxy', { mode: config.mode, families: (proxier.ipFamilies ?? [4]).map((f) => `IPv${f}`).join(','), node: config.nodeName, server: client.server, healthz: servers[0]?.address, metrics: servers[1]?.address });
    loop.start();
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    log.info(0, 'Shutting down', { signal });
    await shutdown();
    return 0;
  },
});
