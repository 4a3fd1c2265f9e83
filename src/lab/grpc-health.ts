import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttp2Server, type ServerHttp2Stream } from 'node:http2';
import type { Handle } from './agnhost.ts';

/**
 * agnhost's `grpc-health-checking` mode: a gRPC server (HTTP/2, cleartext)
 * answering `grpc.health.v1.Health/Check` with SERVING, or NOT_SERVING after
 * a GET of `/make-not-serving` on the HTTP port (`/make-serving` undoes it),
 * so a pod's grpc probes can be tried both ways. Messages are written by
 * hand: a HealthCheckResponse is one varint field (status = 1).
 */

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
export const SERVING_STATUS = { SERVING: 1, NOT_SERVING: 2 } as const;

/** grpcFrame prefixes a message as gRPC does: not compressed, 4-byte big-endian length. */
export function grpcFrame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** healthCheckRequest encodes HealthCheckRequest{service} (field 1, a string; empty is the whole server). */
export function healthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service);
  return grpcFrame(name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, name.length]), name]));
}

export interface GrpcHealthOptions {
  port: number;
  httpPort: number;
}

export async function startGrpcHealth(o: GrpcHealthOptions): Promise<Handle> {
  let status: number = SERVING_STATUS.SERVING;
  const grpc = createHttp2Server();
  grpc.on('stream', (stream: ServerHttp2Stream, headers) => {
    stream.on('error', () => undefined);
    stream.resume();
    stream.on('end', () => {
      if (headers[':path'] !== HEALTH_CHECK_PATH) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'unknown method' }, { endStream: true });
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(grpcFrame(Buffer.from([0x08, status])));
    });
  });
  const http = createHttpServer((req, res) => {
    if (req.url === '/make-not-serving') status = SERVING_STATUS.NOT_SERVING;
    else if (req.url === '/make-serving') status = SERVING_STATUS.SERVING;
    res.end(status === SERVING_STATUS.SERVING ? 'SERVING' : 'NOT_SERVING');
  });
  await Promise.all([
    new Promise<void>((resolve, reject) => grpc.once('error', reject).listen(o.port, resolve)),
    new Promise<void>((resolve, reject) => http.once('error', reject).listen(o.httpPort, resolve)),
  ]);
  process.stdout.write(`gRPC server starting to listen on :${o.port}\nHTTP server starting to listen on :${o.httpPort}\n`);
  return {
    close: async () => {
      http.closeAllConnections();
      await Promise.all([new Promise((r) => grpc.close(r)), new Promise((r) => http.close(r))]);
    },
  };
}
