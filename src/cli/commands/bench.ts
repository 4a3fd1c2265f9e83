import { resolve } from 'node:path';
import { defineCommand } from '../command.ts';
import { runBench } from '../../bench/bench.ts';
import { selectSuites, SUITES } from '../../bench/suites.ts';
import { REPO_ROOT } from '../../util/repo.ts';

const repoDir = REPO_ROOT;

/** progressPrinter redraws one status line on a terminal, and prints a line every 15 s otherwise. */
function progressPrinter(): (line: string) => void {
  if (process.stderr.isTTY) return (line) => process.stderr.write(`\r\x1b[K${line}`);
  let last = 0;
  return (line) => {
    const final = / in \d+s$/.test(line);
    if (!final && Date.now() - last < 15_000) return;
    last = Date.now();
    process.stderr.write(`${line}\n`);
  };
}

export default defineCommand({
  name: 'bench',
  summary: 'Run the benchmark suites against their references; write results.json, REPORT.md and charts',
  usage: `[suite...]  (suites: ${SUITES.map((s) => s.name).join(', ')}; default all)`,
  flags: {
    quick: { type: 'boolean', default: false, help: 'smaller sizes and one run per suite (under 5 minutes in all)' },
    out: { type: 'string', help: 'output directory (default bench/results/<date>)' },
    runs: { type: 'int', help: 'runs per suite; figures are the median with min and max (default 3, quick 1)' },
  },
  async run({ flags, positionals }) {
    const suites = selectSuites(positionals);
    const outDir = resolve(flags.out ?? `bench/results/${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}`);
    const runs = flags.runs ?? (flags.quick ? 1 : 3);
    const results = await runBench(suites, { repoDir, outDir, quick: flags.quick, runs, progress: progressPrinter() });
    process.stderr.write('\n');
    process.stdout.write(`results: ${outDir}/results.json\nreport:  ${outDir}/REPORT.md\ncharts:  ${results.charts.map((c) => `${outDir}/charts/${c}.png`).join('\n         ') || '(none)'}\n`);
    return results.suites.some((s) => s.status === 'failed') ? 1 : 0;
  },
});
