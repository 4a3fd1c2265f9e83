import test from 'ava';
import { ProxyStateBuilder } from '../../../../src/endpoints/state-builder.ts';
import { IpvsProxier } from '../../../../src/ipvs/proxier.ts';
import { proxyConfig } from '../../../helpers/proxy-state-fixtures.ts';
import { fakeNode } from '../fake-host.ts';
import { makeTestEndpointSlice, makeTestService, testHostname } from './kube-proxy.ts';

// kube-proxy's TestCleanupLeftovers (source in kube-proxy.ts): after a sync,
// cleaning up succeeds. Its fakes are Ferry's fake node here (fake-host.ts),
// and what the cleanup leaves is checked too.

test('TestCleanupLeftovers', async (t) => {
  const node = fakeNode();
  const proxier = new IpvsProxier(proxyConfig({ mode: 'ipvs', nodeName: testHostname }), { host: node.host, runner: node.runner, healthHost: '127.0.0.1' });
  t.teardown(() => proxier.close());
  const builder = new ProxyStateBuilder(testHostname);
  builder.onServiceChange(undefined, makeTestService('ns1', 'svc1', { type: 'NodePort', clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }] }));
  builder.onEndpointSliceChange(makeTestEndpointSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }), false);
  t.like(await proxier.sync(builder.build()), { ok: true });
  t.deepEqual([...node.ipvs.services.keys()].sort(), ['TCP 10.20.30.41:80', 'TCP 192.168.50.1:3001']);

  await t.notThrowsAsync(proxier.cleanup(), 'cleanup leftovers');
  t.is(node.ipvs.services.size, 0, 'IPVS flushed');
  t.is(node.rt.dummy, undefined, 'kube-ipvs0 deleted');
  t.is(node.ipset.at(-1), 'destroy KUBE-*');
});
