/**
 * The nftables benchmark's printed tables, with issue 15's goals beside the
 * figures they apply to. Pure (figures in, markdown lines out) so the layout
 * is unit-tested (test/unit/bench/nftables-report.test.ts).
 */
import type { Goal } from '../../src/bench/result.ts';
import { meetsGoal, percentile } from '../../src/bench/stats.ts';

/** Issue 15's goals: at 10k × 10 unless said otherwise. */
export const GOALS = {
  fullSyncMs: new Map<number, Goal>([[10_000, { op: '<=', value: 2500 }], [30_000, { op: '<=', value: 8000 }]]),
  floorRatio: new Map<number, Goal>([[10_000, { op: '<=', value: 1.2 }]]),
  peakRssMB: new Map<number, Goal>([[10_000, { op: '<=', value: 300 }]]),
  changeMs: new Map<number, Goal>([[10_000, { op: '<=', value: 5 }]]),
  latencyP50Ms: { op: '<=', value: 30 } as Goal,
  latencyP99Ms: { op: '<=', value: 100 } as Goal,
};

/** Outcome is a measured value, or why there is none (`> 120 s` at the time limit, `failed: …`, `not run: …`). */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly text: string };

export interface FullSync {
  readonly ms: number;
  readonly peakRssMB: number;
  /** RSS before the sync began: Node, the modules and the ProxyState (0 for the floor). */
  readonly baseRssMB: number;
}

export type ProxierCell = 'nftables' | 'iptables-nft' | 'iptables-legacy';

export interface SizeRow {
  readonly services: number;
  readonly floor: Outcome<FullSync>;
  readonly full: Readonly<Record<ProxierCell, Outcome<FullSync>>>;
  /** Times of single-endpoint changes, one per change. */
  readonly change: Readonly<Record<ProxierCell, Outcome<number[]>>>;
}

export interface LatencyRow {
  readonly mode: string;
  readonly services: number;
  readonly latenciesMs: readonly number[];
  readonly missed: number;
  readonly firstSyncMs: number;
  readonly backgroundWritesPerSecond: number;
}

/** formatMs: 0.42 ms, 12.3 ms, 456 ms, 2.31 s. */
export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** withGoal appends `(goal ≤ 2.5 s ✅)` when a goal applies; `show` formats the goal's value as the figure's. */
export function withGoal(text: string, value: number, goal: Goal | undefined, show: (v: number) => string): string {
  if (!goal) return text;
  return `${text} (goal ${goal.op === '<=' ? '≤' : '≥'} ${show(goal.value)} ${meetsGoal(value, goal) ? '✅' : '❌'})`;
}

const mb = (v: number) => `${v.toFixed(0)} MB`;
const ratio = (v: number) => `${v.toFixed(2)}×`;

function outcomeText<T>(o: Outcome<T>, show: (v: T) => string): string {
  return o.ok ? show(o.value) : o.text;
}

/** changeSummary is the median of the changes and their max: `0.41 ms (max 0.93 ms)`. */
export function changeSummary(times: readonly number[]): { median: number; text: string } {
  const median = percentile(times, 50);
  return { median, text: `${formatMs(median)} (max ${formatMs(Math.max(...times))})` };
}

export function syncTable(rows: readonly SizeRow[]): string[] {
  const lines = [
    '| services × 10 | nft -f floor | nftables full sync | nftables ÷ floor | nftables peak RSS | iptables-nft full sync | iptables-legacy full sync | one change: nftables | one change: iptables-nft | one change: iptables-legacy |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const n = r.services;
    const nft = r.full.nftables;
    const floorMs = r.floor.ok ? r.floor.value.ms : undefined;
    const vsFloor = nft.ok && floorMs ? withGoal(ratio(nft.value.ms / floorMs), nft.value.ms / floorMs, GOALS.floorRatio.get(n), ratio) : '';
    const change = (cell: ProxierCell, goal?: Goal) => outcomeText(r.change[cell], (t) => {
      const s = changeSummary(t);
      return withGoal(s.text, s.median, goal, formatMs);
    });
    lines.push(`| ${n.toLocaleString('en-US')} | ${outcomeText(r.floor, (v) => `${formatMs(v.ms)} (nft ${mb(v.peakRssMB)})`)} | ${outcomeText(nft, (v) => withGoal(formatMs(v.ms), v.ms, GOALS.fullSyncMs.get(n), formatMs))} | ${vsFloor} | ${nft.ok ? withGoal(`${mb(nft.value.peakRssMB)} (${mb(nft.value.baseRssMB)} before)`, nft.value.peakRssMB, GOALS.peakRssMB.get(n), mb) : ''} | ${outcomeText(r.full['iptables-nft'], (v) => formatMs(v.ms))} | ${outcomeText(r.full['iptables-legacy'], (v) => formatMs(v.ms))} | ${change('nftables', GOALS.changeMs.get(n))} | ${change('iptables-nft')} | ${change('iptables-legacy')} |`);
  }
  return lines;
}

export function latencyTable(rows: readonly LatencyRow[]): string[] {
  const lines = [
    '| mode | background services × 10 | switches (over 10 s) | API write → new endpoint answers p50 | p99 | max | proxy start → probe answers | background writes/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const goals = r.mode === 'nftables';
    const p50 = percentile(r.latenciesMs, 50);
    const p99 = percentile(r.latenciesMs, 99);
    const seen = `${r.latenciesMs.length} (${r.missed})`;
    lines.push(`| ${r.mode} | ${r.services.toLocaleString('en-US')} | ${seen} | ${withGoal(formatMs(p50), p50, goals ? GOALS.latencyP50Ms : undefined, formatMs)} | ${withGoal(formatMs(p99), p99, goals ? GOALS.latencyP99Ms : undefined, formatMs)} | ${formatMs(Math.max(...r.latenciesMs))} | ${formatMs(r.firstSyncMs)} | ${r.backgroundWritesPerSecond.toFixed(1)} |`);
  }
  return lines;
}
