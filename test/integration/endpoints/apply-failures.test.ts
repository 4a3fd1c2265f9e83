/**
 * Issue 19: a rule apply that fails is a sync failure, never a crash. The
 * nftables and iptables proxiers run in the real ProxyLoop against the
 * project's apiserver, with the real metrics and /healthz server; only the
 * kernel is replaced, by runners that refuse on demand (the nftables one as
 * `nft -f` refuses a transaction, the iptables one as iptables-restore
 * refuses a line). A refusal is counted by the loop and by the mode's
 * kube-proxy counter, retried after the sync period as a full sync, and the
 * rules end up applied; refusals that go on past 2x the sync period turn
 * /healthz 503 until an apply succeeds.
 */
import test, { type ExecutionContext } from 'ava';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { ProxierHealth, healthzHandler } from '../../../src/endpoints/healthz.ts';
import { listenHttp } from '../../../src/endpoints/http-server.ts';
import { ProxyMetrics } from '../../../src/endpoints/metrics.ts';
import type { Proxier } from '../../../src/endpoints/proxier.ts';
import { ProxyLoop } from '../../../src/endpoints/proxy-loop.ts';
import { IptablesProxier } from '../../../src/iptables/proxier.ts';
import { NftError } from '../../../src/nftables/errors.ts';
import { NftablesProxier } from '../../../src/nftables/proxier.ts';
import type { NftRunner } from '../../../src/nftables/runner.ts';
import { FakeIptables } from '../../helpers/iptables-tracer.ts';
import { proxyConfig } from '../../helpers/proxy-state-fixtures.ts';
import { TestApiserver, serviceObject, sliceObject, until } from './fixtures.ts';

const SYNC_PERIOD_MS = 400;
// The retry test's period: long enough that no periodic sync falls between the change and its refused sync on a busy machine
// (a request arriving during a failed sync rightly runs sooner than the retry, as kube-proxy's RetryAfter allows).
const RETRY_SYNC_PERIOD_MS = 2000;

/** RefusingNft takes transactions as nft does, and refuses while `refusals` is above 0 (or always, at -1). */
class RefusingNft implements NftRunner {
  readonly kind = 'nft' as const;
  readonly applied: string[] = [];
  attempts = 0;
  refusals = 0;
  #tableLoaded = false;

  async run(text: string): Promise<string> {
    this.attempts++;
    if (this.refusals !== 0) {
      if (this.refusals > 0) this.refusals--;
      throw new NftError('nft transaction failed', 'Error: Could not process rule: No buffer space available');
    }
    this.applied.push(text);
    this.#tableLoaded = true;
    return '';
  }

  async addElements(): Promise<void> {}
  async check(): Promise<void> {}
  async chainRules(): Promise<number> {
    return this.#tableLoaded ? 1 : 0;
  }
  close(): void {}
}

/** RefusingIptables is the tracer's stateful fake with refusals as RefusingNft's. */
class RefusingIptables extends FakeIptables {
  attempts = 0;
  refusals = 0;
  override async restore(text: string): Promise<void> {
    this.attempts++;
    if (this.refusals !== 0) {
      if (this.refusals > 0) this.refusals--;
      this.failNextRestore = 1;
    }
    return super.restore(text);
  }
}

interface Mode {
  readonly name: 'nftables' | 'iptables';
  readonly counter: RegExp;
  build(metrics: ProxyMetrics, syncPeriodMs: number): { proxier: Proxier; runner: { attempts: number; refusals: number }; programmed: (ip: string) => boolean };
}

const modes: Mode[] = [
  {
    name: 'nftables',
    counter: /kubeproxy_sync_proxy_rules_nftables_sync_failures_total (\d+)/,
    build(metrics, syncPeriodMs) {
      const runner = new RefusingNft();
      const proxier = new NftablesProxier({
        config: proxyConfig({ mode: 'nftables', syncPeriodMs }),
        family: 4,
        runner,
        metrics: { syncFailures: metrics.nftablesSyncFailures, tableRepairs: metrics.nftablesTableRepairs, elements: metrics.nftablesElements },
        healthHost: '127.0.0.1',
        now: Date.now,
        nodeIPs: () => ['192.168.0.2'],
      });
      return { proxier, runner, programmed: (ip) => runner.applied.some((text) => text.includes(ip)) };
    },
  },
  {
    name: 'iptables',
    counter: /kubeproxy_sync_proxy_rules_iptables_restore_failures_total (\d+)/,
    build(metrics, syncPeriodMs) {
      const runner = new RefusingIptables();
      const proxier = new IptablesProxier({
        config: proxyConfig({ mode: 'iptables', nodeName: 'node-a', syncPeriodMs, clusterCIDRs: ['10.0.0.0/8'], iptablesBackend: 'nft' }),
        runner,
        metrics,
        healthHost: '127.0.0.1',
        now: Date.now,
        sysctl: async () => {},
        host: { randomFully: true, conntrackTCPLiberal: false },
      });
      return { proxier, runner, programmed: (ip) => runner.restores.some((text) => text.includes(ip)) };
    },
  },
];

