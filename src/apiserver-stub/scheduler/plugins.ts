import type { NodeSelectorRequirement, NodeSelectorTerm, Pod, PreferredSchedulingTerm, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { hostPortKeys, ownerKey, type NodeInfo } from './node-info.ts';
import { podRequests, type Resources } from './resources.ts';

/**
 * Filter and score plugins, named and weighted as kube-scheduler's defaults
 * (`pkg/scheduler/framework/plugins`, `apis/config/v1/default_plugins.go`).
 * A filter answers undefined when the node fits, else the reasons it does
 * not, worded as kube words them (they end up in the pod's PodScheduled
 * condition). A score plugin gives 0..100 after its normalisation.
 */

/** PodState is what the filters need from the pod, computed once per attempt (kube's PreFilter). */
export interface PodState {
  pod: Pod;
  requests: Resources;
  nonZero: Resources;
  hostPorts: string[];
  owner: string | undefined;
  tolerations: readonly Toleration[];
  nodeSelector: Readonly<Record<string, string>> | undefined;
  requiredTerms: readonly NodeSelectorTerm[] | undefined;
  preferredTerms: readonly PreferredSchedulingTerm[];
}

export function podState(pod: Pod): PodState {
  const affinity = pod.spec?.affinity?.nodeAffinity;
  return {
    pod,
    requests: podRequests(pod),
    nonZero: podRequests(pod, true),
    hostPorts: hostPortKeys(pod),
    owner: ownerKey(pod),
    tolerations: pod.spec?.tolerations ?? [],
    nodeSelector: pod.spec?.nodeSelector,
    requiredTerms: affinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
    preferredTerms: affinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [],
  };
}

export interface FilterPlugin {
  readonly name: string;
  filter(s: PodState, n: NodeInfo): string[] | undefined;
}

export interface ScorePlugin {
  readonly name: string;
  readonly weight: number;
  /** score returns a raw score; normalize (if any) maps the feasible nodes' raw scores to 0..100. */
  score(s: PodState, n: NodeInfo): number;
  normalize?(scores: Float64Array): void;
  /** skip tells (kube's PreScore Skip) that the plugin would give every node the same score for this pod. */
  skip?(s: PodState): boolean;
}

/** tolerates is kube's Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if (!t.key && t.operator !== 'Exists') return false;
  return (t.value ?? '') === (taint.value ?? '');
}

const tolerated = (tols: readonly Toleration[], taint: Taint) => tols.some((t) => tolerates(t, taint));

export const NodeUnschedulable: FilterPlugin = {
  name: 'NodeUnschedulable',
  filter(s, n) {
    if (!n.unschedulable) return undefined;
    if (tolerated(s.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) return undefined;
    return ['node(s) were unschedulable'];
  },
};

export const NodeName: FilterPlugin = {
  name: 'NodeName',
  filter(s, n) {
    const want = s.pod.spec?.nodeName;
    return want && want !== n.name ? ["node(s) didn't match the requested node name"] : undefined;
  },
};

/** matchRequirement is one NodeSelectorRequirement (In, NotIn, Exists, DoesNotExist, Gt, Lt). */
export function matchRequirement(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const v = Number(value);
      const bound = Number(values[0]);
      if (value === undefined || !Number.isInteger(v) || !Number.isInteger(bound)) return false;
      return r.operator === 'Gt' ? v > bound : v < bound;
    }
    default:
      return false;
  }
}

/** matchTerm: every expression on labels and every field (metadata.name) must hold; an empty term matches nothing. */
export function matchTerm(term: NodeSelectorTerm, n: NodeInfo): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  return exprs.every((r) => matchRequirement(r, n.labels[r.key])) && fields.every((r) => matchRequirement(r, r.key === 'metadata.name' ? n.name : undefined));
}

export const NodeAffinity: FilterPlugin & ScorePlugin = {
  name: 'NodeAffinity',
  weight: 2,
  filter(s, n) {
    const sel = s.nodeSelector;
    if (sel) for (const k in sel) if (n.labels[k] !== sel[k]) return ["node(s) didn't match Pod's node affinity/selector"];
    if (s.requiredTerms && !s.requiredTerms.some((t) => matchTerm(t, n))) return ["node(s) didn't match Pod's node affinity/selector"];
    return undefined;
  },
  score(s, n) {
    let total = 0;
    for (const p of s.preferredTerms) if (p.weight !== 0 && matchTerm(p.preference, n)) total += p.weight;
    return total;
  },
  normalize: normalizeToMax,
  skip: (s) => s.preferredTerms.length === 0,
};

