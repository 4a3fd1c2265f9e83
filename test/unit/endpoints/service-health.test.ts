import test from 'ava';
import { request } from 'undici';
import type { Endpoint } from '../../../src/endpoints/proxy-state.ts';
import { ServiceHealthServer } from '../../../src/endpoints/service-health.ts';
import { freePort } from '../../../src/util/free-port.ts';
import { proxyState, servicePort } from '../../helpers/proxy-state-fixtures.ts';

// Health check node ports on 127.0.0.1 with real HTTP requests.

test('200 with local endpoints, 503 without, kube-proxy body and weight header; closed when unwanted', async (t) => {
  let healthy = true;
  const server = new ServiceHealthServer('127.0.0.1', () => healthy);
  t.teardown(() => server.close());
  t.deepEqual(await server.syncServices(new Map([['ns/a', { namespace: 'ns', name: 'a', port: 0 }]])), []);
  const url = `http://127.0.0.1:${server.port('ns/a')}/`;
  const get = async () => {
    const r = await request(url);
    return { status: r.statusCode, weight: r.headers['x-load-balancing-endpoint-weight'], body: await r.body.json() };
  };
  t.deepEqual(await get(), { status: 503, weight: '0', body: { service: { namespace: 'ns', name: 'a' }, localEndpoints: 0, serviceProxyHealthy: true } });
  server.syncEndpoints(new Map([['ns/a', 2]]));
  t.like(await get(), { status: 200, weight: '2', body: { localEndpoints: 2 } });
  healthy = false;
  t.like(await get(), { status: 503, body: { serviceProxyHealthy: false } });
  await server.syncServices(new Map());
  t.is(server.port('ns/a'), undefined);
  await t.throwsAsync(request(url));
});

test('syncFromState counts ready local endpoints by IP across the service\'s ports, as kube-proxy\'s LocalReadyEndpoints', async (t) => {
  const port = await freePort();
  const server = new ServiceHealthServer('127.0.0.1', () => true);
  t.teardown(() => server.close());
  const shared = { type: 'LoadBalancer' as const, externalTrafficPolicy: 'Local' as const, healthCheckNodePort: port, clusterIPs: ['172.30.0.41'] };
  const http = servicePort('ns', 'a', { ...shared, portName: 'http', port: 80 });
  const https = servicePort('ns', 'a', { ...shared, portName: 'https', port: 443 });
  const ep = (ip: string, p: number, over: Partial<Endpoint> = {}): Endpoint => ({ ip, port: p, ready: true, serving: true, terminating: false, isLocal: true, ...over });
  const state = proxyState([
    [http, [ep('10.0.0.1', 8080), ep('10.0.0.2', 8080), ep('10.0.0.3', 8080, { isLocal: false }), ep('10.0.0.4', 8080, { ready: false, terminating: true })]],
    [https, [ep('10.0.0.1', 8443), ep('10.0.0.2', 8443)]],
  ]);
  t.deepEqual(await server.syncFromState(state), []);
  const r = await request(`http://127.0.0.1:${port}/`);
  t.like(await r.body.json(), { localEndpoints: 2 });
});
