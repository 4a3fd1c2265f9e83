import { release } from 'node:os';
import type { Node, NodeCondition, Taint } from 'kubernetes-types/core/v1.js';

/**
 * The Node object a `ferry node` agent registers and renews (what kubelet's
 * `setNodeStatus` fills in): labels, podCIDR, capacity = allocatable (no
 * system reservations in a lab), the InternalIP and Hostname addresses and
 * the Ready condition with its heartbeat.
 */

export interface NodeSpecOptions {
  name: string;
  /** The node's address on the lab switch, without prefix length. */
  internalIP: string;
  podCIDR: string;
  capacity: { cpu: string; memory: string; pods: string };
  labels: Readonly<Record<string, string>>;
  taints: readonly Taint[];
  /** Loopback port of the agent's streaming server (logs, exec, attach), published as the kubelet endpoint. */
  kubeletPort?: number;
}

export const AGENT_VERSION = 'v1.32.0-ferry';

const stamp = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

export function nodeLabels(o: NodeSpecOptions): Record<string, string> {
  return { 'kubernetes.io/hostname': o.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch, ...o.labels };
}

function conditions(ready: boolean, previous: readonly NodeCondition[] | undefined, now: Date): NodeCondition[] {
  const cond = (type: string, status: string, reason: string, message: string): NodeCondition => {
    const prev = previous?.find((c) => c.type === type);
    return { type, status, reason, message, lastHeartbeatTime: stamp(now), lastTransitionTime: prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : stamp(now) };
  };
  return [
    cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    ready ? cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status') : cond('Ready', 'False', 'KubeletNotReady', 'ferry node agent stopped'),
  ];
}

export function nodeStatus(o: NodeSpecOptions, ready: boolean, previous: readonly NodeCondition[] | undefined, now: Date): NonNullable<Node['status']> {
  const resources = { cpu: o.capacity.cpu, memory: o.capacity.memory, pods: o.capacity.pods };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: conditions(ready, previous, now),
    addresses: [{ type: 'InternalIP', address: o.internalIP }, { type: 'Hostname', address: o.name }],
    daemonEndpoints: { kubeletEndpoint: { Port: o.kubeletPort ?? 0 } },
    nodeInfo: {
      architecture: process.arch === 'x64' ? 'amd64' : process.arch, operatingSystem: 'linux', kernelVersion: release(), osImage: 'Ferry lab node',
      containerRuntimeVersion: 'ferry://netns', kubeletVersion: AGENT_VERSION, kubeProxyVersion: '', bootID: '', machineID: '', systemUUID: '',
    },
  };
}

export function nodeObject(o: NodeSpecOptions, now: Date): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: o.name, labels: nodeLabels(o) },
    spec: { podCIDR: o.podCIDR, podCIDRs: [o.podCIDR], ...(o.taints.length > 0 ? { taints: [...o.taints] } : {}) },
    status: nodeStatus(o, true, undefined, now),
  };
}

/** internalIPOf reads a Node's InternalIP address. */
export function internalIPOf(n: Node): string | undefined {
  return n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}
