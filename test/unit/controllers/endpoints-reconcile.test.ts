import test from 'ava';
import { ANNOTATION_OVER_CAPACITY, desiredEndpoints, endpointsNeedUpdate, LABEL_SKIP_MIRROR } from '../../../src/apiserver-stub/controllers/endpoints-reconcile.ts';
import { pod, service } from './fixtures.ts';

test('ready and not-ready addresses in one subset, sorted by IP; terminating pods left out', (t) => {
  const ep = desiredEndpoints(service(), [pod('p2'), pod('p1'), pod('p3', { ready: false }), pod('p4', { deleting: true })]);
  t.is(ep.metadata?.name, 'web');
  t.is(ep.metadata?.labels?.[LABEL_SKIP_MIRROR], 'true');
  t.is(ep.subsets?.length, 1);
  const s = ep.subsets![0]!;
  t.deepEqual(s.addresses?.map((a) => a.ip), ['10.244.0.1', '10.244.0.2']);
  t.deepEqual(s.notReadyAddresses?.map((a) => a.ip), ['10.244.0.3']);
  t.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  t.like(s.addresses![0], { nodeName: 'node-a', targetRef: { kind: 'Pod', name: 'p1' } });
});

test('publishNotReadyAddresses puts every pod, even terminating, in addresses', (t) => {
  const ep = desiredEndpoints(service('web', { publishNotReadyAddresses: true }), [pod('p1', { ready: false }), pod('p2', { deleting: true })]);
  t.deepEqual(ep.subsets![0]!.addresses?.map((a) => a.ip), ['10.244.0.1', '10.244.0.2']);
});

test('over 1000 addresses: truncated, ready first, annotated', (t) => {
  const pods = Array.from({ length: 1100 }, (_, i) => pod(`p${i}`, { ip: `10.1.${Math.floor(i / 250)}.${i % 250}`, ready: i >= 50 }));
  const ep = desiredEndpoints(service(), pods);
  const s = ep.subsets![0]!;
  t.is((s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0), 1000);
  t.is(s.addresses?.length, 1000);
  t.is(ep.metadata?.annotations?.[ANNOTATION_OVER_CAPACITY], 'truncated');
  t.is(desiredEndpoints(service(), pods.slice(0, 10)).metadata?.annotations, undefined);
});

test('endpointsNeedUpdate ignores server fields and key order', (t) => {
  const want = desiredEndpoints(service(), [pod('p1')]);
  const stored = structuredClone(want);
  stored.metadata = { ...stored.metadata, resourceVersion: '7', uid: 'x' };
  t.false(endpointsNeedUpdate(stored, want));
  t.true(endpointsNeedUpdate(stored, desiredEndpoints(service(), [pod('p1', { ready: false })])));
});
