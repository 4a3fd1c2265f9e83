import type { ConntrackDeletion } from '../../../src/endpoints/conntrack.ts';
import type { IptablesRunner } from '../../../src/iptables/runner.ts';
import type { IpvsHost, IpvsOps, RouteOps } from '../../../src/ipvs/kernel.ts';
import type { NetlinkError } from '../../../src/netlink/errors.ts';
import type { DestinationStatus, ServiceKey, VirtualService } from '../../../src/netlink/ipvs.ts';
import type { InterfaceAddress } from '../../../src/netlink/rtnl.ts';
import type { Request } from '../../../src/netlink/socket.ts';

/**
 * A fake node for IpvsProxier (IPVS is not in this kernel): IPVS and
 * rtnetlink kept as the kernel would, and the ipset, iptables and conntrack
 * input recorded. Nothing touches the machine.
 */
const key = (s: ServiceKey) => `${s.protocol} ${s.address}:${s.port}`;

/** FakeIpvs keeps virtual servers as the kernel would; each request runs when applied. */
export class FakeIpvs implements IpvsOps {
  readonly services = new Map<string, { service: VirtualService; dests: Map<string, DestinationStatus> }>();
  private readonly actions = new WeakMap<Request, () => void>();
  private req(describe: string, action: () => void): Request {
    const r: Request = { message: Buffer.alloc(0), describe: () => describe };
    this.actions.set(r, action);
    return r;
  }
  async setTimeouts(): Promise<void> {}
  async listServices(): Promise<VirtualService[]> {
    return [...this.services.values()].map((v) => v.service);
  }
  async listDestinations(s: ServiceKey): Promise<DestinationStatus[]> {
    return [...(this.services.get(key(s))?.dests.values() ?? [])];
  }
  /** refuse makes the kernel refuse a request, by its description, with an error; it takes every one by default. */
  refuse: (describe: string) => NetlinkError | undefined = () => undefined;
  async apply(reqs: readonly Request[]): Promise<Array<NetlinkError | undefined>> {
    return reqs.map((r) => {
      const error = this.refuse(r.describe());
      if (!error) this.actions.get(r)!();
      return error;
    });
  }
  async flush(): Promise<void> {
    this.services.clear();
  }
  close(): void {}
  newService = (s: VirtualService) => this.req('new', () => this.services.set(key(s), { service: s, dests: new Map() }));
  setService = (s: VirtualService) => this.req('set', () => (this.services.get(key(s))!.service = s));
  delService = (s: ServiceKey) => this.req('del', () => this.services.delete(key(s)));
  newDest = (s: ServiceKey, d: Omit<DestinationStatus, 'activeConns' | 'inactiveConns' | 'persistConns'>) =>
    this.req('newDest', () => this.services.get(key(s))!.dests.set(`${d.address}:${d.port}`, { ...d, activeConns: 1, inactiveConns: 0, persistConns: 0 }));
  setDest = (s: ServiceKey, d: Omit<DestinationStatus, 'activeConns' | 'inactiveConns' | 'persistConns'>) =>
    this.req('setDest', () => this.services.get(key(s))!.dests.set(`${d.address}:${d.port}`, { ...d, activeConns: 1, inactiveConns: 0, persistConns: 0 }));
  delDest = (s: ServiceKey, d: { address: string; port: number }) => this.req(`delDest ${d.address}:${d.port}`, () => this.services.get(key(s))!.dests.delete(`${d.address}:${d.port}`));

  /** dests lists one virtual server's real servers as `ip:port wN`. */
  dests(k: string): string[] {
    return [...(this.services.get(k)?.dests.values() ?? [])].map((d) => `${d.address}:${d.port} w${d.weight}`);
  }
}

export class FakeRoute implements RouteOps {
  dummy: number | undefined;
  addresses: InterfaceAddress[] = [{ index: 2, address: '192.168.50.1', prefixLength: 24 }];
  async linkIndex(): Promise<number | undefined> {
    return this.dummy;
  }
  async createDummyLink(): Promise<void> {
    this.dummy = 9;
  }
  async listAddresses(): Promise<InterfaceAddress[]> {
    return [...this.addresses];
  }
  async applyAddresses(ops: ReadonlyArray<{ add: boolean; address: InterfaceAddress }>): Promise<undefined[]> {
    for (const op of ops) this.addresses = op.add ? [...this.addresses, op.address] : this.addresses.filter((a) => a.address !== op.address.address);
    return ops.map(() => undefined);
  }
  async deleteLink(): Promise<void> {
    this.dummy = undefined;
  }
  close(): void {}
}

export function fakeNode() {
  const ipvs = new FakeIpvs();
  const rt = new FakeRoute();
  const ipset: string[] = [];
  const restores: string[] = [];
  const conntrack: ConntrackDeletion[] = [];
  const host: IpvsHost = {
    openIpvs: async () => ipvs, openRoute: () => rt, applySysctls: async () => {},
    ipsetRestore: async (text) => void ipset.push(text),
    conntrack: async (d) => (conntrack.push(...d), []),
    ipsetVersion: async () => 'ipset v7.17, protocol version: 7\n',
    destroySets: async () => void ipset.push('destroy KUBE-*'),
  };
  const runner: IptablesRunner = { backend: 'nft', restore: async (text) => void restores.push(text), save: async () => '', chainExists: async () => true };
  return { ipvs, rt, ipset, restores, conntrack, host, runner };
}
