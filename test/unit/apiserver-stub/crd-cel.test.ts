import test from 'ava';
import { validateRules } from '../../../src/apiserver-stub/crd/cel-validate.ts';
import { ruleProblems, type ValidationRule } from '../../../src/apiserver-stub/crd/cel-rules.ts';
import { toJavaScriptPattern } from '../../../src/apiserver-stub/crd/cel-rewrite.ts';
import { crdDefs } from '../../../src/apiserver-stub/crd/defs.ts';
import { crdStrategy } from '../../../src/apiserver-stub/crd/crd-strategy.ts';
import type { JsonSchemaProps } from '../../../src/apiserver-stub/crd/schema.ts';

/** A schema with the given rules on spec (whose fields cover the CEL types kube binds). */
function specWith(rules: ValidationRule[], extra: Partial<JsonSchemaProps> = {}): JsonSchemaProps {
  return {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        'x-kubernetes-validations': rules,
        properties: {
          min: { type: 'integer' },
          max: { type: 'integer' },
          ratio: { type: 'number' },
          name: { type: 'string' },
          on: { type: 'boolean' },
          port: { 'x-kubernetes-int-or-string': true },
          tags: { type: 'array', items: { type: 'string' } },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          at: { type: 'string', format: 'date-time' },
          timeout: { type: 'string', format: 'duration' },
          data: { type: 'string', format: 'byte' },
        },
        ...extra,
      },
    },
  };
}

const shown = (schema: JsonSchemaProps, obj: unknown, old?: unknown): string[] => validateRules(schema, obj, old).map((c) => `${c.field}: ${c.message}`);

