import test, { type ExecutionContext } from 'ava';
import { addRoute, ip } from '../../../src/lab/netns.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { EXT_IP, NODE_IP, ProxyTopology } from '../../helpers/proxy-topology.ts';
import { fileURLToPath } from 'node:url';
import { NFT_BINARY } from '../../../src/nftables/binary.ts';
import { endpoint, ProxyDriver, proxyConfig, SERVICE_CIDR, service, type DataplaneMode } from './harness.ts';

// The iptables and nftables proxiers proved with real packets, by the same
// scenarios: each runs inside the node
// namespace of the shared topology (ext 192.168.50.2 → node 192.168.50.1 →
// cbr0 → pods 10.244.1.10+i), and clients in pods, the node and ext make
// real HTTP/UDP requests to agnhost. Service IPs are 172.30.0.0/16.
const ferryBin = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const rootTest = isRoot ? test.serial : test.skip;

async function lab(t: ExecutionContext, mode: DataplaneMode, pods: number) {
  const topo = await ProxyTopology.create(t, pods);
  // Like a real node, the node routes service IPs towards its upstream (ext):
  // its own connections then reach OUTPUT's DNAT, and a pod's packets to a
  // service leave by another interface, so no ICMP redirect uses up the
  // per-host ICMP rate limit that REJECT's port-unreachable also needs.
  await addRoute(topo.node, [SERVICE_CIDR, 'via', EXT_IP]);
  // br_netfilter is on in this kernel, so a pod DNATed to itself is bridged
  // back out the port it came in on: kubelet's hairpin-veth mode allows that.
  for (let i = 0; i < pods; i++) await ip(['-n', topo.node, 'link', 'set', `veth${i}`, 'type', 'bridge_slave', 'hairpin', 'on']);
  const driver = new ProxyDriver(t, topo.node, proxyConfig(mode));
  return { topo, driver };
}

function assertSpread(t: ExecutionContext, counts: Map<string, number>, names: string[], n: number): void {
  t.deepEqual([...counts.keys()].sort(), [...names].sort(), `answers: ${JSON.stringify([...counts])}`);
  for (const name of names) {
    const share = (counts.get(name) ?? 0) / n;
    t.true(share >= 0.2 && share <= 0.47, `${name} got ${(share * 100).toFixed(1)}%`);
  }
}

const modeFlags = (mode: DataplaneMode) => (mode.startsWith('iptables-') ? ['--mode', 'iptables', '--iptables-backend', mode.slice('iptables-'.length)] : ['--mode', mode]);

/** ferryCleanup runs the real CLI, `ferry proxy --mode … --cleanup`, inside the node namespace. */
async function ferryCleanup(topo: ProxyTopology, mode: DataplaneMode): Promise<void> {
  await topo.fixture.exec(topo.node, ferryBin, ['proxy', ...modeFlags(mode), '--cleanup']);
}

/** rulesDump is what the mode left in the node: iptables-save, or the nftables ruleset. */
async function rulesDump(topo: ProxyTopology, mode: DataplaneMode): Promise<string> {
  if (mode === 'nftables') return (await topo.fixture.exec(topo.node, NFT_BINARY, ['list', 'ruleset'])).stdout;
  return (await topo.fixture.exec(topo.node, `${mode}-save`, [])).stdout;
}

