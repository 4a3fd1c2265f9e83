import { defineCommand, commonFlags } from '../command.ts';
import type { Taint } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../client/api-client.ts';
import { loadClientConfig } from '../../client/kubeconfig.ts';
import { NodeAgent } from '../../lab/node-agent.ts';
import { teardownNode } from '../../lab/node-network.ts';
import { parseCidr, cidrContains } from '../../lab/ipam.ts';
import { InvalidArgumentError } from '../../util/errors.ts';

function pairs(list: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`invalid --${flag} entry ${JSON.stringify(item)}: want key=value`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** parseTaint reads kubelet's `key=value:Effect` (value optional). */
function parseTaint(text: string): Taint {
  const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(text);
  if (!m) throw new InvalidArgumentError(`invalid --register-with-taints entry ${JSON.stringify(text)}: want key[=value]:NoSchedule|PreferNoSchedule|NoExecute`);
  return { key: m[1]!, ...(m[2] ? { value: m[2] } : {}), effect: m[3]! };
}

export default defineCommand({
  name: 'node',
  summary: 'Run a lab node agent: a node network namespace whose pods run as processes in their own namespaces',
  flags: {
    server: { type: 'string', help: 'apiserver URL (https://, http:// or unix:///path/to/socket); overrides the kubeconfig' },
    kubeconfig: { type: 'string', help: 'path to a kubeconfig file' },
    name: { type: 'string', help: 'node name (required)' },
    'lab-prefix': { type: 'string', default: 'ferry-', help: 'prefix of the lab\'s network namespaces (<prefix>switch, <prefix><node>, <prefix><node>_<pod>_<uid>)' },
    'node-ip': { type: 'string', help: 'the node\'s address on the lab switch (required), inside --lab-cidr' },
    'lab-cidr': { type: 'string', default: '192.168.200.0/24', help: 'network of the lab switch joining the nodes' },
    'pod-cidr': { type: 'string', help: 'the node\'s pod range, e.g. 10.244.1.0/24 (required); its first address is the pods\' gateway' },
    'cluster-dns': { type: 'list', default: ['10.96.0.10'], help: 'DNS server IPs written to pods\' resolv.conf' },
    'cluster-domain': { type: 'string', default: 'cluster.local', help: 'cluster domain for pods\' DNS search path' },
    capacity: { type: 'list', default: ['cpu=4', 'memory=8Gi'], help: 'node capacity reported as capacity and allocatable' },
    'max-pods': { type: 'int', default: 110, help: 'pods the node accepts' },
    'node-labels': { type: 'list', help: 'extra node labels key=value' },
    'register-with-taints': { type: 'list', help: 'taints key[=value]:Effect to register with' },
    'node-status-update-frequency': { type: 'duration', default: '10s', help: 'how often the node status is renewed' },
    'shutdown-grace-period': { type: 'duration', default: '10s', help: 'when the agent stops, the longest any pod gets between SIGTERM and SIGKILL, whatever its terminationGracePeriodSeconds (kubelet\'s graceful node shutdown)' },
    streaming: { type: 'boolean', default: true, help: 'serve kubectl logs, exec, attach and port-forward on a loopback port published as the kubelet endpoint (off where the apiserver does not share this loopback, as in an ipvs lab\'s guest)' },
    cleanup: { type: 'boolean', default: false, help: 'remove this node\'s namespaces (and the lab switch when no node is left), then exit' },
    ...commonFlags,
  },
  async run({ flags }) {
    const name = flags.name;
    if (!name) throw new InvalidArgumentError('--name is required');
    if (flags.cleanup) {
      await teardownNode(flags['lab-prefix'], name);
      return 0;
    }
    const nodeIP = flags['node-ip'];
    const podCIDR = flags['pod-cidr'];
    if (!nodeIP || !podCIDR) throw new InvalidArgumentError('--node-ip and --pod-cidr are required');
    const lab = parseCidr(flags['lab-cidr']);
    if (!cidrContains(lab, nodeIP)) throw new InvalidArgumentError(`--node-ip ${nodeIP} is not in --lab-cidr ${flags['lab-cidr']}`);
    const capacity = pairs(flags.capacity, 'capacity');
    const client = new ApiClient(loadClientConfig({ kubeconfig: flags.kubeconfig, server: flags.server }), { userAgent: `ferry-node/${name}` });
    const agent = new NodeAgent({
      client, nodeName: name, prefix: flags['lab-prefix'], nodeAddress: `${nodeIP}/${lab.prefix}`, podCIDR,
      clusterDNS: flags['cluster-dns'], clusterDomain: flags['cluster-domain'],
      capacity: { cpu: capacity.cpu ?? '4', memory: capacity.memory ?? '8Gi', pods: String(flags['max-pods']) },
      labels: pairs(flags['node-labels'] ?? [], 'node-labels'),
      taints: (flags['register-with-taints'] ?? []).map(parseTaint),
      backoff: { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 },
      statusUpdateMs: flags['node-status-update-frequency'],
      stopGraceCapMs: flags['shutdown-grace-period'],
      streaming: flags.streaming,
    });
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    try {
      await Promise.race([agent.start(), stopped]);
      await stopped;
    } finally {
      await agent.stop();
      await client.close();
    }
    return 0;
  },
});