const evaluated: Array<[string, ValidationRule, Record<string, unknown>, string[]]> = [
  ['comparison passes', { rule: 'self.min <= self.max' }, { min: 1, max: 2 }, []],
  ['comparison fails with the default message', { rule: 'self.min <= self.max' }, { min: 3, max: 2 }, ['spec: Invalid value: "object": failed rule: self.min <= self.max']],
  ['message replaces the default', { rule: 'self.min <= self.max', message: 'min must not exceed max' }, { min: 3, max: 2 }, ['spec: Invalid value: "object": min must not exceed max']],
  ['has() on an absent field', { rule: 'has(self.name)', message: 'name is required' }, {}, ['spec: Invalid value: "object": name is required']],
  ['string functions', { rule: 'self.name.startsWith("a") && self.name.size() == 3 && self.name.matches("^[a-z]+$")' }, { name: 'abc' }, []],
  ['all() macro over a list', { rule: 'self.tags.all(t, t.size() <= 3)' }, { tags: ['a', 'long'] }, ['spec: Invalid value: "object": failed rule: self.tags.all(t, t.size() <= 3)']],
  ['exists, map, filter', { rule: 'self.tags.exists(t, t == "b") && self.tags.map(t, t + "!").filter(t, t == "b!").size() == 1' }, { tags: ['a', 'b'] }, []],
  ['map keys and values', { rule: 'self.labels.all(k, self.labels[k] != "")' }, { labels: { a: 'x', b: '' } }, ['spec: Invalid value: "object": failed rule: self.labels.all(k, self.labels[k] != "")']],
  ['integers are int, numbers double', { rule: 'self.min + 1 == 2 && self.ratio > 0.5 && self.on' }, { min: 1, ratio: 1, on: true }, []],
  ['formats: date-time as timestamp, duration, byte as bytes', { rule: 'self.at > timestamp("2020-01-01T00:00:00Z") && self.timeout < duration("1h") && self.data.size() == 3' }, { at: '2024-05-01T10:00:00Z', timeout: '90s', data: 'YWJj' }, []],
  ['int-or-string', { rule: 'type(self.port) == int ? self.port > 0 : self.port.size() > 0' }, { port: 8080 }, []],
  ['a missing key is an evaluation error', { rule: 'self.name == "x"' }, {}, ['spec: Invalid value: "object": no such key: name evaluating rule: self.name == "x"']],
  ['an overload missing at run time (int-or-string)', { rule: 'self.port > 0' }, { port: 'http' }, ['spec: Invalid value: "object": \'no such overload\': call arguments did not match a supported operator, function or macro signature for rule: self.port > 0']],
  ['messageExpression', { rule: 'self.min <= self.max', messageExpression: '"min " + string(self.min) + " exceeds max " + string(self.max)' }, { min: 3, max: 2 }, ['spec: Invalid value: "object": min 3 exceeds max 2']],
  ['a failing messageExpression falls back to message', { rule: 'false', message: 'plain', messageExpression: 'self.nope' }, {}, ['spec: Invalid value: "object": plain']],
  ['fieldPath is appended to the path', { rule: 'self.min >= 0', fieldPath: '.min' }, { min: -1 }, ['spec.min: Invalid value: "object": failed rule: self.min >= 0']],
  ['fieldPath into a map', { rule: 'false', fieldPath: ".labels['a.b']" }, { labels: {} }, ['spec.labels[a.b]: Invalid value: "object": failed rule: false']],
  ['reason Forbidden', { rule: 'false', message: 'no', reason: 'FieldValueForbidden' }, {}, ['spec: Forbidden: no']],
  ['reason Required', { rule: 'false', message: 'need it', reason: 'FieldValueRequired' }, {}, ['spec: Required value: need it']],
  ['reason Duplicate', { rule: 'false', reason: 'FieldValueDuplicate' }, {}, ['spec: Duplicate value: "object"']],
  ['kube library: list functions', { rule: '[1, 2, 3].isSorted() && [1, 2, 3].sum() == 6 && [3, 1].min() == 1 && [3, 1].max() == 3 && ["a", "b"].indexOf("b") == 1' }, {}, []],
  ['kube library: isIP and isCIDR', { rule: 'isIP("10.0.0.1") && isIP("fd00::1") && !isIP("example.com") && !isIP("::ffff:1.2.3.4") && isCIDR("10.0.0.0/8") && !isCIDR("10.0.0.0/33") && !isCIDR("10.0.0.0")' }, {}, []],
  ['RE2 (?i) flag in a literal pattern', { rule: 'self.name.matches("^(?i)[a-z_]+(\\\\.[a-z]+)*$") && !self.name.matches("^(?i)x$")' }, { name: 'Foo.BAR' }, []],
  ['kube library: format', { rule: '!format.dns1123Label().validate("ok-1").hasValue() && format.dns1123Label().validate("Bad_").value().size() > 0 && format.named("uuid").hasValue() && !format.named("nope").hasValue() && !format.dns1123SubdomainPrefix().validate("web-").hasValue()' }, {}, []],
  ['a pattern built from the object is checked for what RE2 refuses', { rule: 'self.tags.all(p, !self.name.matches(p))' }, { name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab', tags: ['^(a*)*\\1$'] }, ['spec: Invalid value: "object": invalid regular expression: invalid escape sequence: backreferences are not supported (RE2) evaluating rule: self.tags.all(p, !self.name.matches(p))']],
  ['kube library: string functions', { rule: '"abc".charAt(1) == "b" && "a-b-c".replace("-", "+") == "a+b+c" && "abc".reverse() == "cba" && "x12y3".findAll("[0-9]+") == ["12", "3"]' }, {}, []],
];

for (const [name, rule, spec, want] of evaluated) {
  test(`rule evaluation: ${name}`, (t) => {
    t.deepEqual(shown(specWith([rule]), { spec }), want);
  });
}

test('has() on a field of an indexed item, as the Gateway API rules write it', (t) => {
  const schema: JsonSchemaProps = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        'x-kubernetes-validations': [{ rule: 'self.rules.all(r, !has(r.paths) || size(r.paths) > 0) && (!has(self.rules[0].paths) || self.rules[0].paths[0].startsWith("/"))', message: 'paths must be absolute' }],
        properties: { rules: { type: 'array', items: { type: 'object', properties: { paths: { type: 'array', items: { type: 'string' } } } } } },
      },
    },
  };
  t.deepEqual(shown(schema, { spec: { rules: [{}] } }), []);
  t.deepEqual(shown(schema, { spec: { rules: [{ paths: ['/a'] }] } }), []);
  t.deepEqual(shown(schema, { spec: { rules: [{ paths: ['a'] }] } }), ['spec: Invalid value: "object": paths must be absolute']);
});

