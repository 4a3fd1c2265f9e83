import type { ExecutionContext } from 'ava';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface, type Interface } from 'node:readline';
import { addRoute, ip, spawnIn } from '../../../src/lab/netns.ts';
import type { ProxyTopology } from '../../helpers/proxy-topology.ts';
import type { ServiceSpec } from './state.ts';

const scenario = fileURLToPath(new URL('./scenario.ts', import.meta.url));

/** SERVICE_CIDR is routed inside the node namespace so the node's own connections to ClusterIPs reach OUTPUT. */
export const SERVICE_CIDR = '10.96.0.0/16';

/**
 * ProxyDriver runs the userspace proxier in the topology's node namespace
 * (scenario.ts) and sends it snapshots; the process is killed at teardown.
 */
export class ProxyDriver {
  private readonly child: ChildProcess;
  private readonly lines: Interface;
  private readonly waiting: Array<(line: string) => void> = [];
  stderr = '';

  private constructor(child: ChildProcess) {
    this.child = child;
    this.lines = createInterface({ input: child.stdout! });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    child.stderr!.on('data', (b: Buffer) => {
      this.stderr += b.toString();
    });
  }

  /** start runs the proxier; `env` reaches scenario.ts (e.g. SCENARIO_TCP_THREADS). */
  static async start(t: ExecutionContext, topo: ProxyTopology, env: NodeJS.ProcessEnv = {}): Promise<ProxyDriver> {
    await addRoute(topo.node, [SERVICE_CIDR, 'dev', 'cbr0']);
    const child = spawnIn(topo.node, process.execPath, ['--import', 'tsx', scenario], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
    t.teardown(() => {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    });
    return new ProxyDriver(child);
  }

  private command(cmd: object): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`proxy did not answer ${JSON.stringify(cmd)}; stderr: ${this.stderr}`)), 20_000);
      this.waiting.push((line) => {
        clearTimeout(timer);
        const out = JSON.parse(line) as Record<string, unknown>;
        if (out.ok !== true) reject(new Error(`proxy: ${String(out.error)}`));
        else resolve(out);
      });
      this.child.stdin!.write(JSON.stringify(cmd) + '\n');
    });
  }

  /** sync applies a snapshot of these services and resolves to their proxy ports. */
  async sync(services: ServiceSpec[]): Promise<Record<string, number>> {
    return (await this.command({ op: 'sync', services })).ports as Record<string, number>;
  }

  /** maxRssKiB is the proxy process's peak resident set size. */
  async maxRssKiB(): Promise<number> {
    return (await this.command({ op: 'rss' })).maxRssKiB as number;
  }

  async cleanup(): Promise<void> {
    await this.command({ op: 'cleanup' });
  }
}

/**
 * burst makes n HTTP requests from ns with one curl process, each on a new
 * connection (`Connection: close`), and counts the bodies; failed requests
 * count under 'ERROR'.
 */
export async function burst(topo: ProxyTopology, ns: string, url: string, n: number): Promise<Map<string, number>> {
  const args = ['-sS', '-m', '30', '--connect-timeout', '5', '-H', 'Connection: close', '-w', '\\n%{http_code}\\n'];
  for (let i = 0; i < n; i++) args.push(url);
  const r = await topo.fixture.exec(ns, 'curl', args, { allowFailure: true });
  const parts = r.stdout.split('\n');
  const counts = new Map<string, number>();
  let answered = 0;
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const ok = parts[i + 1] === '200';
    const key = ok ? parts[i]! : 'ERROR';
    counts.set(key, (counts.get(key) ?? 0) + 1);
    answered++;
  }
  if (answered < n) counts.set('ERROR', (counts.get('ERROR') ?? 0) + n - answered);
  if (counts.has('ERROR')) process.stderr.write(`burst ${url} from ${ns}: ${r.stderr.trim()}\n`);
  return counts;
}

/**
 * killPodProcesses SIGKILLs every process in a pod namespace (its agnhost),
 * leaving the namespace up, and waits until they are gone: until then the
 * kernel still completes handshakes on the dying process's listening socket.
 */
export async function killPodProcesses(ns: string): Promise<void> {
  const pids = async () => (await ip(['netns', 'pids', ns])).stdout.split('\n').filter(Boolean);
  for (const pid of await pids()) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
  const deadline = Date.now() + 10_000;
  while ((await pids()).length > 0) {
    if (Date.now() > deadline) throw new Error(`processes in ${ns} survived SIGKILL for 10s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
