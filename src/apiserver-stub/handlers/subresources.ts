import { nodeStreamPort, proxyLog } from './node-relay.ts';
import type { KubeObject, LabelSelector } from '../../kube/types.ts';
import { formatLabelSelector, fromLabelSelector } from '../../kube/labels.ts';
import { ApiError, apiErrors } from '../errors.ts';
import { readBody, parseJson, parseJsonObject, sendJson } from '../request.ts';
import { replicasOf } from '../strategies/workloads.ts';
import { checkKind, isDryRun } from './admission.ts';
import { applyPatch, patchTypeOf } from './patch.ts';
import type { Ctx } from './context.ts';
import { readPath, writePath, type ScalePaths } from '../crd/defs.ts';
import { managerOf, recordUpdate } from '../managed-fields/managers.ts';

/** The scale (deployments, replicasets), binding and log subresources. */

/** toScale reads a custom resource's scale from its CRD's paths (kube's `scale` subresource of CRDs), a workload's from spec/status. */
function toScale(obj: KubeObject, paths?: ScalePaths): KubeObject {
  const m = obj.metadata ?? {};
  if (paths) {
    const replicas = readPath(obj, paths.specReplicasPath);
    const status = readPath(obj, paths.statusReplicasPath);
    const selector = paths.labelSelectorPath ? readPath(obj, paths.labelSelectorPath) : undefined;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
      spec: { replicas: typeof replicas === 'number' ? replicas : 0 },
      status: { replicas: typeof status === 'number' ? status : 0, ...(typeof selector === 'string' ? { selector } : {}) },
    };
  }
  const status = (obj.status ?? {}) as { replicas?: number };
  const selector = (obj.spec as { selector?: LabelSelector } | undefined)?.selector;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: replicasOf(obj) },
    status: { replicas: status.replicas ?? 0, selector: selector ? formatLabelSelector(fromLabelSelector(selector)) : '' },
  };
}

