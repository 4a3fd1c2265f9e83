import { request } from 'node:http';
import { connect } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from '../errors.ts';
import type { Api } from './context.ts';

/**
 * Relaying pod streams to the node that runs the pod, as kube-apiserver
 * proxies them to kubelet: `pods/log` as a plain GET (followed logs stream
 * through), `pods/exec`, `pods/attach` and `pods/portforward` as upgraded
 * connections piped both ways unchanged, so the node agent speaks the
 * streaming protocol with kubectl itself. A lab's node agents publish their
 * streaming server's loopback port as the Node's kubelet endpoint.
 */

export const STREAM_SUBRESOURCES = ['exec', 'attach', 'portforward'] as const;

interface PodLike {
  spec?: { nodeName?: string };
}
interface NodeLike {
  status?: { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
}

/** nodeStreamPort is the kubelet port of the node running the pod; a Status error when there is none. */
export async function nodeStreamPort(api: Api, namespace: string, name: string): Promise<number> {
  const pod = (await api.registry('', 'pods').get(namespace, name)) as PodLike;
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw new ApiError(400, 'BadRequest', `pod ${name} does not have a host assigned`);
  const node = (await api.registry('', 'nodes').get(undefined, nodeName).catch(() => undefined)) as NodeLike | undefined;
  const port = node?.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!port) throw new ApiError(400, 'BadRequest', `node ${nodeName} publishes no streaming endpoint (its agent is not a ferry node of this version)`);
  return port;
}

/** proxyLog forwards a pods/log GET to the node; false when the node cannot be reached (the caller falls back). */
export function proxyLog(port: number, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const upstream = request({ host: '127.0.0.1', port, path: req.url, method: 'GET' }, (r) => {
      res.writeHead(r.statusCode ?? 502, { 'Content-Type': r.headers['content-type'] ?? 'text/plain' });
      r.pipe(res);
      r.on('end', () => resolve(true));
      r.on('error', () => resolve(true));
    });
    upstream.on('error', () => resolve(res.headersSent));
    // A client that stops following ends the node's stream too.
    res.on('close', () => upstream.destroy());
    upstream.end();
  });
}

/** relayUpgrade pipes an upgrade request and everything after it to the node's port. */
export function relayUpgrade(port: number, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const upstream = connect(port, '127.0.0.1');
  const lines = [`${req.method} ${req.url} HTTP/1.1`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (head.length > 0) upstream.write(head);
  upstream.pipe(socket);
  socket.pipe(upstream);
  const end = () => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on('error', end);
  socket.on('error', end);
  upstream.on('close', end);
  socket.on('close', end);
}

/** rejectUpgrade answers an upgrade request that cannot be relayed with a Status. */
export function rejectUpgrade(socket: Duplex, error: ApiError): void {
  const body = JSON.stringify(error.status);
  socket.end(`HTTP/1.1 ${error.httpCode} ${error.status.reason ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