async function setup(t: ExecutionContext, mode: Mode, syncPeriodMs = SYNC_PERIOD_MS) {
  const api = new TestApiserver('memory');
  await api.start();
  const client = new ApiClient({ server: api.url });
  const metrics = new ProxyMetrics();
  const { proxier, runner, programmed } = mode.build(metrics, syncPeriodMs);
  const health = new ProxierHealth({ healthTimeoutMs: 2 * syncPeriodMs });
  const healthz = await listenHttp({ host: '127.0.0.1', port: 0 }, healthzHandler(health, metrics));
  const loop = new ProxyLoop({ client, proxier, nodeName: 'node-a', configSyncPeriodMs: 0, metrics, health, minSyncPeriodMs: 50, syncPeriodMs });
  t.teardown(async () => {
    await loop.stop();
    await healthz.close();
    await proxier.close();
    await client.close();
    await api.destroy();
  });
  const counters = async () => {
    const text = await metrics.registry.metrics();
    return { loop: Number(/ferry_proxy_sync_failures_total (\d+)/.exec(text)?.[1]), mode: Number(mode.counter.exec(text)?.[1]) };
  };
  const fullSyncs = async () => Number(/kubeproxy_sync_full_proxy_rules_duration_seconds_count (\d+)/.exec(await metrics.registry.metrics())?.[1]);
  const healthzCode = async () => (await fetch(`http://${healthz.address}/healthz`)).status;
  return { client, loop, runner, programmed, counters, fullSyncs, healthzCode };
}

const ports = [{ name: 'http', port: 80, protocol: 'TCP' as const }];

for (const mode of modes) {
  test(`${mode.name}: an apply refused once is a counted sync failure, retried as a full sync that programs the change`, async (t) => {
    const { client, loop, runner, programmed, counters, fullSyncs, healthzCode } = await setup(t, mode, RETRY_SYNC_PERIOD_MS);
    await client.create(resources.services, serviceObject('default', 'web', ports));
    loop.start();
    await until(() => loop.lastState !== undefined, 10_000, () => 'first sync');
    t.is(await healthzCode(), 200);
    const fullBefore = await fullSyncs();

    runner.refusals = 1;
    const attemptsBefore = runner.attempts;
    const changedAt = Date.now();
    await client.create(resources.endpointslices, sliceObject('default', 'web', 'web-1', ports, [{ ip: '10.3.0.7', ready: true, node: 'node-b' }]));
    await until(async () => (await counters()).loop === 1, 5000, () => 'the refusal was never counted');
    t.false(programmed('10.3.0.7'), 'the refused apply left nothing');
    await until(() => programmed('10.3.0.7'), 5000, () => 'the change was never retried');
    const retriedAfter = Date.now() - changedAt;
    t.deepEqual(await counters(), { loop: 1, mode: 1 });
    t.is(await fullSyncs(), fullBefore + 1, 'the retry after a failure is a full sync');
    t.true(runner.attempts >= attemptsBefore + 2, `attempts ${runner.attempts - attemptsBefore}`);
    // kube-proxy's RetryAfter(syncPeriod): the retry waits a sync period rather than spinning.
    t.true(retriedAfter >= RETRY_SYNC_PERIOD_MS * 0.9, `retried after ${retriedAfter} ms`);
    t.deepEqual(loop.lastState?.endpoints.get('default/web:http')?.map((e) => e.ip), ['10.3.0.7']);
    t.is(await healthzCode(), 200);
    t.log(`${mode.name}: refused once, counted (loop 1, ${mode.name} 1), programmed by the retry ${retriedAfter} ms after the change`);
  });

  test(`${mode.name}: applies refused for more than 2x the sync period turn /healthz 503, and the first success 200`, async (t) => {
    const { client, loop, runner, programmed, counters, healthzCode } = await setup(t, mode);
    await client.create(resources.services, serviceObject('default', 'web', ports));
    loop.start();
    await until(() => loop.lastState !== undefined, 10_000, () => 'first sync');
    runner.refusals = -1;
    const refusingSince = Date.now();
    await client.create(resources.endpointslices, sliceObject('default', 'web', 'web-1', ports, [{ ip: '10.3.0.8', ready: true, node: 'node-b' }]));
    await until(async () => (await healthzCode()) === 503, 10_000, () => '/healthz never turned 503');
    const unhealthyAfter = Date.now() - refusingSince;
    t.true(unhealthyAfter >= 2 * SYNC_PERIOD_MS, `503 only after 2x sync period (after ${unhealthyAfter} ms)`);
    const during = await counters();
    t.true(during.loop >= 2 && during.mode === during.loop, `failures counted: ${JSON.stringify(during)}`);
    runner.refusals = 0;
    await until(async () => (await healthzCode()) === 200, 10_000, () => '/healthz never recovered');
    t.true(programmed('10.3.0.8'));
    t.log(`${mode.name}: 503 after ${unhealthyAfter} ms of refusals, ${during.loop} failures counted, 200 after the first success`);
  });
}
