import test from 'ava';
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import { SchedulerCache } from '../../../src/apiserver-stub/scheduler/node-info.ts';
import { parseQuantity, podRequests } from '../../../src/apiserver-stub/scheduler/resources.ts';
import { failureMessage, numFeasibleNodesToFind, Scheduler } from '../../../src/apiserver-stub/scheduler/schedule-one.ts';
import { matchRequirement, tolerates } from '../../../src/apiserver-stub/scheduler/plugins.ts';

function node(name: string, o: { cpu?: string; memory?: string; pods?: string; labels?: Record<string, string>; taints?: Taint[]; unschedulable?: boolean } = {}): Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { allocatable: { cpu: o.cpu ?? '2', memory: o.memory ?? '4Gi', pods: o.pods ?? '110' } },
  };
}

let seq = 0;
function pod(o: { cpu?: string; memory?: string; nodeSelector?: Record<string, string>; owner?: string; hostPort?: number; tolerations?: NonNullable<Pod['spec']>['tolerations']; affinity?: NonNullable<Pod['spec']>['affinity'] } = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    metadata: { name: `p${++seq}`, namespace: 'default', uid: `u${seq}`, ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: o.owner, controller: true }] } : {}) },
    spec: {
      containers: [{ name: 'c', image: 'x', resources: { requests }, ...(o.hostPort ? { ports: [{ containerPort: 80, hostPort: o.hostPort }] } : {}) }],
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.affinity ? { affinity: o.affinity } : {}),
    },
  };
}

function cache(...nodes: Node[]): SchedulerCache {
  const c = new SchedulerCache();
  for (const n of nodes) c.upsertNode(n);
  return c;
}

const sched = () => new Scheduler({ percentageOfNodesToScore: 0, random: () => 0.99 });

test('quantities', (t) => {
  t.is(parseQuantity('500m'), 0.5);
  t.is(parseQuantity('2'), 2);
  t.is(parseQuantity('128Mi'), 128 * 2 ** 20);
  t.is(parseQuantity('1G'), 1e9);
  t.is(parseQuantity('1e3'), 1000);
  t.throws(() => parseQuantity('12x'), { code: 'FERRY_ERR_INVALID_ARG' });
  t.deepEqual(podRequests(pod({ cpu: '250m', memory: '1Gi' })), { milliCPU: 250, memory: 2 ** 30, pods: 1 });
});

const feasibleCases: Array<{ nodes: number; pct: number; want: number }> = [
  { nodes: 50, pct: 0, want: 50 },
  { nodes: 1000, pct: 0, want: 420 },
  { nodes: 5000, pct: 0, want: 500 },
  { nodes: 1000, pct: 5, want: 100 },
  { nodes: 1000, pct: 100, want: 1000 },
  { nodes: 200, pct: 30, want: 100 },
];
for (const tc of feasibleCases) {
  test(`numFeasibleNodesToFind(${tc.nodes}, ${tc.pct}%) = ${tc.want}`, (t) => t.is(numFeasibleNodesToFind(tc.nodes, tc.pct), tc.want));
}

