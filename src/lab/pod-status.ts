import type { ContainerState as ApiContainerState, ContainerStatus, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import type { ContainerState, RestartPolicy } from './container.ts';

/**
 * Pod status as kubelet computes it (`kubelet_pods.go` getPhase,
 * `status/generate.go`), as a pure function of the containers' states and
 * readiness, so the agent only reports what this returns.
 */

export interface ContainerView {
  name: string;
  image: string;
  state: ContainerState;
  lastState: ContainerState | undefined;
  restartCount: number;
  /** Running and passing its readiness probe (or having none). */
  ready: boolean;
  pid: number | undefined;
  /** Running and past its startup probe (running, without one). */
  started?: boolean;
  /** Set for init containers: run to completion (`regular`) or alongside the app (`sidecar`). */
  init?: 'regular' | 'sidecar';
}

export interface PodView {
  containers: readonly ContainerView[];
  initContainers?: readonly ContainerView[];
  /** Every init container done (regular ones succeeded, sidecars started); true without init containers. */
  initialized?: boolean;
  /** A regular init container failed and will not be retried (restartPolicy Never). */
  initFailed?: boolean;
  restartPolicy: RestartPolicy;
  podIP: string | undefined;
  hostIP: string;
  startTime: Date;
  /** Why the pod cannot start at all (network setup failed, say). */
  failure?: { reason: string; message: string };
}

const time = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

function apiState(s: ContainerState, containerID: string | undefined): ApiContainerState {
  switch (s.kind) {
    case 'waiting':
      return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
    case 'running':
      return { running: { startedAt: time(s.startedAt) } };
    case 'terminated':
      return {
        terminated: {
          exitCode: s.exitCode, reason: s.reason, startedAt: time(s.startedAt), finishedAt: time(s.finishedAt),
          ...(s.signal ? { message: `killed by ${s.signal}` } : {}), ...(containerID ? { containerID } : {}),
        },
      };
  }
}

/** podPhase is kubelet's getPhase: Pending while initializing, Failed when an init container failed for good. */
export function podPhase(v: PodView): string {
  if (v.failure) return 'Pending';
  if (v.initFailed) return 'Failed';
  if (v.initialized === false) return 'Pending';
  let waiting = 0;
  let running = 0;
  let succeeded = 0;
  let failed = 0;
  for (const c of v.containers) {
    const s = c.state;
    if (s.kind === 'running') running++;
    else if (s.kind === 'terminated') (s.exitCode === 0 ? succeeded++ : failed++);
    else if (c.lastState?.kind === 'terminated') (c.lastState.exitCode === 0 ? succeeded++ : failed++);
    else waiting++;
  }
  const n = v.containers.length;
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (succeeded + failed === n) {
    if (v.restartPolicy === 'Always') return 'Running';
    if (failed > 0) return v.restartPolicy === 'OnFailure' ? 'Running' : 'Failed';
    return 'Succeeded';
  }
  return 'Pending';
}

function condition(type: string, ok: boolean, previous: readonly PodCondition[] | undefined, now: Date, reason?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const prev = previous?.find((c) => c.type === type);
  const c: PodCondition = { type, status, lastTransitionTime: prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : time(now) };
  if (!ok && reason) c.reason = reason;
  return c;
}

/** podStatus builds the status to report; `previous` keeps condition transition times stable. */
export function podStatus(v: PodView, previous: PodStatus | undefined, now: Date): PodStatus {
  const phase = podPhase(v);
  const toStatus = (c: ContainerView): ContainerStatus => {
    const containerID = c.pid !== undefined ? `ferry://${c.pid}` : undefined;
    return {
      name: c.name,
      image: c.image,
      imageID: `ferry://${c.image}`,
      ready: c.ready,
      started: c.started ?? c.state.kind === 'running',
      restartCount: c.restartCount,
      state: apiState(c.state, containerID),
      ...(c.lastState ? { lastState: apiState(c.lastState, undefined) } : {}),
      ...(containerID ? { containerID } : {}),
    };
  };
  const statuses = v.containers.map(toStatus);
  const sidecars = (v.initContainers ?? []).filter((c) => c.init === 'sidecar');
  const initialized = v.initialized ?? true;
  const allReady = initialized && v.containers.length > 0 && [...v.containers, ...sidecars].every((c) => c.ready);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const ready = allReady && !terminal;
  const reason = terminal ? 'PodCompleted' : initialized ? 'ContainersNotReady' : 'ContainersNotInitialized';
  const prev = previous?.conditions;
  const status: PodStatus = {
    phase,
    conditions: [
      condition('PodReadyToStartContainers', v.podIP !== undefined, prev, now),
      condition('Initialized', initialized, prev, now, 'ContainersNotInitialized'),
      condition('Ready', ready, prev, now, reason),
      condition('ContainersReady', ready, prev, now, reason),
      condition('PodScheduled', true, prev, now),
    ],
    hostIP: v.hostIP,
    hostIPs: [{ ip: v.hostIP }],
    startTime: time(v.startTime),
    containerStatuses: statuses,
    ...(v.initContainers && v.initContainers.length > 0 ? { initContainerStatuses: v.initContainers.map(toStatus) } : {}),
    qosClass: previous?.qosClass ?? 'BestEffort',
  };
  if (v.podIP) {
    status.podIP = v.podIP;
    status.podIPs = [{ ip: v.podIP }];
  }
  if (v.failure) {
    status.reason = v.failure.reason;
    status.message = v.failure.message;
  }
  return status;
}
