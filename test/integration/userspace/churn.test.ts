import test from 'ava';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { ProxyTopology } from '../../helpers/proxy-topology.ts';
import { burst, ProxyDriver } from './proxy-driver.ts';
import type { ServiceSpec } from './state.ts';

// Acceptance 5: services and endpoints change while requests run. Requests to
// a service that stays never fail; a removed service fails only after its
// removal; a connection to a removed endpoint drains instead of being cut.
const rootTest = isRoot ? test : test.serial.skip;

/** Two engine threads, whatever the core count, so the shared-listener path is tested. */
const TWO_THREADS = { SCENARIO_TCP_THREADS: '2' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** DIGEST is stream-sink's line for a finished connection: `<bytes> <sha256>`. */
const DIGEST = /^\d+ [0-9a-f]{64}$/m;
const script = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

rootTest('requests under service and endpoint churn: only the removed service fails, and only after removal', async (t) => {
  const topo = await ProxyTopology.create(t, 4);
  const proxy = await ProxyDriver.start(t, topo, TWO_THREADS);
  const ep = (...i: number[]) => i.map((n) => `${topo.pods[n]!.ip}:8080`);
  const a = (endpoints: string[]): ServiceSpec => ({ key: 'default/a:http', clusterIP: '10.96.0.30', port: 80, nodePort: 30030, endpoints });
  const b = (endpoints: string[]): ServiceSpec => ({ key: 'default/b:http', clusterIP: '10.96.0.31', port: 80, endpoints });
  const c = (endpoints: string[]): ServiceSpec => ({ key: 'default/c:http', clusterIP: '10.96.0.32', port: 80, endpoints });
  await proxy.sync([a(ep(0, 1, 2)), b(ep(3))]);

  const client = topo.pods[0]!.ns;
  const loopA = burst(topo, client, 'http://10.96.0.30/hostname', 600);
  const loopExt = burst(topo, topo.ext, 'http://192.168.50.1:30030/hostname', 300);
  let bRemovedAt = Infinity;
  const loopB = topo.fixture
    .exec(client, 'curl', ['-sS', '--fail-early', '-m', '1', '-H', 'Connection: close', '-o', '/dev/null', ...Array<string>(2000).fill('http://10.96.0.31/hostname')], { allowFailure: true })
    .then((r) => ({ code: r.code, stderr: r.stderr, endedAt: Date.now() }));

  const steps: ServiceSpec[][] = [
    [a(ep(0, 2)), b(ep(3))], // drain pod-1 from a
    [a(ep(0, 2)), b(ep(3)), c(ep(1))], // add c
    [a(ep(0, 2, 3)), b(ep(2)), c(ep(1))], // a grows, b moves
    [a(ep(2, 3)), c(ep(1, 2))], // b removed
    [a(ep(1)), c(ep(1, 2))],
    [a(ep(0, 1, 2, 3)), c(ep(3))],
  ];
  for (const [i, step] of steps.entries()) {
    await sleep(300);
    // The removal counts from the start of its sync, when its listener may already close.
    if (i === 3) bRemovedAt = Date.now();
    await proxy.sync(step);
  }

  const [countsA, countsExt, resultB] = await Promise.all([loopA, loopExt, loopB]);
  t.log('a from a pod', Object.fromEntries(countsA), 'a via NodePort from ext', Object.fromEntries(countsExt));
  t.is(countsA.get('ERROR'), undefined);
  t.is(countsExt.get('ERROR'), undefined);
  t.true((countsA.get('pod-3') ?? 0) > 0, 'an endpoint added mid-run takes traffic');
  // --fail-early: the first failed request ends the loop, so it must end after b's removal.
  t.log('b', resultB.stderr.trim(), `ended ${resultB.endedAt - bRemovedAt}ms after its removal`);
  t.not(resultB.code, 0);
  t.true(resultB.endedAt >= bRemovedAt, 'requests to b failed before b was removed');
  t.is(await topo.curl(client, 'http://10.96.0.32/hostname'), 'pod-3');
});

rootTest('removing an endpoint drains: an open connection to it completes intact', async (t) => {
  const topo = await ProxyTopology.create(t, 2);
  const proxy = await ProxyDriver.start(t, topo, TWO_THREADS);
  const sinkPod = topo.pods[1]!;
  const sink = topo.fixture.spawn(sinkPod.ns, process.execPath, ['--import', 'tsx', script('stream-sink.ts'), '9000', String(64 * 2 ** 20)]);
  let sinkOut = '';
  sink.stdout!.on('data', (b: Buffer) => {
    sinkOut += b.toString();
  });
  while (!sinkOut.includes('listening')) await once(sink.stdout!, 'data');
  const svc = (endpoints: string[]): ServiceSpec => ({ key: 'default/drain:data', clusterIP: '10.96.0.40', port: 9000, endpoints });
  await proxy.sync([svc([`${sinkPod.ip}:9000`])]);

  const bytes = 192 * 2 ** 20;
  const source = topo.fixture.exec(topo.pods[0]!.ns, process.execPath, ['--import', 'tsx', script('stream-source.ts'), '10.96.0.40', '9000', String(bytes)], { timeoutMs: 60_000 });
  // Remove the endpoint only once the transfer is flowing through it.
  while (!sinkOut.includes('receiving')) await once(sink.stdout!, 'data');
  await sleep(500);
  await proxy.sync([svc([])]);
  const sent = (await source).stdout.trim();
  while (!DIGEST.test(sinkOut) && sink.exitCode === null) await once(sink.stdout!, 'data');
  t.is(DIGEST.exec(sinkOut)?.[0], sent);
  t.is(sent.split(' ')[0], String(bytes));
  // New connections find no endpoint and are closed at once.
  const r = await topo.fixture.exec(topo.pods[0]!.ns, 'curl', ['-sS', '-m', '2', 'http://10.96.0.40:9000/'], { allowFailure: true });
  t.not(r.code, 0);
});