const patterns: Array<[string, string]> = [
  ['^(?i)abc$', '^[aA][bB][cC]$'],
  ['(?i)[a-z_0-9]+', '[a-z_0-9A-Z]+'],
  ['(?i)[^A-Fx]', '[^A-Fxa-fX]'],
  ['(x(?i)a)b', '(x[aA])b'],
  ['(?i)\\.n\\d', '\\.[nN]\\d'],
  ['(?P<name>a)', '(?<name>a)'],
];

for (const [re2, js] of patterns) {
  test(`RE2 pattern ${re2} in JavaScript is ${js}`, (t) => {
    t.is(toJavaScriptPattern(re2), js);
  });
}

test('rules at nested nodes bind self to that node: list items, map values, the root with its metadata name', (t) => {
  const schema: JsonSchemaProps = {
    type: 'object',
    'x-kubernetes-validations': [{ rule: 'self.metadata.name.startsWith("ok-") && self.kind == "W"', message: 'bad root' }],
    properties: {
      spec: {
        type: 'object',
        properties: {
          ports: { type: 'array', items: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self < 65536', message: 'port too high' }] } },
          env: { type: 'object', additionalProperties: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self != ""', message: 'empty' }] } },
        },
      },
    },
  };
  const obj = { apiVersion: 'x/v1', kind: 'W', metadata: { name: 'n', uid: 'u' }, spec: { ports: [80, 70000], env: { A: '', B: 'b' } } };
  t.deepEqual(shown(schema, obj), [
    '<nil>: Invalid value: "object": bad root',
    'spec.ports[1]: Invalid value: "integer": port too high',
    'spec.env[A]: Invalid value: "string": empty',
  ]);
});

const immutable = specWith([{ rule: 'self.name == oldSelf.name', message: 'Value is immutable', fieldPath: '.name' }]);

test('transition rules run only on update, where an old value exists', (t) => {
  t.deepEqual(shown(immutable, { spec: { name: 'a' } }), [], 'skipped on create');
  t.deepEqual(shown(immutable, { spec: { name: 'a' } }, { spec: { name: 'a' } }), []);
  t.deepEqual(shown(immutable, { spec: { name: 'b' } }, { spec: { name: 'a' } }), ['spec.name: Invalid value: "object": Value is immutable']);
  t.deepEqual(shown(immutable, { spec: { name: 'b' } }, {}), [], 'skipped where the old object had no spec');
  t.deepEqual(shown(immutable, { spec: { name: 'b' } }, { spec: null }), [], 'a null old value is none');
});

test('optionalOldSelf makes oldSelf an optional, so the rule runs on create too', (t) => {
  const schema = specWith([{ rule: '!oldSelf.hasValue() ? self.min == 0 : self.min >= oldSelf.value().min', message: 'starts at 0 and only grows', optionalOldSelf: true }]);
  t.deepEqual(shown(schema, { spec: { min: 1 } }), ['spec: Invalid value: "object": starts at 0 and only grows']);
  t.deepEqual(shown(schema, { spec: { min: 0 } }), []);
  t.deepEqual(shown(schema, { spec: { min: 2 } }, { spec: { min: 1 } }), []);
  t.deepEqual(shown(schema, { spec: { min: 0 } }, { spec: { min: 1 } }), ['spec: Invalid value: "object": starts at 0 and only grows']);
});

test('items of a list-type map correlate with old items by key; other list items have no oldSelf', (t) => {
  const item = (listType: string): JsonSchemaProps => ({
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          items: {
            type: 'array',
            'x-kubernetes-list-type': listType,
            ...(listType === 'map' ? { 'x-kubernetes-list-map-keys': ['name'] } : {}),
            items: { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.size == oldSelf.size', message: 'size is immutable' }], properties: { name: { type: 'string' }, size: { type: 'integer' } } },
          },
        },
      },
    },
  });
  const old = { spec: { items: [{ name: 'a', size: 1 }, { name: 'b', size: 2 }] } };
  const now = { spec: { items: [{ name: 'b', size: 2 }, { name: 'a', size: 5 }, { name: 'c', size: 9 }] } };
  t.deepEqual(shown(item('map'), now, old), ['spec.items[1]: Invalid value: "object": size is immutable']);
  t.deepEqual(shown(item('atomic'), now, old), []);
});

