import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kubectl, kubectls, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 17 (part 1): kubectl against `ferry apiserver` with the kinds everyday
 * manifests hold: apply of one object of each, `get all`, the short names,
 * server-side columns, defaults, 422s naming the field, and `apply --prune`
 * with kubectl's default allow-list (which maps PVCs, Jobs, Ingresses...).
 */
const manifest = new URL('./fixtures/everyday.yaml', import.meta.url);

const kinds = [
  'secret/db-credentials', 'serviceaccount/shop', 'persistentvolume/shop-data', 'persistentvolumeclaim/shop-data', 'replicationcontroller/legacy',
  'statefulset.apps/db', 'daemonset.apps/log-agent', 'job.batch/migrate', 'cronjob.batch/nightly-backup', 'ingressclass.networking.k8s.io/nginx',
  'ingress.networking.k8s.io/shop', 'networkpolicy.networking.k8s.io/db-from-web', 'role.rbac.authorization.k8s.io/pod-reader',
  'rolebinding.rbac.authorization.k8s.io/shop-reads-pods', 'clusterrole.rbac.authorization.k8s.io/shop:node-viewer', 'clusterrolebinding.rbac.authorization.k8s.io/shop:node-viewer',
];

/** Invalid objects, each with the field and message kube's 422 names. */
const invalid: Array<{ doc: string; expect: RegExp }> = [
  { doc: 'apiVersion: v1\nkind: Secret\nmetadata: {name: bad-b64}\ndata: {key: "not base64!"}', expect: /Secret "bad-b64" is invalid: data\[key\]: Invalid value: .*illegal base64 data at input byte 3/ },
  { doc: 'apiVersion: v1\nkind: Secret\nmetadata: {name: bad-tls}\ntype: kubernetes.io/tls\ndata: {tls.crt: YQ==}', expect: /Secret "bad-tls" is invalid: data\[tls\.key\]: Required value/ },
  { doc: 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: bad-restart}\nspec: {template: {spec: {containers: [{name: a, image: busybox}]}}}', expect: /Job "bad-restart" is invalid: spec\.template\.spec\.restartPolicy: Unsupported value: "Always"/ },
  { doc: 'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: bad-schedule}\nspec: {schedule: "61 * * * *", jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: a, image: busybox}]}}}}}', expect: /CronJob "bad-schedule" is invalid: spec\.schedule: Invalid value: "61 \* \* \* \*"/ },
  { doc: 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: bad-path}\nspec: {rules: [{http: {paths: [{path: /, backend: {service: {name: web, port: {number: 80}}}}]}}]}', expect: /spec\.rules\[0\]\.http\.paths\[0\]\.pathType: Required value/ },
  { doc: 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: bad-claim}\nspec: {accessModes: [ReadWriteSometimes]}', expect: /spec\.accessModes\[0\]: Unsupported value: "ReadWriteSometimes"[^]*spec\.resources\[storage\]: Required value/ },
  { doc: 'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: bad-ref}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Deployment, name: x}', expect: /roleRef\.kind: Unsupported value: "Deployment"/ },
  { doc: 'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: bad-selector}\nspec: {selector: {matchLabels: {app: a}}, template: {metadata: {labels: {app: b}}, spec: {containers: [{name: a, image: busybox}]}}}', expect: /spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/ },
  { doc: 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: bad-type}\nspec: {revisionHistoryLimit: "ten"}', expect: /spec\.revisionHistoryLimit: Invalid value: "ten": must be of type integer/ },
  { doc: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad-cidr}\nspec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/40}}]}]}', expect: /spec\.egress\[0\]\.to\[0\]\.ipBlock\.cidr: Invalid value: "10\.0\.0\.0\/40"/ },
  { doc: 'apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: bad-volume}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce]}', expect: /PersistentVolume "bad-volume" is invalid: spec: Required value: must specify a volume type/ },
];

