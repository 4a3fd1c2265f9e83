import type { Container, Probe } from 'kubernetes-types/core/v1.js';
import { HEALTH_CHECK_PATH, healthCheckRequest, SERVING_STATUS } from './grpc-health.ts';
import { execIn } from './netns.ts';

/**
 * Container probes as kubelet runs them (`pkg/kubelet/prober`): exec,
 * tcpSocket, httpGet and grpc, each run inside the pod's network namespace with
 * the probe's timeout; a prober keeps a probe's result with its initial
 * delay, period and success/failure thresholds.
 */

export interface ProbeOutcome {
  ok: boolean;
  message: string;
}

/** resolveProbePort turns a named port into the container's number. */
function resolveProbePort(port: number | string, c: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** runProbe performs one probe against a container in `podNs`. */
export async function runProbe(probe: Probe, c: Container, podNs: string, podIP: string): Promise<ProbeOutcome> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) {
    const [cmd, ...args] = probe.exec.command ?? [];
    if (!cmd) return { ok: false, message: 'exec probe without a command' };
    const r = await execIn(podNs, cmd, args, { allowFailure: true, timeoutMs }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
    return { ok: r.code === 0, message: r.code === 0 ? '' : `exec probe exited ${r.code}: ${(r.stdout + r.stderr).trim().slice(0, 200)}` };
  }
  if (probe.tcpSocket) {
    const port = resolveProbePort(probe.tcpSocket.port, c);
    if (port === undefined) return { ok: false, message: `unknown port ${probe.tcpSocket.port}` };
    const host = probe.tcpSocket.host || podIP;
    const r = await execIn(podNs, 'bash', ['-c', 'exec 3<>"/dev/tcp/$0/$1"', host, String(port)], { allowFailure: true, timeoutMs });
    return { ok: r.code === 0, message: r.code === 0 ? '' : `dial tcp ${host}:${port}: connect failed` };
  }
  if (probe.httpGet) {
    const g = probe.httpGet;
    const port = resolveProbePort(g.port, c);
    if (port === undefined) return { ok: false, message: `unknown port ${g.port}` };
    const scheme = (g.scheme ?? 'HTTP').toLowerCase();
    const url = `${scheme}://${g.host || podIP}:${port}${g.path ?? '/'}`;
    const args = ['-s', '-k', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', String(timeoutMs / 1000)];
    for (const h of g.httpHeaders ?? []) args.push('-H', `${h.name}: ${h.value}`);
    const r = await execIn(podNs, 'curl', [...args, url], { allowFailure: true, timeoutMs: timeoutMs + 1000 });
    const status = Number(r.stdout.trim());
    // kubelet counts 200-399 as success.
    const ok = status >= 200 && status < 400;
    return { ok, message: ok ? '' : status > 0 ? `HTTP probe failed with statuscode: ${status}` : `Get "${url}": connection failed` };
  }
  if (probe.grpc) return grpcProbe(probe.grpc.port, probe.grpc.service ?? '', podIP, podNs, timeoutMs);
  return { ok: false, message: 'probe has no handler (exec, tcpSocket, httpGet or grpc)' };
}

/**
 * grpcProbe calls grpc.health.v1.Health/Check as kubelet does, with curl
 * over cleartext HTTP/2 in the pod's namespace (the request and the answer
 * are a few bytes: written with printf, read back as hex): success is
 * status SERVING.
 */
async function grpcProbe(port: number, service: string, podIP: string, podNs: string, timeoutMs: number): Promise<ProbeOutcome> {
  const request = [...healthCheckRequest(service)].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
  const url = `http://${podIP}:${port}${HEALTH_CHECK_PATH}`;
  const script = `printf '${request}' | curl -s --http2-prior-knowledge --max-time "$1" -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @- "$0" | od -An -tx1 -v`;
  const r = await execIn(podNs, 'sh', ['-c', script, url, String(timeoutMs / 1000)], { allowFailure: true, timeoutMs: timeoutMs + 1000 });
  const bytes = r.stdout.trim().split(/\s+/).filter(Boolean).map((h) => parseInt(h, 16));
  if (bytes.length < 5) return { ok: false, message: `timeout: failed to connect service "${podIP}:${port}" within ${timeoutMs / 1000}s` };
  // The HealthCheckResponse after the 5-byte frame prefix: field 1 (0x08), the status varint.
  const status = bytes[5] === 0x08 ? bytes[6] : 0;
  return status === SERVING_STATUS.SERVING ? { ok: true, message: '' } : { ok: false, message: `service unhealthy (responded with "${status === SERVING_STATUS.NOT_SERVING ? 'NOT_SERVING' : 'UNKNOWN'}")` };
}

/**
 * Prober runs one probe periodically and keeps its result: `initial` until
 * it has an answer, then it flips only after successThreshold successes or
 * failureThreshold failures in a row.
 */
export class Prober {
  result: boolean;
  lastMessage = '';
  private timer: NodeJS.Timeout | undefined;
  private successes = 0;
  private failures = 0;
  private stopped = false;
  private readonly probe: Probe;
  private readonly run: () => Promise<ProbeOutcome>;
  private readonly onChange: (result: boolean) => void;
  private readonly onTick: ((ok: boolean, failuresInARow: number) => void) | undefined;

  /** onTick, when given, hears every outcome (a startup probe acts on failures counted from the start). */
  constructor(probe: Probe, initial: boolean, run: () => Promise<ProbeOutcome>, onChange: (result: boolean) => void, onTick?: (ok: boolean, failuresInARow: number) => void) {
    this.probe = probe;
    this.result = initial;
    this.run = run;
    this.onChange = onChange;
    this.onTick = onTick;
  }

  start(): void {
    this.schedule((this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  /** reset puts the result back to `value` (a restarted container is probed afresh). */
  reset(value: boolean): void {
    this.stopped = false;
    this.result = value;
    this.successes = 0;
    this.failures = 0;
    if (this.timer) clearTimeout(this.timer);
    this.start();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const outcome = await this.run();
    if (this.stopped) return;
    this.lastMessage = outcome.message;
    if (outcome.ok) {
      this.successes++;
      this.failures = 0;
      if (!this.result && this.successes >= (this.probe.successThreshold ?? 1)) this.flip(true);
    } else {
      this.failures++;
      this.successes = 0;
      if (this.result && this.failures >= (this.probe.failureThreshold ?? 3)) this.flip(false);
    }
    this.onTick?.(outcome.ok, this.failures);
    this.schedule((this.probe.periodSeconds ?? 10) * 1000);
  }

  private flip(value: boolean): void {
    this.result = value;
    this.onChange(value);
  }
}
