import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ApiClient } from '../../src/client/api-client.ts';
import { resources } from '../../src/client/resources.ts';
import { SchedulerService } from '../../src/apiserver-stub/scheduler/service.ts';
import { ControllerManager } from '../../src/apiserver-stub/controllers/manager.ts';
import { BenchRecorder } from '../../src/bench/result.ts';
import { startApiserverProcess } from './apiserver-process.ts';

/** See scripts/bench/scheduler. */
const rec = new BenchRecorder('scheduler');
const { values } = parseArgs({ options: { nodes: { type: 'string' }, pods: { type: 'string' }, services: { type: 'string' }, storage: { type: 'string', default: 'memory' } } });
const nodeCount = Number(values.nodes ?? (rec.quick ? 100 : 1000));
const podCount = Number(values.pods ?? (rec.quick ? 1000 : 10000));
const serviceCount = Number(values.services ?? (rec.quick ? 100 : 1000));
const inflight = 64;

const { url, server } = await startApiserverProcess('scheduler', values.storage!);

const client = new ApiClient({ server: url }, { connections: inflight });

/** cpuSeconds of the apiserver process (utime+stime from /proc), to tell which side limits a rate. */
function serverCpuSeconds(): number {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const ownCpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

async function parallel(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (next < n) await fn(next++);
  }));
}

