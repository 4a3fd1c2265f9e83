import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EXT_IP, NODE_IP } from '../../helpers/proxy-topology.ts';
import { UmlTopology } from './topology.ts';
import { context, scenario } from './harness.ts';
import type { ServiceSpec } from './proxy-specs.ts';

/**
 * Acceptance 2 and 3 (inside UML): the IPVS proxier in a node namespace with
 * agnhost pods behind a bridge and an external client (test/helpers/proxy-topology.ts).
 * ClusterIP rr balance, NodePort from outside, ClientIP persistence, graceful
 * termination of a removed endpoint, service deletion, no-endpoint REJECT,
 * and cleanup leaving nothing behind.
 */
const driverPath = fileURLToPath(new URL('./ipvs-driver.ts', import.meta.url));

class Driver {
  private readonly child: ChildProcess;
  private readonly replies: Array<(line: string) => void> = [];

  constructor(ns: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, 'tsx', driverPath], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, GRACEFUL_TIMEOUT_MS: '8000' } });
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.replies.shift()?.(l));
    context.teardown(() => this.child.kill('SIGKILL'));
  }

  private send(cmd: unknown): Promise<{ ok: boolean; error?: string; stats?: Record<string, number>; ms?: number }> {
    return new Promise((resolve) => {
      this.replies.push((l) => resolve(JSON.parse(l)));
      this.child.stdin!.write(JSON.stringify(cmd) + '\n');
    });
  }

  async sync(specs: ServiceSpec[]): Promise<Record<string, number>> {
    const r = await this.send({ sync: specs });
    assert.ok(r.ok, `sync failed: ${r.error}`);
    return r.stats ?? {};
  }

  async cleanup(): Promise<void> {
    const r = await this.send({ cleanup: true });
    assert.ok(r.ok, `cleanup failed: ${r.error}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await scenario(async (step) => {
  const topo = await UmlTopology.create(4);
  const { fixture, node, ext, pods } = topo;
  const run = async (ns: string, cmd: string, args: string[]) => (await fixture.exec(ns, cmd, args, { allowFailure: true })).stdout;
  /** hits makes n requests from ns, each on a new connection, in one curl; returns the bodies. */
  const hits = async (ns: string, url: string, n: number) =>
    (await run(ns, 'curl', ['-s', '-m', '2', '-H', 'Connection: close', '-w', '\\n', ...new Array<string>(n).fill(url)])).split('\n').filter((l) => l !== '');
  const count = (bodies: string[]) => bodies.reduce((m, b) => m.set(b, (m.get(b) ?? 0) + 1), new Map<string, number>());
  const ipvsadm = () => run(node, 'ipvsadm', ['-Ln']);

  const backends = pods.slice(0, 3).map((p) => ({ ip: p.ip, port: 8080 }));
  const web: ServiceSpec = { name: 'web', clusterIP: '10.96.0.10', port: 80, nodePort: 30080, endpoints: backends };
  const other: ServiceSpec = { name: 'other', clusterIP: '10.96.0.20', port: 80, endpoints: [{ ip: pods[3]!.ip, port: 8080 }] };
  const empty: ServiceSpec = { name: 'empty', clusterIP: '10.96.0.30', port: 80, endpoints: [] };
  const driver = new Driver(node);

  await step('first sync programs virtual servers, kube-ipvs0 addresses, ipsets and rules', async () => {
    const stats = await driver.sync([web, other, empty]);
    assert.equal(stats.virtualServers, 5); // 3 cluster IPs + NodePort on the node's 2 addresses
    const table = await ipvsadm();
    assert.match(table, /TCP {2}10\.96\.0\.10:80 rr/);
    assert.match(table, new RegExp(`TCP {2}${NODE_IP.replace(/\./g, '\\.')}:30080 rr`));
    assert.match(await run(node, 'ip', ['addr', 'show', 'kube-ipvs0']), /10\.96\.0\.10\/32[\s\S]*10\.96\.0\.20\/32/);
    assert.match(await run(node, 'ipset', ['list', 'KUBE-CLUSTER-IP']), /10\.96\.0\.10,tcp:80/);
  });

  await step('ClusterIP traffic is balanced over 3 endpoints with rr (each a third ± 10%)', async () => {
    const n = 150;
    const tally = count(await hits(node, 'http://10.96.0.10/hostname', n));
    for (const p of pods.slice(0, 3)) {
      const share = (tally.get(p.name) ?? 0) / n;
      assert.ok(Math.abs(share - 1 / 3) <= 0.1, `${p.name} got ${share} of requests: ${JSON.stringify([...tally])}`);
    }
  });

  await step('NodePort answers from an external namespace', async () => {
    const bodies = await hits(ext, `http://${NODE_IP}:30080/hostname`, 6);
    assert.equal(bodies.length, 6);
    assert.deepEqual(new Set(bodies), new Set(pods.slice(0, 3).map((p) => p.name)));
    const client = await run(ext, 'curl', ['-s', '-m', '2', `http://${NODE_IP}:30080/clientip`]);
    assert.doesNotMatch(client, new RegExp(`^${EXT_IP}:`), 'NodePort traffic is masqueraded');
  });

  await step('externalTrafficPolicy Local with its only endpoint on another node: the NodePort still reaches it from the node', async () => {
    // kube-proxy's IPVS mode falls back to the cluster-wide endpoints (kubernetes#97081).
    const remote: ServiceSpec = { name: 'remote', clusterIP: '10.96.0.40', port: 80, nodePort: 30090, externalTrafficPolicy: 'Local', endpoints: [{ ip: pods[0]!.ip, port: 8080, local: false }] };
    await driver.sync([web, other, empty, remote]);
    assert.match(await ipvsadm(), new RegExp(`${NODE_IP.replace(/\./g, '\\.')}:30090 rr\\s+-> ${pods[0]!.ip.replace(/\./g, '\\.')}:8080`));
    assert.equal(await run(node, 'curl', ['-s', '-m', '2', `http://${NODE_IP}:30090/hostname`]), pods[0]!.name);
    await driver.sync([web, other, empty]);
  });

  await step('a service without endpoints rejects at once', async () => {
    const start = Date.now();
    const r = await fixture.exec(node, 'curl', ['-s', '-m', '3', 'http://10.96.0.30/'], { allowFailure: true });
    assert.equal(r.code, 7, 'connection refused');
    assert.ok(Date.now() - start < 2000);
  });

  await step('ClientIP affinity pins each client to one endpoint (IPVS persistence)', async () => {
    await driver.sync([{ ...web, affinitySeconds: 60 }, other, empty]);
    assert.match(await ipvsadm(), /10\.96\.0\.10:80 rr persistent 60/);
    assert.equal(new Set(await hits(ext, `http://${NODE_IP}:30080/hostname`, 12)).size, 1);
    assert.equal(new Set(await hits(node, 'http://10.96.0.10/hostname', 12)).size, 1);
    await driver.sync([web, other, empty]);
    assert.doesNotMatch(await ipvsadm(), /persistent/);
  });

  await step('a removed endpoint drains: its connection keeps working, new ones avoid it, then it goes', async () => {
    // One keep-alive HTTP connection from ext, a request every 300 ms, printing who answered.
    const script = `
      const http = require('node:http');
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      let port;
      const tick = () => http.get({ host: '${NODE_IP}', port: 30080, path: '/hostname', agent }, (res) => {
        const local = res.socket.localPort;
        let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => { console.log(b, local); });
      }).on('error', (e) => console.log('ERROR', e.message));
      const t = setInterval(tick, 300); tick();
      setTimeout(() => { clearInterval(t); agent.destroy(); }, 8000);`;
    const long = fixture.spawn(ext, 'node', ['-e', script]);
    const lines: string[] = [];
    createInterface({ input: long.stdout! }).on('line', (l) => lines.push(l));
    long.stderr!.pipe(process.stderr);
    const started = Date.now() + 15_000;
    while (lines.length < 2 && Date.now() < started) await sleep(100);
    const [victimName, localPort] = lines[0]!.split(' ');
    const victim = pods.find((p) => p.name === victimName)!;
    await driver.sync([{ ...web, endpoints: backends.filter((b) => b.ip !== victim.ip) }, other, empty]);
    assert.match(await ipvsadm(), new RegExp(`-> ${victim.ip.replace(/\./g, '\\.')}:8080 +Masq +0 +1`), 'weight 0, one active connection');
    const fresh = await hits(ext, `http://${NODE_IP}:30080/hostname`, 12);
    assert.equal(fresh.length, 12);
    assert.ok(!fresh.includes(victim.name), `new connections still reach ${victim.name}`);
    await new Promise((r) => long.on('exit', r));
    assert.ok(lines.length >= 10, `long connection answered ${lines.length} times`);
    assert.deepEqual(new Set(lines), new Set([`${victim.name} ${localPort}`]), 'same endpoint, same connection, no errors');
    const deadline = Date.now() + 20_000;
    while ((await ipvsadm()).includes(`${victim.ip}:8080`) && Date.now() < deadline) await sleep(500);
    assert.doesNotMatch(await ipvsadm(), new RegExp(victim.ip.replace(/\./g, '\\.')), 'terminated endpoint deleted');
  });

  await step('deleting a service removes its virtual servers and its kube-ipvs0 address', async () => {
    await driver.sync([other, empty]);
    const table = await ipvsadm();
    assert.doesNotMatch(table, /10\.96\.0\.10:80|:30080/);
    assert.match(table, /10\.96\.0\.20:80/);
    const addrs = await run(node, 'ip', ['addr', 'show', 'kube-ipvs0']);
    assert.doesNotMatch(addrs, /10\.96\.0\.10\//);
    assert.match(addrs, /10\.96\.0\.20\//);
    assert.doesNotMatch(await run(node, 'ipset', ['list', 'KUBE-NODE-PORT-TCP']), /30080/);
    assert.equal(await run(node, 'curl', ['-s', '-m', '2', 'http://10.96.0.20/hostname']), pods[3]!.name);
  });

  await step('cleanup leaves no IPVS service, no kube-ipvs0, no KUBE- ipset or chain', async () => {
    await driver.cleanup();
    assert.doesNotMatch(await ipvsadm(), /TCP|UDP/);
    const link = await fixture.exec(node, 'ip', ['link', 'show', 'kube-ipvs0'], { allowFailure: true });
    assert.notEqual(link.code, 0);
    assert.doesNotMatch(await run(node, 'ipset', ['list', '-n']), /KUBE-/);
    assert.doesNotMatch(await run(node, 'iptables-legacy-save', []), /KUBE-/);
    await driver.cleanup(); // twice is fine
  });
});
