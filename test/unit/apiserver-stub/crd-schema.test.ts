import test from 'ava';
import { pruneAndDefault, schemaProblems, validateSchema, type JsonSchemaProps } from '../../../src/apiserver-stub/crd/schema.ts';
import { crdDefs, printerOf, versionPriority } from '../../../src/apiserver-stub/crd/defs.ts';
import { crdStrategy } from '../../../src/apiserver-stub/crd/crd-strategy.ts';

const schema: JsonSchemaProps = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['size'],
      properties: {
        size: { type: 'integer', minimum: 1, exclusiveMaximum: true, maximum: 5 },
        mode: { type: 'string', enum: ['a', 'b'], default: 'a' },
        port: { 'x-kubernetes-int-or-string': true },
        tags: { type: 'array', maxItems: 2, items: { type: 'string', minLength: 2 } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        nested: { type: 'object', default: {}, properties: { depth: { type: 'number', default: 1.5 } } },
      },
    },
  },
};

test('pruneAndDefault drops undeclared fields, keeps preserved and map values, fills nested defaults', (t) => {
  const obj = { apiVersion: 'x/v1', kind: 'K', metadata: { name: 'n' }, extra: 1, spec: { size: 2, bogus: true, labels: { a: 'b' }, free: { any: { thing: 1 } } } };
  const pruned = pruneAndDefault(schema, obj);
  t.deepEqual(pruned.sort(), ['extra', 'spec.bogus']);
  t.deepEqual(obj, { apiVersion: 'x/v1', kind: 'K', metadata: { name: 'n' }, spec: { size: 2, mode: 'a', labels: { a: 'b' }, free: { any: { thing: 1 } }, nested: { depth: 1.5 } } } as never);
});

test('validateSchema words its causes as kube does', (t) => {
  const causes = validateSchema(schema, { spec: { size: 5, mode: 'c', port: 1.5, tags: ['x', 'yy', 'zz'], labels: { a: 1 } } });
  t.deepEqual(causes.map((c) => `${c.field}: ${c.message}`), [
    'spec.size: Invalid value: 5: spec.size in body should be less than 5',
    'spec.mode: Unsupported value: "c": supported values: "a", "b"',
    'spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"',
    'spec.tags: Too many: 3: must have at most 2 items',
    'spec.tags[0]: Invalid value: "x": spec.tags[0] in body should be at least 2 chars long',
    'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
  ]);
  t.deepEqual(validateSchema(schema, { spec: {} }).map((c) => c.field), ['spec.size']);
  t.deepEqual(validateSchema(schema, { spec: { size: 1, port: 'http' } }), []);
});

test('schemaProblems refuses non-structural schemas and bad patterns', (t) => {
  const problems = schemaProblems({ type: 'object', properties: { a: {}, b: { type: 'string', pattern: '(' }, c: { 'x-kubernetes-preserve-unknown-fields': true } } }, 'schema');
  t.deepEqual(problems.map((p) => p.field), ['schema.properties[a].type', 'schema.properties[b].pattern']);
});

test('CRD strategy: names, one storage version, conversion validated as kube does; accepted status', (t) => {
  const crd = { metadata: { name: 'widgets.example.com' }, spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] } };
  crdStrategy.prepareForCreate!(crd);
  t.deepEqual(crdStrategy.validate!(crd, undefined), []);
  const status = crd as unknown as { status: { acceptedNames: { singular: string; listKind: string }; conditions: Array<{ type: string; status: string }> } };
  t.deepEqual([status.status.acceptedNames.singular, status.status.acceptedNames.listKind], ['widget', 'WidgetList']);
  t.deepEqual(status.status.conditions.map((c) => c.type), ['NamesAccepted', 'Established']);
  const bad = structuredClone(crd) as typeof crd & { spec: { conversion?: unknown; versions: Array<{ storage: boolean }> } };
  bad.metadata.name = 'gadgets.example.com';
  bad.spec.versions[0]!.storage = false;
  bad.spec.conversion = { strategy: 'Webhook' };
  const fields = crdStrategy.validate!(bad, undefined).map((c) => c.field);
  t.deepEqual(fields, ['metadata.name', 'spec.versions', 'spec.conversion.webhookClientConfig', 'spec.conversion.conversionReviewVersions']);

  const conversion = (c: unknown) => {
    const x = structuredClone(crd) as typeof crd & { spec: { conversion?: unknown } };
    x.spec.conversion = c;
    crdStrategy.defaults!(x);
    return { causes: crdStrategy.validate!(x, undefined).map((k) => `${k.field}: ${k.message}`), spec: x.spec };
  };
  const ok = conversion({ strategy: 'Webhook', webhook: { clientConfig: { service: { namespace: 'ns', name: 'conv' }, caBundle: 'Zm9v' }, conversionReviewVersions: ['v1'] } });
  t.deepEqual(ok.causes, []);
  t.like(ok.spec.conversion, { webhook: { clientConfig: { service: { port: 443 } } } }, 'the service port defaults to 443');
  t.deepEqual(conversion({ strategy: 'Webhook', webhook: { clientConfig: { url: 'http://conv.example.com/convert' }, conversionReviewVersions: ['v1'] } }).causes,
    ['spec.conversion.webhookClientConfig.url: Invalid value: "http://conv.example.com/convert": \'https\' is the only allowed URL scheme']);
  t.deepEqual(conversion({ strategy: 'Webhook', webhook: { clientConfig: { url: 'https://conv.example.com/convert?x=1', service: { namespace: 'a', name: 'b' } }, conversionReviewVersions: ['v2'] } }).causes, [
    'spec.conversion.webhookClientConfig: Required value: exactly one of url or service is required',
    'spec.conversion.conversionReviewVersions: Invalid value: ["v2"]: must include at least one of v1, v1beta1',
  ]);
  t.deepEqual(conversion({ strategy: 'None', webhook: { clientConfig: { url: 'https://x.example.com' } } }).causes, ['spec.conversion.webhookClientConfig: Forbidden: should not be set when strategy is not set to Webhook']);
  t.deepEqual(conversion({ strategy: 'Magic' }).causes, ['spec.conversion.strategy: Unsupported value: "Magic": supported values: "None", "Webhook"']);
});

test('served versions come preferred first; printer columns format dates as ages', (t) => {
  t.deepEqual(['v1beta1', 'v1', 'v2alpha1', 'v2', 'foo'].sort(versionPriority), ['v2', 'v1', 'v1beta1', 'v2alpha1', 'foo']);
  const defs = crdDefs({ metadata: { name: 'a.b.c' }, spec: { group: 'b.c', scope: 'Cluster', names: { plural: 'a', kind: 'A' }, versions: [{ name: 'v1beta1', served: true, storage: false }, { name: 'v1', served: true, storage: true }, { name: 'v0', served: false, storage: false }] } });
  t.deepEqual(defs.map((d) => d.version), ['v1', 'v1beta1']);
  const printer = printerOf([{ name: 'Size', type: 'integer', jsonPath: '.spec.items[1].size' }, { name: 'Made', type: 'date', jsonPath: '.metadata.creationTimestamp' }]);
  const cells = printer.cells({ metadata: { name: 'x', creationTimestamp: new Date(Date.now() - 90_000).toISOString() }, spec: { items: [{}, { size: 4 }] } });
  t.deepEqual(cells, ['x', 4, '90s']);
});
