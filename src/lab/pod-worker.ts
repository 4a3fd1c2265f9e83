import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container, LifecycleHandler, Pod, Probe, Service } from 'kubernetes-types/core/v1.js';
import { createLogger } from '../util/log.ts';
import { getErrorMessage } from '../util/errors.ts';
import { ContainerProcess, type RestartPolicy } from './container.ts';
import { containerArgv, describeArgv, ImageError, imageEnv } from './image.ts';
import type { PodEvent } from './pod-events.ts';
import type { PodIpam } from './ipam.ts';
import { podNamespace, teardownPodNetwork } from './node-network.ts';
import { makeVolumes, setupNetwork, volumeSources, type SandboxRequest } from './pod-sandbox.ts';
import { containerEnv, expand } from './pod-env.ts';
import { containerMounts, podDir, refreshConfigMapVolumes, refreshTokens, removePodDir, usesConfigMap, VolumeError, type BindMount, type ConfigMapGetter, type SecretGetter, type TokenGetter } from './pod-volumes.ts';
import { podPhase, podStatus, type ContainerView, type PodView } from './pod-status.ts';
import { Prober, runProbe } from './probes.ts';

const log = createLogger('node');

/** PodContext is what every pod worker of a node shares. */
export interface PodContext {
  prefix: string;
  nodeName: string;
  nodeNs: string;
  hostIP: string;
  ipam: PodIpam;
  clusterDNS: readonly string[];
  clusterDomain: string;
  /** Container restart back-off (ContainerOptions['backoff']). */
  backoff: { initialMs: number; maxMs: number; resetMs?: number };
  /** Current services, for the pods' environment variables. */
  services(): readonly Service[];
  /** Records an event about the pod (kubelet's events); optional. */
  event?: (pod: Pod, e: PodEvent) => void;
  /** Reads the ConfigMaps of configMap volumes; without it such a volume counts as missing. */
  configMap?: ConfigMapGetter;
  /** Asks for ServiceAccount tokens for projected volumes; without it such a volume cannot be made. */
  token?: TokenGetter;
  /** Reads the Secrets of secret volumes; without it such a volume counts as missing. */
  secret?: SecretGetter;
}

/** How an init container runs: to completion before the next (`regular`), or alongside the app (`sidecar`, restartPolicy Always). */
export type InitKind = 'regular' | 'sidecar';

export interface ContainerRun {
  spec: Container;
  init?: InitKind;
  /** The environment the container was started with (exec uses it too). */
  env: Readonly<Record<string, string>>;
  argv: readonly string[];
  process: ContainerProcess;
  readiness?: Prober;
  liveness?: Prober;
  /** The startup probe: until it succeeds the container is not started and the other probes wait. */
  startup?: Prober;
  started: boolean;
  seenRestarts: number;
  /** Why the container cannot be created (bad image, bad env): it stays waiting with this reason. */
  createError?: { reason: string; message: string };
}

/**
 * PodWorker runs one pod on the node: its network namespace and address,
 * its containers as processes with probes, and the status to report.
 * `onChange` fires whenever the status may have changed. As kubelet, init
 * containers run one at a time in order, each to success (a failed one is
 * restarted with the back-off, or fails the pod under restartPolicy Never);
 * a sidecar (an init container with restartPolicy Always) is started in its
 * turn and keeps running; the app containers start once every init
 * container is done, and on termination stop before the sidecars.
 */
export class PodWorker {
  readonly uid: string;
  /** The pod's own name on the node: its network namespace, and its volumes' directory. */
  readonly id: string;
  /** The network namespace its containers run in: its own, or with hostNetwork the node's. */
  readonly ns: string;
  readonly hostNetwork: boolean;
  pod: Pod;
  ip: string | undefined;
  private readonly ctx: PodContext;
  private readonly runs: ContainerRun[] = [];
  private readonly initRuns: ContainerRun[] = [];
  private initialized = false;
  /** Set when a regular init container failed under restartPolicy Never: the pod has failed. */
  private initFailed = false;
  private sidecarsStopping = false;
  private readonly waiters = new Set<() => void>();
  private readonly startTime = new Date();
  private failure: { reason: string; message: string } | undefined;
  private readonly onChange: () => void;
  private stopped: Promise<void> | undefined;
  /** Where each volume is on the host, once made (pod-volumes.ts). */
  private volumes = new Map<string, string>();
  private volumeError: string | undefined;
  private stopTokenRefresh = (): void => undefined;

