import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartSpec, renderChart } from './charts.ts';
import { describeMachine } from './machine.ts';
import { renderReport, type BenchResults } from './report-md.ts';
import { runSuite, type RunnerOptions } from './runner.ts';
import type { SuiteOutcome } from './stats.ts';
import type { SuiteDef } from './suites.ts';

/**
 * runBench runs the suites one after another (they share two cores; running
 * them together would measure each other), then writes results.json,
 * REPORT.md and every chart under `outDir`.
 */
export async function runBench(suites: readonly SuiteDef[], options: RunnerOptions): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const machine = await describeMachine();
  const outcomes: SuiteOutcome[] = [];
  for (const [i, suite] of suites.entries()) {
    const outcome = await runSuite(suite, i + 1, suites.length, options);
    options.progress(`[${i + 1}/${suites.length}] ${suite.name}: ${outcome.status}${outcome.reason ? ` (${outcome.reason.split('\n')[0]})` : ''} in ${outcome.seconds.toFixed(0)}s`);
    outcomes.push(outcome);
  }
  const charts = await writeCharts(outcomes, join(options.outDir, 'charts'));
  const results: BenchResults = { startedAt, quick: options.quick, runsPerSuite: options.runs, machine, suites: outcomes, charts };
  writeFileSync(join(options.outDir, 'results.json'), JSON.stringify(results, null, 2));
  writeFileSync(join(options.outDir, 'REPORT.md'), renderReport(results));
  return results;
}

/** writeCharts renders each chart once, with the points every suite gave it. */
async function writeCharts(outcomes: readonly SuiteOutcome[], dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const specs = new Map(outcomes.flatMap((o) => o.charts).map((c) => [c.id, c]));
  const written: string[] = [];
  for (const [id, chart] of specs) {
    const points = outcomes.flatMap((o) => o.points).filter((p) => p.chart === id);
    if (points.length === 0) continue;
    const { svg, png } = await renderChart(chartSpec(chart, points));
    writeFileSync(join(dir, `${id}.svg`), svg);
    writeFileSync(join(dir, `${id}.png`), png);
    written.push(id);
  }
  return written;
}
