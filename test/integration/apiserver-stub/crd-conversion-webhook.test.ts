import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { ensureServingPki } from '../../../src/apiserver-stub/pki.ts';
import { freePort } from '../../../src/util/free-port.ts';
import { kubectl, startServer, tempDir } from './server-fixture.ts';
import { kubectlBin } from '../controllers/cluster-fixture.ts';
import { until } from '../../helpers/until.ts';

/**
 * Issue 17 (CRD conversion webhooks): a Widget CRD with v1 (stored, `spec.host`)
 * and v2 (`spec.hostname`), converted by a real HTTPS webhook in this
 * process on 127.0.0.1 whose certificate a test CA signed (the CRD's
 * caBundle). kubectl reads v1 objects in v2 and writes v2 objects that are
 * stored in v1; lists and watches convert; the webhook reached through a
 * Service's EndpointSlice works too; a failing, lying or unreachable webhook
 * gives kube's 500 rather than a wrongly converted object.
 */
type Obj = { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec?: Record<string, unknown> };
type Mode = 'ok' | 'fail' | 'rename' | 'hang';

interface Webhook { port: number; ca: string; calls: Array<{ desired: string; count: number; host: string }>; mode: Mode }

/** convert renames spec.host (v1) ⇄ spec.hostname (v2), as a real conversion webhook would. */
function convert(o: Obj, desired: string, mode: Mode): Obj {
  const spec = { ...(o.spec ?? {}) };
  if (desired.endsWith('/v2') && 'host' in spec) {
    spec.hostname = spec.host;
    delete spec.host;
  } else if (desired.endsWith('/v1') && 'hostname' in spec) {
    spec.host = spec.hostname;
    delete spec.hostname;
  }
  const metadata = mode === 'rename' ? { ...o.metadata, name: `${String(o.metadata.name)}-x` } : { ...o.metadata, labels: { ...(o.metadata.labels as object), converted: 'yes' } };
  return { ...o, apiVersion: desired, metadata, spec };
}

async function startWebhook(t: ExecutionContext): Promise<Webhook> {
  const dir = await tempDir(t, 'ferry-conv-');
  const pki = ensureServingPki(dir, ['IP:127.0.0.1', 'DNS:converter.default.svc']);
  const port = await freePort();
  const hook: Webhook = { port, ca: readFileSync(pki.caFile, 'utf8'), calls: [], mode: 'ok' };
  const server: Server = createServer({ cert: readFileSync(pki.certFile), key: readFileSync(pki.keyFile) }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (hook.mode === 'hang') return;
      const review = JSON.parse(body) as { request: { uid: string; desiredAPIVersion: string; objects: Obj[] } };
      const { uid, desiredAPIVersion, objects } = review.request;
      hook.calls.push({ desired: desiredAPIVersion, count: objects.length, host: req.headers.host ?? '' });
      const response = hook.mode === 'fail'
        ? { uid, result: { status: 'Failed', message: 'widgets of this kind cannot be converted today' } }
        : { uid, result: { status: 'Success' }, convertedObjects: objects.map((o) => convert(o, desiredAPIVersion, hook.mode)) };
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', response }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return hook;
}

const schema = (field: string) => ({ openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { [field]: { type: 'string' }, size: { type: 'integer', default: 1 } } } } } });
const widgetCrd = (clientConfig: object) => JSON.stringify({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.conv.example.com' },
  spec: {
    group: 'conv.example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' },
    versions: [{ name: 'v1', served: true, storage: true, schema: schema('host') }, { name: 'v2', served: true, storage: false, schema: schema('hostname') }],
    conversion: { strategy: 'Webhook', webhook: { clientConfig, conversionReviewVersions: ['v1'] } },
  },
});
const widget = (version: string, name: string, spec: object) => JSON.stringify({ apiVersion: `conv.example.com/${version}`, kind: 'Widget', metadata: { name, labels: { app: 'w' } }, spec });

