import type { ExecutionContext } from 'ava';
import { fileURLToPath } from 'node:url';
import { addAddress, addRoute, createBridge, setMaster, sysctlIn, vethPair } from '../../src/lab/netns.ts';
import { NetnsFixture } from './netns-fixture.ts';

/**
 * ProxyTopology is the lab every proxy backend's packet tests share:
 *
 *   ext (192.168.50.2) ──eth0── node (192.168.50.1, cbr0 10.244.1.1/24) ──cbr0── pod-0..pod-n (10.244.1.10+i)
 *
 * The node namespace is where the proxy under test runs; pods run agnhost
 * netexec (HTTP 8080, UDP 8081) named after their namespace's short name;
 * `ext` is a client outside the cluster that routes to the node. Nothing is
 * linked to the root namespace.
 */
export const NODE_IP = '192.168.50.1';
export const EXT_IP = '192.168.50.2';
export const POD_CIDR = '10.244.1.0/24';
export const podIP = (i: number) => `10.244.1.${10 + i}`;

const ferryBin = fileURLToPath(new URL('../../bin/ferry', import.meta.url));

export interface Pod {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
}

export class ProxyTopology {
  readonly fixture: NetnsFixture;
  node = '';
  ext = '';
  readonly pods: Pod[] = [];

  private constructor(t: ExecutionContext) {
    this.fixture = new NetnsFixture(t);
  }

  /** create builds the node, the external client and `pods` agnhost pods, and waits until every pod answers. */
  static async create(t: ExecutionContext, pods: number): Promise<ProxyTopology> {
    const topo = new ProxyTopology(t);
    await topo.build(pods);
    return topo;
  }

  private async build(podCount: number): Promise<void> {
    const f = this.fixture;
    this.node = await f.add('node');
    this.ext = await f.add('ext');
    await sysctlIn(this.node, 'net.ipv4.ip_forward', '1');
    await createBridge(this.node, 'cbr0', '10.244.1.1/24');
    await vethPair(this.node, 'eth0', this.ext, 'eth0');
    await addAddress(this.node, 'eth0', `${NODE_IP}/24`);
    await addAddress(this.ext, 'eth0', `${EXT_IP}/24`);
    await addRoute(this.ext, ['default', 'via', NODE_IP]);
    for (let i = 0; i < podCount; i++) await this.addPod(i);
    await Promise.all(this.pods.map((p) => this.waitForPod(p)));
  }

  /** addPod adds pod-i on the bridge running agnhost netexec. */
  async addPod(i: number): Promise<Pod> {
    const name = `pod-${i}`;
    const ns = await this.fixture.add(name);
    const ip = podIP(i);
    await vethPair(this.node, `veth${i}`, ns, 'eth0');
    await setMaster(this.node, `veth${i}`, 'cbr0');
    await addAddress(ns, 'eth0', `${ip}/24`);
    await addRoute(ns, ['default', 'via', '10.244.1.1']);
    this.fixture.spawn(ns, ferryBin, ['agnhost', 'netexec', '--http-port', '8080', '--udp-port', '8081'], { POD_NAME: name });
    const pod = { name, ns, ip };
    this.pods.push(pod);
    return pod;
  }

  private async waitForPod(pod: Pod): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const r = await this.fixture.exec(this.node, 'curl', ['-s', '-m', '1', `http://${pod.ip}:8080/healthz`], { allowFailure: true });
      if (r.stdout === 'ok') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`pod ${pod.name} (${pod.ip}) did not start agnhost within 20s`);
  }

  /** curl fetches a URL from inside ns; resolves to the body, or rejects when curl fails. */
  async curl(ns: string, url: string, timeoutSeconds = 2): Promise<string> {
    const r = await this.fixture.exec(ns, 'curl', ['-sS', '--fail', '-m', String(timeoutSeconds), url]);
    return r.stdout;
  }

  /** tally sends n requests from ns and counts answers by body (pod name); failures count under 'ERROR'. */
  async tally(ns: string, url: string, n: number): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const body = await this.curl(ns, url).catch(() => 'ERROR');
      counts.set(body, (counts.get(body) ?? 0) + 1);
    }
    return counts;
  }

  /** udp sends one datagram from ns and resolves to the reply ('' on timeout). */
  async udp(ns: string, host: string, port: number, message: string, timeoutSeconds = 1): Promise<string> {
    const r = await this.fixture.exec(ns, 'socat', ['-T', String(timeoutSeconds), '-', `UDP4:${host}:${port}`], { input: message, allowFailure: true });
    return r.stdout;
  }
}
