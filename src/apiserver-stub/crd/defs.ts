import type { KubeObject, StatusCause } from '../../kube/types.ts';
import { humanAge, type Column, type Printer } from '../printers.ts';
import type { ResourceDef, Strategy } from '../resource.ts';
import { hasRules, validateRules } from './cel-validate.ts';
import { pruneAndDefault, validateSchema, type JsonSchemaProps } from './schema.ts';

/**
 * What a CustomResourceDefinition serves: one ResourceDef per served
 * version, all over the same storage keys (conversion strategy `None`:
 * versions differ only in apiVersion, as kube's None converter; `Webhook`:
 * served.ts gives each version a store that converts through the webhook).
 */
export interface PrinterColumn { name: string; type: string; jsonPath: string; description?: string; priority?: number; format?: string }
export interface ScalePaths { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string }
export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: JsonSchemaProps };
  subresources?: { status?: object; scale?: ScalePaths };
  additionalPrinterColumns?: PrinterColumn[];
}
export interface CrdNames { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[]; categories?: string[] }
export interface CrdSpec { group: string; names: CrdNames; scope: 'Namespaced' | 'Cluster'; versions: CrdVersion[] }

/** The custom parts of a ResourceDef served for a CRD. */
export interface CustomParts {
  readonly crd: string;
  readonly schema: JsonSchemaProps | undefined;
  readonly scale: ScalePaths | undefined;
  readonly printer: Printer;
}

/** readPath reads a simple JSONPath (`.spec.replicas`, `.spec.items[0].name`) as kube's printer columns and scale paths use. */
export function readPath(obj: unknown, jsonPath: string): unknown {
  const steps = jsonPath.replace(/^\{?\$?/, '').replace(/\}$/, '').split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '');
  let v: unknown = obj;
  for (const s of steps) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = Array.isArray(v) ? v[Number(s)] : (v as Record<string, unknown>)[s];
  }
  return v;
}

/** writePath sets a value at a dotted path, making objects on the way (scale's specReplicasPath). */
export function writePath(obj: Record<string, unknown>, jsonPath: string, value: unknown): void {
  const steps = jsonPath.replace(/^\./, '').split('.');
  let v = obj;
  for (const s of steps.slice(0, -1)) {
    if (typeof v[s] !== 'object' || v[s] === null) v[s] = {};
    v = v[s] as Record<string, unknown>;
  }
  v[steps.at(-1)!] = value;
}

const columnTypes = new Set(['integer', 'number', 'string', 'boolean', 'date']);

/** printerOf is kube's CRD table convertor: Name, then the additionalPrinterColumns (dates as ages), or Name and Age. */
export function printerOf(columns: readonly PrinterColumn[] | undefined): Printer {
  const given = columns ?? [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];
  const defs: Column[] = [
    { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' },
    ...given.map((c) => ({ name: c.name, type: (columnTypes.has(c.type) ? c.type : 'string') as Column['type'], format: c.format ?? '', priority: c.priority ?? 0, description: c.description ?? 'Custom resource definition column (in JSONPath format): ' + c.jsonPath })),
  ];
  return {
    columns: defs,
    cells: (o: KubeObject) => [
      o.metadata?.name,
      ...given.map((c) => {
        const v = readPath(o, c.jsonPath);
        if (v === undefined || v === null) return null;
        if (c.type === 'date' && typeof v === 'string') return humanAge(v);
        return typeof v === 'object' ? JSON.stringify(v) : v;
      }),
    ],
  };
}

/**
 * Schema errors that stop the CEL rules from running (kube's hasBlockingErr):
 * rules assume the schema's types, required fields and size bounds.
 */
function blocksRules(causes: StatusCause[]): boolean {
  const blocking = new Set(['FieldValueNotSupported', 'FieldValueRequired', 'FieldValueTooLong', 'FieldValueTooMany']);
  return causes.some((c) => blocking.has(c.reason ?? '') || (c.message ?? '').includes(' in body must be of type '));
}

const rulesNotChecked: StatusCause = { reason: 'FieldValueInvalid', field: '<nil>', message: 'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation' };

/** customStrategy prunes, defaults and validates against the version's schema and its CEL rules, as kube's customresource strategy. */
function customStrategy(schema: JsonSchemaProps | undefined, status: boolean, scale: ScalePaths | undefined): Strategy {
  return {
    prepareForCreate(obj) {
      if (status) delete obj.status;
    },
    defaults(obj) {
      pruneAndDefault(schema, obj);
    },
    validate(obj, old): StatusCause[] {
      const causes = validateSchema(schema, obj);
      if (hasRules(schema)) causes.push(...(blocksRules(causes) ? [rulesNotChecked] : validateRules(schema, obj, old)));
      if (scale) {
        const replicas = readPath(obj, scale.specReplicasPath);
        if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)) {
          causes.push({ reason: 'FieldValueInvalid', field: scale.specReplicasPath.slice(1), message: `Invalid value: ${JSON.stringify(replicas)}: should be a non-negative integer` });
        }
      }
      return causes;
    },
  };
}

/** Kube's version order (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > others by name): the first is the preferred version. */
export function versionPriority(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    return m ? [Number(m[1]), m[2] === 'alpha' ? 0 : m[2] === 'beta' ? 1 : 2, Number(m[3] ?? 0)] : undefined;
  };
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return pa ? -1 : pb ? 1 : a.localeCompare(b);
  return pb[1] - pa[1] || pb[0] - pa[0] || pb[2] - pa[2];
}

/** crdDefs gives the ResourceDefs of a CRD's served versions, preferred first. */
export function crdDefs(crd: KubeObject): ResourceDef[] {
  const spec = crd.spec as CrdSpec;
  const names = spec.names;
  return spec.versions
    .filter((v) => v.served)
    .sort((a, b) => versionPriority(a.name, b.name))
    .map((v) => {
      const schema = v.schema?.openAPIV3Schema;
      const status = v.subresources?.status !== undefined;
      const scale = v.subresources?.scale;
      const custom: CustomParts = { crd: crd.metadata!.name!, schema, scale, printer: printerOf(v.additionalPrinterColumns) };
      return {
        group: spec.group,
        version: v.name,
        resource: names.plural,
        singular: names.singular ?? names.kind.toLowerCase(),
        kind: names.kind,
        namespaced: spec.scope === 'Namespaced',
        nameFormat: 'subdomain',
        shortNames: names.shortNames ?? [],
        ...(names.categories ? { categories: names.categories } : {}),
        subresources: [...(status ? ['status' as const] : []), ...(scale ? ['scale' as const] : [])],
        statusSubresource: status,
        strategy: customStrategy(schema, status, scale),
        custom,
      };
    });
}