test('CRD conversion webhook: kubectl reads and writes either version, lists and watches convert, failures are kube\'s 500', async (t) => {
  const hook = await startWebhook(t);
  const { url, server } = await startServer(t, 'memory', {}, { conversionWebhookTimeoutMs: 1500 });
  const cache = join(await tempDir(t), 'cache');
  const run = (args: string[], input?: string) => kubectl(kubectlBin, url, cache, args, input);
  const k = async (args: string[], input?: string): Promise<string> => {
    const r = await run(args, input);
    t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const caBundle = Buffer.from(hook.ca).toString('base64');
  await k(['apply', '-f', '-'], widgetCrd({ url: `https://127.0.0.1:${hook.port}/convert`, caBundle }));
  await until('v2 to be served', async () => (await run(['get', 'widgets.v2.conv.example.com'])).code === 0, 5000);

  // Created in v1 (the storage version): no conversion on the way in; read in v2 through the webhook.
  await k(['apply', '-f', '-'], widget('v1', 'one', { host: 'a.example.com' }));
  t.deepEqual(hook.calls, []);
  const asV2 = JSON.parse(await k(['get', 'widgets.v2.conv.example.com', 'one', '-o', 'json'])) as Obj;
  t.is(asV2.apiVersion, 'conv.example.com/v2');
  t.deepEqual(asV2.spec, { hostname: 'a.example.com', size: 1 });
  t.like(asV2.metadata, { name: 'one', labels: { app: 'w', converted: 'yes' } }, 'labels the webhook set are kept');
  t.like(hook.calls.at(-1), { desired: 'conv.example.com/v2', count: 1 });

  // Created in v2: stored in v1 (the webhook converts it on the way in), answered in v2.
  await k(['apply', '-f', '-'], widget('v2', 'two', { hostname: 'b.example.com', size: 3 }));
  const stored = (await server.backend.get('/registry/conv.example.com/widgets/default/two'))!.value as Obj;
  t.is(stored.apiVersion, 'conv.example.com/v1');
  t.deepEqual(stored.spec, { host: 'b.example.com', size: 3 });
  t.is(await k(['get', 'widgets.v1.conv.example.com', 'two', '-o', 'jsonpath={.spec.host}']), 'b.example.com');

  // A list in v2 converts its items in one review; a watch in v2 converts each event.
  const calls = hook.calls.length;
  t.is(await k(['get', 'widgets.v2.conv.example.com', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.hostname} {end}']), 'one=a.example.com two=b.example.com ');
  t.like(hook.calls[calls], { desired: 'conv.example.com/v2', count: 2 });
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const watch = await fetch(`${url}/apis/conv.example.com/v2/namespaces/default/widgets?watch=1&resourceVersion=${server.backend.currentRevision()}`, { signal: controller.signal });
  const reader = watch.body!.getReader();
  await k(['apply', '-f', '-'], widget('v1', 'three', { host: 'c.example.com' }));
  let text = '';
  while (!text.includes('\n')) text += new TextDecoder().decode((await reader.read()).value);
  const event = JSON.parse(text.split('\n')[0]!) as { type: string; object: Obj };
  t.is(event.type, 'ADDED');
  t.like(event.object, { apiVersion: 'conv.example.com/v2', metadata: { name: 'three' }, spec: { hostname: 'c.example.com' } });

  // The same webhook reached through a Service: a selectorless Service whose EndpointSlice names 127.0.0.1.
  await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'converter', namespace: 'default' }, spec: { ports: [{ name: 'https', port: 443, targetPort: hook.port }] } }));
  await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'converter-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'converter' } }, addressType: 'IPv4', ports: [{ name: 'https', port: hook.port, protocol: 'TCP' }], endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }] }));
  await k(['apply', '-f', '-'], widgetCrd({ service: { namespace: 'default', name: 'converter', path: '/convert' }, caBundle }));
  await until('the service-routed webhook to convert', async () => (await run(['get', 'widgets.v2.conv.example.com', 'one', '-o', 'jsonpath={.spec.hostname}'])).stdout === 'a.example.com' && hook.calls.at(-1)?.host === 'converter.default.svc', 5000);
  t.is(hook.calls[calls]!.host, `127.0.0.1:${hook.port}`, 'the url webhook was asked by its address');

  // The webhook refuses: kube's 500 with its message; no object is answered unconverted.
  hook.mode = 'fail';
  const refused = await run(['get', 'widgets.v2.conv.example.com', 'one']);
  t.is(refused.stderr.trim(), 'Error from server: conversion webhook for conv.example.com/v1, Kind=Widget failed: widgets of this kind cannot be converted today');
  const rawGet = await fetch(`${url}/apis/conv.example.com/v2/namespaces/default/widgets/one`);
  t.is(rawGet.status, 500);
  t.like(await rawGet.json(), { kind: 'Status', code: 500, message: 'conversion webhook for conv.example.com/v1, Kind=Widget failed: widgets of this kind cannot be converted today' });
  const write = await run(['apply', '-f', '-'], widget('v2', 'four', { hostname: 'd.example.com' }));
  t.regex(write.stderr, /conversion webhook for conv\.example\.com\/v2, Kind=Widget failed: widgets of this kind cannot be converted today/);
  t.is(await server.backend.get('/registry/conv.example.com/widgets/default/four'), undefined, 'nothing stored');
  // A watch whose event cannot be converted ends with an ERROR event carrying that Status.
  const failing = await fetch(`${url}/apis/conv.example.com/v2/namespaces/default/widgets?watch=1&resourceVersion=${server.backend.currentRevision()}`, { signal: controller.signal });
  await k(['label', 'widgets.v1.conv.example.com', 'one', 'touched=yes']);
  const ended = JSON.parse((await failing.text()).trim().split('\n')[0]!) as { type: string; object: { code: number; message: string } };
  t.is(ended.type, 'ERROR');
  t.like(ended.object, { code: 500, message: 'conversion webhook for conv.example.com/v1, Kind=Widget failed: widgets of this kind cannot be converted today' });

  // A webhook that renames the object is refused as kube refuses it.
  hook.mode = 'rename';
  t.regex((await run(['get', 'widgets.v2.conv.example.com', 'one'])).stderr, /conversion webhook for conv\.example\.com\/v1, Kind=Widget returned invalid converted object at index 0: must have the same name: one != one-x/);
  // One that does not answer times out (1.5 s here; kube's 30 s by default).
  hook.mode = 'hang';
  const started = Date.now();
  t.regex((await run(['get', 'widgets.v2.conv.example.com', 'one'])).stderr, /conversion webhook for conv\.example\.com\/v1, Kind=Widget failed: Post "https:\/\/converter\.default\.svc:443\/convert\?timeout=2s": context deadline exceeded/);
  t.true(Date.now() - started < 10_000);
  // One that is not there: Go's words for a refused connection.
  const closed = await freePort();
  await k(['apply', '-f', '-'], widgetCrd({ url: `https://127.0.0.1:${closed}/convert`, caBundle }));
  await until('the CRD change to be served', async () => /connection refused/.test((await run(['get', 'widgets.v2.conv.example.com', 'one'])).stderr), 5000);
  t.regex((await run(['get', 'widgets.v2.conv.example.com', 'one'])).stderr, new RegExp(`failed: Post "https://127\\.0\\.0\\.1:${closed}/convert\\?timeout=2s": dial tcp 127\\.0\\.0\\.1:${closed}: connect: connection refused`));
  // A caBundle of another CA: the webhook's certificate is not trusted.
  const other = ensureServingPki(await tempDir(t, 'ferry-conv-other-'), ['IP:127.0.0.1']);
  hook.mode = 'ok';
  await k(['apply', '-f', '-'], widgetCrd({ url: `https://127.0.0.1:${hook.port}/convert`, caBundle: Buffer.from(readFileSync(other.caFile)).toString('base64') }));
  await until('the CRD change to be served', async () => /certificate signed by unknown authority/.test((await run(['get', 'widgets.v2.conv.example.com', 'one'])).stderr), 5000);
  // The storage version needs no webhook, so it is still read.
  t.is(await k(['get', 'widgets.v1.conv.example.com', 'one', '-o', 'jsonpath={.spec.host}']), 'a.example.com');
});
