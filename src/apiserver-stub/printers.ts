import type { KubeObject } from '../kube/types.ts';
import { formatLabelSelector, fromLabelSelector } from '../kube/labels.ts';
import { morePrinters } from './printers-more.ts';

/**
 * Column printers for server-side Tables (kubernetes `pkg/printers/internalversion`),
 * so `kubectl get` shows the familiar columns; priority-1 columns appear with `-o wide`.
 */
export interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date';
  readonly format?: string;
  readonly priority?: number;
  readonly description: string;
}

export interface Printer {
  readonly columns: readonly Column[];
  cells(obj: KubeObject): unknown[];
}

type Any = any; // printers read loosely typed JSON fields

/** humanAge is kube's `duration.HumanDuration` of the time since a timestamp. */
export function humanAge(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60 === 0 ? '' : `${seconds % 60}s`}`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return `${hours}h${minutes % 60 === 0 ? '' : `${minutes % 60}m`}`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return `${days}d${hours % 24 === 0 ? '' : `${hours % 24}h`}`;
  if (days < 365 * 2) return `${days}d`;
  return `${Math.floor(days / 365)}y${days % 365 === 0 ? '' : `${days % 365}d`}`;
}

const name: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' };
const age: Column = { name: 'Age', type: 'string', description: 'Time since the object was created.' };
const col = (n: string, description: string, priority = 0, type: Column['type'] = 'string'): Column => ({ name: n, type, priority, description });
const ageOf = (o: KubeObject): string => humanAge(o.metadata?.creationTimestamp);
const none = (s: string | undefined): string => (s === undefined || s === '' ? '<none>' : s);
const selectorText = (sel: Any): string => {
  try {
    return sel ? none(formatLabelSelector(fromLabelSelector(sel))) : '<none>';
  } catch {
    return '<invalid>';
  }
};

function servicePorts(spec: Any): string {
  const ports = (spec?.ports ?? []) as Any[];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function externalIP(svc: Any): string {
  const spec = svc.spec ?? {};
  const ingress = ((svc.status?.loadBalancer?.ingress ?? []) as Any[]).map((i) => i.ip ?? i.hostname);
  const external = [...(spec.externalIPs ?? []), ...ingress];
  if (spec.type === 'ExternalName') return spec.externalName ?? '<none>';
  if (spec.type === 'LoadBalancer' && external.length === 0) return '<pending>';
  return external.length > 0 ? external.join(',') : '<none>';
}

function containerColumns(template: Any): [string, string] {
  const cs = (template?.spec?.containers ?? []) as Any[];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image).join(',')];
}

function endpointsText(subsets: Any[]): string {
  const all: string[] = [];
  for (const s of subsets ?? []) for (const a of s.addresses ?? []) for (const p of s.ports ?? [{}]) all.push(p.port ? `${a.ip}:${p.port}` : a.ip);
  if (all.length === 0) return '<none>';
  return all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(',');
}

function nodeStatus(node: Any): string {
  const ready = ((node.status?.conditions ?? []) as Any[]).find((c) => c.type === 'Ready');
  const status = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
  return node.spec?.unschedulable ? `${status},SchedulingDisabled` : status;
}

/** terminatedText is how kubectl names a container's exit: its reason, else the signal or exit code. */
function terminatedText(t: Any): string {
  return t.reason ? t.reason : t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`;
}

/**
 * initStatus is the STATUS of a pod still initializing, as kubectl prints
 * it: the first init container not done gives `Init:<reason>` (failed or
 * waiting with a reason) or `Init:<done>/<total>`; undefined when every init
 * container is done (succeeded, or a sidecar that has started).
 */
function initStatus(pod: Any, sidecars: ReadonlySet<string>): string | undefined {
  const statuses = (pod.status?.initContainerStatuses ?? []) as Any[];
  const total = (pod.spec?.initContainers ?? []).length;
  for (const [i, c] of statuses.entries()) {
    if (c.state?.terminated?.exitCode === 0) continue;
    if (sidecars.has(c.name) && c.started) continue;
    if (c.state?.terminated) return `Init:${terminatedText(c.state.terminated)}`;
    const waiting = c.state?.waiting?.reason;
    if (waiting && waiting !== 'PodInitializing') return `Init:${waiting}`;
    return `Init:${i}/${total}`;
  }
  return undefined;
}

