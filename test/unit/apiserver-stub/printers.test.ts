import test from 'ava';
import { humanAge, printers, toTable, wantsTable } from '../../../src/apiserver-stub/printers.ts';

test('humanAge follows kube HumanDuration', (t) => {
  const now = Date.parse('2026-01-10T00:00:00Z');
  const ago = (s: number) => new Date(now - s * 1000).toISOString();
  t.is(humanAge(ago(5), now), '5s');
  t.is(humanAge(ago(150), now), '2m30s');
  t.is(humanAge(ago(60 * 45), now), '45m');
  t.is(humanAge(ago(3600 * 5 + 60 * 7), now), '5h7m');
  t.is(humanAge(ago(86400 * 3), now), '3d');
});

test('service rows: type, cluster IP, external IP, ports with node ports, selector', (t) => {
  const cells = printers.Service!.cells({
    metadata: { name: 'web', creationTimestamp: new Date().toISOString() },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.9', selector: { app: 'web' }, ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] },
  });
  t.deepEqual([cells[0], cells[1], cells[2], cells[3], cells[4], cells[6]], ['web', 'LoadBalancer', '10.96.0.9', '<pending>', '80:30080/TCP,53/UDP', 'app=web']);
});

test('Accept negotiation and table shape', (t) => {
  t.true(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'));
  t.false(wantsTable('application/json'));
  t.false(wantsTable(undefined));
  const table = toTable('Namespace', [{ metadata: { name: 'a' } }], { resourceVersion: '3' }, 'Metadata') as any;
  t.is(table.kind, 'Table');
  t.deepEqual(table.columnDefinitions.map((c: { name: string }) => c.name), ['Name', 'Status', 'Age']);
  t.is(table.rows[0].object.kind, 'PartialObjectMetadata');
});

test('a row that its printer cannot read prints <invalid> cells instead of failing the whole Table', (t) => {
  const odd = { metadata: { name: 'odd' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [null] }] };
  t.throws(() => printers.Endpoints!.cells(odd as never));
  const table = toTable('Endpoints', [odd as never, { metadata: { name: 'ok' }, subsets: [] } as never], {}, 'None') as { rows: Array<{ cells: unknown[] }> };
  t.deepEqual(table.rows.map((r) => r.cells.slice(0, 2)), [['odd', '<invalid>'], ['ok', '<none>']]);
});

test('pod rows as kubectl prints them: Init:N/M, Init:<reason>, sidecars counted in READY, the first container\'s reason, restarts', (t) => {
  const meta = { name: 'p', creationTimestamp: new Date().toISOString() };
  const spec = { initContainers: [{ name: 'side', restartPolicy: 'Always' }, { name: 'setup' }], containers: [{ name: 'a' }, { name: 'b' }] };
  const row = (status: object) => printers.Pod!.cells({ metadata: meta, spec, status }).slice(1, 4);
  const waiting = (reason: string) => ({ waiting: { reason } });
  const initializing = { type: 'Initialized', status: 'False' };
  t.deepEqual(row({
    phase: 'Pending', conditions: [initializing],
    initContainerStatuses: [{ name: 'side', started: false, state: waiting('PodInitializing'), restartCount: 0 }, { name: 'setup', state: waiting('PodInitializing'), restartCount: 0 }],
  }), ['0/3', 'Init:0/2', 0]);
  t.deepEqual(row({
    phase: 'Pending', conditions: [initializing],
    initContainerStatuses: [{ name: 'side', started: true, ready: true, state: { running: {} }, restartCount: 0 }, { name: 'setup', state: waiting('CrashLoopBackOff'), restartCount: 3 }],
  }), ['1/3', 'Init:CrashLoopBackOff', 3]);
  t.deepEqual(row({
    phase: 'Running', conditions: [{ type: 'Initialized', status: 'True' }],
    initContainerStatuses: [{ name: 'side', started: true, ready: true, state: { running: {} }, restartCount: 1 }, { name: 'setup', state: { terminated: { exitCode: 0, reason: 'Completed' } }, restartCount: 0 }],
    containerStatuses: [{ name: 'a', ready: false, state: waiting('CrashLoopBackOff'), restartCount: 4 }, { name: 'b', ready: true, state: { running: {} }, restartCount: 0 }],
  }), ['2/3', 'CrashLoopBackOff', 5]);
});
