import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError } from '../util/errors.ts';

/** parseBindAddress reads `host:port` or `[v6]:port` as kube-proxy's bind address flags; port 0 picks a free one. */
export function parseBindAddress(flag: string, value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`invalid --${flag} ${JSON.stringify(value)}: want host:port (e.g. 0.0.0.0:10256)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** HttpServer is a started HTTP server and the address it got. */
export interface HttpServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** listenHttp starts a plain HTTP server for health or metrics; the promise rejects if the port cannot be bound. */
export async function listenHttp(bind: { host: string; port: number }, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<HttpServer> {
  const server: Server = createServer(handler);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const info = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    address: `${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`,
    port: info.port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
