import test from 'ava';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { ProxyTopology } from '../../helpers/proxy-topology.ts';
import { ProxyDriver } from './proxy-driver.ts';

// Acceptance 3: UDP through the ClusterIP with per-client sessions; replies
// come back from the service address (socat would drop anything else), and
// ClientIP affinity keeps one client on one endpoint.
const rootTest = isRoot ? test : test.serial.skip;

rootTest('UDP echo through the ClusterIP reaches all 3 endpoints; ClientIP affinity pins a client', async (t) => {
  const topo = await ProxyTopology.create(t, 3);
  const proxy = await ProxyDriver.start(t, topo);
  const endpoints = topo.pods.map((p) => `${p.ip}:8081`);
  await proxy.sync([
    { key: 'default/dns:udp', protocol: 'UDP', clusterIP: '10.96.0.53', port: 53, endpoints },
    { key: 'default/sticky:udp', protocol: 'UDP', clusterIP: '10.96.0.54', port: 53, affinitySeconds: 600, endpoints },
  ]);
  const client = topo.pods[0]!.ns;

  t.is(await topo.udp(client, '10.96.0.53', 53, 'echo hello through the proxy'), 'hello through the proxy');
  t.is(await topo.udp(topo.node, '10.96.0.53', 53, 'echo from the node'), 'from the node');

  // Each socat run is a new client port, so a new session and the next endpoint.
  const spread = new Map<string, number>();
  for (let i = 0; i < 12; i++) {
    const name = await topo.udp(client, '10.96.0.53', 53, 'hostname');
    spread.set(name, (spread.get(name) ?? 0) + 1);
  }
  t.log('no affinity', Object.fromEntries(spread));
  t.deepEqual([...spread.keys()].sort(), ['pod-0', 'pod-1', 'pod-2']);

  const sticky = new Map<string, number>();
  for (let i = 0; i < 12; i++) {
    const name = await topo.udp(client, '10.96.0.54', 53, 'hostname');
    sticky.set(name, (sticky.get(name) ?? 0) + 1);
  }
  t.log('ClientIP affinity', Object.fromEntries(sticky));
  t.is(sticky.size, 1);
  t.false(sticky.has(''));
});
