import test from 'ava';
import { connect, type Socket } from 'node:net';
import { startServer, tempDir } from './server-fixture.ts';
import { loadScale } from '../../helpers/load.ts';

/**
 * Issue 19: hostile input costs the apiserver nothing. Each test reproduces
 * one finding of the issue against a real server over HTTP.
 */

interface Answer {
  readonly status: number;
  readonly body: any;
  readonly ms: number;
}

async function call(url: string, method: string, path: string, body?: unknown, type = 'application/json'): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { 'Content-Type': type },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, ms: performance.now() - started };
}

const services = '/api/v1/namespaces/default/services';

test('finding 1: a JSON patch copying /metadata into itself 40 times is a 4xx within 1 s, and the server keeps answering', async (t) => {
  const { url } = await startServer(t);
  await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'bomb', labels: { a: 'b' } }, data: { k: 'v' } });
  const ops = Array.from({ length: 40 }, (_, i) => ({ op: 'copy', from: '/metadata', path: `/metadata/c${i}` }));
  t.true(JSON.stringify(ops).length < 2600, 'the bomb is a 2.5 KB patch');
  const answer = await call(url, 'PATCH', '/api/v1/namespaces/default/configmaps/bomb', ops, 'application/json-patch+json');
  t.log(`metadata bomb: ${answer.status} ${answer.body.reason} in ${answer.ms.toFixed(0)} ms: ${answer.body.message}`);
  t.true(answer.status >= 400 && answer.status < 500, `status ${answer.status}`);
  // 1 s on an idle machine, scaled when other jobs share the cores.
  t.true(answer.ms < 1000 * loadScale(), `${answer.ms} ms (load ${loadScale().toFixed(1)} per core)`);
  t.is((await call(url, 'GET', '/version')).status, 200);
  const after = await call(url, 'GET', '/api/v1/namespaces/default/configmaps/bomb');
  t.deepEqual(Object.keys(after.body.metadata).filter((k) => /^c\d+$/.test(k)), [], 'nothing of the bomb was stored');
});

test('finding 1: 1,000 copies of /spec into /spec/ports/- on a Service is a 4xx within 1 s', async (t) => {
  const { url } = await startServer(t);
  const created = await call(url, 'POST', services, { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } });
  t.is(created.status, 201);
  const ops = Array.from({ length: 1000 }, () => ({ op: 'copy', from: '/spec', path: '/spec/ports/-' }));
  const answer = await call(url, 'PATCH', `${services}/web`, ops, 'application/json-patch+json');
  t.log(`spec bomb: ${answer.status} ${answer.body.reason} in ${answer.ms.toFixed(0)} ms: ${answer.body.message}`);
  t.true(answer.status >= 400 && answer.status < 500, `status ${answer.status}`);
  // 1 s on an idle machine, scaled when other jobs share the cores.
  t.true(answer.ms < 1000 * loadScale(), `${answer.ms} ms (load ${loadScale().toFixed(1)} per core)`);
  t.is((await call(url, 'GET', `${services}/web`)).body.spec.ports.length, 1);
});

test('finding 1: more than 10,000 JSON patch operations is a 413, and a merge patch past 3 MiB of object is a 413', async (t) => {
  const { url } = await startServer(t);
  await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'many' }, data: { k: 'v' } });
  const ops = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/data/k', value: 'v' }));
  const many = await call(url, 'PATCH', '/api/v1/namespaces/default/configmaps/many', ops, 'application/json-patch+json');
  t.is(many.status, 413);
  t.regex(many.body.message, /maximum operations in a JSON patch is 10000, got 10001/);
  const ok = await call(url, 'PATCH', '/api/v1/namespaces/default/configmaps/many', ops.slice(0, 10_000), 'application/json-patch+json');
  t.is(ok.status, 200, 'exactly 10,000 operations are allowed');
  // Two 2 MiB merge patches: each body is under 3 MiB, the object they build is not.
  const big = 'x'.repeat(2 * 1024 * 1024);
  t.is((await call(url, 'PATCH', '/api/v1/namespaces/default/configmaps/many', { data: { a: big } }, 'application/merge-patch+json')).status, 200);
  const grown = await call(url, 'PATCH', '/api/v1/namespaces/default/configmaps/many', { data: { b: big } }, 'application/merge-patch+json');
  t.is(grown.status, 413);
  t.log(`merge growth: ${grown.status}: ${grown.body.message}`);
});

