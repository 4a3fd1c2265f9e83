/**
 * The IPVS benchmark's guest half (scripts/bench/ipvs boots UML and runs this
 * inside it, in a lab namespace per measurement so each starts empty):
 *
 * 1. reference: `ipvsadm --restore` of N services × 10 endpoints;
 * 2. Ferry's netlink batch of the same IPVS operations (IPVS alone);
 * 3. Ferry's IPVS proxier: full sync from empty (IPVS, kube-ipvs0 addresses,
 *    ipsets, iptables), then single endpoint changes (partial syncs).
 *
 * Prints a table, then one `BENCH_JSON {...}` line the host half turns into
 * the `ferry bench` result file.
 */
import { execFileSync } from 'node:child_process';
import type { Endpoint, ProxyState, ServicePort } from '../../src/endpoints/proxy-state.ts';
import { IpvsProxier } from '../../src/ipvs/proxier.ts';
import { benchProxyConfig } from './synthetic.ts';
import { IpvsNetlink, type Destination, type VirtualService } from '../../src/netlink/ipvs.ts';
import type { Request } from '../../src/netlink/socket.ts';
import type { Figure } from '../../src/bench/result.ts';
import { SYNC_TIME_CHART } from '../../src/bench/shared-charts.ts';

const quick = process.argv.includes('--quick');
// Quick (`ferry bench --quick`): 250 services, as ipvsadm --restore of 1,000 alone takes about 30 s under UML here.
const SERVICES = quick ? 250 : 10_000;
const ENDPOINTS = 10;
const CHANGES = 20;

const clusterIP = (i: number) => `10.96.${i >> 8}.${i & 255}`;
const endpointIP = (i: number, j: number) => `10.${128 + (((i * ENDPOINTS + j) >> 16) & 63)}.${((i * ENDPOINTS + j) >> 8) & 255}.${(i * ENDPOINTS + j) & 255}`;
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

function ipvsadmRules(): string {
  const lines: string[] = [];
  for (let i = 0; i < SERVICES; i++) {
    lines.push(`-A -t ${clusterIP(i)}:80 -s rr`);
    for (let j = 0; j < ENDPOINTS; j++) lines.push(`-a -t ${clusterIP(i)}:80 -r ${endpointIP(i, j)}:8080 -m -w 1`);
  }
  return lines.join('\n') + '\n';
}

function servicePort(i: number): ServicePort {
  return {
    key: `bench/svc-${i}:http`,
    namespace: 'bench',
    name: `svc-${i}`,
    portName: 'http',
    protocol: 'TCP',
    type: 'ClusterIP',
    clusterIPs: [clusterIP(i)],
    port: 80,
    nodePort: 0,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    sessionAffinity: { type: 'None' },
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0,
  };
}

const endpoint = (ip: string): Endpoint => ({ ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: false, nodeName: 'other' });

function state(services: Map<string, ServicePort>, endpoints: Map<string, readonly Endpoint[]>, changed: Set<string>): ProxyState {
  return { nodeName: 'bench', nodeLabels: {}, services, endpoints, changed, udpConntrack: { deletedEndpoints: [], newlyActiveServices: new Set() }, triggerTimes: new Map() };
}

async function netlinkBatch(): Promise<number> {
  const ipvs = await IpvsNetlink.open();
  const start = process.hrtime.bigint();
  const reqs: Request[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const svc: VirtualService = { protocol: 'TCP', address: clusterIP(i), port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff };
    reqs.push(ipvs.newService(svc));
    for (let j = 0; j < ENDPOINTS; j++) {
      const d: Destination = { address: endpointIP(i, j), port: 8080, weight: 1, forward: 0, upperThreshold: 0, lowerThreshold: 0 };
      reqs.push(ipvs.newDest(svc, d));
    }
  }
  const errors = (await ipvs.apply(reqs)).filter((e) => e);
  const t = ms(start);
  if (errors.length) throw new Error(`netlink batch: ${errors.length} errors, first ${errors[0]!.message}`);
  ipvs.close();
  return t;
}

/** measure runs one measurement; each prints one JSON line. */
async function measure(mode: string): Promise<Record<string, unknown>> {
  if (mode === 'ipvsadm') {
    const rules = ipvsadmRules();
    const start = process.hrtime.bigint();
    execFileSync('ipvsadm', ['--restore'], { input: rules });
    return { ms: ms(start) };
  }
  if (mode === 'netlink') return { ms: await netlinkBatch() };
  return proxierSyncs();
}

