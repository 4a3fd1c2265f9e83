import type { MachineInfo } from './machine.ts';
import { meetsGoal, type AggregatedFigure, type SuiteOutcome } from './stats.ts';

/** BenchResults is everything one `ferry bench` run found; it is written as results.json. */
export interface BenchResults {
  readonly startedAt: string;
  readonly quick: boolean;
  readonly runsPerSuite: number;
  readonly machine: MachineInfo;
  readonly suites: readonly SuiteOutcome[];
  /** Chart ids rendered, as `charts/<id>.svg` and `.png` beside the report. */
  readonly charts: readonly string[];
}

function num(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 0.1) return v.toFixed(3);
  return v.toPrecision(3);
}

function goalCell(f: AggregatedFigure): string {
  if (!f.goal) return '';
  const ok = meetsGoal(f.value.median, f.goal);
  return `${f.goal.op} ${num(f.goal.value)} ${ok ? '✅' : '❌'}`;
}

function referenceCell(f: AggregatedFigure, byId: Map<string, AggregatedFigure>): string {
  const ref = f.referenceId ? byId.get(f.referenceId) : undefined;
  if (!ref || ref.value.median === 0) return '';
  return `${(f.value.median / ref.value.median).toFixed(2)}× ${ref.label}`;
}

function suiteSection(s: SuiteOutcome): string[] {
  const lines = [`## ${s.suite}`, ''];
  if (s.status !== 'ok') {
    lines.push(`**${s.status.toUpperCase()}**: ${s.reason ?? 'no reason given'}`, '');
  }
  if (s.figures.length > 0) {
    const byId = new Map(s.figures.map((f) => [f.id, f]));
    lines.push('| figure | median | min | max | unit | goal | vs reference |', '|---|---:|---:|---:|---|---|---|');
    for (const f of s.figures) {
      lines.push(`| ${f.label} | ${num(f.value.median)} | ${num(f.value.min)} | ${num(f.value.max)} | ${f.unit} | ${goalCell(f)} | ${referenceCell(f, byId)} |`);
    }
    lines.push('');
  }
  for (const n of s.notes) lines.push(`- ${n}`);
  if (s.notes.length > 0) lines.push('');
  lines.push(`_${s.seconds.toFixed(0)} s wall time._`, '');
  return lines;
}

/** renderReport writes REPORT.md: machine, a summary of every suite, each suite's table, the charts. */
export function renderReport(results: BenchResults): string {
  const m = results.machine;
  const lines = [
    '# Ferry benchmark report',
    '',
    `Run ${results.startedAt}${results.quick ? ' (quick sizes)' : ''}, ${results.runsPerSuite} run(s) per suite; each figure is the median with min and max over the runs.`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}.`,
    '',
    '| tool | version |',
    '|---|---|',
    ...Object.entries(m.tools).map(([tool, version]) => `| ${tool} | ${version} |`),
    '',
    '| suite | status | goals met | wall time |',
    '|---|---|---|---:|',
    ...results.suites.map((s) => {
      const withGoal = s.figures.filter((f) => f.goal);
      const met = withGoal.filter((f) => meetsGoal(f.value.median, f.goal!)).length;
      return `| ${s.suite} | ${s.status}${s.reason && s.status !== 'ok' ? `: ${s.reason.split('\n')[0]}` : ''} | ${withGoal.length ? `${met}/${withGoal.length}` : ''} | ${s.seconds.toFixed(0)} s |`;
    }),
    '',
    ...results.suites.flatMap(suiteSection),
  ];
  if (results.charts.length > 0) {
    lines.push('## Charts', '');
    for (const id of results.charts) lines.push(`![${id}](charts/${id}.png)`, '');
  }
  return lines.join('\n');
}
