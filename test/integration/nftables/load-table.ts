/**
 * load-table loads a fixed set of services into `table ip ferry` (or, with
 * `6`, `table ip6 ferry`) of the namespace it runs in (`ip netns exec <ns>
 * node --import tsx load-table.ts text|cold 4|6`): `text` through one nft
 * transaction, `cold` as a cold start does (rules through nft, elements
 * through netlink).
 */
import { encodable, encodeSets } from '../../../src/nftables/element-encoding.ts';
import { libnftablesRunner } from '../../../src/nftables/runner.ts';
import { TableModel } from '../../../src/nftables/table-model.ts';
import { ep, NODE_IP, OPTIONS, OPTIONS6, state, svc, toIPv6 } from '../../unit/nftables/fixtures.ts';

const family = process.argv[3] === '6' ? 6 : 4;
// The IPv6 table holds the same services, each IPv4 address a.b.c.d as fd00:a:b:c::d.
const a = family === 6 ? toIPv6 : (ip: string) => ip;
const services = state([
  [svc('ns1', 'svc1', { clusterIPs: [a('172.30.0.41')] }), [ep(a('10.180.0.1'))]],
  [
    svc('ns2', 'svc2', { type: 'LoadBalancer', clusterIPs: [a('172.30.0.42')], nodePort: 3001, externalIPs: [a('192.168.99.22')], loadBalancerIPs: [a('1.2.3.4')], externalTrafficPolicy: 'Local' }),
    [ep(a('10.180.0.2')), ep(a('10.180.1.1'), { isLocal: false })],
  ],
  [svc('ns3', 'svc3', { clusterIPs: [a('172.30.0.43')] }), []],
  [svc('ns4', 'svc4', { clusterIPs: [a('172.30.0.44')], protocol: 'UDP', port: 53, portName: 'dns', internalTrafficPolicy: 'Local' }), [ep(a('10.180.1.1'), { isLocal: false, port: 53 })]],
  [
    svc('ns5', 'svc5', { type: 'LoadBalancer', clusterIPs: [a('172.30.0.45')], nodePort: 3002, loadBalancerIPs: [a('5.6.7.8')], loadBalancerSourceRanges: [family === 6 ? 'fd00:203:0:113::/64' : '203.0.113.0/25'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } }),
    [ep(a('10.180.0.3')), ep(a('10.180.0.4'), { isLocal: false })],
  ],
  [svc('ns6', 'svc6', { clusterIPs: [a('172.30.0.46')], protocol: 'SCTP', nodePort: 3003, type: 'NodePort' }), [ep(a('10.180.0.6'), { port: 9000 }), ep(a('10.180.0.7'), { port: 9000 })]],
]);

const runner = libnftablesRunner({ family });
const cold = process.argv[2] === 'cold';
const tx = new TableModel(family === 6 ? OPTIONS6 : OPTIONS).full(services, [a(NODE_IP)], cold ? encodable : () => false);
await runner.run(tx.text);
if (tx.elementsApart) await runner.addElements(encodeSets(tx.elementsApart));
runner.close();
