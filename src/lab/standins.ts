import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Handle } from './agnhost.ts';

/**
 * Stand-ins for the web server images tutorials use (`nginx`, `httpd`):
 * images are not pulled in the lab, so `kubectl run web --image=nginx`
 * runs this small server instead, in the pod's namespaces. It answers as
 * the image's server does out of the box: the default page at `/` on port
 * 80, a 404 page elsewhere, its `Server` header (marked as a stand-in), and
 * an access log line per request on stdout for `kubectl logs`. It serves no
 * files: there are no image file systems or volumes in the lab.
 */

export interface StandInOptions {
  port: number;
}

interface Flavour {
  server: string;
  page: string;
  notFound: string;
  log(req: IncomingMessage, status: number, bytes: number, when: Date): string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** clfTime is a Common Log Format time stamp, [06/Dec/2026:16:30:00 +0000]. */
function clfTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `[${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000]`;
}

function clientIP(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '-';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

const requestLine = (req: IncomingMessage) => `${req.method} ${req.url} HTTP/${req.httpVersion}`;

const NGINX: Flavour = {
  server: 'nginx (ferry lab stand-in)',
  page: [
    '<!DOCTYPE html>', '<html>', '<head>', '<title>Welcome to nginx!</title>', '</head>', '<body>', '<h1>Welcome to nginx!</h1>',
    '<p>If you see this page, the nginx web server is successfully installed and working. Further configuration is required.</p>',
    '<p>(In a Ferry lab this is a stand-in for the nginx image: it serves this page and logs each request.)</p>',
    '<p><em>Thank you for using nginx.</em></p>', '</body>', '</html>', '',
  ].join('\n'),
  notFound: '<html>\n<head><title>404 Not Found</title></head>\n<body>\n<center><h1>404 Not Found</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n',
  log: (req, status, bytes, when) => `${clientIP(req)} - - ${clfTime(when)} "${requestLine(req)}" ${status} ${bytes} "${req.headers.referer ?? '-'}" "${req.headers['user-agent'] ?? '-'}" "-"`,
};

const HTTPD: Flavour = {
  server: 'Apache (ferry lab stand-in)',
  page: '<html><body><h1>It works!</h1></body></html>\n',
  notFound: '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n',
  log: (req, status, bytes, when) => `${clientIP(req)} - - ${clfTime(when)} "${requestLine(req)}" ${status} ${bytes}`,
};

export const STAND_INS = { nginx: NGINX, httpd: HTTPD } as const;
export type StandInName = keyof typeof STAND_INS;

function handler(f: Flavour) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://standin').pathname;
    const found = path === '/' || path === '/index.html';
    const body = found ? f.page : f.notFound;
    const status = found ? 200 : 404;
    res.writeHead(status, { Server: f.server, 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    process.stdout.write(`${f.log(req, status, Buffer.byteLength(body), new Date())}\n`);
  };
}

/** startStandIn serves one flavour on its port until closed. */
export function startStandIn(name: StandInName, o: StandInOptions): Promise<Handle> {
  const server = createServer(handler(STAND_INS[name]));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, () => {
      process.stdout.write(`ferry lab stand-in for the ${name} image: serving its default page on port ${o.port}\n`);
      resolve({
        close: () => new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
      });
    });
  });
}
