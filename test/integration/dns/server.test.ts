/**
 * The DnsServer in this process (fixture index, no apiserver) queried with
 * dig: the node:dgram UDP path (the default under tsx), and the batched UDP
 * worker's failure path — under tsx the worker cannot load its TypeScript
 * source, so it dies at once and node:dgram must take over the port.
 */
import test from 'ava';
import { DnsServer } from '../../../src/dns/server.ts';
import { DEFAULT_FORWARD_ALLOW } from '../../../src/dns/acl.ts';
import { fixtureIndex, ZONE } from '../../unit/dns/fixtures.ts';
import { dig, waitFor } from './harness.ts';

for (const udpBatch of [false, true]) {
  test(`in-process server answers over UDP and TCP (udpBatch ${udpBatch})`, async (t) => {
    const server = await DnsServer.start({
      controller: fixtureIndex(), host: '127.0.0.1', port: 0, zone: ZONE, ttl: 30, podMode: 'insecure', upstreams: [],
      forwardAllow: DEFAULT_FORWARD_ALLOW, healthAddress: '', readyAddress: '', metricsAddress: '', udpBatch,
    });
    t.teardown(() => server.close());
    const want = [`svc1.testns.svc.${ZONE}. 30 IN A 10.0.0.1`];
    await waitFor(async () => (await dig(server.port, [`svc1.testns.svc.${ZONE}`, 'A'])).answer[0] === want[0], 5000, 'a UDP answer');
    t.deepEqual((await dig(server.port, [`svc1.testns.svc.${ZONE}`, 'A', '+tcp'])).answer, want);
  });
}
