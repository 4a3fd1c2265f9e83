import test from 'ava';
import { formatLabelSelector, fromLabelSelector, matchesLabels, parseLabelSelector, LabelSelectorParseError } from '../../../src/kube/labels.ts';
import { matchesFields, parseFieldSelector, FieldSelectorParseError } from '../../../src/kube/fields.ts';

const labels = { app: 'web', tier: 'front', 'example.com/owner': 'me', n: '5' };

const cases: Array<[selector: string, matches: boolean]> = [
  ['', true],
  ['app', true],
  ['!app', false],
  ['!missing', true],
  ['app=web', true],
  ['app==web', true],
  ['app!=web', false],
  ['missing!=x', true],
  ['app in (web, api)', true],
  ['app in (api)', false],
  ['app notin (api,db)', true],
  ['missing notin (a)', true],
  ['missing in (a)', false],
  ['app=web,tier=front', true],
  ['app=web,tier=back', false],
  ['example.com/owner=me', true],
  ['n>4', true],
  ['n<5', false],
  ['missing=', false],
  ['app,!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless', true],
];

for (const [selector, expected] of cases) {
  test(`label selector ${JSON.stringify(selector)} ${expected ? 'matches' : 'does not match'}`, (t) => {
    t.is(matchesLabels(parseLabelSelector(selector), labels), expected);
  });
}

for (const bad of ['a in', 'a in (b', '(a)', 'a,', ',', 'a=b=c', 'in in (x)', 'a in (b c)', 'bad key=v', 'k=bad value!', 'a>b', 'a/b/c=d', '!=x', `${'x'.repeat(64)}`]) {
  test(`label selector ${JSON.stringify(bad)} is rejected`, (t) => {
    t.throws(() => parseLabelSelector(bad), { instanceOf: LabelSelectorParseError });
  });
}

test('metav1.LabelSelector converts and formats', (t) => {
  const reqs = fromLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'DoesNotExist' }] });
  t.is(formatLabelSelector(reqs), 'app=web,tier in (a,b),!x');
  t.deepEqual(parseLabelSelector(formatLabelSelector(reqs)), reqs);
});

test('field selectors: =, ==, !=, escapes', (t) => {
  const fields: Record<string, string> = { 'metadata.name': 'a,b', 'spec.nodeName': '', 'status.phase': 'Running' };
  const of = (f: string) => fields[f] ?? '';
  t.true(matchesFields(parseFieldSelector('metadata.name=a\\,b'), of));
  t.true(matchesFields(parseFieldSelector('spec.nodeName=,status.phase==Running'), of));
  t.false(matchesFields(parseFieldSelector('status.phase!=Running'), of));
  t.deepEqual(parseFieldSelector(''), []);
  for (const bad of ['nofield', '=x', 'a\\q=b', 'metadata.name=a=b']) t.throws(() => parseFieldSelector(bad), { instanceOf: FieldSelectorParseError }, bad);
});
