import test from 'ava';
import { destKey, type VirtualServerSpec } from '../../../src/ipvs/desired.ts';
import { applyOp, diffVirtualServer, type KernelVirtualServer } from '../../../src/ipvs/diff.ts';
import { IPVS_SVC_F_HASHED, type Destination, type VirtualService } from '../../../src/netlink/ipvs.ts';

const svc: VirtualService = { protocol: 'TCP', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff };
const d = (ip: string, weight = 1): Destination => ({ address: ip, port: 8080, weight, forward: 0, upperThreshold: 0, lowerThreshold: 0 });
const spec = (service: VirtualService, ...dests: Destination[]): VirtualServerSpec => ({ service, dests: new Map(dests.map((x) => [destKey(x.address, x.port), x])) });
const kernel = (service: VirtualService, ...dests: Destination[]): KernelVirtualServer => ({ service, dests: new Map(dests.map((x) => [destKey(x.address, x.port), x])) });
const show = (ops: ReturnType<typeof diffVirtualServer>) =>
  ops.map((o) => ('dest' in o ? `${o.kind} ${o.dest.address}${'weight' in o.dest ? ` w${o.dest.weight}` : ''}${'terminating' in o && o.terminating ? ' terminating' : ''}` : o.kind));

const cases: Array<{ name: string; desired?: VirtualServerSpec; kernel?: KernelVirtualServer; ops: string[] }> = [
  { name: 'new virtual server with its real servers', desired: spec(svc, d('10.244.1.10'), d('10.244.1.11')), ops: ['newService', 'newDest 10.244.1.10 w1', 'newDest 10.244.1.11 w1'] },
  { name: 'in sync (the kernel flag HASHED does not count)', desired: spec(svc, d('10.244.1.10')), kernel: kernel({ ...svc, flags: IPVS_SVC_F_HASHED }, d('10.244.1.10')), ops: [] },
  { name: 'scheduler changed', desired: spec({ ...svc, scheduler: 'lc' }, d('10.244.1.10')), kernel: kernel(svc, d('10.244.1.10')), ops: ['setService'] },
  { name: 'removed endpoint goes to weight 0 (graceful termination)', desired: spec(svc, d('10.244.1.10')), kernel: kernel(svc, d('10.244.1.10'), d('10.244.1.11')), ops: ['setDest 10.244.1.11 w0 terminating'] },
  { name: 'already terminating: nothing to do', desired: spec(svc, d('10.244.1.10')), kernel: kernel(svc, d('10.244.1.10'), d('10.244.1.11', 0)), ops: [] },
  { name: 'terminating endpoint comes back', desired: spec(svc, d('10.244.1.10'), d('10.244.1.11')), kernel: kernel(svc, d('10.244.1.10'), d('10.244.1.11', 0)), ops: ['setDest 10.244.1.11 w1'] },
  { name: 'service gone', kernel: kernel(svc, d('10.244.1.10')), ops: ['delService'] },
  { name: 'nothing anywhere', ops: [] },
];

for (const c of cases) {
  test(`diff: ${c.name}`, (t) => {
    const ops = diffVirtualServer(c.desired, c.kernel);
    t.deepEqual(show(ops), c.ops);
    // Applying the operations to the kernel model converges it: a second diff is empty.
    const model = new Map<string, KernelVirtualServer>();
    if (c.kernel) model.set('k', c.kernel);
    for (const op of ops) applyOp(model, 'k', op);
    t.deepEqual(diffVirtualServer(c.desired, model.get('k')), []);
  });
}
