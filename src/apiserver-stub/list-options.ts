import type { KubeObject } from '../kube/types.ts';
import { parseLabelSelector, matchesLabels, LabelSelectorParseError } from '../kube/labels.ts';
import { parseFieldSelector, matchesFields, FieldSelectorParseError, type FieldRequirement } from '../kube/fields.ts';
import { apiErrors } from './errors.ts';
import type { ResourceDef } from './resource.ts';

/** ListOptions are the list and watch query parameters (metav1.ListOptions). */
export interface ListOptions {
  readonly labelSelector: string;
  readonly fieldSelector: string;
  readonly limit: number;
  readonly continueToken: string | undefined;
  readonly resourceVersion: string | undefined;
  readonly resourceVersionMatch: string | undefined;
  readonly watch: boolean;
  readonly allowWatchBookmarks: boolean;
  readonly sendInitialEvents: boolean | undefined;
  readonly timeoutSeconds: number | undefined;
}

/**
 * queryBool reads a boolean query parameter as kube's conversion does: absent,
 * empty, `0` and `false` (any case: Python sends `False`) are false, anything
 * else (`True`, `yes`) is true.
 */
export function queryBool(value: string | null): boolean {
  if (value === null || value === '') return false;
  const lower = value.toLowerCase();
  return lower !== 'false' && lower !== '0';
}

const bool = queryBool;

function nonNegativeInt(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw apiErrors.badRequest(`invalid ${name} "${raw}": must be a non-negative integer`);
  return Number(raw);
}

export function parseListOptions(params: URLSearchParams): ListOptions {
  const sie = params.get('sendInitialEvents');
  return {
    labelSelector: params.get('labelSelector') ?? '',
    fieldSelector: params.get('fieldSelector') ?? '',
    limit: nonNegativeInt(params, 'limit') ?? 0,
    continueToken: params.get('continue') || undefined,
    resourceVersion: params.get('resourceVersion') || undefined,
    resourceVersionMatch: params.get('resourceVersionMatch') || undefined,
    watch: bool(params.get('watch')),
    allowWatchBookmarks: bool(params.get('allowWatchBookmarks')),
    sendInitialEvents: sie === null ? undefined : bool(sie),
    timeoutSeconds: nonNegativeInt(params, 'timeoutSeconds'),
  };
}

/** Predicate is a compiled label+field selector for one resource. */
export type Predicate = (obj: KubeObject) => boolean;

function fieldReader(def: ResourceDef, obj: KubeObject): (field: string) => string {
  return (field) => {
    if (field === 'metadata.name') return obj.metadata?.name ?? '';
    if (field === 'metadata.namespace') return obj.metadata?.namespace ?? '';
    return def.fields?.[field]?.(obj) ?? '';
  };
}

function checkFields(def: ResourceDef, reqs: readonly FieldRequirement[]): void {
  for (const r of reqs) {
    const known = r.field === 'metadata.name' || (r.field === 'metadata.namespace' && def.namespaced) || def.fields?.[r.field] !== undefined;
    if (!known) throw apiErrors.badRequest(`field label not supported: ${r.field}`);
  }
}

/** compilePredicate parses both selectors; a malformed one is a 400 BadRequest. */
export function compilePredicate(def: ResourceDef, options: Pick<ListOptions, 'labelSelector' | 'fieldSelector'>): Predicate {
  try {
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector);
    checkFields(def, fields);
    if (labels.length === 0 && fields.length === 0) return () => true;
    return (obj) => matchesLabels(labels, obj.metadata?.labels) && matchesFields(fields, fieldReader(def, obj));
  } catch (error) {
    if (error instanceof LabelSelectorParseError) throw apiErrors.badRequest(`unable to parse requirement: ${error.message}`);
    if (error instanceof FieldSelectorParseError) throw apiErrors.badRequest(error.message);
    throw error;
  }
}

/** Continue tokens pin the list's revision and the last key returned. */
export interface ContinueToken {
  readonly rv: number;
  readonly start: string;
}

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'ferry.v1', rv: token.rv, start: token.start })).toString('base64url');
}

export function decodeContinue(raw: string, prefix: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { v?: unknown; rv?: unknown; start?: unknown };
    if (parsed.v === 'ferry.v1' && typeof parsed.rv === 'number' && typeof parsed.start === 'string' && parsed.start.startsWith(prefix)) {
      return { rv: parsed.rv, start: parsed.start };
    }
  } catch {
    // fall through to the error below
  }
  throw apiErrors.badRequest(`continue key is not valid: ${raw.slice(0, 64)}`);
}
