import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiError } from '../errors.ts';
import type { UserInfo } from '../handlers/reviews.ts';
import type { Backend } from '../storage/backend.ts';
import type { Attributes } from './attributes.ts';
import { ruleAllows, type PolicyRule } from './authorizer.ts';
import { NodeGraph, type ReferencedKind } from './node-graph.ts';

/** A Node authorizer's answer: no opinion leaves the request to the next authorizer (RBAC). */
export type NodeDecision = { decision: 'allow' | 'deny' | 'no-opinion'; reason: string };

const read = ['get', 'list', 'watch'];

/** nodeRules are kube's `system:node` ClusterRole rules (bootstrappolicy NodeRules), as far as Ferry serves their kinds. */
export const nodeRules: readonly PolicyRule[] = [
  { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'] },
  { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews', 'localsubjectaccessreviews'] },
  { verbs: read, apiGroups: [''], resources: ['services', 'nodes', 'pods'] },
  { verbs: ['create', 'update', 'patch', 'delete'], apiGroups: [''], resources: ['nodes'] },
  { verbs: ['update', 'patch'], apiGroups: [''], resources: ['nodes/status', 'pods/status'] },
  // Ferry's agent keeps a finalizer on its pods and writes their logs to the apiserver, which kubelet does not.
  { verbs: ['update', 'patch', 'delete'], apiGroups: [''], resources: ['pods', 'pods/log'] },
  { verbs: ['create', 'update', 'patch'], apiGroups: ['', 'events.k8s.io'], resources: ['events'] },
  { verbs: ['get'], apiGroups: [''], resources: ['secrets', 'configmaps', 'persistentvolumeclaims'] },
  { verbs: ['create'], apiGroups: [''], resources: ['serviceaccounts/token'] },
  { verbs: ['get', 'create', 'update', 'patch', 'delete'], apiGroups: ['coordination.k8s.io'], resources: ['leases'] },
];

/** nodeNameOf is the node a user is the agent of, if it is one. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.groups.includes('system:nodes') || !user.username.startsWith('system:node:')) return undefined;
  const name = user.username.slice('system:node:'.length);
  return name === '' ? undefined : name;
}

const allow: NodeDecision = { decision: 'allow', reason: '' };
const noOpinion = (reason = ''): NodeDecision => ({ decision: 'no-opinion', reason });
const deny = (reason: string): NodeDecision => ({ decision: 'deny', reason });
const referenced = new Set(['secrets', 'configmaps', 'persistentvolumeclaims']);
/**
 * How long a miss waits for the graph to catch up. The in-process stores
 * answer within a turn of the event loop; on etcd, when no pod was written
 * since, the graph's watch shows its progress only on the next pod event or
 * progress notification, so a true miss may wait this long.
 */
const CATCH_UP_MS = 1000;

/**
 * NodeAuthorizer is kube's Node authorizer (`plugin/pkg/auth/authorizer/node`)
 * with the NodeRestriction admission plugin's checks: a node's agent,
 * `system:node:<name>` in `system:nodes`, reads the Secrets, ConfigMaps and
 * PersistentVolumeClaims and asks tokens for the ServiceAccounts of the pods
 * bound to it, and nothing else of those kinds; it writes only its own Node
 * and Lease and the pods bound to it; the rest is kube's `system:node` role.
 * As kube's, it looks relationships up in a graph of pods fed by a watch
 * (node-graph.ts); on a miss it waits for the graph to catch up with the
 * store's revision, so a pod bound a moment ago counts at once, without a
 * read of the store per request. PersistentVolumes, which kube
 * reaches through a pod's claims, are not a node's to read here (no
 * provisioner binds them).
 */
export class NodeAuthorizer {
  private readonly backend: Backend;
  private readonly graph: NodeGraph;

  constructor(backend: Backend) {
    this.backend = backend;
    this.graph = new NodeGraph(backend);
  }

  start(): Promise<void> {
    return this.graph.start();
  }

  close(): void {
    this.graph.close();
  }

  authorize(user: UserInfo, a: Attributes): NodeDecision | Promise<NodeDecision> {
    const node = nodeNameOf(user);
    if (node === undefined || a.kind === 'path') return noOpinion();
    if (a.group === '' && a.subresource === '' && referenced.has(a.resource)) {
      if (!read.includes(a.verb) || a.name === '') return noOpinion('can only read individual resources of this type');
      return this.related(node, a, a.resource as ReferencedKind);
    }
    if (a.group === '' && a.resource === 'serviceaccounts' && a.subresource === 'token') return a.verb === 'create' ? this.related(node, a, 'serviceaccounts') : noOpinion();
    if (a.group === '' && a.resource === 'pods' && a.verb !== 'create' && !read.includes(a.verb)) return this.boundPod(node, a);
    // A create names its Node in the body: NodeRestriction checks it at admission (restrictNodeCreate).
    if (a.group === '' && a.resource === 'nodes' && !read.includes(a.verb) && a.verb !== 'create') {
      return a.name === node ? allow : deny(`node "${node}" is not allowed to modify node "${a.name}"`);
    }
    if (a.group === 'coordination.k8s.io' && a.resource === 'leases') {
      return a.namespace === 'kube-node-lease' && a.name === node ? allow : noOpinion('can only access node lease with the same name as the requesting node');
    }
    return nodeRules.some((r) => ruleAllows(r, a)) ? allow : noOpinion();
  }

  /**
   * related looks the object up in the graph once it has caught up with the
   * store as it was when the request came: a miss waits for that (up to
   * CATCH_UP_MS), since a pod bound a moment ago may not have reached the
   * graph yet and its node is already starting it; a hit waits one turn, so
   * a pod deleted a moment ago through an in-process store no longer counts.
   */
  private async related(node: string, a: Attributes & { kind: 'resource' }, kind: ReferencedKind): Promise<NodeDecision> {
    const found = () => this.graph.related(node, a.namespace, kind, a.name);
    await this.graph.caughtUp(this.backend.currentRevision(), found() ? 0 : CATCH_UP_MS);
    return found() ? allow : noOpinion(`no relationship found between node '${node}' and this object`);
  }

  /** boundPod is NodeRestriction's rule for pods: a node changes only the pods bound to it. */
  private async boundPod(node: string, a: Attributes & { kind: 'resource' }): Promise<NodeDecision> {
    const kv = await this.backend.get(`/registry/pods/${a.namespace}/${a.name}`);
    // A pod that is gone gets its 404 from the handler.
    if (!kv) return allow;
    if ((kv.value as Pod).spec?.nodeName !== node) return deny(`node "${node}" can only ${a.verb === 'delete' ? 'delete' : 'update'} pods with spec.nodeName set to itself`);
    return nodeRules.some((r) => ruleAllows(r, a)) ? allow : noOpinion();
  }
}

/** restrictNodeCreate is NodeRestriction on create: a node agent registers only its own Node (403 otherwise). */
export function restrictNodeCreate(user: UserInfo, name: string): void {
  const node = nodeNameOf(user);
  if (node === undefined || node === name) return;
  throw new ApiError(403, 'Forbidden', `nodes "${name}" is forbidden: node "${node}" is not allowed to modify node "${name}"`, { name, kind: 'nodes' });
}
