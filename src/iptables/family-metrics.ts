import type { IPFamily } from '../endpoints/node-port-addresses.ts';
import { familySum } from '../endpoints/metrics.ts';
import type { IptablesMetrics } from './proxier.ts';

type RuleGauge = IptablesMetrics['iptablesRulesTotal'];

/**
 * familyMetrics gives each family's proxier of a dual-stack node its view of
 * the process's one metrics registry: the rule-count gauges
 * (kubeproxy_sync_proxy_rules_iptables_total and _last) report both
 * families' rules added up, per table, instead of whichever proxier synced
 * last; the failure counters are shared as they are.
 */
export function familyMetrics(metrics: IptablesMetrics): (family: IPFamily) => IptablesMetrics {
  const summed = (gauge: RuleGauge) => {
    const add = familySum((table, total) => gauge.set({ table }, total));
    return (family: IPFamily): RuleGauge => ({ set: ({ table }, value) => add(family, table, value) });
  };
  const total = summed(metrics.iptablesRulesTotal);
  const lastSync = summed(metrics.iptablesRulesLastSync);
  return (family) => ({
    iptablesRestoreFailures: metrics.iptablesRestoreFailures,
    iptablesPartialRestoreFailures: metrics.iptablesPartialRestoreFailures,
    iptablesRulesTotal: total(family),
    iptablesRulesLastSync: lastSync(family),
  });
}
