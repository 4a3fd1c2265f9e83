/**
 * load-table loads a fixed set of services into `table ip ferry` of the
 * namespace it runs in (`ip netns exec <ns> node --import tsx load-table.ts
 * text|cold`): `text` through one nft transaction, `cold` as a cold start
 * does (rules through nft, elements through netlink).
 */
import { encodable, encodeSets } from '../../../src/nftables/element-encoding.ts';
import { libnftablesRunner } from '../../../src/nftables/runner.ts';
import { TableModel } from '../../../src/nftables/table-model.ts';
import { ep, OPTIONS, state, svc } from '../../unit/nftables/fixtures.ts';

const services = state([
  [svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] }), [ep('10.180.0.1')]],
  [
    svc('ns2', 'svc2', { type: 'LoadBalancer', clusterIPs: ['172.30.0.42'], nodePort: 3001, externalIPs: ['192.168.99.22'], loadBalancerIPs: ['1.2.3.4'], externalTrafficPolicy: 'Local' }),
    [ep('10.180.0.2'), ep('10.180.1.1', { isLocal: false })],
  ],
  [svc('ns3', 'svc3', { clusterIPs: ['172.30.0.43'] }), []],
  [svc('ns4', 'svc4', { clusterIPs: ['172.30.0.44'], protocol: 'UDP', port: 53, portName: 'dns', internalTrafficPolicy: 'Local' }), [ep('10.180.1.1', { isLocal: false, port: 53 })]],
  [
    svc('ns5', 'svc5', { type: 'LoadBalancer', clusterIPs: ['172.30.0.45'], nodePort: 3002, loadBalancerIPs: ['5.6.7.8'], loadBalancerSourceRanges: ['203.0.113.0/25'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } }),
    [ep('10.180.0.3'), ep('10.180.0.4', { isLocal: false })],
  ],
  [svc('ns6', 'svc6', { clusterIPs: ['172.30.0.46'], protocol: 'SCTP', nodePort: 3003, type: 'NodePort' }), [ep('10.180.0.6', { port: 9000 }), ep('10.180.0.7', { port: 9000 })]],
]);

const runner = libnftablesRunner();
const cold = process.argv[2] === 'cold';
const tx = new TableModel(OPTIONS).full(services, ['192.168.0.2'], cold ? encodable : () => false);
await runner.run(tx.text);
if (tx.elementsApart) await runner.addElements(encodeSets(tx.elementsApart));
runner.close();
