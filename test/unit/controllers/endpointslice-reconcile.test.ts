import test from 'ava';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { planSlices, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, type SliceInputs, type SlicePlan } from '../../../src/apiserver-stub/controllers/endpointslice-reconcile.ts';
import { pod, service } from './fixtures.ts';

const zones = new Map([['node-a', 'zone-a'], ['node-b', 'zone-b']]);
const inputs = (over: Partial<SliceInputs>): SliceInputs => ({ service: service(), pods: [], nodeZones: zones, existing: [], maxEndpointsPerSlice: 100, ...over });

/** apply plays a plan onto a slice list the way the apiserver would, naming new slices. */
function apply(existing: readonly EndpointSlice[], plan: SlicePlan): EndpointSlice[] {
  let n = existing.length;
  const gone = new Set(plan.delete.map((s) => s.metadata?.name));
  const updated = new Map(plan.update.map((s) => [s.metadata?.name, s]));
  const out = existing.filter((s) => !gone.has(s.metadata?.name)).map((s) => updated.get(s.metadata?.name) ?? s);
  for (const s of plan.create) out.push({ ...s, metadata: { ...s.metadata, name: `${s.metadata?.generateName}${n++}` } });
  return out;
}

const addrs = (slices: readonly EndpointSlice[]) => slices.flatMap((s) => s.endpoints.map((e) => e.addresses[0])).sort();
const manyPods = (n: number) => Array.from({ length: n }, (_, i) => pod(`p${i}`, { ip: `10.244.${Math.floor(i / 250)}.${(i % 250) + 1}` }));

test('one slice per 100 endpoints, labelled and owned by the service', (t) => {
  const plan = planSlices(inputs({ pods: manyPods(250) }));
  t.is(plan.create.length, 3);
  t.deepEqual(plan.create.map((s) => s.endpoints.length), [100, 100, 50]);
  const s = plan.create[0]!;
  t.is(s.metadata?.labels?.[LABEL_SERVICE_NAME], 'web');
  t.is(s.metadata?.labels?.[LABEL_MANAGED_BY], 'endpointslice-controller.k8s.io');
  t.is(s.metadata?.labels?.team, 'x');
  t.is(s.metadata?.generateName, 'web-');
  t.like(s.metadata?.ownerReferences?.[0], { kind: 'Service', name: 'web', uid: 'uid-svc-web', controller: true });
  t.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  t.is(s.addressType, 'IPv4');
});

test('endpoint fields: conditions, node, zone, hostname, targetRef', (t) => {
  const svc = service('web');
  const plan = planSlices(inputs({ service: svc, pods: [pod('p1', { node: 'node-b', hostname: 'h1', subdomain: 'web' })] }));
  t.deepEqual(plan.create[0]!.endpoints[0], {
    addresses: ['10.244.0.1'],
    conditions: { ready: true, serving: true, terminating: false },
    hostname: 'h1',
    nodeName: 'node-b',
    zone: 'zone-b',
    targetRef: { kind: 'Pod', namespace: 'default', name: 'p1', uid: 'uid-p1' },
  });
});

const conditionCases: Array<{ name: string; ready: boolean; deleting: boolean; publish: boolean; want: { ready: boolean; serving: boolean; terminating: boolean } }> = [
  { name: 'ready pod', ready: true, deleting: false, publish: false, want: { ready: true, serving: true, terminating: false } },
  { name: 'not ready pod', ready: false, deleting: false, publish: false, want: { ready: false, serving: false, terminating: false } },
  { name: 'terminating ready pod', ready: true, deleting: true, publish: false, want: { ready: false, serving: true, terminating: true } },
  { name: 'publishNotReadyAddresses', ready: false, deleting: false, publish: true, want: { ready: true, serving: false, terminating: false } },
];
for (const tc of conditionCases) {
  test(`conditions: ${tc.name}`, (t) => {
    const plan = planSlices(inputs({ service: service('web', { publishNotReadyAddresses: tc.publish }), pods: [pod('p1', { ready: tc.ready, deleting: tc.deleting })] }));
    t.deepEqual(plan.create[0]!.endpoints[0]!.conditions, tc.want);
  });
}

