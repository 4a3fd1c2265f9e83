import test from 'ava';
import { Registry } from 'prom-client';
import { createMetrics } from '../../../src/userspace/metrics.ts';
import { UserspaceProxier } from '../../../src/userspace/proxier.ts';
import { proxyState, type ServiceSpec } from '../../integration/userspace/state.ts';
import { FakePortalRunner } from './fake-portal-runner.ts';

// The proxier's bookkeeping against a stateful iptables fake; listeners bind
// 127.0.0.1 (ephemeral ports), no packets leave loopback.
function setup(t: import('ava').ExecutionContext) {
  const runner = new FakePortalRunner();
  const registry = new Registry();
  const proxier = new UserspaceProxier({ listenAddress: '127.0.0.1', portRange: undefined, udpIdleTimeoutMs: 250, runner, metrics: createMetrics(registry), tcpThreads: 1 });
  t.teardown(() => proxier.close());
  return { runner, proxier, registry };
}

const web: ServiceSpec = { key: 'default/web:http', clusterIP: '10.96.0.10', port: 80, nodePort: 30080, endpoints: ['10.244.1.10:8080'] };
const dns: ServiceSpec = { key: 'kube-system/dns:dns', protocol: 'UDP', clusterIP: '10.96.0.53', port: 53, endpoints: ['10.244.1.11:53'] };

test('first sync is full: a listener per service port and its portal rules', async (t) => {
  const { runner, proxier } = setup(t);
  const r = await proxier.sync(proxyState([web, dns]));
  t.like(r, { ok: true, full: true });
  const webPort = proxier.proxyPort(web.key)!;
  t.true(webPort > 0);
  t.true(proxier.proxyPort(dns.key)! > 0);
  t.true(runner.rules().some((l) => l.includes(`--dport 30080 -j REDIRECT --to-ports ${webPort}`)));
  t.is(runner.rules().length, 6);
  t.deepEqual([...runner.jumps].sort(), ['KUBE-NODEPORT-CONTAINER', 'KUBE-NODEPORT-HOST', 'KUBE-PORTALS-CONTAINER', 'KUBE-PORTALS-HOST']);
});

test('later syncs rewrite only changed services; endpoint changes keep the listener and rules', async (t) => {
  const { runner, proxier } = setup(t);
  await proxier.sync(proxyState([web, dns]));
  const port = proxier.proxyPort(web.key);
  const r = await proxier.sync(proxyState([{ ...web, endpoints: ['10.244.1.12:8080'] }, dns]));
  t.like(r, { ok: true, full: false });
  t.is(proxier.proxyPort(web.key), port);
  t.is(runner.restores.length, 1, 'nothing to write');

  await proxier.sync(proxyState([{ ...web, nodePort: 30081 }, dns]));
  const last = runner.restores.at(-1)!;
  t.false(last.includes('kube-system/dns'), 'the unchanged service is not touched');
  t.true(last.includes('--dport 30081'));
  t.is(runner.rules().length, 6);
});

test('a removed service loses its listener and rules', async (t) => {
  const { runner, proxier } = setup(t);
  await proxier.sync(proxyState([web, dns]));
  await proxier.sync(proxyState([dns]));
  t.is(proxier.proxyPort(web.key), undefined);
  t.is(runner.rules().length, 2);
  t.false(runner.rules().some((l) => l.includes('default/web')));
});

test('a failed restore fails the sync, and the next sync is a full one that converges', async (t) => {
  const { runner, proxier } = setup(t);
  await proxier.sync(proxyState([web]));
  runner.failNext = true;
  const failed = await proxier.sync(proxyState([web, dns]));
  t.false(failed.ok);
  const retried = await proxier.sync(proxyState([web, dns]));
  t.like(retried, { ok: true, full: true });
  t.is(runner.rules().length, 6);
});

test('SCTP ports and headless services are not proxied', async (t) => {
  const { runner, proxier } = setup(t);
  const state = proxyState([web]);
  const sctp = { ...state.services.get(web.key)!, key: 'default/s:sctp', protocol: 'SCTP' as const };
  const headless = { ...state.services.get(web.key)!, key: 'default/h:http', clusterIPs: [] };
  const r = await proxier.sync({ ...state, services: new Map([...state.services, [sctp.key, sctp], [headless.key, headless]]) });
  t.true(r.ok);
  t.is(proxier.proxyPort(sctp.key), undefined);
  t.is(proxier.proxyPort(headless.key), undefined);
  t.is(runner.rules().length, 4);
});

test('cleanup removes chains and jumps and closes listeners; safe twice', async (t) => {
  const { runner, proxier } = setup(t);
  await proxier.sync(proxyState([web, dns]));
  await proxier.cleanup();
  await proxier.cleanup();
  t.is(runner.chains.size, 0);
  t.is(runner.jumps.size, 0);
  t.is(proxier.proxyPort(web.key), undefined);
});

test('metrics: the userspace series are registered', async (t) => {
  const { proxier, registry } = setup(t);
  await proxier.sync(proxyState([web]));
  const text = await registry.metrics();
  for (const name of ['kubeproxy_userspace_accepted_connections_total', 'kubeproxy_userspace_dial_failures_total', 'kubeproxy_userspace_endpoint_connections', 'kubeproxy_userspace_udp_sessions']) t.true(text.includes(name), name);
});
