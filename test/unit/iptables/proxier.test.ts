import test from 'ava';
import { proxyConfig } from '../../helpers/proxy-state-fixtures.ts';
import type { ProxyConfig } from '../../../src/endpoints/proxy-config.ts';
import { cleanupRules } from '../../../src/iptables/cleanup.ts';
import { IptablesRestoreError } from '../../../src/iptables/errors.ts';
import { IptablesProxier } from '../../../src/iptables/proxier.ts';
import { failedLine } from '../../../src/iptables/runner.ts';
import { FakeIptables, tracePacket } from '../../helpers/iptables-tracer.ts';
import { ep, HOST, NODE_IP, state, svc } from './fixtures.ts';

// The proxier over a stateful fake: what each sync leaves in the tables,
// partial vs full syncs, failures, an external flush, and cleanup.

const config: ProxyConfig = proxyConfig({ nodeName: 'node1', clusterCIDRs: ['10.0.0.0/8'], iptablesBackend: 'nft' });

function setup(over: Partial<ProxyConfig> = {}) {
  const ipt = new FakeIptables();
  const counts = { failures: 0, partialFailures: 0, rules: {} as Record<string, number>, written: {} as Record<string, number> };
  // Sysctls the proxier set: recorded, never written (this test runs in the machine's own namespace).
  const sysctls: string[] = [];
  let clock = 1_000_000;
  const proxier = new IptablesProxier({
    config: { ...config, ...over }, runner: ipt, healthHost: '127.0.0.1', now: () => clock,
    sysctl: async (key, value) => void sysctls.push(`${key}=${value}`),
    host: HOST,
    metrics: {
      iptablesRestoreFailures: { inc: () => counts.failures++ },
      iptablesPartialRestoreFailures: { inc: () => counts.partialFailures++ },
      iptablesRulesTotal: { set: ({ table }, v) => (counts.rules[table] = v) },
      iptablesRulesLastSync: { set: ({ table }, v) => (counts.written[table] = v) },
    },
  });
  return { ipt, proxier, counts, sysctls, advance: (ms: number) => (clock += ms) };
}

const s1 = svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] });
const s2 = svc('ns2', 'svc2', { clusterIPs: ['172.30.0.42'] });
const trace = (ipt: FakeIptables, destIP: string) => tracePacket(ipt, { sourceIP: '10.0.0.2', destIP, destPort: 80 }, [NODE_IP]).output;

test('first sync is full, hooks the built-in chains once, and routes traffic', async (t) => {
  const { ipt, proxier, counts } = setup();
  const r = await proxier.sync(state([[s1, [ep('10.180.0.1')]]]));
  t.like(r, { ok: true, full: true });
  t.is(trace(ipt, '172.30.0.41'), '10.180.0.1:80');
  t.true(ipt.rules('nat', 'PREROUTING').some((r) => r.endsWith('-j KUBE-SERVICES')));
  t.true(counts.rules.nat! > 0);
  const natRules = counts.rules.nat;
  const again = await proxier.sync(state([[s1, [ep('10.180.0.1')]]], []));
  t.like(again, { ok: true, full: false });
  t.is(counts.rules.nat, natRules, 'a partial sync still reports every installed rule');
  t.is(ipt.rules('nat', 'PREROUTING').length, 1, 'jump rules are not duplicated');
  await proxier.close();
});

test('partial sync rewrites only changed services, and deletes the chains of removed ones', async (t) => {
  const { ipt, proxier } = setup();
  await proxier.sync(state([[s1, [ep('10.180.0.1')]], [s2, [ep('10.180.0.2')]]]));
  await proxier.sync(state([[s1, [ep('10.180.0.1')]], [s2, [ep('10.180.0.3')]]], [s2.key]));
  const last = ipt.restores.at(-1)!;
  t.false(last.includes(':KUBE-SVC-XPGD46QRK7WJZT7O'), 'unchanged svc1 chain not rewritten');
  t.true(last.includes(':KUBE-SVC-GNZBNJ2PO5MGZ6GT'));
  t.is(trace(ipt, '172.30.0.41'), '10.180.0.1:80');
  t.is(trace(ipt, '172.30.0.42'), '10.180.0.3:80');
  t.false(ipt.chains('nat').includes('KUBE-SEP-RS4RBKLTHTF2IUXJ'), 'the old endpoint chain is gone');
  await proxier.sync(state([[s1, [ep('10.180.0.1')]]], [s2.key]));
  t.false(ipt.chains('nat').some((c) => c.endsWith('GNZBNJ2PO5MGZ6GT')));
  t.is(trace(ipt, '172.30.0.42'), '');
  await proxier.close();
});

test('a failed restore is returned as data, counted, and makes the next sync full', async (t) => {
  const { ipt, proxier, counts } = setup();
  await proxier.sync(state([[s1, [ep('10.180.0.1')]]]));
  ipt.failNextRestore = 3;
  const failed = await proxier.sync(state([[s1, [ep('10.180.0.2')]]]));
  t.false(failed.ok);
  t.true(!failed.ok && failed.error instanceof IptablesRestoreError && failed.error.line === 3);
  t.deepEqual([counts.failures, counts.partialFailures], [1, 1]);
  t.like(await proxier.sync(state([[s1, [ep('10.180.0.2')]]], [])), { ok: true, full: true });
  t.is(trace(ipt, '172.30.0.41'), '10.180.0.2:80');
  await proxier.close();
});

