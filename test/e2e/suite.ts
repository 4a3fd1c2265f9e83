import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigMap, Pod, Service } from 'kubernetes-types/core/v1.js';
import { resources } from '../../src/client/resources.ts';
import { isRoot } from '../helpers/netns-fixture.ts';
import type { ProxyMode } from '../../src/lab/cluster/plan.ts';
import { labPaths } from '../../src/lab/cluster/state.ts';
import { Lab, netexec, until as untilUnscaled, type Framework } from './framework.ts';

/**
 * The Kubernetes network e2e tests (test/e2e/network/service.go and dns.go)
 * ported to a `ferry up` lab of 3 nodes. Called once per proxy mode from
 * test/e2e/<mode>.test.ts, so ava prints `e2e › <mode> › <test>`.
 * `unsupported` lists tests whose behaviour the mode does not have by design
 * (a userspace proxy opens its own connection to the endpoint, so the
 * endpoint sees the node, not the client): those are skipped with the reason.
 */
export interface ModeTraits {
  /** Tests the mode cannot pass by design, with the reason (printed in the skip). */
  unsupported?: Record<string, string>;
  /**
   * curl exit codes that count as "rejected" for a service without endpoints:
   * 7 (refused: the iptables REJECT rule); a userspace proxy accepts and then
   * closes, 52/56. Never 28: the client must not hang.
   */
  rejectCodes?: number[];
  /**
   * At most this many tests at once: an ipvs lab's nodes and pods share the
   * one CPU of a User-Mode Linux guest, where a test's pods start several
   * times slower than on the host.
   */
  concurrency?: number;
  /** Multiplies per-request timeouts (see Lab.timeScale). */
  timeScale?: number;
}