for (const bin of kubectls()) {
  test(`kubectl ${bin}: everyday kinds: apply, get all, short names, columns, defaults, 422s, prune`, async (t) => {
    const { url } = await startServer(t);
    const dir = await tempDir(t);
    const k = async (...args: string[]): Promise<string> => {
      const r = await kubectl(bin, url, join(dir, 'cache'), args);
      t.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    };

    const resources = await k('api-resources', '--no-headers');
    for (const [name, short] of [['serviceaccounts', 'sa'], ['statefulsets', 'sts'], ['daemonsets', 'ds'], ['cronjobs', 'cj'], ['persistentvolumeclaims', 'pvc'], ['persistentvolumes', 'pv'], ['replicationcontrollers', 'rc'], ['ingresses', 'ing'], ['networkpolicies', 'netpol']]) {
      t.regex(resources, new RegExp(`^${name}\\s+${short}\\s`, 'm'), `${name} (${short}) missing:\n${resources}`);
    }
    t.regex(resources, /^clusterrolebindings\s+rbac\.authorization\.k8s\.io\/v1\s+false\s+ClusterRoleBinding$/m);

    // Default client-side validation: kubectl checks the manifest against the served OpenAPI first.
    const applied = await k('apply', '-f', manifest.pathname);
    for (const name of kinds) t.regex(applied, new RegExp(`^${name.replace(/\./g, '\\.')} created$`, 'm'));

    // `get all` lists the kinds in kube's `all` category: workloads, not secrets, claims or ingresses.
    const all = await k('get', 'all', '-n', 'shop');
    for (const name of ['replicationcontroller/legacy', 'statefulset.apps/db', 'daemonset.apps/log-agent', 'job.batch/migrate', 'cronjob.batch/nightly-backup']) t.true(all.includes(name), `${name} missing in get all:\n${all}`);
    for (const name of ['secret/', 'persistentvolumeclaim/', 'ingress.']) t.false(all.includes(name), `${name} in get all:\n${all}`);
    // ...in kube's order, which kubectl takes from discovery (groups by kube's priority, resources by name).
    const kindsInOrder = (await k('get', 'all', '-n', 'shop', '-o', 'name')).trim().split('\n').map((n) => n.split('/')[0]);
    t.deepEqual(kindsInOrder, ['replicationcontroller', 'daemonset.apps', 'statefulset.apps', 'cronjob.batch', 'job.batch']);

    // Short names and the server-side columns kubectl prints.
    const listed = await k('get', 'sa,secrets,sts,ds,cj,jobs,ing,netpol,pvc,pv,rc', '-n', 'shop');
    t.regex(listed, /^NAME\s+TYPE\s+DATA\s+AGE\nsecret\/db-credentials\s+Opaque\s+2\s/m);
    t.regex(listed, /^statefulset\.apps\/db\s+0\/2\s/m);
    t.regex(listed, /^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\ncronjob\.batch\/nightly-backup\s+0 3 \* \* \*\s+<none>\s+false\s+0\s+<none>/m);
    t.regex(listed, /^job\.batch\/migrate\s+Running\s+0\/1\s/m);
    t.regex(listed, /^ingress\.networking\.k8s\.io\/shop\s+nginx\s+shop\.example\.com\s+80, 443\s/m);
    t.regex(listed, /^networkpolicy\.networking\.k8s\.io\/db-from-web\s+tier=db\s/m);
    t.regex(listed, /^persistentvolumeclaim\/shop-data\s+Pending\s+manual\s+<unset>\s/m);
    t.regex(listed, /^persistentvolume\/shop-data\s+1Gi\s+RWO\s+Retain\s+Pending\s+manual\s/m);
    t.regex(listed, /^replicationcontroller\/legacy\s+1\s+0\s+0\s/m);
    t.regex(await k('get', 'rolebindings', '-n', 'shop'), /shop-reads-pods\s+Role\/pod-reader\s/);
    t.regex(await k('get', 'ingressclass'), /nginx\s+k8s\.io\/ingress-nginx\s+<none>\s/);

    // kubectl explain reads the served OpenAPI for each kind.
    for (const [what, field] of [['secret.stringData', /stringData/], ['cronjob.spec.jobTemplate', /JobTemplateSpec/], ['sts.spec.updateStrategy', /StatefulSetUpdateStrategy/], ['ingress.spec.rules', /IngressRule/], ['netpol.spec.podSelector', /LabelSelector/], ['pvc.spec.accessModes', /accessModes/], ['clusterrolebinding.roleRef', /RoleRef/]] as const) {
      t.regex(await k('explain', what), field, what);
    }

    // Defaults and conversions as kube: stringData merged into data, the Job's generated selector, policy types.
    const secret = JSON.parse(await k('get', 'secret', '-n', 'shop', 'db-credentials', '-o', 'json'));
    t.deepEqual(secret.data, { username: 'YWRtaW4=', password: Buffer.from('s3cr3t').toString('base64') });
    t.is(secret.stringData, undefined);
    const job = JSON.parse(await k('get', 'job', '-n', 'shop', 'migrate', '-o', 'json'));
    t.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': job.metadata.uid } });
    t.is(job.spec.template.metadata.labels['job-name'], 'migrate');
    t.like(job.spec, { backoffLimit: 6, completions: 1, parallelism: 1, completionMode: 'NonIndexed', suspend: false });
    const sts = JSON.parse(await k('get', 'sts', '-n', 'shop', 'db', '-o', 'json'));
    t.like(sts.spec, { podManagementPolicy: 'OrderedReady', revisionHistoryLimit: 10, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } });
    const rc = JSON.parse(await k('get', 'rc', '-n', 'shop', 'legacy', '-o', 'json'));
    t.deepEqual(rc.spec.selector, { app: 'shop', tier: 'legacy' });
    t.deepEqual(JSON.parse(await k('get', 'netpol', '-n', 'shop', 'db-from-web', '-o', 'json')).spec.policyTypes, ['Ingress']);
    const crb = JSON.parse(await k('get', 'clusterrolebinding', 'shop:node-viewer', '-o', 'json'));
    t.is(crb.subjects[0].apiGroup, 'rbac.authorization.k8s.io');
    t.regex(await k('describe', 'cronjob', '-n', 'shop', 'nightly-backup'), /Schedule:\s+0 3 \* \* \*/);

    // Scale and status subresources.
    t.regex(await k('scale', 'sts', '-n', 'shop', 'db', '--replicas=3'), /statefulset\.apps\/db scaled/);
    t.is(JSON.parse(await k('get', 'sts', '-n', 'shop', 'db', '-o', 'json')).spec.replicas, 3);
    t.regex(await k('scale', 'rc', '-n', 'shop', 'legacy', '--replicas=0'), /replicationcontroller\/legacy scaled/);

    // Re-applying changes nothing that was unchanged.
    const again = await k('apply', '--validate=false', '-f', manifest.pathname);
    for (const name of ['job.batch/migrate', 'cronjob.batch/nightly-backup', 'persistentvolumeclaim/shop-data', 'daemonset.apps/log-agent', 'ingress.networking.k8s.io/shop']) {
      t.regex(again, new RegExp(`^${name.replace(/\./g, '\\.')} unchanged$`, 'm'));
    }

    // Invalid objects: 422 naming the field.
    for (const { doc, expect } of invalid) {
      const r = await kubectl(bin, url, join(dir, 'cache'), ['apply', '--validate=false', '-n', 'shop', '-f', '-'], doc);
      t.not(r.code, 0, doc);
      t.regex(r.stderr, / is invalid: /, doc);
      t.regex(r.stderr, expect, r.stderr);
    }

    // apply --prune with kubectl's default allow-list: objects left out of the set go, the rest stay.
    const docs = (await readFile(manifest, 'utf8')).split('\n---\n');
    const kept = docs.filter((d) => !/name: migrate|kind: PersistentVolumeClaim|kind: Secret/.test(d));
    const prunedPath = join(dir, 'pruned.yaml');
    await writeFile(prunedPath, kept.join('\n---\n'));
    const pruned = await k('apply', '--validate=false', '--prune', '-l', 'app=shop', '-f', prunedPath);
    for (const name of ['persistentvolumeclaim/shop-data', 'secret/db-credentials', 'job.batch/migrate']) t.regex(pruned, new RegExp(`^${name.replace(/\./g, '\\.')} pruned$`, 'm'));
    t.false(pruned.includes('statefulset.apps/db pruned'));
    const left = parseAllDocuments(await k('get', 'secrets,pvc,jobs,sts,rc', '-n', 'shop', '-o', 'yaml'))[0]!.toJS() as { items: Array<{ kind: string }> };
    t.deepEqual(left.items.map((i) => i.kind).sort(), ['ReplicationController', 'StatefulSet']);

    // delete each kind.
    const deleted = await k('delete', '-n', 'shop', 'sa/shop', 'sts/db', 'ds/log-agent', 'cj/nightly-backup', 'ing/shop', 'netpol/db-from-web', 'rc/legacy', 'role/pod-reader', 'rolebinding/shop-reads-pods', 'pv/shop-data', 'clusterrole/shop:node-viewer', 'clusterrolebinding/shop:node-viewer', 'ingressclass/nginx');
    for (const name of ['serviceaccount "shop"', 'statefulset.apps "db"', 'cronjob.batch "nightly-backup"', 'persistentvolume "shop-data"', 'clusterrole.rbac.authorization.k8s.io "shop:node-viewer"']) t.true(deleted.includes(`${name} deleted`), deleted);
    t.regex(await k('get', 'sa,sts,ds,cj,ing,netpol,rc,roles,rolebindings', '-n', 'shop', '-o', 'name'), /^$/);
  });
}