function untoleratedTaint(s: PodState, n: NodeInfo): Taint | undefined {
  return n.taints.find((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerated(s.tolerations, t));
}

export const TaintToleration: FilterPlugin & ScorePlugin = {
  name: 'TaintToleration',
  weight: 3,
  filter(s, n) {
    if (n.taints.length === 0) return undefined;
    const t = untoleratedTaint(s, n);
    return t ? [`node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`] : undefined;
  },
  // Fewer intolerable PreferNoSchedule taints score higher.
  score(s, n) {
    let count = 0;
    for (const t of n.taints) if (t.effect === 'PreferNoSchedule' && !tolerated(s.tolerations, t)) count++;
    return count;
  },
  normalize: (scores) => normalizeToMax(scores, true),
};

export const NodePorts: FilterPlugin = {
  name: 'NodePorts',
  filter(s, n) {
    for (const key of s.hostPorts) {
      const [proto, ip, port] = key.split('/');
      const wild = ip === '0.0.0.0';
      for (const used of n.usedPorts.keys()) {
        const [uproto, uip, uport] = used.split('/');
        if (uproto === proto && uport === port && (wild || uip === '0.0.0.0' || uip === ip)) return ["node(s) didn't have free ports for the requested pod ports"];
      }
    }
    return undefined;
  },
};

export const NodeResourcesFit: FilterPlugin & ScorePlugin = {
  name: 'NodeResourcesFit',
  weight: 1,
  filter(s, n) {
    const a = n.allocatable;
    const r = n.requested;
    let reasons: string[] | undefined;
    if (r.pods + 1 > a.pods) (reasons ??= []).push('Too many pods');
    if (s.requests.milliCPU > 0 && r.milliCPU + s.requests.milliCPU > a.milliCPU) (reasons ??= []).push('Insufficient cpu');
    if (s.requests.memory > 0 && r.memory + s.requests.memory > a.memory) (reasons ??= []).push('Insufficient memory');
    return reasons;
  },
  // LeastAllocated: the share of cpu and memory left after placing the pod, averaged.
  score(s, n) {
    const a = n.allocatable;
    const cpu = a.milliCPU > 0 ? Math.max(0, a.milliCPU - n.nonZeroRequested.milliCPU - s.nonZero.milliCPU) / a.milliCPU : 0;
    const mem = a.memory > 0 ? Math.max(0, a.memory - n.nonZeroRequested.memory - s.nonZero.memory) / a.memory : 0;
    return ((cpu + mem) / 2) * 100;
  },
};

export const NodeResourcesBalancedAllocation: ScorePlugin = {
  name: 'NodeResourcesBalancedAllocation',
  weight: 1,
  // Nodes whose cpu and memory would be used in equal shares score higher (1 − standard deviation).
  score(s, n) {
    const a = n.allocatable;
    const cpu = a.milliCPU > 0 ? Math.min(1, (n.nonZeroRequested.milliCPU + s.nonZero.milliCPU) / a.milliCPU) : 1;
    const mem = a.memory > 0 ? Math.min(1, (n.nonZeroRequested.memory + s.nonZero.memory) / a.memory) : 1;
    return (1 - Math.abs(cpu - mem) / 2) * 100;
  },
};

/**
 * PodTopologySpread with kube's system-default constraint on
 * `kubernetes.io/hostname` (ScheduleAnyway): nodes running fewer pods of the
 * same controller score higher, so replicas spread over nodes.
 */
export const PodTopologySpread: ScorePlugin = {
  name: 'PodTopologySpread',
  weight: 2,
  score(s, n) {
    return s.owner ? (n.ownerCounts.get(s.owner) ?? 0) : 0;
  },
  normalize: (scores) => normalizeToMax(scores, true),
  skip: (s) => s.owner === undefined,
};

/** normalizeToMax is kube's DefaultNormalizeScore: scale so the best raw score is 100 (reversed: the lowest). */
export function normalizeToMax(scores: Float64Array, reverse = false): void {
  let max = 0;
  for (const v of scores) if (v > max) max = v;
  for (let i = 0; i < scores.length; i++) {
    if (max === 0) scores[i] = reverse ? 100 : 0;
    else scores[i] = reverse ? 100 - (scores[i]! * 100) / max : (scores[i]! * 100) / max;
  }
}

/** Default plugin sets, in kube's order. */
export const DEFAULT_FILTERS: readonly FilterPlugin[] = [NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit];
export const DEFAULT_SCORES: readonly ScorePlugin[] = [TaintToleration, NodeAffinity, NodeResourcesFit, PodTopologySpread, NodeResourcesBalancedAllocation];