const deepValue = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

for (const storage of ['memory', 'file'] as const) {
  test(`finding 2 (${storage} store): a create that fails leaves no phantom name and no reserved address`, async (t) => {
    const { url } = await startServer(t, storage, storage === 'file' ? { dataDir: await tempDir(t) } : {});
    const configmaps = '/api/v1/namespaces/default/configmaps';
    for (let i = 0; i < 5; i++) {
      const failed = await call(url, 'POST', configmaps, `{"metadata":{"name":"deep"},"x":${deepValue(100_000)}}`);
      t.true(failed.status >= 400 && failed.status < 500, `deep create: ${failed.status}`);
    }
    t.log(`100,000-deep create: ${(await call(url, 'POST', configmaps, `{"metadata":{"name":"deep"},"x":${deepValue(100_000)}}`)).body.message}`);
    const valid = await call(url, 'POST', configmaps, { metadata: { name: 'deep' }, data: { k: 'v' } });
    t.is(valid.status, 201, 'the name was not kept by the failed creates');
    t.is((await call(url, 'GET', `${configmaps}/deep`)).body.data.k, 'v');
    // A Service that fails asks for an address; the address is free afterwards.
    const svc = (name: string, extra: object) => ({ metadata: { name }, spec: { clusterIP: '10.96.7.7', ports: [{ port: 80 }] }, ...extra });
    const bad = await call(url, 'POST', services, JSON.stringify(svc('bad', {})).replace(/}$/, `,"x":${deepValue(100_000)}}`));
    t.true(bad.status >= 400 && bad.status < 500, `deep service: ${bad.status}`);
    const good = await call(url, 'POST', services, svc('good', {}));
    t.is(good.status, 201, JSON.stringify(good.body).slice(0, 200));
    t.is(good.body.spec.clusterIP, '10.96.7.7');
  });
}

test('finding 3: deep nesting and self-aliasing YAML are a 400 with a clear message; the deepest allowed body round-trips', async (t) => {
  const { url } = await startServer(t);
  const configmaps = '/api/v1/namespaces/default/configmaps';
  for (const depth of [1_001, 10_000, 100_000]) {
    const answer = await call(url, 'POST', configmaps, `{"metadata":{"name":"d"},"x":${deepValue(depth)}}`);
    t.is(answer.status, 400, `${depth} levels`);
    t.regex(answer.body.message, /nested too deeply: more than 1000 levels/);
  }
  t.log(`deep JSON: ${(await call(url, 'POST', configmaps, `{"x":${deepValue(5000)}}`)).body.message}`);
  const deepYaml = `metadata: {name: dy}\nx: ${deepValue(2000)}\n`;
  t.is((await call(url, 'POST', configmaps, deepYaml, 'application/yaml')).status, 400);
  const alias = await call(url, 'POST', configmaps, 'metadata: {name: alias}\ndata: &x {a: *x}\n', 'application/yaml');
  t.is(alias.status, 400);
  t.log(`self alias: ${alias.status}: ${alias.body.message}`);
  // A shared (not circular) alias is copied: each place is its own value.
  const shared = await call(url, 'POST', configmaps, 'metadata: {name: shared, labels: &l {a: b}, annotations: *l}\n', 'application/yaml');
  t.is(shared.status, 201);
  t.deepEqual(shared.body.metadata.annotations, { a: 'b' });
  // 998 levels inside the object's own two: at the limit, stored, read back, patched, listed.
  const atLimit = `{"metadata":{"name":"limit"},"x":${deepValue(999)}}`;
  t.is((await call(url, 'POST', configmaps, atLimit)).status, 201);
  t.is((await call(url, 'PATCH', `${configmaps}/limit`, { data: { k: 'v' } }, 'application/strategic-merge-patch+json')).status, 200);
  t.is((await call(url, 'GET', configmaps)).status, 200);
});

