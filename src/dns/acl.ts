import { BlockList, isIP } from 'node:net';
import { InvalidArgumentError } from '../util/errors.ts';

/** DEFAULT_FORWARD_ALLOW: loopback and private ranges, so the server is not an open resolver. */
export const DEFAULT_FORWARD_ALLOW = ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '::1/128', 'fc00::/7'];

/**
 * ClientAcl decides which clients may have names outside the cluster
 * forwarded upstream (`--forward-allow`). Cluster names are answered to all.
 */
export class ClientAcl {
  readonly #list = new BlockList();
  readonly #cache = new Map<string, boolean>();

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [net, bits] = cidr.split('/');
      const family = net ? isIP(net) : 0;
      const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
      if (!net || family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
        throw new InvalidArgumentError(`invalid CIDR ${JSON.stringify(cidr)} in --forward-allow`);
      }
      this.#list.addSubnet(net, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
  }

  allows(address: string): boolean {
    let ok = this.#cache.get(address);
    if (ok !== undefined) return ok;
    const mapped = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(mapped);
    ok = family !== 0 && this.#list.check(mapped, family === 6 ? 'ipv6' : 'ipv4');
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(address, ok);
    return ok;
  }
}
