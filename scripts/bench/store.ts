// Benchmark for the storage backends; run through scripts/bench/store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Backend, StoredValue } from '../../src/apiserver-stub/storage/backend.ts';
import { createBackend } from '../../src/apiserver-stub/storage/registry.ts';
import { BenchRecorder } from '../../src/bench/result.ts';
import { EtcdServer } from '../../test/integration/apiserver-stub/storage/etcd-server.ts';

const { values: args } = parseArgs({
  options: {
    count: { type: 'string' },
    inflight: { type: 'string', default: '64' },
    backend: { type: 'string', default: 'file' },
    watchers: { type: 'string', default: '100' },
    'etcd-servers': { type: 'string' },
  },
});
const recorder = new BenchRecorder('store');
// `ferry bench --quick` (FERRY_BENCH_QUICK=1) stores 2,000 objects instead of 10,000.
const count = Number(args.count ?? (recorder.quick ? 2000 : 10000));
const inflight = Number(args.inflight);
const watchers = Number(args.watchers);

function service(i: number): StoredValue {
  const name = `svc-${i}`;
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: 'bench', uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, creationTimestamp: '2026-11-22T00:00:00Z', labels: { app: name, tier: 'backend' } },
    spec: { type: 'ClusterIP', clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`, clusterIPs: [`10.96.${(i >> 8) & 255}.${i & 255}`], ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: name }, sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster' },
    status: { loadBalancer: {} },
  };
}

async function open(dir: string, etcdServers: string[]): Promise<Backend> {
  const store = createBackend(args.backend!, { dataDir: dir, etcdServers, etcdCompactionIntervalMs: 0 });
  await store.start();
  return store;
}

/** creates issues `count` creates with at most `limit` in flight; returns creates/s. */
async function creates(store: Backend, prefix: string, limit: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await store.create(`${prefix}svc-${String(i).padStart(6, '0')}`, service(i));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return count / ((performance.now() - started) / 1000);
}

/** listMs lists the prefix and serialises it as a ServiceList body, median of 9 runs. */
async function listMs(store: Backend, prefix: string): Promise<{ ms: number; storeMs: number; items: number }> {
  const times: number[] = [];
  const storeTimes: number[] = [];
  let items = 0;
  for (let run = 0; run < 9; run++) {
    const started = performance.now();
    const list = await store.list(prefix);
    storeTimes.push(performance.now() - started);
    const body = JSON.stringify({ kind: 'ServiceList', apiVersion: 'v1', metadata: { resourceVersion: String(list.revision) }, items: list.items.map((kv) => ({ ...kv.value, metadata: { ...(kv.value.metadata as object), resourceVersion: String(kv.revision) } })) });
    times.push(performance.now() - started);
    items = list.items.length;
    if (body.length === 0) throw new Error('empty body');
  }
  times.sort((a, b) => a - b);
  storeTimes.sort((a, b) => a - b);
  return { ms: times[4]!, storeMs: storeTimes[4]!, items };
}

/** fanOutMs: time from issuing one update until all watchers received it, median of 5. */
async function fanOutMs(store: Backend, prefix: string): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < 5; run++) {
    let pending = watchers;
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const handles = await Promise.all(Array.from({ length: watchers }, () => store.watch(prefix, store.currentRevision(), {
      onEvent: () => { if (--pending === 0) done(); },
      onClose: () => {},
    })));
    const key = `${prefix}svc-000000`;
    const current = (await store.get(key))!;
    const started = performance.now();
    await store.update(key, service(run), current.revision);
    await all;
    times.push(performance.now() - started);
    for (const h of handles) h.close();
  }
  times.sort((a, b) => a - b);
  return times[2]!;
}

const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-store-'));
// --backend etcd without --etcd-servers runs against a throwaway etcd on 127.0.0.1.
const etcd = args.backend === 'etcd' && !args['etcd-servers'] ? await EtcdServer.start() : undefined;
const etcdServers = args['etcd-servers']?.split(',') ?? (etcd ? [etcd.url] : []);
try {
  const store = await open(dir, etcdServers);
  const rate = await creates(store, '/registry/services/bench/', inflight);
  console.log(`${args.backend}: create ${count} objects, ${inflight} in flight: ${rate.toFixed(0)} creates/s`);
  const burst = await creates(store, '/registry/services/burst/', count);
  console.log(`${args.backend}: create ${count} objects, all issued at once: ${burst.toFixed(0)} creates/s`);
  const list = await listMs(store, '/registry/services/bench/');
  console.log(`${args.backend}: list ${list.items} objects: ${list.storeMs.toFixed(1)} ms in the store, ${list.ms.toFixed(1)} ms with a ServiceList JSON body (median of 9)`);
  const fanOut = await fanOutMs(store, '/registry/services/bench/');
  console.log(`${args.backend}: ${watchers} watchers all receive one update: ${fanOut.toFixed(1)} ms (median of 5, from issuing the write)`);
  recorder.figure({ id: 'create_rate', label: `${args.backend} store: create ${count} objects, ${inflight} in flight`, value: rate, unit: 'creates/s', goal: { op: '>=', value: 2000 } });
  recorder.figure({ id: 'create_burst_rate', label: `${args.backend} store: create ${count} objects, all at once`, value: burst, unit: 'creates/s' });
  recorder.figure({ id: 'list_ms', label: `${args.backend} store: list ${list.items} objects + ServiceList JSON (median of 9)`, value: list.ms, unit: 'ms', goal: { op: '<=', value: 100 } });
  recorder.figure({ id: 'watch_fanout_ms', label: `${args.backend} store: ${watchers} watchers receive one update (median of 5)`, value: fanOut, unit: 'ms', goal: { op: '<=', value: 50 } });
  await store.close();
  if (args.backend === 'file') {
    const started = performance.now();
    const reopened = await open(dir, etcdServers);
    const restartMs = performance.now() - started;
    console.log(`${args.backend}: restart with ${2 * count} objects: ${restartMs.toFixed(0)} ms`);
    recorder.figure({ id: 'restart_ms', label: `file store: restart with ${2 * count} objects`, value: restartMs, unit: 'ms' });
    await reopened.close();
  }
  recorder.write();
} finally {
  await etcd?.stop();
  await rm(dir, { recursive: true, force: true });
}
