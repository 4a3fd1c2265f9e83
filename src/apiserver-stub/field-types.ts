import type { KubeObject, StatusCause } from '../kube/types.ts';
import { isRecord } from '../util/records.ts';

/**
 * The JSON type of every field the server and its controllers read, per
 * served kind, as the Go structs of kubernetes/api define them. A value of
 * another type is what kube's decoder refuses ("cannot unmarshal number into
 * ... spec.strategy"); here it is a 422 naming the field, checked before
 * defaults and validation touch the object. null is accepted anywhere, as
 * Go's decoder takes it for "unset". Fields not listed are not checked.
 */
export type FieldType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'int-or-string' | { map: FieldType } | { list: FieldType } | { fields: Fields };
type Fields = Readonly<Record<string, FieldType>>;

const str = 'string';
const int = 'integer';
const bool = 'boolean';
const obj = 'object';
const strings = { list: str } as const;
const stringMap = { map: str } as const;
const list = (item: FieldType): FieldType => ({ list: item });
const struct = (fields: Fields): FieldType => ({ fields });

const objectMeta = struct({
  name: str, generateName: str, namespace: str, uid: str, resourceVersion: str, selfLink: str, generation: int,
  creationTimestamp: str, deletionTimestamp: str, deletionGracePeriodSeconds: int,
  labels: stringMap, annotations: stringMap, finalizers: strings,
  ownerReferences: list(struct({ apiVersion: str, kind: str, name: str, uid: str, controller: bool, blockOwnerDeletion: bool })),
  managedFields: list(struct({ manager: str, operation: str, apiVersion: str, time: str, fieldsType: str, subresource: str, fieldsV1: obj })),
});

const labelSelector = struct({ matchLabels: stringMap, matchExpressions: list(struct({ key: str, operator: str, values: strings })) });
const containerPort = struct({ name: str, hostPort: int, containerPort: int, protocol: str, hostIP: str });
const container = struct({
  name: str, image: str, command: strings, args: strings, workingDir: str, ports: list(containerPort),
  env: list(struct({ name: str, value: str, valueFrom: obj })), envFrom: list(obj), resources: obj, volumeMounts: list(obj),
  livenessProbe: obj, readinessProbe: obj, startupProbe: obj, lifecycle: obj, terminationMessagePath: str, terminationMessagePolicy: str,
  imagePullPolicy: str, securityContext: obj, stdin: bool, stdinOnce: bool, tty: bool,
});
const podSpec = struct({
  volumes: list(obj), initContainers: list(container), containers: list(container), restartPolicy: str,
  terminationGracePeriodSeconds: int, activeDeadlineSeconds: int, dnsPolicy: str, nodeSelector: stringMap,
  serviceAccountName: str, serviceAccount: str, automountServiceAccountToken: bool, nodeName: str,
  hostNetwork: bool, hostPID: bool, hostIPC: bool, securityContext: obj, imagePullSecrets: list(obj), hostname: str, subdomain: str,
  affinity: obj, schedulerName: str, tolerations: list(obj), priorityClassName: str, priority: int, enableServiceLinks: bool,
});
const podTemplate = struct({ metadata: objectMeta, spec: podSpec });
const conditions = list(obj);
const workloadStatus = struct({
  observedGeneration: int, replicas: int, updatedReplicas: int, readyReplicas: int, availableReplicas: int,
  unavailableReplicas: int, fullyLabeledReplicas: int, collisionCount: int, conditions,
});
const endpointPort = struct({ name: str, port: int, protocol: str, appProtocol: str });

