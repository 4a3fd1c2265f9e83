import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import { defineCommand } from '../command.ts';
import { resources } from '../../endpoints/client/resources.ts';
import { execInLab, openLab } from '../../lab/cluster/client.ts';
import { apiReady } from '../../lab/cluster/lab.ts';
import { isAlive } from '../../lab/cluster/supervisor.ts';
import { labIptablesBackend } from '../../lab/cluster/plan.ts';
import type { LabState } from '../../lab/cluster/state.ts';
import { getErrorMessage } from '../../util/errors.ts';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]! + 2)).join('').trimEnd()).join('\n');
}

/** run runs a program in a lab namespace (on the host or in an ipvs lab's guest); undefined when it fails. */
async function run(state: LabState, ns: string, file: string, args: string[]): Promise<string | undefined> {
  try {
    const r = await execInLab(state, ns, file, args, 10_000);
    return r.code === 0 ? r.stdout : undefined;
  } catch {
    return undefined;
  }
}

/** ruleCount counts the proxy's iptables rules in a node namespace (every mode writes some), and IPVS virtual servers in ipvs mode. */
async function ruleCount(state: LabState, ns: string): Promise<string> {
  const save = labIptablesBackend(state.plan.mode) === 'legacy' ? 'iptables-legacy-save' : 'iptables-save';
  const saved = await run(state, ns, save, []);
  const rules = saved === undefined ? '?' : String(saved.split('\n').filter((l) => l.startsWith('-A ')).length);
  if (state.plan.mode !== 'ipvs') return rules;
  const ipvs = await run(state, ns, 'ipvsadm', ['-Ln']);
  return `${rules} iptables, ${ipvs === undefined ? '?' : ipvs.split('\n').filter((l) => /^(TCP|UDP|SCTP) /.test(l)).length} ipvs`;
}

/** proxyHealth reads the proxy's /healthz inside its node namespace. */
async function proxyHealth(state: LabState, ns: string): Promise<string> {
  const code = await run(state, ns, 'curl', ['-s', '-m', '1', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:10256/healthz']);
  return code === undefined ? 'healthz unreachable' : `healthz ${code}`;
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
      if (alive && c.name.startsWith('proxy-') && c.netns) detail = await proxyHealth(state, c.netns);
      return [c.name, String(c.pid), alive ? 'running' : 'NOT RUNNING', detail, c.netns ?? '-'];
    }));
    out.push(table([['COMPONENT', 'PID', 'STATE', 'HEALTH', 'NETNS'], ...health]), '');
    try {
      const [nodes, pods, services] = await Promise.all([
        client.list<Node>(resources.nodes), client.list<Pod>(resources.pods), client.list<Service>(resources.services),
      ]);
      const rules = await Promise.all(state.plan.nodes.map((n) => ruleCount(state, n.ns)));
      const proxies = await Promise.all(state.plan.nodes.map((n) => proxyHealth(state, n.ns)));
      out.push(table([['NODE', 'READY', 'IP', 'POD CIDR', 'PROXY', 'PROXY RULES'], ...state.plan.nodes.map((n, i) => {
        const node = nodes.items.find((x) => x.metadata?.name === n.name);
        const ready = node?.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'not registered';
        return [n.name, ready, n.ip, n.podCIDR, proxies[i]!, rules[i]!];
      })]), '');
      if (state.guest) out.push('The nodes, their proxies and the pods run inside a User-Mode Linux guest (logs: lab-guest, node-*, proxy-*).', '');
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
