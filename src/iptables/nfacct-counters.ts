import { NfacctNetlink } from '../netlink/nfacct.ts';
import { getErrorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';

const log = createLogger('iptables');

/**
 * NfacctCounters is what the iptables proxier does with nfacct, kube-proxy's
 * way: create its accounting objects once at start (rules may name only
 * objects that exist) and read them when metrics are scraped. An interface
 * so unit tests, which run in the machine's own namespace, pass a fake.
 */
export interface NfacctCounters {
  /** ensure creates the objects that do not exist yet and resolves to those rules may use; it never rejects (no nfacct: none). */
  ensure(names: readonly string[]): Promise<ReadonlySet<string>>;
  /** packets reads an object's packet count; undefined when it cannot be read (no nfacct, no object). */
  packets(name: string): Promise<number | undefined>;
  close(): void;
}

/** NfacctObjects is the part of NfacctNetlink these counters use. */
export type NfacctObjects = Pick<NfacctNetlink, 'ensure' | 'get' | 'close'>;

/**
 * KernelNfacctCounters uses the nfacct objects of the proxy's own network
 * namespace. The socket is opened on first use, so building a proxier only
 * to clean up (`--cleanup`, another mode starting) creates nothing. Each
 * object is asked for once: a dual-stack node's two proxiers share these
 * counters (the objects are the kernel's, not a family's), and both ensure
 * them at their first sync.
 */
export class KernelNfacctCounters implements NfacctCounters {
  readonly #open: () => NfacctObjects;
  #netlink: NfacctObjects | undefined;
  /** Object name → whether it could be created (the first ensure's answer). */
  readonly #ensured = new Map<string, Promise<boolean>>();

  /** open is NfacctNetlink.open; unit tests pass a fake. */
  constructor(open: () => NfacctObjects = () => NfacctNetlink.open()) {
    this.#open = open;
  }

  private netlink(): NfacctObjects {
    this.#netlink ??= this.#open();
    return this.#netlink;
  }

  async ensure(names: readonly string[]): Promise<ReadonlySet<string>> {
    const usable = new Set<string>();
    for (const name of names) {
      let created = this.#ensured.get(name);
      if (!created) this.#ensured.set(name, (created = this.#create(name)));
      if (await created) usable.add(name);
    }
    return usable;
  }

  async #create(name: string): Promise<boolean> {
    try {
      await this.netlink().ensure(name);
      return true;
    } catch (e) {
      // Without nfacct in the kernel the rules go without the match, as kube-proxy's do.
      log.warn('Failed to create nfacct counter; the corresponding metric will not be updated', { counter: name, err: getErrorMessage(e) });
      return false;
    }
  }

  async packets(name: string): Promise<number | undefined> {
    try {
      return (await this.netlink().get(name))?.packets;
    } catch (e) {
      log.info(2, 'Failed to collect nfacct counter', { counter: name, err: getErrorMessage(e) });
      return undefined;
    }
  }

  close(): void {
    this.#netlink?.close();
    this.#netlink = undefined;
  }
}
