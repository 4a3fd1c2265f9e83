import type { ChartSpec, Figure, Goal, Point, SuiteRun } from './result.ts';

/** Aggregate is a figure over several runs: median with min and max. */
export interface Aggregate {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

export interface AggregatedFigure extends Omit<Figure, 'value'> {
  readonly value: Aggregate;
}

export interface AggregatedPoint extends Omit<Point, 'y'> {
  readonly y: Aggregate;
}

/** SuiteOutcome is what `ferry bench` knows of one suite after all its runs. */
export interface SuiteOutcome {
  readonly suite: string;
  readonly status: 'ok' | 'failed' | 'skipped';
  /** Why it failed or was skipped (missing tool, exit code and the tail of its output). */
  readonly reason?: string;
  readonly figures: readonly AggregatedFigure[];
  readonly points: readonly AggregatedPoint[];
  readonly charts: readonly ChartSpec[];
  readonly notes: readonly string[];
  readonly seconds: number;
}

export function aggregate(values: readonly number[]): Aggregate {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** aggregateRuns merges several runs of one suite figure by figure and point by point. */
export function aggregateRuns(runs: readonly SuiteRun[]): Pick<SuiteOutcome, 'figures' | 'points' | 'charts' | 'notes'> {
  const figures = [...groupBy(runs.flatMap((r) => r.figures), (f) => f.id).values()].map((same) => ({
    ...same[0]!,
    value: aggregate(same.map((f) => f.value)),
  }));
  const points = [...groupBy(runs.flatMap((r) => r.points), (p) => `${p.chart}\u0000${p.series}\u0000${p.x}`).values()].map((same) => ({
    ...same[0]!,
    y: aggregate(same.map((p) => p.y)),
  }));
  const charts = [...new Map(runs.flatMap((r) => r.charts).map((c) => [c.id, c])).values()];
  const notes = [...new Set(runs.flatMap((r) => r.notes))];
  return { figures, points, charts, notes };
}

/** meetsGoal says whether a value reaches its goal. */
export function meetsGoal(value: number, goal: Goal): boolean {
  return goal.op === '>=' ? value >= goal.value : value <= goal.value;
}

/** percentile is the nearest-rank p-th percentile (p in 0..100] of a sample; NaN when it is empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
