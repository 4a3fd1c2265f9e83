import test from 'ava';
import { request } from 'undici';
import { ServiceHealthServer } from '../../../src/endpoints/service-health.ts';

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
