import test from 'ava';
import type { Event, Node, Pod } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../../src/client/api-client.ts';
import { EventRecorder, involvedOf } from '../../../src/client/event-recorder.ts';
import { EventsV1Recorder } from '../../../src/client/events-v1-recorder.ts';
import { resources } from '../../../src/client/resources.ts';
import { SchedulerService } from '../../../src/apiserver-stub/scheduler/service.ts';
import { startServer } from '../apiserver-stub/server-fixture.ts';
import { kubectlBin, startCluster, until, webDeployment } from './cluster-fixture.ts';

/**
 * Issue 16: Events written as client-go's recorder writes them, by the
 * scheduler and the controllers, shown by `kubectl get events`, `kubectl
 * events` and `kubectl describe`; repeats counted, similar ones combined,
 * expired after --event-ttl.
 */

const node: Node = {
  apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } },
  status: { capacity: { cpu: '2', memory: '4Gi', pods: '110' }, allocatable: { cpu: '2', memory: '4Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
};

const manifest = webDeployment;

test(`${kubectlBin}: scheduler and controller events in get events, kubectl events and describe`, async (t) => {
  const { client, url, k } = await startCluster(t);
  const scheduler = new SchedulerService({ client: new ApiClient({ server: url }), percentageOfNodesToScore: 0, schedulerName: 'default-scheduler', unschedulableFlushMs: 60_000 });
  await scheduler.start();
  t.teardown(() => scheduler.stop());
  await client.create(resources.nodes, node);
  await k(['apply', '-f', '-'], manifest);
  const pods = await until('two scheduled pods', async () => {
    const ps = (await client.list<Pod>(resources.pods, { namespace: 'default' })).items.filter((p) => p.spec?.nodeName === 'n1');
    return ps.length === 2 ? ps : undefined;
  });
  await client.create(resources.pods, { metadata: { name: 'nowhere', namespace: 'default' }, spec: { nodeSelector: { disk: 'ssd' }, containers: [{ name: 'c', image: 'x' }] } });
  const reasons = () => client.list<Event>(resources.events, { namespace: 'default' }).then((l) => l.items.map((e) => e.reason));
  await until('all the events', async () => ['ScalingReplicaSet', 'SuccessfulCreate', 'Scheduled', 'FailedScheduling'].every((r) => reasons().then((rs) => rs.includes(r))) && (await reasons()).filter((r) => r === 'Scheduled').length === 2 && (await reasons()).includes('FailedScheduling'));

  const table = await k(['get', 'events']);
  t.regex(table, /LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE/);
  t.regex(table, /Normal\s+ScalingReplicaSet\s+deployment\/web\s+Scaled up replica set web-[a-z0-9]+ to 2/);
  t.regex(table, /Normal\s+SuccessfulCreate\s+replicaset\/web-[a-z0-9]+\s+Created pod: web-/);
  t.regex(table, /Warning\s+FailedScheduling\s+pod\/nowhere\s+0\/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity\/selector\./);
  t.regex(await k(['events']), /Normal\s+Scheduled\s+Pod\/web-[a-z0-9-]+\s+Successfully assigned default\/web-/);

  const described = await k(['describe', 'pod', pods[0]!.metadata!.name!]);
  t.regex(described, /Events:\s*\n\s+Type\s+Reason\s+Age\s+From\s+Message/);
  t.regex(described, new RegExp(`Normal\\s+Scheduled\\s+\\S+\\s+default-scheduler\\s+Successfully assigned default/${pods[0]!.metadata!.name} to n1`));
  t.regex(await k(['describe', 'pod', 'nowhere']), /Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0\/1 nodes are available/);
  t.regex(await k(['describe', 'deployment', 'web']), /Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set web-[a-z0-9]+ to 2/);

  await k(['scale', 'deployment/web', '--replicas=1']);
  await until('scale-down events', async () => (await reasons()).includes('SuccessfulDelete'));
  t.regex(await k(['describe', 'deployment', 'web']), /Scaled down replica set web-[a-z0-9]+ to 1 from 2/);
});

test('the recorder counts repeats in one Event, combines more than 10 similar messages, and --event-ttl expires events', async (t) => {
  const server = await startServer(t, 'memory', {}, { eventTtlMs: 1500 });
  const client = new ApiClient({ server: server.url });
  t.teardown(() => client.close());
  const recorder = new EventRecorder(client, { component: 'test-controller' });
  const pod = { kind: 'Pod', apiVersion: 'v1', name: 'p', namespace: 'default', uid: 'u1' };
  for (let i = 0; i < 3; i++) recorder.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
  for (let i = 0; i < 12; i++) recorder.event(pod, 'Normal', 'Pulled', `image ${i} pulled`);
  await recorder.flush();
  const events = (await client.list<Event>(resources.events, { namespace: 'default' })).items;
  const backOff = events.filter((e) => e.reason === 'BackOff');
  t.is(backOff.length, 1, 'one Event for the repeats');
  t.is(backOff[0]!.count, 3);
  t.regex(backOff[0]!.metadata!.name!, /^p\.[0-9a-f]+$/);
  t.not(backOff[0]!.firstTimestamp, undefined);
  const pulled = events.filter((e) => e.reason === 'Pulled');
  t.is(pulled.length, 10, '9 distinct messages, then one combined Event');
  const combined = pulled.find((e) => e.message?.startsWith('(combined from similar events): '));
  t.like(combined, { count: 3, message: '(combined from similar events): image 11 pulled' });
  t.like(backOff[0], { source: { component: 'test-controller' }, involvedObject: { kind: 'Pod', name: 'p', uid: 'u1' } });

  const gone = await until('events expired after the TTL', async () => ((await client.list<Event>(resources.events, { namespace: 'default' })).items.length === 0 ? true : undefined), 10_000);
  t.true(gone);
});

test(`${kubectlBin}: events.k8s.io/v1 serves the same Events as core/v1, converted both ways`, async (t) => {
  const { client, k, run } = await startCluster(t);
  const recorder = new EventRecorder(client, { component: 'test-controller' });
  recorder.event({ kind: 'Pod', apiVersion: 'v1', name: 'p', namespace: 'default', uid: 'u1' }, 'Warning', 'BackOff', 'Back-off restarting failed container');
  recorder.event({ kind: 'Pod', apiVersion: 'v1', name: 'p', namespace: 'default', uid: 'u1' }, 'Warning', 'BackOff', 'Back-off restarting failed container');
  await recorder.flush();
  t.regex(await k(['api-resources', '--api-group=events.k8s.io']), /events\s+ev\s+events\.k8s\.io\/v1\s+true\s+Event/);
  const v1 = JSON.parse(await k(['get', 'events.v1.events.k8s.io', '-o', 'json'])).items;
  t.is(v1.length, 1);
  t.like(v1[0], { apiVersion: 'events.k8s.io/v1', kind: 'Event', note: 'Back-off restarting failed container', reason: 'BackOff', type: 'Warning', regarding: { kind: 'Pod', name: 'p' }, reportingController: 'test-controller', deprecatedCount: 2, deprecatedSource: { component: 'test-controller' } });
  t.is(v1[0].message, undefined);
  t.regex(await k(['get', 'events.v1.events.k8s.io']), /Warning\s+BackOff\s+pod\/p\s+Back-off restarting failed container/);

  const manifest = `apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: p.new, namespace: default}
eventTime: "2026-01-01T00:00:00.000000Z"
reason: Started
type: Normal
note: Started container c
action: Starting
reportingController: example.com/agent
reportingInstance: agent-1
regarding: {kind: Pod, apiVersion: v1, name: p, namespace: default}
series: {count: 2, lastObservedTime: "2026-01-01T00:00:05.000000Z"}
`;
  await k(['create', '-f', '-'], manifest);
  const core = await client.get<Event>(resources.events, 'p.new', { namespace: 'default' });
  t.like(core, { apiVersion: 'v1', message: 'Started container c', reportingComponent: 'example.com/agent', involvedObject: { kind: 'Pod', name: 'p' }, series: { count: 2 } });
  t.regex(await k(['get', 'events', '--field-selector', 'reason=Started']), /Normal\s+Started\s+pod\/p\s+Started container c/);
  t.regex(await k(['get', 'events.v1.events.k8s.io', '--field-selector', 'regarding.name=p,reason=Started']), /Started container c/);
  const bad = await run(['create', '-f', '-'], manifest.replace('name: p.new', 'name: p.other').replace(/eventTime: .*\n/, ''));
  t.not(bad.code, 0);
  t.regex(bad.stderr, /The Event "p.other" is invalid: eventTime: Required value/);
});

test(`${kubectlBin}: the events.k8s.io/v1 recorder makes a series of repeats, which describe shows as (xN over …)`, async (t) => {
  const { client, k } = await startCluster(t);
  const pod = await client.create<Pod>(resources.pods, { metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
  const recorder = new EventsV1Recorder(client, { controller: 'default-scheduler', instance: 'default-scheduler-host' });
  for (let i = 0; i < 3; i++) recorder.event(involvedOf(pod, 'Pod', 'v1'), 'Warning', 'FailedScheduling', 'Scheduling', '0/1 nodes are available: 1 Insufficient cpu.');
  recorder.event(involvedOf(pod, 'Pod', 'v1'), 'Normal', 'Scheduled', 'Binding', 'Successfully assigned default/p to n1');
  await recorder.flush();
  const v1 = JSON.parse(await k(['get', 'events.v1.events.k8s.io', '-o', 'json'])).items as Array<Record<string, any>>;
  t.is(v1.length, 2, 'one Event per distinct event, the repeats as its series');
  const failed = v1.find((e) => e.reason === 'FailedScheduling')!;
  t.like(failed, { action: 'Scheduling', reportingController: 'default-scheduler', reportingInstance: 'default-scheduler-host', series: { count: 3 } });
  t.regex(failed.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  t.is(v1.find((e) => e.reason === 'Scheduled')!.series, undefined);
  const described = await k(['describe', 'pod', 'p']);
  t.regex(described, /Warning\s+FailedScheduling\s+\S+ \(x3 over \S+\)\s+default-scheduler\s+0\/1 nodes are available: 1 Insufficient cpu\./);
  t.regex(described, /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/p to n1/);
});
