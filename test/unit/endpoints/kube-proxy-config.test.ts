import test from 'ava';
import { readFileSync } from 'node:fs';
import { stringify as stringifyYaml, parse as parseYaml } from 'yaml';
import { parseFlags } from '../../../src/cli/flags.ts';
import { proxyConfigFromFlags, proxyFlags, type ProxyFlagValues } from '../../../src/cli/commands/proxy.ts';
import { encodeKubeProxyConfiguration, resolveProxySettings } from '../../../src/endpoints/kube-proxy-config.ts';
import type { ProxyConfig } from '../../../src/endpoints/proxy-config.ts';
import { IptablesProxier } from '../../../src/iptables/proxier.ts';
import { FakeIptables, tracePacket } from '../../helpers/iptables-tracer.ts';
import { ep, HOST, NODE_IP, state, svc } from '../iptables/fixtures.ts';

// `ferry proxy --config`: kubeadm's KubeProxyConfiguration gives the same
// ProxyConfig, and the same iptables rules, as the equivalent flags; flags
// given explicitly win over the file; faults name the field.

const KUBEADM = readFileSync(new URL('../../fixtures/kube-proxy/kubeadm-1.30-config.conf', import.meta.url), 'utf8');
const known = new Set(Object.keys(proxyFlags));

/** fromFile resolves a config file text with the given command line, as `ferry proxy` does. */
function fromFile(text: string, argv: string[] = []): { flags: ProxyFlagValues; yaml: string } {
  const parsed = parseFlags(proxyFlags, ['--config', 'config.conf', ...argv]);
  const r = resolveProxySettings({ flags: parsed.flags, explicit: parsed.explicit, knownFlags: known, file: { path: 'config.conf', text } });
  return { flags: r.flags as ProxyFlagValues, yaml: encodeKubeProxyConfiguration(r.config) };
}
const fromFlags = (argv: string[]) => parseFlags(proxyFlags, argv).flags;
/** withFields edits kubeadm's file: `over` is merged into the parsed YAML. */
function withFields(over: Record<string, unknown>): string {
  const doc = parseYaml(KUBEADM) as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) doc[k] = v && typeof v === 'object' && !Array.isArray(v) ? { ...(doc[k] as object), ...v } : v;
  return stringifyYaml(doc);
}

const KUBEADM_AS_FLAGS = ['--cluster-cidr', '10.244.0.0/16', '--kubeconfig', '/var/lib/kube-proxy/kubeconfig.conf', '--hostname-override', 'node-a'];

test("kubeadm 1.30's config.conf gives the same ProxyConfig and kubeconfig as the equivalent flags", (t) => {
  const file = fromFile(KUBEADM, ['--hostname-override', 'node-a']);
  const flags = fromFlags(KUBEADM_AS_FLAGS);
  t.deepEqual(proxyConfigFromFlags(file.flags), proxyConfigFromFlags(flags));
  t.like(proxyConfigFromFlags(file.flags), { mode: 'iptables', clusterCIDRs: ['10.244.0.0/16'], masqueradeBit: 14, syncPeriodMs: 30_000, minSyncPeriodMs: 1000 });
  const { config: _c, ...rest } = file.flags;
  t.deepEqual(JSON.parse(JSON.stringify(rest)), JSON.parse(JSON.stringify(flags)), 'every flag, healthz/metrics addresses and --config-sync-period included');
});

test("kubeadm 1.29's config.conf (logging without text options) gives the same configuration", (t) => {
  const v129 = readFileSync(new URL('../../fixtures/kube-proxy/kubeadm-1.29-config.conf', import.meta.url), 'utf8');
  t.deepEqual(fromFile(v129), fromFile(KUBEADM));
});

test('the same file as JSON decodes the same', (t) => {
  t.deepEqual(fromFile(JSON.stringify(parseYaml(KUBEADM))).flags, fromFile(KUBEADM).flags);
});

async function syncRules(config: ProxyConfig): Promise<{ restores: string[]; ipt: FakeIptables; sysctls: string[] }> {
  const ipt = new FakeIptables();
  const sysctls: string[] = [];
  const metrics = { iptablesRestoreFailures: { inc() {} }, iptablesPartialRestoreFailures: { inc() {} }, iptablesRulesTotal: { set() {} }, iptablesRulesLastSync: { set() {} } };
  const sysctl = async (key: string, value: string) => void sysctls.push(`${key}=${value}`);
  const proxier = new IptablesProxier({ config, runner: ipt, healthHost: '127.0.0.1', now: () => 1_000_000, metrics, sysctl, host: HOST });
  const web = svc('default', 'web', { clusterIPs: ['172.30.0.41'], type: 'NodePort', nodePort: 30080 });
  await proxier.sync(state([[web, [ep('10.244.1.5'), ep('10.244.2.7', { isLocal: false })]]]));
  await proxier.close();
  return { restores: ipt.restores, ipt, sysctls };
}

