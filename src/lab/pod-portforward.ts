import { spawn } from 'node:child_process';
import { createLogger } from '../util/log.ts';
import type { PodWorker } from './pod-worker.ts';
import type { SpdySession, SpdyStream } from './spdy.ts';

const log = createLogger('node');

/**
 * Port forwarding (portforward.k8s.io) over a SPDY session: for every
 * connection the client opens a pair of streams with the same `requestid`
 * and `port` headers, `streamtype: data` and `streamtype: error`. The node
 * connects to the port on the pod's loopback, inside the pod's network
 * namespace (socat under nsenter), and pipes the data stream both ways; a
 * failure is written to the error stream, as kubelet does.
 */
export function servePortForward(session: SpdySession, worker: PodWorker): void {
  const pairs = new Map<string, { data?: SpdyStream; error?: SpdyStream }>();
  session.on('stream', (s) => {
    const key = s.headers.requestid ?? s.headers.port ?? '';
    const pair = pairs.get(key) ?? {};
    if (s.headers.streamtype === 'data') pair.data = s;
    else if (s.headers.streamtype === 'error') pair.error = s;
    pairs.set(key, pair);
    if (pair.data && pair.error) {
      pairs.delete(key);
      forward(worker, Number(s.headers.port), pair.data, pair.error);
    }
  });
}

function forward(worker: PodWorker, port: number, data: SpdyStream, error: SpdyStream): void {
  const fail = (message: string) => {
    error.end(Buffer.from(`error forwarding port ${port} to pod ${worker.pod.metadata?.name}, uid ${worker.uid}: ${message}`));
    data.end();
  };
  if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`invalid port ${data.headers.port}`);
  log.info(3, 'port-forward', { pod: worker.name, port });
  const child = spawn('nsenter', [`--net=/run/netns/${worker.ns}`, '--', 'socat', '-', `TCP4:127.0.0.1:${port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => data.write(b));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.on('error', () => undefined);
  data.on('data', (b) => child.stdin.write(b));
  data.on('end', () => child.stdin.end());
  data.on('reset', () => child.kill());
  child.on('error', (e) => fail(e.message));
  child.on('close', (code) => {
    if (code !== 0) return fail(stderr.trim().split('\n').at(-1) ?? `socat exited ${code}`);
    data.end();
    error.end();
  });
}
