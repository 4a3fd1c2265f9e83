/**
 * The apiserver fuzz run of issue 19, shared by its test
 * (test/integration/apiserver-stub/fuzz.test.ts) and `ferry bench`'s fuzz
 * suite: seeded requests of mutated objects of every served kind as JSON,
 * YAML and protobuf, the three patch types with random and bomb operations,
 * deep and aliased documents, odd keys, Table lists and short watches, sent
 * by 8 clients while a ninth probes /readyz every 50 ms.
 */
import { stringify as toYaml } from 'yaml';

/** prng is a small seeded generator (mulberry32): the same seed gives the same run. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

let rand = prng(1);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const podSpec = () => ({ containers: [{ name: 'c', image: 'nginx:1', ports: [{ containerPort: 80 }] }] });
const template = () => ({ metadata: { labels: { app: 'f' } }, spec: podSpec() });

/** A valid object of each served kind: path of its collection, and a body. */
const kinds: Record<string, { path: string; body: () => any }> = {
  namespaces: { path: '/api/v1/namespaces', body: () => ({ metadata: { name: 'ns' } }) },
  nodes: { path: '/api/v1/nodes', body: () => ({ metadata: { name: 'node' }, spec: { podCIDR: '10.244.0.0/24' } }) },
  pods: { path: '/api/v1/namespaces/default/pods', body: () => ({ metadata: { name: 'pod', labels: { app: 'f' } }, spec: podSpec() }) },
  services: { path: '/api/v1/namespaces/default/services', body: () => ({ metadata: { name: 'svc' }, spec: { selector: { app: 'f' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }) },
  endpoints: { path: '/api/v1/namespaces/default/endpoints', body: () => ({ metadata: { name: 'ep' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] }) },
  events: { path: '/api/v1/namespaces/default/events', body: () => ({ metadata: { name: 'ev' }, involvedObject: { kind: 'Pod', name: 'p' }, reason: 'R', message: 'm', type: 'Normal' }) },
  configmaps: { path: '/api/v1/namespaces/default/configmaps', body: () => ({ metadata: { name: 'cm' }, data: { k: 'v' } }) },
  endpointslices: { path: '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', body: () => ({ metadata: { name: 'es' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }], ports: [{ port: 80 }] }) },
  leases: { path: '/apis/coordination.k8s.io/v1/namespaces/default/leases', body: () => ({ metadata: { name: 'lease' }, spec: { holderIdentity: 'x', leaseDurationSeconds: 15 } }) },
  deployments: { path: '/apis/apps/v1/namespaces/default/deployments', body: () => ({ metadata: { name: 'dep' }, spec: { replicas: 1, selector: { matchLabels: { app: 'f' } }, template: template() } }) },
  replicasets: { path: '/apis/apps/v1/namespaces/default/replicasets', body: () => ({ metadata: { name: 'rs' }, spec: { replicas: 1, selector: { matchLabels: { app: 'f' } }, template: template() } }) },
  // Issue 17's kinds.
  secrets: { path: '/api/v1/namespaces/default/secrets', body: () => ({ metadata: { name: 's' }, type: 'Opaque', data: { k: 'dg==' }, stringData: { s: 'v' } }) },
  serviceaccounts: { path: '/api/v1/namespaces/default/serviceaccounts', body: () => ({ metadata: { name: 'sa' }, secrets: [{ name: 's' }], imagePullSecrets: [{ name: 'p' }] }) },
  persistentvolumeclaims: { path: '/api/v1/namespaces/default/persistentvolumeclaims', body: () => ({ metadata: { name: 'pvc' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }) },
  persistentvolumes: { path: '/api/v1/persistentvolumes', body: () => ({ metadata: { name: 'pv' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/srv' } } }) },
  replicationcontrollers: { path: '/api/v1/namespaces/default/replicationcontrollers', body: () => ({ metadata: { name: 'rc' }, spec: { replicas: 1, selector: { app: 'f' }, template: template() } }) },
  statefulsets: { path: '/apis/apps/v1/namespaces/default/statefulsets', body: () => ({ metadata: { name: 'sts' }, spec: { replicas: 1, selector: { matchLabels: { app: 'f' } }, template: template(), volumeClaimTemplates: [{ metadata: { name: 'd' }, spec: { accessModes: ['ReadWriteOnce'] } }] } }) },
  daemonsets: { path: '/apis/apps/v1/namespaces/default/daemonsets', body: () => ({ metadata: { name: 'ds' }, spec: { selector: { matchLabels: { app: 'f' } }, template: template() } }) },
  jobs: { path: '/apis/batch/v1/namespaces/default/jobs', body: () => ({ metadata: { name: 'job' }, spec: { template: { spec: { ...podSpec(), restartPolicy: 'Never' } } } }) },
  cronjobs: { path: '/apis/batch/v1/namespaces/default/cronjobs', body: () => ({ metadata: { name: 'cj' }, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { ...podSpec(), restartPolicy: 'OnFailure' } } } } } }) },
  ingresses: { path: '/apis/networking.k8s.io/v1/namespaces/default/ingresses', body: () => ({ metadata: { name: 'ing' }, spec: { rules: [{ host: 'a.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'svc', port: { number: 80 } } } }] } }] } }) },
  ingressclasses: { path: '/apis/networking.k8s.io/v1/ingressclasses', body: () => ({ metadata: { name: 'ic' }, spec: { controller: 'example.com/ingress' } }) },
  networkpolicies: { path: '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies', body: () => ({ metadata: { name: 'np' }, spec: { podSelector: { matchLabels: { app: 'f' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 80 }] }] } }) },
  roles: { path: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', body: () => ({ metadata: { name: 'role' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] }) },
  rolebindings: { path: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', body: () => ({ metadata: { name: 'rb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'role' }, subjects: [{ kind: 'User', name: 'u' }] }) },
  clusterroles: { path: '/apis/rbac.authorization.k8s.io/v1/clusterroles', body: () => ({ metadata: { name: 'cr' }, rules: [{ nonResourceURLs: ['/x'], verbs: ['get'] }] }) },
  clusterrolebindings: { path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', body: () => ({ metadata: { name: 'crb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cr' }, subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'default' }] }) },
};
const kindNames = Object.keys(kinds);

function randomValue(depth = 0): unknown {
  switch (int(depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return pick([0, -1, 1.5, 1e308, 2 ** 53, 65536, -0]);
    case 3:
      return pick(['', 'x', '\u0000', 'ü', '10.96.0.1', 'a'.repeat(300), '${x}', '__proto__']);
    case 4:
      return pick([{}, [], 'nginx:1', 'TCP', 'ClusterIP']);
    case 5:
      return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < int(4); i++) Object.defineProperty(o, pick(['metadata', 'spec', 'status', 'ports', 'selector', 'matchExpressions', 'labels', '__proto__', 'constructor', '$patch', 'x']), { value: randomValue(depth + 1), enumerable: true, writable: true, configurable: true });
      return o;
    }
  }
}

/** paths lists every field path of a JSON value (for mutations and patch ops). */
function paths(v: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  out.push(prefix);
  if (typeof v === 'object' && v !== null && prefix.length < 8) for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function mutate(obj: any): any {
  for (let n = 1 + int(3); n > 0; n--) {
    const path = pick(paths(obj));
    if (path.length === 0) continue;
    let parent = obj;
    for (const k of path.slice(0, -1)) parent = parent[k];
    const last = path.at(-1)!;
    const roll = rand();
    if (roll < 0.2) delete parent[last];
    else if (roll < 0.3) parent[last] = deep(500 + int(1000));
    else Object.defineProperty(parent, last, { value: randomValue(), enumerable: true, writable: true, configurable: true });
  }
  return obj;
}

/** yamlOf writes YAML, or JSON (which is YAML too) when the value is too deep for the YAML library's recursion. */
function yamlOf(body: unknown): string {
  try {
    return toYaml(body, { aliasDuplicateObjects: true });
  } catch {
    return JSON.stringify(body);
  }
}

function deep(depth: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < depth; i++) v = rand() < 0.5 ? [v] : { a: v };
  return v;
}

const pointer = (p: string[]) => (p.length === 0 ? '' : '/' + p.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/'));

function jsonPatch(obj: any): unknown[] {
  const ps = paths(obj).map(pointer);
  if (rand() < 0.05) return Array.from({ length: 40 }, (_, i) => ({ op: 'copy', from: '/metadata', path: `/metadata/c${i}` }));
  if (rand() < 0.05) return Array.from({ length: 200 }, () => ({ op: 'copy', from: '/spec', path: '/spec/ports/-' }));
  return Array.from({ length: 1 + int(4) }, () => ({ op: pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus']), path: pick([...ps, '/spec/x/-', '/metadata/labels/a']), from: pick(ps), value: randomValue() }));
}

interface Req {
  method: string;
  path: string;
  body?: string | Buffer;
  type?: string;
  accept?: string;
}

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

function request(i: number): Req {
  const kind = kinds[pick(kindNames)]!;
  const name = `f${int(40)}`;
  const obj = kind.body();
  obj.metadata.name = name;
  const roll = rand();
  if (roll < 0.35) {
    const body = rand() < 0.7 ? mutate(obj) : obj;
    const as = rand();
    if (as < 0.6) return { method: 'POST', path: kind.path, body: JSON.stringify(body) };
    if (as < 0.9) return { method: 'POST', path: kind.path, body: rand() < 0.1 ? 'metadata: &x {name: y, labels: *x}\n' : yamlOf(body), type: 'application/yaml' };
    return { method: 'POST', path: kind.path, body: Buffer.from(Array.from({ length: 4 + int(100) }, (_, j) => (j < 4 ? [0x6b, 0x38, 0x73, 0x00][j]! : int(256)))), type: 'application/vnd.kubernetes.protobuf' };
  }
  if (roll < 0.5) return { method: 'PUT', path: `${kind.path}/${name}`, body: JSON.stringify(mutate(obj)) };
  if (roll < 0.75) {
    const type = pick(['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json']);
    const body = type === 'application/json-patch+json' ? jsonPatch(obj) : mutate(obj);
    return { method: 'PATCH', path: `${kind.path}/${pick([name, 'f1', 'kubernetes'])}`, body: JSON.stringify(body), type };
  }
  if (roll < 0.85) {
    const query = pick(['labelSelector=app%3Df', 'labelSelector=a+in+(', 'fieldSelector=metadata.name%3Df1', 'limit=3', 'limit=-1', 'continue=x', 'watch=1&timeoutSeconds=1', 'includeObject=Object']);
    return { method: 'GET', path: `${kind.path}?${query}`, ...(rand() < 0.4 ? { accept: TABLE } : {}) };
  }
  if (roll < 0.95) return { method: 'DELETE', path: `${kind.path}/${name}`, ...(rand() < 0.3 ? { body: JSON.stringify(randomValue()) } : {}) };
  if (i % 2 === 0) return { method: 'POST', path: kind.path, body: `{"metadata":{"name":"${name}"},"x":${'['.repeat(2000)}${']'.repeat(2000)}}` };
  return { method: pick(['DELETE', 'POST', 'PUT']), path: pick(['/api/v1/namespaces', '/api/v1/namespaces/default/pods/f1/status', '/apis/apps/v1/namespaces/default/deployments/f1/scale']), body: JSON.stringify(mutate({ metadata: { name: 'f1' }, spec: { replicas: 2 } })) };
}

/** listAll names every object of every served kind with its resourceVersion, sorted. */
export async function listAll(url: string): Promise<string[]> {
  const out: string[] = [];
  for (const kind of Object.values(kinds)) {
    const list = (await (await fetch(`${url}${kind.path}`)).json()) as { items: Array<{ metadata: { name: string; resourceVersion: string } }> };
    for (const item of list.items) out.push(`${kind.path}/${item.metadata.name}@${item.metadata.resourceVersion}`);
  }
  return out.sort();
}

export interface FuzzOptions {
  readonly url: string;
  readonly requests: number;
  readonly seed: number;
  /** Called between the two halves of the run (memory readings); the probe keeps going. */
  readonly halfway?: () => Promise<void>;
  /** Called after each probe (RSS sampling). */
  readonly onProbe?: () => void;
}

export interface FuzzResult {
  readonly seconds: number;
  readonly codes: ReadonlyMap<number, number>;
  /** Requests answered 5xx or not at all. */
  readonly failures: readonly string[];
  readonly probeMs: readonly number[];
  readonly probeP99: number;
  readonly probeMax: number;
  /** The slowest requests other than watches, for the log. */
  readonly slowest: readonly string[];
}

/** runFuzz sends `requests` seeded requests to url and reports what came back. */
export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  rand = prng(o.seed);
  const probeMs: number[] = [];
  let running = true;
  const probe = (async () => {
    while (running) {
      const started = performance.now();
      try {
        await (await fetch(`${o.url}/readyz`, { signal: AbortSignal.timeout(5000) })).text();
        probeMs.push(performance.now() - started);
      } catch {
        probeMs.push(Infinity);
      }
      o.onProbe?.();
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const failures: string[] = [];
  const codes = new Map<number, number>();
  const slowest: Array<{ ms: number; what: string }> = [];
  let next = 0;
  const worker = async (limit: number): Promise<void> => {
    while (next < limit) {
      const i = next++;
      const r = request(i);
      let res: Response;
      const sent = performance.now();
      try {
        res = await fetch(`${o.url}${r.path}`, { method: r.method, headers: { 'Content-Type': r.type ?? 'application/json', ...(r.accept ? { Accept: r.accept } : {}) }, ...(r.body !== undefined ? { body: r.body } : {}), signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
      } catch (error) {
        failures.push(`#${i} ${r.method} ${r.path} ${String(r.body).slice(0, 200)} -> no answer: ${String(error)}`);
        continue;
      }
      codes.set(res.status, (codes.get(res.status) ?? 0) + 1);
      if (!r.path.includes('watch=1')) slowest.push({ ms: performance.now() - sent, what: `#${i} ${r.method} ${r.path} ${r.type ?? ''} ${String(r.body).length}B ${String(r.body).slice(0, 80)} -> ${res.status}` });
      if (slowest.length > 40) slowest.sort((a, b) => b.ms - a.ms).splice(10);
      if (res.status >= 500) failures.push(`#${i} ${r.method} ${r.path} ${String(r.body).slice(0, 200)} -> ${res.status}`);
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: 8 }, () => worker(Math.floor(o.requests / 2))));
  await o.halfway?.();
  await Promise.all(Array.from({ length: 8 }, () => worker(o.requests)));
  running = false;
  await probe;
  const sorted = [...probeMs].sort((a, b) => a - b);
  return {
    seconds: (Date.now() - started) / 1000,
    codes,
    failures,
    probeMs,
    probeP99: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
    probeMax: sorted.at(-1) ?? 0,
    slowest: slowest.sort((a, b) => b.ms - a.ms).slice(0, 8).map((x) => `${x.ms.toFixed(0)} ms ${x.what}`),
  };
}
