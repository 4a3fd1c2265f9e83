import { connect, createServer, type ListenOptions, type NetConnectOpts, type Server, type Socket } from 'node:net';

/**
 * Relays between the lab's apiserver socket and TCP. The apiserver listens on
 * the host's loopback and a Unix socket; lab namespaces are never linked to
 * the root namespace, so:
 * - pods reach it through a TCP listener in the control-plane namespace
 *   spliced to the Unix socket (the `kubernetes` Service's endpoint);
 * - an ipvs lab's User-Mode Linux guest reaches it over its guest link, and
 *   gives its own components a Unix socket spliced to that TCP address.
 */

function splice(client: Socket, upstream: Socket): void {
  const closeBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', closeBoth);
  upstream.on('error', closeBoth);
  // One side gone (also destroyed by stopRelay) ends the other.
  client.once('close', closeBoth);
  upstream.once('close', closeBoth);
  client.pipe(upstream);
  upstream.pipe(client);
}

const openConnections = new WeakMap<Server, Set<Socket>>();

/**
 * stopRelay stops accepting and ends every relayed connection: a relay holds
 * nothing worth draining, its clients (watches through the `kubernetes`
 * Service) reconnect, and waiting for them would keep it running past
 * `ferry down`'s grace period.
 */
export function stopRelay(server: Server): void {
  server.close();
  for (const socket of openConnections.get(server) ?? []) socket.destroy();
}

function listen(server: Server, where: ListenOptions): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(where, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function relayTo(target: NetConnectOpts): Server {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    splice(client, connect(target));
  });
  openConnections.set(server, sockets);
  return server;
}

/** startRelay accepts TCP on host:port and splices each connection to a Unix socket. */
export function startRelay(host: string, port: number, socketPath: string): Promise<Server> {
  return listen(relayTo({ path: socketPath }), { port, host });
}

/** startUnixRelay accepts on a Unix socket and splices each connection to TCP host:port. */
export function startUnixRelay(socketPath: string, host: string, port: number): Promise<Server> {
  return listen(relayTo({ host, port }), { path: socketPath });
}
