import test from 'ava';
import { createServer, connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { componentSpecs } from '../../../src/lab/cluster/lab.ts';
import { planLab, type ProxyMode } from '../../../src/lab/cluster/plan.ts';
import { renderKubeconfig } from '../../../src/lab/cluster/kubeconfig.ts';
import { startRelay, stopRelay } from '../../../src/lab/cluster/relay.ts';
import { labPaths, readState, writeState } from '../../../src/lab/cluster/state.ts';
import { currentLab } from '../../../src/lab/cluster/current.ts';

test('planLab names namespaces by prefix and gives each node its address and pod range', (t) => {
  const cases = [
    { name: 'lab', nodes: 3, prefix: undefined, want: { switchNs: 'fylab-lab-switch', cp: 'fylab-lab-cp', last: { name: 'node3', ip: '192.168.200.13', podCIDR: '10.244.3.0/24', ns: 'fylab-lab-node3' } } },
    { name: 'x', nodes: 1, prefix: 'fytest-1-ipt-', want: { switchNs: 'fytest-1-ipt-switch', cp: 'fytest-1-ipt-cp', last: { name: 'node1', ip: '192.168.200.11', podCIDR: '10.244.1.0/24', ns: 'fytest-1-ipt-node1' } } },
  ];
  for (const c of cases) {
    const plan = planLab(c.name, c.nodes, 'iptables', c.prefix);
    t.is(plan.switchNs, c.want.switchNs);
    t.is(plan.controlPlaneNs, c.want.cp);
    t.is(plan.nodes.length, c.nodes);
    t.deepEqual(plan.nodes.at(-1), c.want.last);
  }
});

test('each node\'s proxy runs with the lab\'s --mode, in the node\'s namespace; only an ipvs lab forces legacy iptables', (t) => {
  const paths = labPaths('x', '/nonexistent');
  const cases: Array<{ mode: ProxyMode; extra: string[] }> = [
    { mode: 'nftables', extra: [] },
    { mode: 'iptables', extra: [] },
    { mode: 'ipvs', extra: ['--iptables-backend', 'legacy'] },
  ];
  for (const c of cases) {
    const plan = planLab('x', 2, c.mode);
    const proxy = componentSpecs(plan, paths, paths.socket, 6443, ['--sync-period=5s']).proxy(plan.nodes[1]!);
    t.is(proxy.netns, 'fylab-x-node2');
    t.deepEqual(proxy.argv.slice(1), ['proxy', '--server', `unix://${paths.socket}`, '--mode', c.mode, '--hostname-override', 'node2', '--cluster-cidr', '10.244.0.0/16', ...c.extra, '--sync-period=5s'], c.mode);
  }
});

test('renderKubeconfig points the current context at the server', (t) => {
  const cfg = parse(renderKubeconfig('lab', 'http://127.0.0.1:6443')) as { 'current-context': string; contexts: Array<{ name: string; context: { cluster: string } }>; clusters: Array<{ name: string; cluster: { server: string } }> };
  const ctx = cfg.contexts.find((c) => c.name === cfg['current-context'])!;
  t.is(cfg.clusters.find((c) => c.name === ctx.context.cluster)!.cluster.server, 'http://127.0.0.1:6443');
});

test('renderKubeconfig for the TLS apiserver carries its CA and the admin token', (t) => {
  const cfg = parse(renderKubeconfig('lab', 'https://127.0.0.1:6443', { ca: Buffer.from('PEM'), token: 'tok' })) as { clusters: Array<{ cluster: Record<string, unknown> }>; users: Array<{ user: Record<string, unknown> }> };
  t.deepEqual(cfg.clusters[0]!.cluster, { server: 'https://127.0.0.1:6443', 'certificate-authority-data': Buffer.from('PEM').toString('base64') });
  t.deepEqual(cfg.users[0]!.user, { token: 'tok' });
});

test('state round-trips through state.json', (t) => {
  const home = mkdtempSync(join(tmpdir(), 'ferry-lab-state-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const paths = labPaths('lab', home);
  t.is(readState(paths), undefined);
  const state = { plan: planLab('lab', 2, 'userspace'), apiPort: 1234, socket: paths.socket, startedAt: 'now', components: [{ name: 'apiserver', argv: ['x'], pid: 42, log: 'l' }] };
  writeState(paths, state);
  t.deepEqual(readState(paths), state);
});

test('the relay splices TCP connections to the Unix socket, both ways', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-relay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'api.sock');
  const upstream = createServer((c) => c.on('data', (d) => c.write(`echo:${d.toString()}`)));
  await new Promise<void>((r) => upstream.listen(socket, r));
  const relay = await startRelay('127.0.0.1', 0, socket);
  t.teardown(() => {
    relay.close();
    upstream.close();
  });
  const { port } = relay.address() as { port: number };
  const answer = await new Promise<string>((resolve, reject) => {
    const c = connect(port, '127.0.0.1', () => c.write('ping'));
    c.on('data', (d) => {
      resolve(d.toString());
      c.destroy();
    });
    c.on('error', reject);
  });
  t.is(answer, 'echo:ping');
});

test('stopRelay ends the relayed connections at once, upstream side too, rather than waiting for them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-relay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'api.sock');
  let upstreamClosed!: () => void;
  const closedUpstream = new Promise<void>((r) => (upstreamClosed = r));
  const upstream = createServer((c) => c.on('close', upstreamClosed));
  await new Promise<void>((r) => upstream.listen(socket, r));
  t.teardown(() => upstream.close());
  const relay = await startRelay('127.0.0.1', 0, socket);
  const { port } = relay.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const clientClosed = new Promise((r) => client.once('close', r));
  client.on('error', () => undefined);
  // A watch that never ends by itself.
  await new Promise((r) => setTimeout(r, 50));
  const closedRelay = new Promise((r) => relay.once('close', r));
  stopRelay(relay);
  await Promise.all([clientClosed, closedUpstream, closedRelay]);
  t.true(client.destroyed, 'the client was cut, as the upstream end and the listener');
});

test('currentLab: --name, else the lab of $KUBECONFIG, else the only running lab, else lab', (t) => {
  const home = mkdtempSync(join(tmpdir(), 'ferry-lab-current-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const lab = (name: string, pid: number) => {
    const paths = labPaths(name, home);
    writeState(paths, { plan: planLab(name, 1, 'iptables'), apiPort: 1, socket: paths.socket, startedAt: 'now', components: [{ name: 'apiserver', argv: ['x'], pid, log: 'l' }] });
    writeFileSync(paths.kubeconfig, 'x');
    return paths;
  };
  t.is(currentLab(undefined, {}, home), 'lab', 'no labs');
  const alpha = lab('alpha', process.pid);
  t.is(currentLab(undefined, {}, home), 'alpha', 'the only running one');
  lab('beta', 2 ** 22 + 1);
  t.is(currentLab(undefined, {}, home), 'alpha', 'beta\'s apiserver is not running');
  lab('gamma', process.pid);
  t.is(currentLab(undefined, {}, home), 'lab', 'two running: no guess');
  t.is(currentLab(undefined, { KUBECONFIG: `${labPaths('gamma', home).kubeconfig}:/other` }, home), 'gamma');
  t.is(currentLab('beta', { KUBECONFIG: alpha.kubeconfig }, home), 'beta', '--name wins');
});
