import test from 'ava';
import { ProxyMetrics } from '../../../src/endpoints/metrics.ts';
import { CT_STATE_INVALID_DROPPED_COUNTER, LOCALHOST_NODEPORTS_COUNTER, NFACCT_COUNTERS } from '../../../src/iptables/fixed-chains.ts';
import { KernelNfacctCounters, type NfacctCounters, type NfacctObjects } from '../../../src/iptables/nfacct-counters.ts';
import { IptablesProxier } from '../../../src/iptables/proxier.ts';
import { FakeIptables } from '../../helpers/iptables-tracer.ts';
import { proxyConfig } from '../../helpers/proxy-state-fixtures.ts';
import { ep, HOST, state, svc } from './fixtures.ts';

// How the iptables proxier uses nfacct (kube-proxy's ctstate INVALID and
// localhost NodePort counters): the objects are created at the first sync,
// not when the proxier is built (a proxier never synced leaves none); rules count into
// an object only when it could be created; the metrics are read at each scrape.

/** FakeNfacct records calls; `usable` says which objects "the kernel" lets it create. */
class FakeNfacct implements NfacctCounters {
  readonly ensured: string[][] = [];
  closed = 0;
  private readonly usable: boolean;
  constructor(usable: boolean) {
    this.usable = usable;
  }
  async ensure(names: readonly string[]): Promise<ReadonlySet<string>> {
    this.ensured.push([...names]);
    return new Set(this.usable ? names : []);
  }
  async packets(): Promise<number | undefined> {
    return undefined;
  }
  close(): void {
    this.closed++;
  }
}

function setup(nfacct: FakeNfacct) {
  const ipt = new FakeIptables();
  const proxier = new IptablesProxier({
    config: proxyConfig({ clusterCIDRs: ['10.0.0.0/8'], iptablesBackend: 'nft' }), runner: ipt, healthHost: '127.0.0.1', now: () => 1_000_000,
    sysctl: async () => {}, // never written: this test runs in the machine's own namespace
    metrics: { iptablesRestoreFailures: { inc() {} }, iptablesPartialRestoreFailures: { inc() {} }, iptablesRulesTotal: { set() {} }, iptablesRulesLastSync: { set() {} } },
    host: HOST,
    nfacct,
  });
  return { ipt, proxier };
}

const s1 = svc('ns1', 'svc1', { type: 'NodePort', clusterIPs: ['172.30.0.41'], nodePort: 30001 });
const dropRule = (ipt: FakeIptables) => ipt.rules('filter', 'KUBE-FORWARD')[0];
const nodePortRules = (ipt: FakeIptables) => ipt.rules('nat', 'KUBE-NODEPORTS').map((r) => r.replace(/KUBE-EXT-\w+/, 'KUBE-EXT'));
const NODEPORT_JUMP = '-m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 30001 -j KUBE-EXT';

test('with nfacct, the first sync creates the counter and the INVALID drop counts into it; later syncs keep it', async (t) => {
  const nfacct = new FakeNfacct(true);
  const { ipt, proxier } = setup(nfacct);
  t.deepEqual(nfacct.ensured, [], 'building the proxier creates nothing');
  t.true((await proxier.sync(state([[s1, [ep('10.180.0.1')]]]))).ok);
  t.is(dropRule(ipt), `-m conntrack --ctstate INVALID -m nfacct --nfacct-name ${CT_STATE_INVALID_DROPPED_COUNTER} -j DROP`);
  t.true((await proxier.sync(state([[s1, [ep('10.180.0.2')]]], [s1.key]))).ok);
  t.is(dropRule(ipt), `-m conntrack --ctstate INVALID -m nfacct --nfacct-name ${CT_STATE_INVALID_DROPPED_COUNTER} -j DROP`);
  t.deepEqual(nodePortRules(ipt), [
    `-m comment --comment ns1/svc1:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 30001 -m nfacct --nfacct-name ${LOCALHOST_NODEPORTS_COUNTER} -j KUBE-EXT`,
    NODEPORT_JUMP,
  ], 'an extra rule before the NodePort jump counts packets to 127.0.0.0/8');
  t.deepEqual(nfacct.ensured, [[...NFACCT_COUNTERS]], 'created once, at start');
  await proxier.close();
  t.is(nfacct.closed, 1);
});

