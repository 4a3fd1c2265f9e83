import test from 'ava';
import { join } from 'node:path';
import { kubectl, kubectls, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 17 (CRDs): kubectl against `ferry apiserver` with the CronTab of the
 * Kubernetes docs: the CRD is established and served at once (discovery with
 * short names and categories, OpenAPI for explain), custom objects get their
 * defaults, unknown fields pruned, 422s naming the field, printer columns,
 * selectors, the status and scale subresources, a second served version, a
 * watch; deleting the CRD deletes its objects.
 */
const crd = new URL('./fixtures/crontab-crd.yaml', import.meta.url).pathname;
const cronTab = (name: string, spec: string, labels = '{app: cron}'): string => `apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: ${name}, labels: ${labels}}\nspec: ${spec}\n`;

for (const bin of kubectls()) {
  test(`kubectl ${bin}: a CRD is served with schema validation, defaults, pruning, columns, subresources; deleting it deletes its objects`, async (t) => {
    const { url } = await startServer(t);
    const dir = await tempDir(t);
    const run = (args: string[], input?: string) => kubectl(bin, url, join(dir, 'cache'), args, input);
    const k = async (args: string[], input?: string): Promise<string> => {
      const r = await run(args, input);
      t.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    };

    t.regex(await k(['apply', '-f', crd]), /customresourcedefinition\.apiextensions\.k8s\.io\/crontabs\.stable\.example\.com created/);
    t.regex(await k(['wait', '--for', 'condition=established', 'crd/crontabs.stable.example.com', '--timeout=5s']), /condition met/);
    const status = JSON.parse(await k(['get', 'crd', 'crontabs.stable.example.com', '-o', 'jsonpath={.status}'])) as { conditions: Array<{ type: string; status: string }>; storedVersions: string[] };
    t.deepEqual(status.conditions.map((c) => `${c.type}=${c.status}`), ['NamesAccepted=True', 'Established=True']);
    t.deepEqual(status.storedVersions, ['v1']);
    t.regex(await k(['api-resources', '--api-group', 'stable.example.com', '--no-headers']), /^crontabs\s+ct\s+stable\.example\.com\/v1\s+true\s+CronTab$/m);

    // Strict field validation (kubectl's default) refuses an unknown field; with warnings it is pruned.
    const strict = await run(['apply', '-f', '-'], cronTab('strict', '{cronSpec: "* * * * */5", color: red}'));
    t.regex(strict.stderr, /strict decoding error: unknown field "spec\.color"/);
    const warned = await run(['apply', '--validate=warn', '-f', '-'], cronTab('my-cron', '{cronSpec: "* * * * */5", image: my-cron-image, color: red, config: {kept: [1, 2]}}'));
    t.is(warned.code, 0, warned.stderr);
    t.regex(warned.stderr, /unknown field "spec\.color"/);
    const stored = JSON.parse(await k(['get', 'ct', 'my-cron', '-o', 'json'])) as { spec: Record<string, unknown> };
    t.deepEqual(stored.spec, { cronSpec: '* * * * */5', image: 'my-cron-image', replicas: 1, config: { kept: [1, 2] } }, 'default applied, unknown field pruned, preserved subtree kept');

    // Printer columns, the `all` category, label and field selectors.
    t.regex(await k(['get', 'ct']), /^NAME\s+SPEC\s+REPLICAS\s+AGE\nmy-cron\s+\* \* \* \* \*\/5\s+1\s+\d+s\n$/);
    t.regex(await k(['get', 'all']), /crontab\.stable\.example\.com\/my-cron/);
    t.regex(await k(['get', 'ct', '-l', 'app=cron', '-o', 'name']), /^crontab\.stable\.example\.com\/my-cron$/m);
    t.is((await run(['get', 'ct', '-l', 'app=other', '-o', 'name'])).stdout, '');
    t.is((await run(['get', 'ct', '--field-selector', 'metadata.name=other', '-o', 'name'])).stdout, '');
    t.regex(await k(['get', 'ct', '--field-selector', 'metadata.name=my-cron,metadata.namespace=default', '-o', 'name']), /my-cron/);

    // Invalid objects: 422 naming each field, as kube's schema validation words it.
    const bad = await run(['apply', '-f', '-'], cronTab('bad', '{cronSpec: "every minute", replicas: 20, policy: Maybe, image: 5}'));
    t.regex(bad.stderr, /The CronTab "bad" is invalid:/);
    t.regex(bad.stderr, /spec\.cronSpec: Invalid value: "every minute": spec\.cronSpec in body should match/);
    t.regex(bad.stderr, /spec\.replicas: Invalid value: 20: spec\.replicas in body should be less than or equal to 10/);
    t.regex(bad.stderr, /spec\.policy: Unsupported value: "Maybe": supported values: "Allow", "Forbid"/);
    t.regex(bad.stderr, /spec\.image: Invalid value: "integer": spec\.image in body must be of type string/);
    t.regex((await run(['apply', '-f', '-'], cronTab('bad2', '{image: x}'))).stderr, /The CronTab "bad2" is invalid: spec\.cronSpec: Required value/);

    // explain reads the CRD's schema from the served OpenAPI.
    const explained = await k(['explain', 'crontab.spec']);
    t.regex(explained, /What the CronTab runs and how often/);
    t.regex(explained, /cronSpec\s+<string> -required-/);

    // scale writes specReplicasPath; the status subresource alone writes status.
    t.regex(await k(['scale', 'ct', 'my-cron', '--replicas=3']), /scaled/);
    t.is(await k(['get', 'ct', 'my-cron', '-o', 'jsonpath={.spec.replicas}']), '3');
    await k(['patch', 'ct', 'my-cron', '--subresource=status', '--type=merge', '-p', '{"status":{"replicas":3,"labelSelector":"app=cron"}}']);
    await k(['patch', 'ct', 'my-cron', '--type=merge', '-p', '{"status":{"replicas":9}}']);
    t.is(await k(['get', 'ct', 'my-cron', '-o', 'jsonpath={.status.replicas}']), '3', 'a main-resource write leaves status alone');
    const scale = JSON.parse(await k(['get', '--raw', '/apis/stable.example.com/v1/namespaces/default/crontabs/my-cron/scale'])) as { spec: { replicas: number }; status: { replicas: number; selector: string } };
    t.deepEqual([scale.spec.replicas, scale.status.replicas, scale.status.selector], [3, 3, 'app=cron']);

    // The second served version reads the same objects (conversion strategy None).
    t.is(await k(['get', 'crontabs.v1beta1.stable.example.com', 'my-cron', '-o', 'jsonpath={.apiVersion} {.spec.cronSpec}']), 'stable.example.com/v1beta1 * * * * */5');

    // Server-side apply tracks a custom resource's fields from its schema.
    t.regex(await k(['apply', '--server-side', '-f', '-'], cronTab('ssa', '{cronSpec: "*/2 * * * *", image: a}')), /serverside-applied/);
    t.regex(await k(['apply', '--server-side', '-f', '-'], cronTab('ssa', '{cronSpec: "*/2 * * * *"}')), /serverside-applied/);
    t.is(await k(['get', 'ct', 'ssa', '-o', 'jsonpath={.spec}']), '{"cronSpec":"*/2 * * * *","replicas":1}', 'the field it stopped applying is removed');

    // Deleting the CRD stops serving it and deletes its objects: a new CRD of the same name starts empty.
    await k(['delete', 'crd', 'crontabs.stable.example.com']);
    t.regex((await run(['get', 'crontabs.stable.example.com'])).stderr, /the server doesn't have a resource type|could not find the requested resource/);
    await k(['apply', '-f', crd]);
    await k(['wait', '--for', 'condition=established', 'crd/crontabs.stable.example.com', '--timeout=5s']);
    t.regex((await run(['get', 'ct'])).stderr, /No resources found/);
  });
}

test('a CRD is served within a second: discovery, OpenAPI v2 and v3, CRUD and watch over REST', async (t) => {
  const { url } = await startServer(t);
  const dir = await tempDir(t);
  const created = await kubectl('/usr/bin/kubectl', url, join(dir, 'cache'), ['apply', '-f', crd]);
  t.is(created.code, 0, created.stderr);
  const started = Date.now();
  let discovered: Response;
  while (!(discovered = await fetch(`${url}/apis/stable.example.com/v1`)).ok && Date.now() - started < 1000) await new Promise((r) => setTimeout(r, 10));
  t.true(Date.now() - started < 1000, 'served within a second');
  const list = (await discovered.json()) as { resources: Array<{ name: string; shortNames?: string[]; categories?: string[] }> };
  t.deepEqual(list.resources.map((r) => r.name), ['crontabs', 'crontabs/status', 'crontabs/scale']);
  t.deepEqual([list.resources[0]!.shortNames, list.resources[0]!.categories], [['ct'], ['all']]);
  const groups = (await (await fetch(`${url}/apis/stable.example.com`)).json()) as { preferredVersion: { version: string }; versions: Array<{ version: string }> };
  t.is(groups.preferredVersion.version, 'v1');

  const v2 = (await (await fetch(`${url}/openapi/v2`)).json()) as { definitions: Record<string, { 'x-kubernetes-group-version-kind'?: unknown; properties?: Record<string, unknown> }>; paths: Record<string, unknown> };
  t.deepEqual(v2.definitions['com.example.stable.v1.CronTab']?.['x-kubernetes-group-version-kind'], [{ group: 'stable.example.com', kind: 'CronTab', version: 'v1' }]);
  t.truthy(v2.paths['/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/status']);
  const index = (await (await fetch(`${url}/openapi/v3`)).json()) as { paths: Record<string, { serverRelativeURL: string }> };
  const v3 = (await (await fetch(`${url}${index.paths['apis/stable.example.com/v1']!.serverRelativeURL}`)).json()) as { components: { schemas: Record<string, unknown> } };
  t.truthy(v3.components.schemas['com.example.stable.v1.CronTab']);

  const base = `${url}/apis/stable.example.com/v1/namespaces/default/crontabs`;
  const watch = await fetch(`${base}?watch=1`);
  const reader = watch.body!.getReader();
  const post = await fetch(base, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ apiVersion: 'stable.example.com/v1', kind: 'CronTab', metadata: { name: 'w' }, spec: { cronSpec: '*/5 * * * *' } }) });
  t.is(post.status, 201);
  const first = new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  const event = JSON.parse(first.split('\n')[0]!) as { type: string; object: { metadata: { name: string }; spec: { replicas: number } } };
  t.deepEqual([event.type, event.object.metadata.name, event.object.spec.replicas], ['ADDED', 'w', 1]);
  t.is((await fetch(`${base}/w`, { method: 'DELETE' })).status, 200);
  t.is((await fetch(`${base}/w`)).status, 404);
});
