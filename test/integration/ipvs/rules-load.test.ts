import test from 'ava';
import { SET, type SetName } from '../../../src/ipvs/desired.ts';
import { FILTER_CHAINS, legacyFilterCleanup, missingJumps, NAT_CHAINS, renderRules } from '../../../src/ipvs/iptables.ts';
import { renderDelta, renderFullRestore } from '../../../src/ipvs/ipset.ts';
import { isRoot, NetnsFixture } from '../../helpers/netns-fixture.ts';

// The IPVS mode's ipsets and iptables rules load into the real binaries, in
// a namespace of their own (IPVS itself is not in this kernel, so the
// virtual servers are tested under UML; xt_ipvs is missing too, so the
// KUBE-IPVS-OUT-FILTER rule of a load balancer the node may not reach is
// left out here).
const rootTest = isRoot ? test.serial : test.skip;

const entries: Partial<Record<SetName, string[]>> = {
  [SET.clusterIP]: ['10.96.0.10,tcp:80'], [SET.externalIP]: ['203.0.113.5,tcp:80'], [SET.externalIPLocal]: ['203.0.113.6,tcp:80'],
  [SET.loadBalancer]: ['198.51.100.7,tcp:80'], [SET.loadBalancerLocal]: ['198.51.100.7,tcp:80'], [SET.loadBalancerFW]: ['198.51.100.7,tcp:80'],
  [SET.loadBalancerSourceCIDR]: ['198.51.100.7,tcp:80,10.0.0.0/8'], [SET.loadBalancerSourceIP]: ['198.51.100.7,tcp:80,198.51.100.7'],
  [SET.loopBack]: ['10.244.1.10,tcp:8080,10.244.1.10'], [SET.nodePortTCP]: ['30080'], [SET.nodePortLocalTCP]: ['30080'], [SET.nodePortUDP]: ['30081'],
  [SET.nodePortSCTP]: ['192.168.50.1,sctp:30082'], [SET.nodePortLocalSCTP]: ['192.168.50.1,sctp:30082'], [SET.healthCheckNodePort]: ['30000'], [SET.ipvsIPs]: ['10.96.0.10'],
};

const rules = (jumps: ReturnType<typeof missingJumps>) =>
  renderRules({
    masqueradeAll: false, clusterCIDRs: ['10.244.0.0/16'], masqueradeBit: 14, randomFully: true, setSize: (s) => entries[s]?.length ?? 0, noNodeAccess: [],
    rejects: [{ protocol: 'TCP', address: '10.96.0.30', port: 80 }, { protocol: 'UDP', address: undefined, port: 30053 }], jumps,
  });

// What an earlier Ferry left: REJECTs in a filter KUBE-SERVICES chain.
const legacy = '*filter\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 10.96.0.99/32 -p tcp -m tcp --dport 80 -j REJECT\n-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT\n';

