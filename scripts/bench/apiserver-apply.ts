import type { Pool } from 'undici';

/**
 * The apply and managedFields parts of the apiserver bench: a 20-object app
 * applied server-side against the same app applied client-side, and a list
 * of the bench's services with and without managedFields.
 */
type Obj = Record<string, unknown>;
const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

/** App is 5 Deployments, 5 Services and 10 ConfigMaps; each round changes a label on all and a value in the ConfigMaps. */
function app(namespace: string, round: number): Obj[] {
  const labels = (name: string) => ({ app: name, round: String(round) });
  const out: Obj[] = [];
  for (let i = 0; i < 5; i++) {
    const name = `web-${i}`;
    out.push({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels: labels(name) },
      spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }], env: [{ name: 'MODE', value: 'bench' }] }] } } },
    });
    out.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, labels: labels(name) }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 80 }] } });
  }
  for (let i = 0; i < 10; i++) out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cfg-${i}`, namespace, labels: labels(`cfg-${i}`) }, data: { round: String(round), setting: 'x'.repeat(64) } });
  return out;
}

function pathOf(obj: Obj): string {
  const meta = obj.metadata as { name: string; namespace: string };
  const group = obj.kind === 'Deployment' ? '/apis/apps/v1' : '/api/v1';
  return `${group}/namespaces/${meta.namespace}/${String(obj.kind).toLowerCase()}s/${meta.name}`;
}

async function send(pool: Pool, method: 'GET' | 'POST' | 'PATCH', path: string, contentType?: string, body?: unknown): Promise<{ status: number; json: Obj }> {
  const res = await pool.request({ path, method, ...(contentType ? { headers: { 'content-type': contentType } } : {}), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.statusCode, json: (await res.body.json()) as Obj };
}

async function must(pool: Pool, method: 'POST' | 'PATCH', path: string, contentType: string, body: unknown): Promise<void> {
  const { status, json } = await send(pool, method, path, contentType, body);
  if (status >= 300) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(json)}`);
}

/** serverSideApply applies every object as `kubectl apply --server-side` does: one apply patch each, in order. */
async function serverSideApply(pool: Pool, objs: Obj[]): Promise<void> {
  for (const obj of objs) await must(pool, 'PATCH', `${pathOf(obj)}?fieldManager=kubectl&force=false`, 'application/apply-patch+yaml', obj);
}

/** twoWay is the merge patch from prev to next (maps field by field, everything else replaced, null removes). */
function twoWay(prev: unknown, next: unknown): unknown {
  const isMap = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMap(prev) || !isMap(next)) return next;
  const out: Obj = {};
  for (const k of new Set([...Object.keys(prev), ...Object.keys(next)])) {
    if (!(k in next)) out[k] = null;
    else if (JSON.stringify(prev[k]) !== JSON.stringify(next[k])) out[k] = twoWay(prev[k], next[k]);
  }
  return out;
}

/**
 * clientSideApply applies every object as client-side `kubectl apply` does:
 * GET it, create it with the last-applied annotation when absent, else send
 * the strategic merge patch from the last-applied configuration to the new
 * one (the app changes maps only, so the two-way patch is kubectl's three-way one).
 */
async function clientSideApply(pool: Pool, objs: Obj[]): Promise<void> {
  for (const obj of objs) {
    const path = pathOf(obj);
    const live = await send(pool, 'GET', path);
    const config = JSON.stringify(obj);
    const annotated = { ...obj, metadata: { ...(obj.metadata as Obj), annotations: { [lastApplied]: config } } };
    if (live.status === 404) {
      await must(pool, 'POST', path.slice(0, path.lastIndexOf('/')), 'application/json', annotated);
      continue;
    }
    const prev = JSON.parse(((live.json.metadata as Obj).annotations as Record<string, string>)[lastApplied]!) as Obj;
    const patch = twoWay({ ...prev, metadata: { ...(prev.metadata as Obj), annotations: { [lastApplied]: '' } } }, annotated);
    await must(pool, 'PATCH', path, 'application/strategic-merge-patch+json', patch);
  }
}

export interface ApplyFigures { ssaCreateMs: number; csaCreateMs: number; ssaMs: number[]; csaMs: number[]; objects: number }

/** timeApplies creates the app both ways, then re-applies a change `rounds` times each way, alternating; ms per whole-app apply. */
export async function timeApplies(pool: Pool, rounds: number): Promise<ApplyFigures> {
  for (const ns of ['bench-ssa', 'bench-csa', 'bench-warm']) await must(pool, 'POST', '/api/v1/namespaces', 'application/json', { metadata: { name: ns } });
  const timed = async (fn: () => Promise<void>): Promise<number> => {
    const s = performance.now();
    await fn();
    return performance.now() - s;
  };
  // Untimed: the first use of a kind builds its schema tables, which would land on whichever way went first.
  await serverSideApply(pool, app('bench-warm', 0));
  await clientSideApply(pool, app('bench-warm', 0).map((o) => ({ ...o, metadata: { ...(o.metadata as Obj), name: `csa-${(o.metadata as Obj).name}` } })));
  const ssaCreateMs = await timed(() => serverSideApply(pool, app('bench-ssa', 0)));
  const csaCreateMs = await timed(() => clientSideApply(pool, app('bench-csa', 0)));
  const ssaMs: number[] = [];
  const csaMs: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    ssaMs.push(await timed(() => serverSideApply(pool, app('bench-ssa', round))));
    csaMs.push(await timed(() => clientSideApply(pool, app('bench-csa', round))));
  }
  return { ssaCreateMs, csaCreateMs, ssaMs, csaMs, objects: app('', 0).length };
}

/**
 * stripManagedFields removes managedFields from every listed object the way
 * kube documents (a patch setting `managedFields: [{}]`), `inflight` at a time.
 *
 * Why this is the "without": kube-apiserver keeps managedFields on every
 * object and returns them in every list; no list option leaves them out
 * (a PartialObjectMetadata list still carries the whole ObjectMeta). So the
 * bench lists its services as served, strips them from the same objects and
 * lists again: the difference is what managedFields cost a list, in bytes
 * and in time.
 */
export async function stripManagedFields(pool: Pool, base: string, names: string[], inflight: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (next < names.length) await must(pool, 'PATCH', `${base}/${names[next++]}`, 'application/merge-patch+json', { metadata: { managedFields: [{}] } });
  }));
}
