import { createServer, type Server } from 'node:http';
import type { DnsController } from './controller.ts';
import type { DnsMetrics } from './metrics.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('dns-http');

/** parseBindAddress reads `host:port`, `:port` or `[v6]:port`; an empty host means all addresses. */
export function parseBindAddress(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  if (!m) throw new Error(`invalid address ${JSON.stringify(value)}: want host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in ${JSON.stringify(value)}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * startHttp serves CoreDNS's operational endpoints on one address:
 * `/health` (alive), `/ready` (200 once the informers have synced, 503
 * before) and `/metrics`, whichever of them `paths` enables.
 */
export async function startHttp(
  address: string,
  paths: { health?: boolean; ready?: DnsController; metrics?: DnsMetrics },
): Promise<{ server: Server; port: number }> {
  const { host, port } = parseBindAddress(address);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health' && paths.health) return void res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    if (path === '/ready' && paths.ready) {
      const ready = paths.ready.hasSynced();
      return void res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'OK' : 'kubernetes');
    }
    if (path === '/metrics' && paths.metrics) {
      const registry = paths.metrics.registry;
      void registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.on('error', (err) => log.error('HTTP server error', { address, err }));
  const a = server.address();
  return { server, port: typeof a === 'object' && a ? a.port : port };
}
