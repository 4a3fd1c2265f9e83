import test from 'ava';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { ProxyTopology, EXT_IP } from '../../helpers/proxy-topology.ts';
import { listNamespaces } from '../../../src/lab/netns.ts';

// The shared packet-test lab works before any proxy is involved: pods answer
// over the bridge by name, the external client reaches the node, and
// everything is gone after teardown.
const rootTest = isRoot ? test : test.skip;

rootTest('topology: pods answer by name and see the caller address; cleanup removes namespaces', async (t) => {
  let names: string[] = [];
  await t.try(async (tt) => {
    const topo = await ProxyTopology.create(tt, 2);
    names = [topo.node, topo.ext, ...topo.pods.map((p) => p.ns)];
    tt.is(await topo.curl(topo.node, `http://${topo.pods[1]!.ip}:8080/hostname`), 'pod-1');
    tt.regex(await topo.curl(topo.pods[0]!.ns, `http://${topo.pods[1]!.ip}:8080/clientip`), /^10\.244\.1\.10:\d+$/);
    tt.is(await topo.udp(topo.node, topo.pods[0]!.ip, 8081, 'hostname'), 'pod-0');
    const ping = await topo.fixture.exec(topo.node, 'ping', ['-c', '1', '-W', '1', EXT_IP], { allowFailure: true });
    tt.is(ping.code, 0);
  }).then((r) => r.commit());
  const left = await listNamespaces();
  t.deepEqual(names.filter((n) => left.includes(n)), []);
});
