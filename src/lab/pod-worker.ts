import type { Container, Pod, Probe, Service } from 'kubernetes-types/core/v1.js';
import { createLogger } from '../util/log.ts';
import { getErrorMessage } from '../util/errors.ts';
import { ContainerProcess, type RestartPolicy } from './container.ts';
import { containerArgv } from './image.ts';
import type { PodIpam } from './ipam.ts';
import { podNamespace, setupPodNetwork, teardownPodNetwork, writePodFiles } from './node-network.ts';
import { containerEnv } from './pod-env.ts';
import { podStatus, type PodView } from './pod-status.ts';
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
  backoff: { initialMs: number; maxMs: number };
  /** Current services, for the pods' environment variables. */
  services(): readonly Service[];
}

export interface ContainerRun {
  spec: Container;
  /** The environment the container was started with (exec uses it too). */
  env: Readonly<Record<string, string>>;
  process: ContainerProcess;
  readiness?: Prober;
  liveness?: Prober;
  seenRestarts: number;
}

/**
 * PodWorker runs one pod on the node: its network namespace and address,
 * its containers as processes with probes, and the status to report.
 * `onChange` fires whenever the status may have changed.
 */
export class PodWorker {
  readonly uid: string;
  readonly ns: string;
  pod: Pod;
  ip: string | undefined;
  private readonly ctx: PodContext;
  private readonly runs: ContainerRun[] = [];
  private readonly startTime = new Date();
  private failure: { reason: string; message: string } | undefined;
  private readonly onChange: () => void;
  private stopped: Promise<void> | undefined;

  constructor(ctx: PodContext, pod: Pod, onChange: () => void) {
    this.ctx = ctx;
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.ns = podNamespace(ctx.prefix, ctx.nodeName, pod.metadata?.name ?? '', this.uid);
    this.onChange = onChange;
  }

  get name(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  /** start builds the pod's network and starts its containers; failures become the pod's status. */
  async start(): Promise<void> {
    if ((this.pod.spec?.initContainers ?? []).length > 0) {
      // Running the main containers without their init containers would be a silently different pod.
      this.failure = { reason: 'InitContainersUnsupported', message: 'ferry node does not run init containers' };
      this.onChange();
      return;
    }
    try {
      const net = await setupPodNetwork(this.ctx.nodeNs, this.ns, this.ctx.ipam);
      this.ip = net.ip;
      writePodFiles(this.ns, {
        hostname: this.pod.spec?.hostname ?? this.pod.metadata?.name ?? '',
        ip: net.ip,
        nameservers: this.ctx.clusterDNS,
        namespace: this.pod.metadata?.namespace ?? 'default',
        clusterDomain: this.ctx.clusterDomain,
      });
    } catch (error) {
      this.failure = { reason: 'FailedCreatePodSandBox', message: getErrorMessage(error) };
      log.error('Pod network setup failed', { pod: this.name, err: getErrorMessage(error) });
      this.onChange();
      return;
    }
    for (const spec of this.pod.spec?.containers ?? []) this.startContainer(spec);
    this.onChange();
  }

  private startContainer(spec: Container): void {
    const restartPolicy = (this.pod.spec?.restartPolicy ?? 'Always') as RestartPolicy;
    const { env, errors } = containerEnv(this.pod, spec, this.ctx.services(), this.ip ?? '', this.ctx.hostIP);
    const hostname = this.pod.spec?.hostname ?? this.pod.metadata?.name ?? '';
    let argv: string[] = [];
    let argvError: string | undefined;
    try {
      argv = containerArgv(spec);
    } catch (error) {
      argvError = getErrorMessage(error);
    }
    const fullEnv = { ...env, POD_NAME: this.pod.metadata?.name ?? '', POD_NAMESPACE: this.pod.metadata?.namespace ?? '' };
    const process = new ContainerProcess({
      name: spec.name, netns: this.ns, hostname, argv, restartPolicy, backoff: this.ctx.backoff, workingDir: spec.workingDir,
      env: fullEnv, stdin: spec.stdin ?? false, tty: spec.tty ?? false,
      onChange: () => this.containerChanged(run),
    });
    const run: ContainerRun = { spec, env: fullEnv, seenRestarts: 0, process };
    this.runs.push(run);
    if (argvError) return run.process.fail('CreateContainerError', argvError);
    if (errors.length > 0) return run.process.fail('CreateContainerConfigError', errors.join('; '));
    if (spec.readinessProbe) run.readiness = this.prober(spec, spec.readinessProbe, false, () => this.onChange());
    if (spec.livenessProbe) {
      run.liveness = this.prober(spec, spec.livenessProbe, true, (ok) => {
        if (ok) return;
        log.info(1, 'Liveness probe failed, restarting container', { pod: this.name, container: spec.name, reason: run.liveness?.lastMessage });
        run.process.kill();
      });
    }
    run.process.start();
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
      run.readiness?.reset(false);
      run.liveness?.reset(true);
    }
    this.onChange();
  }

  view(): PodView {
    return {
      containers: this.runs.map((r) => ({
        name: r.spec.name,
        image: r.spec.image ?? '',
        state: r.process.state,
        lastState: r.process.lastState,
        restartCount: r.process.restartCount,
        ready: r.process.state.kind === 'running' && (r.readiness?.result ?? true),
        pid: r.process.pid,
      })),
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
    return name ? this.runs.find((r) => r.spec.name === name) : this.runs[0];
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
      for (const r of this.runs) {
        r.readiness?.stop();
        r.liveness?.stop();
      }
      await Promise.all(this.runs.map((r) => r.process.stop(graceMs)));
      await teardownPodNetwork(this.ns);
      if (this.ip) this.ctx.ipam.release(this.ip);
    })();
    return this.stopped;
  }
}
