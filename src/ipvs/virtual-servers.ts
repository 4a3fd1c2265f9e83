import type { Counter, Gauge } from 'prom-client';
import { familyOf, inAnyCIDR, type IPFamily } from '../endpoints/node-port-addresses.ts';
import { isErrno, type NetlinkError } from '../netlink/errors.ts';
import { createLogger } from '../util/log.ts';
import { destKey, vsKey, type VirtualServerSpec } from './desired.ts';
import { applyOp, diffVirtualServer, type IpvsOp, type KernelVirtualServer } from './diff.ts';
import { IpvsSyncError } from './errors.ts';
import { GracefulTermination } from './graceful.ts';
import { request, type IpvsOps } from './kernel.ts';

const log = createLogger('ipvs');

/** An operation on one virtual server (by vsKey). */
type PlannedOp = { readonly key: string; readonly op: IpvsOp };

export interface VirtualServersOptions {
  readonly family: IPFamily;
  /** This family's `--ipvs-exclude-cidrs`, asked (inAnyCIDR) only of virtual servers nobody wants. */
  readonly excludeCIDRs: readonly string[];
  /** A terminating real server is deleted after this long even with connections left. */
  readonly gracefulTimeoutMs: number;
  readonly opsCounter?: Counter<'op'>;
  readonly terminatingGauge?: Gauge;
}

/**
 * VirtualServers is the IPVS proxier's model of one family's virtual servers
 * in the kernel, and what changes them: a full sync reads them, each sync
 * sends the operations that bring the touched ones to the desired state in
 * one netlink batch, and the termination check deletes real servers at
 * weight 0 once they are idle or out of time (graceful termination).
 */
export class VirtualServers {
  private model = new Map<string, KernelVirtualServer>();
  private readonly graceful: GracefulTermination;
  private readonly o: VirtualServersOptions;

  constructor(o: VirtualServersOptions) {
    this.o = o;
    this.graceful = new GracefulTermination(o.gracefulTimeoutMs);
  }

  keys(): IterableIterator<string> {
    return this.model.keys();
  }

  /** forget drops the model (the kernel was flushed); the next full sync reads it again. */
  forget(): void {
    this.model.clear();
  }

  /** terminating is the number of real servers waiting to be deleted, also set on the gauge. */
  terminating(): number {
    this.o.terminatingGauge?.set(this.graceful.size);
    return this.graceful.size;
  }

  /**
   * read dumps every virtual server of this family and its real servers (the
   * other family's belong to its proxier), and makes weight-0 real servers
   * nobody wants (say, from before a restart) terminate.
   */
  async read(ipvs: IpvsOps, desired: ReadonlyMap<string, VirtualServerSpec>): Promise<void> {
    const model = new Map<string, KernelVirtualServer>();
    for (const service of (await ipvs.listServices()).filter((s) => familyOf(s.address) === this.o.family)) {
      const dests = new Map((await ipvs.listDestinations(service)).map((d) => [destKey(d.address, d.port), d] as const));
      model.set(vsKey(service.protocol, service.address, service.port), { service, dests });
    }
    this.model = model;
    const now = Date.now();
    for (const [key, k] of model) {
      const want = desired.get(key);
      if (!want) continue;
      for (const [dk, d] of k.dests) if (d.weight === 0 && !want.dests.has(dk)) this.graceful.start(key, dk, now);
    }
  }

  /** apply brings the touched virtual servers to the desired state; it returns the number of operations sent. */
  async apply(ipvs: IpvsOps, desired: ReadonlyMap<string, VirtualServerSpec>, touched: Iterable<string>): Promise<number> {
    const planned: PlannedOp[] = [];
    for (const key of touched) {
      const [want, have] = [desired.get(key), this.model.get(key)];
      // A virtual server in --ipvs-exclude-cidrs that is not wanted is another party's: kept, real servers and all.
      if (!want && have && inAnyCIDR(have.service.address, this.o.excludeCIDRs)) continue;
      for (const op of diffVirtualServer(want, have)) planned.push({ key, op });
    }
    const failed = await this.send(ipvs, planned);
    if (failed.length) throw new IpvsSyncError(failed);
    return planned.length;
  }

  /** checkTerminating deletes terminating real servers that are idle or out of time; failures are logged. */
  async checkTerminating(ipvs: IpvsOps): Promise<void> {
    if (this.graceful.size === 0) return;
    try {
      const now = Date.now();
      const planned: PlannedOp[] = [];
      for (const key of this.graceful.virtualServers()) {
        const k = this.model.get(key);
        if (!k) {
          this.graceful.forgetVirtualServer(key);
          continue;
        }
        for (const d of this.graceful.due(key, await ipvs.listDestinations(k.service), now)) planned.push({ key, op: { kind: 'delDest', service: k.service, dest: d } });
      }
      // ENOENT: the real server is gone already.
      for (const err of await this.send(ipvs, planned, (e) => isErrno(e, 'ENOENT'))) log.warn('Could not delete a terminated real server', { err });
      this.o.terminatingGauge?.set(this.graceful.size);
    } catch (e) {
      log.warn('Graceful termination check failed', { err: e });
    }
  }

  /**
   * send applies planned operations in one netlink batch and records each one
   * the kernel took (or failed with an error `reached` says leaves the wanted
   * state) in the model, the counter and graceful termination; it returns the
   * other errors.
   */
  private async send(ipvs: IpvsOps, planned: readonly PlannedOp[], reached: (e: NetlinkError) => boolean = () => false): Promise<NetlinkError[]> {
    if (planned.length === 0) return [];
    const errors = await ipvs.apply(planned.map(({ op }) => request(ipvs, op)));
    const failed: NetlinkError[] = [];
    const now = Date.now();
    planned.forEach(({ key, op }, i) => {
      const error = errors[i];
      if (error && !reached(error)) return void failed.push(error);
      applyOp(this.model, key, op);
      this.o.opsCounter?.inc({ op: op.kind });
      if (op.kind === 'delService') this.graceful.forgetVirtualServer(key);
      else if (op.kind === 'setDest' && op.terminating) this.graceful.start(key, destKey(op.dest.address, op.dest.port), now);
      // A real server desired again, or deleted, is no longer terminating.
      else if (op.kind === 'setDest' || op.kind === 'newDest' || op.kind === 'delDest') this.graceful.stop(key, destKey(op.dest.address, op.dest.port));
    });
    return failed;
  }
}
