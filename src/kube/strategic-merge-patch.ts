import { PatchError, clone, isObject, member, setMember, type Json, type JsonObject } from './patch-errors.ts';
import { rootStruct, structs, type FieldSchema, type StructSchema } from './patch-schema.ts';

/**
 * Strategic merge patch (apimachinery `pkg/util/strategicpatch`), the patch
 * client-side `kubectl apply` sends for built-in kinds. Maps merge and null
 * deletes, as in a JSON merge patch; lists tagged with a merge key merge item
 * by item; other lists are replaced. Directives: `$patch: replace|delete|merge`
 * (in maps and list items), `$retainKeys`, `$setElementOrder/<field>` and
 * `$deleteFromPrimitiveList/<field>`.
 */
export function applyStrategicMergePatch(original: Json, patch: Json, kind: string): Json {
  if (!isObject(patch)) throw new PatchError('a strategic merge patch must be a JSON object');
  const result = mergeMap(isObject(original) ? original : undefined, patch, structs[rootStruct(kind)]!);
  return result ?? {};
}

const setOrderPrefix = '$setElementOrder/';
const deletePrimitivesPrefix = '$deleteFromPrimitiveList/';

function schemaOf(field: FieldSchema | undefined): StructSchema {
  return (field?.type !== undefined && Object.hasOwn(structs, field.type) ? structs[field.type] : undefined) ?? {};
}

/** stripDirectives removes `$`-directives from a value that replaces what was there. */
function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.filter((v) => !(isObject(v) && v.$patch !== undefined && Object.keys(v).length === 1)).map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith('$')) setMember(out, k, stripDirectives(v));
  return out;
}

/** mergeMap merges patch into original; undefined means `$patch: delete`. */
function mergeMap(original: JsonObject | undefined, patch: JsonObject, schema: StructSchema): JsonObject | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return stripDirectives(patch) as JsonObject;
  if (directive !== undefined && directive !== 'merge') throw new PatchError(`unknown patch directive "${String(directive)}"`);
  const result: JsonObject = original ? { ...original } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete result[key];
      continue;
    }
    const field = Object.hasOwn(schema, key) ? schema[key] : undefined;
    const current = member(result, key);
    if (Array.isArray(value)) setMember(result, key, mergeListField(current, value, field));
    else if (isObject(value)) {
      const merged = mergeMap(isObject(current) ? current : undefined, value, schemaOf(field));
      if (merged === undefined) delete result[key];
      else setMember(result, key, merged);
    } else setMember(result, key, value);
  }
  applyListDirectives(result, patch, schema);
  if (patch.$retainKeys !== undefined) retainKeys(result, patch.$retainKeys);
  return result;
}

function mergeListField(original: Json | undefined, patch: Json[], field: FieldSchema | undefined): Json[] {
  const current = Array.isArray(original) ? original : [];
  if (field?.mergeKey !== undefined) return mergeKeyedList(current, patch, field.mergeKey, schemaOf(field));
  if (field?.mergePrimitives) {
    if (patch.some((v) => isObject(v) && v.$patch === 'replace')) return stripDirectives(patch) as Json[];
    const out = [...current];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  return stripDirectives(patch) as Json[];
}

function mergeKeyedList(current: Json[], patch: Json[], mergeKey: string, schema: StructSchema): Json[] {
  if (patch.some((v) => isObject(v) && v.$patch === 'replace')) return stripDirectives(patch) as Json[];
  const result = clone(current);
  for (const item of patch) {
    if (!isObject(item)) throw new PatchError(`list items merged by "${mergeKey}" must be objects`);
    const keyValue = item[mergeKey];
    if (keyValue === undefined) throw new PatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    const index = result.findIndex((e) => isObject(e) && e[mergeKey] === keyValue);
    if (item.$patch === 'delete') {
      if (index >= 0) {
        for (let i = result.length - 1; i >= 0; i--) {
          const e = result[i];
          if (isObject(e) && e[mergeKey] === keyValue) result.splice(i, 1);
        }
      }
      continue;
    }
    const existing = index >= 0 ? (result[index] as JsonObject) : undefined;
    const merged = mergeMap(existing, item, schema);
    if (merged === undefined) continue;
    if (index >= 0) result[index] = merged;
    else result.push(merged);
  }
  return result;
}

function applyListDirectives(result: JsonObject, patch: JsonObject, schema: StructSchema): void {
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(deletePrimitivesPrefix)) {
      const field = key.slice(deletePrimitivesPrefix.length);
      if (!Array.isArray(value)) throw new PatchError(`${key} must be a list`);
      const list = result[field];
      if (Array.isArray(list)) result[field] = list.filter((v) => !value.includes(v));
    } else if (key.startsWith(setOrderPrefix)) {
      const field = key.slice(setOrderPrefix.length);
      if (!Array.isArray(value)) throw new PatchError(`${key} must be a list`);
      const list = result[field];
      if (Array.isArray(list)) result[field] = reorder(list, value, schema[field]?.mergeKey);
    }
  }
}

/** reorder puts the items named by `order` first, in that order, then the rest as they were. */
function reorder(list: Json[], order: Json[], mergeKey: string | undefined): Json[] {
  const identity = (v: Json): Json => (mergeKey !== undefined && isObject(v) ? (v[mergeKey] ?? null) : v);
  const wanted = order.map(identity);
  const picked = new Set<number>();
  const out: Json[] = [];
  for (const w of wanted) {
    const i = list.findIndex((item, idx) => !picked.has(idx) && identity(item) === w);
    if (i >= 0) {
      picked.add(i);
      out.push(list[i]!);
    }
  }
  list.forEach((item, idx) => {
    if (!picked.has(idx)) out.push(item);
  });
  return out;
}

function retainKeys(result: JsonObject, keys: Json): void {
  if (!Array.isArray(keys)) throw new PatchError('$retainKeys must be a list of field names');
  for (const k of Object.keys(result)) if (!keys.includes(k)) delete result[k];
}