for (const bin of kubectls()) {
  test(`kubectl ${bin}: typed creates of the everyday kinds (protobuf bodies from kubectl 1.32) are stored as sent`, async (t) => {
    const { url } = await startServer(t);
    const dir = await tempDir(t);
    const k = async (...args: string[]): Promise<string> => {
      const r = await kubectl(bin, url, join(dir, 'cache'), args);
      t.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    };
    const json = async (...args: string[]): Promise<any> => JSON.parse(await k('get', ...args, '-o', 'json'));
    await k('create', 'secret', 'generic', 's1', '--from-literal=user=admin');
    await k('create', 'secret', 'docker-registry', 'pull', '--docker-server=r.example', '--docker-username=u', '--docker-password=p');
    await k('create', 'serviceaccount', 'robot');
    await k('create', 'cronjob', 'tick', '--image=busybox:1.36', '--schedule=*/5 * * * *');
    await k('create', 'job', 'once', '--from=cronjob/tick');
    await k('create', 'role', 'reader', '--verb=get,list', '--resource=pods');
    await k('create', 'clusterrole', 'logs', '--verb=get', '--non-resource-url=/logs/*');
    await k('create', 'rolebinding', 'reader', '--role=reader', '--user=bob', '--serviceaccount=default:robot');
    await k('create', 'clusterrolebinding', 'logs', '--clusterrole=logs', '--group=devs');
    await k('create', 'ingress', 'web', '--class=nginx', '--rule=shop.example/api*=api:8080,tls=shop-tls');

    t.deepEqual((await json('secret', 's1')).data, { user: Buffer.from('admin').toString('base64') });
    t.is((await json('secret', 'pull')).type, 'kubernetes.io/dockerconfigjson');
    const job = await json('job', 'once');
    t.like(job.metadata.ownerReferences[0], { kind: 'CronJob', name: 'tick' });
    t.is(job.spec.template.spec.containers[0].image, 'busybox:1.36');
    t.is((await json('cronjob', 'tick')).spec.schedule, '*/5 * * * *');
    t.deepEqual((await json('role', 'reader')).rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]);
    t.deepEqual((await json('clusterrole', 'logs')).rules, [{ nonResourceURLs: ['/logs/*'], verbs: ['get'] }]);
    t.deepEqual((await json('rolebinding', 'reader')).subjects, [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob' },
      { apiGroup: '', kind: 'ServiceAccount', name: 'robot', namespace: 'default' },
    ]);
    t.like((await json('clusterrolebinding', 'logs')).roleRef, { kind: 'ClusterRole', name: 'logs' });
    t.like((await json('ingress', 'web')).spec, {
      ingressClassName: 'nginx',
      rules: [{ host: 'shop.example', http: { paths: [{ path: '/api', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 8080 } } } }] } }],
      tls: [{ hosts: ['shop.example'], secretName: 'shop-tls' }],
    });
  });
}
