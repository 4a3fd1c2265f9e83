import { currentLab } from '../../lab/cluster/current.ts';
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import { defineCommand } from '../command.ts';
import { resources } from '../../client/resources.ts';
import { execInLab, openLab } from '../../lab/cluster/client.ts';
import { apiReady } from '../../lab/cluster/lab.ts';
import { isAlive } from '../../lab/cluster/supervisor.ts';
import { countNftTable, isMissingTable, NFT_LIST_JSON, ruleDumps } from '../../lab/cluster/proxy-rules.ts';
import { NFT_BINARY } from '../../nftables/binary.ts';
import { TABLE } from '../../nftables/layout.ts';
import type { LabState } from '../../lab/cluster/state.ts';
import { configuredProxyMode } from '../../lab/cluster/data-plane.ts';
import type { ProxyMode } from '../../lab/cluster/plan.ts';
import { getErrorMessage } from '../../util/errors.ts';
import { workloadCounts, workloadRows } from '../../lab/cluster/workload-status.ts';

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

/**
 * nftablesCount sums up the nftables proxy's table in a node namespace:
 * elements over its sets and maps, and rules; a node whose proxy has not
 * made the table (yet) says so.
 */
async function nftablesCount(state: LabState, ns: string): Promise<string> {
  let r;
  try {
    r = await execInLab(state, ns, NFT_BINARY, [...NFT_LIST_JSON], 10_000);
  } catch {
    return '?';
  }
  if (r.code !== 0) return isMissingTable(r.stderr) ? `no table ${TABLE}` : '?';
  try {
    const c = countNftTable(r.stdout);
    return `${c.elements} elements, ${c.rules} rules`;
  } catch {
    return '?';
  }
}

/** ruleCount counts what the proxy programmed in a node namespace: its nftables table, or its iptables rules (every other mode writes some) and IPVS virtual servers in ipvs mode. */
async function ruleCount(state: LabState, mode: ProxyMode, ns: string): Promise<string> {
  if (mode === 'nftables') return nftablesCount(state, ns);
  const [iptables, ipvs] = ruleDumps(mode);
  const saved = await run(state, ns, iptables!.file, iptables!.args);
  const rules = saved === undefined ? '?' : String(saved.split('\n').filter((l) => l.startsWith('-A ')).length);
  if (!ipvs) return rules;
  const servers = await run(state, ns, ipvs.file, ipvs.args);
  return `${rules} iptables, ${servers === undefined ? '?' : servers.split('\n').filter((l) => /^(TCP|UDP|SCTP) /.test(l)).length} ipvs`;
}

/** proxyHealth reads the proxy's /healthz inside its node namespace. */
async function proxyHealth(state: LabState, ns: string): Promise<string> {
  const code = await run(state, ns, 'curl', ['-s', '-m', '1', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:10256/healthz']);
  return code === undefined ? 'healthz unreachable' : `healthz ${code}`;
}

export default defineCommand({
  name: 'status',
  summary: 'Show a lab: components and their health, nodes, pods, workloads (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs), services, and proxy rules per node',
  flags: {
    name: { type: 'string', help: 'lab name (default: the lab of $KUBECONFIG, else the only running lab, else lab)' },
  },
  async run({ flags }) {
    const { state, client } = openLab(currentLab(flags.name));
    // Proxies run as the ferry-proxy DaemonSet read their mode from the kube-proxy ConfigMap, which may have been edited.
    const configured = state.proxies === 'pods' ? await configuredProxyMode(client).catch(() => undefined) : undefined;
    const mode = configured ?? state.plan.mode;
    const modeNote = configured ? ' (kube-system/kube-proxy ConfigMap; pods started before an edit run the old one until restarted)' : '';
    const out: string[] = [`Lab ${state.plan.name}: ${state.plan.nodes.length} node(s), proxy mode ${mode}${modeNote}, apiserver https://127.0.0.1:${state.apiPort}, started ${state.startedAt}`, ''];
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
      const rules = await Promise.all(state.plan.nodes.map((n) => ruleCount(state, mode, n.ns)));
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
      const workloads = await workloadRows(client);
      out.push(workloadCounts(workloads));
      if (workloads.length > 0) out.push(table([['WORKLOAD', 'NAMESPACE', 'NAME', 'READY', 'DETAIL'], ...workloads.map((w) => [w.kind, w.namespace, w.name, w.ready, w.detail])]));
      out.push('');
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
