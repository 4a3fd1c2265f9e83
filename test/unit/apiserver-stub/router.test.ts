import test from 'ava';
import { route } from '../../../src/apiserver-stub/router.ts';
import { resourceDefs } from '../../../src/apiserver-stub/resources.ts';

const defs = resourceDefs({});
const lookup = (g: string, v: string, r: string) => defs.find((d) => d.group === g && d.version === v && d.resource === r);
const served = (g: string, v: string) => defs.some((d) => d.group === g && d.version === v);

const cases: Array<[string, string]> = [
  ['/api', 'discovery api'],
  ['/apis', 'discovery apis'],
  ['/apis/apps', 'discovery group apps'],
  ['/api/v1', 'discovery resources'],
  ['/apis/discovery.k8s.io/v1', 'discovery resources discovery.k8s.io'],
  ['/version', 'version'],
  ['/readyz', 'health'],
  ['/api/v1/namespaces', 'resource namespaces'],
  ['/api/v1/namespaces/demo', 'resource namespaces name=demo'],
  ['/api/v1/namespaces/demo/status', 'resource namespaces name=demo sub=status'],
  ['/api/v1/namespaces/demo/services', 'resource services ns=demo'],
  ['/api/v1/namespaces/demo/services/web', 'resource services ns=demo name=web'],
  ['/api/v1/namespaces/demo/pods/p/binding', 'resource pods ns=demo name=p sub=binding'],
  ['/api/v1/namespaces/demo/bindings', 'bindings ns=demo'],
  ['/api/v1/services', 'resource services'],
  ['/apis/apps/v1/namespaces/demo/deployments/web/scale', 'resource deployments ns=demo name=web sub=scale'],
  ['/api/v1/namespaces/demo/services/web/scale', 'unknown'],
  ['/api/v1/namespaces/demo/nodes/n1', 'unknown'],
  ['/api/v2/pods', 'unknown'],
  ['/apis/apps/v1/widgets', 'unknown'],
  ['/api/v1/namespaces/demo/services/a/b/c', 'unknown'],
  ['/%zz', 'unknown'],
];

for (const [path, want] of cases) {
  test(`route ${path}`, (t) => {
    const r = route(path, lookup, served);
    let got: string = r.kind;
    if (r.kind === 'discovery') got = `discovery ${r.doc}${r.group ? ` ${r.group}` : ''}`;
    if (r.kind === 'resource') got = ['resource', r.def.resource, r.namespace && `ns=${r.namespace}`, r.name && `name=${r.name}`, r.subresource && `sub=${r.subresource}`].filter(Boolean).join(' ');
    if (r.kind === 'bindings') got = `bindings ns=${r.namespace}`;
    t.is(got, want);
  });
}
