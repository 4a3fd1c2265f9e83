import test from 'ava';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { ProxyTopology } from '../../helpers/proxy-topology.ts';
import { ProxyDriver } from './proxy-driver.ts';

// Acceptance 4: 1 GiB through the proxy to a reader slower than the sender.
// The proxy must hold the sender back (back-pressure) instead of buffering:
// its peak RSS stays bounded, and the bytes arrive intact.
const rootTest = isRoot ? test : test.serial.skip;

/** DIGEST is stream-sink's line for a finished connection: `<bytes> <sha256>`. */
const DIGEST = /^\d+ [0-9a-f]{64}$/m;
const script = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));
const GIB = 1024 ** 3;
const SINK_RATE = 200 * 1024 * 1024;
const RSS_LIMIT_KIB = 300 * 1024;

rootTest('1 GiB through the proxy to a slow reader arrives intact with bounded proxy memory', async (t) => {
  const topo = await ProxyTopology.create(t, 3);
  const proxy = await ProxyDriver.start(t, topo);
  const sinkPod = topo.pods[2]!;
  const sink = topo.fixture.spawn(sinkPod.ns, process.execPath, ['--import', 'tsx', script('stream-sink.ts'), '9000', String(SINK_RATE)]);
  let sinkOut = '';
  sink.stdout!.on('data', (b: Buffer) => {
    sinkOut += b.toString();
  });
  while (!sinkOut.includes('listening')) await once(sink.stdout!, 'data');
  await proxy.sync([{ key: 'default/bulk:data', clusterIP: '10.96.0.20', port: 9000, endpoints: [`${sinkPod.ip}:9000`] }]);

  const started = Date.now();
  const source = await topo.fixture.exec(topo.pods[0]!.ns, process.execPath, ['--import', 'tsx', script('stream-source.ts'), '10.96.0.20', '9000', String(GIB)], { timeoutMs: 120_000 });
  const seconds = (Date.now() - started) / 1000;
  while (!DIGEST.test(sinkOut) && sink.exitCode === null) await once(sink.stdout!, 'data');
  const received = DIGEST.exec(sinkOut)![0];
  const rssKiB = await proxy.maxRssKiB();
  t.log(`1 GiB in ${seconds.toFixed(1)}s (${(GIB / 2 ** 20 / seconds).toFixed(0)} MiB/s, reader capped at ${SINK_RATE / 2 ** 20} MiB/s); proxy peak RSS ${(rssKiB / 1024).toFixed(0)} MiB`);
  t.is(received, source.stdout.trim());
  t.is(received.split(' ')[0], String(GIB));
  t.true(rssKiB < RSS_LIMIT_KIB, `proxy peak RSS ${rssKiB} KiB`);
});
