import test from 'ava';
import type { Endpoint, ServicePort } from '../../../../src/endpoints/proxy-state.ts';
import { IptablesProxier } from '../../../../src/iptables/proxier.ts';
import { FakeIptables } from '../../../helpers/iptables-tracer.ts';
import { proxyConfig, proxyState } from '../../../helpers/proxy-state-fixtures.ts';
import { svc } from '../fixtures.ts';
import { remote, UPSTREAM_HOST } from './kube-proxy.ts';

// kube-proxy's TestSyncProxyRulesLargeClusterMode (source in kube-proxy.ts):
// past 1000 endpoints the KUBE-SEP rules lose their comments; crossing the
// threshold does not rewrite unchanged services until the next full sync.
//
// One step differs on purpose: upstream defers deleting a deleted service's
// chains in large-cluster mode until a sync period has passed, because finding
// stale chains costs it an iptables-save per sync. Ferry knows which chains it
// installed without reading the table (proxier.ts keeps them), so it deletes
// them in the same sync, as in any cluster; the test says so below.

const SYNC_PERIOD_MS = 30_000;
const HALF = 1000 / 2 - 1;

/** endpointRules is upstream's countEndpointsAndComments: KUBE-SEP DNAT lines, how many carry a comment, the one to `match`. */
function endpointRules(text: string, match: string): { matched: string; endpoints: number; comments: number } {
  const dnat = text.split('\n').filter((l) => l.startsWith('-A KUBE-SEP-') && l.includes('-j DNAT'));
  return { matched: dnat.find((l) => l.includes(match)) ?? '', endpoints: dnat.length, comments: dnat.filter((l) => l.includes('--comment')).length };
}

const s1 = svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] });
const s2 = svc('ns2', 'svc2', { portName: 'p8080', port: 8080, clusterIPs: ['172.30.0.42'] });
const s3 = svc('ns3', 'svc3', { portName: 'p8081', port: 8081, clusterIPs: ['172.30.0.43'] });
const s4 = svc('ns4', 'svc4', { portName: 'p8082', port: 8082, clusterIPs: ['172.30.0.44'] });
const many = (prefix: string, port: number) => Array.from({ length: HALF }, (_, i) => remote(`${prefix}.${i % 256}.${Math.floor(i / 256)}`, port));

test('TestSyncProxyRulesLargeClusterMode: comments go past 1000 endpoints, unchanged services keep theirs until a full sync', async (t) => {
  const ipt = new FakeIptables();
  let clock = 1_000_000;
  const proxier = new IptablesProxier({
    config: proxyConfig({ masqueradeAll: true, syncPeriodMs: SYNC_PERIOD_MS, iptablesBackend: 'nft' }), runner: ipt, healthHost: '127.0.0.1', now: () => clock,
    sysctl: async () => {}, // recorded nowhere: this test runs in the machine's own namespace
    host: UPSTREAM_HOST,
    metrics: { iptablesRestoreFailures: { inc() {} }, iptablesPartialRestoreFailures: { inc() {} }, iptablesRulesTotal: { set() {} }, iptablesRulesLastSync: { set() {} } },
  });
  t.teardown(() => proxier.close());
  const sync = async (entries: Array<[ServicePort, Endpoint[]]>, changed: ServicePort[]) => {
    t.true((await proxier.sync(proxyState(entries, changed.map((s) => s.key)))).ok);
    return ipt.restores.at(-1)!;
  };
  const e1: [ServicePort, Endpoint[]] = [s1, many('10.0', 80)];
  const e2: [ServicePort, Endpoint[]] = [s2, many('10.1', 8080)];
  const e3: [ServicePort, Endpoint[]] = [s3, ['203.0.113.4', '203.0.113.8', '203.0.113.12'].map((ip) => remote(ip, 8081))];
  const e4: [ServicePort, Endpoint[]] = [s4, [remote('10.4.0.1', 8082)]];

  let r = endpointRules(await sync([e1, e2, [s3, []]], [s1, s2, s3]), '10.0.0.0');
  t.is(r.matched, '-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80');
  t.deepEqual([r.endpoints, r.comments], [2 * HALF, 2 * HALF], 'below the threshold every endpoint rule has its comment');

  r = endpointRules(await sync([e1, e2, e3], [s3]), '203.0.113.4');
  t.is(r.matched, '-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081');
  t.deepEqual([r.endpoints, r.comments], [3, 0], 'the partial sync writes only svc3, without comments');

  clock += SYNC_PERIOD_MS;
  r = endpointRules(await sync([e1, e2, e3], []), '10.0.0.0');
  t.is(r.matched, '-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80');
  t.deepEqual([r.endpoints, r.comments], [2 * HALF + 3, 0], 'the full sync rewrites every service without comments');

  r = endpointRules(await sync([e1, e2, e3, e4], [s4]), '10.4.0.1');
  t.is(r.matched, '-A KUBE-SEP-SU5STNODRYEWJAUF -m tcp -p tcp -j DNAT --to-destination 10.4.0.1:8082', 'svc4 endpoint was created');
  t.is(r.endpoints, 1, 'only svc4 is written');

  const deleted = await sync([e1, e2, e3], [s4]);
  r = endpointRules(deleted, '10.4.0.1');
  t.deepEqual([r.matched, r.endpoints], ['', 0], "svc4's endpoint is not written again");
  // Upstream: no -X until a sync period has passed (see the top of this file). Ferry: at once.
  t.true(deleted.includes('-X KUBE-SVC-EBDQOQU5SJFXRIL3'), 'svc4 chain deleted');
  t.true(deleted.includes('-X KUBE-SEP-SU5STNODRYEWJAUF'), 'svc4 endpoint chain deleted');

  clock += SYNC_PERIOD_MS;
  r = endpointRules(await sync([e1, e2, e3], []), '10.0.0.0');
  t.is(r.endpoints, 2 * HALF + 3, 'a forced full sync writes every endpoint');
});