const ref = struct({ name: str });
const selectorMap = stringMap;
const jobSpec = struct({
  parallelism: int, completions: int, activeDeadlineSeconds: int, backoffLimit: int, backoffLimitPerIndex: int, maxFailedIndexes: int,
  selector: labelSelector, manualSelector: bool, template: podTemplate, ttlSecondsAfterFinished: int, completionMode: str, suspend: bool,
  podReplacementPolicy: str, managedBy: str, podFailurePolicy: obj, successPolicy: obj,
});
const claimSpec = struct({
  accessModes: strings, selector: labelSelector, resources: struct({ limits: obj, requests: obj }), volumeName: str,
  storageClassName: str, volumeMode: str, dataSource: obj, dataSourceRef: obj, volumeAttributesClassName: str,
});
const policyRule = struct({ verbs: strings, apiGroups: strings, resources: strings, resourceNames: strings, nonResourceURLs: strings });
const roleRef = struct({ apiGroup: str, kind: str, name: str });
const subject = struct({ kind: str, apiGroup: str, name: str, namespace: str });
const ingressBackend = struct({ service: struct({ name: str, port: struct({ name: str, number: int }) }), resource: struct({ apiGroup: str, kind: str, name: str }) });
const netpolPort = struct({ protocol: str, port: 'int-or-string', endPort: int });
const netpolPeer = struct({ podSelector: labelSelector, namespaceSelector: labelSelector, ipBlock: struct({ cidr: str, except: strings }) });

/** The kinds of resources-more.ts (issue 17). */
const moreSpecs: Readonly<Record<string, Fields>> = {
  Secret: { data: stringMap, stringData: stringMap, type: str, immutable: bool },
  ServiceAccount: { secrets: list(ref), imagePullSecrets: list(ref), automountServiceAccountToken: bool },
  ReplicationController: { spec: struct({ replicas: int, minReadySeconds: int, selector: selectorMap, template: podTemplate }), status: workloadStatus },
  StatefulSet: {
    spec: struct({
      replicas: int, selector: labelSelector, template: podTemplate, volumeClaimTemplates: list(struct({ metadata: objectMeta, spec: claimSpec })),
      serviceName: str, podManagementPolicy: str, updateStrategy: struct({ type: str, rollingUpdate: struct({ partition: int, maxUnavailable: 'int-or-string' }) }),
      revisionHistoryLimit: int, minReadySeconds: int, persistentVolumeClaimRetentionPolicy: struct({ whenDeleted: str, whenScaled: str }), ordinals: struct({ start: int }),
    }),
    status: struct({ observedGeneration: int, replicas: int, readyReplicas: int, currentReplicas: int, updatedReplicas: int, availableReplicas: int, currentRevision: str, updateRevision: str, collisionCount: int, conditions }),
  },
  DaemonSet: {
    spec: struct({ selector: labelSelector, template: podTemplate, updateStrategy: struct({ type: str, rollingUpdate: struct({ maxUnavailable: 'int-or-string', maxSurge: 'int-or-string' }) }), minReadySeconds: int, revisionHistoryLimit: int }),
    status: struct({ currentNumberScheduled: int, numberMisscheduled: int, desiredNumberScheduled: int, numberReady: int, observedGeneration: int, updatedNumberScheduled: int, numberAvailable: int, numberUnavailable: int, collisionCount: int, conditions }),
  },
  Job: {
    spec: jobSpec,
    status: struct({ conditions, startTime: str, completionTime: str, active: int, succeeded: int, failed: int, terminating: int, ready: int, completedIndexes: str, failedIndexes: str }),
  },
  CronJob: {
    spec: struct({
      schedule: str, timeZone: str, startingDeadlineSeconds: int, concurrencyPolicy: str, suspend: bool, successfulJobsHistoryLimit: int, failedJobsHistoryLimit: int,
      jobTemplate: struct({ metadata: objectMeta, spec: jobSpec }),
    }),
    status: struct({ active: list(obj), lastScheduleTime: str, lastSuccessfulTime: str }),
  },
  Ingress: {
    spec: struct({
      ingressClassName: str, defaultBackend: ingressBackend, tls: list(struct({ hosts: strings, secretName: str })),
      rules: list(struct({ host: str, http: struct({ paths: list(struct({ path: str, pathType: str, backend: ingressBackend })) }) })),
    }),
    status: struct({ loadBalancer: struct({ ingress: list(struct({ ip: str, hostname: str, ports: list(obj) })) }) }),
  },
  IngressClass: { spec: struct({ controller: str, parameters: struct({ apiGroup: str, kind: str, name: str, scope: str, namespace: str }) }) },
  NetworkPolicy: {
    spec: struct({
      podSelector: labelSelector, policyTypes: strings,
      ingress: list(struct({ ports: list(netpolPort), from: list(netpolPeer) })), egress: list(struct({ ports: list(netpolPort), to: list(netpolPeer) })),
    }),
  },
  PersistentVolumeClaim: { spec: claimSpec, status: struct({ phase: str, accessModes: strings, capacity: obj, conditions }) },
  PersistentVolume: {
    spec: struct({
      capacity: obj, accessModes: strings, claimRef: obj, persistentVolumeReclaimPolicy: str, storageClassName: str, mountOptions: strings,
      volumeMode: str, nodeAffinity: obj, volumeAttributesClassName: str, hostPath: struct({ path: str, type: str }), local: struct({ path: str, fsType: str }),
      nfs: struct({ server: str, path: str, readOnly: bool }), csi: struct({ driver: str, volumeHandle: str, readOnly: bool, fsType: str, volumeAttributes: stringMap }),
    }),
    status: struct({ phase: str, message: str, reason: str, lastPhaseTransitionTime: str }),
  },
  Role: { rules: list(policyRule) },
  ClusterRole: { rules: list(policyRule), aggregationRule: struct({ clusterRoleSelectors: list(labelSelector) }) },
  RoleBinding: { subjects: list(subject), roleRef },
  ClusterRoleBinding: { subjects: list(subject), roleRef },
};