test('kubeadm config.conf programs the same iptables rules as the flags, masquerading traffic from outside its clusterCIDR', async (t) => {
  const viaFile = await syncRules(proxyConfigFromFlags(fromFile(KUBEADM, ['--hostname-override', 'node1']).flags));
  const viaFlags = await syncRules(proxyConfigFromFlags(fromFlags([...KUBEADM_AS_FLAGS.slice(0, 4), '--hostname-override', 'node1'])));
  t.true(viaFile.restores.length > 0);
  t.deepEqual(viaFile.restores, viaFlags.restores);
  t.deepEqual(viaFile.sysctls, viaFlags.sysctls);
  t.true(viaFile.restores[0]!.includes('! -s 10.244.0.0/16'), "the file's clusterCIDR is the local-traffic detector");
  const fromOutside = tracePacket(viaFile.ipt, { sourceIP: '203.0.113.9', destIP: '172.30.0.41', destPort: 80 }, [NODE_IP]);
  t.true(fromOutside.masq);
});

test('nftables mode reads the nftables section (masqueradeAll, masqueradeBit, syncPeriod, minSyncPeriod), not the iptables one', (t) => {
  const text = withFields({ mode: 'nftables', nftables: { masqueradeAll: true, masqueradeBit: 5, minSyncPeriod: '2s', syncPeriod: '20s' }, iptables: { masqueradeBit: 9, syncPeriod: '45s' } });
  t.like(proxyConfigFromFlags(fromFile(text).flags), { mode: 'nftables', masqueradeAll: true, masqueradeBit: 5, minSyncPeriodMs: 2000, syncPeriodMs: 20_000 });
  const ipvs = withFields({ mode: 'ipvs', ipvs: { scheduler: 'lc', syncPeriod: '10s', minSyncPeriod: '3s', tcpTimeout: '15m' }, iptables: { masqueradeBit: 9 } });
  t.like(proxyConfigFromFlags(fromFile(ipvs).flags), { mode: 'ipvs', ipvsScheduler: 'lc', syncPeriodMs: 10_000, minSyncPeriodMs: 3000, ipvsTcpTimeoutMs: 900_000, masqueradeBit: 9 });
});

test('flags given on the command line override the file; defaulted flags do not', (t) => {
  const text = withFields({ mode: 'nftables', nftables: { syncPeriod: '20s', minSyncPeriod: '2s' }, hostnameOverride: 'from-file', metricsBindAddress: '0.0.0.0:10249' });
  const { flags, yaml } = fromFile(text, ['--mode', 'iptables', '--sync-period=10s', '--masquerade-all']);
  t.like(proxyConfigFromFlags(flags), { mode: 'iptables', syncPeriodMs: 10_000, minSyncPeriodMs: 1000, masqueradeAll: true, nodeName: 'from-file' });
  t.is(flags['metrics-bind-address'], '0.0.0.0:10249');
  t.is(flags['healthz-bind-address'], '0.0.0.0:10256');
  const written = parseYaml(yaml);
  t.like(written, { mode: 'iptables', hostnameOverride: 'from-file', iptables: { syncPeriod: '10s', masqueradeAll: true } });
  t.is(fromFile(KUBEADM, ['--healthz-bind-address=']).flags['healthz-bind-address'], '', 'an empty flag still disables the server');
});

test('--write-config-to output reads back to the same configuration', (t) => {
  const first = fromFile(KUBEADM, ['--hostname-override', 'node-a', '--mode', 'nftables', '--ipvs-scheduler', 'sh', '-v', '4']);
  const again = fromFile(first.yaml);
  t.is(again.yaml, first.yaml);
  t.deepEqual(proxyConfigFromFlags(again.flags), proxyConfigFromFlags(first.flags));
  t.is(again.flags.v, 4);
  const parsed = parseYaml(first.yaml);
  t.like(parsed, { kind: 'KubeProxyConfiguration', mode: 'nftables', configSyncPeriod: '15m0s', conntrack: { maxPerCore: 32768, tcpEstablishedTimeout: '24h0m0s' } });
  // Without --config the flags alone are the configuration.
  const parsedFlags = parseFlags(proxyFlags, ['--cluster-cidr', '10.0.0.0/8']);
  const r = resolveProxySettings({ flags: parsedFlags.flags, explicit: parsedFlags.explicit, knownFlags: known });
  t.like(parseYaml(encodeKubeProxyConfiguration(r.config)), { mode: 'iptables', clusterCIDR: '10.0.0.0/8', iptables: { syncPeriod: '30s', minSyncPeriod: '1s' } });
});

