import { setTimeout as sleep } from 'node:timers/promises';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { getErrorMessage } from '../util/errors.ts';
import { setupPodNetwork, writePodFiles } from './node-network.ts';
import type { PodEvent } from './pod-events.ts';
import { prepareVolumes, VolumeError, type VolumeSources } from './pod-volumes.ts';
import type { PodContext } from './pod-worker.ts';

/**
 * A pod's sandbox before its containers start, as kubelet's sync makes it:
 * its network namespace, address and /etc files (with hostNetwork: the
 * node's namespace and address, nothing made), then its volumes.
 */

/**
 * How often a pod whose volume cannot be made yet looks again (kubelet
 * retries the mount): a ConfigMap not there, or a ServiceAccount (whose
 * token the ServiceAccount volume holds) its controller has not made yet;
 * short, as a new namespace's pods wait for both.
 */
const VOLUME_RETRY_MS = 200;

export interface SandboxRequest {
  ctx: PodContext;
  pod: Pod;
  /** The pod's own name on the node (its namespace name when it has one). */
  id: string;
  hostNetwork: boolean;
  /** Whether the pod was stopped meanwhile (the volume wait ends then). */
  stopped(): boolean;
  event(e: PodEvent): void;
}

/** setupNetwork makes the pod's network (with hostNetwork: nothing, the node's address); one that cannot be made is FailedCreatePodSandBox. */
export async function setupNetwork(r: SandboxRequest): Promise<{ ip: string } | { failure: { reason: string; message: string } }> {
  let ip = r.ctx.hostIP;
  if (!r.hostNetwork) {
    try {
      const net = await setupPodNetwork(r.ctx.nodeNs, r.id, r.ctx.ipam);
      ip = net.ip;
      writePodFiles(r.id, {
        hostname: r.pod.spec?.hostname ?? r.pod.metadata?.name ?? '',
        ip,
        // dnsPolicy Default: the node's resolver (the host's resolv.conf), as kubelet; otherwise the cluster's DNS.
        nameservers: r.pod.spec?.dnsPolicy === 'Default' ? [] : r.ctx.clusterDNS,
        namespace: r.pod.metadata?.namespace ?? 'default',
        clusterDomain: r.ctx.clusterDomain,
      });
    } catch (error) {
      return { failure: { reason: 'FailedCreatePodSandBox', message: getErrorMessage(error) } };
    }
  }
  return { ip };
}

/** volumeSources are where a pod's volumes read from: the node agent's getters (a missing ConfigMap getter finds none). */
export function volumeSources(ctx: PodContext): VolumeSources {
  return { configMap: ctx.configMap ?? (async () => undefined), ...(ctx.token ? { token: ctx.token } : {}), ...(ctx.secret ? { secret: ctx.secret } : {}) };
}

/**
 * makeVolumes makes the pod's volumes; while a ConfigMap it mounts is
 * missing it looks again every second (kubelet's FailedMount, the pod
 * staying ContainerCreating). A volume that cannot be made at all is
 * `volumeError`, which fails the containers with CreateContainerConfigError.
 */
export async function makeVolumes(r: SandboxRequest): Promise<{ volumes: Map<string, string>; volumeError?: string; stopped?: true }> {
  let told = false;
  while (!r.stopped()) {
    try {
      return { volumes: await prepareVolumes(r.id, r.pod, volumeSources(r.ctx)) };
    } catch (error) {
      if (!(error instanceof VolumeError && error.missing)) return { volumes: new Map(), volumeError: getErrorMessage(error) };
      if (!told) r.event({ type: 'Warning', reason: 'FailedMount', message: error.message });
      told = true;
      await sleep(VOLUME_RETRY_MS);
    }
  }
  return { volumes: new Map(), stopped: true };
}
