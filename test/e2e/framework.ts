import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { execFile as execFileCb } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container, Pod, PodSpec, Service, ServiceSpec } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../src/client/api-client.ts';
import { resources } from '../../src/client/resources.ts';
import { execInLab, targetNamespace } from '../../src/lab/cluster/client.ts';
import { restartComponent, stopLab } from '../../src/lab/cluster/lab.ts';
import type { ProxyMode } from '../../src/lab/cluster/plan.ts';
import { ruleDumps } from '../../src/lab/cluster/proxy-rules.ts';
import { labPaths, readState, type LabState } from '../../src/lab/cluster/state.ts';
import { listNamespaces } from '../../src/lab/netns.ts';
import { AGNHOST_IMAGE } from '../../src/lab/image.ts';

/**
 * The e2e framework: one `ferry up` lab per mode (started through the real
 * CLI, as a user would), shared by that mode's tests; each test gets its own
 * Kubernetes namespace whose objects are deleted when it ends, also on
 * failure (as Kubernetes' e2e framework does). Lab namespaces carry the
 * `fytest-<pid>-` prefix, which scripts/test removes if this run is killed.
 */

const FERRY = fileURLToPath(new URL('../../bin/ferry', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: readonly string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFileCb(file, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** until polls `get` until it returns a truthy value. */
export async function until<T>(what: string, get: () => Promise<T | undefined | false | null>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await get();
      if (v) return v;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

export class Lab {
  readonly name: string;
  readonly mode: ProxyMode;
  state!: LabState;
  client!: ApiClient;

  /** Multiplies every per-request timeout (curl, dig, exec): a UML guest's one CPU is starved when the host is busy. */
  readonly timeScale: number;

  constructor(mode: ProxyMode, timeScale = 1) {
    this.mode = mode;
    this.name = `e2e-${mode}-${process.pid}`;
    this.timeScale = timeScale;
  }

  get prefix(): string {
    return `fytest-${process.pid}-${this.mode.slice(0, 3)}-`;
  }

  async up(): Promise<void> {
    const r = await run(FERRY, ['up', '--name', this.name, '--mode', this.mode, '--nodes', '3', '--lab-prefix', this.prefix,
      '--proxy-arg=--min-sync-period=0s', '--proxy-arg=--sync-period=5s'], 180_000);
    if (r.code !== 0) throw new Error(`ferry up failed (${r.code}): ${r.stderr}${r.stdout}`);
    this.state = readState(labPaths(this.name))!;
    this.client = new ApiClient({ server: `unix://${this.state.socket}` }, { userAgent: 'ferry-e2e' });
    await until('cluster DNS ready', async () => {
      const s = await this.client.get<{ subsets?: Array<{ addresses?: unknown[] }> } & { metadata?: object }>(resources.endpoints, 'kube-dns', { namespace: 'kube-system' });
      return (s.subsets?.[0]?.addresses?.length ?? 0) >= 1;
    }, 120_000);
  }

  async down(): Promise<void> {
    await this.client?.close();
    await stopLab(this.name);
  }

  /** leftovers lists the lab's namespaces that still exist (after down: none, and with them every rule the proxies wrote). */
  async leftovers(): Promise<string[]> {
    return (await listNamespaces()).filter((n) => n.startsWith(this.prefix));
  }

  node(i: number) {
    return this.state.plan.nodes[i]!;
  }

  async restart(component: string): Promise<void> {
    await restartComponent(this.name, component);
    this.state = readState(labPaths(this.name))!;
  }

  /**
   * rules dumps what node i's proxy programmed, per mode (src/lab/cluster/proxy-rules.ts):
   * `nft list table ip ferry` in nftables mode, iptables-save (and ipvsadm -Ln) in the others.
   * A dump that fails shows its error: a missing nftables table is worth seeing.
   */
  async rules(i: number): Promise<string> {
    const parts = await Promise.all(ruleDumps(this.mode).map(async (d) => {
      const r = await execInLab(this.state, this.node(i).ns, d.file, d.args, 30_000 * this.timeScale);
      return `# ${this.node(i).name}: ${[d.file, ...d.args].join(' ')} (exit ${r.code})\n${r.stdout}${r.stderr}`;
    }));
    return parts.join('\n');
  }

  /** status runs `ferry status` on the lab, as a user would. */
  status(): Promise<Run> {
    return run(FERRY, ['status', '--name', this.name], 60_000 * this.timeScale);
  }

  /** newNamespace makes the test's namespace; every object made through the returned Framework is removed at teardown. */
  async framework(t: ExecutionContext): Promise<Framework> {
    const ns = `e2e-${randomBytes(3).toString('hex')}`;
    await this.client.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const f = new Framework(this, ns);
    t.teardown(() => f.cleanup());
    return f;
  }
}

export interface PodOptions {
  node?: string;
  labels?: Record<string, string>;
  /** agnhost arguments, default netexec on 8080 (HTTP) and 8081 (UDP). */
  args?: string[];
  containers?: Container[];
  spec?: Partial<PodSpec>;
}

export const netexec = (http = 8080, udp = 8081): string[] => ['netexec', `--http-port=${http}`, `--udp-port=${udp}`];

export class Framework {
  readonly lab: Lab;
  readonly ns: string;

  constructor(lab: Lab, ns: string) {
    this.lab = lab;
    this.ns = ns;
  }

  get client(): ApiClient {
    return this.lab.client;
  }

  /** createPod creates an agnhost pod and waits until it is Running and Ready with an IP. */
  async createPod(name: string, o: PodOptions = {}): Promise<Pod> {
    const containers = o.containers ?? [{ name: 'agnhost', image: AGNHOST_IMAGE, args: o.args ?? netexec(), readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }];
    const pod: Pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: this.ns, labels: o.labels ?? {} },
      spec: { containers, terminationGracePeriodSeconds: 1, ...(o.node ? { nodeName: o.node } : {}), ...o.spec },
    };
    await this.client.create(resources.pods, pod, { namespace: this.ns });
    return this.waitReady(name);
  }

  async waitReady(name: string): Promise<Pod> {
    return until(`pod ${this.ns}/${name} ready`, async () => {
      const p = await this.client.get<Pod>(resources.pods, name, { namespace: this.ns });
      const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      return ready && p.status?.podIP ? p : undefined;
    }, 90_000 * this.lab.timeScale);
  }

  async deletePod(name: string): Promise<void> {
    await this.client.delete(resources.pods, name, { namespace: this.ns });
  }

  async createService(name: string, spec: ServiceSpec): Promise<Service> {
    return this.client.create<Service>(resources.services, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: this.ns }, spec }, { namespace: this.ns });
  }

  async getService(name: string): Promise<Service> {
    return this.client.get<Service>(resources.services, name, { namespace: this.ns });
  }

  async updateService(name: string, change: (s: Service) => void): Promise<Service> {
    const s = await this.getService(name);
    change(s);
    return this.client.update<Service>(resources.services, s);
  }

  async deleteService(name: string): Promise<void> {
    await this.client.delete(resources.services, name, { namespace: this.ns });
  }

  /** exec runs a host program inside a pod's network namespace (`ferry exec`'s path), or a node's with `node/<name>`. */
  async exec(target: string, file: string, args: readonly string[], timeoutMs = 15_000): Promise<Run> {
    const netns = await targetNamespace(this.lab.state, this.client, target, this.ns);
    return execInLab(this.lab.state, netns, file, args, timeoutMs * this.lab.timeScale);
  }

  /** curl fetches a URL from a pod (or node/<name>); code is curl's exit code (7: refused, 28: timeout). */
  curl(from: string, url: string, timeoutS = 2): Promise<Run> {
    return this.exec(from, 'curl', ['-s', '-m', String(timeoutS * this.lab.timeScale), url]);
  }

  /** udp sends one datagram from a pod and returns the first answer. */
  udp(from: string, host: string, port: number, message: string): Promise<Run> {
    return this.exec(from, 'bash', ['-c', `echo -n '${message}' | socat -T ${2 * this.lab.timeScale} - UDP:${host}:${port}`], 5_000);
  }

  dig(from: string, args: readonly string[]): Promise<Run> {
    return this.exec(from, 'dig', ['+short', `+time=${2 * this.lab.timeScale}`, '+tries=2', ...args]);
  }

  /** hostnames collects the answers of `count` successful requests of /hostname to url. */
  async hostnames(from: string, url: string, count: number): Promise<string[]> {
    // A failed request is retried, as Kubernetes' checkAffinity does: what is asserted is which
    // endpoints answer, and a busy UML guest occasionally loses one (bounded: twice the count).
    const seen: string[] = [];
    for (let attempt = 0; seen.length < count && attempt < 2 * count; attempt++) {
      const r = await this.curl(from, `${url}/hostname`, 5);
      if (r.code === 0) seen.push(r.stdout.trim());
    }
    return seen;
  }

  /** cleanup removes every pod and service of the namespace, then the namespace (no namespace controller runs in the lab). */
  async cleanup(): Promise<void> {
    const at = { namespace: this.ns };
    const [pods, services] = await Promise.all([
      this.client.list<Pod>(resources.pods, at).catch(() => ({ items: [] as Pod[] })),
      this.client.list<Service>(resources.services, at).catch(() => ({ items: [] as Service[] })),
    ]);
    await Promise.all([
      ...pods.items.map((p) => this.client.delete(resources.pods, p.metadata!.name!, at, { gracePeriodSeconds: 0 }).catch(() => undefined)),
      ...services.items.map((s) => this.client.delete(resources.services, s.metadata!.name!, at).catch(() => undefined)),
    ]);
    await this.client.delete(resources.namespaces, this.ns).catch(() => undefined);
  }
}