test('conntrack.tcpBeLiberal is --conntrack-tcp-be-liberal, both ways', (t) => {
  t.true(proxyConfigFromFlags(fromFile(withFields({ conntrack: { tcpBeLiberal: true } })).flags).conntrackTCPBeLiberal);
  t.false(proxyConfigFromFlags(fromFile(KUBEADM).flags).conntrackTCPBeLiberal);
  t.like(parseYaml(fromFile(KUBEADM, ['--conntrack-tcp-be-liberal']).yaml), { conntrack: { tcpBeLiberal: true } });
});

test('ipvs.excludeCIDRs is --ipvs-exclude-cidrs, both ways', (t) => {
  const cidrs = ['10.96.200.0/24', 'fd00:200::/64'];
  t.deepEqual(proxyConfigFromFlags(fromFile(withFields({ mode: 'ipvs', ipvs: { excludeCIDRs: cidrs } })).flags).ipvsExcludeCIDRs, cidrs);
  t.deepEqual(proxyConfigFromFlags(fromFile(KUBEADM).flags).ipvsExcludeCIDRs, [], 'kubeadm writes excludeCIDRs: null');
  t.deepEqual(proxyConfigFromFlags(fromFlags(['--ipvs-exclude-cidrs', '10.96.200.0/24,fd00:200::/64'])).ipvsExcludeCIDRs, cidrs, 'comma-separated');
  t.like(parseYaml(fromFile(KUBEADM, ['--ipvs-exclude-cidrs', '10.96.200.0/24,fd00:200::/64']).yaml), { ipvs: { excludeCIDRs: cidrs } });
  t.throws(() => proxyConfigFromFlags(fromFlags(['--ipvs-exclude-cidrs', '10.96.200.0/24,nonsense'])), { message: 'invalid --ipvs-exclude-cidrs "nonsense": not a CIDR' });
});

