import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { podIPs } from './object.ts';
import { inZone, parseRequest } from './parse.ts';

/**
 * CoreDNS's `metadata` plugin and the kubernetes plugin's metadata
 * (plugin/metadata, plugin/kubernetes/metadata.go): labels such as
 * `kubernetes/namespace` with string values, for a plugin (here `log`'s
 * `{/label}` placeholders) to read. Ferry collects them only when a
 * placeholder asks, so a server without such a `log` format pays nothing.
 */
export type Metadata = Map<string, string>;

/** ClientPod is what the kubernetes plugin tells of the pod a query came from. */
export interface ClientPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * ClientPods finds the pod holding a client's address (CoreDNS's PodIndex by
 * IP), fed by the verified-mode pod informer only when a `metadata` plugin
 * will ask. An address several pods hold answers with the first added.
 */
export class ClientPods {
  readonly #byIP = new Map<string, ClientPod>();

  /** update replaces pod `old` (undefined when new) with `cur` (undefined when deleted). */
  update(old: Pod | undefined, cur: Pod | undefined): void {
    if (old) {
      const gone = clientPod(old);
      for (const ip of podIPs(old)) {
        const held = this.#byIP.get(ip);
        if (held && held.namespace === gone.namespace && held.name === gone.name) this.#byIP.delete(ip);
      }
    }
    if (cur) {
      const pod = clientPod(cur);
      for (const ip of podIPs(cur)) if (!this.#byIP.has(ip)) this.#byIP.set(ip, pod);
    }
  }

  clear(): void {
    this.#byIP.clear();
  }

  get(ip: string): ClientPod | undefined {
    return this.#byIP.get(ip);
  }
}

function clientPod(p: Pod): ClientPod {
  return { namespace: p.metadata?.namespace ?? 'default', name: p.metadata?.name ?? '', labels: p.metadata?.labels ?? {} };
}

/** KubernetesMetadataOptions are the kubernetes plugin's facts its metadata reads. */
export interface KubernetesMetadataOptions {
  /** Every zone of the plugin (lower case, no trailing dot), the cluster zone first. */
  readonly zones: readonly string[];
  /** Those of `zones` that are multicluster zones. */
  readonly multiclusterZones: readonly string[];
  readonly zonal: boolean;
  /** Client pods by address; only `pods verified` looks the client up (CoreDNS's podWithIP). */
  readonly clientPods: ClientPods | undefined;
}

/**
 * kubernetesMetadata adds the kubernetes plugin's labels for a question
 * `name` (lower case, no trailing dot) from client address `clientIP`: the
 * client's pod (namespace, name, labels), then, for a name in one of its
 * zones, the parts of the name, or `kubernetes/parse-error` when it is no
 * cluster name.
 */
export function kubernetesMetadata(md: Metadata, name: string, clientIP: string, o: KubernetesMetadataOptions): void {
  const pod = o.clientPods?.get(clientIP);
  if (pod) {
    md.set('kubernetes/client-namespace', pod.namespace);
    md.set('kubernetes/client-pod-name', pod.name);
    for (const [k, v] of Object.entries(pod.labels)) md.set(`kubernetes/client-label/${k}`, v);
  }
  const zone = longestZone(name, o.zones);
  if (zone === undefined) return;
  const multicluster = o.multiclusterZones.includes(zone);
  const r = parseRequest(name, zone, multicluster, o.zonal);
  if (!r) {
    md.set('kubernetes/parse-error', 'invalid query name');
    return;
  }
  md.set('kubernetes/port-name', r.port);
  md.set('kubernetes/protocol', r.protocol);
  md.set('kubernetes/endpoint', r.endpoint);
  if (multicluster) md.set('kubernetes/cluster', r.cluster);
  if (o.zonal) md.set('kubernetes/zone', r.topoZone ?? '');
  md.set('kubernetes/service', r.service);
  md.set('kubernetes/namespace', r.namespace);
  md.set('kubernetes/kind', r.podOrSvc);
}

/** longestZone is the most specific of `zones` holding `name` (CoreDNS's Zones.Matches), or undefined. */
export function longestZone(name: string, zones: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const z of zones) if ((z === '' || inZone(name, z)) && (best === undefined || z.length > best.length)) best = z;
  return best;
}
