import test from 'ava';
import { ControllerManager } from '../../../src/apiserver-stub/controllers/manager.ts';
import { ApiClient } from '../../../src/client/api-client.ts';
import { until } from '../../helpers/until.ts';
import { kubectl, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 17 (ServiceAccount tokens): the TokenRequest API signs tokens
 * (`kubectl create token`), the apiserver authenticates them as
 * `system:serviceaccount:<ns>:<name>` for RBAC, and deleting the
 * ServiceAccount or the bound Pod revokes them; every namespace gets its
 * `default` ServiceAccount from the controller manager.
 */
const KUBECTL = '/usr/bin/kubectl';
const tokens = new Map([['root-token', { name: 'root', uid: '1', groups: ['system:masters'] }]]);

async function call(url: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  const res = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

const claims = (token: string): any => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
const whoami = (url: string, token: string) => call(url, token, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });

test('kubectl create token: a signed token for the ServiceAccount; kube\'s errors for a short duration and a missing account', async (t) => {
  const { url } = await startServer(t);
  const cache = await tempDir(t);
  t.is((await kubectl(KUBECTL, url, cache, ['create', 'serviceaccount', 'robot'])).code, 0);
  const made = await kubectl(KUBECTL, url, cache, ['create', 'token', 'robot', '--duration', '2h', '--audience', 'https://kubernetes.default.svc.cluster.local', '--audience', 'vault']);
  t.is(made.code, 0, made.stderr);
  const token = made.stdout.trim();
  const c = claims(token);
  t.like(c, { iss: 'https://kubernetes.default.svc.cluster.local', sub: 'system:serviceaccount:default:robot', aud: ['https://kubernetes.default.svc.cluster.local', 'vault'], 'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'robot' } } });
  t.is(c.exp - c.iat, 7200);
  const me = await whoami(url, token);
  t.is(me.status, 201);
  t.like(me.body.status.userInfo, { username: 'system:serviceaccount:default:robot', groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'] });

  const short = await kubectl(KUBECTL, url, cache, ['create', 'token', 'robot', '--duration', '5m']);
  t.not(short.code, 0);
  t.regex(short.stderr, /spec\.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes/);
  const missing = await kubectl(KUBECTL, url, cache, ['create', 'token', 'nobody']);
  t.not(missing.code, 0);
  t.regex(missing.stderr, /serviceaccounts "nobody" not found/);
  t.is((await call(url, undefined, 'GET', '/api/v1/namespaces/default/serviceaccounts/robot/token')).status, 405);
});

test('ServiceAccount tokens under RBAC: the account gets what its RoleBinding gives; deleting the account or the bound pod revokes the token', async (t) => {
  const { url } = await startServer(t, 'memory', {}, { authorizationMode: 'RBAC', tokens });
  const root = (method: string, path: string, body?: unknown) => call(url, 'root-token', method, path, body);
  t.is((await root('POST', '/api/v1/namespaces', { metadata: { name: 'team' } })).status, 201);
  t.is((await root('POST', '/api/v1/namespaces/team/serviceaccounts', { metadata: { name: 'robot' } })).status, 201);
  const binding = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'robot-view', namespace: 'team' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'ServiceAccount', name: 'robot', namespace: 'team' }] };
  t.is((await root('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', binding)).status, 201);
  const request = (spec: object) => root('POST', '/api/v1/namespaces/team/serviceaccounts/robot/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec });

  const plain = await request({});
  t.is(plain.status, 201);
  t.is(plain.body.spec.expirationSeconds, 3600);
  const token: string = plain.body.status.token;
  await until('the RoleBinding to reach the authorizer', async () => (await call(url, token, 'GET', '/api/v1/namespaces/team/pods')).status === 200, 2000);
  const elsewhere = await call(url, token, 'GET', '/api/v1/namespaces/default/pods');
  t.is(elsewhere.status, 403);
  t.is(elsewhere.body.message, 'pods is forbidden: User "system:serviceaccount:team:robot" cannot list resource "pods" in API group "" in the namespace "default"');
  t.is((await call(url, token, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'x' } })).status, 403, 'view cannot write');

  const pod = await root('POST', '/api/v1/namespaces/team/pods', { metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  const bound = await request({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: pod.body.metadata.uid } });
  t.is(bound.status, 201);
  t.like(claims(bound.body.status.token)['kubernetes.io'], { pod: { name: 'web', uid: pod.body.metadata.uid } });
  t.like((await whoami(url, bound.body.status.token)).body.status.userInfo.extra, { 'authentication.kubernetes.io/pod-name': ['web'] });
  const staleUid = await request({ boundObjectRef: { kind: 'Pod', name: 'web', uid: 'not-the-uid' } });
  t.is(staleUid.status, 400);
  t.regex(staleUid.body.message, /does not match the UID in record/);
  t.is((await request({ boundObjectRef: { kind: 'Node', name: 'n1' } })).status, 422);
  t.is((await root('DELETE', '/api/v1/namespaces/team/pods/web?gracePeriodSeconds=0')).status, 200);
  t.is((await call(url, bound.body.status.token, 'GET', '/api/v1/namespaces/team/pods')).status, 401, 'the bound pod is gone');
  t.is((await call(url, token, 'GET', '/api/v1/namespaces/team/pods')).status, 200, 'the unbound token still works');

  t.is((await root('DELETE', '/api/v1/namespaces/team/serviceaccounts/robot')).status, 200);
  t.is((await call(url, token, 'GET', '/api/v1/namespaces/team/pods')).status, 401, 'the account is gone');
  t.is((await root('POST', '/api/v1/namespaces/team/serviceaccounts', { metadata: { name: 'robot' } })).status, 201);
  t.is((await call(url, token, 'GET', '/api/v1/namespaces/team/pods')).status, 401, 'a new account of the same name has another uid');
  const [h, , s] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...claims(token), sub: 'system:serviceaccount:kube-system:admin' })).toString('base64url');
  t.is((await call(url, `${h}.${forged}.${s}`, 'GET', '/api/v1/namespaces/team/pods')).status, 401);
});

