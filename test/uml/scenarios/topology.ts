import type { ExecutionContext } from 'ava';
import { addAddress, addRoute, createBridge, setMaster, sysctlIn, vethPair } from '../../../src/lab/netns.ts';
import { NetnsFixture } from '../../helpers/netns-fixture.ts';
import { EXT_IP, NODE_IP, podIP, type Pod } from '../../helpers/proxy-topology.ts';
import { context } from './harness.ts';

/**
 * The shared proxy test topology (test/helpers/proxy-topology.ts: node, ext,
 * pods on a bridge, same addresses), built for the UML guest. The one
 * difference: pods run a plain-JavaScript HTTP server answering like agnhost
 * netexec (/hostname, /clientip, /healthz) instead of `ferry agnhost`,
 * because each TypeScript process takes about 10 s to start in UML (tsx's
 * loader thread and esbuild service on one slow virtual CPU), which made
 * four pods miss the helper's 20 s start deadline.
 */
const POD_SERVER = `
const http = require('node:http');
const name = process.env.POD_NAME;
http.createServer((req, res) => {
  const ip = (req.socket.remoteAddress || '').replace(/^::ffff:/, '');
  const body = req.url === '/clientip' ? ip + ':' + req.socket.remotePort : req.url === '/healthz' ? 'ok' : name;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(8080);`;

export class UmlTopology {
  readonly fixture = new NetnsFixture(context as unknown as ExecutionContext);
  node = '';
  ext = '';
  readonly pods: Pod[] = [];

  static async create(podCount: number): Promise<UmlTopology> {
    const topo = new UmlTopology();
    const f = topo.fixture;
    topo.node = await f.add('node');
    topo.ext = await f.add('ext');
    await sysctlIn(topo.node, 'net.ipv4.ip_forward', '1');
    await createBridge(topo.node, 'cbr0', '10.244.1.1/24');
    await vethPair(topo.node, 'eth0', topo.ext, 'eth0');
    await addAddress(topo.node, 'eth0', `${NODE_IP}/24`);
    await addAddress(topo.ext, 'eth0', `${EXT_IP}/24`);
    await addRoute(topo.ext, ['default', 'via', NODE_IP]);
    for (let i = 0; i < podCount; i++) await topo.addPod(i);
    for (const p of topo.pods) await topo.waitForPod(p);
    return topo;
  }

  private async addPod(i: number): Promise<void> {
    const name = `pod-${i}`;
    const ns = await this.fixture.add(name);
    const ip = podIP(i);
    await vethPair(this.node, `veth${i}`, ns, 'eth0');
    await setMaster(this.node, `veth${i}`, 'cbr0');
    await addAddress(ns, 'eth0', `${ip}/24`);
    await addRoute(ns, ['default', 'via', '10.244.1.1']);
    this.fixture.spawn(ns, 'node', ['-e', POD_SERVER], { POD_NAME: name });
    this.pods.push({ name, ns, ip });
  }

  private async waitForPod(pod: Pod): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const r = await this.fixture.exec(this.node, 'curl', ['-s', '-m', '1', `http://${pod.ip}:8080/healthz`], { allowFailure: true });
      if (r.stdout === 'ok') return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`pod ${pod.name} (${pod.ip}) did not answer within 60s`);
  }
}