test('finding 3: wrongly typed fields of a Deployment are a 422 naming the field, never a 500 or a stored object', async (t) => {
  const { url } = await startServer(t);
  const deployments = '/apis/apps/v1/namespaces/default/deployments';
  const deployment = (name: string): any => ({
    metadata: { name },
    spec: { selector: { matchLabels: { app: 'w' } }, template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } } },
  });
  const cases: Array<[string, (d: any) => void]> = [
    ['spec.selector.matchExpressions', (d) => (d.spec.selector.matchExpressions = 0)],
    ['spec.strategy', (d) => (d.spec.strategy = 0)],
    ['metadata.managedFields', (d) => (d.metadata.managedFields = -1)],
    ['spec.replicas', (d) => (d.spec.replicas = '3')],
    ['spec.template.spec.containers[0].ports', (d) => (d.spec.template.spec.containers[0].ports = {})],
    ['metadata.labels[app]', (d) => (d.metadata.labels = { app: 7 })],
  ];
  for (const [i, [field, breakIt]] of cases.entries()) {
    const d = deployment(`bad-${i}`);
    breakIt(d);
    const answer = await call(url, 'POST', deployments, d);
    t.is(answer.status, 422, `${field}: ${JSON.stringify(answer.body).slice(0, 300)}`);
    t.true(answer.body.details?.causes?.some((c: any) => c.field === field && c.reason === 'FieldValueTypeInvalid'), `${field}: ${answer.body.message}`);
    t.is((await call(url, 'GET', `${deployments}/bad-${i}`)).status, 404);
  }
  t.log(`strategy: 0 → ${(await call(url, 'POST', deployments, { ...deployment('x'), spec: { ...deployment('x').spec, strategy: 0 } })).body.message}`);
  // The same through a patch of a stored Deployment.
  t.is((await call(url, 'POST', deployments, deployment('ok'))).status, 201);
  const patched = await call(url, 'PATCH', `${deployments}/ok`, { spec: { selector: { matchExpressions: 0 } } }, 'application/merge-patch+json');
  t.is(patched.status, 422);
  t.is(patched.body.details.causes[0].field, 'spec.selector.matchExpressions');
});

test('finding 3: __proto__ and constructor keys are data through create and every patch type', async (t) => {
  const { url } = await startServer(t);
  const configmaps = '/api/v1/namespaces/default/configmaps';
  const created = await call(url, 'POST', configmaps, '{"metadata":{"name":"proto"},"data":{"__proto__":"p","constructor":"c"},"__proto__":{"polluted":"yes"}}');
  t.is(created.status, 201, JSON.stringify(created.body));
  t.deepEqual(created.body.data, JSON.parse('{"__proto__":"p","constructor":"c"}'));
  t.deepEqual(Object.getOwnPropertyDescriptor(created.body, '__proto__')?.value, { polluted: 'yes' }, 'a top-level __proto__ is kept as a field');
  const merge = await call(url, 'PATCH', `${configmaps}/proto`, '{"data":{"__proto__":"merged"}}', 'application/merge-patch+json');
  t.is(merge.status, 200);
  t.is(Object.getOwnPropertyDescriptor(merge.body.data, '__proto__')?.value, 'merged');
  const strategic = await call(url, 'PATCH', `${configmaps}/proto`, '{"data":{"constructor":"s","__proto__":{"x":"y"}}}', 'application/strategic-merge-patch+json');
  t.is(strategic.status, 422, 'an object where a string belongs is a type error, not a prototype');
  const json = await call(url, 'PATCH', `${configmaps}/proto`, [{ op: 'add', path: '/data/__proto__', value: 'j' }], 'application/json-patch+json');
  t.is(json.status, 200);
  const read = await call(url, 'GET', `${configmaps}/proto`);
  t.is(Object.getOwnPropertyDescriptor(read.body.data, '__proto__')?.value, 'j');
  t.is(read.body.data.constructor, 'c');
  t.is(({} as any).polluted, undefined);
});