test('nodeSelector matching no node: Unschedulable with kube wording', (t) => {
  const r = sched().schedule(pod({ nodeSelector: { disk: 'ssd' } }), cache(node('a'), node('b')).nodes());
  t.deepEqual(r, { ok: false, reason: 'Unschedulable', message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector." });
  const ok = sched().schedule(pod({ nodeSelector: { disk: 'ssd' } }), cache(node('a'), node('b', { labels: { disk: 'ssd' } })).nodes());
  t.like(ok, { ok: true, node: 'b' });
});

test('requests beyond allocatable go elsewhere; counting pods already placed', (t) => {
  const c = cache(node('small', { cpu: '1' }), node('big', { cpu: '4' }));
  t.like(sched().schedule(pod({ cpu: '2' }), c.nodes()), { ok: true, node: 'big' });
  c.addPod(pod({ cpu: '3500m' }), 'big');
  const r = sched().schedule(pod({ cpu: '2' }), c.nodes());
  t.deepEqual(r, { ok: false, reason: 'Unschedulable', message: '0/2 nodes are available: 2 Insufficient cpu.' });
});

test('too many pods', (t) => {
  const c = cache(node('a', { pods: '1' }));
  c.addPod(pod(), 'a');
  t.like(sched().schedule(pod(), c.nodes()), { ok: false, message: '0/1 nodes are available: 1 Too many pods.' });
});

test('NoSchedule taint is respected unless tolerated; unschedulable nodes skipped', (t) => {
  const c = cache(node('tainted', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), node('cordoned', { unschedulable: true }));
  t.like(sched().schedule(pod(), c.nodes()), { ok: false, message: "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable." });
  t.like(sched().schedule(pod({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }), c.nodes()), { ok: true, node: 'tainted' });
});

test('host port conflicts', (t) => {
  const c = cache(node('a'), node('b'));
  c.addPod(pod({ hostPort: 8080 }), 'a');
  t.like(sched().schedule(pod({ hostPort: 8080 }), c.nodes()), { ok: true, node: 'b' });
});

test('required node affinity with In/NotIn/Exists', (t) => {
  const c = cache(node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z2', gpu: '1' } }));
  const aff = (op: string, key: string, values?: string[]) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator: op, ...(values ? { values } : {}) }] }] } } });
  t.like(sched().schedule(pod({ affinity: aff('In', 'zone', ['z2']) }), c.nodes()), { node: 'b' });
  t.like(sched().schedule(pod({ affinity: aff('NotIn', 'zone', ['z2']) }), c.nodes()), { node: 'a' });
  t.like(sched().schedule(pod({ affinity: aff('Exists', 'gpu') }), c.nodes()), { node: 'b' });
});

test('requirements and tolerations', (t) => {
  t.true(matchRequirement({ key: 'k', operator: 'Gt', values: ['3'] }, '4'));
  t.false(matchRequirement({ key: 'k', operator: 'Lt', values: ['3'] }, '4'));
  t.true(matchRequirement({ key: 'k', operator: 'DoesNotExist' }, undefined));
  t.true(tolerates({ operator: 'Exists' }, { key: 'any', effect: 'NoSchedule' }));
  t.false(tolerates({ key: 'a', operator: 'Equal', value: 'x', effect: 'NoExecute' }, { key: 'a', value: 'x', effect: 'NoSchedule' }));
});

test('replicas of one owner spread over nodes', (t) => {
  const c = cache(node('a'), node('b'), node('c'));
  const s = sched();
  const placed: string[] = [];
  for (let i = 0; i < 6; i++) {
    const p = pod({ owner: 'rs1' });
    const r = s.schedule(p, c.nodes());
    if (!r.ok) return t.fail(r.message);
    c.addPod(p, r.node);
    placed.push(r.node);
  }
  t.deepEqual(placed.sort(), ['a', 'a', 'b', 'b', 'c', 'c']);
});

test('least allocated prefers the emptier node', (t) => {
  const c = cache(node('a'), node('b'));
  c.addPod(pod({ cpu: '1', memory: '2Gi' }), 'a');
  t.like(sched().schedule(pod({ cpu: '100m' }), c.nodes()), { node: 'b' });
});

test('sampling evaluates only enough nodes and rotates the start', (t) => {
  const c = cache(...Array.from({ length: 1000 }, (_, i) => node(`n${i}`)));
  const s = sched();
  const r1 = s.schedule(pod(), c.nodes());
  t.like(r1, { ok: true, evaluated: 420, feasible: 420 });
  const r2 = s.schedule(pod(), c.nodes());
  t.true(r2.ok && Number(r2.node.slice(1)) >= 420 && Number(r2.node.slice(1)) < 840);
});

test('no nodes at all', (t) => {
  t.is(failureMessage(0, new Map()), 'no nodes available to schedule pods');
  t.like(sched().schedule(pod(), []), { ok: false, message: 'no nodes available to schedule pods' });
});

test('cache: pods bound to a node not yet seen count once it appears; removal frees room', (t) => {
  const c = new SchedulerCache();
  const p = pod({ cpu: '2' });
  c.addPod(p, 'late');
  c.upsertNode(node('late', { cpu: '2' }));
  t.is(c.get('late')!.requested.milliCPU, 2000);
  const g = c.generation;
  c.removePod('u' + p.metadata!.uid!.slice(1));
  t.is(c.get('late')!.requested.milliCPU, 0);
  t.true(c.generation > g);
});
