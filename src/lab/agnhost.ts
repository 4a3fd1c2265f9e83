import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { hostname } from 'node:os';
import { execFile } from '../util/exec.ts';

/**
 * agnhost: Ferry's built-in test server, modelled on Kubernetes' agnhost
 * (image `ferry/agnhost`). Tests use it to see which pod answered and from
 * which client address:
 *
 * - `netexec`: HTTP `/hostname`, `/clientip` (the source ip:port it saw),
 *   `/echo?msg=`, `/healthz`, `/shell` (403 unless enabled); UDP on
 *   `udpPort` answering `hostname`, `echo <text>` and `clientip`.
 * - `serve-hostname`: replies with the pod name over HTTP, raw TCP (then
 *   closes) or UDP.
 *
 * The pod name is `$POD_NAME` (set by the node agent), else the host name.
 */
export function podName(): string {
  return process.env.POD_NAME ?? hostname();
}

export interface NetexecOptions {
  httpPort: number;
  /** 0 disables the UDP listener. */
  udpPort: number;
  enableShell: boolean;
}

export interface ServeHostnameOptions {
  port: number;
  http: boolean;
  tcp: boolean;
  udp: boolean;
}

/** Handle is a running agnhost listener set; close() stops them all. */
export interface Handle {
  close(): Promise<void>;
}

function clientAddress(req: IncomingMessage): string {
  const addr = req.socket.remoteAddress ?? '';
  const ip = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return ip.includes(':') ? `[${ip}]:${req.socket.remotePort}` : `${ip}:${req.socket.remotePort}`;
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** runShell runs /shell's command as agnhost does, answering its combined output. */
async function runShell(cmd: string): Promise<string> {
  const result = await execFile('sh', ['-c', cmd], { allowFailure: true, timeoutMs: 10_000 });
  return result.stdout + result.stderr;
}

function netexecHandler(options: NetexecOptions) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://agnhost');
    switch (url.pathname) {
      case '/':
      case '/hostname':
        return reply(res, 200, podName());
      case '/clientip':
        return reply(res, 200, clientAddress(req));
      case '/echo':
        return reply(res, 200, url.searchParams.get('msg') ?? '');
      case '/healthz':
        return reply(res, 200, 'ok');
      case '/shell':
        // Off by default: a test server that runs commands is a foot-gun in a shared lab.
        if (!options.enableShell) return reply(res, 403, 'shell is disabled (start netexec with --enable-shell)');
        return void runShell(url.searchParams.get('cmd') ?? '').then((output) => reply(res, 200, JSON.stringify({ output })));
      default:
        return reply(res, 404, `unknown path ${url.pathname}`);
    }
  };
}

function udpReply(message: string, rinfo: { address: string; port: number }): string {
  const text = message.trim();
  if (text === 'hostname') return podName();
  if (text === 'clientip') return `${rinfo.address}:${rinfo.port}`;
  if (text.startsWith('echo ')) return text.slice(5);
  return podName();
}

function listenUdp(port: number, answer: (msg: string, rinfo: { address: string; port: number }) => string): Promise<Handle> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => socket.send(answer(msg.toString(), rinfo), rinfo.port, rinfo.address));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, () => resolve({ close: () => new Promise((r) => socket.close(() => r())) }));
  });
}

function listenServer(server: ReturnType<typeof createTcpServer>, port: number): Promise<Handle> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () =>
      resolve({
        close: () =>
          new Promise((r) => {
            server.close(() => r());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      }),
    );
  });
}

function combine(handles: Handle[]): Handle {
  return { close: async () => void (await Promise.all(handles.map((h) => h.close()))) };
}

/**
 * startNetexec serves netexec and says so on stdout, as agnhost does, so
 * `kubectl logs` of a pod shows it started (requests are not logged: the
 * benchmarks send thousands a second).
 */
export async function startNetexec(options: NetexecOptions): Promise<Handle> {
  const handles = [await listenServer(createHttpServer(netexecHandler(options)), options.httpPort)];
  process.stdout.write(`Started HTTP server on port ${options.httpPort}\n`);
  if (options.udpPort > 0) {
    handles.push(await listenUdp(options.udpPort, udpReply));
    process.stdout.write(`Started UDP server on port ${options.udpPort}\n`);
  }
  return combine(handles);
}

export async function startServeHostname(options: ServeHostnameOptions): Promise<Handle> {
  const handles: Handle[] = [];
  if (options.http) handles.push(await listenServer(createHttpServer((_req, res) => reply(res, 200, podName())), options.port));
  if (options.tcp) handles.push(await listenServer(createTcpServer((sock) => sock.end(podName())), options.port));
  if (options.udp) handles.push(await listenUdp(options.port, () => podName()));
  const protocols = [options.http && 'HTTP', options.tcp && 'TCP', options.udp && 'UDP'].filter(Boolean).join(', ');
  process.stdout.write(`Serving ${podName()} on port ${options.port} (${protocols})\n`);
  return combine(handles);
}
