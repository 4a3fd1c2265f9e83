import type { KubeObject } from '../kube/types.ts';
import { formatLabelSelector, fromLabelSelector } from '../kube/labels.ts';
import { humanAge, type Column, type Printer } from './printers.ts';

/**
 * Column printers of the kinds resources-more.ts serves, with the columns
 * kubectl 1.32 shows for them (kubernetes `pkg/printers/internalversion`).
 */
type Any = any; // printers read loosely typed JSON fields

const name: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' };
const age: Column = { name: 'Age', type: 'string', description: 'Time since the object was created.' };
const col = (n: string, description: string, priority = 0, type: Column['type'] = 'string'): Column => ({ name: n, type, priority, description });
const int = (n: string, description: string): Column => col(n, description, 0, 'integer');
const ageOf = (o: KubeObject): string => humanAge(o.metadata?.creationTimestamp);
const none = (s: unknown): string => (s === undefined || s === null || s === '' ? '<none>' : String(s));
const wide = [col('Containers', 'Container names.', 1), col('Images', 'Container images.', 1), col('Selector', 'The label selector.', 1)];

function selectorText(sel: Any): string {
  try {
    return sel ? none(formatLabelSelector(fromLabelSelector(sel))) : '<none>';
  } catch {
    return '<invalid>';
  }
}