async function proxierSyncs(): Promise<Record<string, unknown>> {
  const proxier = new IpvsProxier({ ...benchProxyConfig('ipvs', 'legacy'), clusterCIDRs: ['10.128.0.0/10'], localhostNodePorts: true, syncPeriodMs: 30_000, minSyncPeriodMs: 1_000 });
  const services = new Map<string, ServicePort>();
  const endpoints = new Map<string, readonly Endpoint[]>();
  for (let i = 0; i < SERVICES; i++) {
    const sp = servicePort(i);
    services.set(sp.key, sp);
    endpoints.set(sp.key, Array.from({ length: ENDPOINTS }, (_, j) => endpoint(endpointIP(i, j))));
  }
  let start = process.hrtime.bigint();
  const full = await proxier.sync(state(services, endpoints, new Set(services.keys())));
  const fullMs = ms(start);
  if (!full.ok) throw full.error;
  const times: number[] = [];
  const phases: Record<string, number[]> = {};
  for (let c = 0; c < CHANGES; c++) {
    const i = (c * 7919) % SERVICES;
    const key = servicePort(i).key;
    const eps = [...endpoints.get(key)!];
    eps[c % ENDPOINTS] = endpoint(`10.200.${c}.${i & 255}`); // one endpoint replaced by a new pod
    endpoints.set(key, eps);
    start = process.hrtime.bigint();
    const r = await proxier.sync(state(services, endpoints, new Set([key])));
    times.push(ms(start));
    if (!r.ok) throw r.error;
    for (const [k, v] of Object.entries(r.stats ?? {})) if (k.startsWith('ms_')) (phases[k] ??= []).push(v);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  await proxier.close();
  times.sort((a, b) => a - b);
  const changePhases = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)]));
  return { fullMs, stats: full.stats, changePhases, changeMedianMs: times[Math.floor(times.length / 2)], changeMaxMs: times[times.length - 1] };
}

/** orchestrate runs each measurement in a fresh namespace of its own, so each starts from empty. */
function orchestrate(): void {
  const self = new URL(import.meta.url).pathname;
  const run = (mode: string) => {
    const ns = `fybench-${mode}`;
    execFileSync('ip', ['netns', 'add', ns]);
    // With loopback down the kernel refuses every real server (its address type lookup fails).
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    try {
// node --import tsx, not the tsx CLI: one Node start instead of two, seconds each under UML.
      const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', self, 'measure', mode, ...(quick ? ['--quick'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
    } finally {
      execFileSync('ip', ['netns', 'delete', ns]);
    }
  };
  const ipvsadm = run('ipvsadm');
  const netlink = run('netlink');
  const proxier = run('proxier');
  const row = (label: string, value: number) => console.log(`${label.padEnd(64)} ${value.toFixed(1).padStart(9)} ms`);
  console.log(`IPVS benchmark under UML: ${SERVICES} services x ${ENDPOINTS} endpoints (${SERVICES * (ENDPOINTS + 1)} IPVS objects)`);
  row('reference: ipvsadm --restore', ipvsadm.ms!);
  row('ferry netlink batch, same IPVS operations', netlink.ms!);
  row('ferry proxier full sync from empty (+ addresses, ipsets, rules)', proxier.fullMs!);
  row(`ferry proxier one endpoint change, median of ${CHANGES}`, proxier.changeMedianMs!);
  row(`ferry proxier one endpoint change, max of ${CHANGES}`, proxier.changeMaxMs!);
  const phases = (o: unknown) => Object.entries(o as Record<string, number>).filter(([k]) => k.startsWith('ms_')).map(([k, v]) => `${k.slice(3)} ${v}`).join(', ');
  console.log(`full sync phases (ms): ${phases((proxier as unknown as { stats: unknown }).stats)}`);
  console.log(`one change, median per phase (ms, whole ms): ${phases((proxier as unknown as { changePhases: unknown }).changePhases)}`);
  const figures: Figure[] = [
    { id: 'ipvsadm_restore_ms', label: 'ipvsadm --restore (reference)', value: ipvsadm.ms!, unit: 'ms' },
    { id: 'netlink_batch_ms', label: 'Ferry netlink batch, IPVS only', value: netlink.ms!, unit: 'ms', referenceId: 'ipvsadm_restore_ms' },
    { id: 'full_sync_ms', label: 'Ferry full sync from empty', value: proxier.fullMs!, unit: 'ms', goal: { op: '<=', value: ipvsadm.ms! }, referenceId: 'ipvsadm_restore_ms' },
    { id: 'one_change_ms', label: 'Ferry sync of one endpoint change (median)', value: proxier.changeMedianMs!, unit: 'ms', goal: { op: '<=', value: 10 } },
    { id: 'one_change_max_ms', label: 'Ferry sync of one endpoint change (max)', value: proxier.changeMaxMs!, unit: 'ms' },
  ];
  const points = [
    { chart: 'ipvs_full_sync', series: 'from empty', x: 'ipvsadm --restore', y: ipvsadm.ms! },
    { chart: 'ipvs_full_sync', series: 'from empty', x: 'ferry netlink batch', y: netlink.ms! },
    { chart: 'ipvs_full_sync', series: 'from empty', x: 'ferry full sync', y: proxier.fullMs! },
    { chart: SYNC_TIME_CHART.id, series: 'ipvs (UML)', x: SERVICES, y: proxier.fullMs! },
    { chart: SYNC_TIME_CHART.id, series: 'ipvsadm --restore (UML)', x: SERVICES, y: ipvsadm.ms! },
  ];
  const charts = [{ id: 'ipvs_full_sync', title: `IPVS: ${SERVICES} services x ${ENDPOINTS} endpoints from empty (UML)`, xTitle: 'tool', yTitle: 'ms', kind: 'bar' }, SYNC_TIME_CHART];
  const notes = ['Measured inside a User-Mode Linux guest (one virtual CPU, slower system calls than the host); compare figures within this run only.'];
  console.log(`BENCH_JSON ${JSON.stringify({ suite: 'ipvs', figures, points, charts, notes })}`);
}

if (process.argv[2] === 'measure') console.log(JSON.stringify(await measure(process.argv[3]!)));
else orchestrate();
