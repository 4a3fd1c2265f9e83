import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { ContainerProcess } from '../../../src/lab/container.ts';
import { containerArgv } from '../../../src/lab/image.ts';
import { PodIpam } from '../../../src/lab/ipam.ts';
import { listNamespaces, execIn } from '../../../src/lab/netns.ts';
import { etcNetnsDir, nodeNamespace, podNamespace, setupNodeNetwork, setupPodNetwork, syncNodeRoutes, teardownNode, writePodFiles } from '../../../src/lab/node-network.ts';
import { runProbe } from '../../../src/lab/probes.ts';
import { isRoot, NetnsFixture } from '../../helpers/netns-fixture.ts';

// Lab addresses: node a 192.168.200.11 with pods 10.244.1.0/24, node b 192.168.200.12 with 10.244.2.0/24.

const rootOnly = isRoot ? test : test.skip;

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

rootOnly('pods on two nodes reach each other through the lab switch; agnhost answers with its pod name', async (t) => {
  const fx = new NetnsFixture(t);
  const prefix = fx.ns('');
  const containers: ContainerProcess[] = [];
  t.teardown(async () => {
    await Promise.all(containers.map((c) => c.stop(1000)));
    await teardownNode(prefix, 'a');
    await teardownNode(prefix, 'b');
  });
  const ipamA = new PodIpam('10.244.1.0/24');
  const ipamB = new PodIpam('10.244.2.0/24');
  const nsA = await setupNodeNetwork({ prefix, nodeName: 'a', nodeAddress: '192.168.200.11/24' }, ipamA);
  const nsB = await setupNodeNetwork({ prefix, nodeName: 'b', nodeAddress: '192.168.200.12/24' }, ipamB);
  await syncNodeRoutes(nsA, [{ podCIDR: '10.244.2.0/24', nodeIP: '192.168.200.12' }]);
  await syncNodeRoutes(nsB, [{ podCIDR: '10.244.1.0/24', nodeIP: '192.168.200.11' }]);
  // Idempotent: a second sync changes nothing, a changed peer set replaces the route.
  await syncNodeRoutes(nsA, [{ podCIDR: '10.244.2.0/24', nodeIP: '192.168.200.12' }]);

  const client = await setupPodNetwork(nsA, podNamespace(prefix, 'a', 'client', 'u1'), ipamA);
  const server = await setupPodNetwork(nsB, podNamespace(prefix, 'b', 'web-1', 'u2'), ipamB);
  t.is(client.ip, '10.244.1.2');
  t.is(server.ip, '10.244.2.2');
  writePodFiles(server.ns, { hostname: 'web-1', ip: server.ip, nameservers: ['10.96.0.10'], namespace: 'default', clusterDomain: 'cluster.local' });
  t.is(readFileSync(`${etcNetnsDir(server.ns)}/resolv.conf`, 'utf8'), 'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
  const resolv = await execIn(server.ns, 'cat', ['/etc/resolv.conf']);
  t.true(resolv.stdout.includes('search default.svc.cluster.local'));

  const spec = { name: 'agnhost', image: 'ferry/agnhost', command: ['netexec'] };
  const proc = new ContainerProcess({ name: 'agnhost', netns: server.ns, hostname: 'web-1', argv: containerArgv(spec), env: {}, restartPolicy: 'Always', backoff: { initialMs: 200, maxMs: 1000 }, onChange: () => undefined });
  containers.push(proc);
  proc.start();
  const probe = { httpGet: { path: '/healthz', port: 8080 }, timeoutSeconds: 2 };
  await until('agnhost to listen', async () => (await runProbe(probe, spec, server.ns, server.ip)).ok, 30_000);
  const hostname = await execIn(client.ns, 'curl', ['-s', '--max-time', '3', `http://${server.ip}:8080/hostname`]);
  t.is(hostname.stdout, 'web-1');
  const clientip = await execIn(client.ns, 'curl', ['-s', '--max-time', '3', `http://${server.ip}:8080/clientip`]);
  t.true(clientip.stdout.startsWith('10.244.1.2:'), clientip.stdout);
  t.true((await runProbe({ tcpSocket: { port: 8080 } }, spec, server.ns, server.ip)).ok);
  t.false((await runProbe({ tcpSocket: { port: 8181 } }, spec, server.ns, server.ip)).ok);
  t.true((await runProbe({ exec: { command: ['true'] } }, spec, server.ns, server.ip)).ok);
  t.false((await runProbe({ httpGet: { path: '/nope', port: 8080 } }, spec, server.ns, server.ip)).ok);

  // Killing the process restarts it (restartPolicy Always) after the back-off.
  const firstPid = proc.pid;
  process.kill(firstPid!, 'SIGKILL');
  await until('the container to restart', async () => proc.restartCount === 1 && proc.state.kind === 'running');
  t.not(proc.pid, firstPid);
  t.is(proc.lastState?.kind, 'terminated');

  await proc.stop(2000);
  t.is(proc.state.kind, 'terminated');
  await teardownNode(prefix, 'a');
  await teardownNode(prefix, 'b');
  const left = (await listNamespaces()).filter((n) => n.startsWith(prefix));
  t.deepEqual(left, []);
  t.is(nodeNamespace(prefix, 'a'), `${prefix}a`);
});

rootOnly('graceful stop: SIGTERM first, SIGKILL after the grace period', async (t) => {
  const fx = new NetnsFixture(t);
  const ns = await fx.add('pod');
  let log = '';
  const proc = new ContainerProcess({
    name: 'c', netns: ns, hostname: 'stubborn', restartPolicy: 'Always', backoff: { initialMs: 100, maxMs: 100 }, env: { MSG: 'hi' },
    argv: ['sh', '-c', 'trap "echo got-term" TERM; echo "$MSG $(hostname)"; while true; do sleep 0.1; done'],
    onChange: () => undefined,
  });
  proc.start();
  await until('output', async () => proc.logs().includes('hi stubborn'));
  const started = Date.now();
  await proc.stop(1500);
  log = proc.logs();
  t.true(Date.now() - started >= 1400, 'waited for the grace period');
  t.true(log.includes('got-term'), log);
  t.like(proc.state, { kind: 'terminated', exitCode: 137 });
});