/** gate returns a wrapper that lets at most `limit` calls run at once. */
function gate(limit: number): <T>(run: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (run) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await run();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

export function defineE2E(mode: ProxyMode, traits: ModeTraits = {}): void {
  const unsupported = traits.unsupported ?? {};
  const rejectCodes = traits.rejectCodes ?? [7];
  const lab = new Lab(mode, traits.timeScale);
  const until = <T>(what: string, get: () => Promise<T | undefined | false | null>, timeoutMs = 60_000, everyMs?: number) =>
    untilUnscaled(what, get, timeoutMs * lab.timeScale, everyMs);
  const limited = gate(traits.concurrency ?? Number.POSITIVE_INFINITY);
  const serial = isRoot ? test.serial : test.skip;
  /**
   * traced runs a test's body; when it fails, what every node's proxy held
   * then (ruleDumps of the mode) goes to a file beside the lab's logs, named
   * in the failure, so a data-plane failure can be read against its rules.
   */
  const traced = async (t: ExecutionContext, body: (f: Framework) => Promise<void>) => {
    const f = await lab.framework(t);
    try {
      await body(f);
    } catch (error) {
      const file = join(labPaths(lab.name).logs, `rules-${t.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}.txt`);
      const dumps = await Promise.all(lab.state.plan.nodes.map((_, i) => lab.rules(i).catch((e: unknown) => `# node ${i}: ${String(e)}`)));
      writeFileSync(file, `${dumps.join('\n')}\n`);
      t.log(`each node's ${mode} rules at the failure: ${file}`);
      throw error;
    }
    t.pass();
  };
  const it = (title: string, body: (f: Framework) => Promise<void>) => {
    if (!isRoot || title in unsupported) return test.skip(title + (unsupported[title] ? ` (${unsupported[title]})` : ''), () => undefined);
    return test(title, (t) => limited(() => traced(t, body)));
  };
  const itSerial = (title: string, body: (f: Framework) => Promise<void>) => serial(title, (t) => traced(t, body));

  if (isRoot) {
    test.before(async () => {
      await lab.down(); // a lab of this name left by a killed run
      await lab.up();
    });
    test.after.always(async () => {
      await lab.down();
      // The proxies' rules (an nftables table, iptables chains) live only in the lab's namespaces.
      const left = await lab.leftovers();
      if (left.length) throw new Error(`ferry down left namespaces of the lab: ${left.join(', ')}`);
    });
  }

  const url = (ip: string, port: number) => `http://${ip}:${port}`;
  /** mentions is whether a rule dump names ip as a whole address (10.96.0.1 is not in 10.96.0.10). */
  const mentions = (dump: string, ip: string) => new RegExp(`(?<![\\d.])${ip.replace(/\./g, '\\.')}(?![\\d])`).test(dump);
  /** What `ferry status` shows per node in a mode's PROXY RULES column, with the service programmed. */
  const statusRules = ({ nftables: /^[1-9]\d* elements, [1-9]\d* rules$/, ipvs: /^\d+ iptables, [1-9]\d* ipvs$/ } as Partial<Record<ProxyMode, RegExp>>)[mode] ?? /^[1-9]\d*$/;
  const ipOf = (p: Pod) => p.status!.podIP!;
  const expectAnswer = async (f: Framework, from: string, target: string, want?: (body: string) => boolean) =>
    until(`${target} answering from ${from}`, async () => {
      const r = await f.curl(from, target);
      return r.code === 0 && (!want || want(r.stdout.trim())) ? r.stdout.trim() : undefined;
    }, 30_000);
  const expectRefusedOrGone = async (f: Framework, from: string, target: string) =>
    until(`${target} no longer answering from ${from}`, async () => (await f.curl(from, target, 1)).code !== 0, 30_000);
  /** pods makes n netexec pods labelled app=<name>, spread over the nodes. */
  const pods = async (f: Framework, name: string, n: number, args = netexec()) =>
    Promise.all(Array.from({ length: n }, (_, i) => f.createPod(`${name}-${i}`, { labels: { app: name }, node: lab.node(i % 3).name, args })));
  const client = (f: Framework, node = 0) => f.createPod('client', { node: lab.node(node).name });

  itSerial('should provide secure master service', async (f) => {
    await client(f);
    const k = await f.client.get<Service>(resources.services, 'kubernetes', { namespace: 'default' });
    // As an in-cluster client: HTTPS checked against kube-root-ca.crt, with a token of the namespace's default account.
    const ca = await until('kube-root-ca.crt in the namespace', () => f.client.get<ConfigMap>(resources.configmaps, 'kube-root-ca.crt', { namespace: f.ns }), 30_000);
    const caFile = join(labPaths(lab.name).dir, `ca-${f.ns}.crt`);
    writeFileSync(caFile, ca.data!['ca.crt']!);
    const tokenPath = `/api/v1/namespaces/${f.ns}/serviceaccounts/default/token`;
    const { status } = await until('a token of the default account', () => f.client.request<{ status: { token: string } }>('POST', tokenPath, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }), 30_000);
    const target = `https://${k.spec!.clusterIP!}:443/version`;
    const body = await until(`${target} answering from client`, async () => {
      const r = await f.exec('client', 'curl', ['-sf', '-m', '2', '--cacert', caFile, '-H', `Authorization: Bearer ${status.token}`, target]);
      return r.code === 0 && r.stdout.trim();
    }, 30_000);
    if (!JSON.parse(body).gitVersion) throw new Error(`unexpected /version: ${body}`);
  });

  itSerial('should work after restarting the proxy and the apiserver', async (f) => {
    await pods(f, 'web', 2);
    await client(f);
    const svc = await f.createService('web', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] });
    await expectAnswer(f, 'client', url(svc.spec!.clusterIP!, 80));
    for (const n of lab.state.plan.nodes) await lab.restart(`proxy-${n.name}`);
    await expectAnswer(f, 'client', url(svc.spec!.clusterIP!, 80));
    const svc2 = await f.createService('web2', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] });
    await expectAnswer(f, 'client', url(svc2.spec!.clusterIP!, 80));
    await lab.restart('apiserver');
    await expectAnswer(f, 'client', url(svc.spec!.clusterIP!, 80));
    const svc3 = await until('service create after apiserver restart', () => f.createService('web3', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] }), 30_000);
    await expectAnswer(f, 'client', url(svc3.spec!.clusterIP!, 80));
  });

  it('should serve a basic endpoint from pods', async (f) => {
    await client(f);
    const svc = await f.createService('endpoint-test', { selector: { app: 'ep' }, ports: [{ port: 80, targetPort: 8080 }] });
    const target = url(svc.spec!.clusterIP!, 80);
    await f.createPod('pod1', { labels: { app: 'ep' }, node: lab.node(1).name });
    await expectAnswer(f, 'client', `${target}/hostname`, (b) => b === 'pod1');
    await f.createPod('pod2', { labels: { app: 'ep' }, node: lab.node(2).name });
    await until('both endpoints serving', async () => new Set(await f.hostnames('client', target, 12)).size === 2, 30_000);
    await f.deletePod('pod1');
    await f.deletePod('pod2');
    await expectRefusedOrGone(f, 'client', `${target}/hostname`);
  });

  it('should serve multiport endpoints from pods', async (f) => {
    await client(f);
    const svc = await f.createService('multi-endpoint-test', { selector: { app: 'multi' }, ports: [
      { name: 'portname1', port: 80, targetPort: 'svc1' }, { name: 'portname2', port: 81, targetPort: 'svc2' },
    ] });
    await f.createPod('pod1', { labels: { app: 'multi' }, node: lab.node(1).name, containers: [
      { name: 'c1', image: 'ferry/agnhost', args: netexec(8080, 0), ports: [{ name: 'svc1', containerPort: 8080 }] },
      { name: 'c2', image: 'ferry/agnhost', args: netexec(8090, 0), ports: [{ name: 'svc2', containerPort: 8090 }] },
    ] });
    await expectAnswer(f, 'client', `${url(svc.spec!.clusterIP!, 80)}/hostname`, (b) => b === 'pod1');
    await expectAnswer(f, 'client', `${url(svc.spec!.clusterIP!, 81)}/hostname`, (b) => b === 'pod1');
  });

  it('should be able to up and down services', async (f) => {
    await Promise.all([pods(f, 'up-down-1', 2), pods(f, 'up-down-2', 2), client(f)]);
    const s1 = await f.createService('up-down-1', { selector: { app: 'up-down-1' }, ports: [{ port: 80, targetPort: 8080 }] });
    const s2 = await f.createService('up-down-2', { selector: { app: 'up-down-2' }, ports: [{ port: 80, targetPort: 8080 }] });
    await expectAnswer(f, 'client', `${url(s1.spec!.clusterIP!, 80)}/hostname`, (b) => b.startsWith('up-down-1-'));
    await expectAnswer(f, 'client', `${url(s2.spec!.clusterIP!, 80)}/hostname`, (b) => b.startsWith('up-down-2-'));
    await f.deleteService('up-down-1');
    await expectRefusedOrGone(f, 'client', url(s1.spec!.clusterIP!, 80));
    await expectAnswer(f, 'client', `${url(s2.spec!.clusterIP!, 80)}/hostname`, (b) => b.startsWith('up-down-2-'));
    const s3 = await f.createService('up-down-3', { selector: { app: 'up-down-1' }, ports: [{ port: 80, targetPort: 8080 }] });
    await expectAnswer(f, 'client', `${url(s3.spec!.clusterIP!, 80)}/hostname`, (b) => b.startsWith('up-down-1-'));
  });

  it('should be able to create a functioning NodePort service', async (f) => {
    await pods(f, 'nodeport-test', 2);
    const svc = await f.createService('nodeport-test', { type: 'NodePort', selector: { app: 'nodeport-test' }, ports: [{ port: 80, targetPort: 8080 }] });
    const nodePort = svc.spec!.ports![0]!.nodePort!;
    // From another node, to each node's address.
    for (const n of lab.state.plan.nodes) await expectAnswer(f, `node/${lab.node(2).name}`, `${url(n.ip, nodePort)}/hostname`, (b) => b.startsWith('nodeport-test-'));
  });

  it('should be able to change the type and ports of a service', async (f) => {
    await pods(f, 'mutability-test', 1);
    await client(f);
    let svc = await f.createService('mutability-test', { selector: { app: 'mutability-test' }, ports: [{ port: 80, targetPort: 8080 }] });
    await expectAnswer(f, 'client', url(svc.spec!.clusterIP!, 80) + '/hostname');
    svc = await f.updateService('mutability-test', (s) => {
      s.spec!.type = 'NodePort';
    });
    const nodePort = svc.spec!.ports![0]!.nodePort!;
    await expectAnswer(f, `node/${lab.node(1).name}`, `${url(lab.node(0).ip, nodePort)}/hostname`);
    svc = await f.updateService('mutability-test', (s) => {
      s.spec!.ports![0]!.port = 81;
    });
    await expectAnswer(f, 'client', url(svc.spec!.clusterIP!, 81) + '/hostname');
    await expectRefusedOrGone(f, 'client', url(svc.spec!.clusterIP!, 80));
    svc = await f.updateService('mutability-test', (s) => {
      s.spec!.type = 'ClusterIP';
      delete s.spec!.ports![0]!.nodePort;
    });
    await expectRefusedOrGone(f, `node/${lab.node(1).name}`, `${url(lab.node(0).ip, nodePort)}/hostname`);
    await expectAnswer(f, 'client', url(svc.spec!.clusterIP!, 81) + '/hostname');
  });

  it('should have session affinity work for service (ClusterIP and NodePort)', async (f) => {
    await Promise.all([pods(f, 'affinity', 3), client(f)]);
    const svc = await f.createService('affinity', { type: 'NodePort', sessionAffinity: 'ClientIP', selector: { app: 'affinity' }, ports: [{ port: 80, targetPort: 8080 }] });
    const targets = [url(svc.spec!.clusterIP!, 80), url(lab.node(1).ip, svc.spec!.ports![0]!.nodePort!)];
    for (const target of targets) {
      await expectAnswer(f, 'client', `${target}/hostname`);
      const seen = await f.hostnames('client', target, 10);
      if (seen.length !== 10 || new Set(seen).size !== 1) throw new Error(`${target}: affinity broken, answers ${seen.join(',')}`);
    }
  });

  it('should have session affinity timeout work for service', async (f) => {
    await Promise.all([pods(f, 'affinity-timeout', 3), client(f)]);
    const svc = await f.createService('affinity-timeout', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } }, selector: { app: 'affinity-timeout' }, ports: [{ port: 80, targetPort: 8080 }] });
    const target = url(svc.spec!.clusterIP!, 80);
    const first = await expectAnswer(f, 'client', `${target}/hostname`);
    const seen = await f.hostnames('client', target, 5);
    if (seen.some((h) => h !== first)) throw new Error(`affinity within the timeout broken: ${first} then ${seen.join(',')}`);
    // After the timeout the choice is made again: some later request lands elsewhere.
    await until('a different backend after the affinity timeout', async () => {
      await new Promise((r) => setTimeout(r, 6000));
      return (await f.curl('client', `${target}/hostname`)).stdout.trim() !== first;
    }, 60_000, 0);
  });

  it('should preserve source pod IP for traffic thru service cluster IP', async (f) => {
    await pods(f, 'echo-sourceip', 1);
    const c = await client(f, 1);
    const svc = await f.createService('sourceip-test', { selector: { app: 'echo-sourceip' }, ports: [{ port: 8080, targetPort: 8080 }] });
    const seen = await expectAnswer(f, 'client', `${url(svc.spec!.clusterIP!, 8080)}/clientip`);
    if (seen.split(':')[0] !== ipOf(c)) throw new Error(`endpoint saw ${seen}, client is ${ipOf(c)}`);
  });

  it('should keep the client IP with externalTrafficPolicy Local', async (f) => {
    await f.createPod('local-0', { labels: { app: 'local' }, node: lab.node(0).name });
    const svc = await f.createService('external-local', { type: 'NodePort', externalTrafficPolicy: 'Local', selector: { app: 'local' }, ports: [{ port: 80, targetPort: 8080 }] });
    const nodePort = svc.spec!.ports![0]!.nodePort!;
    const from = lab.node(2);
    const seen = await expectAnswer(f, `node/${from.name}`, `${url(lab.node(0).ip, nodePort)}/clientip`);
    if (seen.split(':')[0] !== from.ip) throw new Error(`endpoint saw ${seen}, client node is ${from.ip}`);
    // A node without a local endpoint drops external traffic rather than forwarding it.
    const other = await f.curl(`node/${from.name}`, `${url(lab.node(1).ip, nodePort)}/clientip`, 1);
    if (other.code === 0) throw new Error(`node ${lab.node(1).name} has no local endpoint but answered: ${other.stdout}`);
  });

  it('should program a service in every node\'s rules, count them in ferry status, and remove it', async (f) => {
    await pods(f, 'rules', 1);
    const svc = await f.createService('rules-test', { selector: { app: 'rules' }, ports: [{ port: 80, targetPort: 8080 }] });
    const ip = svc.spec!.clusterIP!;
    const nodes = lab.state.plan.nodes;
    await Promise.all(nodes.map((n, i) => until(`${n.name}'s ${mode} rules holding ${ip}`, async () => mentions(await lab.rules(i), ip), 30_000)));
    const status = await lab.status();
    if (status.code !== 0) throw new Error(`ferry status failed (${status.code}): ${status.stderr}`);
    for (const n of nodes) {
      // NODE READY IP POD-CIDR PROXY PROXY-RULES: the rules column follows the proxy's health.
      const rules = status.stdout.split('\n').find((l) => new RegExp(`^${n.name}\\s`).test(l))?.match(/healthz \d+\s+(.+)$/)?.[1];
      if (!rules || !statusRules.test(rules)) throw new Error(`ferry status: ${n.name}'s proxy rules ${JSON.stringify(rules)}, want ${statusRules}:\n${status.stdout}`);
    }
    await f.deleteService('rules-test');
    await Promise.all(nodes.map((n, i) => until(`${ip} gone from ${n.name}'s ${mode} rules`, async () => !mentions(await lab.rules(i), ip), 30_000)));
  });

  it('should be rejected when no endpoints exist', async (f) => {
    await client(f);
    const svc = await f.createService('no-pods', { selector: { app: 'nothing-here' }, ports: [{ port: 80, targetPort: 8080 }] });
    await until(`curl failing with ${rejectCodes.join('/')} (rejected, not a timeout)`, async () => rejectCodes.includes((await f.curl('client', url(svc.spec!.clusterIP!, 80), 3)).code), 30_000);
  });

  it('should allow pods to hairpin back to themselves through services', async (f) => {
    await f.createPod('hairpin', { labels: { app: 'hairpin' }, node: lab.node(1).name });
    const svc = await f.createService('hairpin-test', { selector: { app: 'hairpin' }, ports: [{ port: 8080, targetPort: 8080 }] });
    await expectAnswer(f, 'hairpin', `${url(svc.spec!.clusterIP!, 8080)}/hostname`, (b) => b === 'hairpin');
  });

  it('should serve endpoints on same port and different protocols', async (f) => {
    await Promise.all([f.createPod('dual', { labels: { app: 'dual' }, node: lab.node(1).name, args: netexec(53, 53), containers: [
      { name: 'agnhost', image: 'ferry/agnhost', args: netexec(53, 53), readinessProbe: { tcpSocket: { port: 53 }, periodSeconds: 1 } },
    ] }), client(f)]);
    const svc = await f.createService('dual-protocol', { selector: { app: 'dual' }, ports: [
      { name: 'tcp-port', port: 53, protocol: 'TCP', targetPort: 53 }, { name: 'udp-port', port: 53, protocol: 'UDP', targetPort: 53 },
    ] });
    await expectAnswer(f, 'client', `${url(svc.spec!.clusterIP!, 53)}/hostname`, (b) => b === 'dual');
    await until('UDP 53 answering', async () => (await f.udp('client', svc.spec!.clusterIP!, 53, 'hostname')).stdout.trim() === 'dual', 30_000, 200);
  });

  it('should provide DNS for the cluster', async (f) => {
    await client(f);
    await until('kubernetes.default resolved', async () => (await f.dig('client', ['kubernetes.default.svc.cluster.local', 'A'])).stdout.trim() === '10.96.0.1', 30_000);
    await until('kubernetes.default through the search path', async () => (await f.dig('client', ['+search', 'kubernetes.default', 'A'])).stdout.trim() === '10.96.0.1', 30_000);
  });

  it('should provide DNS for services', async (f) => {
    await Promise.all([pods(f, 'dns-test', 2), client(f)]);
    const svc = await f.createService('test-service', { selector: { app: 'dns-test' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
    await f.createService('test-headless', { clusterIP: 'None', selector: { app: 'dns-test' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
    const fqdn = `test-service.${f.ns}.svc.cluster.local`;
    const ip = svc.spec!.clusterIP!;
    await until('A record', async () => (await f.dig('client', [fqdn, 'A'])).stdout.trim() === ip, 30_000);
    await until('SRV record', async () => (await f.dig('client', [`_http._tcp.${fqdn}`, 'SRV'])).stdout.includes(`80 ${fqdn}.`), 30_000);
    const reverse = `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
    await until('PTR record', async () => (await f.dig('client', [reverse, 'PTR'])).stdout.trim() === `${fqdn}.`, 30_000);
    const podIPs = (await f.client.list<Pod>(resources.pods, { namespace: f.ns, labelSelector: 'app=dns-test' })).items.map(ipOf).sort();
    await until('headless A records are the pod IPs', async () =>
      (await f.dig('client', [`test-headless.${f.ns}.svc.cluster.local`, 'A'])).stdout.trim().split('\n').sort().join(',') === podIPs.join(','), 30_000);
    await until('partial name through the search path', async () => (await f.dig('client', ['+search', 'test-service'])).stdout.trim() === ip, 30_000);
  });

  it('should provide DNS for ExternalName services', async (f) => {
    await client(f);
    await f.createService('dns-externalname', { type: 'ExternalName', externalName: 'foo.example.com' });
    await until('CNAME', async () => (await f.dig('client', [`dns-externalname.${f.ns}.svc.cluster.local`, 'CNAME'])).stdout.trim() === 'foo.example.com.', 30_000);
    await f.updateService('dns-externalname', (s) => {
      s.spec!.externalName = 'bar.example.com';
    });
    await until('CNAME follows the change', async () => (await f.dig('client', [`dns-externalname.${f.ns}.svc.cluster.local`, 'CNAME'])).stdout.trim() === 'bar.example.com.', 30_000);
  });

  it('should provide DNS for pods for Hostname and Subdomain', async (f) => {
    await f.createService('dns-querier-2', { clusterIP: 'None', selector: { 'dns-test': 'true' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
    const pod = await f.createPod('dns-querier-2', { labels: { 'dns-test': 'true' }, spec: { hostname: 'dns-querier-2', subdomain: 'dns-querier-2' } });
    const name = `dns-querier-2.dns-querier-2.${f.ns}.svc.cluster.local`;
    await until('hostname.subdomain A record', async () => (await f.dig('dns-querier-2', [name, 'A'])).stdout.trim() === ipOf(pod), 30_000);
    const podName = `${ipOf(pod).replace(/\./g, '-')}.${f.ns}.pod.cluster.local`;
    await until('pod A record', async () => (await f.dig('dns-querier-2', [podName, 'A'])).stdout.trim() === ipOf(pod), 30_000);
  });
}