for (const mode of ['iptables-nft', 'nftables'] as const) rootTest(`${mode}: cluster IP, node ports, eTP Local and health, affinity, no endpoints, hairpin, changes, cleanup`, async (t) => {
  const { topo, driver } = await lab(t, mode, 3);
  const [p0, p1, p2] = topo.pods as [typeof topo.pods[0], typeof topo.pods[0], typeof topo.pods[0]];
  const all = [p0, p1, p2].map((p) => endpoint(p.ip));
  const web = service('web', '172.30.0.10', { type: 'NodePort', nodePort: 30080 });
  const local = service('local', '172.30.0.11', { type: 'LoadBalancer', nodePort: 30081, externalTrafficPolicy: 'Local', healthCheckNodePort: 30200 });
  const sticky = service('sticky', '172.30.0.12', { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 2 } });
  const empty = service('empty', '172.30.0.13');
  const solo = service('solo', '172.30.0.14');
  const otherNode = { isLocal: false, nodeName: 'node-b' };
  const eps = {
    [web.key]: all,
    [local.key]: [endpoint(p0.ip), endpoint(p1.ip, otherNode)],
    [sticky.key]: all,
    [empty.key]: [],
    [solo.key]: [endpoint(p1.ip)],
  };
  const first = await driver.sync([web, local, sticky, empty, solo], eps);
  t.true(first.full, 'the first sync is a full one');

  // (1) Cluster IP from a pod and from the node: 300 requests spread over 3 endpoints.
  assertSpread(t, await topo.tally(p0.ns, 'http://172.30.0.10/hostname', 300), ['pod-0', 'pod-1', 'pod-2'], 300);
  assertSpread(t, await topo.tally(topo.node, 'http://172.30.0.10/hostname', 300), ['pod-0', 'pod-1', 'pod-2'], 300);

  // (2) NodePort from ext; eTP Local keeps the client address and uses only local endpoints.
  const viaNodePort = await topo.tally(topo.ext, `http://${NODE_IP}:30080/hostname`, 30);
  t.is(viaNodePort.get('ERROR'), undefined);
  t.deepEqual([...(await topo.tally(topo.ext, `http://${NODE_IP}:30081/hostname`, 30)).keys()], ['pod-0']);
  t.regex(await topo.curl(topo.ext, `http://${NODE_IP}:30081/clientip`), new RegExp(`^${EXT_IP.replaceAll('.', '\\.')}:\\d+$`));
  const healthy = await topo.fixture.exec(topo.ext, 'curl', ['-s', '-i', '-m', '2', `http://${NODE_IP}:30200/`]);
  t.regex(healthy.stdout, /^HTTP\/1\.1 200/);
  t.regex(healthy.stdout, /X-Load-Balancing-Endpoint-Weight: 1/i);
  t.regex(healthy.stdout, /"localEndpoints":1/);

  // (3) ClientIP affinity: 50 requests from one client hit one endpoint; after the timeout it may change.
  const stuck = await topo.tally(topo.node, 'http://172.30.0.12/hostname', 50);
  t.is(stuck.size, 1, `affinity answers: ${JSON.stringify([...stuck])}`);
  await new Promise((r) => setTimeout(r, 3000));
  t.is((await topo.tally(topo.node, 'http://172.30.0.12/hostname', 10)).get('ERROR'), undefined);

  // (4) No endpoints: refused at once, not a timeout.
  const started = Date.now();
  // bash's /dev/tcp prints the errno text (curl only says "Couldn't connect").
  const refused = await topo.fixture.exec(p0.ns, 'timeout', ['5', 'bash', '-c', 'exec 3<>/dev/tcp/172.30.0.13/80'], { allowFailure: true });
  t.is(refused.code, 1, refused.stderr);
  t.regex(refused.stderr, /Connection refused/);
  t.true(Date.now() - started < 1500, `took ${Date.now() - started} ms`);

  // (5) Hairpin: the only endpoint reaches its own service and answers itself.
  t.is(await topo.curl(p1.ns, 'http://172.30.0.14/hostname'), 'pod-1');

  // eTP Local without local endpoints: health check node port says 503.
  const noLocal = { ...eps, [local.key]: [endpoint(p1.ip, otherNode)] };
  const partial = await driver.sync([web, local, sticky, empty, solo], noLocal);
  t.false(partial.full, 'later syncs are partial');
  const unhealthy = await topo.fixture.exec(topo.ext, 'curl', ['-s', '-i', '-m', '2', `http://${NODE_IP}:30200/`]);
  t.regex(unhealthy.stdout, /^HTTP\/1\.1 503/);
  t.regex(unhealthy.stdout, /"localEndpoints":0/);

  // (7) Endpoint removed, then added; service deleted: traffic follows within one sync.
  await driver.sync([web, local, sticky, empty, solo], { ...noLocal, [web.key]: [endpoint(p0.ip), endpoint(p1.ip)] });
  const two = await topo.tally(topo.node, 'http://172.30.0.10/hostname', 40);
  t.deepEqual([...two.keys()].sort(), ['pod-0', 'pod-1']);
  await driver.sync([web, local, sticky, empty, solo], noLocal);
  t.true((await topo.tally(topo.node, 'http://172.30.0.10/hostname', 60)).has('pod-2'));
  await driver.sync([web, local, sticky, empty], noLocal);
  const gone = await topo.fixture.exec(topo.node, 'curl', ['-sS', '-m', '1', 'http://172.30.0.14/hostname'], { allowFailure: true });
  t.not(gone.code, 0, 'a deleted service no longer answers');
  t.notRegex(await rulesDump(topo, mode), /KUBE-SVC-\S+ .*solo|default\/solo|172\.30\.0\.14/);

  // After `ferry proxy --cleanup`, nothing of the mode is left and the node's own rules are untouched.
  await topo.fixture.exec(topo.node, 'iptables-nft', ['-A', 'FORWARD', '-s', '10.99.0.0/16', '-j', 'ACCEPT']);
  await ferryCleanup(topo, mode);
  t.notRegex(await rulesDump(topo, 'iptables-nft'), /KUBE-/);
  t.regex(await rulesDump(topo, 'iptables-nft'), /-A FORWARD -s 10\.99\.0\.0\/16 -j ACCEPT/);
  t.notRegex(await rulesDump(topo, 'nftables'), /table ip ferry/);
});