/** podStatus gives kubectl's READY, STATUS and RESTARTS of a pod (printPod): sidecars count as containers. */
function podStatus(pod: Any): [string, string, number] {
  const sidecars = new Set(((pod.spec?.initContainers ?? []) as Any[]).filter((c) => c.restartPolicy === 'Always').map((c) => c.name as string));
  const initStatuses = (pod.status?.initContainerStatuses ?? []) as Any[];
  const statuses = (pod.status?.containerStatuses ?? []) as Any[];
  const total = (pod.spec?.containers ?? []).length + sidecars.size;
  let ready = initStatuses.filter((c) => sidecars.has(c.name) && c.ready).length;
  let restarts = initStatuses.reduce((n, c) => n + (c.restartCount ?? 0), 0);
  let reason: string = pod.status?.reason ?? pod.status?.phase ?? 'Unknown';
  const initializing = initStatus(pod, sidecars);
  const initialized = ((pod.status?.conditions ?? []) as Any[]).some((c) => c.type === 'Initialized' && c.status === 'True');
  if (initializing !== undefined && !initialized) {
    reason = initializing;
  } else {
    restarts = initStatuses.filter((c) => sidecars.has(c.name)).reduce((n, c) => n + (c.restartCount ?? 0), 0);
    let running = false;
    // Last to first, as kubectl: the first container's state has the last word.
    for (const c of [...statuses].reverse()) {
      restarts += c.restartCount ?? 0;
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated) reason = terminatedText(c.state.terminated);
      else if (c.ready && c.state?.running) {
        running = true;
        ready++;
      }
    }
    if (reason === 'Completed' && running) reason = 'Running';
  }
  if (pod.metadata?.deletionTimestamp) reason = 'Terminating';
  return [`${ready}/${total}`, reason, restarts];
}