test('ratcheting: a failing rule on an unchanged value is not an error (a status write with an old spec)', (t) => {
  const schema = specWith([{ rule: 'self.min <= self.max' }], {});
  schema.properties!.status = { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.ready <= 3', message: 'too many ready' }], properties: { ready: { type: 'integer' } } };
  const old = { spec: { min: 5, max: 1 }, status: { ready: 1 } };
  t.deepEqual(shown(schema, { spec: { min: 5, max: 1 }, status: { ready: 2 } }, old), []);
  t.deepEqual(shown(schema, { spec: { min: 5, max: 1 }, status: { ready: 4 } }, old), ['status: Invalid value: "object": too many ready']);
  t.deepEqual(shown(schema, { spec: { min: 6, max: 1 }, status: { ready: 1 } }, old), ['spec: Invalid value: "object": failed rule: self.min <= self.max']);
});

test('a hostile rule runs out of the request budget and is refused quickly', (t) => {
  const schema = specWith([{ rule: 'self.tags.all(a, self.tags.all(b, self.tags.all(c, a + b + c != "")))' }]);
  const started = Date.now();
  const causes = shown(schema, { spec: { tags: Array.from({ length: 2000 }, (_, i) => `t${i}`) } });
  t.true(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  t.deepEqual(causes, ['spec: Invalid value: "object": validation failed due to running out of cost budget, no further validation rules will be run']);
  t.deepEqual(validateRules(schema, { spec: { tags: ['a', 'b'] } }), [], 'the same rule over a short list passes');
  t.deepEqual(validateRules(schema, { spec: { tags: ['a', 'b'] } }, undefined, { units: 5, millis: 1000 }).map((c) => c.field), ['spec'], 'the budget is per request');
});

test('a regular expression that backtracks catastrophically runs in linear time', (t) => {
  const schema = specWith([{ rule: 'self.name.matches("^(a+)+$")' }]);
  const started = Date.now();
  t.deepEqual(shown(schema, { spec: { name: `${'a'.repeat(40)}!` } }), ['spec: Invalid value: "object": failed rule: self.name.matches("^(a+)+$")']);
  t.true(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
});

const doubling = (v: string): string => ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].reduceRight((body, name, i, names) => `cel.bind(${name}, ${i === 0 ? `${v} + ${v}` : `${names[i - 1]} + ${names[i - 1]}`}, ${body})`, 'k.size() > 0');

const expensive: Array<[string, string, Record<string, unknown>]> = [
  ['lists doubled at every cel.bind', doubling('self.tags'), { tags: Array.from({ length: 1000 }, (_, i) => `t${i}`) }],
  ['strings doubled at every cel.bind', doubling('self.name'), { name: 'x'.repeat(100_000) }],
  ['a concatenation kept at every map step', 'self.tags.map(t, self.tags + self.tags).size() > 0', { tags: Array.from({ length: 20_000 }, (_, i) => `${i}`) }],
  ['a scan of the list at every step', 'self.tags.all(t, t in self.tags)', { tags: Array.from({ length: 50_000 }, (_, i) => `${i}`) }],
  ['a comparison of the list at every step', 'self.tags.all(t, self.tags != [])', { tags: Array.from({ length: 50_000 }, (_, i) => `${i}`) }],
  ['a scan of a long string at every step', 'self.tags.all(t, !self.name.contains(t))', { name: 'y'.repeat(1_000_000), tags: Array.from({ length: 100_000 }, () => 'x') }],
  ['a replace that multiplies a string', 'self.name.replace("", self.name).size() > 0', { name: 'x'.repeat(100_000) }],
];

for (const [name, rule, spec] of expensive) {
  test(`cost beyond the size of the rule is charged: ${name}`, (t) => {
    const started = Date.now();
    t.deepEqual(shown(specWith([{ rule }]), { spec }), ['spec: Invalid value: "object": validation failed due to running out of cost budget, no further validation rules will be run']);
    t.true(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  });
}

const problems: Array<[string, ValidationRule, string[]]> = [
  ['a syntax error', { rule: 'self.x ==' }, ['s.x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:"self.x ==", Message:"", MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: <input>:1:10: Unexpected token: EOF']],
  ['an unknown variable', { rule: 'foo > 1' }, [/compilation failed: ERROR: <input>:1:1: Unknown variable: foo$/.source]],
  ['a non-bool rule', { rule: '"x"' }, [/compilation failed: cel expression must evaluate to a bool$/.source]],
  ['an empty rule', { rule: ' ' }, ['s.x-kubernetes-validations[0].rule: Required value']],
  ['a too long rule', { rule: `true${' && true'.repeat(600)}` }, ['s.x-kubernetes-validations[0].rule: Too long: may not be more than 4096 bytes']],
  ['an unknown reason', { rule: 'true', reason: 'Nope' }, ['s.x-kubernetes-validations[0].reason: Unsupported value: "Nope": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"']],
  ['a fieldPath not in the schema', { rule: 'true', fieldPath: '.nope' }, ['s.x-kubernetes-validations[0].fieldPath: Invalid value: ".nope": fieldPath must be a valid path: does not refer to a valid field']],
  ['a messageExpression that does not compile', { rule: 'true', messageExpression: '1 +' }, [/messageExpression: Invalid value: "1 \+": messageExpression compilation failed: ERROR/.source]],
  ['a line break in message', { rule: 'true', message: 'a\nb' }, ['s.x-kubernetes-validations[0].message: Invalid value: "a\\nb": message must not contain line breaks']],
  ['optionalOldSelf without oldSelf', { rule: 'true', optionalOldSelf: true }, ['s.x-kubernetes-validations[0].optionalOldSelf: Invalid value: true: may not be set if rule does not use oldSelf']],
  ['a backreference (RE2 has none)', { rule: 'self.a.matches("(a+)+\\\\1")' }, [/compilation failed: ERROR: <input>:1:16: invalid matches argument: invalid escape sequence: backreferences are not supported \(RE2\)$/.source]],
  ['a lookahead (RE2 has none)', { rule: 'self.a.find("x(?=y)") == ""' }, [/invalid find argument: invalid or unsupported Perl syntax: lookarounds are not supported \(RE2\)$/.source]],
  ['a pattern JavaScript cannot parse', { rule: 'self.a.matches("(")' }, [/invalid matches argument: Invalid regular expression: \/\(\/: Unterminated group$/.source]],
  ['a good rule', { rule: 'self.a == oldSelf.a', fieldPath: '.a', messageExpression: '"a is " + self.a', reason: 'FieldValueForbidden' }, []],
];

for (const [name, rule, want] of problems) {
  test(`CRD rule check: ${name}`, (t) => {
    const got = ruleProblems({ type: 'object', 'x-kubernetes-validations': [rule], properties: { a: { type: 'string' } } }, 's').map((c) => `${c.field}: ${c.message}`);
    t.is(got.length, want.length, got.join('\n'));
    want.forEach((w, i) => (w.startsWith('s.') ? t.is(got[i], w) : t.regex(got[i]!, new RegExp(w))));
  });
}

test('a transition rule under the items of a list that does not correlate them is refused', (t) => {
  const items = (listType: string): JsonSchemaProps => ({ type: 'array', 'x-kubernetes-list-type': listType, 'x-kubernetes-list-map-keys': ['k'], items: { type: 'object', 'x-kubernetes-validations': [{ rule: 'self == oldSelf' }], properties: { k: { type: 'string' } } } });
  t.deepEqual(ruleProblems({ type: 'object', properties: { a: items('atomic') } }, 's').map((c) => `${c.field}: ${c.message}`), [
    's.properties[a].items.x-kubernetes-validations[0].rule: Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema within s.properties[a].items',
  ]);
  t.deepEqual(ruleProblems({ type: 'object', properties: { a: items('map') } }, 's'), []);
});

test('fields go by their CEL names: reserved words and punctuation escaped as kube escapes them', (t) => {
  const schema: JsonSchemaProps = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        'x-kubernetes-validations': [{ rule: 'self.__namespace__ == "a" && self.max__dash__surge == 1 && self.refs.all(r, has(r.__namespace__))', message: 'escaped' }],
        properties: { namespace: { type: 'string' }, 'max-surge': { type: 'integer' }, refs: { type: 'array', items: { type: 'object', properties: { namespace: { type: 'string' } } } } },
      },
    },
  };
  t.deepEqual(ruleProblems(schema, 's'), []);
  t.deepEqual(shown(schema, { spec: { namespace: 'a', 'max-surge': 1, refs: [{ namespace: 'x' }] } }), []);
  t.deepEqual(shown(schema, { spec: { namespace: 'a', 'max-surge': 1, refs: [{}] } }), ['spec: Invalid value: "object": escaped']);
});

const declaredFields: Array<[string, string, string | undefined]> = [
  ['a declared field', 'self.spec.min > 0', undefined],
  ['an undeclared field', 'self.spec.nope > 0', "undefined field 'nope'"],
  ['an undeclared field in has()', 'has(self.spec.nope)', "undefined field 'nope'"],
  ['an undeclared field of a macro variable over list items', 'self.spec.items.all(i, i.size > 0 && i.weight > 0)', "undefined field 'weight'"],
  ['a map value of any key', 'self.spec.labels.x == "y" && self.spec.labels.all(k, k.size() > 0)', undefined],
  ['the root metadata name', 'self.metadata.name.size() < 10 && self.kind == "W"', undefined],
  ['root metadata other than name and generateName', 'has(self.metadata.labels)', "undefined field 'labels'"],
  ['preserved unknown fields', 'has(self.spec.free.anything)', undefined],
  ['oldSelf as self', 'self.spec.min == oldSelf.spec.nope', "undefined field 'nope'"],
];

for (const [name, rule, problem] of declaredFields) {
  test(`CRD rule check of selected fields: ${name}`, (t) => {
    const schema: JsonSchemaProps = {
      type: 'object',
      'x-kubernetes-validations': [{ rule }],
      properties: {
        spec: {
          type: 'object',
          properties: {
            min: { type: 'integer' },
            items: { type: 'array', items: { type: 'object', properties: { size: { type: 'integer' } } } },
            labels: { type: 'object', additionalProperties: { type: 'string' } },
            free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      },
    };
    const got = ruleProblems(schema, 's').map((c) => c.message);
    if (problem === undefined) t.deepEqual(got, []);
    else t.regex(got[0] ?? '', new RegExp(`compilation failed: ERROR: <input>:1:\\d+: ${problem}$`));
  });
}

test('too many rules in one schema are refused', (t) => {
  const rules = Array.from({ length: 300 }, () => ({ rule: 'true' }));
  t.deepEqual(ruleProblems({ type: 'object', 'x-kubernetes-validations': rules }, 's').map((c) => c.field), ['s.x-kubernetes-validations[256]']);
});

const crd = (rules: ValidationRule[]) => ({
  metadata: { name: 'widgets.example.com' },
  spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: specWith(rules) } }] },
});

test('the CRD strategy names a rule that does not compile; a served CRD runs its rules through its strategy', (t) => {
  const bad = crd([{ rule: 'self.min <' }]);
  crdStrategy.prepareForCreate!(bad);
  t.deepEqual(crdStrategy.validate!(bad, undefined).map((c) => c.field), ['spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule']);

  const good = crd([{ rule: 'self.min <= self.max', message: 'min must not exceed max' }]);
  crdStrategy.prepareForCreate!(good);
  t.deepEqual(crdStrategy.validate!(good, undefined), []);
  const strategy = crdDefs(good)[0]!.strategy;
  const widget = (spec: unknown) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec }) as never;
  t.deepEqual(strategy.validate!(widget({ min: 3, max: 1 }), undefined).map((c) => `${c.field}: ${c.message}`), ['spec: Invalid value: "object": min must not exceed max']);
  t.deepEqual(strategy.validate!(widget({ min: 1, max: 3 }), undefined), []);
  // A wrongly typed field stops the rules, which assume the schema's types (kube's blocking errors).
  t.deepEqual(strategy.validate!(widget({ min: 'x', max: 1 }), undefined).map((c) => c.field), ['spec.min', '<nil>']);
});
