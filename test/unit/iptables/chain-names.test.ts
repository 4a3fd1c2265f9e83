import test from 'ava';
import { endpointChain, isServiceChain, serviceChains } from '../../../src/iptables/chain-names.ts';
import { base32 } from '../../../src/util/base32.ts';
import { conntrackDeletions } from '../../../src/endpoints/conntrack.ts';
import { probability } from '../../../src/iptables/render-service.ts';
import { ep, state, svc } from './fixtures.ts';

// Names recomputed from kube-proxy's test fixtures (proxier_test.go).
const names: Array<{ key: string; chain: string }> = [
  { key: 'ns1/svc1:p80', chain: 'KUBE-SVC-XPGD46QRK7WJZT7O' },
  { key: 'ns2/svc2:p80', chain: 'KUBE-SVC-GNZBNJ2PO5MGZ6GT' },
  { key: 'ns3/svc3:p80', chain: 'KUBE-SVC-X27LE4BHSL4DOUIK' },
  { key: 'ns4/svc4:p80', chain: 'KUBE-SVC-4SW47YFZTEDKD3PK' },
  { key: 'ns5/svc5:p80', chain: 'KUBE-SVC-NUKIZ6OKUXPJNT4C' },
];
for (const tc of names) test(`service chain of ${tc.key}`, (t) => t.is(serviceChains(tc.key, 'TCP').cluster, tc.chain));

test('endpoint chains and the other prefixes share the hash', (t) => {
  t.is(endpointChain('ns1/svc1:p80', 'TCP', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
  t.is(endpointChain('ns4/svc4:p80', 'TCP', '10.180.0.5:80'), 'KUBE-SEP-C6EBXVWJJZMIWKLZ');
  t.deepEqual(serviceChains('ns2/svc2:p80', 'TCP'), {
    cluster: 'KUBE-SVC-GNZBNJ2PO5MGZ6GT', local: 'KUBE-SVL-GNZBNJ2PO5MGZ6GT', external: 'KUBE-EXT-GNZBNJ2PO5MGZ6GT', firewall: 'KUBE-FW-GNZBNJ2PO5MGZ6GT',
  });
  t.not(serviceChains('ns1/svc1:p80', 'UDP').cluster, serviceChains('ns1/svc1:p80', 'TCP').cluster);
  t.true(isServiceChain('KUBE-SEP-SXIVWICOYRO3J4NJ'));
  t.false(isServiceChain('KUBE-SERVICES'));
  t.false(isServiceChain('KUBE-SVC-lowercase0000000'));
});

test('base32 matches RFC 4648 vectors', (t) => {
  t.is(base32(Buffer.from('foobar')), 'MZXW6YTBOI');
  t.is(base32(Buffer.from('f')), 'MY');
});

test('probabilities are %0.10f of 1/(n-i)', (t) => {
  t.deepEqual([3, 2].map(probability), ['0.3333333333', '0.5000000000']);
});

test('conntrack deletions for gone UDP endpoints and newly active UDP services', (t) => {
  const dns = svc('kube-system', 'dns', { portName: 'dns', protocol: 'UDP', clusterIPs: ['172.30.0.10'], nodePort: 30053 });
  const tcp = svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] });
  const base = state([[dns, [ep('10.180.0.9')]], [tcp, []]]);
  const s = {
    ...base,
    udpConntrack: {
      deletedEndpoints: [{ serviceKey: dns.key, endpoint: '10.180.0.1:53' }, { serviceKey: tcp.key, endpoint: '10.180.0.2:80' }],
      newlyActiveServices: new Set([dns.key]),
    },
  };
  t.deepEqual(conntrackDeletions(s, new Map()), [
    ['-D', '--orig-dst', '172.30.0.10', '--dst-nat', '10.180.0.1', '-p', 'udp'],
    ['-D', '-p', 'udp', '--dport', '30053', '--dst-nat', '10.180.0.1'],
    ['-D', '--orig-dst', '172.30.0.10', '-p', 'udp'],
    ['-D', '-p', 'udp', '--dport', '30053'],
  ]);
  const gone = svc('ns9', 'udp-gone', { protocol: 'UDP', clusterIPs: ['172.30.0.99'] });
  t.deepEqual(conntrackDeletions(state([]), new Map([[gone.key, gone], [tcp.key, tcp]])), [['-D', '--orig-dst', '172.30.0.99', '-p', 'udp']]);
});
