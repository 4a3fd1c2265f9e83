import test from 'ava';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { NODE_IP, ProxyTopology } from '../../helpers/proxy-topology.ts';
import { burst, killPodProcesses, ProxyDriver } from './proxy-driver.ts';

// Acceptance 1 and 2 of the userspace mode: real TCP through portal rules
// and Node listeners in the node namespace, from a pod, from the node itself
// and from outside the cluster.
const rootTest = isRoot ? test : test.serial.skip;

/** Two engine threads, whatever the core count, so the shared-listener path is tested. */
const TWO_THREADS = { SCENARIO_TCP_THREADS: '2' };

const web = (endpoints: string[]) => ({ key: 'default/web:http', clusterIP: '10.96.0.10', port: 80, nodePort: 30080, endpoints });

rootTest('ClusterIP from a pod and the node spreads 300 requests over 3 endpoints; NodePort works from ext', async (t) => {
  const topo = await ProxyTopology.create(t, 3);
  const proxy = await ProxyDriver.start(t, topo, TWO_THREADS);
  await proxy.sync([web(topo.pods.map((p) => `${p.ip}:8080`))]);

  for (const client of [topo.pods[0]!.ns, topo.node]) {
    const counts = await burst(topo, client, 'http://10.96.0.10/hostname', 300);
    t.log(client, Object.fromEntries(counts));
    t.is(counts.get('ERROR'), undefined);
    // Round-robin: each accepting process (one per core) gives each endpoint every
    // third of its connections, so each endpoint gets 100 within one per process.
    for (const pod of topo.pods) t.true(Math.abs((counts.get(pod.name) ?? 0) - 100) <= 4, `${pod.name} from ${client}`);
  }
  const viaNodePort = await burst(topo, topo.ext, `http://${NODE_IP}:30080/hostname`, 30);
  t.deepEqual([...viaNodePort.keys()].sort(), ['pod-0', 'pod-1', 'pod-2']);
  // Source IP is lost in this mode: pods see the node's address.
  t.regex(await topo.curl(topo.ext, `http://${NODE_IP}:30080/clientip`), /^(10\.244\.1\.1|192\.168\.50\.1):\d+$/);

  const natRules = async () => (await topo.fixture.exec(topo.node, 'iptables-save', ['-t', 'nat'])).stdout;
  t.is((await natRules()).match(/-j KUBE-(PORTALS|NODEPORT)-(CONTAINER|HOST)$/gm)?.length, 4, 'four jumps');
  await proxy.cleanup();
  t.notRegex(await natRules(), /KUBE-(PORTALS|NODEPORT)/);
  t.not(await topo.curl(topo.pods[0]!.ns, 'http://10.96.0.10/hostname', 1).catch(() => 'refused'), 'pod-0');
});

rootTest('an endpoint whose process died costs no client an error: the dial moves on', async (t) => {
  const topo = await ProxyTopology.create(t, 3);
  const proxy = await ProxyDriver.start(t, topo, { ...TWO_THREADS, FERRY_V: '1' });
  await proxy.sync([web(topo.pods.map((p) => `${p.ip}:8080`))]);
  const dead = topo.pods[1]!;
  await killPodProcesses(dead.ns);

  const counts = await burst(topo, topo.pods[0]!.ns, 'http://10.96.0.10/hostname', 150);
  t.log(Object.fromEntries(counts));
  if (counts.has('ERROR')) t.log('proxy log:', proxy.stderr);
  t.is(counts.get('ERROR'), undefined);
  t.is(counts.get(dead.name), undefined);
  t.is((counts.get('pod-0') ?? 0) + (counts.get('pod-2') ?? 0), 150);
  t.true((counts.get('pod-0') ?? 0) > 0 && (counts.get('pod-2') ?? 0) > 0);
});
