/**
 * Acceptance 2: API changes reach the answers within a second — a new
 * service resolves, a deleted one is NXDOMAIN, an endpoint that becomes
 * ready appears in its headless service's answer.
 */
import test from 'ava';
import { resources } from '../../../src/endpoints/client/resources.ts';
import { clusterIPService, createService, createSlice, dig, slice, startCluster, startFerryDns, waitFor } from './harness.ts';

const Z = 'cluster.local';

test('service create, endpoint readiness and service delete propagate within 1 s', async (t) => {
  const c = await startCluster(t);
  const dns = await startFerryDns(t, c.url);
  const name = `late.default.svc.${Z}`;
  t.is((await dig(dns.port, [name, 'A'])).status, 'NXDOMAIN');

  await createService(c, clusterIPService('default', 'late', [{ name: 'http', port: 80 }], { clusterIP: '10.96.200.1' }));
  const created = await waitFor(async () => (await dig(dns.port, [name, 'A'])).answer[0] === `${name}. 30 IN A 10.96.200.1`, 1000, 'the new service');
  t.log(`new service resolved after ${created} ms`);

  await createService(c, clusterIPService('default', 'peers', [{ name: 'http', port: 80 }], { clusterIP: 'None' }));
  const s = await createSlice(c, slice('default', 'peers', 'peers-1', [{ addresses: ['172.16.1.1'], conditions: { ready: true } }, { addresses: ['172.16.1.2'], conditions: { ready: false } }], [{ name: 'http', port: 80 }]));
  await waitFor(async () => (await dig(dns.port, [`peers.default.svc.${Z}`, 'A'])).answer.length === 1, 1000, 'the first endpoint');
  await c.client.update(resources.endpointslices, { ...s, endpoints: s.endpoints.map((e) => ({ ...e, conditions: { ready: true } })) });
  const ready = await waitFor(async () => (await dig(dns.port, [`peers.default.svc.${Z}`, 'A'])).answer.length === 2, 1000, 'the endpoint becoming ready');
  t.log(`endpoint appeared after ${ready} ms`);

  await c.client.delete(resources.services, 'late', { namespace: 'default' });
  const deleted = await waitFor(async () => (await dig(dns.port, [name, 'A'])).status === 'NXDOMAIN', 1000, 'the deletion');
  t.log(`deleted service NXDOMAIN after ${deleted} ms`);
  t.pass();
});
