import { structs } from '../../kube/patch-schema.ts';
import type { ResourceDef } from '../resource.ts';
import { addSchemaExtensions, customDefinitionName, customListSchema, customSchema } from '../crd/openapi.ts';
import { definitionPrefix, parseModule, typesRoot, type JsonSchema } from './types-parser.ts';

/**
 * The definitions Ferry publishes: every type of the modules its served
 * group-versions use (plus meta, autoscaling/v1 Scale and policy/v1 Eviction,
 * which its subresources and kubectl drain name), each top-level kind tagged
 * with `x-kubernetes-group-version-kind` and lists with their
 * strategic-merge-patch keys, as kube-apiserver's document has them.
 */
export type Definitions = Record<string, JsonSchema>;

const extraModules = ['meta/v1', 'api/resource', 'runtime', 'autoscaling/v1', 'policy/v1'];

/** moduleOfGroupVersion names the kubernetes-types module of a group-version (`discovery.k8s.io/v1` → `discovery/v1`). */
export function moduleOfGroupVersion(group: string, version: string): string {
  return `${group === '' ? 'core' : group.split('.')[0]}/${version}`;
}

export interface Kind { group: string; version: string; kind: string; custom?: unknown }

function gvkOf(k: Kind): JsonSchema {
  return { group: k.group, kind: k.kind, version: k.version };
}

/** servedKinds lists the kinds (objects, their lists, and subresource kinds) that get a GVK tag. */
export function servedKinds(defs: readonly ResourceDef[]): Kind[] {
  const kinds: Kind[] = [];
  for (const d of defs) {
    const custom = d.custom ? { custom: true } : {};
    kinds.push({ group: d.group, version: d.version, kind: d.kind, ...custom });
    if (!d.createOnly) kinds.push({ group: d.group, version: d.version, kind: `${d.kind}List`, ...custom });
  }
  kinds.push({ group: 'autoscaling', version: 'v1', kind: 'Scale' }, { group: 'policy', version: 'v1', kind: 'Eviction' });
  if (defs.some((d) => d.group === '' && d.kind === 'Pod')) kinds.push({ group: '', version: 'v1', kind: 'Binding' });
  return kinds;
}

export function definitionName(k: Kind): string {
  if (k.custom) return customDefinitionName(k.group, k.version, k.kind);
  return `${definitionPrefix(moduleOfGroupVersion(k.group, k.version))}.${k.kind}`;
}

/** addMergeKeys copies the strategic-merge-patch keys Ferry applies (kube's patchStrategy tags) into the schema. */
function addMergeKeys(definitions: Definitions): void {
  const prefixes = ['io.k8s.api.core.v1', 'io.k8s.api.apps.v1', 'io.k8s.apimachinery.pkg.apis.meta.v1'];
  for (const [struct, fields] of Object.entries(structs)) {
    const def = prefixes.map((p) => definitions[`${p}.${struct}`]).find((d) => d !== undefined);
    const props = def?.properties as Record<string, JsonSchema> | undefined;
    if (!props) continue;
    for (const [field, meta] of Object.entries(fields)) {
      const prop = props[field];
      if (!prop) continue;
      if (meta.mergeKey !== undefined) {
        const keys = listMapKeys[`${struct}.${field}`] ?? [meta.mergeKey];
        Object.assign(prop, { 'x-kubernetes-patch-merge-key': meta.mergeKey, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': keys });
      } else if (meta.mergePrimitives) prop['x-kubernetes-patch-strategy'] = 'merge';
    }
  }
}

/**
 * Keyed lists whose server-side-apply identity is more than the strategic
 * merge key (kube's `listMapKey` tags): a port is its number and protocol, so
 * 53/UDP and 53/TCP stay two items.
 */
const listMapKeys: Readonly<Record<string, readonly string[]>> = {
  'ServiceSpec.ports': ['port', 'protocol'],
  'Container.ports': ['containerPort', 'protocol'],
};

/** buildDefinitions parses the modules and tags the served kinds. */
export function buildDefinitions(defs: readonly ResourceDef[]): Definitions {
  const root = typesRoot();
  const modules = new Set([...defs.filter((d) => !d.custom).map((d) => moduleOfGroupVersion(d.group, d.version)), ...extraModules]);
  const definitions: Definitions = {};
  for (const m of modules) Object.assign(definitions, parseModule(root, m));
  for (const d of defs.filter((x) => x.custom)) {
    definitions[customDefinitionName(d.group, d.version, d.kind)] = customSchema(d) as JsonSchema;
    definitions[customDefinitionName(d.group, d.version, `${d.kind}List`)] = customListSchema(d) as JsonSchema;
  }
  for (const k of servedKinds(defs)) {
    const def = definitions[definitionName(k)];
    if (def) def['x-kubernetes-group-version-kind'] = [gvkOf(k)];
  }
  // DeleteOptions, Status and WatchEvent are sent to every group-version; kube tags them with each.
  const gvs = [...new Map(defs.map((d) => [`${d.group}/${d.version}`, d])).values()];
  for (const meta of ['DeleteOptions', 'WatchEvent']) {
    const def = definitions[`io.k8s.apimachinery.pkg.apis.meta.v1.${meta}`];
    if (def) def['x-kubernetes-group-version-kind'] = gvs.map((d) => gvkOf({ group: d.group, version: d.version, kind: meta }));
  }
  const status = definitions['io.k8s.apimachinery.pkg.apis.meta.v1.Status'];
  if (status) status['x-kubernetes-group-version-kind'] = [gvkOf({ group: '', version: 'v1', kind: 'Status' })];
  addMergeKeys(definitions);
  addSchemaExtensions(definitions);
  return definitions;
}

/** refsOf collects the definition names a schema refers to, transitively. */
export function closure(definitions: Definitions, roots: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') {
        const name = v.slice(v.lastIndexOf('/') + 1);
        if (!seen.has(name) && definitions[name]) {
          seen.add(name);
          visit(definitions[name]);
        }
      } else visit(v);
    }
  };
  for (const r of roots) visit({ $ref: `#/definitions/${r}` });
  return seen;
}

const parsed: Definitions = {};
const parsedModules = new Set<string>();

/**
 * cachedDefinitions holds the definitions (with merge keys, without GVK tags) of the modules asked for so
 * far, parsed once, with those every group refers to (core's pod template, meta).
 */
export function cachedDefinitions(group: string, version: string): Definitions {
  // Every write asks (field validation, managedFields): answer a group-version seen before without the module walk.
  const key = `${group}/${version}`;
  if (readyGroupVersions.has(key)) return parsed;
  for (const m of [moduleOfGroupVersion(group, version), 'core/v1', ...extraModules]) {
    if (parsedModules.has(m)) continue;
    Object.assign(parsed, parseModule(typesRoot(), m));
    parsedModules.add(m);
    addMergeKeys(parsed);
    addSchemaExtensions(parsed);
  }
  readyGroupVersions.add(key);
  return parsed;
}

const readyGroupVersions = new Set<string>();
