import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceDef } from '../resource.ts';
import { buildDefinitions, closure, definitionName, servedKinds, type Definitions } from './definitions.ts';
import { resourcePaths, type PathItem } from './paths.ts';
import { encodeOpenApiV2 } from './v2-protobuf.ts';

/**
 * The OpenAPI documents (kube-openapi's handlers): `/openapi/v2` as JSON or
 * gnostic protobuf, and `/openapi/v3`, an index of one document per
 * group-version (`api/v1`, `apis/apps/v1`) each named with the hash of its
 * content, which is also its ETag. Built once per server: the served
 * resources do not change while it runs.
 */
export interface Doc { readonly body: Buffer; readonly etag: string; readonly hash: string }

const metaRoots = ['DeleteOptions', 'Status', 'WatchEvent', 'APIResourceList', 'Patch'].map((n) => `io.k8s.apimachinery.pkg.apis.meta.v1.${n}`);

function doc(body: Buffer): Doc {
  const hash = createHash('sha512').update(body).digest('hex').toUpperCase().slice(0, 128);
  return { body, hash, etag: `"${hash}"` };
}

function pick(definitions: Definitions, names: Iterable<string>): Definitions {
  return Object.fromEntries([...names].sort().map((n) => [n, definitions[n]!]));
}

/**
 * toV3 rewrites swagger 2.0 refs into OpenAPI 3.0 form; a ref with siblings
 * (a field's description) goes into `allOf`, since 3.0 ignores a `$ref`'s siblings.
 */
function toV3(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toV3);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== '$ref') out[k] = toV3(v);
  const ref = (value as Record<string, unknown>).$ref;
  if (typeof ref !== 'string') return out;
  const v3Ref = { $ref: ref.replace('#/definitions/', '#/components/schemas/') };
  return Object.keys(out).length === 0 ? v3Ref : { ...out, allOf: [v3Ref] };
}

function v3Operation(op: Record<string, unknown>): Record<string, unknown> {
  const { consumes, produces, parameters, responses, ...rest } = op as { consumes: string[]; produces: string[]; parameters: Record<string, unknown>[]; responses: Record<string, { description: string; schema?: unknown }> };
  const out: Record<string, unknown> = { ...rest };
  const body = parameters.find((p) => p.in === 'body');
  if (body) out.requestBody = { required: true, content: Object.fromEntries(consumes.map((c) => [c, { schema: toV3(body.schema) }])) };
  out.parameters = parameters.filter((p) => p.in !== 'body').map(v3Parameter);
  out.responses = Object.fromEntries(
    Object.entries(responses).map(([code, r]) => [code, r.schema ? { description: r.description, content: Object.fromEntries(produces.map((p) => [p, { schema: toV3(r.schema) }])) } : { description: r.description }]),
  );
  return out;
}

function v3Parameter(p: Record<string, unknown>): Record<string, unknown> {
  const { type, ...rest } = p;
  return { ...rest, schema: { type } };
}

function v3PathItem(item: PathItem): PathItem {
  const out: PathItem = {};
  for (const [k, v] of Object.entries(item)) out[k] = k === 'parameters' ? (v as Record<string, unknown>[]).map(v3Parameter) : v3Operation(v as Record<string, unknown>);
  return out;
}

/** gvPath names a group-version's v3 document: `api/v1` or `apis/apps/v1`. */
export function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

export class OpenApiDocs {
  readonly v2Json: Doc;
  readonly v2Protobuf: Doc;
  readonly v3: ReadonlyMap<string, Doc>;
  readonly v3Index: Doc;

  constructor(defs: readonly ResourceDef[]) {
    const definitions = buildDefinitions(defs);
    const roots = [...servedKinds(defs).map(definitionName), ...metaRoots];
    const published = pick(definitions, closure(definitions, roots));
    const paths: Record<string, PathItem> = Object.assign({}, ...defs.map(resourcePaths));
    const info = { title: 'Kubernetes', version: 'v1.32.0' };
    const v2 = { swagger: '2.0', info, paths, definitions: published };
    this.v2Json = doc(Buffer.from(JSON.stringify(v2)));
    this.v2Protobuf = doc(encodeOpenApiV2(v2));
    const v3 = new Map<string, Doc>();
    for (const gv of new Set(defs.map((d) => apiVersionOf(d)))) {
      const inGv = defs.filter((d) => apiVersionOf(d) === gv);
      const gvRoots = [...servedKinds(inGv).filter((k) => apiVersionOf(k) === gv).map(definitionName), ...metaRoots];
      const gvPaths: Record<string, PathItem> = {};
      for (const [p, item] of Object.entries(Object.assign({}, ...inGv.map(resourcePaths)) as Record<string, PathItem>)) gvPaths[p] = v3PathItem(item);
      const schemas = toV3(pick(definitions, closure(definitions, gvRoots)));
      const body = { openapi: '3.0.0', info, paths: gvPaths, components: { schemas } };
      v3.set(gvPath(inGv[0]!.group, inGv[0]!.version), doc(Buffer.from(JSON.stringify(body))));
    }
    this.v3 = v3;
    const index = { paths: Object.fromEntries([...v3].map(([p, d]) => [p, { serverRelativeURL: `/openapi/v3/${p}?hash=${d.hash}` }])) };
    this.v3Index = doc(Buffer.from(JSON.stringify(index)));
  }
}