export const printers: Readonly<Record<string, Printer>> = {
  Service: {
    columns: [name, col('Type', 'The type of the service.'), col('Cluster-IP', 'The cluster IP of the service.'), col('External-IP', 'The external IP of the service.'), col('Port(s)', 'The ports of the service.'), age, col('Selector', 'The selector of the service.', 1)],
    cells: (o: Any) => [o.metadata.name, o.spec?.type ?? 'ClusterIP', none(o.spec?.clusterIP), externalIP(o), servicePorts(o.spec), ageOf(o), o.spec?.selector ? Object.entries(o.spec.selector).map(([k, v]) => `${k}=${String(v)}`).join(',') : '<none>'],
  },
  Pod: {
    columns: [name, col('Ready', 'Ready containers / containers.'), col('Status', 'The phase or reason of the pod.'), col('Restarts', 'Container restarts.', 0, 'integer'), age, col('IP', 'The pod IP.', 1), col('Node', 'The node the pod runs on.', 1), col('Nominated Node', 'The nominated node.', 1), col('Readiness Gates', 'Readiness gates.', 1)],
    cells: (o: Any) => {
      const [ready, status, restarts] = podStatus(o);
      return [o.metadata.name, ready, status, restarts, ageOf(o), none(o.status?.podIP), none(o.spec?.nodeName), none(o.status?.nominatedNodeName), '<none>'];
    },
  },
  Deployment: {
    columns: [name, col('Ready', 'Ready replicas / desired.'), col('Up-to-date', 'Updated replicas.', 0, 'integer'), col('Available', 'Available replicas.', 0, 'integer'), age, col('Containers', 'Container names.', 1), col('Images', 'Container images.', 1), col('Selector', 'The label selector.', 1)],
    cells: (o: Any) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, o.status?.updatedReplicas ?? 0, o.status?.availableReplicas ?? 0, ageOf(o), ...containerColumns(o.spec?.template), selectorText(o.spec?.selector)],
  },
  ReplicaSet: {
    columns: [name, col('Desired', 'Desired replicas.', 0, 'integer'), col('Current', 'Current replicas.', 0, 'integer'), col('Ready', 'Ready replicas.', 0, 'integer'), age, col('Containers', 'Container names.', 1), col('Images', 'Container images.', 1), col('Selector', 'The label selector.', 1)],
    cells: (o: Any) => [o.metadata.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, ageOf(o), ...containerColumns(o.spec?.template), selectorText(o.spec?.selector)],
  },
  Node: {
    columns: [name, col('Status', 'Node readiness.'), col('Roles', 'Node roles.'), age, col('Version', 'Kubelet version.'), col('Internal-IP', 'Internal IP.', 1), col('External-IP', 'External IP.', 1), col('OS-Image', 'OS image.', 1), col('Kernel-Version', 'Kernel version.', 1), col('Container-Runtime', 'Container runtime.', 1)],
    cells: (o: Any) => {
      const addr = (t: string) => none(((o.status?.addresses ?? []) as Any[]).find((a) => a.type === t)?.address);
      const roles = Object.keys(o.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length));
      const info = o.status?.nodeInfo ?? {};
      return [o.metadata.name, nodeStatus(o), roles.length > 0 ? roles.join(',') : '<none>', ageOf(o), info.kubeletVersion ?? '', addr('InternalIP'), addr('ExternalIP'), info.osImage ?? '<unknown>', info.kernelVersion ?? '<unknown>', info.containerRuntimeVersion ?? '<unknown>'];
    },
  },
  Endpoints: {
    columns: [name, col('Endpoints', 'Endpoint addresses.'), age],
    cells: (o: Any) => [o.metadata.name, endpointsText(o.subsets), ageOf(o)],
  },
  EndpointSlice: {
    columns: [name, col('AddressType', 'Address type.'), col('Ports', 'Ports.'), col('Endpoints', 'Endpoint addresses.'), age],
    cells: (o: Any) => {
      const addrs = ((o.endpoints ?? []) as Any[]).flatMap((e) => e.addresses ?? []);
      const ports = ((o.ports ?? []) as Any[]).map((p) => p.port).filter((p) => p !== undefined);
      return [o.metadata.name, o.addressType, ports.length > 0 ? ports.join(',') : '<unset>', addrs.length === 0 ? '<unset>' : addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(','), ageOf(o)];
    },
  },
  Namespace: {
    columns: [name, col('Status', 'The phase of the namespace.'), age],
    cells: (o: Any) => [o.metadata.name, o.status?.phase ?? 'Active', ageOf(o)],
  },
  ConfigMap: {
    columns: [name, col('Data', 'Number of keys.', 0, 'integer'), age],
    cells: (o: Any) => [o.metadata.name, Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, ageOf(o)],
  },
  Event: {
    columns: [col('Last Seen', 'Time of the last occurrence.'), col('Type', 'Event type.'), col('Reason', 'Reason.'), col('Object', 'The object it is about.'), col('Message', 'Message.'), { ...name, priority: 1 }],
    // core/v1 and events.k8s.io/v1 (regarding, note, deprecated*) print alike, as kube prints both from its internal Event.
    cells: (o: Any) => {
      const about = o.involvedObject ?? o.regarding;
      return [humanAge(o.lastTimestamp ?? o.deprecatedLastTimestamp ?? o.series?.lastObservedTime ?? o.eventTime ?? o.metadata.creationTimestamp), o.type ?? '', o.reason ?? '', `${String(about?.kind ?? '').toLowerCase()}/${about?.name ?? ''}`, o.message ?? o.note ?? '', o.metadata.name];
    },
  },
};

/** wantsTable tells whether the Accept header asks for a meta.k8s.io/v1 Table first. */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  const first = accept.split(',')[0]!;
  const params = new Map(first.split(';').slice(1).map((p) => p.trim().split('=') as [string, string]));
  return params.get('as') === 'Table' && params.get('g') === 'meta.k8s.io' && params.get('v') === 'v1';
}

function rowObject(obj: KubeObject, include: string): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/** safeCells: a stored value no printer expected (an odd type kept from before validation covered it) prints as <invalid>, never fails the list or watch. */
function safeCells(printer: Printer, obj: KubeObject): unknown[] {
  try {
    return printer.cells(obj);
  } catch {
    return printer.columns.map((c, i) => (i === 0 && c.format === 'name' ? obj.metadata?.name : '<invalid>'));
  }
}

/** toTable renders objects of one kind as a Table; `include` is the includeObject query parameter. */
export function toTable(kind: string, objects: readonly KubeObject[], listMeta: Record<string, unknown>, include: string, custom?: Printer): unknown {
  const printer = custom ?? printers[kind] ?? morePrinters[kind] ?? { columns: [name, age], cells: (o: KubeObject) => [o.metadata?.name, ageOf(o)] };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: printer.columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority ?? 0 })),
    rows: objects.map((o) => {
      const row: Record<string, unknown> = { cells: safeCells(printer, o) };
      const object = rowObject(o, include);
      if (object !== undefined) row.object = object;
      return row;
    }),
  };
}