function scaleReplicas(scale: KubeObject): number {
  const r = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) {
    throw apiErrors.invalid('Scale', 'autoscaling', scale.metadata?.name ?? '', [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(r)}: must be greater than or equal to 0` }]);
  }
  return r;
}

/** handleScale answers GET, PUT and PATCH of `<workload>/scale`. */
export async function handleScale(ctx: Ctx): Promise<void> {
  const name = ctx.name!;
  const method = ctx.req.method;
  const paths = ctx.def.custom?.scale;
  if (method === 'GET') return sendJson(ctx.res, 200, toScale(await ctx.registry.get(ctx.namespace, name), paths));
  let change: (scale: KubeObject) => KubeObject;
  if (method === 'PUT') {
    const body = parseJsonObject(await readBody(ctx.req), ctx.req.headers['content-type']);
    checkKind(ctx.def, body, 'Scale', 'autoscaling/v1');
    change = () => body;
  } else if (method === 'PATCH') {
    const type = patchTypeOf(ctx.req.headers['content-type']);
    const patch = parseJson(await readBody(ctx.req));
    change = (scale) => applyPatch(type, scale, patch, 'Scale');
  } else throw apiErrors.methodNotAllowed(method ?? '', `${ctx.def.resource}/scale`);
  const manager = managerOf(ctx.req, ctx.query);
  const updated = await ctx.registry.mutate(ctx.namespace, name, (obj) => {
    const scale = change(toScale(obj, paths));
    const pinned = scale.metadata?.resourceVersion;
    let next: KubeObject;
    if (paths) {
      next = structuredClone(obj);
      writePath(next as Record<string, unknown>, paths.specReplicasPath, scaleReplicas(scale));
    } else next = { ...obj, spec: { ...(obj.spec as object), replicas: scaleReplicas(scale) } };
    next.metadata = { ...obj.metadata, ...(pinned ? { resourceVersion: pinned } : {}) };
    recordUpdate(ctx.def, obj, next, manager, 'scale');
    return next;
  }, undefined, isDryRun(ctx.query));
  sendJson(ctx.res, 200, toScale(updated, paths));
}

/** bind sets a pod's node, as the scheduler's Binding; a pod already bound is a 409. */
export async function bind(ctx: Ctx, podName: string, body: KubeObject): Promise<void> {
  checkKind(ctx.def, body, 'Binding', 'v1');
  const target = body.target as { kind?: string; name?: string } | undefined;
  if (!target || typeof target.name !== 'string' || target.name === '') {
    throw apiErrors.invalid('Binding', '', podName, [{ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
  }
  if (target.kind !== undefined && target.kind !== '' && target.kind !== 'Node') {
    throw apiErrors.invalid('Binding', '', podName, [{ reason: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: "${target.kind}": supported values: "Node"` }]);
  }
  const pods = ctx.api.registry('', 'pods');
  await pods.mutate(ctx.namespace, podName, (pod) => {
    const spec = (pod.spec ?? {}) as { nodeName?: string };
    if (spec.nodeName !== undefined && spec.nodeName !== '') {
      throw apiErrors.conflict({ group: '', resource: 'pods' }, podName, `pod ${podName} is already assigned to node "${spec.nodeName}"`);
    }
    const uid = body.metadata?.uid;
    if (uid !== undefined && uid !== pod.metadata?.uid) throw apiErrors.conflict({ group: '', resource: 'pods' }, podName, 'Precondition failed: UID in precondition does not match');
    return { ...pod, spec: { ...spec, nodeName: target.name } };
  });
  sendJson(ctx.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

/** handleBinding answers POST pods/{name}/binding. */
export async function handleBinding(ctx: Ctx): Promise<void> {
  if (ctx.req.method !== 'POST') throw apiErrors.methodNotAllowed(ctx.req.method ?? '', 'pods/binding');
  const body = parseJsonObject(await readBody(ctx.req), ctx.req.headers['content-type']);
  if (body.metadata?.name !== undefined && body.metadata.name !== ctx.name) throw apiErrors.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${ctx.name})`);
  await bind(ctx, ctx.name!, body);
}

const maxLogBytes = 1024 * 1024;

/**
 * handleLog serves `pods/{name}/log`: GET is relayed to the pod's node agent
 * when it publishes a streaming port; otherwise it returns the text the node agent
 * reported with PUT (text/plain, replacing what was there, last 1 MiB kept in
 * memory); until an agent reports, GET is a 404 Status "no logs reported".
 */
export async function handleLog(ctx: Ctx): Promise<void> {
  const key = `${ctx.namespace}/${ctx.name}`;
  await ctx.registry.get(ctx.namespace, ctx.name!);
  if (ctx.req.method === 'PUT') {
    const text = (await readBody(ctx.req)).toString('utf8');
    ctx.api.podLogs.set(key, text.length > maxLogBytes ? text.slice(-maxLogBytes) : text);
    return sendJson(ctx.res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
  }
  if (ctx.req.method !== 'GET') throw apiErrors.methodNotAllowed(ctx.req.method ?? '', 'pods/log');
  // A node that publishes a streaming endpoint answers itself (follow, previous, containers); else the last report.
  const port = await nodeStreamPort(ctx.api, ctx.namespace!, ctx.name!).catch(() => undefined);
  if (port !== undefined && (await proxyLog(port, ctx.req, ctx.res))) return;
  const text = ctx.api.podLogs.get(key);
  if (text === undefined) throw new ApiError(404, 'NotFound', `no logs reported for pod "${ctx.name}" in namespace "${ctx.namespace}"`, { name: ctx.name!, kind: 'pods' });
  let out = text;
  const tail = ctx.query.get('tailLines');
  if (tail !== null && /^\d+$/.test(tail)) out = text.split('\n').slice(-Number(tail) - (text.endsWith('\n') ? 1 : 0)).join('\n');
  ctx.res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(out) });
  ctx.res.end(out);
}
