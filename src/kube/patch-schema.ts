/**
 * The strategic-merge-patch metadata of the built-in types Ferry serves: for
 * each struct, which fields are lists merged by a key (`patchStrategy:"merge"`,
 * `patchMergeKey`), which primitive lists merge as sets,  and the struct types of nested fields. Taken from the
 * `patchStrategy`/`patchMergeKey` tags of kubernetes/api core/v1 and apps/v1.
 * A field not listed here is replaced as a whole when it is a list.
 */
export interface FieldSchema {
  /** Struct type of the field, or of its items for lists. */
  readonly type?: string;
  /** The list merges by this key instead of being replaced. */
  readonly mergeKey?: string;
  /** A list of scalars that merges as a set. */
  readonly mergePrimitives?: boolean;
}

export type StructSchema = Readonly<Record<string, FieldSchema>>;

const conditions: FieldSchema = { mergeKey: 'type' };

export const structs: Readonly<Record<string, StructSchema>> = {
  ObjectMeta: { finalizers: { mergePrimitives: true }, ownerReferences: { mergeKey: 'uid' } },
  PodSpec: {
    volumes: { type: 'Volume', mergeKey: 'name' },
    initContainers: { type: 'Container', mergeKey: 'name' },
    containers: { type: 'Container', mergeKey: 'name' },
    ephemeralContainers: { type: 'Container', mergeKey: 'name' },
    imagePullSecrets: { mergeKey: 'name' },
    hostAliases: { mergeKey: 'ip' },
    topologySpreadConstraints: { mergeKey: 'topologyKey' },
    resourceClaims: { mergeKey: 'name' },
    schedulingGates: { mergeKey: 'name' },
  },
  Volume: {},
  Container: {
    ports: { mergeKey: 'containerPort' },
    env: { mergeKey: 'name' },
    volumeMounts: { mergeKey: 'mountPath' },
    volumeDevices: { mergeKey: 'devicePath' },
  },
  PodTemplateSpec: { metadata: { type: 'ObjectMeta' }, spec: { type: 'PodSpec' } },
  PodStatus: { conditions, ephemeralContainerStatuses: {}, podIPs: { mergeKey: 'ip' } },
  Pod: { metadata: { type: 'ObjectMeta' }, spec: { type: 'PodSpec' }, status: { type: 'PodStatus' } },
  ServiceSpec: { ports: { mergeKey: 'port' } },
  ServiceStatus: { conditions },
  Service: { metadata: { type: 'ObjectMeta' }, spec: { type: 'ServiceSpec' }, status: { type: 'ServiceStatus' } },
  NodeSpec: {},
  NodeStatus: { conditions, addresses: { mergeKey: 'type' } },
  Node: { metadata: { type: 'ObjectMeta' }, spec: { type: 'NodeSpec' }, status: { type: 'NodeStatus' } },
  NamespaceStatus: { conditions },
  Namespace: { metadata: { type: 'ObjectMeta' }, status: { type: 'NamespaceStatus' } },
  DeploymentSpec: { template: { type: 'PodTemplateSpec' }, },
  DeploymentStatus: { conditions },
  Deployment: { metadata: { type: 'ObjectMeta' }, spec: { type: 'DeploymentSpec' }, status: { type: 'DeploymentStatus' } },
  ReplicaSetSpec: { template: { type: 'PodTemplateSpec' } },
  ReplicaSetStatus: { conditions },
  ReplicaSet: { metadata: { type: 'ObjectMeta' }, spec: { type: 'ReplicaSetSpec' }, status: { type: 'ReplicaSetStatus' } },
  // Issue 17's kinds: workloads whose pod templates merge containers by name, as apps/v1 and batch/v1 tag them.
  StatefulSetSpec: { template: { type: 'PodTemplateSpec' } },
  StatefulSet: { metadata: { type: 'ObjectMeta' }, spec: { type: 'StatefulSetSpec' }, status: { type: 'DeploymentStatus' } },
  DaemonSetSpec: { template: { type: 'PodTemplateSpec' } },
  DaemonSet: { metadata: { type: 'ObjectMeta' }, spec: { type: 'DaemonSetSpec' }, status: { type: 'DeploymentStatus' } },
  ReplicationControllerSpec: { template: { type: 'PodTemplateSpec' } },
  ReplicationController: { metadata: { type: 'ObjectMeta' }, spec: { type: 'ReplicationControllerSpec' }, status: { type: 'ReplicaSetStatus' } },
  JobSpec: { template: { type: 'PodTemplateSpec' } },
  JobStatus: { conditions },
  Job: { metadata: { type: 'ObjectMeta' }, spec: { type: 'JobSpec' }, status: { type: 'JobStatus' } },
  JobTemplateSpec: { metadata: { type: 'ObjectMeta' }, spec: { type: 'JobSpec' } },
  CronJobSpec: { jobTemplate: { type: 'JobTemplateSpec' } },
  CronJob: { metadata: { type: 'ObjectMeta' }, spec: { type: 'CronJobSpec' } },
  ServiceAccount: { metadata: { type: 'ObjectMeta' }, secrets: { mergeKey: 'name' } },
  PersistentVolumeClaimStatus: { conditions },
  PersistentVolumeClaim: { metadata: { type: 'ObjectMeta' }, status: { type: 'PersistentVolumeClaimStatus' } },
  Generic: { metadata: { type: 'ObjectMeta' } },
};

/** rootStruct names the schema for a kind; kinds without list merge keys share `Generic`. */
export function rootStruct(kind: string): string {
  return Object.hasOwn(structs, kind) ? kind : 'Generic';
}
