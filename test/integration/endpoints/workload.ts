import type { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { serviceObject, sliceObject } from './fixtures.ts';

type Port = { name: string; port: number; protocol: 'TCP' | 'UDP' };
interface Svc { ns: string; name: string; ports: Port[]; slices: Map<string, Array<{ ip: string; ready: boolean; node: string }>> }

const NAMESPACES = ['ns-a', 'ns-b', 'ns-c'];
const NODES = ['node-a', 'node-b', 'node-c'];
const rand = (n: number) => Math.floor(Math.random() * n);
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;

/**
 * Workload writes Services and their EndpointSlices through the API in a
 * random order, as controllers and users would: creates, endpoint churn
 * (including an endpoint moving between two slices of a service), port
 * changes, slice and service deletes.
 */
export class Workload {
  readonly services = new Map<string, Svc>();
  #client: ApiClient;
  #seq = 0;

  constructor(client: ApiClient) {
    this.#client = client;
  }

  /** useClient switches to another connection (after an apiserver restart). */
  useClient(client: ApiClient): void {
    this.#client = client;
  }

  async ensureNamespaces(): Promise<void> {
    for (const ns of NAMESPACES) {
      await this.#client.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }).catch((e: unknown) => {
        if (!(e instanceof Error && /AlreadyExists|409/.test(e.message))) throw e;
      });
    }
  }

  async createService(): Promise<void> {
    const n = ++this.#seq;
    const ports: Port[] = rand(3) === 0 ? [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'tcp', port: 53, protocol: 'TCP' }] : [{ name: 'http', port: 80, protocol: 'TCP' }];
    const svc: Svc = { ns: pick(NAMESPACES), name: `svc-${n}`, ports, slices: new Map() };
    await this.#client.create(resources.services, serviceObject(svc.ns, svc.name, ports));
    this.services.set(`${svc.ns}/${svc.name}`, svc);
    for (let i = 0; i < 1 + rand(2); i++) await this.#writeSlice(svc, `${svc.name}-${i}`, this.#randomEndpoints(rand(5)));
  }

  /** randomOp does one random change to a random service (or creates one). */
  async randomOp(): Promise<void> {
    const all = [...this.services.values()];
    if (all.length === 0) return this.createService();
    const svc = pick(all);
    const sliceNames = [...svc.slices.keys()];
    switch (rand(8)) {
      case 0:
        return this.createService();
      case 1:
        return this.deleteService(svc);
      case 2: {
        svc.ports = svc.ports.map((p) => ({ ...p, port: p.port === 80 ? 81 : p.port === 81 ? 80 : p.port }));
        await this.#client.patch(resources.services, svc.name, { spec: { ports: svc.ports.map((p) => ({ ...p, targetPort: 8000 + p.port })) } }, 'merge', { namespace: svc.ns });
        // The slices follow the service's target ports, as the controller would.
        for (const [name, eps] of svc.slices) await this.#writeSlice(svc, name, eps);
        return;
      }
      case 3:
        if (sliceNames.length === 0) return this.#writeSlice(svc, `${svc.name}-0`, this.#randomEndpoints(2));
        const victim = pick(sliceNames);
        await this.#client.delete(resources.endpointslices, victim, { namespace: svc.ns });
        svc.slices.delete(victim);
        return;
      case 4: {
        // Move one endpoint to another slice: add it there first, then remove it here (overlap in between).
        if (sliceNames.length < 2) return this.#writeSlice(svc, `${svc.name}-${sliceNames.length}`, this.#randomEndpoints(1));
        const [from, to] = [sliceNames[0]!, sliceNames[1]!];
        const ep = svc.slices.get(from)![0];
        if (!ep) return;
        await this.#writeSlice(svc, to, [...svc.slices.get(to)!, ep]);
        return this.#writeSlice(svc, from, svc.slices.get(from)!.slice(1));
      }
      default: {
        const name = sliceNames.length ? pick(sliceNames) : `${svc.name}-0`;
        const eps = (svc.slices.get(name) ?? []).map((e) => (rand(3) === 0 ? { ...e, ready: !e.ready } : e)).filter(() => rand(5) !== 0);
        return this.#writeSlice(svc, name, [...eps, ...this.#randomEndpoints(rand(3))]);
      }
    }
  }

  async deleteService(svc: Svc): Promise<void> {
    this.services.delete(`${svc.ns}/${svc.name}`);
    await this.#client.delete(resources.services, svc.name, { namespace: svc.ns });
    for (const name of svc.slices.keys()) await this.#client.delete(resources.endpointslices, name, { namespace: svc.ns });
  }

  async #writeSlice(svc: Svc, name: string, eps: Array<{ ip: string; ready: boolean; node: string }>): Promise<void> {
    const obj = sliceObject(svc.ns, svc.name, name, svc.ports, eps);
    if (svc.slices.has(name)) await this.#client.patch(resources.endpointslices, name, { metadata: { annotations: obj.metadata!.annotations }, ports: obj.ports, endpoints: obj.endpoints }, 'merge', { namespace: svc.ns });
    else await this.#client.create(resources.endpointslices, obj);
    svc.slices.set(name, eps);
  }

  #randomEndpoints(n: number): Array<{ ip: string; ready: boolean; node: string }> {
    return Array.from({ length: n }, () => ({ ip: `10.${1 + rand(3)}.${rand(250)}.${1 + rand(250)}`, ready: rand(4) !== 0, node: pick(NODES) }));
  }
}
