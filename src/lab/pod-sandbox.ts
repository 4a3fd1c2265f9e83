import { setTimeout as sleep } from 'node:timers/promises';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { getErrorMessage } from '../util/errors.ts';
import { setupPodNetwork, writePodFiles } from './node-network.ts';
import type { PodEvent } from './pod-events.ts';
import { prepareVolumes, VolumeError } from './pod-volumes.ts';
import type { PodContext } from './pod-worker.ts';

/**
 * A pod's sandbox before its containers start, as kubelet's sync makes it:
 * its network namespace, address and /etc files (with hostNetwork: the
 * node's namespace and address, nothing made), then its volumes.
 */

/** How often a pod whose ConfigMap volume is missing looks again (kubelet retries the mount). */
const VOLUME_RETRY_MS = 1000;

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

export type Sandbox =
  | { failure: { reason: string; message: string } }
  | { ip: string; volumes: Map<string, string>; volumeError?: string; stopped?: true };

/** setupSandbox makes the pod's network and volumes; a network that cannot be made is FailedCreatePodSandBox. */
export async function setupSandbox(r: SandboxRequest): Promise<Sandbox> {
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
  return { ip, ...(await makeVolumes(r)) };
}

/**
 * makeVolumes makes the pod's volumes; while a ConfigMap it mounts is
 * missing it looks again every second (kubelet's FailedMount, the pod
 * staying ContainerCreating). A volume that cannot be made at all is
 * `volumeError`, which fails the containers with CreateContainerConfigError.
 */
async function makeVolumes(r: SandboxRequest): Promise<{ volumes: Map<string, string>; volumeError?: string; stopped?: true }> {
  let told = false;
  while (!r.stopped()) {
    try {
      return { volumes: await prepareVolumes(r.id, r.pod, r.ctx.configMap ?? (async () => undefined)) };
    } catch (error) {
      if (!(error instanceof VolumeError && error.missing)) return { volumes: new Map(), volumeError: getErrorMessage(error) };
      if (!told) r.event({ type: 'Warning', reason: 'FailedMount', message: error.message });
      told = true;
      await sleep(VOLUME_RETRY_MS);
    }
  }
  return { volumes: new Map(), stopped: true };
}