for (const mode of ['iptables-nft', 'iptables-legacy', 'nftables'] as const) rootTest(`${mode}: UDP clients follow a replaced endpoint within 2 s (conntrack cleanup)`, async (t) => {
  const { topo, driver } = await lab(t, mode, 3);
  const [p0, p1, p2] = topo.pods as [typeof topo.pods[0], typeof topo.pods[0], typeof topo.pods[0]];
  const dns = service('dns', '172.30.0.20', { protocol: 'UDP', port: 53, portName: 'dns' });
  await driver.sync([dns], { [dns.key]: [endpoint(p0.ip, { port: 8081 })] });
  // One socket, one source port: the conntrack entry would pin it to pod-0 forever without cleanup.
  const script = `const s=require('dgram').createSocket('udp4');s.on('message',m=>console.log(Date.now()+' '+m));setInterval(()=>s.send('hostname',53,'172.30.0.20'),100);setTimeout(()=>process.exit(0),20000)`;
  const client = topo.fixture.spawn(p2.ns, process.execPath, ['-e', script]);
  const replies: Array<{ at: number; from: string }> = [];
  client.stdout!.on('data', (b: Buffer) => {
    for (const l of b.toString().split('\n').filter(Boolean)) replies.push({ at: Number(l.split(' ')[0]), from: l.split(' ')[1]! });
  });
  const waitFor = async (cond: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return cond();
  };
  t.true(await waitFor(() => replies.some((r) => r.from === 'pod-0'), 5000), 'pod-0 answers first');
  // Checked by hand: with the conntrack deletions disabled this fails on both
  // backends (the entry keeps answering from pod-0), so it proves the cleanup.
  await driver.sync([dns], { [dns.key]: [endpoint(p1.ip, { port: 8081 })] });
  const synced = Date.now();
  t.true(await waitFor(() => replies.some((r) => r.at > synced && r.from === 'pod-1'), 2000), `replies after the sync: ${JSON.stringify(replies.filter((r) => r.at > synced).slice(0, 5))}`);
  const settled = Date.now() + 300;
  await new Promise((r) => setTimeout(r, 800));
  t.false(replies.some((r) => r.at > settled && r.from === 'pod-0'), 'pod-0 no longer answers');
  client.kill('SIGKILL');
  await driver.cleanup();
});