const specs: Readonly<Record<string, Fields>> = {
  Namespace: { spec: struct({ finalizers: strings }), status: struct({ phase: str, conditions }) },
  Node: {
    spec: struct({ podCIDR: str, podCIDRs: strings, providerID: str, unschedulable: bool, taints: list(obj) }),
    status: struct({ capacity: obj, allocatable: obj, phase: str, conditions, addresses: list(struct({ type: str, address: str })), nodeInfo: obj }),
  },
  Pod: { spec: podSpec, status: struct({ phase: str, conditions, message: str, reason: str, hostIP: str, podIP: str, podIPs: list(struct({ ip: str })), startTime: str, containerStatuses: list(obj), initContainerStatuses: list(obj), qosClass: str }) },
  Service: {
    spec: struct({
      ports: list(struct({ name: str, protocol: str, appProtocol: str, port: int, targetPort: 'int-or-string', nodePort: int })),
      selector: stringMap, clusterIP: str, clusterIPs: strings, type: str, externalIPs: strings, sessionAffinity: str,
      loadBalancerIP: str, loadBalancerSourceRanges: strings, externalName: str, externalTrafficPolicy: str, healthCheckNodePort: int,
      publishNotReadyAddresses: bool, sessionAffinityConfig: struct({ clientIP: struct({ timeoutSeconds: int }) }), ipFamilies: strings,
      ipFamilyPolicy: str, allocateLoadBalancerNodePorts: bool, loadBalancerClass: str, internalTrafficPolicy: str,
    }),
    status: struct({ loadBalancer: struct({ ingress: list(struct({ ip: str, hostname: str })) }), conditions }),
  },
  Endpoints: {
    subsets: list(struct({
      addresses: list(struct({ ip: str, hostname: str, nodeName: str, targetRef: obj })),
      notReadyAddresses: list(struct({ ip: str, hostname: str, nodeName: str, targetRef: obj })),
      ports: list(endpointPort),
    })),
  },
  Event: { involvedObject: obj, reason: str, message: str, source: obj, firstTimestamp: str, lastTimestamp: str, count: int, type: str, eventTime: str, action: str, reportingComponent: str, reportingInstance: str },
  ConfigMap: { data: stringMap, binaryData: stringMap, immutable: bool },
  EndpointSlice: {
    addressType: str,
    endpoints: list(struct({ addresses: strings, conditions: struct({ ready: bool, serving: bool, terminating: bool }), hostname: str, targetRef: obj, nodeName: str, zone: str, hints: obj })),
    ports: list(endpointPort),
  },
  Lease: { spec: struct({ holderIdentity: str, leaseDurationSeconds: int, acquireTime: str, renewTime: str, leaseTransitions: int }) },
  Deployment: {
    spec: struct({
      replicas: int, selector: labelSelector, template: podTemplate, minReadySeconds: int, revisionHistoryLimit: int, paused: bool, progressDeadlineSeconds: int,
      strategy: struct({ type: str, rollingUpdate: struct({ maxUnavailable: 'int-or-string', maxSurge: 'int-or-string' }) }),
    }),
    status: workloadStatus,
  },
  ReplicaSet: { spec: struct({ replicas: int, minReadySeconds: int, selector: labelSelector, template: podTemplate }), status: workloadStatus },
  ...moreSpecs,
};

