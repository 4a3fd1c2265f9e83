import type { KubeObject } from '../../kube/types.ts';
import { ApiError } from '../errors.ts';
import { apiVersionOf, type ResourceDef } from '../resource.ts';
import { decodePath, describePath, fieldSchema, fieldSetOf, listKind, removeAt, resolve, sameItem, scopeOf, valueAt, type FieldSet, type Scope } from './fieldset.ts';
import { now, parseManaged, sameValue, serializeManaged, withManaged, type Managed } from './managers.ts';
import { isRecord } from '../../util/records.ts';

/**
 * Server-side apply (`application/apply-patch+yaml`), as structured-merge-diff
 * does it: the configuration is merged into the live object (maps by field,
 * keyed lists by key, sets by value, everything else replaced); fields the
 * manager applied before and leaves out now are removed unless another
 * manager owns them; a field the configuration sets to another value than a
 * different manager left there is a conflict (409 naming them) unless
 * `force` moves it over. The manager's Apply entry then holds exactly the
 * configuration's fields.
 */
type Obj = Record<string, unknown>;
type Schema = Record<string, unknown>;

function merge(scope: Scope, live: unknown, config: unknown, schema: Schema | undefined): unknown {
  const { definitions } = scope;
  if (isRecord(live) && isRecord(config)) {
    const s = resolve(definitions, schema);
    if (s && !s.properties && !s.additionalProperties) return structuredClone(config);
    const out: Obj = { ...live };
    for (const [k, v] of Object.entries(config)) out[k] = merge(scope, live[k], v, fieldSchema(definitions, schema, k));
    return out;
  }
  if (Array.isArray(live) && Array.isArray(config)) {
    const kind = listKind(schema);
    const items = resolve(definitions, schema)?.items as Schema | undefined;
    if (kind.kind === 'map') {
      const out = [...live];
      for (const item of config) {
        const index = out.findIndex((l) => sameItem(kind.keys, l, item));
        if (index >= 0) out[index] = merge(scope, out[index], item, items);
        else out.push(structuredClone(item));
      }
      return out;
    }
    if (kind.kind === 'set') return [...live, ...config.filter((c) => !live.some((l) => sameValue(l, c)))];
  }
  return structuredClone(config);
}

/** statusOnly is the part of a configuration a status apply takes: its identity and status. */
function statusOnly(config: KubeObject): KubeObject {
  const { apiVersion, kind, metadata, status } = config;
  return structuredClone({ apiVersion, kind, metadata: { name: metadata?.name, ...(metadata?.namespace !== undefined ? { namespace: metadata.namespace } : {}) }, ...(status !== undefined ? { status } : {}) }) as KubeObject;
}

interface Conflict { manager: string; apiVersion: string; path: string }

function conflictError(def: ResourceDef, name: string, conflicts: Conflict[]): ApiError {
  const byManager = new Map<string, Conflict[]>();
  for (const c of conflicts) byManager.set(`"${c.manager}" using ${c.apiVersion}`, [...(byManager.get(`"${c.manager}" using ${c.apiVersion}`) ?? []), c]);
  const n = conflicts.length;
  const groups = [...byManager].map(([who, list]) => (list.length === 1 ? `conflict with ${who}: ${list[0]!.path}` : `conflicts with ${who}:\n${list.map((c) => `- ${c.path}`).join('\n')}`));
  const message = `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${groups.join('\n')}`;
  return new ApiError(409, 'Conflict', message, {
    name,
    group: def.group,
    kind: def.resource,
    causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: c.path })),
  } as never);
}

function findConflicts(managed: readonly Managed[], manager: string, configSet: FieldSet, config: KubeObject, live: KubeObject): Map<Managed, string[]> {
  const found = new Map<Managed, string[]>();
  for (const m of managed) {
    if (m.entry.manager === manager) continue;
    for (const p of configSet) {
      if (!m.set.has(p)) continue;
      const path = decodePath(p);
      if (path[path.length - 1]?.startsWith('k:')) continue;
      if (sameValue(valueAt(config, path), valueAt(live, path))) continue;
      found.set(m, [...(found.get(m) ?? []), p]);
    }
  }
  return found;
}

/**
 * applyConfig computes the object an apply by manager leaves, from the live
 * object (undefined: the apply creates it) and the configuration. On the
 * status subresource only status is applied and tracked, in an entry of its
 * own (`subresource: status`), as kube's status strategy resets the rest.
 */
export function applyConfig(def: ResourceDef, live: KubeObject | undefined, config: KubeObject, manager: string, force: boolean, subresource?: 'status'): KubeObject {
  const scope = scopeOf(def, subresource);
  const cfg = subresource === 'status' ? statusOnly(config) : structuredClone(config);
  if (cfg.metadata) delete (cfg.metadata as Obj).managedFields;
  const configSet = fieldSetOf(scope, cfg);
  const base = live ?? ({ apiVersion: cfg.apiVersion, kind: cfg.kind, metadata: { name: cfg.metadata?.name } } as KubeObject);
  const managed = parseManaged(live);
  const conflicts = findConflicts(managed, manager, configSet, cfg, base);
  if (conflicts.size > 0 && !force) {
    const list = [...conflicts].flatMap(([m, paths]) => paths.map((p) => ({ manager: m.entry.manager, apiVersion: m.entry.apiVersion, path: describePath(decodePath(p)) })));
    throw conflictError(def, cfg.metadata?.name ?? '', list);
  }
  for (const [m, paths] of conflicts) for (const p of paths) m.set.delete(p);
  const result = merge(scope, structuredClone(base), cfg, scope.root) as KubeObject;
  let own = managed.find((m) => m.entry.manager === manager && m.entry.operation === 'Apply' && m.entry.subresource === subresource);
  const dropped = own ? [...own.set].filter((p) => !configSet.has(p) && !managed.some((m) => m !== own && m.set.has(p))) : [];
  // Deepest first, so an item's fields go before the item.
  for (const p of dropped.sort((a, b) => b.length - a.length)) removeAt(result as Obj, decodePath(p));
  if (!own) {
    own = { entry: { manager, operation: 'Apply', apiVersion: apiVersionOf(def), time: now(), fieldsType: 'FieldsV1', fieldsV1: {}, ...(subresource ? { subresource } : {}) }, set: new Set() };
    managed.push(own);
  }
  own.set = configSet;
  own.entry = { ...own.entry, time: now(), apiVersion: apiVersionOf(def) };
  withManaged(result, serializeManaged(managed));
  return result;
}
