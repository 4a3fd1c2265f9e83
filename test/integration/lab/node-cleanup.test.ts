import test from 'ava';
import { existsSync } from 'node:fs';
import { ContainerProcess } from '../../../src/lab/container.ts';
import { PodIpam } from '../../../src/lab/ipam.ts';
import { listNamespaces } from '../../../src/lab/netns.ts';
import { etcNetnsDir, podNamespace, setupNodeNetwork, setupPodNetwork, teardownNode, writePodFiles } from '../../../src/lab/node-network.ts';
import { execFile } from '../../../src/util/exec.ts';
import { isRoot, NetnsFixture } from '../../helpers/netns-fixture.ts';

const rootOnly = isRoot ? test : test.skip;

rootOnly('ferry node --cleanup removes what a killed agent left: processes, pod and node namespaces, the empty switch', async (t) => {
  const fx = new NetnsFixture(t);
  const prefix = fx.ns('');
  t.teardown(() => teardownNode(prefix, 'n1'));
  const ipam = new PodIpam('10.244.7.0/24');
  const nodeNs = await setupNodeNetwork({ prefix, nodeName: 'n1', nodeAddress: '192.168.200.21/24' }, ipam);
  const pod = await setupPodNetwork(nodeNs, podNamespace(prefix, 'n1', 'left', 'u1'), ipam);
  writePodFiles(pod.ns, { hostname: 'left', ip: pod.ip, nameservers: ['10.96.0.10'], namespace: 'default', clusterDomain: 'cluster.local' });
  // A process the agent never stopped (the agent was SIGKILLed).
  const orphan = new ContainerProcess({ name: 'c', netns: pod.ns, hostname: 'left', argv: ['sleep', '600'], env: {}, restartPolicy: 'Never', backoff: { initialMs: 1000, maxMs: 1000 }, onChange: () => undefined });
  orphan.start();
  const pid = orphan.pid!;
  t.true((await listNamespaces()).includes(pod.ns));

  const r = await execFile('bin/ferry', ['node', '--cleanup', '--name', 'n1', '--lab-prefix', prefix], { allowFailure: true, timeoutMs: 60_000 });
  t.is(r.code, 0, r.stderr);
  t.deepEqual((await listNamespaces()).filter((n) => n.startsWith(prefix)), []);
  t.false(existsSync(etcNetnsDir(pod.ns)));
  t.throws(() => process.kill(pid, 0), undefined, 'the orphaned process is gone');
  await orphan.stop(100);
});