const t = () => performance.now();
let s = t();
await parallel(nodeCount, (i) => client.create(resources.nodes, {
  apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${i}`, labels: { 'kubernetes.io/hostname': `node-${i}`, 'topology.kubernetes.io/zone': `zone-${i % 3}` } },
  spec: { podCIDR: `10.${64 + (i >> 8)}.${i & 255}.0/24` },
  status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
}));
console.log(`setup: ${nodeCount} nodes in ${((t() - s) / 1000).toFixed(1)} s`);
s = t();
await parallel(podCount, (i) => client.create(resources.pods, {
  apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, namespace: 'default', labels: { app: `s${i % serviceCount}` } },
  spec: { containers: [{ name: 'c', image: 'ferry/agnhost', args: ['netexec'], ports: [{ name: 'http', containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
}));
console.log(`setup: ${podCount} pending pods in ${((t() - s) / 1000).toFixed(1)} s`);

// Scheduling: from the scheduler's start (list of nodes and pods included) to the last binding acknowledged.
const schedClient = new ApiClient({ server: url }, { connections: inflight });
const scheduler = new SchedulerService({ client: schedClient, percentageOfNodesToScore: 0, schedulerName: 'default-scheduler' });
s = t();
await scheduler.start();
const synced = t();
const cpu0 = { own: ownCpuSeconds(), server: serverCpuSeconds() };
while (scheduler.bound < podCount) {
  if (t() - s > 600_000) throw new Error(`only ${scheduler.bound} of ${podCount} pods bound after 10 minutes`);
  await sleep(20);
}
const bindSeconds = (t() - synced) / 1000;
const rate = podCount / bindSeconds;
console.log(`scheduler: informer sync ${((synced - s) / 1000).toFixed(2)} s; ${podCount} pods bound on ${nodeCount} nodes in ${bindSeconds.toFixed(2)} s = ${rate.toFixed(0)} pods/s (goal ≥ 1000)`);
const cpu = { own: ownCpuSeconds() - cpu0.own, server: serverCpuSeconds() - cpu0.server };
console.log(`scheduler: CPU during binding: scheduler process ${cpu.own.toFixed(1)} s, apiserver ${cpu.server.toFixed(1)} s, wall ${bindSeconds.toFixed(1)} s (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`);
// On a shared machine the wall-clock rate mostly measures other processes; CPU seconds per pod do not.
console.log(`scheduler: CPU per ${podCount} pods: ${cpu.own.toFixed(1)} s scheduler, ${cpu.server.toFixed(1)} s apiserver → at most ${(podCount / Math.max(cpu.own, cpu.server)).toFixed(0)} pods/s with a core each`);
const perNode = scheduler.cache.nodes().map((n) => n.requested.pods);
console.log(`scheduler: pods per node min ${Math.min(...perNode)} max ${Math.max(...perNode)}`);
await scheduler.stop();
await schedClient.close();
rec.note(`binding ran with the machine's load average at ${loadavg()[0]!.toFixed(1)}; scheduler process CPU ${cpu.own.toFixed(1)} s, apiserver CPU ${cpu.server.toFixed(1)} s over ${bindSeconds.toFixed(1)} s`);
rec.figure({ id: 'bind_cpu_ceiling', label: 'pods/s the CPU time allows (a core for the scheduler, one for the apiserver)', value: Math.round(podCount / Math.max(cpu.own, cpu.server)), unit: 'pods/s' });
rec.figure({ id: 'bind_rate', label: `pods bound per second (${nodeCount} nodes, ${podCount} pods)`, value: Math.round(rate), unit: 'pods/s', goal: { op: '>=', value: 1000 } });

// EndpointSlices: pods get an IP and Ready (as agents would report), then Services select 10 pods each.
s = t();
await parallel(podCount, (i) => client.patch(resources.pods, `pod-${i}`, { status: { phase: 'Running', podIP: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, conditions: [{ type: 'Ready', status: 'True' }] } }, 'merge', { namespace: 'default', subresource: 'status' }));
await parallel(serviceCount, (i) => client.create(resources.services, { apiVersion: 'v1', kind: 'Service', metadata: { name: `s${i}`, namespace: 'default' }, spec: { selector: { app: `s${i}` }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } }));
console.log(`setup: pod status and ${serviceCount} services in ${((t() - s) / 1000).toFixed(1)} s`);

async function runControllers(): Promise<{ sync: number; total: number; manager: ControllerManager; mgrClient: ApiClient }> {
  const mgrClient = new ApiClient({ server: url }, { connections: inflight });
  const manager = new ControllerManager({ client: mgrClient, controllers: ['endpointslice'], maxEndpointsPerSlice: 100, resyncPeriodMs: 0, workers: { endpointslice: 16, endpoints: 1, replicaset: 1, deployment: 1 } });
  const start = t();
  await manager.start();
  const sync = t();
  const perService = Math.floor(podCount / serviceCount);
  const converged = () => {
    if (!manager.idle()) return false;
    const slices = manager.informers.endpointSlices.store.list();
    return slices.length >= serviceCount && slices.every((x) => (x.endpoints ?? []).length >= perService);
  };
  while (!converged()) {
    if (t() - start > 600_000) throw new Error('EndpointSlices did not converge in 10 minutes');
    await sleep(20);
  }
  return { sync: (sync - start) / 1000, total: (t() - start) / 1000, manager, mgrClient };
}

const cold = await runControllers();
console.log(`endpointslice: ${serviceCount} services × ${Math.floor(podCount / serviceCount)} pods converged from nothing in ${cold.total.toFixed(2)} s (informer sync ${cold.sync.toFixed(2)} s)`);
await cold.manager.stop();
await cold.mgrClient.close();
const warm = await runControllers();
console.log(`endpointslice: full resync of the converged state (every service checked, no writes) in ${warm.total.toFixed(2)} s (informer sync ${warm.sync.toFixed(2)} s)`);
await warm.manager.stop();
await warm.mgrClient.close();
rec.figure({ id: 'slices_converge_cold', label: `EndpointSlices for ${serviceCount} services × ${Math.floor(podCount / serviceCount)} pods, from nothing`, value: Number(cold.total.toFixed(2)), unit: 's' });
rec.figure({ id: 'slices_resync', label: `full resync of ${serviceCount} converged services`, value: Number(warm.total.toFixed(2)), unit: 's' });
rec.write();
await client.close();
process.exit(0);