test('finding 4: DELETE of the namespaces collection is a 405, as kube, and deletes nothing', async (t) => {
  const { url } = await startServer(t);
  await call(url, 'POST', '/api/v1/namespaces', { metadata: { name: 'team' } });
  const answer = await call(url, 'DELETE', '/api/v1/namespaces');
  t.is(answer.status, 405);
  t.is(answer.body.reason, 'MethodNotAllowed');
  t.log(`DELETE /api/v1/namespaces: ${answer.status}: ${answer.body.message}`);
  const names = (await call(url, 'GET', '/api/v1/namespaces')).body.items.map((n: any) => n.metadata.name).sort();
  t.true(names.includes('default') && names.includes('kube-system') && names.includes('team'));
  const discovery = (await call(url, 'GET', '/api/v1')).body.resources.find((r: any) => r.name === 'namespaces');
  t.false(discovery.verbs.includes('deletecollection'), 'discovery does not offer it either');
  // Other collections still delete.
  await call(url, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'a' } });
  t.is((await call(url, 'DELETE', '/api/v1/namespaces/team/configmaps')).status, 200);
});

test('fuzz finding: null list items are stored as zero values (as Go decodes them) and Tables of odd objects print, not 500', async (t) => {
  const { url } = await startServer(t);
  const endpoints = '/api/v1/namespaces/default/endpoints';
  const created = await call(url, 'POST', endpoints, { metadata: { name: 'nulls' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [null] }] });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.deepEqual(created.body.subsets[0].ports, [{}]);
  const bad = await call(url, 'POST', endpoints, { metadata: { name: 'nulls2' }, subsets: [{ addresses: [null] }] });
  t.is(bad.status, 422, 'a null address is an empty one, which validation refuses');
  const table = await fetch(`${url}${endpoints}`, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
  t.is(table.status, 200);
  t.is(((await table.json()) as any).rows[0].cells[0], 'nulls');
});

test('finding 5: deep YAML never reaches the parser, whose stack overflow could abort the process', async (t) => {
  const { url } = await startServer(t);
  const configmaps = '/api/v1/namespaces/default/configmaps';
  for (const depth of [300, 600, 900, 2000]) {
    let flow = 'x';
    for (let i = 0; i < depth; i++) flow = i % 2 ? `[${flow}]` : `{a: ${flow}}`;
    let block = 'metadata: {name: b}\nx:\n';
    for (let i = 1; i <= depth; i++) block += `${' '.repeat(i)}a:\n`;
    for (const body of [`metadata: {name: f}\nx: ${flow}\n`, block]) {
      const answer = await call(url, 'POST', configmaps, body, 'application/yaml');
      t.is(answer.status, 400, `${depth} levels`);
      t.regex(answer.body.message, /nested too deeply: more than 256 levels/);
    }
  }
  // A real manifest's nesting is far below the bound.
  const manifest = 'metadata:\n  name: ok\n  annotations: {app: "a [not] {a bracket}"}\ndata:\n  # a comment with [[[[ brackets\n  k: |\n    [[[[\n';
  t.is((await call(url, 'POST', configmaps, manifest, 'application/yaml')).status, 201);
  t.is((await call(url, 'GET', '/version')).status, 200);
});

