import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aggregate, aggregateRuns } from '../../../src/bench/stats.ts';
import { runBench } from '../../../src/bench/bench.ts';
import { chartSpec } from '../../../src/bench/charts.ts';
import { runSuite } from '../../../src/bench/runner.ts';
import type { SuiteRun } from '../../../src/bench/result.ts';
import type { SuiteDef } from '../../../src/bench/suites.ts';

test('aggregate gives median, min and max', (t) => {
  t.deepEqual(aggregate([3, 1, 2]), { median: 2, min: 1, max: 3, runs: 3 });
  t.deepEqual(aggregate([4, 1, 2, 3]), { median: 2.5, min: 1, max: 4, runs: 4 });
});

test('aggregateRuns merges figures and points by id', (t) => {
  const run = (v: number): SuiteRun => ({
    suite: 's',
    figures: [{ id: 'qps', label: 'QPS', value: v, unit: 'q/s' }],
    points: [{ chart: 'c', series: 'ferry', x: 10, y: v }],
    charts: [{ id: 'c', title: 'C', xTitle: 'x', yTitle: 'y', kind: 'line' }],
    notes: ['n'],
  });
  const agg = aggregateRuns([run(1), run(5), run(3)]);
  t.deepEqual(agg.figures[0]!.value, { median: 3, min: 1, max: 5, runs: 3 });
  t.deepEqual(agg.points[0]!.y, { median: 3, min: 1, max: 5, runs: 3 });
  t.deepEqual(agg.notes, ['n']);
});

// A fake repo with three suites: one that measures, one that fails, one whose
// required program is missing, plus one with no script: the report says which,
// and the working suite's figures and chart are still written.
test('runBench reports failures and missing tools and still writes results, report and charts', async (t) => {
  const repo = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
  t.teardown(() => rmSync(repo, { recursive: true, force: true }));
  mkdirSync(join(repo, 'scripts', 'bench'), { recursive: true });
  const good: SuiteRun = {
    suite: 'good',
    figures: [
      { id: 'qps', label: 'Ferry QPS', value: 90, unit: 'q/s', goal: { op: '>=', value: 100 }, referenceId: 'ref' },
      { id: 'ref', label: 'reference QPS', value: 100, unit: 'q/s' },
    ],
    points: [
      { chart: 'qps', series: 'ferry', x: 'udp', y: 90 },
      { chart: 'qps', series: 'reference', x: 'udp', y: 100 },
    ],
    charts: [{ id: 'qps', title: 'QPS by tool', xTitle: 'transport', yTitle: 'queries/s', kind: 'bar' }],
    notes: [],
  };
  const script = (name: string, body: string) => {
    writeFileSync(join(repo, 'scripts', 'bench', name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(repo, 'scripts', 'bench', name), 0o755);
  };
  script('good', `cat > "$FERRY_BENCH_OUT" <<'EOF'\n${JSON.stringify(good)}\nEOF`);
  script('bad', 'echo "backend exploded" >&2; exit 3');
  script('needy', 'exit 0');
  const suites: SuiteDef[] = [
    { name: 'good', description: '', requires: [], timeoutMs: { quick: 10_000, full: 10_000 } },
    { name: 'bad', description: '', requires: [], timeoutMs: { quick: 10_000, full: 10_000 } },
    { name: 'needy', description: '', requires: ['no-such-program-ferry'], timeoutMs: { quick: 10_000, full: 10_000 } },
    { name: 'absent', description: '', requires: [], timeoutMs: { quick: 10_000, full: 10_000 } },
  ];
  const outDir = join(repo, 'out');
  const results = await runBench(suites, { repoDir: repo, outDir, quick: true, runs: 2, progress: () => {} });
  t.deepEqual(results.suites.map((s) => s.status), ['ok', 'failed', 'skipped', 'skipped']);
  t.regex(results.suites[1]!.reason!, /exit 3[\s\S]*backend exploded/);
  t.regex(results.suites[2]!.reason!, /missing: no-such-program-ferry/);
  const report = readFileSync(join(outDir, 'REPORT.md'), 'utf8');
  t.regex(report, /\| Ferry QPS \| 90 \| 90 \| 90 \| q\/s \| >= 100 ❌ \| 0\.90× reference QPS \|/);
  t.regex(report, /\| bad \| failed: run 1: exit 3/);
  const png = readFileSync(join(outDir, 'charts', 'qps.png'));
  t.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  const svg = readFileSync(join(outDir, 'charts', 'qps.svg'), 'utf8');
  t.true(svg.includes('queries/s') && svg.includes('transport') && svg.includes('reference'), 'axes titles and legend are drawn');
  t.true(existsSync(join(outDir, 'results.json')));
});

test('chartSpec puts a log x axis\'s ticks at the measured sizes and never cuts legend labels', (t) => {
  const y = { median: 1, min: 1, max: 1, runs: 1 };
  const points = [1000, 100, 10_000].map((x) => ({ chart: 'c', series: 'ipvsadm --restore (UML)', x, y }));
  const spec = chartSpec({ id: 'c', title: 'C', xTitle: 'services', yTitle: 'ms', kind: 'line', logX: true }, points) as unknown as { layer: Array<{ encoding: { x: { scale: { type: string }; axis: { values: number[] } }; color: { legend: { labelLimit: number } } } }> };
  const enc = spec.layer[0]!.encoding;
  t.is(enc.x.scale.type, 'log');
  t.deepEqual(enc.x.axis.values, [100, 1000, 10_000]);
  t.is(enc.color.legend.labelLimit, 0);
});

// A suite that outlives its time limit is stopped with SIGTERM first, so lab
// suites can remove their namespaces, and is reported as timed out.
test('runSuite stops a suite past its time limit with SIGTERM and reports the timeout', async (t) => {
  const repo = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
  t.teardown(() => rmSync(repo, { recursive: true, force: true }));
  mkdirSync(join(repo, 'scripts', 'bench'), { recursive: true });
  const marker = join(repo, 'cleaned-up');
  const path = join(repo, 'scripts', 'bench', 'slow');
  writeFileSync(path, `#!/bin/bash\ntrap 'touch ${marker}; exit 1' TERM\nsleep 30 & wait\n`);
  chmodSync(path, 0o755);
  const suite: SuiteDef = { name: 'slow', description: '', requires: [], timeoutMs: { quick: 500, full: 500 } };
  const outcome = await runSuite(suite, 1, 1, { repoDir: repo, outDir: join(repo, 'out'), quick: true, runs: 1, progress: () => {} });
  t.is(outcome.status, 'failed');
  t.regex(outcome.reason!, /timed out after 0\.5 s/);
  t.true(existsSync(marker), 'the suite got SIGTERM and ran its cleanup');
});
