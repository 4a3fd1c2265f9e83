import test from 'ava';
import { percentile } from '../../../src/bench/stats.ts';
import { changeSummary, formatMs, latencyTable, syncTable, withGoal, type SizeRow } from '../../../scripts/bench/nftables.report.ts';

test('percentile is nearest-rank and NaN for no samples', (t) => {
  const xs = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
  t.is(percentile(xs, 50), 5);
  t.is(percentile(xs, 99), 10);
  t.is(percentile(xs, 10), 1);
  t.is(percentile([42], 99), 42);
  t.true(Number.isNaN(percentile([], 50)));
});

test('formatMs picks a precision by magnitude', (t) => {
  t.is(formatMs(0.4234), '0.42 ms');
  t.is(formatMs(12.34), '12.3 ms');
  t.is(formatMs(456.7), '457 ms');
  t.is(formatMs(2314), '2.31 s');
});

test('withGoal marks a goal met or missed, in the figure\'s own unit', (t) => {
  t.is(withGoal('2.31 s', 2314, { op: '<=', value: 2500 }, formatMs), '2.31 s (goal ≤ 2.50 s ✅)');
  t.is(withGoal('3.10 s', 3100, { op: '<=', value: 2500 }, formatMs), '3.10 s (goal ≤ 2.50 s ❌)');
  t.is(withGoal('3.10 s', 3100, undefined, formatMs), '3.10 s');
});

test('changeSummary gives the median and the max', (t) => {
  const s = changeSummary([0.3, 0.5, 0.4, 2.1, 0.45]);
  t.is(s.median, 0.45);
  t.is(s.text, '0.45 ms (max 2.10 ms)');
});

const row = (services: number, nftMs: number): SizeRow => ({
  services,
  floor: { ok: true, value: { ms: 2000, peakRssMB: 398, baseRssMB: 0 } },
  full: {
    nftables: { ok: true, value: { ms: nftMs, peakRssMB: 250, baseRssMB: 90 } },
    'iptables-nft': { ok: false, text: '> 120 s' },
    'iptables-legacy': { ok: true, value: { ms: 8400, peakRssMB: 900, baseRssMB: 100 } },
  },
  change: {
    nftables: { ok: true, value: [0.3, 0.4, 0.5] },
    'iptables-nft': { ok: false, text: 'not run' },
    'iptables-legacy': { ok: true, value: [2200, 2300, 2100] },
  },
});

test('syncTable puts the 10k goals beside the nftables figures only, and says when a run hit the limit', (t) => {
  const [header, , at1k, at10k] = syncTable([row(1000, 300), row(10_000, 2600)]);
  t.is(header!.split('|').length - 2, 10, 'ten columns');
  t.notRegex(at1k!, /goal/, 'no goal is stated at 1k');
  const cells = at10k!.split('|').map((c) => c.trim());
  t.is(cells[1], '10,000');
  t.is(cells[2], '2.00 s (nft 398 MB)');
  t.is(cells[3], '2.60 s (goal ≤ 2.50 s ❌)');
  t.is(cells[4], '1.30× (goal ≤ 1.20× ❌)');
  t.is(cells[5], '250 MB (90 MB before) (goal ≤ 300 MB ✅)');
  t.is(cells[6], '> 120 s');
  t.is(cells[7], '8.40 s');
  t.is(cells[8], '0.40 ms (max 0.50 ms) (goal ≤ 5.00 ms ✅)');
  t.is(cells[9], 'not run');
  t.is(cells[10], '2.20 s (max 2.30 s)');
});

test('latencyTable states p50/p99 with the goals for nftables, and counts slow switches', (t) => {
  const latencies = Array.from({ length: 30 }, (_, i) => i + 1);
  const [, , nft, ipt] = latencyTable([
    { mode: 'nftables', services: 10_000, latenciesMs: latencies, missed: 0, firstSyncMs: 3200, backgroundWritesPerSecond: 9.8 },
    { mode: 'iptables-nft', services: 1000, latenciesMs: [12_000, 150], missed: 1, firstSyncMs: 4800, backgroundWritesPerSecond: 9.7 },
  ]);
  const cells = nft!.split('|').map((c) => c.trim());
  t.deepEqual(cells.slice(1, 9), ['nftables', '10,000', '30 (0)', '15.0 ms (goal ≤ 30.0 ms ✅)', '30.0 ms (goal ≤ 100 ms ✅)', '30.0 ms', '3.20 s', '9.8']);
  t.notRegex(ipt!, /goal/);
  t.regex(ipt!, /\| 2 \(1\) \| 150 ms \| 12.00 s \|/);
});
