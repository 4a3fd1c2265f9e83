import type { ResourceDef } from '../resource.ts';

/**
 * The published schema of a custom resource (kube's `builder.BuildOpenAPIV2/V3`
 * for CRDs): the version's openAPIV3Schema with apiVersion, kind and metadata
 * (a ref to ObjectMeta) added, and its List; named by the reversed group
 * (`com.example.stable.v1.CronTab`) as kube names them.
 */
type Schema = Record<string, unknown>;

const objectMeta = '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const listMeta = '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta';
const apiVersion = { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources' };
const kind = { type: 'string', description: 'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds' };

export function customDefinitionName(group: string, version: string, kindName: string): string {
  return `${group.split('.').reverse().join('.')}.${version}.${kindName}`;
}

/** customSchema is the object's published schema (without its GVK tag). */
export function customSchema(def: ResourceDef): Schema {
  const given = structuredClone(def.custom?.schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }) as Schema;
  const properties = { ...((given.properties as Schema | undefined) ?? {}) };
  properties.apiVersion = apiVersion;
  properties.kind = kind;
  properties.metadata = { $ref: objectMeta, description: "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata" };
  return { ...given, type: 'object', properties };
}

/** customListSchema is the List kind's schema. */
export function customListSchema(def: ResourceDef): Schema {
  return {
    type: 'object',
    description: `${def.kind}List is a list of ${def.kind}`,
    required: ['items'],
    properties: {
      apiVersion,
      items: { type: 'array', description: `List of ${def.resource}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`, items: { $ref: `#/definitions/${customDefinitionName(def.group, def.version, def.kind)}` } },
      kind,
      metadata: { $ref: listMeta, description: 'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds' },
    },
  };
}

const jsonSchemaProps = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps';

/**
 * addSchemaExtensions gives JSONSchemaProps the `x-kubernetes-*` fields kube's
 * definition has and kubernetes-types leaves out (TypeScript names cannot
 * hold them), so CRDs using them pass strict field validation.
 */
export function addSchemaExtensions(definitions: Record<string, Schema>): void {
  const props = definitions[jsonSchemaProps]?.properties as Record<string, Schema> | undefined;
  if (!props || props['x-kubernetes-preserve-unknown-fields']) return;
  const flag = (description: string): Schema => ({ type: 'boolean', description });
  Object.assign(props, {
    'x-kubernetes-embedded-resource': flag('x-kubernetes-embedded-resource defines that the value is an embedded Kubernetes runtime.Object, with TypeMeta and ObjectMeta.'),
    'x-kubernetes-int-or-string': flag('x-kubernetes-int-or-string specifies that this value is either an integer or a string.'),
    'x-kubernetes-list-map-keys': { type: 'array', items: { type: 'string' }, description: 'x-kubernetes-list-map-keys annotates an array with the x-kubernetes-list-type `map` by specifying the keys used as the index of the map.' },
    'x-kubernetes-list-type': { type: 'string', description: 'x-kubernetes-list-type annotates an array to further describe its topology: atomic, set or map.' },
    'x-kubernetes-map-type': { type: 'string', description: 'x-kubernetes-map-type annotates an object to further describe its topology: granular or atomic.' },
    'x-kubernetes-preserve-unknown-fields': flag('x-kubernetes-preserve-unknown-fields stops the API server decoding step from pruning fields which are not specified in the validation schema.'),
    'x-kubernetes-validations': { type: 'array', items: { $ref: '#/definitions/io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.ValidationRule' }, description: 'x-kubernetes-validations describes a list of validation rules written in the CEL expression language.' },
  });
}
