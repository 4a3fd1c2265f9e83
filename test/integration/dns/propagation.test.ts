/**
 * Acceptance 2: API changes reach the answers within a second — a new
 * service resolves, a deleted one is NXDOMAIN, an endpoint that becomes
 * ready appears in its headless service's answer.
 */
import test from 'ava';
import { resources } from '../../../src/client/resources.ts';
import { clusterIPService, createService, createSlice, dig, slice, startCluster, startFerryDns, udpQuery, waitFor } from './harness.ts';
import { buildQuery, decode, type Decoded } from '../../unit/dns/helpers.ts';

const Z = 'cluster.local';

/**
 * ask polls with a UDP query from this process rather than dig: spawning dig
 * can take longer than the 1 s budget itself on a loaded machine, and the
 * budget is for the server, not for process start-up.
 */
async function ask(port: number, name: string): Promise<Decoded> {
  const out = await udpQuery(port, buildQuery(name, 'A'), 500);
  if (!out) throw new Error('no answer');
  return decode(out);
}

test('service create, endpoint readiness and service delete propagate within 1 s', async (t) => {
  const c = await startCluster(t);
  const dns = await startFerryDns(t, c.url);
  const name = `late.default.svc.${Z}`;
  t.is((await dig(dns.port, [name, 'A'])).status, 'NXDOMAIN');

  await createService(c, clusterIPService('default', 'late', [{ name: 'http', port: 80 }], { clusterIP: '10.96.200.1' }));
  const created = await waitFor(async () => (await ask(dns.port, name)).answer[0] === `${name}.\t30\tIN\tA\t10.96.200.1`, 1000, 'the new service');
  t.log(`new service resolved after ${created} ms`);

  await createService(c, clusterIPService('default', 'peers', [{ name: 'http', port: 80 }], { clusterIP: 'None' }));
  const s = await createSlice(c, slice('default', 'peers', 'peers-1', [{ addresses: ['172.16.1.1'], conditions: { ready: true } }, { addresses: ['172.16.1.2'], conditions: { ready: false } }], [{ name: 'http', port: 80 }]));
  await waitFor(async () => (await ask(dns.port, `peers.default.svc.${Z}`)).answer.length === 1, 1000, 'the first endpoint');
  await c.client.update(resources.endpointslices, { ...s, endpoints: s.endpoints.map((e) => ({ ...e, conditions: { ready: true } })) });
  const ready = await waitFor(async () => (await ask(dns.port, `peers.default.svc.${Z}`)).answer.length === 2, 1000, 'the endpoint becoming ready');
  t.log(`endpoint appeared after ${ready} ms`);

  await c.client.delete(resources.services, 'late', { namespace: 'default' });
  const deleted = await waitFor(async () => (await ask(dns.port, name)).rcode === 'NXDOMAIN', 1000, 'the deletion');
  t.log(`deleted service NXDOMAIN after ${deleted} ms`);
  // And dig agrees.
  t.is((await dig(dns.port, [name, 'A'])).status, 'NXDOMAIN');
  t.is((await dig(dns.port, [`peers.default.svc.${Z}`, 'A'])).answer.length, 2);
});
