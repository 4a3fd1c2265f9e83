import { networkInterfaces } from 'node:os';
import type { PacketHandler } from './packet-handler.ts';
import { UdpServer } from './server-udp.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('dns-udp');

/** Interfaces whose addresses are not where clients send DNS queries (IPVS holds every ClusterIP on kube-ipvs0). */
const SKIPPED_INTERFACES = new Set(['kube-ipvs0']);

export interface AddressSocketsOptions {
  family: 4 | 6;
  port: number;
  /** How often local addresses are looked up again (default 5 s). */
  rescanMs?: number;
  /** Most addresses given a socket of their own (default 64); the wildcard socket serves the rest. */
  maxAddresses?: number;
}

/**
 * AddressSockets gives each local address a UDP socket of its own beside a
 * wildcard one, as CoreDNS's bind plugin does, for the node:dgram path: a
 * socket bound to 0.0.0.0 answers from the host's primary address whatever
 * address the query was sent to, and clients drop such answers; a socket
 * bound to the address answers from it. Local addresses are looked up again
 * every few seconds, so added addresses get a socket and removed ones lose it.
 */
export class AddressSockets {
  readonly #handler: PacketHandler;
  readonly #options: Required<AddressSocketsOptions>;
  readonly #servers = new Map<string, UdpServer>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(handler: PacketHandler, options: AddressSocketsOptions) {
    this.#handler = handler;
    this.#options = { rescanMs: 5000, maxAddresses: 64, ...options };
    this.#timer = setInterval(() => void this.scan(), this.#options.rescanMs).unref();
  }

  /** addresses lists the local addresses that have a socket now. */
  get addresses(): string[] {
    return [...this.#servers.keys()];
  }

  /** scan binds a socket to every local address that has none and closes those of addresses gone. */
  async scan(): Promise<void> {
    const wanted = localAddresses(this.#options.family).slice(0, this.#options.maxAddresses);
    for (const [address, server] of this.#servers) {
      if (wanted.includes(address)) continue;
      this.#servers.delete(address);
      await server.close();
    }
    for (const address of wanted) {
      if (this.#closed || this.#servers.has(address)) continue;
      const server = new UdpServer(this.#handler, this.#options.family);
      this.#servers.set(address, server);
      try {
        await server.listen(this.#options.port, address);
      } catch (error) {
        this.#servers.delete(address);
        await server.close();
        log.info(2, 'Cannot bind a UDP socket to a local address; the wildcard socket answers it', { address, err: error });
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.all([...this.#servers.values()].map((s) => s.close()));
    this.#servers.clear();
  }
}

function localAddresses(family: 4 | 6): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (SKIPPED_INTERFACES.has(name)) continue;
    for (const a of addrs ?? []) {
      if (a.family !== (family === 6 ? 'IPv6' : 'IPv4')) continue;
      if (family === 6 && a.address.toLowerCase().startsWith('fe80:')) continue; // link-local needs a scope
      out.push(a.address);
    }
  }
  return out;
}