rootTest('the IPVS mode ipsets and rules load with ipset and iptables-restore (nft and legacy); the old filter KUBE-SERVICES goes', async (t) => {
  const fixture = new NetnsFixture(t);
  const ns = await fixture.add('node');
  const full = renderFullRestore((s) => entries[s] ?? []);
  await fixture.exec(ns, 'ipset', ['restore'], { input: full });
  await fixture.exec(ns, 'ipset', ['restore'], { input: full }); // again: sets exist, the swap path
  await fixture.exec(ns, 'ipset', ['restore'], { input: renderDelta([[SET.nodePortTCP, '30090']], [[SET.nodePortUDP, '30081']]) });
  const sets = (await fixture.exec(ns, 'ipset', ['list', '-n'])).stdout.split('\n').filter(Boolean).sort();
  t.deepEqual(sets, Object.values(SET).sort(), 'every set, no temporary one left');
  t.regex((await fixture.exec(ns, 'ipset', ['list', SET.nodePortTCP])).stdout, /30080\n30090/);

  for (const backend of ['nft', 'legacy']) {
    const save = async () => (await fixture.exec(ns, `iptables-${backend}-save`, [])).stdout;
    const restore = (input: string) => fixture.exec(ns, `iptables-${backend}-restore`, ['--noflush'], { input });
    await restore(legacy);
    // A full sync: jumps from one save, rules, then the old chain's removal.
    const saved = await save();
    await restore(rules(missingJumps(saved)));
    await restore(legacyFilterCleanup(saved));
    const after = await save();
    const from = after.indexOf('*filter');
    const filter = after.slice(from, after.indexOf('COMMIT', from));
    for (const chain of [...NAT_CHAINS, ...FILTER_CHAINS]) t.true(after.includes(`:${chain} `), `${backend}: ${chain}`);
    t.false(filter.includes(':KUBE-SERVICES '), `${backend}: the old filter chain is gone`);
    t.regex(after, /-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully/);
    t.regex(after, /-A KUBE-SERVICES -m comment --comment "Kubernetes service external ip \+ port for masquerade and filter purpose" -m set --match-set KUBE-EXTERNAL-IP dst,dst -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT/);
    t.deepEqual(missingJumps(after), [], `${backend}: every jump once`);
    // The next full sync inserts nothing again, and the old chain is not there to remove.
    t.is(legacyFilterCleanup(after), '');
    await restore(rules(missingJumps(after)));
    t.is((await save()).split('\n').filter((l) => l.startsWith('-A INPUT')).length, 4, `${backend}: INPUT jumps to KUBE-NODE-PORT, KUBE-PROXY-FIREWALL, KUBE-IPVS-FILTER, KUBE-IPVS-NO-ENDPOINTS and nothing else`);
  }
});

const entries6: Partial<Record<SetName, string[]>> = {
  [SET.clusterIP]: ['fd00:96::10,tcp:80'], [SET.externalIP]: ['2001:db8::5,tcp:80'], [SET.loadBalancer]: ['2001:db8::7,tcp:80'], [SET.loadBalancerFW]: ['2001:db8::7,tcp:80'],
  [SET.loadBalancerSourceCIDR]: ['2001:db8::7,tcp:80,2001:db8:1::/64'], [SET.loopBack]: ['fd00:244::10,tcp:8080,fd00:244::10'], [SET.nodePortTCP]: ['30080'],
  [SET.nodePortSCTP]: ['fd00::1,sctp:30082'], [SET.healthCheckNodePort]: ['30000'], [SET.ipvsIPs]: ['fd00:96::10'],
};

rootTest('the IPv6 proxier\'s KUBE-6- ipsets and rules load with ipset and ip6tables-restore (nft and legacy)', async (t) => {
  const fixture = new NetnsFixture(t);
  const ns = await fixture.add('node6');
  await fixture.exec(ns, 'ipset', ['restore'], { input: renderFullRestore((s) => entries6[s] ?? [], 6) });
  const sets = (await fixture.exec(ns, 'ipset', ['list', '-n'])).stdout.split('\n').filter(Boolean);
  t.true(sets.length === Object.keys(SET).length && sets.every((n) => n.startsWith('KUBE-6-')), sets.join(' '));
  const text = renderRules({
    masqueradeAll: false, clusterCIDRs: ['fd00:244::/64'], masqueradeBit: 14, randomFully: false, setSize: (s) => entries6[s]?.length ?? 0, noNodeAccess: [],
    rejects: [{ protocol: 'TCP', address: 'fd00:96::30', port: 80 }], jumps: missingJumps(''), family: 6,
  });
  for (const backend of ['nft', 'legacy']) {
    await fixture.exec(ns, `ip6tables-${backend}-restore`, ['--noflush'], { input: text });
    const saved = (await fixture.exec(ns, `ip6tables-${backend}-save`, [])).stdout;
    t.regex(saved, /-A KUBE-SERVICES -s ::1\/128 -j RETURN/, backend);
    t.regex(saved, /-A KUBE-IPVS-NO-ENDPOINTS -d fd00:96::30\/128 .*-j REJECT --reject-with icmp6-port-unreachable/, backend);
    t.deepEqual(missingJumps(saved), [], `${backend}: every jump in place`);
  }
});
