import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * Relay: a TCP listener whose every connection is spliced to a Unix socket.
 * The lab's apiserver listens on the host's loopback and a Unix socket; lab
 * namespaces are never linked to the root namespace, so pods reach it through
 * this relay, which runs in the control-plane namespace on the lab switch and
 * is the `kubernetes` Service's endpoint.
 */
export function startRelay(host: string, port: number, socketPath: string): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(socketPath);
    const closeBoth = (a: Socket, b: Socket) => () => {
      a.destroy();
      b.destroy();
    };
    client.on('error', closeBoth(client, upstream));
    upstream.on('error', closeBoth(upstream, client));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