test('serviceaccount controller: every namespace gets a default ServiceAccount, made again when deleted', async (t) => {
  const { url } = await startServer(t);
  const client = new ApiClient({ server: url });
  const manager = new ControllerManager({ client, controllers: ['serviceaccount'], maxEndpointsPerSlice: 100, resyncPeriodMs: 0, workers: { endpointslice: 1, endpoints: 1, replicaset: 1, deployment: 1 } });
  await manager.start();
  t.teardown(async () => {
    await manager.stop();
    await client.close();
  });
  const sa = async (ns: string) => (await call(url, undefined, 'GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200;
  await until('default/default', () => sa('default'), 5000);
  t.is((await call(url, undefined, 'POST', '/api/v1/namespaces', { metadata: { name: 'fresh' } })).status, 201);
  await until('fresh/default', () => sa('fresh'), 5000);
  t.is((await call(url, undefined, 'DELETE', '/api/v1/namespaces/fresh/serviceaccounts/default')).status, 200);
  await until('fresh/default made again', () => sa('fresh'), 5000);
  t.pass();
});

test('root-ca-cert-publisher: kube-root-ca.crt with the cluster CA in every namespace, made again when deleted and restored when edited', async (t) => {
  const { url } = await startServer(t);
  const client = new ApiClient({ server: url });
  const rootCa = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const manager = new ControllerManager({ client, controllers: ['root-ca-cert-publisher'], rootCa, maxEndpointsPerSlice: 100, resyncPeriodMs: 0, workers: { endpointslice: 1, endpoints: 1, replicaset: 1, deployment: 1 } });
  await manager.start();
  t.teardown(async () => {
    await manager.stop();
    await client.close();
  });
  const path = (ns: string) => `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`;
  const published = async (ns: string) => (await call(url, undefined, 'GET', path(ns))).body?.data?.['ca.crt'] === rootCa;
  await until('kube-system/kube-root-ca.crt', () => published('kube-system'), 5000);
  t.is((await call(url, undefined, 'POST', '/api/v1/namespaces', { metadata: { name: 'fresh' } })).status, 201);
  await until('fresh/kube-root-ca.crt', () => published('fresh'), 5000);
  t.is((await call(url, undefined, 'DELETE', path('fresh'))).status, 200);
  await until('made again', () => published('fresh'), 5000);
  const edited = await fetch(`${url}${path('fresh')}`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ data: { 'ca.crt': 'tampered', extra: 'x' } }) });
  t.is(edited.status, 200);
  await until('restored', async () => {
    const cm = (await call(url, undefined, 'GET', path('fresh'))).body;
    return cm.data['ca.crt'] === rootCa && cm.data.extra === undefined;
  }, 5000);
  t.pass();
});