function kindFields(kind: string): FieldType {
  return struct({ apiVersion: str, kind: str, metadata: objectMeta, ...(Object.hasOwn(specs, kind) ? specs[kind] : {}) });
}

function typeName(type: FieldType): string {
  if (typeof type === 'string') return type === 'int-or-string' ? 'integer or string' : type;
  if ('list' in type) return 'array';
  return 'object';
}

function matches(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return isRecord(value);
    case 'int-or-string':
      return typeof value === 'string' || Number.isSafeInteger(value);
    default:
      return 'list' in type ? Array.isArray(value) : isRecord(value);
  }
}

/** shortValue renders a wrong value for a message without serialising a large or deep one. */
function shortValue(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (isRecord(value)) return 'object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

/** zeroValue is what Go's decoder makes of a null list item or map value: the element type's zero value. */
function zeroValue(type: FieldType): unknown {
  if (type === 'string') return '';
  if (type === 'integer' || type === 'number' || type === 'int-or-string') return 0;
  if (type === 'boolean') return false;
  if (typeof type === 'object' && 'list' in type) return [];
  return {};
}

/**
 * checkFieldTypes returns a FieldValueTypeInvalid cause for each field of
 * obj whose value has the wrong JSON type. As Go's decoder, it turns a null
 * list item or map value into its type's zero value (`ports: [null]` is
 * `ports: [{}]`), so readers of stored objects never meet a null element.
 */
export function checkFieldTypes(obj: KubeObject, kind: string): StatusCause[] {
  const causes: StatusCause[] = [];
  // A field's path is rendered only when it is reported: each entry holds its parent and its own segment.
  const stack: Pending[] = [{ value: obj, type: kindFields(kind), parent: undefined, segment: '' }];
  while (stack.length > 0 && causes.length < 20) {
    const entry = stack.pop()!;
    const { value, type } = entry;
    if (value === null || value === undefined) continue;
    if (!matches(value, type)) {
      causes.push({ reason: 'FieldValueTypeInvalid', field: fieldPath(entry), message: `Invalid value: ${shortValue(value)}: must be of type ${typeName(type)}` });
      continue;
    }
    if (typeof type === 'string') continue;
    if ('list' in type) {
      const list = value as unknown[];
      for (let i = 0; i < list.length; i++) {
        if (list[i] === null) list[i] = zeroValue(type.list);
        stack.push({ value: list[i], type: type.list, parent: entry, segment: `[${i}]` });
      }
    } else if ('map' in type) {
      const map = value as Record<string, unknown>;
      for (const [k, v] of Object.entries(map)) {
        if (v === null) Object.defineProperty(map, k, { value: zeroValue(type.map), writable: true, enumerable: true, configurable: true });
        stack.push({ value: map[k], type: type.map, parent: entry, segment: `[${k}]` });
      }
    } else {
      const fields = value as Record<string, unknown>;
      for (const k in fields) if (Object.hasOwn(fields, k) && Object.hasOwn(type.fields, k)) stack.push({ value: fields[k], type: type.fields[k]!, parent: entry, segment: k });
    }
  }
  return causes;
}

interface Pending { value: unknown; type: FieldType; parent: Pending | undefined; segment: string }

/** fieldPath renders an entry's path as kube names fields: `spec.ports[0].port`, `metadata.labels[app]`. */
function fieldPath(entry: Pending): string {
  let path = '';
  for (let e: Pending | undefined = entry; e !== undefined && e.parent !== undefined; e = e.parent) {
    path = path === '' || path.startsWith('[') ? `${e.segment}${path}` : `${e.segment}.${path}`;
  }
  return path;
}
