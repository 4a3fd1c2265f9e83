import type { Pod } from 'kubernetes-types/core/v1.js';
import type { NodeInfo } from './node-info.ts';
import { DEFAULT_FILTERS, DEFAULT_SCORES, podState, type FilterPlugin, type ScorePlugin } from './plugins.ts';

/**
 * One scheduling cycle (kube-scheduler `schedule_one.go`): run the filters
 * over nodes starting where the last cycle stopped, stop once enough feasible
 * nodes are found (percentageOfNodesToScore), score those, pick the best
 * (ties broken at random). Pure apart from the rotating start index.
 */

export const MIN_FEASIBLE_NODES_TO_FIND = 100;
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/**
 * numFeasibleNodesToFind is kube's rule: all nodes below 100 or at ≥100 %;
 * percentage 0 means adaptive, max(50 − nodes/125, 5) %; never below 100 nodes.
 */
export function numFeasibleNodesToFind(numAllNodes: number, percentageOfNodesToScore: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND || percentageOfNodesToScore >= 100) return numAllNodes;
  let pct = percentageOfNodesToScore;
  if (pct <= 0) pct = Math.max(50 - Math.floor(numAllNodes / 125), MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
  const n = Math.floor((numAllNodes * pct) / 100);
  return Math.max(n, MIN_FEASIBLE_NODES_TO_FIND);
}

export type ScheduleResult =
  | { ok: true; node: string; evaluated: number; feasible: number }
  | { ok: false; reason: 'Unschedulable'; message: string };

export interface SchedulerOptions {
  /** 0 = adaptive (kube's default). */
  percentageOfNodesToScore: number;
  filters?: readonly FilterPlugin[];
  scores?: readonly ScorePlugin[];
  /** Random source for tie breaks; a seam for tests. */
  random?: () => number;
}

/** failureMessage is kube's FitError text: `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) ....` */
export function failureMessage(numNodes: number, reasons: ReadonlyMap<string, number>): string {
  if (numNodes === 0) return 'no nodes available to schedule pods';
  const parts = [...reasons.entries()].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${numNodes} nodes are available: ${parts.join(', ')}.`;
}

/** Scheduler keeps the rotating start index between cycles (kube's nextStartNodeIndex). */
export class Scheduler {
  private nextStart = 0;
  private readonly filters: readonly FilterPlugin[];
  private readonly scores: readonly ScorePlugin[];
  private readonly random: () => number;
  private readonly percentage: number;

  constructor(options: SchedulerOptions) {
    this.filters = options.filters ?? DEFAULT_FILTERS;
    this.scores = options.scores ?? DEFAULT_SCORES;
    this.random = options.random ?? Math.random;
    this.percentage = options.percentageOfNodesToScore;
  }

  schedule(pod: Pod, nodes: readonly NodeInfo[]): ScheduleResult {
    const s = podState(pod);
    const total = nodes.length;
    const want = numFeasibleNodesToFind(total, this.percentage);
    const feasible: NodeInfo[] = [];
    const reasons = new Map<string, number>();
    let evaluated = 0;
    for (; evaluated < total && feasible.length < want; evaluated++) {
      const n = nodes[(this.nextStart + evaluated) % total]!;
      const failed = this.runFilters(s, n);
      if (!failed) feasible.push(n);
      else for (const r of failed) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    if (total > 0) this.nextStart = (this.nextStart + evaluated) % total;
    if (feasible.length === 0) return { ok: false, reason: 'Unschedulable', message: failureMessage(total, reasons) };
    const node = feasible.length === 1 ? feasible[0]! : this.pickBest(s, feasible);
    return { ok: true, node: node.name, evaluated, feasible: feasible.length };
  }

  private runFilters(s: ReturnType<typeof podState>, n: NodeInfo): string[] | undefined {
    for (const f of this.filters) {
      const failed = f.filter(s, n);
      if (failed) return failed;
    }
    return undefined;
  }

  private pickBest(s: ReturnType<typeof podState>, feasible: readonly NodeInfo[]): NodeInfo {
    const totals = new Float64Array(feasible.length);
    const raw = new Float64Array(feasible.length);
    for (const p of this.scores) {
      if (p.skip?.(s)) continue;
      for (let i = 0; i < feasible.length; i++) raw[i] = p.score(s, feasible[i]!);
      p.normalize?.(raw);
      for (let i = 0; i < feasible.length; i++) totals[i]! += raw[i]! * p.weight;
    }
    // Reservoir pick among the best, as kube's selectHost.
    let best = 0;
    let ties = 1;
    for (let i = 1; i < feasible.length; i++) {
      if (totals[i]! > totals[best]!) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best]) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    return feasible[best]!;
  }
}
