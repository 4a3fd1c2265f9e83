/**
 * Network programming latency measured by traffic, for one proxy mode:
 *
 *   ext (prober) ──► node: `ferry apiserver` (memory storage) + `ferry proxy --mode X --min-sync-period 0` ──► pod-0, pod-1 (agnhost)
 *
 * (test/helpers/proxy-topology.ts; nothing linked to the root namespace.) The
 * benchmark writes to the apiserver through its Unix socket, from outside any
 * namespace. The cluster holds `services` background services × 10 endpoints
 * (fake addresses) and the probe service, whose only endpoint is switched
 * between pod-0 and pod-1; 10 background endpoint changes per second run
 * meanwhile. Each switch's latency runs from just before the PATCH is sent to
 * the SYN of the first connection the new pod answers (nftables.prober.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../src/client/api-client.ts';
import { resources } from '../../src/client/resources.ts';
import { sysctlIn } from '../../src/lab/netns.ts';
import { ProxyTopology } from '../../test/helpers/proxy-topology.ts';
import { LineProcess, type Teardowns } from './lab-helpers.ts';

export type LatencyMode = 'nftables' | 'iptables-nft' | 'iptables-legacy';

export interface LatencyResult {
  readonly mode: LatencyMode;
  readonly services: number;
  /** One per switch, in ms. */
  readonly latenciesMs: number[];
  /** Switches that took longer than the per-switch timeout (polled every 50 ms after it: their latency is coarser). */
  readonly missed: number;
  /** From starting the proxy to the probe service answering (list + first full sync). */
  readonly firstSyncMs: number;
  readonly backgroundWritesPerSecond: number;
}

export interface LatencyOptions {
  readonly mode: LatencyMode;
  readonly services: number;
  readonly switches: number;
  readonly backgroundPerSecond: number;
  /** How long the proxy may take to program the cluster at start. */
  readonly firstSyncTimeoutMs: number;
  /** Polling every 1 ms lasts this long after a switch; then every 50 ms. */
  readonly switchTimeoutMs: number;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const ferryBin = fileURLToPath(new URL('../../bin/ferry', import.meta.url));
const PROBE_IP = '172.30.0.10';
const MODE_FLAGS: Record<LatencyMode, string[]> = {
  nftables: ['--mode', 'nftables'],
  'iptables-nft': ['--mode', 'iptables', '--iptables-backend', 'nft'],
  'iptables-legacy': ['--mode', 'iptables', '--iptables-backend', 'legacy'],
};

const service = (name: string, clusterIP?: string) => ({
  apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name },
  spec: { ...(clusterIP ? { clusterIP } : {}), ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
});
const endpoints = (addresses: readonly string[]) => addresses.map((a) => ({ addresses: [a], conditions: { ready: true }, nodeName: 'node' }));
const slice = (name: string, addresses: readonly string[]) => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
  metadata: { namespace: 'default', name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: endpoints(addresses),
});
/** Background endpoints: 10.100.0.0/14, outside the lab's pod network; no traffic goes there. */
const fakeIP = (n: number) => `10.${100 + ((n >> 16) & 3)}.${(n >> 8) & 255}.${n & 255}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pool(total: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < total) await fn(next++);
  }));
}

/** startApiserver runs `ferry apiserver` in the node namespace, also serving on a Unix socket the benchmark reaches from outside. */
async function startApiserver(topo: ProxyTopology, dataDir: string): Promise<ApiClient> {
  const socket = join(dataDir, 'api.sock');
  const server = topo.fixture.spawn(topo.node, ferryBin, ['apiserver', '--plain-http', '--listen', '127.0.0.1:0', '--storage', 'memory', '--data-dir', dataDir,
    '--service-cluster-ip-range', '172.30.0.0/16', '--unix-socket', socket]);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('listening on')) resolve();
    });
    server.once('exit', (code) => reject(new Error(`ferry apiserver exited with ${code}`)));
  });
  return new ApiClient({ server: `unix://${socket}` }, { connections: 32 });
}

/** populate creates the probe service on pod-0 and the background services with 10 endpoints each. */
async function populate(api: ApiClient, topo: ProxyTopology, services: number): Promise<void> {
  await api.create(resources.services, service('probe', PROBE_IP), { namespace: 'default' });
  await api.create(resources.endpointslices, slice('probe', [topo.pods[0]!.ip]), { namespace: 'default' });
  await pool(services, 32, async (i) => {
    await api.create(resources.services, service(`bg-${i}`), { namespace: 'default' });
    await api.create(resources.endpointslices, slice(`bg-${i}`, Array.from({ length: 10 }, (_, j) => fakeIP(i * 10 + j))), { namespace: 'default' });
  });
}

