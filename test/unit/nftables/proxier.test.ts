import test from 'ava';
import { NftError } from '../../../src/nftables/errors.ts';
import { checkKernel } from '../../../src/nftables/index.ts';
import { FULL_SYNC_PERIOD_MS, NftablesProxier } from '../../../src/nftables/proxier.ts';
import type { NftRunner } from '../../../src/nftables/runner.ts';
import type { SetElement } from '../../../src/netlink/nftables.ts';
import { proxyConfig } from '../../helpers/proxy-state-fixtures.ts';
import { ep, state, svc } from './fixtures.ts';

// The proxier's sync decisions against a recording runner: full at start,
// partial after, full again after a failure, hourly, and when the canary
// says the table was deleted or flushed from outside.

class RecordingRunner implements NftRunner {
  readonly kind = 'nft' as const;
  readonly runs: string[] = [];
  failNext = false;
  canaryRules = 1;

  async run(text: string): Promise<string> {
    this.runs.push(text);
    if (this.failNext) {
      this.failNext = false;
      throw new NftError('nft transaction failed', 'Error: Could not process rule: No such file or directory');
    }
    return '';
  }

  readonly added: Array<Map<string, SetElement[]>> = [];
  async addElements(sets: ReadonlyMap<string, Iterable<SetElement>>): Promise<void> {
    this.added.push(new Map([...sets].map(([set, elements]) => [set, [...elements]])));
  }

  async check(): Promise<void> {}
  async chainRules(chain: string): Promise<number> {
    return chain === 'nat-prerouting' ? this.canaryRules : 0;
  }

  close(): void {}
}

function setup(syncPeriodMs = 30_000, family: 4 | 6 = 4) {
  const runner = new RecordingRunner();
  const counts = { failures: 0, repairs: 0, elements: 0 };
  let now = 1_000_000;
  const proxier = new NftablesProxier({
    config: proxyConfig({ mode: 'nftables', syncPeriodMs }),
    family,
    runner,
    metrics: { syncFailures: { inc: () => void counts.failures++ }, tableRepairs: { inc: () => void counts.repairs++ }, elements: { set: (v: number) => void (counts.elements = v) } },
    healthHost: '127.0.0.1',
    now: () => now,
    nodeIPs: () => [family === 4 ? '192.168.0.2' : 'fd00:192:168:0::2'],
  });
  return { runner, counts, proxier, advance: (ms: number) => (now += ms) };
}

const web = svc('ns', 'web', { clusterIPs: ['172.30.0.10'] });

test('an IPv6 proxier asks the proxy loop for IPv6 snapshots, also alone, and writes them into the ip6 table', async (t) => {
  const { runner, proxier } = setup(30_000, 6);
  t.teardown(() => proxier.close());
  t.deepEqual(proxier.ipFamilies, [6], 'the proxy loop builds its snapshots per ipFamilies, IPv4 when it is missing');
  const web6 = svc('ns', 'web', { clusterIPs: ['fd00:172:30::10'] });
  t.like(await proxier.sync({ ...state([[web6, [ep('fd00:10:180::1')]]]), ipFamily: 6 }), { ok: true, full: true });
  t.true(runner.runs[0]!.startsWith('add table ip6 ferry\ndelete table ip6 ferry\n'));
  t.true(runner.runs[0]!.includes('add element ip6 ferry service-ips { fd00:172:30::10 . tcp . 80 : goto lb-1 }'), runner.runs[0]);
});
const one = state([[web, [ep('10.180.0.1')]]]);
const two = state([[web, [ep('10.180.0.1'), ep('10.180.0.2')]]]);