  constructor(ctx: PodContext, pod: Pod, onChange: () => void) {
    this.ctx = ctx;
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.id = podNamespace(ctx.prefix, ctx.nodeName, pod.metadata?.name ?? '', this.uid);
    this.hostNetwork = pod.spec?.hostNetwork === true;
    this.ns = this.hostNetwork ? ctx.nodeNs : this.id;
    this.onChange = onChange;
  }

  get name(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  /** start builds the pod's network and volumes and starts its containers; failures become the pod's status. */
  async start(): Promise<void> {
    const request = { ctx: this.ctx, pod: this.pod, id: this.id, hostNetwork: this.hostNetwork, stopped: () => this.stopped !== undefined, event: (e: PodEvent) => this.event(e) };
    const net = await setupNetwork(request);
    if ('failure' in net) {
      this.failure = net.failure;
      log.error('Pod network setup failed', { pod: this.name, err: net.failure.message });
      this.onChange();
      return;
    }
    this.ip = net.ip;
    // Not awaited: a pod waiting for its ConfigMap must not hold up the agent's work on it (its deletion).
    void this.startContainers(request);
  }

  /** startContainers makes the volumes (waiting for missing ConfigMaps), then creates and starts the containers. */
  private async startContainers(request: SandboxRequest): Promise<void> {
    const volumes = await makeVolumes(request);
    if (volumes.stopped) return;
    this.volumes = volumes.volumes;
    this.volumeError = volumes.volumeError;
    this.stopTokenRefresh = refreshTokens(this.id, this.pod, volumeSources(this.ctx));
    const podPolicy = (this.pod.spec?.restartPolicy ?? 'Always') as RestartPolicy;
    for (const spec of this.pod.spec?.initContainers ?? []) {
      const kind: InitKind = spec.restartPolicy === 'Always' ? 'sidecar' : 'regular';
      // A failed init container is retried unless the pod never restarts anything.
      this.initRuns.push(this.createRun(spec, kind === 'sidecar' ? 'Always' : podPolicy === 'Never' ? 'Never' : 'OnFailure', kind));
    }
    for (const spec of this.pod.spec?.containers ?? []) this.runs.push(this.createRun(spec, podPolicy));
    this.onChange();
    void this.initialize();
  }

  /** refreshConfigMap brings the pod's volumes of ConfigMap `name` up to date (kubelet's periodic volume sync, here on each change). */
  async refreshConfigMap(name: string): Promise<void> {
    if (this.volumes.size === 0 || this.stopped || !usesConfigMap(this.pod, name) || !this.ctx.configMap) return;
    const changed = await refreshConfigMapVolumes(this.id, this.pod, name, this.ctx.configMap);
    if (changed.length) log.info(2, 'Updated ConfigMap volumes', { pod: this.name, configMap: name, volumes: changed.join(',') });
  }

  /** initialize runs the init containers in order, then starts the app containers. */
  private async initialize(): Promise<void> {
    const podPolicy = this.pod.spec?.restartPolicy ?? 'Always';
    for (const run of this.initRuns) {
      if (this.stopped) return;
      if (!this.launch(run)) return;
      const done = await this.until(() => {
        const st = run.process.state;
        if (run.init === 'sidecar') return st.kind === 'running' && run.started ? 'ok' : undefined;
        if (st.kind !== 'terminated') return undefined;
        if (st.exitCode === 0) return 'ok';
        // A failed init container is restarted (after the back-off) unless the pod never restarts.
        return podPolicy === 'Never' ? 'failed' : undefined;
      });
      if (done !== 'ok') {
        if (done === 'failed') this.initFailed = true;
        this.onChange();
        return;
      }
    }
    if (this.stopped) return;
    this.initialized = true;
    for (const run of this.runs) this.launch(run);
    this.onChange();
  }

  private event(e: PodEvent): void {
    this.ctx.event?.(this.pod, e);
  }

  /** stopSidecarsWhenDone ends the sidecars once the app containers have finished for good (a Job's pod), as kubelet does. */
  private stopSidecarsWhenDone(): void {
    if (!this.initialized || this.sidecarsStopping) return;
    const phase = podPhase(this.view());
    if (phase !== 'Succeeded' && phase !== 'Failed') return;
    this.sidecarsStopping = true;
    const grace = (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    void (async () => {
      for (const r of [...this.initRuns].reverse()) {
        r.readiness?.stop();
        r.liveness?.stop();
        await r.process.stop(grace);
      }
    })();
  }

  /** until resolves with what check returns once it is defined, checked at every container change; undefined when the pod stops. */
  private until<T>(check: () => T | undefined): Promise<T | undefined> {
    return new Promise((resolve) => {
      const test = () => {
        const v = this.stopped ? undefined : check();
        if (v === undefined && !this.stopped) return;
        this.waiters.delete(test);
        resolve(v);
      };
      this.waiters.add(test);
      test();
    });
  }

  private createRun(spec: Container, restartPolicy: RestartPolicy, init?: InitKind): ContainerRun {
    const { env, errors } = containerEnv(this.pod, spec, this.ctx.services(), this.ip ?? '', this.ctx.hostIP);
    // A hostNetwork pod has the node's host name, as kubelet gives it.
    const hostname = this.hostNetwork ? this.ctx.nodeName : (this.pod.spec?.hostname ?? this.pod.metadata?.name ?? '');
    const fullEnv = { ...imageEnv(spec), ...env, POD_NAME: this.pod.metadata?.name ?? '', POD_NAMESPACE: this.pod.metadata?.namespace ?? '' };
    let argv: string[] = [];
    let mounts: BindMount[] = [];
    let argvError: { reason: string; message: string } | undefined;
    try {
      // kubelet expands $(VAR) in command and args with the container's environment.
      const words = (w: string[] | undefined) => w?.map((x) => expand(x, fullEnv));
      argv = containerArgv({ ...spec, command: words(spec.command), args: words(spec.args) });
      if (this.volumeError) throw new ImageError('CreateContainerConfigError', this.volumeError);
      mounts = containerMounts(spec, this.volumes);
    } catch (error) {
      argvError = { reason: error instanceof ImageError ? error.reason : error instanceof VolumeError ? 'CreateContainerConfigError' : 'CreateContainerError', message: getErrorMessage(error) };
    }
    const fieldPath = `spec.${init ? 'initContainers' : 'containers'}{${spec.name}}`;
    const process = new ContainerProcess({
      name: spec.name, netns: this.ns, hostname, argv, mounts, scratchDir: join(podDir(this.id), 'scratch', spec.name), restartPolicy, backoff: this.ctx.backoff, workingDir: spec.workingDir,
      env: fullEnv, stdin: spec.stdin ?? false, tty: spec.tty ?? false,
      onChange: () => this.containerChanged(run),
      onEvent: (type, reason, message) => this.event({ type, reason, message, fieldPath }),
      ...(spec.lifecycle?.preStop ? { preStop: () => this.runHook(spec, spec.lifecycle!.preStop!, 'PreStop') } : {}),
    });
    const run: ContainerRun = { spec, env: fullEnv, argv, seenRestarts: 0, process, started: !spec.startupProbe, ...(init ? { init } : {}), ...(argvError ? { createError: argvError } : {}) };
    if (!argvError && errors.length > 0) run.createError = { reason: 'CreateContainerConfigError', message: errors.join('; ') };
    const waitingForInit = (this.pod.spec?.initContainers ?? []).length > 0;
    if (waitingForInit) process.state = { kind: 'waiting', reason: 'PodInitializing' };
    return run;
  }

  /** launch starts a container and its probes; false when it cannot be created (it then waits with kubelet's reason). */
  private launch(run: ContainerRun): boolean {
    const spec = run.spec;
    const fieldPath = `spec.${run.init ? 'initContainers' : 'containers'}{${spec.name}}`;
    if (run.createError) {
      run.process.fail(run.createError.reason, run.createError.message);
      this.event({ type: 'Warning', reason: 'Failed', message: `Error: ${run.createError.reason}: ${run.createError.message}`, fieldPath });
      return false;
    }
    this.event({ type: 'Normal', reason: 'Pulled', message: `Container image "${spec.image ?? ''}" is not pulled in the lab: it runs ${describeArgv(run.argv)}`, fieldPath });
    if (spec.readinessProbe) {
      run.readiness = this.prober(spec, spec.readinessProbe, false, (ok) => {
        if (!ok && run.process.state.kind === 'running') this.event({ type: 'Warning', reason: 'Unhealthy', message: `Readiness probe failed: ${run.readiness?.lastMessage ?? ''}`, fieldPath });
        this.onChange();
      });
    }
    if (spec.livenessProbe) {
      run.liveness = this.prober(spec, spec.livenessProbe, true, (ok) => {
        if (ok) return;
        log.info(1, 'Liveness probe failed, restarting container', { pod: this.name, container: spec.name, reason: run.liveness?.lastMessage });
        this.event({ type: 'Warning', reason: 'Unhealthy', message: `Liveness probe failed: ${run.liveness?.lastMessage ?? ''}`, fieldPath });
        this.event({ type: 'Normal', reason: 'Killing', message: `Container ${spec.name} failed liveness probe, will be restarted`, fieldPath });
        run.process.kill();
      });
    }
    if (spec.startupProbe) {
      const startup = spec.startupProbe;
      run.startup = new Prober(startup, false, () => runProbe(startup, spec, this.ns, this.ip ?? ''), () => undefined, (ok, failures) => {
        if (ok) return this.containerStarted(run);
        if (failures < (startup.failureThreshold ?? 3)) return;
        this.event({ type: 'Warning', reason: 'Unhealthy', message: `Startup probe failed: ${run.startup?.lastMessage ?? ''}`, fieldPath });
        this.event({ type: 'Normal', reason: 'Killing', message: `Container ${spec.name} failed startup probe, will be restarted`, fieldPath });
        run.startup?.stop();
        run.process.kill();
      });
    }
    run.process.start();
    const postStart = spec.lifecycle?.postStart;
    if (postStart) {
      // kubelet kills a container whose postStart hook failed; its restart policy decides what follows.
      void this.runHook(spec, postStart, 'PostStart').catch((error: unknown) => {
        this.event({ type: 'Warning', reason: 'FailedPostStartHook', message: `PostStartHook failed: ${getErrorMessage(error)}`, fieldPath });
        run.process.kill();
      });
    }
    if (run.startup) run.startup.start();
    else this.containerStarted(run);
    return true;
  }

  /** runHook runs a lifecycle hook (exec or httpGet as a probe would, or sleep); rejects when it failed. */
  private async runHook(spec: Container, handler: LifecycleHandler, which: string): Promise<void> {
    if (handler.sleep) return void (await sleep(handler.sleep.seconds * 1000));
    const timeoutSeconds = this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    const outcome = await runProbe({ ...(handler.exec ? { exec: handler.exec } : {}), ...(handler.httpGet ? { httpGet: handler.httpGet } : {}), ...(handler.tcpSocket ? { tcpSocket: handler.tcpSocket } : {}), timeoutSeconds }, spec, this.ns, this.ip ?? '');
    if (!outcome.ok) throw new Error(`${which} hook: ${outcome.message}`);
  }

  /** containerStarted: the startup probe passed (or there is none); readiness and liveness probing begin. */
  private containerStarted(run: ContainerRun): void {
    if (run.startup) {
      run.startup.stop();
      run.started = true;
      this.containerChanged(run);
    }
    run.readiness?.start();
    run.liveness?.start();
  }

  private prober(spec: Container, probe: Probe, initial: boolean, onChange: (ok: boolean) => void): Prober {
    return new Prober(probe, initial, () => runProbe(probe, spec, this.ns, this.ip ?? ''), onChange);
  }

  /** containerChanged re-arms the probes of a restarted container, as kubelet probes each new container afresh. */
  private containerChanged(run: ContainerRun): void {
    if (run.process.state.kind === 'running' && run.process.restartCount !== run.seenRestarts) {
      run.seenRestarts = run.process.restartCount;
      if (run.startup) {
        // A new instance starts over behind its startup probe.
        run.started = false;
        run.readiness?.stop();
        run.liveness?.stop();
        if (run.readiness) run.readiness.result = false;
        run.startup.reset(false);
      } else {
        run.readiness?.reset(false);
        run.liveness?.reset(true);
      }
    }
    for (const w of [...this.waiters]) w();
    this.stopSidecarsWhenDone();
    this.onChange();
  }

  view(): PodView {
    return {
      containers: this.runs.map(containerView),
      initContainers: this.initRuns.map(containerView),
      initialized: this.initialized,
      initFailed: this.initFailed,
      restartPolicy: (this.pod.spec?.restartPolicy ?? 'Always') as RestartPolicy,
      podIP: this.ip,
      hostIP: this.ctx.hostIP,
      startTime: this.startTime,
      ...(this.failure ? { failure: this.failure } : {}),
    };
  }

  status(now: Date) {
    return podStatus(this.view(), this.pod.status, now);
  }

  /** container finds a container by name; without a name, the pod's only (or first) container, as kubectl defaults. */
  container(name: string | undefined): ContainerRun | undefined {
    return name ? [...this.runs, ...this.initRuns].find((r) => r.spec.name === name) : this.runs[0];
  }

  /** logVersion moves whenever a container wrote something. */
  logVersion(): number {
    return this.runs.reduce((n, r) => n + r.process.logVersion, 0);
  }

  /** logs is what the pod's containers wrote; with several containers each is headed by its name. */
  logs(): string {
    if (this.runs.length === 1) return this.runs[0]!.process.logs();
    return this.runs.map((r) => `==> container ${r.spec.name} <==\n${r.process.logs()}`).join('\n');
  }

  /** stop terminates the containers (SIGTERM, grace, SIGKILL) and removes the pod's network; idempotent. */
  stop(graceMs: number): Promise<void> {
    this.stopped ??= (async () => {
      this.stopTokenRefresh();
      for (const w of [...this.waiters]) w();
      for (const r of [...this.runs, ...this.initRuns]) {
        r.readiness?.stop();
        r.liveness?.stop();
        r.startup?.stop();
      }
      // The app first, then the sidecars in reverse order, each within the grace period left.
      const deadline = Date.now() + graceMs;
      await Promise.all(this.runs.map((r) => r.process.stop(graceMs)));
      for (const r of [...this.initRuns].reverse()) await r.process.stop(Math.max(0, deadline - Date.now()));
      if (!this.hostNetwork) {
        await teardownPodNetwork(this.ns);
        if (this.ip) this.ctx.ipam.release(this.ip);
      }
      removePodDir(this.id);
    })();
    return this.stopped;
  }
}

function containerView(r: ContainerRun): ContainerView {
  const st = r.process.state;
  // A completed init container counts as ready, as kubelet reports it.
  const ready = st.kind === 'running' ? r.started && (r.readiness?.result ?? true) : r.init === 'regular' && st.kind === 'terminated' && st.exitCode === 0;
  return {
    started: st.kind === 'running' && r.started,
    name: r.spec.name, image: r.spec.image ?? '', state: st, lastState: r.process.lastState, restartCount: r.process.restartCount, ready, pid: r.process.pid,
    ...(r.init ? { init: r.init } : {}),
  };
}
