import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EXT_IP, NODE_IP } from '../../helpers/proxy-topology.ts';
import { execFile } from '../../../src/util/exec.ts';
import { scenario, context } from './harness.ts';
import { UmlTopology } from './topology.ts';

/**
 * Acceptance 2 and 3 through the real command (inside UML): `ferry apiserver`
 * in the guest, Services and EndpointSlices written with kubectl, `ferry
 * proxy --mode ipvs` in the node namespace watching it, traffic from the
 * node and an external namespace; then `ferry proxy --mode ipvs --cleanup`.
 */
const ferry = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const SOCKET = '/run/ferry-apiserver.sock';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SERVICE = `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080, protocol: TCP, nodePort: 30080 }]
`;
const slice = (ips: string[]) => `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-abc, namespace: default, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: "", port: 8080, protocol: TCP }]
endpoints:
${ips.map((ip) => `  - { addresses: ["${ip}"], conditions: { ready: true }, nodeName: node }`).join('\n')}
`;

await scenario(async (step) => {
  const topo = await UmlTopology.create(3);
  const { fixture, node, ext, pods } = topo;
  const run = async (ns: string, cmd: string, args: string[]) => (await fixture.exec(ns, cmd, args, { allowFailure: true })).stdout;
  const ipvsadm = () => run(node, 'ipvsadm', ['-Ln']);
  const hits = async (ns: string, url: string, n: number) =>
    (await run(ns, 'curl', ['-s', '-m', '2', '-H', 'Connection: close', '-w', '\\n', ...new Array<string>(n).fill(url)])).split('\n').filter((l) => l !== '');
  const kubectl = (args: string[], input?: string) => execFile('kubectl', ['--server', 'http://127.0.0.1:6443', ...args], { input, timeoutMs: 30_000 });
  const until = async (what: string, check: () => Promise<boolean>, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ipvsadm:\n${await ipvsadm()}`);
      await sleep(500);
    }
  };
  const spawnLogged = (child: ChildProcess) => {
    child.stderr?.on('data', (b: Buffer) => process.stderr.write(b));
    return child;
  };

  await step('ferry apiserver runs and takes a Service and its EndpointSlice', async () => {
    const api = spawnLogged(
      (await import('node:child_process')).spawn(ferry, ['apiserver', '--plain-http', '--storage', 'memory', '--data-dir', '/tmp/apiserver', '--unix-socket', SOCKET], { stdio: ['ignore', 'ignore', 'pipe'], detached: true }),
    );
    context.teardown(() => api.pid !== undefined && process.kill(-api.pid, 'SIGKILL'));
    await until('the apiserver', async () => (await kubectl(['get', 'namespaces']).catch(() => undefined)) !== undefined, 90_000);
    await kubectl(['apply', '--validate=false', '-f', '-'], SERVICE);
    await kubectl(['apply', '--validate=false', '-f', '-'], slice(pods.map((p) => p.ip)));
  });

  let proxy: ChildProcess | undefined;
  await step('ferry proxy --mode ipvs programs the service from the API', async () => {
    proxy = fixture.spawn(node, ferry, [
      'proxy', '--mode', 'ipvs', '--server', `unix://${SOCKET}`, '--iptables-backend', 'legacy', '--hostname-override', 'node',
      '--cluster-cidr', '10.244.0.0/16', '--healthz-bind-address', '', '--metrics-bind-address', '', '--min-sync-period', '100ms',
    ]);
    spawnLogged(proxy);
    await until('3 real servers behind 10.96.0.10:80', async () => ((await ipvsadm()).match(/-> 10\.244\.1\.\d+:8080/g) ?? []).length >= 6, 120_000);
  });

  await step('ClusterIP traffic balanced over 3 endpoints, NodePort from outside', async () => {
    const bodies = await hits(node, 'http://10.96.0.10/hostname', 90);
    for (const p of pods) {
      const share = bodies.filter((b) => b === p.name).length / 90;
      assert.ok(Math.abs(share - 1 / 3) <= 0.1, `${p.name}: ${share}`);
    }
    const viaNodePort = await hits(ext, `http://${NODE_IP}:30080/hostname`, 6);
    assert.equal(viaNodePort.length, 6);
    assert.doesNotMatch(await run(ext, 'curl', ['-s', '-m', '2', `http://${NODE_IP}:30080/clientip`]), new RegExp(`^${EXT_IP}:`));
  });

  await step('an endpoint removed from the EndpointSlice drains and stops getting new connections', async () => {
    const gone = pods[2]!;
    await kubectl(['apply', '--validate=false', '-f', '-'], slice(pods.slice(0, 2).map((p) => p.ip)));
    await until('the removed endpoint leaves rotation', async () => !new RegExp(`-> ${gone.ip.replace(/\./g, '\\.')}:8080 +Masq +1 `).test(await ipvsadm()));
    const bodies = await hits(node, 'http://10.96.0.10/hostname', 12);
    assert.equal(bodies.length, 12);
    assert.ok(!bodies.includes(gone.name));
  });

  await step('deleting the Service removes its virtual servers and kube-ipvs0 address', async () => {
    await kubectl(['delete', 'service', 'web']);
    await until('the virtual servers to go', async () => !/10\.96\.0\.10:80|:30080/.test(await ipvsadm()));
    // The address goes at the end of the same sync, after the ipset update.
    await until('the address to go', async () => !/10\.96\.0\.10\//.test(await run(node, 'ip', ['addr', 'show', 'kube-ipvs0'])), 10_000);
  });

  await step('ferry proxy --mode ipvs --cleanup leaves no IPVS service, kube-ipvs0, KUBE- ipset or chain', async () => {
    // The `kubernetes` Service (10.96.0.1, no endpoints) still has a virtual server, address, set entries and rules.
    assert.match(await ipvsadm(), /10\.96\.0\.1:443/);
    // Stop the running proxy first (as an operator would), so only --cleanup acts.
    if (proxy?.pid !== undefined) process.kill(-proxy.pid, 'SIGTERM');
    await new Promise((r) => (proxy?.exitCode !== null ? r(undefined) : proxy.once('exit', r)));
    const r = await fixture.exec(node, ferry, ['proxy', '--mode', 'ipvs', '--cleanup', '--iptables-backend', 'legacy'], { allowFailure: true, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(await ipvsadm(), /TCP|UDP/);
    assert.notEqual((await fixture.exec(node, 'ip', ['link', 'show', 'kube-ipvs0'], { allowFailure: true })).code, 0);
    assert.doesNotMatch(await run(node, 'ipset', ['list', '-n']), /KUBE-/);
    assert.doesNotMatch(await run(node, 'iptables-legacy-save', []), /KUBE-/);
  });
});
