import test from 'ava';
import { morePrinters } from '../../../src/apiserver-stub/printers-more.ts';
import { toTable } from '../../../src/apiserver-stub/printers.ts';

/** The columns of issue 17's kinds as kubectl 1.32 prints them, from objects with status (what controllers will write). */
const now = new Date().toISOString();

test('Job rows: Complete with its duration, completions of desired; Suspended from its condition', (t) => {
  const job = {
    metadata: { name: 'migrate', creationTimestamp: now },
    spec: { completions: 3, selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } }, template: { spec: { containers: [{ name: 'm', image: 'busybox' }] } } },
    status: { succeeded: 3, startTime: '2026-01-01T00:00:00Z', completionTime: '2026-01-01T00:01:30Z', conditions: [{ type: 'Complete', status: 'True' }] },
  };
  t.deepEqual(morePrinters.Job!.cells(job as never).slice(0, 4), ['migrate', 'Complete', '3/3', '90s']);
  t.is(morePrinters.Job!.cells(job as never)[7], 'batch.kubernetes.io/controller-uid=u1');
  const suspended = { ...job, status: { conditions: [{ type: 'Suspended', status: 'True' }] } };
  t.deepEqual(morePrinters.Job!.cells(suspended as never).slice(1, 4), ['Suspended', '0/3', '']);
});

test('PVC, PV and binding rows: bound claim shows volume, capacity and modes; PV its claim; bindings their subjects', (t) => {
  const pvc = { metadata: { name: 'data', creationTimestamp: now }, spec: { volumeName: 'pv1', storageClassName: 'fast', volumeMode: 'Filesystem' }, status: { phase: 'Bound', capacity: { storage: '5Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce'] } };
  t.deepEqual(morePrinters.PersistentVolumeClaim!.cells(pvc as never).slice(0, 7), ['data', 'Bound', 'pv1', '5Gi', 'RWO,RWX', 'fast', '<unset>']);
  const pv = { metadata: { name: 'pv1', creationTimestamp: now }, spec: { capacity: { storage: '5Gi' }, accessModes: ['ReadWriteOncePod'], persistentVolumeReclaimPolicy: 'Delete', claimRef: { namespace: 'shop', name: 'data' }, storageClassName: 'fast' }, status: { phase: 'Bound' } };
  t.deepEqual(morePrinters.PersistentVolume!.cells(pv as never).slice(0, 7), ['pv1', '5Gi', 'RWOP', 'Delete', 'Bound', 'shop/data', 'fast']);
  const rb = { metadata: { name: 'rb', creationTimestamp: now }, roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'a' }, { kind: 'User', name: 'b' }, { kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }] };
  const cells = morePrinters.RoleBinding!.cells(rb as never);
  t.deepEqual([cells[1], cells[3], cells[4], cells[5]], ['ClusterRole/view', 'a, b', '', 'ns/sa']);
});

test('Table of a new kind uses its printer; an odd stored value prints <invalid> instead of failing', (t) => {
  const table = toTable('Secret', [{ metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } } as never], {}, 'None') as any;
  t.deepEqual(table.columnDefinitions.map((c: { name: string }) => c.name), ['Name', 'Type', 'Data', 'Age']);
  t.deepEqual(table.rows[0].cells.slice(0, 3), ['s', 'kubernetes.io/tls', 2]);
  const odd = toTable('Ingress', [{ metadata: { name: 'i' }, spec: { rules: 5 } } as never], {}, 'None') as any;
  t.is(odd.rows[0].cells[0], 'i');
  t.true(odd.rows[0].cells.includes('<invalid>'));
});
