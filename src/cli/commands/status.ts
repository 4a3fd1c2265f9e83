import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import { defineCommand } from '../command.ts';
import { resources } from '../../endpoints/client/resources.ts';
import { openLab } from '../../lab/cluster/client.ts';
import { apiReady } from '../../lab/cluster/lab.ts';
import { isAlive } from '../../lab/cluster/supervisor.ts';
import { execIn } from '../../lab/netns.ts';
import { getErrorMessage } from '../../util/errors.ts';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]! + 2)).join('').trimEnd()).join('\n');
}

/** ruleCount counts the proxy's iptables rules in a node namespace (every mode writes some). */
async function ruleCount(ns: string): Promise<string> {
  const { code, stdout } = await execIn(ns, 'iptables-save', [], { allowFailure: true });
  if (code !== 0) return '?';
  return String(stdout.split('\n').filter((l) => l.startsWith('-A ')).length);
}

/** proxyHealth reads the proxy's /healthz inside its node namespace. */
async function proxyHealth(ns: string): Promise<string> {
  const { code, stdout } = await execIn(ns, 'curl', ['-s', '-m', '1', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:10256/healthz'], { allowFailure: true });
  return code === 0 ? `healthz ${stdout}` : 'healthz unreachable';
}

export default defineCommand({
  name: 'status',
  summary: 'Show a lab: components and their health, nodes, pods, services, and proxy rules per node',
  flags: {
    name: { type: 'string', default: 'lab', help: 'lab name' },
  },
  async run({ flags }) {
    const { state, client } = openLab(flags.name);
    const out: string[] = [`Lab ${state.plan.name}: ${state.plan.nodes.length} node(s), proxy mode ${state.plan.mode}, apiserver http://127.0.0.1:${state.apiPort}, started ${state.startedAt}`, ''];
    const health = await Promise.all(state.components.map(async (c) => {
      const alive = isAlive(c.pid);
      let detail = '';
      if (alive && c.name === 'apiserver') detail = (await apiReady(state.socket)) ? 'readyz ok' : 'readyz failing';
      if (alive && c.name.startsWith('proxy-') && c.netns) detail = await proxyHealth(c.netns);
      return [c.name, String(c.pid), alive ? 'running' : 'NOT RUNNING', detail, c.netns ?? '-'];
    }));
    out.push(table([['COMPONENT', 'PID', 'STATE', 'HEALTH', 'NETNS'], ...health]), '');
    try {
      const [nodes, pods, services] = await Promise.all([
        client.list<Node>(resources.nodes), client.list<Pod>(resources.pods), client.list<Service>(resources.services),
      ]);
      const rules = await Promise.all(state.plan.nodes.map((n) => ruleCount(n.ns)));
      out.push(table([['NODE', 'READY', 'IP', 'POD CIDR', 'PROXY RULES'], ...state.plan.nodes.map((n, i) => {
        const node = nodes.items.find((x) => x.metadata?.name === n.name);
        const ready = node?.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'not registered';
        return [n.name, ready, n.ip, n.podCIDR, rules[i]!];
      })]), '');
      out.push(table([['NAMESPACE', 'POD', 'PHASE', 'NODE', 'IP'], ...pods.items.map((p) => [
        p.metadata?.namespace ?? '', p.metadata?.name ?? '', p.status?.phase ?? '', p.spec?.nodeName ?? '', p.status?.podIP ?? '',
      ])]), '');
      out.push(table([['NAMESPACE', 'SERVICE', 'TYPE', 'CLUSTER-IP', 'PORTS'], ...services.items.map((s) => [
        s.metadata?.namespace ?? '', s.metadata?.name ?? '', s.spec?.type ?? 'ClusterIP', s.spec?.clusterIP ?? '',
        (s.spec?.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(','),
      ])]));
    } catch (error) {
      out.push(`apiserver unreachable: ${getErrorMessage(error)}`);
    } finally {
      await client.close();
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  },
});
