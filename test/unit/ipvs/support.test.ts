import test from 'ava';
import { GracefulTermination } from '../../../src/ipvs/graceful.ts';
import { nodePortAddresses } from '../../../src/ipvs/host.ts';
import { renderDelta, renderFullRestore } from '../../../src/ipvs/ipset.ts';
import { legacyFilterCleanup, missingJumps, renderRules } from '../../../src/ipvs/iptables.ts';
import { RefCount } from '../../../src/ipvs/refcount.ts';
import { SET } from '../../../src/ipvs/desired.ts';

test('RefCount reports an object once when its first user comes and once when its last goes', (t) => {
  const r = new RefCount<string>();
  t.true(r.add('10.96.0.10'), 'its first user');
  t.false(r.add('10.96.0.10'));
  t.true(r.add('10.96.0.11'));
  t.deepEqual(r.drain(), { appeared: ['10.96.0.10', '10.96.0.11'], vanished: [] });
  t.false(r.remove('10.96.0.10'), 'a user is left');
  t.deepEqual(r.drain(), { appeared: [], vanished: [] });
  t.true(r.remove('10.96.0.10'), 'its last user');
  t.false(r.remove('10.96.0.10'), 'no user to remove');
  t.true(r.remove('10.96.0.11'));
  t.true(r.add('10.96.0.11')); // gone and back within one sync: no change
  t.deepEqual(r.drain(), { appeared: [], vanished: ['10.96.0.10'] });
});

test('graceful termination deletes idle real servers at once and busy ones after the timeout', (t) => {
  const g = new GracefulTermination(10_000);
  g.start('vs', '10.244.1.10|8080', 0);
  g.start('vs', '10.244.1.11|8080', 0);
  g.start('vs', '10.244.1.12|8080', 0);
  const status = (address: string, active: number, weight = 0) => ({ address, port: 8080, weight, forward: 0, upperThreshold: 0, lowerThreshold: 0, activeConns: active, inactiveConns: 0, persistConns: 0 });
  const kernel = [status('10.244.1.10', 0), status('10.244.1.11', 3)];
  t.deepEqual(g.due('vs', kernel, 1_000).map((d) => d.address), ['10.244.1.10']);
  t.is(g.size, 2, 'a real server the kernel no longer has is forgotten');
  t.deepEqual(g.due('vs', kernel, 10_000).map((d) => d.address), ['10.244.1.10', '10.244.1.11']);
});

test('NodePort addresses: every non-loopback address off kube-ipvs0, filtered by --nodeport-addresses', (t) => {
  const all = [
    { index: 1, address: '127.0.0.1', prefixLength: 8 },
    { index: 2, address: '192.168.50.1', prefixLength: 24 },
    { index: 3, address: '10.244.1.1', prefixLength: 24 },
    { index: 9, address: '10.96.0.10', prefixLength: 32 },
    { index: 2, address: 'fe80::1', prefixLength: 64 },
  ];
  t.deepEqual(nodePortAddresses(all, 9, []), ['10.244.1.1', '192.168.50.1']);
  t.deepEqual(nodePortAddresses(all, 9, ['192.168.0.0/16']), ['192.168.50.1']);
  // Per family, as kube-proxy: IPv6 CIDRs leave every IPv4 address; `primary` is the Node's IP.
  const dual = [...all, { index: 2, address: 'fd00::1', prefixLength: 64 }, { index: 3, address: 'fd01::1', prefixLength: 64 }];
  t.deepEqual(nodePortAddresses(dual, 9, ['fd00::/64']), ['10.244.1.1', '192.168.50.1', 'fd00::1']);
  t.deepEqual(nodePortAddresses(dual, 9, ['primary'], ['192.168.50.1', 'fd01::1']), ['192.168.50.1', 'fd01::1']);
});