function mapText(map: Any): string {
  const entries = Object.entries(map ?? {});
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${String(v)}`).join(',');
}

function templateCells(template: Any): [string, string] {
  const cs = (template?.spec?.containers ?? []) as Any[];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image).join(',')];
}

/** kube's `getAccessModesAsString`: RWO,ROX,RWX,RWOP in that order. */
function accessModesText(modes: Any): string {
  const short: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };
  return Object.keys(short).filter((m) => (modes ?? []).includes(m)).map((m) => short[m]).join(',');
}

function jobStatus(job: Any): string {
  const conditions = (job.status?.conditions ?? []) as Any[];
  const has = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (job.metadata?.deletionTimestamp) return 'Terminating';
  if (has('Suspended')) return 'Suspended';
  if (has('FailureTarget')) return 'FailureTarget';
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

function jobDuration(job: Any): string {
  const start = job.status?.startTime;
  if (!start) return '';
  const end = job.status?.completionTime ? Date.parse(job.status.completionTime) : Date.now();
  return humanAge(start, end);
}

function ingressPorts(spec: Any): string {
  return (spec?.tls ?? []).length > 0 ? '80, 443' : '80';
}

function loadBalancerText(status: Any): string {
  const ingress = ((status?.loadBalancer?.ingress ?? []) as Any[]).map((i) => i.ip ?? i.hostname).filter(Boolean);
  return ingress.join(',');
}

function subjectNames(binding: Any, kind: string): string {
  return ((binding.subjects ?? []) as Any[]).filter((s) => s.kind === kind).map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name)).join(', ');
}

const bindingColumns = [name, col('Role', 'The role referred to.'), age, col('Users', 'Users bound.', 1), col('Groups', 'Groups bound.', 1), col('ServiceAccounts', 'Service accounts bound.', 1)];
const bindingCells = (o: Any) => [o.metadata.name, `${o.roleRef?.kind ?? ''}/${o.roleRef?.name ?? ''}`, ageOf(o), subjectNames(o, 'User'), subjectNames(o, 'Group'), subjectNames(o, 'ServiceAccount')];
const createdAt = col('Created At', 'Creation time.', 0);

export const morePrinters: Readonly<Record<string, Printer>> = {
  Secret: {
    columns: [name, col('Type', 'The type of the secret.'), int('Data', 'Number of keys.'), age],
    cells: (o: Any) => [o.metadata.name, o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, ageOf(o)],
  },
  ServiceAccount: {
    columns: [name, int('Secrets', 'Number of secrets.'), age],
    cells: (o: Any) => [o.metadata.name, (o.secrets ?? []).length, ageOf(o)],
  },
  StatefulSet: {
    columns: [name, col('Ready', 'Ready replicas / desired.'), age, ...wide.slice(0, 2)],
    cells: (o: Any) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, ageOf(o), ...templateCells(o.spec?.template)],
  },
  DaemonSet: {
    columns: [name, int('Desired', 'Desired pods.'), int('Current', 'Scheduled pods.'), int('Ready', 'Ready pods.'), int('Up-to-date', 'Updated pods.'), int('Available', 'Available pods.'), col('Node Selector', 'The node selector.'), age, ...wide],
    cells: (o: Any) => {
      const s = o.status ?? {};
      return [o.metadata.name, s.desiredNumberScheduled ?? 0, s.currentNumberScheduled ?? 0, s.numberReady ?? 0, s.updatedNumberScheduled ?? 0, s.numberAvailable ?? 0, mapText(o.spec?.template?.spec?.nodeSelector), ageOf(o), ...templateCells(o.spec?.template), selectorText(o.spec?.selector)];
    },
  },
  ReplicationController: {
    columns: [name, int('Desired', 'Desired replicas.'), int('Current', 'Current replicas.'), int('Ready', 'Ready replicas.'), age, ...wide],
    cells: (o: Any) => [o.metadata.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, ageOf(o), ...templateCells(o.spec?.template), mapText(o.spec?.selector)],
  },
  Job: {
    columns: [name, col('Status', 'The job status.'), col('Completions', 'Succeeded / desired completions.'), col('Duration', 'Time the job ran.'), age, ...wide],
    cells: (o: Any) => {
      const completions = o.spec?.completions === undefined || o.spec?.completions === null ? `${o.status?.succeeded ?? 0}/1 of ${o.spec?.parallelism ?? 1}` : `${o.status?.succeeded ?? 0}/${o.spec.completions}`;
      return [o.metadata.name, jobStatus(o), completions, jobDuration(o), ageOf(o), ...templateCells(o.spec?.template), selectorText(o.spec?.selector)];
    },
  },
  CronJob: {
    columns: [name, col('Schedule', 'The cron schedule.'), col('Timezone', 'The time zone.'), col('Suspend', 'Whether the cron job is suspended.'), int('Active', 'Running jobs.'), col('Last Schedule', 'Time since the last schedule.'), age, ...wide],
    cells: (o: Any) => [o.metadata.name, o.spec?.schedule ?? '', none(o.spec?.timeZone), String(o.spec?.suspend ?? false), (o.status?.active ?? []).length, o.status?.lastScheduleTime ? humanAge(o.status.lastScheduleTime) : '<none>', ageOf(o), ...templateCells(o.spec?.jobTemplate?.spec?.template), selectorText(o.spec?.jobTemplate?.spec?.selector)],
  },
  Ingress: {
    columns: [name, col('Class', 'The ingress class.'), col('Hosts', 'Hosts the rules match.'), col('Address', 'Load balancer addresses.'), col('Ports', 'Ports served.'), age],
    cells: (o: Any) => {
      const hosts = ((o.spec?.rules ?? []) as Any[]).map((r) => r.host || '*');
      const shown = hosts.length > 4 ? `${hosts.slice(0, 4).join(',')} + ${hosts.length - 4} more...` : hosts.join(',');
      return [o.metadata.name, o.spec?.ingressClassName ?? '<none>', hosts.length === 0 ? '*' : shown, loadBalancerText(o.status), ingressPorts(o.spec), ageOf(o)];
    },
  },
  IngressClass: {
    columns: [name, col('Controller', 'The ingress controller.'), col('Parameters', 'Controller parameters.'), age],
    cells: (o: Any) => {
      const p = o.spec?.parameters;
      return [o.metadata.name, o.spec?.controller ?? '', p ? `${p.apiGroup ? `${p.kind}.${p.apiGroup}` : p.kind}/${p.name}` : '<none>', ageOf(o)];
    },
  },
  NetworkPolicy: {
    columns: [name, col('Pod-Selector', 'The pods the policy applies to.'), age],
    cells: (o: Any) => [o.metadata.name, selectorText(o.spec?.podSelector), ageOf(o)],
  },
  PersistentVolumeClaim: {
    columns: [name, col('Status', 'The claim phase.'), col('Volume', 'The bound volume.'), col('Capacity', 'Capacity of the bound volume.'), col('Access Modes', 'Access modes.'), col('StorageClass', 'Storage class.'), col('VolumeAttributesClass', 'Volume attributes class.'), age, col('VolumeMode', 'Volume mode.', 1)],
    cells: (o: Any) => {
      const bound = o.spec?.volumeName ? o.status : undefined;
      return [o.metadata.name, o.metadata.deletionTimestamp ? 'Terminating' : o.status?.phase ?? 'Pending', o.spec?.volumeName ?? '', bound?.capacity?.storage ?? '', bound ? accessModesText(o.status?.accessModes) : '', o.spec?.storageClassName ?? '<unset>', o.spec?.volumeAttributesClassName ?? '<unset>', ageOf(o), o.spec?.volumeMode ?? 'Filesystem'];
    },
  },
  PersistentVolume: {
    columns: [name, col('Capacity', 'Capacity.'), col('Access Modes', 'Access modes.'), col('Reclaim Policy', 'Reclaim policy.'), col('Status', 'The volume phase.'), col('Claim', 'The claim bound.'), col('StorageClass', 'Storage class.'), col('VolumeAttributesClass', 'Volume attributes class.'), col('Reason', 'Reason of the phase.'), age, col('VolumeMode', 'Volume mode.', 1)],
    cells: (o: Any) => {
      const ref = o.spec?.claimRef;
      return [o.metadata.name, o.spec?.capacity?.storage ?? '', accessModesText(o.spec?.accessModes), o.spec?.persistentVolumeReclaimPolicy ?? '', o.metadata.deletionTimestamp ? 'Terminating' : o.status?.phase ?? '', ref ? `${ref.namespace}/${ref.name}` : '', o.spec?.storageClassName ?? '', o.spec?.volumeAttributesClassName ?? '<unset>', o.status?.reason ?? '', ageOf(o), o.spec?.volumeMode ?? 'Filesystem'];
    },
  },
  Role: { columns: [name, createdAt], cells: (o: Any) => [o.metadata.name, o.metadata.creationTimestamp ?? ''] },
  ClusterRole: { columns: [name, createdAt], cells: (o: Any) => [o.metadata.name, o.metadata.creationTimestamp ?? ''] },
  RoleBinding: { columns: bindingColumns, cells: bindingCells },
  ClusterRoleBinding: { columns: bindingColumns, cells: bindingCells },
  CustomResourceDefinition: { columns: [name, createdAt], cells: (o: Any) => [o.metadata.name, o.metadata.creationTimestamp ?? ''] },
};
