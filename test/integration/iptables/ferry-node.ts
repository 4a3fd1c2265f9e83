import type { ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addRoute, ip } from '../../../src/lab/netns.ts';
import { EXT_IP, ProxyTopology } from '../../helpers/proxy-topology.ts';
import { SERVICE_CIDR } from './harness.ts';

// A node of the shared topology running the real parts: `ferry apiserver`
// and `ferry proxy` in the node namespace (used by ferry-proxy.test.ts and
// nfacct-traffic.test.ts; ipv6-traffic.test.ts starts its own apiserver and proxy).
const ferryBin = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));

/** startNode starts `ferry apiserver` in the node namespace of a topology with `pods` pods and returns a kubectl against it. */
export async function startNode(t: ExecutionContext, pods: number) {
  const topo = await ProxyTopology.create(t, pods);
  await addRoute(topo.node, [SERVICE_CIDR, 'via', EXT_IP]);
  for (let i = 0; i < pods; i++) await ip(['-n', topo.node, 'link', 'set', `veth${i}`, 'type', 'bridge_slave', 'hairpin', 'on']);
  return { topo, kubectl: await startApiserver(t, topo) };
}

/** startApiserver runs `ferry apiserver` in a topology's node namespace with a service range and returns a kubectl against it once it answers. */
export async function startApiserver(t: ExecutionContext, topo: ProxyTopology, serviceRange = SERVICE_CIDR) {
  const dataDir = await mkdtemp(join(tmpdir(), 'fytest-ipt-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  topo.fixture.spawn(topo.node, ferryBin, ['apiserver', '--plain-http', '--listen', '127.0.0.1:6443', '--storage', 'memory', '--data-dir', dataDir, '--service-cluster-ip-range', serviceRange]);
  const kubectl = (args: string[], input?: string) =>
    topo.fixture.exec(topo.node, 'kubectl', ['--server', 'http://127.0.0.1:6443', ...args], { input, allowFailure: true });
  const deadline = Date.now() + 20_000;
  while ((await kubectl(['get', 'namespaces'])).code !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return kubectl;
}

/** startProxy runs `ferry proxy` in the node namespace against that apiserver; its log is collected. */
export function startProxy(topo: ProxyTopology, modeFlags: readonly string[], extra: readonly string[] = [], clusterCIDR = '10.244.0.0/16') {
  const proxy = topo.fixture.spawn(topo.node, ferryBin, [
    'proxy', ...modeFlags, '--server', 'http://127.0.0.1:6443', '--hostname-override', 'node',
    '--cluster-cidr', clusterCIDR, '--min-sync-period', '0s', '--healthz-bind-address', '', '--metrics-bind-address', '', ...extra,
  ]);
  const state = { log: '', proxy };
  proxy.stderr!.on('data', (b: Buffer) => (state.log += b.toString()));
  return state;
}