test('ipset full restore rebuilds each set into a temporary one and swaps it in', (t) => {
  const text = renderFullRestore((set) => (set === SET.clusterIP ? ['10.96.0.10,tcp:80'] : []));
  t.true(text.includes('create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 1048576 -exist\n'));
  t.true(/add (KUBE-TMP-\d+) 10\.96\.0\.10,tcp:80\nswap \1 KUBE-CLUSTER-IP\ndestroy \1\n/.test(text));
  // ipset names hold at most 31 characters.
  t.true(text.split(/\s+/).filter((w) => w.startsWith('KUBE-')).every((name) => name.length <= 31));
  t.is(renderDelta([[SET.nodePortTCP, '30080']], [[SET.clusterIP, '10.96.0.10,tcp:80']]), 'del KUBE-CLUSTER-IP 10.96.0.10,tcp:80 -exist\nadd KUBE-NODE-PORT-TCP 30080 -exist\n');
  t.is(renderDelta([], []), '');
});

test('iptables rules: masquerade by cluster CIDR, hairpin, NodePort marks, REJECT for services without endpoints, legacy filter chain removed', (t) => {
  const text = renderRules({
    masqueradeAll: false,
    clusterCIDRs: ['10.244.0.0/16'],
    masqueradeBit: 14,
    randomFully: true,
    setSize: () => 1,
    noNodeAccess: [],
    rejects: [
      { protocol: 'TCP', address: '10.96.0.30', port: 80 },
      { protocol: 'UDP', address: undefined, port: 30053 },
    ],
    jumps: missingJumps('*nat\n-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT\n*filter\nCOMMIT\n'),
  });
  const lines = text.split('\n');
  for (const want of [
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    '-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
    '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
    '-A KUBE-IPVS-NO-ENDPOINTS -d 10.96.0.30/32 -p tcp -m tcp --dport 80 -m comment --comment "service has no endpoints" -j REJECT --reject-with icmp-port-unreachable',
    '-A KUBE-IPVS-NO-ENDPOINTS -m addrtype --dst-type LOCAL -p udp -m udp --dport 30053 -m comment --comment "service has no endpoints" -j REJECT --reject-with icmp-port-unreachable',
  ]) {
    t.true(lines.includes(want), want);
  }
  t.is(lines.filter((l) => l === 'COMMIT').length, 2);
  // externalTrafficPolicy Local keeps the client address: each -LOCAL set returns before its masquerade mark.
  for (const [local, masq] of [['KUBE-NODE-PORT-LOCAL-TCP', 'KUBE-NODE-PORT-TCP'], ['KUBE-NODE-PORT-LOCAL-UDP', 'KUBE-NODE-PORT-UDP'], ['KUBE-LOAD-BALANCER-LOCAL', 'KUBE-LOAD-BALANCER']]) {
    const ret = lines.findIndex((l) => l.includes(`--match-set ${local} `) && l.endsWith('-j RETURN'));
    const mark = lines.findIndex((l) => (l.includes(`--match-set ${masq} `) || l.startsWith(`-A ${masq} `)) && l.endsWith('-j KUBE-MARK-MASQ'));
    t.true(ret >= 0 && ret < mark, `${local} RETURN before the ${masq} masquerade mark`);
  }
  t.false(lines.some((l) => l.includes('--match-set KUBE-EXTERNAL-IP-LOCAL ') && l.endsWith('-j KUBE-MARK-MASQ')), 'Local external IPs are accepted unmarked');
  t.false(lines.some((l) => l.startsWith('-I PREROUTING')), 'present jump not inserted again');
  t.true(lines.includes('-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING'));
  t.true(lines.includes('-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "services without endpoints" -j KUBE-IPVS-NO-ENDPOINTS'));
  t.true(lines.includes('-I FORWARD 1 -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD'));

  const saved = '*filter\n:INPUT ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT\n*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT\n';
  t.is(legacyFilterCleanup(saved), '*filter\n:KUBE-SERVICES - [0:0]\n-D INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n-X KUBE-SERVICES\nCOMMIT\n');
  t.is(legacyFilterCleanup('*nat\n:KUBE-SERVICES - [0:0]\nCOMMIT\n*filter\nCOMMIT\n'), '', 'the nat chain stays');
});
