import test from 'ava';
import { PassThrough } from 'node:stream';
import { availableModes, loadBackend } from '../../../src/endpoints/backends.ts';
import { Backoff } from '../../../src/util/backoff.ts';
import { DryRunProxier } from '../../../src/endpoints/dry-run-proxier.ts';
import { UnknownProxyModeError } from '../../../src/endpoints/errors.ts';
import { validateProxyConfig } from '../../../src/endpoints/proxy-config-validate.ts';
import { masqueradeMark } from '../../../src/endpoints/proxy-config.ts';
import type { RawProxyFlags } from '../../../src/endpoints/proxy-config-validate.ts';
import { ProxyStateBuilder } from '../../../src/endpoints/state-builder.ts';

const defaults: RawProxyFlags = {
  mode: 'dry-run', nodeName: 'node-a', clusterCIDRs: [], masqueradeAll: false, masqueradeBit: 14, nodePortAddresses: [], localhostNodePorts: true,
  syncPeriodMs: 30_000, minSyncPeriodMs: 1000, iptablesBackend: undefined, ipvsScheduler: 'rr', ipvsTcpTimeoutMs: 0,
  ipvsTcpFinTimeoutMs: 0, ipvsUdpTimeoutMs: 0, proxyPortRange: undefined, udpIdleTimeoutMs: 250, conntrackTCPBeLiberal: false, ipvsExcludeCIDRs: [],
};

const cases: Array<{ name: string; over: Partial<RawProxyFlags>; want: Record<string, unknown> | RegExp }> = [
  { name: 'defaults', over: {}, want: { mode: 'dry-run', masqueradeBit: 14, proxyPortRange: undefined } },
  { name: 'cluster CIDRs and port range forms', over: { clusterCIDRs: ['10.0.0.0/8', ' 192.168.0.0/16'], proxyPortRange: '30000+100' }, want: { clusterCIDRs: ['10.0.0.0/8', '192.168.0.0/16'], proxyPortRange: [30000, 30100] } },
  { name: 'unknown mode', over: { mode: 'ebpf' }, want: /invalid --mode "ebpf": want one of iptables, nftables, ipvs, userspace, dry-run/ },
  { name: 'bad CIDR', over: { clusterCIDRs: ['10.0.0.0/33'] }, want: /invalid --cluster-cidr "10.0.0.0\/33"/ },
  { name: 'bad IPv6 CIDR', over: { clusterCIDRs: ['fd00::/129'] }, want: /invalid --cluster-cidr "fd00::\/129": not a CIDR/ },
  { name: 'dual-stack cluster CIDRs (each proxier keeps its own)', over: { clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'] }, want: { clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'] } },
  { name: 'masquerade bit out of range', over: { masqueradeBit: 32 }, want: /--iptables-masquerade-bit 32/ },
  { name: 'min sync above sync period', over: { minSyncPeriodMs: 60_000 }, want: /--min-sync-period: must be <= --sync-period/ },
  { name: 'iptables backend', over: { iptablesBackend: 'xtables' }, want: /--iptables-backend "xtables": want nft or legacy/ },
  { name: 'nodeport addresses of both families (each proxier keeps its own)', over: { nodePortAddresses: ['192.168.0.0/16', 'fd00::/64'] }, want: { nodePortAddresses: ['192.168.0.0/16', 'fd00::/64'] } },
  { name: 'nodeport addresses primary', over: { nodePortAddresses: ['primary'] }, want: { nodePortAddresses: ['primary'] } },
  { name: 'nodeport addresses primary with CIDRs', over: { nodePortAddresses: ['primary', '10.0.0.0/8'] }, want: /--nodeport-addresses "primary,10.0.0.0\/8": can't use both 'primary' and CIDRs/ },
  { name: 'nodeport addresses not a CIDR', over: { nodePortAddresses: ['10.0.0.1'] }, want: /--nodeport-addresses "10.0.0.1": must be a valid CIDR or 'primary'/ },
  { name: 'IPVS exclude CIDRs of both families', over: { ipvsExcludeCIDRs: ['10.96.200.0/24', ' fd00:200::/64'] }, want: { ipvsExcludeCIDRs: ['10.96.200.0/24', 'fd00:200::/64'] } },
  { name: 'IPVS exclude CIDR not a CIDR', over: { ipvsExcludeCIDRs: ['10.96.200.0/24', '10.96.201.1'] }, want: /^invalid --ipvs-exclude-cidrs "10.96.201.1": not a CIDR$/ },
  { name: 'IPVS exclude CIDR with a bad prefix', over: { ipvsExcludeCIDRs: ['fd00::/200'] }, want: /^invalid --ipvs-exclude-cidrs "fd00::\/200": not a CIDR$/ },
  { name: 'port range reversed', over: { proxyPortRange: '3000-2000' }, want: /--proxy-port-range "3000-2000"/ },
];
for (const tc of cases) {
  test(`config: ${tc.name}`, (t) => {
    const raw = { ...defaults, ...tc.over };
    if (tc.want instanceof RegExp) t.throws(() => validateProxyConfig(raw), { message: tc.want });
    else t.like(validateProxyConfig(raw) as unknown as Record<string, unknown>, tc.want);
  });
}

test('backend registry: dry-run loads, unknown modes are a typed error naming what exists', async (t) => {
  t.true(availableModes().includes('dry-run'));
  t.is(typeof (await loadBackend('dry-run')), 'function');
  const err = await t.throwsAsync(loadBackend('nft'));
  t.true(err instanceof UnknownProxyModeError);
  t.regex(err!.message, /proxy mode "nft" is not available in this build \(available: .*dry-run/);
});

test('dry-run writes one JSON line per sync; the first is full', async (t) => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b));
  const proxier = new DryRunProxier(out);
  const b = new ProxyStateBuilder('node-a');
  b.onServiceChange(undefined, { metadata: { namespace: 'ns', name: 's' }, spec: { clusterIP: '172.30.0.1', ports: [{ name: 'p', port: 80 }] } });
  t.like(await proxier.sync(b.build()), { ok: true, full: true });
  t.like(await proxier.sync(b.build()), { ok: true, full: false });
  const lines = text.trim().split('\n').map((l) => JSON.parse(l));
  t.is(lines.length, 2);
  t.is(lines[0].services['ns/s:p'].clusterIPs[0], '172.30.0.1');
  t.deepEqual(lines[0].changed, ['ns/s:p']);
});

test('backoff doubles up to the cap with jitter in [base/2, base]', (t) => {
  const lo = new Backoff({ initialMs: 100, maxMs: 500, random: () => 0 });
  t.deepEqual([1, 2, 3, 4, 5].map(() => lo.next()), [50, 100, 200, 250, 250]);
  const hi = new Backoff({ initialMs: 100, maxMs: 500, random: () => 1 });
  t.deepEqual([1, 2, 3, 4].map(() => hi.next()), [100, 200, 400, 500]);
  hi.reset();
  t.is(hi.next(), 100);
});

test('masqueradeMark: every bit kube-proxy accepts gives a positive hex mark, bit 31 included', (t) => {
  t.is(masqueradeMark(0), '0x1');
  t.is(masqueradeMark(14), '0x4000');
  t.is(masqueradeMark(31), '0x80000000');
});
