import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Backend } from '../storage/backend.ts';
import { StoreFeed } from '../storage/store-feed.ts';
const prefix = '/registry/pods/';

/** What a pod bound to a node lets that node reach (kube's graph edges from a pod). */
interface PodEdges {
  readonly node: string;
  readonly namespace: string;
  readonly account: string;
  readonly secrets: readonly string[];
  readonly configmaps: readonly string[];
  readonly persistentvolumeclaims: readonly string[];
}

export type ReferencedKind = 'secrets' | 'configmaps' | 'persistentvolumeclaims' | 'serviceaccounts';

/**
 * NodeGraph is the Node authorizer's view of which pods are bound to which
 * node and what they reference (kube's `node.Graph`, fed by a pod
 * informer), kept from a watch of the store so an authorization costs a
 * lookup, not a read of every pod in a namespace.
 */
export class NodeGraph {
  /** node → pod key → the pod's edges. */
  private readonly byNode = new Map<string, Map<string, PodEdges>>();
  private readonly nodeOfPod = new Map<string, string>();
  private readonly feed: StoreFeed;

  constructor(backend: Backend) {
    this.feed = new StoreFeed(backend, prefix, 'Node authorizer pods', {
      reset: () => {
        this.byNode.clear();
        this.nodeOfPod.clear();
      },
      put: (key, value) => this.set(key, value as Pod),
      remove: (key) => this.set(key, undefined),
    });
  }

  start(): Promise<void> {
    return this.feed.start();
  }

  close(): void {
    this.feed.close();
  }

  /** caughtUp resolves once the graph holds every pod write up to `revision`, or after `ms` (see StoreFeed.caughtUp). */
  caughtUp(revision: number, ms: number): Promise<boolean> {
    return this.feed.caughtUp(revision, ms);
  }

  private set(key: string, pod: Pod | undefined): void {
    const before = this.nodeOfPod.get(key);
    if (before !== undefined) {
      this.byNode.get(before)?.delete(key);
      this.nodeOfPod.delete(key);
    }
    const node = pod?.spec?.nodeName;
    if (!pod || !node) return;
    let pods = this.byNode.get(node);
    if (!pods) this.byNode.set(node, (pods = new Map()));
    pods.set(key, edgesOf(node, pod));
    this.nodeOfPod.set(key, node);
  }

  /** related is whether a pod bound to `node` in `namespace` references `kind` `name`. */
  related(node: string, namespace: string, kind: ReferencedKind, name: string): boolean {
    for (const p of this.byNode.get(node)?.values() ?? []) {
      if (p.namespace !== namespace) continue;
      if (kind === 'serviceaccounts' ? p.account === name : p[kind].includes(name)) return true;
    }
    return false;
  }
}

/** edgesOf lists what a pod references, as kube's graph_populator adds edges. */
export function edgesOf(node: string, pod: Pod): PodEdges {
  const spec = pod.spec;
  const containers = [...(spec?.initContainers ?? []), ...(spec?.containers ?? []), ...(spec?.ephemeralContainers ?? [])];
  const volumes = spec?.volumes ?? [];
  const named = (names: Array<string | undefined>) => names.filter((n): n is string => !!n);
  return {
    node,
    namespace: pod.metadata?.namespace ?? 'default',
    account: spec?.serviceAccountName || 'default',
    secrets: named([
      ...(spec?.imagePullSecrets ?? []).map((s) => s.name),
      ...volumes.flatMap((v) => [v.secret?.secretName, ...(v.projected?.sources ?? []).map((s) => s.secret?.name)]),
      ...containers.flatMap((c) => [...(c.envFrom ?? []).map((e) => e.secretRef?.name), ...(c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name)]),
    ]),
    configmaps: named([
      ...volumes.flatMap((v) => [v.configMap?.name, ...(v.projected?.sources ?? []).map((s) => s.configMap?.name)]),
      ...containers.flatMap((c) => [...(c.envFrom ?? []).map((e) => e.configMapRef?.name), ...(c.env ?? []).map((e) => e.valueFrom?.configMapKeyRef?.name)]),
    ]),
    persistentvolumeclaims: named(volumes.map((v) => v.persistentVolumeClaim?.claimName)),
  };
}