/** backgroundLoad patches one endpoint of a random background service `perSecond` times a second until stopped. */
function backgroundLoad(api: ApiClient, services: number, perSecond: number): { stop: () => number } {
  const started = performance.now();
  let writes = 0;
  let inFlight = 0;
  let round = 0;
  const timer = setInterval(() => {
    if (services === 0 || inFlight >= 8) return;
    const i = Math.floor(Math.random() * services);
    const addresses = Array.from({ length: 10 }, (_, j) => (j === 0 ? fakeIP(200_000 + (round++ % 50_000)) : fakeIP(i * 10 + j)));
    inFlight++;
    void api.patch(resources.endpointslices, `bg-${i}-1`, { endpoints: endpoints(addresses) }, 'merge', { namespace: 'default' })
      .then(() => writes++, (err: Error) => process.stderr.write(`background write: ${err.message}\n`))
      .finally(() => inFlight--);
  }, 1000 / perSecond);
  return { stop: () => (clearInterval(timer), (writes * 1000) / (performance.now() - started)) };
}

/** measureLatency builds a lab, loads the cluster, and times `switches` endpoint switches of the probe service. */
export async function measureLatency(teardowns: Teardowns, o: LatencyOptions): Promise<LatencyResult> {
  const mark = teardowns.mark();
  try {
    const topo = await ProxyTopology.create(teardowns.context, 2);
    await sysctlIn(topo.ext, 'net.ipv4.tcp_tw_reuse', '1');
    const dataDir = mkdtempSync(join(tmpdir(), 'ferry-bench-nftlat-'));
    teardowns.add(() => rmSync(dataDir, { recursive: true, force: true }));
    const api = await startApiserver(topo, dataDir);
    teardowns.add(() => api.close());
    const populateStart = performance.now();
    await populate(api, topo, o.services);
    process.stderr.write(`${o.mode}: ${o.services} background services created in ${((performance.now() - populateStart) / 1000).toFixed(1)} s\n`);
    const prober = new LineProcess(teardowns, topo.ext, here('nftables.prober.ts'), []);
    // watchFor starts polling for `want`; the function it returns waits for its first answer, in ms since writeAt.
    const watchFor = async (want: string, timeoutMs: number, everyMs = 1) => {
      await prober.ask({ op: 'start', host: PROBE_IP, port: 80, want, everyMs }, 10_000);
      return (writeAt: bigint) => prober.ask<{ ok: boolean; firstAt?: string; error?: string }>({ op: 'result', timeoutMs }, timeoutMs + 5000)
        .then((r) => (r.ok ? Number(BigInt(r.firstAt!) - writeAt) / 1e6 : undefined));
    };
    const proxyStart = process.hrtime.bigint();
    // Polled every 50 ms only: the first sync is CPU-bound, and the prober shares the two cores.
    const firstAnswer = await watchFor(topo.pods[0]!.name, o.firstSyncTimeoutMs, 50);
    const proxy = topo.fixture.spawn(topo.node, ferryBin, ['proxy', ...MODE_FLAGS[o.mode], '--server', `unix://${join(dataDir, 'api.sock')}`,
      '--hostname-override', 'node', '--cluster-cidr', '10.244.0.0/16', '--min-sync-period', '0s', '--healthz-bind-address', '', '--metrics-bind-address', '']);
    let proxyLog = '';
    proxy.stderr!.on('data', (b: Buffer) => (proxyLog = (proxyLog + b.toString()).slice(-3000)));
    const firstSyncMs = await firstAnswer(proxyStart);
    if (firstSyncMs === undefined) throw new Error(`${o.mode}: the probe service did not answer within ${o.firstSyncTimeoutMs / 1000} s of starting the proxy; proxy log:\n${proxyLog}`);
    process.stderr.write(`${o.mode}: proxy programmed ${o.services} services in ${(firstSyncMs / 1000).toFixed(1)} s\n`);
    const load = backgroundLoad(api, o.services, o.backgroundPerSecond);
    teardowns.add(() => load.stop());
    await sleep(2000);
    const latenciesMs: number[] = [];
    let missed = 0;
    for (let k = 1; k <= o.switches; k++) {
      const pod = topo.pods[k % 2]!;
      const answered = await watchFor(pod.name, o.switchTimeoutMs);
      const writeAt = process.hrtime.bigint();
      await api.patch(resources.endpointslices, 'probe-1', { endpoints: endpoints([pod.ip]) }, 'merge', { namespace: 'default' });
      const ms = await answered(writeAt);
      if (ms !== undefined) latenciesMs.push(ms);
      else {
        // Late: keep polling, every 50 ms now (bounded traffic), until it takes effect; the next switch must not start before.
        missed++;
        const lateMs = await (await watchFor(pod.name, o.firstSyncTimeoutMs, 50))(writeAt);
        if (lateMs === undefined) throw new Error(`${o.mode}: switch ${k} to ${pod.name} never took effect; proxy log:\n${proxyLog}`);
        latenciesMs.push(lateMs);
      }
      // An irregular gap, so switches do not fall in step with the background writes.
      await sleep(100 + Math.random() * 200);
    }
    const backgroundWritesPerSecond = load.stop();
    if (missed > 0) process.stderr.write(`${o.mode}: ${missed} switches took longer than ${o.switchTimeoutMs / 1000} s\n`);
    return { mode: o.mode, services: o.services, latenciesMs, missed, firstSyncMs, backgroundWritesPerSecond };
  } finally {
    await teardowns.runFrom(mark);
  }
}
