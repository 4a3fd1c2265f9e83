import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kubectl, startServer, tempDir } from './server-fixture.ts';

/**
 * Issue 17 (CRDs): `x-kubernetes-validations` CEL rules through kubectl 1.32
 * against `ferry apiserver`: a rule failure shows kube's wording, an
 * immutable field (`self == oldSelf`) refuses an update but not the create,
 * status rules apply on /status writes, a rule that does not compile
 * refuses the CRD, and a hostile rule over a large list ends in a 422
 * within the request budget instead of holding the apiserver.
 */
const bin = ['/usr/lib/google-cloud-sdk/bin/kubectl.1.32', '/usr/bin/kubectl'].find((p) => existsSync(p))!;

const crd = (extraRule = ''): string => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: self.minReplicas <= self.maxReplicas
              message: minReplicas must not exceed maxReplicas${extraRule}
            - rule: "!has(self.items) || self.items.all(a, self.items.all(b, self.items.all(c, a + b + c != '')))"
              messageExpression: "'items must not be empty, got ' + string(size(self.items))"
            properties:
              name:
                type: string
                x-kubernetes-validations:
                - rule: self == oldSelf
                  message: Value is immutable
              minReplicas: {type: integer}
              maxReplicas: {type: integer}
              items: {type: array, items: {type: string}}
          status:
            type: object
            x-kubernetes-validations:
            - rule: self.ready >= 0
              reason: FieldValueForbidden
              message: ready may not be negative
            properties:
              ready: {type: integer}
`;

const widget = (spec: string): string => `apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: ${spec}\n`;

test(`kubectl 1.32: CRD validation rules refuse invalid objects with kube's messages; transition rules refuse changing an immutable field`, async (t) => {
  const { url } = await startServer(t);
  const dir = await tempDir(t);
  const run = (args: string[], input?: string) => kubectl(bin, url, join(dir, 'cache'), args, input);

  const refused = await run(['apply', '-f', '-'], crd('\n            - rule: "self.minReplicas >"'));
  t.not(refused.code, 0);
  t.regex(refused.stderr, /The CustomResourceDefinition "widgets\.example\.com" is invalid: spec\.versions\[0\]\.schema\.openAPIV3Schema\.properties\[spec\]\.x-kubernetes-validations\[1\]\.rule: Invalid value: apiextensions\.ValidationRule\{Rule:"self\.minReplicas >".*compilation failed: ERROR: <input>:1:19: Unexpected token: EOF/);

  const created = await run(['apply', '-f', '-'], crd());
  t.is(created.code, 0, created.stderr);
  t.is((await run(['wait', '--for', 'condition=established', 'crd/widgets.example.com', '--timeout=5s'])).code, 0);

  const invalid = await run(['apply', '-f', '-'], widget('{name: a, minReplicas: 3, maxReplicas: 1}'));
  t.not(invalid.code, 0);
  t.regex(invalid.stderr, /The Widget "w" is invalid: spec: Invalid value: "object": minReplicas must not exceed maxReplicas/);

  // The transition rule is skipped on create, and refuses the change on update.
  const ok = await run(['apply', '-f', '-'], widget('{name: a, minReplicas: 1, maxReplicas: 3, items: [x]}'));
  t.is(ok.code, 0, ok.stderr);
  const renamed = await run(['apply', '-f', '-'], widget('{name: b, minReplicas: 1, maxReplicas: 3, items: [x]}'));
  t.not(renamed.code, 0);
  t.regex(renamed.stderr, /The Widget "w" is invalid: spec\.name: Invalid value: "string": Value is immutable/);
  const rescaled = await run(['apply', '-f', '-'], widget('{name: a, minReplicas: 2, maxReplicas: 3, items: [x]}'));
  t.is(rescaled.code, 0, rescaled.stderr);
  t.is((await run(['get', 'widget', 'w', '-o', 'jsonpath={.spec.name} {.spec.minReplicas}'])).stdout, 'a 2');

  // messageExpression is evaluated for the message.
  const empty = await run(['apply', '-f', '-'], widget("{name: a, minReplicas: 2, maxReplicas: 3, items: ['']}"));
  t.regex(empty.stderr, /spec: Invalid value: "object": items must not be empty, got 1/);

  // Status rules apply on /status writes, with the rule's reason.
  const negative = await run(['patch', 'widget', 'w', '--subresource=status', '--type=merge', '-p', '{"status":{"ready":-1}}']);
  t.not(negative.code, 0);
  t.regex(negative.stderr, /The Widget "w" is invalid: status: Forbidden: ready may not be negative/);
  const ready = await run(['patch', 'widget', 'w', '--subresource=status', '--type=merge', '-p', '{"status":{"ready":2}}']);
  t.is(ready.code, 0, ready.stderr);

  // A rule nesting loops over a large list runs out of the request's budget: a quick 422, and the server still answers.
  const items = Array.from({ length: 3000 }, (_, i) => `i${i}`).join(', ');
  const started = Date.now();
  const hostile = await run(['apply', '-f', '-'], widget(`{name: a, minReplicas: 2, maxReplicas: 3, items: [${items}]}`));
  const took = Date.now() - started;
  t.not(hostile.code, 0);
  t.regex(hostile.stderr, /spec: Invalid value: "object": validation failed due to running out of cost budget, no further validation rules will be run/);
  t.true(took < 10_000, `took ${took} ms`);
  t.is((await run(['get', 'widget', 'w', '-o', 'jsonpath={.status.ready}'])).stdout, '2');
});