test('pods without IP, terminal pods, other namespaces and non-matching labels are left out', (t) => {
  const other = pod('p4');
  other.metadata!.namespace = 'other';
  const plan = planSlices(inputs({ pods: [pod('p1', { ip: '' }), pod('p2', { phase: 'Succeeded' }), pod('p3', { labels: { app: 'db' } }), other, pod('p5')] }));
  t.deepEqual(addrs(plan.create), ['10.244.0.5']);
});

test('named target ports resolve per pod; pods with different ports get different slices', (t) => {
  const svc = service('web', { ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }] });
  const plan = planSlices(inputs({ service: svc, pods: [pod('p1', { ports: [{ name: 'web', containerPort: 8080 }] }), pod('p2', { ports: [{ name: 'web', containerPort: 9090 }] })] }));
  t.is(plan.create.length, 2);
  t.deepEqual(plan.create.map((s) => s.ports?.[0]?.port).sort(), [8080, 9090]);
});

test('steady state writes nothing', (t) => {
  const pods = manyPods(250);
  const slices = apply([], planSlices(inputs({ pods })));
  const plan = planSlices(inputs({ pods, existing: slices }));
  t.deepEqual(plan, { create: [], update: [], delete: [] });
});

test('changing one pod rewrites one slice only', (t) => {
  const pods = manyPods(250);
  const slices = apply([], planSlices(inputs({ pods })));
  pods[120] = pod('p120', { ip: pods[120]!.status!.podIP!, ready: false });
  const plan = planSlices(inputs({ pods, existing: slices }));
  t.is(plan.create.length, 0);
  t.is(plan.delete.length, 0);
  t.is(plan.update.length, 1);
  t.false(plan.update[0]!.endpoints.find((e) => e.targetRef?.name === 'p120')!.conditions!.ready);
});

test('a new pod fills an existing slice with room instead of creating one', (t) => {
  const pods = manyPods(250);
  const slices = apply([], planSlices(inputs({ pods })));
  const plan = planSlices(inputs({ pods: [...pods, pod('px', { ip: '10.244.9.9' })], existing: slices }));
  t.is(plan.create.length, 0);
  t.is(plan.update.length, 1);
  t.is(plan.update[0]!.endpoints.length, 51);
});

test('removed pods leave their slice; an emptied slice is deleted', (t) => {
  const pods = manyPods(150);
  const slices = apply([], planSlices(inputs({ pods })));
  const plan = planSlices(inputs({ pods: pods.slice(0, 100), existing: slices }));
  t.is(plan.delete.length, 1);
  t.is(plan.update.length, 0);
  t.deepEqual(addrs(apply(slices, plan)), addrs(planSlices(inputs({ pods: pods.slice(0, 100) })).create));
});

test('no endpoints keeps one placeholder slice', (t) => {
  const first = planSlices(inputs({ pods: [] }));
  t.is(first.create.length, 1);
  t.deepEqual(first.create[0]!.endpoints, []);
  const slices = apply([], first);
  t.deepEqual(planSlices(inputs({ pods: [], existing: slices })), { create: [], update: [], delete: [] });
  const withPods = planSlices(inputs({ pods: [pod('p1')], existing: slices }));
  t.is(withPods.delete.length, 1);
  t.is(withPods.create.length, 1);
});

test('duplicated endpoints across slices are kept once', (t) => {
  const pods = manyPods(2);
  const [s] = apply([], planSlices(inputs({ pods })));
  const dup = { ...s!, metadata: { ...s!.metadata, name: 'web-dup' } };
  const plan = planSlices(inputs({ pods, existing: [s!, dup] }));
  t.deepEqual(addrs(apply([s!, dup], plan)), ['10.244.0.1', '10.244.0.2']);
});

test('maxEndpointsPerSlice is honoured', (t) => {
  const plan = planSlices(inputs({ pods: manyPods(5), maxEndpointsPerSlice: 2 }));
  t.deepEqual(plan.create.map((s) => s.endpoints.length), [2, 2, 1]);
});