const faults: Array<{ name: string; text: string; argv?: string[]; message: RegExp }> = [
  { name: 'unknown top-level field', text: withFields({ udpIdleTimeout: '250ms' }), message: /failed to load config file "config.conf": strict decoding error: unknown field "udpIdleTimeout"/ },
  { name: 'unknown nested field', text: withFields({ iptables: { masqueradebit: 3 } }), message: /unknown field "iptables.masqueradebit"/ },
  { name: 'wrong type', text: withFields({ iptables: { masqueradeBit: 'fourteen' } }), message: /cannot unmarshal string into field iptables.masqueradeBit of type int32/ },
  { name: 'bad duration', text: withFields({ configSyncPeriod: 'soon' }), message: /configSyncPeriod: time: invalid duration "soon"/ },
  { name: 'wrong kind', text: KUBEADM.replace('kind: KubeProxyConfiguration', 'kind: KubeletConfiguration'), message: /no kind "KubeletConfiguration" is registered/ },
  { name: 'duplicate key', text: `${KUBEADM}mode: ipvs\n`, message: /failed to load config file "config.conf": Map keys must be unique/ },
  { name: 'masquerade bit out of range', text: withFields({ iptables: { masqueradeBit: 32 } }), message: /^KubeProxyConfiguration.iptables.masqueradeBit: Invalid value: 32: must be within the range \[0, 31\]$/ },
  { name: 'unknown mode', text: withFields({ mode: 'ebpf' }), message: /KubeProxyConfiguration.mode: Unsupported value: "ebpf": supported values: "iptables", "ipvs", "nftables"/ },
  { name: 'bad cluster CIDR', text: withFields({ clusterCIDR: '10.244.0.0/40' }), message: /KubeProxyConfiguration.clusterCIDR: Invalid value: "10.244.0.0\/40"/ },
  { name: 'bad healthz address', text: withFields({ healthzBindAddress: 'localhost' }), message: /KubeProxyConfiguration.healthzBindAddress: Invalid value: "localhost": must be IP:port/ },
  { name: 'invalid explicit flag lands on its field', text: KUBEADM, argv: ['--iptables-masquerade-bit', '40'], message: /KubeProxyConfiguration.iptables.masqueradeBit: Invalid value: 40/ },
  { name: 'bad IPVS exclude CIDR', text: withFields({ ipvs: { excludeCIDRs: ['10.96.200.0/24', '10.96.201.1'] } }), message: /^KubeProxyConfiguration.ipvs.excludeCIDRs\[1\]: Invalid value: "10.96.201.1": must be a valid CIDR block$/ },
  { name: 'strictARP not implemented', text: withFields({ ipvs: { strictARP: true } }), message: /KubeProxyConfiguration.ipvs.strictARP: Unsupported value: true: not implemented by ferry/ },
  { name: 'detectLocalMode NodeCIDR not implemented', text: withFields({ detectLocalMode: 'NodeCIDR' }), message: /KubeProxyConfiguration.detectLocalMode: Unsupported value: "NodeCIDR": not implemented by ferry \(accepted: "ClusterCIDR"\)/ },
  { name: 'conntrack tuning not implemented', text: withFields({ conntrack: { tcpEstablishedTimeout: '2h0m0s', maxPerCore: 65536 } }), message: /\[KubeProxyConfiguration.conntrack.maxPerCore: Unsupported value: 65536.*, KubeProxyConfiguration.conntrack.tcpEstablishedTimeout: Unsupported value: 7200000/ },
  { name: 'bindAddress as node IP not implemented', text: withFields({ bindAddress: '192.168.0.2' }), message: /KubeProxyConfiguration.bindAddress: Unsupported value: "192.168.0.2": not implemented by ferry/ },
  { name: 'unknown feature gate', text: withFields({ featureGates: { SomeGate: true } }), message: /KubeProxyConfiguration.featureGates.SomeGate: Unsupported value: true/ },
  { name: 'LoadBalancerIPMode off (Ferry, like kube-proxy from 1.32, always honours ipMode)', text: withFields({ featureGates: { LoadBalancerIPMode: false } }), message: /KubeProxyConfiguration.featureGates.LoadBalancerIPMode: Unsupported value: false: not implemented by ferry \(accepted: true\)/ },
  { name: 'winkernel settings', text: withFields({ winkernel: { enableDSR: true } }), message: /KubeProxyConfiguration.winkernel.enableDSR: Unsupported value: true/ },
  { name: 'qps not implemented', text: withFields({ clientConnection: { qps: 50 } }), message: /KubeProxyConfiguration.clientConnection.qps: Unsupported value: 50/ },
];
for (const tc of faults) {
  test(`refused: ${tc.name}`, (t) => {
    t.throws(() => fromFile(tc.text, tc.argv), { message: tc.message });
  });
}

test('accepted: kube defaults written out, the NFTablesProxyMode gate, LoadBalancerIPMode on, nodePortAddresses primary, a userspace portRange', (t) => {
  const text = withFields({
    featureGates: { NFTablesProxyMode: true, LoadBalancerIPMode: true }, oomScoreAdj: -999, conntrack: { maxPerCore: 0, tcpEstablishedTimeout: '24h0m0s' },
    nodePortAddresses: ['primary'], portRange: '30000-30100', mode: 'userspace', bindAddressHardFail: true,
  });
  const { flags } = fromFile(text);
  t.deepEqual(flags['nodeport-addresses'], ['primary']);
  t.is(flags['proxy-port-range'], '30000-30100');
  t.is(flags.mode, 'userspace');
});

test('iptables.localhostNodePorts and nodePortAddresses: primary program the same rules as their flags', async (t) => {
  t.is(fromFile(KUBEADM).flags['iptables-localhost-nodeports'], true, 'null is kube\'s default, true');
  const text = withFields({ iptables: { localhostNodePorts: false }, nodePortAddresses: ['primary'] });
  const file = proxyConfigFromFlags(fromFile(text, ['--hostname-override', 'node1']).flags);
  t.like(file, { localhostNodePorts: false, nodePortAddresses: ['primary'] });
  const flags = proxyConfigFromFlags(fromFlags([...KUBEADM_AS_FLAGS.slice(0, 4), '--hostname-override', 'node1', '--iptables-localhost-nodeports=false', '--nodeport-addresses', 'primary']));
  t.deepEqual(file, flags);
  const [viaFile, viaFlags] = [await syncRules(file), await syncRules(flags)];
  t.deepEqual(viaFile.restores, viaFlags.restores);
  t.deepEqual(viaFile.sysctls, [], 'no route_localnet without localhost NodePorts');
  t.deepEqual((await syncRules(proxyConfigFromFlags(fromFile(KUBEADM, ['--hostname-override', 'node1']).flags))).sysctls, ['net.ipv4.conf.all.route_localnet=1']);
});

test('a file setting whose flag this build lacks must hold kube\'s default', (t) => {
  const without = new Set([...known].filter((f) => f !== 'iptables-localhost-nodeports'));
  const parsed = parseFlags(proxyFlags, ['--config', 'config.conf']);
  const resolve = (text: string) => resolveProxySettings({ flags: parsed.flags, explicit: parsed.explicit, knownFlags: without, file: { path: 'config.conf', text } });
  t.notThrows(() => resolve(KUBEADM));
  t.throws(() => resolve(withFields({ iptables: { localhostNodePorts: false } })), { message: /KubeProxyConfiguration.iptables.localhostNodePorts: Unsupported value: false: not implemented by this build of ferry/ });
});
