import test from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { PodIpam } from '../../../src/lab/ipam.ts';
import { listNamespaces } from '../../../src/lab/netns.ts';
import { setupNodeNetwork, teardownNode } from '../../../src/lab/node-network.ts';
import { PodWorker } from '../../../src/lab/pod-worker.ts';
import { isRoot, NetnsFixture } from '../../helpers/netns-fixture.ts';

const rootOnly = isRoot ? test : test.skip;

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

rootOnly('a failing liveness probe restarts the container; status counts the restart; stop removes the pod namespace', async (t) => {
  const fx = new NetnsFixture(t);
  const prefix = fx.ns('');
  const alive = `/tmp/ferry-alive-${fx.id}`;
  t.teardown(async () => {
    rmSync(alive, { force: true });
    await teardownNode(prefix, 'n');
  });
  const ipam = new PodIpam('10.244.9.0/24');
  const nodeNs = await setupNodeNetwork({ prefix, nodeName: 'n', nodeAddress: '192.168.200.31/24' }, ipam);
  writeFileSync(alive, '');
  const pod: Pod = {
    metadata: { name: 'probed', namespace: 'default', uid: 'uid-probed' },
    spec: {
      restartPolicy: 'Always',
      containers: [{
        name: 'main', image: 'host/sh', command: ['sh', '-c', 'echo "start $POD_NAME"; exec sleep 600'],
        livenessProbe: { exec: { command: ['test', '-e', alive] }, periodSeconds: 1, failureThreshold: 2 },
      }],
    },
  };
  let changes = 0;
  const worker = new PodWorker({
    prefix, nodeName: 'n', nodeNs, hostIP: '192.168.200.31', ipam, clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local',
    backoff: { initialMs: 200, maxMs: 1000 }, services: () => [],
  }, pod, () => changes++);
  await worker.start();
  t.is(worker.ip, '10.244.9.2');
  await until('running', () => worker.status(new Date()).phase === 'Running');
  rmSync(alive);
  await until('a restart', () => (worker.status(new Date()).containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  writeFileSync(alive, '');
  const s = worker.status(new Date());
  t.like(s.containerStatuses?.[0], { name: 'main', restartCount: 1 });
  t.truthy(s.containerStatuses?.[0]?.lastState?.terminated);
  await until('running again', () => worker.status(new Date()).containerStatuses?.[0]?.state?.running !== undefined);
  // As kubelet, each instance has its own log; the previous one stays for `kubectl logs --previous`.
  await until('the second start in the logs', () => worker.logs() === 'start probed\n');
  t.is(worker.container('main')?.process.previousLog?.text(), 'start probed\n');
  t.true(changes > 0);
  await worker.stop(1000);
  t.false((await listNamespaces()).includes(worker.ns));
});
