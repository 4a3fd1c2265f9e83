import { Counter, type Registry } from 'prom-client';
import { NfacctNetlink } from '../netlink/nfacct.ts';
import { createLogger } from '../util/log.ts';
import { NFACCT_COUNTERS, NFACCT_CT_STATE_INVALID_DROPPED, NFACCT_LOCALHOST_NODEPORTS_ACCEPTED } from './host-features.ts';

const log = createLogger('iptables');

/**
 * ensureNfacctCounters makes kube-proxy's nfacct counters in this network
 * namespace at start, as its NewProxier does, and returns those that exist:
 * the rules count into them only then (a rule naming a missing counter fails
 * the restore). A kernel without nfnetlink_acct gives none, and the rules go
 * without counting, as kube-proxy's do there.
 */
export async function ensureNfacctCounters(): Promise<ReadonlySet<string>> {
  const ensured = new Set<string>();
  let nfacct: NfacctNetlink;
  try {
    nfacct = NfacctNetlink.open();
  } catch (e) {
    log.warn('nfacct is not available: the nfacct based metrics will not be counted', { err: (e as Error).message });
    return ensured;
  }
  try {
    for (const name of NFACCT_COUNTERS) {
      try {
        await nfacct.ensure(name);
        ensured.add(name);
      } catch (e) {
        log.warn('Failed to create nfacct counter; the corresponding metric will not be updated', { counter: name, err: (e as Error).message });
      }
    }
  } finally {
    nfacct.close();
  }
  return ensured;
}

/** The metrics kube-proxy publishes from its nfacct counters. */
const NFACCT_METRICS = [
  { counter: NFACCT_CT_STATE_INVALID_DROPPED, name: 'kubeproxy_iptables_ct_state_invalid_dropped_packets_total', help: 'packets dropped by iptables to work around conntrack problems' },
  { counter: NFACCT_LOCALHOST_NODEPORTS_ACCEPTED, name: 'kubeproxy_iptables_localhost_nodeports_accepted_packets_total', help: 'Number of packets accepted on nodeports of loopback interface' },
];

/**
 * registerNfacctMetrics publishes the packet count of each counter that
 * exists, read from the kernel at every scrape. A read that fails keeps the
 * last value (kube-proxy's collector then skips the sample).
 */
export function registerNfacctMetrics(registry: Registry, counters: ReadonlySet<string>): void {
  for (const m of NFACCT_METRICS) {
    if (!counters.has(m.counter)) continue;
    new Counter({
      name: m.name, help: m.help, registers: [registry],
      async collect() {
        const nfacct = NfacctNetlink.open();
        try {
          const c = await nfacct.get(m.counter);
          if (!c) return;
          this.reset();
          this.inc(Number(c.packets));
        } catch (e) {
          log.warn('Failed to read nfacct counter', { counter: m.counter, err: (e as Error).message });
        } finally {
          nfacct.close();
        }
      },
    });
  }
}
