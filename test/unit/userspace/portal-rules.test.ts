import test from 'ava';
import { renderJumps, renderPortal, renderRemoval, renderRestore, type Portal } from '../../../src/userspace/portal-rules.ts';

// Addresses: ClusterIPs 10.96.0.0/16, external IP 203.0.113.7.
const web: Portal = { serviceKey: 'default/web:http', protocol: 'TCP', ips: ['10.96.0.10'], port: 80, nodePort: 30080, proxyPort: 40001 };
const dns: Portal = { serviceKey: 'kube-system/dns:dns', protocol: 'UDP', ips: ['10.96.0.53', '203.0.113.7'], port: 53, nodePort: 0, proxyPort: 40002 };

const cases: Array<{ name: string; portal: Portal; rules: string[] }> = [
  {
    name: 'ClusterIP with a NodePort: REDIRECT for pods and outside, DNAT to loopback for the node',
    portal: web,
    rules: [
      'KUBE-PORTALS-CONTAINER -m comment --comment default/web:http -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 40001',
      'KUBE-PORTALS-HOST -m comment --comment default/web:http -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:40001',
      'KUBE-NODEPORT-CONTAINER -m comment --comment default/web:http -p tcp -m tcp --dport 30080 -j REDIRECT --to-ports 40001',
      'KUBE-NODEPORT-HOST -m comment --comment default/web:http -p tcp -m tcp --dport 30080 -j DNAT --to-destination 127.0.0.1:40001',
    ],
  },
  {
    name: 'UDP with an external IP: one pair of portal rules per address, no NodePort rules',
    portal: dns,
    rules: [
      'KUBE-PORTALS-CONTAINER -m comment --comment kube-system/dns:dns -d 10.96.0.53/32 -p udp -m udp --dport 53 -j REDIRECT --to-ports 40002',
      'KUBE-PORTALS-HOST -m comment --comment kube-system/dns:dns -d 10.96.0.53/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.1:40002',
      'KUBE-PORTALS-CONTAINER -m comment --comment kube-system/dns:dns -d 203.0.113.7/32 -p udp -m udp --dport 53 -j REDIRECT --to-ports 40002',
      'KUBE-PORTALS-HOST -m comment --comment kube-system/dns:dns -d 203.0.113.7/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.1:40002',
    ],
  },
  {
    name: 'an empty port name gives a key ending in a colon, which needs no quoting',
    portal: { ...web, serviceKey: 'default/web:', nodePort: 0 },
    rules: [
      'KUBE-PORTALS-CONTAINER -m comment --comment default/web: -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 40001',
      'KUBE-PORTALS-HOST -m comment --comment default/web: -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:40001',
    ],
  },
];
for (const tc of cases) test(`renderPortal: ${tc.name}`, (t) => t.deepEqual(renderPortal(tc.portal), tc.rules));

const rules = (...portals: Portal[]) => new Map(portals.map((p) => [p.serviceKey, renderPortal(p)]));

test('renderRestore full: declares (flushes) the four chains and writes every rule', (t) => {
  const text = renderRestore(new Map(), rules(web, dns), true)!;
  const lines = text.split('\n');
  t.deepEqual(lines.slice(0, 5), ['*nat', ':KUBE-PORTALS-CONTAINER - [0:0]', ':KUBE-PORTALS-HOST - [0:0]', ':KUBE-NODEPORT-CONTAINER - [0:0]', ':KUBE-NODEPORT-HOST - [0:0]']);
  t.is(lines.filter((l) => l.startsWith('-A ')).length, 8);
  t.is(lines.at(-2), 'COMMIT');
});

test('renderRestore incremental: only the changed service is deleted and re-added; unchanged ones are untouched', (t) => {
  const moved = { ...web, proxyPort: 40009 };
  const text = renderRestore(rules(web, dns), rules(moved, dns), false)!;
  const lines = text.split('\n').filter((l) => l.startsWith('-'));
  t.deepEqual(lines, [...renderPortal(web).map((l) => `-D ${l}`), ...renderPortal(moved).map((l) => `-A ${l}`)]);
  t.false(text.includes(':KUBE-'), 'no chain is flushed');
});

test('renderRestore incremental: a removed service only deletes; nothing changed renders nothing', (t) => {
  const text = renderRestore(rules(web, dns), rules(dns), false)!;
  t.deepEqual(text.split('\n').filter((l) => l.startsWith('-')), renderPortal(web).map((l) => `-D ${l}`));
  t.is(renderRestore(rules(web, dns), rules(dns, web), false), undefined);
});

// An `iptables-save -t nat` dump with our jumps (as iptables-save spells them) and chains.
const SAVED = [
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':KUBE-PORTALS-CONTAINER - [0:0]',
  ':KUBE-PORTALS-HOST - [0:0]',
  ':SOMEONE-ELSE - [0:0]',
  '-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
  '-A PREROUTING -j SOMEONE-ELSE',
  '-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST',
  'COMMIT',
].join('\n');

test('renderJumps adds only the missing jumps, and nothing when all are there', (t) => {
  const text = renderJumps(SAVED)!;
  t.deepEqual(text.split('\n').filter((l) => l.startsWith('-A')), [
    '-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER',
    '-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST',
  ]);
  t.is(renderJumps(`${SAVED}\n${text}`), undefined);
});

test('renderRemoval deletes our jumps and existing portal chains, leaves others alone, and is empty on a clean node', (t) => {
  const text = renderRemoval(SAVED, ['PREROUTING', 'OUTPUT', 'KUBE-PORTALS-CONTAINER', 'KUBE-PORTALS-HOST', 'SOMEONE-ELSE'])!;
  const lines = text.split('\n');
  t.deepEqual(lines.filter((l) => l.startsWith('-D')).map((l) => l.split(' ').at(-1)), ['KUBE-PORTALS-CONTAINER', 'KUBE-PORTALS-HOST']);
  t.deepEqual(lines.filter((l) => l.startsWith('-X')), ['-X KUBE-PORTALS-CONTAINER', '-X KUBE-PORTALS-HOST']);
  t.false(text.includes('SOMEONE-ELSE'));
  t.is(renderRemoval('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT', ['PREROUTING']), undefined);
});