test('the first sync replaces the table, later ones send only what changed', async (t) => {
  const { runner, proxier, counts } = setup();
  const first = await proxier.sync(one);
  t.true(first.ok && first.full);
  t.true(runner.runs[0]!.startsWith('add table ip ferry\ndelete table ip ferry\n'));
  const second = await proxier.sync(two);
  t.true(second.ok && !second.full);
  t.false(runner.runs[1]!.includes('table'), runner.runs[1]);
  t.true(runner.runs[1]!.includes('add element ip ferry endpoints-tcp { 172.30.0.10 . 80 . 1 : 10.180.0.2 . 80 }'));
  // Nothing changed: nothing is sent.
  await proxier.sync(state([[web, [ep('10.180.0.1'), ep('10.180.0.2')]]], []));
  t.is(runner.runs.length, 2);
  t.is(counts.elements, 6, 'cluster-ips, service-ips, two endpoints, two hairpin entries');
  await proxier.close();
});

test('a cold start (no table) loads the rules through nft and the elements through netlink', async (t) => {
  const { runner, proxier } = setup();
  runner.canaryRules = 0;
  const first = await proxier.sync(one);
  t.true(first.ok && first.full);
  t.false(runner.runs[0]!.includes('add element ip ferry endpoints-tcp'), 'no encodable element goes through nft');
  t.deepEqual([...runner.added[0]!.keys()].sort(), ['cluster-ips', 'endpoints-tcp', 'hairpin-connections', 'service-ips']);
  const [slot0] = runner.added[0]!.get('endpoints-tcp')!;
  // 172.30.0.10 . 80 . 0 : 10.180.0.1 . 80, one 4-byte register per part.
  t.is(slot0!.key.toString('hex'), 'ac1e000a' + '00500000' + '00000000');
  t.is(slot0!.data!.toString('hex'), '0ab40001' + '00500000');
  t.deepEqual(runner.added[0]!.get('service-ips')![0]!.verdict, { code: -4, chain: 'lb-1' });
  await proxier.close();
});

test('a failed transaction is a failed sync, and the next sync is a full one', async (t) => {
  const { runner, proxier, counts } = setup();
  await proxier.sync(one);
  runner.failNext = true;
  const failed = await proxier.sync(two);
  t.false(failed.ok);
  t.is(counts.failures, 1);
  const retried = await proxier.sync(two);
  t.true(retried.ok && retried.full, 'the model may be wrong after a failure: replace the table');
  t.true(runner.runs.at(-1)!.includes('delete table ip ferry'));
  await proxier.close();
});

test('a table deleted or flushed from outside is found at the next sync and rebuilt, and counted', async (t) => {
  const { runner, proxier, counts } = setup();
  await proxier.sync(one);
  runner.canaryRules = 0; // nft delete table / flush ruleset
  const repaired = await proxier.sync(state([[web, [ep('10.180.0.1')]]], []));
  t.true(repaired.ok && repaired.full);
  runner.canaryRules = 0; // nft flush table: the chain is there, empty
  t.true((await proxier.sync(state([[web, [ep('10.180.0.1')]]], []))) .ok);
  t.is(counts.repairs, 2);
  // The table is rebuilt as at a cold start: elements through netlink.
  t.true(runner.runs.at(-1)!.startsWith('add table ip ferry\ndelete table ip ferry\n'));
  t.is(runner.added.at(-1)!.get('endpoints-tcp')!.length, 1);
  await proxier.close();
});

test('full syncs recur hourly', async (t) => {
  const { proxier, advance } = setup();
  await proxier.sync(one);
  advance(FULL_SYNC_PERIOD_MS - 1);
  const partial = await proxier.sync(two);
  t.true(partial.ok && !partial.full);
  advance(1);
  const hourly = await proxier.sync(one);
  t.true(hourly.ok && hourly.full);
  await proxier.close();
});

test('kernels before 5.13 are refused unless kube-proxy\'s variable skips the check', (t) => {
  t.notThrows(() => checkKernel('6.18.44-fc-v1300', undefined));
  t.notThrows(() => checkKernel('5.13.0', undefined));
  t.throws(() => checkKernel('5.10.0-28-amd64', undefined), { code: 'FERRY_ERR_NFT_UNAVAILABLE', message: /older than 5\.13/ });
  t.notThrows(() => checkKernel('5.10.0-28-amd64', '1'));
});