test('finding 4: deleting a namespace purges what it held, but not what a namespace of the same name created meanwhile holds', async (t) => {
  const { url } = await startServer(t, 'file', { dataDir: await tempDir(t) });
  await call(url, 'POST', '/api/v1/namespaces', { metadata: { name: 'team' } });
  const configmaps = '/api/v1/namespaces/team/configmaps';
  const pods = '/api/v1/namespaces/team/pods';
  // Pods are purged before configmaps: while their 300 deletes run, the namespace is re-created.
  const pod = (name: string) => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } });
  for (let i = 0; i < 300; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => call(url, 'POST', pods, pod(`old-${i + j}`))));
  await call(url, 'POST', configmaps, { metadata: { name: 'old-cm' } });
  t.is((await call(url, 'DELETE', '/api/v1/namespaces/team')).status, 200);
  // While the purge of 300 objects runs, the namespace comes back with an object of its own.
  t.is((await call(url, 'POST', '/api/v1/namespaces', { metadata: { name: 'team' } })).status, 201);
  t.is((await call(url, 'POST', configmaps, { metadata: { name: 'fresh' } })).status, 201);
  const names = async (path: string) => ((await call(url, 'GET', path)).body.items as any[]).map((c) => c.metadata.name);
  const started = Date.now();
  while ((await names(configmaps)).includes('old-cm') && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  t.deepEqual(await names(pods), [], 'the old pods are gone');
  t.deepEqual(await names(configmaps), ['fresh'], 'the old configmap is gone, the new one stays');
});

/** slowRequest sends a request's headers and part of its body, then nothing: it stays in flight. */
function slowRequest(port: number, method: string, path: string): Promise<{ socket: Socket; answer: Promise<string> }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"metadata":`);
      let text = '';
      const answer = new Promise<string>((done) => {
        socket.on('data', (b) => (text += b));
        socket.on('close', () => done(text));
      });
      resolve({ socket, answer });
    });
    socket.on('error', () => {});
  });
}

test('inflight limits: writes past --max-mutating-requests-inflight get 429 with Retry-After; reads, health and watches go on', async (t) => {
  const { url, port } = await startServer(t, 'memory', {}, { inflight: { maxRequestsInflight: 3, maxMutatingRequestsInflight: 2 } });
  const slow = await Promise.all([slowRequest(port, 'POST', '/api/v1/namespaces/default/configmaps'), slowRequest(port, 'POST', '/api/v1/namespaces/default/configmaps')]);
  t.teardown(() => slow.forEach((s) => s.socket.destroy()));
  await new Promise((r) => setTimeout(r, 100));
  const res = await fetch(`${url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'third' } }) });
  t.is(res.status, 429);
  t.is(res.headers.get('retry-after'), '1');
  const status = (await res.json()) as any;
  t.is(status.reason, 'TooManyRequests');
  t.log(`third write: ${res.status} Retry-After ${res.headers.get('retry-after')}: ${status.message}`);
  t.is((await call(url, 'GET', '/api/v1/namespaces/default/configmaps')).status, 200, 'reads have their own pool');
  t.is((await call(url, 'GET', '/readyz')).status, 200);
  const watch = await fetch(`${url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1`);
  t.is(watch.status, 200, 'watches are not counted');
  await watch.text();
  for (const s of slow) s.socket.destroy();
  await new Promise((r) => setTimeout(r, 100));
  t.is((await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'third' } })).status, 201, 'the slots came back');
});

test('--request-timeout: a client that never finishes its body is cut off (408) and frees its slot', async (t) => {
  const { url, port } = await startServer(t, 'memory', {}, { requestTimeoutMs: 1000, inflight: { maxRequestsInflight: 10, maxMutatingRequestsInflight: 1 } });
  const started = Date.now();
  const slow = await slowRequest(port, 'POST', '/api/v1/namespaces/default/configmaps');
  t.teardown(() => slow.socket.destroy());
  const answer = await slow.answer;
  const ms = Date.now() - started;
  t.regex(answer, /^HTTP\/1\.1 408/);
  t.true(ms < 3000, `${ms} ms`);
  t.log(`a trickled body: ${answer.split('\r\n')[0]} after ${ms} ms`);
  t.is((await call(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'after' } })).status, 201);
});