rootTest('iptables-legacy: cluster IP spread and cleanup', async (t) => {
  const { topo, driver } = await lab(t, 'iptables-legacy', 3);
  const web = service('web', '172.30.0.10');
  await driver.sync([web], { [web.key]: topo.pods.map((p) => endpoint(p.ip)) });
  assertSpread(t, await topo.tally(topo.pods[0]!.ns, 'http://172.30.0.10/hostname', 300), ['pod-0', 'pod-1', 'pod-2'], 300);
  t.regex(await rulesDump(topo, 'iptables-legacy'), /KUBE-SVC-/);
  await ferryCleanup(topo, 'iptables-legacy');
  t.notRegex(await rulesDump(topo, 'iptables-legacy'), /KUBE-/);
});

// kube-proxy's nftables mode semantics for external addresses and policies.
for (const mode of ['iptables-nft', 'nftables'] as const) rootTest(`${mode}: external IPs, LB source ranges, eTP Local short-circuit, iTP Local`, async (t) => {
  const { topo, driver } = await lab(t, mode, 3);
  const [p0, p1, p2] = topo.pods as [typeof topo.pods[0], typeof topo.pods[0], typeof topo.pods[0]];
  await addRoute(topo.node, ['192.168.99.0/24', 'via', EXT_IP]);
  const remote = { isLocal: false, nodeName: 'node-b' };
  const allowed = service('allowed', '172.30.0.30', { type: 'LoadBalancer', nodePort: 30090, loadBalancerIPs: ['192.168.99.20'], loadBalancerSourceRanges: ['192.168.50.0/30', '192.168.50.0/24'] });
  const denied = service('denied', '172.30.0.31', { type: 'LoadBalancer', nodePort: 30091, loadBalancerIPs: ['192.168.99.21'], loadBalancerSourceRanges: ['10.99.0.0/16'] });
  const elsewhere = service('elsewhere', '172.30.0.32', { externalIPs: ['192.168.99.10'], nodePort: 30092, type: 'NodePort', externalTrafficPolicy: 'Local' });
  const itp = service('itp', '172.30.0.33', { internalTrafficPolicy: 'Local' });
  await driver.sync([allowed, denied, elsewhere, itp], {
    [allowed.key]: [endpoint(p0.ip)],
    [denied.key]: [endpoint(p0.ip)],
    [elsewhere.key]: [endpoint(p2.ip, remote)],
    [itp.key]: [endpoint(p0.ip), endpoint(p1.ip, remote)],
  });
  const fails = async (ns: string, url: string) => (await topo.fixture.exec(ns, 'curl', ['-sS', '-m', '1', url], { allowFailure: true })).code !== 0;

  // LB source ranges (nested ones too): a source in the range gets through, one outside is dropped.
  t.is(await topo.curl(topo.ext, 'http://192.168.99.20/hostname'), 'pod-0');
  t.true(await fails(topo.ext, 'http://192.168.99.21/hostname'), 'outside loadBalancerSourceRanges');

  // eTP Local with the only endpoint on another node: outside clients are dropped,
  // pods and the node itself reach the remote endpoint (kube-proxy's short-circuit).
  t.true(await fails(topo.ext, 'http://192.168.99.10/hostname'), 'no local endpoint for an outside client');
  t.true(await fails(topo.ext, `http://${NODE_IP}:30092/hostname`), 'no local endpoint on the node port either');
  t.is(await topo.curl(p0.ns, 'http://192.168.99.10/hostname'), 'pod-2');
  t.is(await topo.curl(topo.node, 'http://192.168.99.10/hostname'), 'pod-2');
  t.is(await topo.curl(p0.ns, `http://${NODE_IP}:30092/hostname`), 'pod-2');

  // iTP Local: cluster IP traffic stays on this node's endpoints.
  t.deepEqual([...(await topo.tally(topo.node, 'http://172.30.0.33/hostname', 20)).keys()], ['pod-0']);
});