test('an external flush (canary gone) and the sync period force a full sync', async (t) => {
  const { ipt, proxier, advance } = setup();
  await proxier.sync(state([[s1, [ep('10.180.0.1')]]]));
  ipt.tables.set('nat', new Map([['PREROUTING', []], ['INPUT', []], ['OUTPUT', []], ['POSTROUTING', []]]));
  advance(5_000); // partial syncs look for the canary at most every 5 s
  t.like(await proxier.sync(state([[s1, [ep('10.180.0.1')]]], [])), { ok: true, full: true });
  t.is(trace(ipt, '172.30.0.41'), '10.180.0.1:80', 'everything is back after the flush');
  t.like(await proxier.sync(state([[s1, [ep('10.180.0.1')]]], [])), { full: false });
  advance(30_000);
  t.like(await proxier.sync(state([[s1, [ep('10.180.0.1')]]], [])), { full: true });
  await proxier.close();
});

test('cleanup removes our chains and jumps and leaves other rules alone', async (t) => {
  const { ipt, proxier } = setup();
  ipt.apply('*filter\n:OTHER - [0:0]\n-A INPUT -j OTHER\n-A OTHER -j ACCEPT\nCOMMIT\n*nat\n-A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE\nCOMMIT\n');
  await proxier.sync(state([[s1, [ep('10.180.0.1')]]]));
  await proxier.cleanup();
  for (const table of ['filter', 'nat', 'mangle']) t.false((await ipt.save(table)).includes('KUBE-'), table);
  t.deepEqual(ipt.rules('filter', 'INPUT'), ['-j OTHER']);
  t.deepEqual(ipt.rules('nat', 'POSTROUTING'), ['-s 10.9.0.0/16 -j MASQUERADE']);
  await cleanupRules(ipt); // a second cleanup on a clean node is a no-op
  t.pass();
});

test('localhost NodePorts (default): route_localnet=1 once, KUBE-FIREWALL jumped from INPUT and OUTPUT, 127.0.0.1 reaches node ports', async (t) => {
  const { ipt, proxier, sysctls } = setup();
  const np = svc('ns3', 'svc3', { type: 'NodePort', clusterIPs: ['172.30.0.43'], nodePort: 3003 });
  await proxier.sync(state([[np, [ep('10.180.0.1')]]]));
  await proxier.sync(state([[np, [ep('10.180.0.1')]]], []));
  t.deepEqual(sysctls, ['net.ipv4.conf.all.route_localnet=1']);
  t.deepEqual(ipt.rules('filter', 'KUBE-FIREWALL'), ['-m comment --comment block incoming localnet connections -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP']);
  t.deepEqual(ipt.rules('filter', 'INPUT').filter((r) => r.endsWith('KUBE-FIREWALL')), ['-j KUBE-FIREWALL']);
  t.deepEqual(ipt.rules('filter', 'OUTPUT').filter((r) => r.endsWith('KUBE-FIREWALL')), ['-j KUBE-FIREWALL']);
  t.is(tracePacket(ipt, { sourceIP: '127.0.0.1', destIP: '127.0.0.1', destPort: 3003 }, [NODE_IP]).output, '10.180.0.1:80');
  await proxier.close();
});

test('localhost NodePorts: a route_localnet that cannot be set is logged, and services still get their rules', async (t) => {
  const ipt = new FakeIptables();
  let tries = 0;
  const proxier = new IptablesProxier({
    config, runner: ipt, healthHost: '127.0.0.1', now: () => 1_000_000,
    sysctl: async () => {
      tries++;
      throw new Error('EROFS: read-only file system');
    },
    host: HOST,
    metrics: { iptablesRestoreFailures: { inc() {} }, iptablesPartialRestoreFailures: { inc() {} }, iptablesRulesTotal: { set() {} }, iptablesRulesLastSync: { set() {} } },
  });
  t.like(await proxier.sync(state([[s1, [ep('10.180.0.1')]]])), { ok: true, full: true });
  t.is(trace(ipt, '172.30.0.41'), '10.180.0.1:80');
  t.like(await proxier.sync(state([[s1, [ep('10.180.0.1')]]], [])), { ok: true, full: false });
  t.is(tries, 1, 'partial syncs do not try again; the next full sync will');
  await proxier.close();
});

for (const [name, over] of [
  ['--iptables-localhost-nodeports=false', { localhostNodePorts: false }],
  ['--nodeport-addresses without 127.0.0.1', { nodePortAddresses: ['192.168.0.0/16'] }],
] as const) {
  test(`localhost NodePorts off (${name}): no sysctl, no KUBE-FIREWALL, 127.0.0.1 does not reach node ports`, async (t) => {
    const { ipt, proxier, sysctls } = setup(over);
    const np = svc('ns3', 'svc3', { type: 'NodePort', clusterIPs: ['172.30.0.43'], nodePort: 3003 });
    await proxier.sync(state([[np, [ep('10.180.0.1')]]]));
    t.deepEqual(sysctls, []);
    t.false(ipt.chains('filter').includes('KUBE-FIREWALL'));
    t.is(tracePacket(ipt, { sourceIP: '127.0.0.1', destIP: '127.0.0.1', destPort: 3003 }, [NODE_IP]).output, '');
    await proxier.close();
  });
}

const stderrCases: Array<{ name: string; stderr: string; line: number | undefined }> = [
  { name: 'nft', stderr: "iptables-nft-restore v1.8.9 (nf_tables): Chain 'FOO' does not exist\nError occurred at line: 5\n", line: 5 },
  { name: 'legacy', stderr: 'iptables-restore: line 12 failed\n', line: 12 },
  { name: 'unknown', stderr: 'something else', line: undefined },
];
for (const tc of stderrCases) test(`failedLine: ${tc.name}`, (t) => t.is(failedLine(tc.stderr), tc.line));