test('without nfacct, the INVALID drop and NodePort rules are as before and nothing is retried', async (t) => {
  const nfacct = new FakeNfacct(false);
  const { ipt, proxier } = setup(nfacct);
  t.true((await proxier.sync(state([[s1, [ep('10.180.0.1')]]]))).ok);
  t.true((await proxier.sync(state([[s1, [ep('10.180.0.1')]]], []))).ok);
  t.is(dropRule(ipt), '-m conntrack --ctstate INVALID -j DROP');
  t.deepEqual(nodePortRules(ipt), [NODEPORT_JUMP]);
  t.is(nfacct.ensured.length, 1);
  await proxier.close();
});

test('kubeproxy_iptables_ct_state_invalid_dropped_packets_total is read at each scrape, and has no sample when unreadable', async (t) => {
  const metrics = new ProxyMetrics();
  t.notRegex(await metrics.registry.metrics(), /ct_state_invalid/, 'only the iptables mode registers it');
  const values: Array<number | undefined> = [7, 9, undefined];
  let reads = 0;
  metrics.countCtStateInvalidDropped(async () => values[reads++]);
  const sample = /^kubeproxy_iptables_ct_state_invalid_dropped_packets_total (\d+)$/m;
  const first = await metrics.registry.metrics();
  t.regex(first, /^# HELP kubeproxy_iptables_ct_state_invalid_dropped_packets_total packets dropped by iptables to work around conntrack problems$/m);
  t.regex(first, /^# TYPE kubeproxy_iptables_ct_state_invalid_dropped_packets_total counter$/m);
  t.is(sample.exec(first)?.[1], '7');
  t.is(sample.exec(await metrics.registry.metrics())?.[1], '9');
  t.notRegex(await metrics.registry.metrics(), sample, 'no nfacct object: no sample rather than a 0 that looks like a reset');
  t.is(reads, 3);
});

test('kubeproxy_iptables_localhost_nodeports_accepted_packets_total is read at each scrape too', async (t) => {
  const metrics = new ProxyMetrics();
  metrics.countLocalhostNodePortsAccepted(async () => 2);
  const text = await metrics.registry.metrics();
  t.regex(text, /^# HELP kubeproxy_iptables_localhost_nodeports_accepted_packets_total Number of packets accepted on nodeports of loopback interface$/m);
  t.regex(text, /^kubeproxy_iptables_localhost_nodeports_accepted_packets_total 2$/m);
});

/** FakeNfacctObjects stands for the kernel's objects behind KernelNfacctCounters; `failing` names refuse creation. */
class FakeNfacctObjects implements NfacctObjects {
  readonly ensured: string[] = [];
  private readonly failing: ReadonlySet<string>;
  constructor(failing: readonly string[] = []) {
    this.failing = new Set(failing);
  }
  async ensure(name: string): Promise<void> {
    this.ensured.push(name);
    if (this.failing.has(name)) throw new Error('EOPNOTSUPP');
  }
  async get(name: string) {
    return { name, packets: 5, bytes: 300 };
  }
  close(): void {}
}

test('the kernel counters are created once: a second proxier (dual-stack) gets the first answer without asking again', async (t) => {
  const kernel = new FakeNfacctObjects([LOCALHOST_NODEPORTS_COUNTER]);
  let opened = 0;
  const counters = new KernelNfacctCounters(() => (opened++, kernel));
  t.is(opened, 0, 'no socket until first use');
  const ipv4 = await counters.ensure(NFACCT_COUNTERS);
  const ipv6 = await counters.ensure(NFACCT_COUNTERS);
  t.deepEqual([...ipv4], [CT_STATE_INVALID_DROPPED_COUNTER], 'an object that could not be created is not usable');
  t.deepEqual([...ipv6], [CT_STATE_INVALID_DROPPED_COUNTER], 'the second proxier gets the same answer');
  t.deepEqual(kernel.ensured, [...NFACCT_COUNTERS], 'each object asked for once');
  t.is(await counters.packets(CT_STATE_INVALID_DROPPED_COUNTER), 5);
  t.is(opened, 1);
});
