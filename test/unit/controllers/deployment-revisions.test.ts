import test from 'ava';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { normalizeTemplate, replicaSetAnnotations, setsToCleanUp } from '../../../src/apiserver-stub/controllers/deployment-revisions.ts';
import { podTemplateHash, templatesEqualIgnoringHash } from '../../../src/apiserver-stub/controllers/deployment-reconcile.ts';

const stored: PodTemplateSpec = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'img:v1' }], volumes: [{ name: 'tmp', emptyDir: {} }] } };

test('a template as a Go client sends it back (creationTimestamp null, empty maps and lists) equals and hashes as the stored one', (t) => {
  const fromGo = { metadata: { creationTimestamp: null, labels: { app: 'web' }, annotations: {} }, spec: { containers: [{ name: 'web', image: 'img:v1', env: [] }], volumes: [{ name: 'tmp', emptyDir: {} }], nodeSelector: {} } } as unknown as PodTemplateSpec;
  t.true(templatesEqualIgnoringHash(stored, fromGo));
  t.is(podTemplateHash(stored), podTemplateHash(fromGo));
  // Empty structs mean something (an emptyDir volume): they stay.
  t.deepEqual(normalizeTemplate(fromGo).spec?.volumes, [{ name: 'tmp', emptyDir: {} }]);
  t.deepEqual(normalizeTemplate(fromGo).spec?.containers[0], { name: 'web', image: 'img:v1' });
  t.false(templatesEqualIgnoringHash(stored, { ...stored, spec: { ...stored.spec!, containers: [{ name: 'web', image: 'img:v2' }] } }));
});

const deployment = (annotations: Record<string, string>, limit?: number): Deployment => ({ metadata: { name: 'web', annotations }, spec: { replicas: 3, selector: {}, template: stored, ...(limit === undefined ? {} : { revisionHistoryLimit: limit }) } });
const rs = (name: string, revision: number, replicas = 0, annotations: Record<string, string> = {}): ReplicaSet => ({
  metadata: { name, generation: 1, annotations: { 'deployment.kubernetes.io/revision': String(revision), ...annotations } },
  spec: { replicas, selector: {} },
  status: { replicas, observedGeneration: 1 },
});

test('the new set gets the Deployment annotations (not last-applied), the next revision with its old one in history, and replica counts', (t) => {
  const d = deployment({ 'kubernetes.io/change-cause': 'undo', 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'deployment.kubernetes.io/revision': '2' });
  t.deepEqual(replicaSetAnnotations(d, rs('a', 1), 3, 1), {
    'deployment.kubernetes.io/revision': '3',
    'deployment.kubernetes.io/revision-history': '1',
    'kubernetes.io/change-cause': 'undo',
    'deployment.kubernetes.io/desired-replicas': '3',
    'deployment.kubernetes.io/max-replicas': '4',
  });
  // A set already at the newest revision keeps it.
  t.is(replicaSetAnnotations(d, rs('b', 3), 3, 1)['deployment.kubernetes.io/revision'], '3');
});

test('revisionHistoryLimit: the oldest idle sets past the limit go; busy ones stay; default 10', (t) => {
  const old = [rs('r3', 3), rs('r1', 1), rs('r2', 2, 1)];
  t.deepEqual(setsToCleanUp(deployment({}, 1), old).map((r) => r.metadata?.name), ['r1']);
  t.deepEqual(setsToCleanUp(deployment({}, 0), old).map((r) => r.metadata?.name), ['r1', 'r3']);
  t.deepEqual(setsToCleanUp(deployment({}), old), []);
});
