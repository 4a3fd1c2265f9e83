import test from 'ava';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kubectl, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 16 part 1: `/openapi/v2` (JSON and gnostic protobuf) and `/openapi/v3`
 * (index and per group-version documents with ETags), so that kubectl's
 * default `--validate=strict` apply, `explain` and `edit` work on 1.27, 1.32, 1.33.
 */
const kubectlVersions = ['1.27', '1.32', '1.33'].map((v) => `/usr/lib/google-cloud-sdk/bin/kubectl.${v}`).filter((p) => existsSync(p));
if (kubectlVersions.length === 0) kubectlVersions.push('/usr/bin/kubectl');

const app = `apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: demo}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 80}]
        resources: {limits: {cpu: 1, memory: 64Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
`;

test('/openapi/v3 indexes a document per group-version; each has an ETag, answers 304 to it, and redirects a stale hash', async (t) => {
  const { url } = await startServer(t);
  const index = (await (await fetch(`${url}/openapi/v3`)).json()) as { paths: Record<string, { serverRelativeURL: string }> };
  t.deepEqual(Object.keys(index.paths).sort(), ['api/v1', 'apis/apiextensions.k8s.io/v1', 'apis/apps/v1', 'apis/authentication.k8s.io/v1', 'apis/authorization.k8s.io/v1', 'apis/batch/v1', 'apis/coordination.k8s.io/v1', 'apis/discovery.k8s.io/v1', 'apis/events.k8s.io/v1', 'apis/networking.k8s.io/v1', 'apis/rbac.authorization.k8s.io/v1']);
  const core = await fetch(`${url}${index.paths['api/v1']!.serverRelativeURL}`);
  t.is(core.status, 200);
  t.regex(core.headers.get('cache-control') ?? '', /immutable/);
  const etag = core.headers.get('etag')!;
  const doc = (await core.json()) as { components: { schemas: Record<string, any> }; paths: Record<string, any> };
  const service = doc.components.schemas['io.k8s.api.core.v1.Service'];
  t.deepEqual(service['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Service', version: 'v1' }]);
  const ports = doc.components.schemas['io.k8s.api.core.v1.ServiceSpec'].properties.ports;
  t.is(ports.items.$ref, '#/components/schemas/io.k8s.api.core.v1.ServicePort');
  t.deepEqual(doc.components.schemas['io.k8s.api.core.v1.Service'].properties.spec.allOf, [{ $ref: '#/components/schemas/io.k8s.api.core.v1.ServiceSpec' }]);
  t.is(ports['x-kubernetes-patch-merge-key'], 'port');
  const patch = doc.paths['/api/v1/namespaces/{namespace}/services/{name}'].patch;
  t.true(patch.parameters.some((p: { name: string }) => p.name === 'fieldValidation'));
  const again = await fetch(`${url}/openapi/v3/api/v1`, { headers: { 'If-None-Match': etag } });
  t.is(again.status, 304);
  const stale = await fetch(`${url}/openapi/v3/api/v1?hash=0123`, { redirect: 'manual' });
  t.is(stale.status, 301);
  t.is(stale.headers.get('location'), index.paths['api/v1']!.serverRelativeURL);
  t.is((await fetch(`${url}/openapi/v3/apis/policy/v1`)).status, 404);
});

test('/openapi/v2 is JSON by default and gnostic protobuf when asked, with the same ETag on a repeat', async (t) => {
  const { url } = await startServer(t);
  const json = await fetch(`${url}/openapi/v2`);
  const v2 = (await json.json()) as { swagger: string; definitions: Record<string, any> };
  t.is(v2.swagger, '2.0');
  t.deepEqual(v2.definitions['io.k8s.api.apps.v1.Deployment']['x-kubernetes-group-version-kind'], [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
  t.regex(v2.definitions['io.k8s.api.core.v1.ServicePort'].properties.port.description, /The port that will be exposed by this service/);
  const pb = await fetch(`${url}/openapi/v2`, { headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
  t.is(pb.headers.get('content-type'), 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
  const bytes = Buffer.from(await pb.arrayBuffer());
  t.is(bytes[0], 0x0a); // field 1 (swagger), length-delimited
  t.is(bytes.subarray(2, 2 + bytes[1]!).toString(), '2.0');
  const repeat = await fetch(`${url}/openapi/v2`, { headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf', 'If-None-Match': pb.headers.get('etag')! } });
  t.is(repeat.status, 304);
});

for (const bin of kubectlVersions) {
  test(`${bin}: apply -f with default validation, re-apply, explain and edit`, async (t) => {
    const { url } = await startServer(t);
    const dir = await tempDir(t);
    const cache = join(dir, 'cache');
    const k = async (args: string[], env?: Record<string, string>): Promise<string> => {
      const saved = { ...process.env };
      Object.assign(process.env, env);
      const r = await kubectl(bin, url, cache, args);
      process.env = saved;
      t.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout + r.stderr;
    };
    const file = join(dir, 'app.yaml');
    await writeFile(file, app);
    t.regex(await k(['apply', '-f', file]), /deployment.apps\/web created[\s\S]*service\/web created/);
    await writeFile(file, app.replace('replicas: 1', 'replicas: 2').replace('a: "1"', 'a: "3"'));
    const reapplied = await k(['apply', '-f', file]);
    t.regex(reapplied, /configmap\/cfg configured/);
    t.regex(reapplied, /deployment.apps\/web configured/);
    t.is(await k(['-n', 'demo', 'get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}']), '2');

    const explained = await k(['explain', 'service.spec.ports']);
    t.regex(explained, /FIELD: +ports +<\[\]ServicePort>/);
    t.regex(explained, /\n  port\t<integer> -required-\n +The port that will be exposed by this service/);
    t.regex(explained, /The list of ports that are exposed by this service/);

    const editor = join(dir, 'editor.sh');
    await writeFile(editor, `#!/bin/sh\nsed -i 's/a: "3"/a: "edited"/' "$1"\n`);
    await chmod(editor, 0o755);
    t.regex(await k(['-n', 'demo', 'edit', 'configmap', 'cfg'], { EDITOR: editor, KUBE_EDITOR: editor }), /configmap\/cfg edited/);
    t.is(await k(['-n', 'demo', 'get', 'cm', 'cfg', '-o', 'jsonpath={.data.a}']), 'edited');
  });
}
