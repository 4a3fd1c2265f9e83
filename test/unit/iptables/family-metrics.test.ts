import test from 'ava';
import { familyMetrics } from '../../../src/iptables/family-metrics.ts';

// A dual-stack node's two iptables proxiers report into one registry: the
// rule-count gauges hold both families' rules added up, per table.

test('rule gauges add both families per table; counters are shared', (t) => {
  const gauges: Record<string, Record<string, number>> = { total: {}, last: {} };
  let failures = 0;
  const metricsOf = familyMetrics({
    iptablesRestoreFailures: { inc: () => failures++ },
    iptablesPartialRestoreFailures: { inc() {} },
    iptablesRulesTotal: { set: ({ table }, v) => (gauges.total![table] = v) },
    iptablesRulesLastSync: { set: ({ table }, v) => (gauges.last![table] = v) },
  });
  const v4 = metricsOf(4);
  const v6 = metricsOf(6);
  v4.iptablesRulesTotal.set({ table: 'nat' }, 120);
  v4.iptablesRulesTotal.set({ table: 'filter' }, 8);
  v6.iptablesRulesTotal.set({ table: 'nat' }, 30);
  t.deepEqual(gauges.total, { nat: 150, filter: 8 });
  v4.iptablesRulesTotal.set({ table: 'nat' }, 100);
  t.is(gauges.total!.nat, 130, 'a family\'s new count replaces its old one');
  v6.iptablesRulesLastSync.set({ table: 'nat' }, 5);
  t.deepEqual(gauges.last, { nat: 5 });
  v6.iptablesRestoreFailures.inc();
  v4.iptablesRestoreFailures.inc();
  t.is(failures, 2);
});
