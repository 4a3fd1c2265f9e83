import test from 'ava';
import { changedFields } from '../../../src/apiserver-stub/managed-fields/diff.ts';
import { decodePath, fieldSetOf, scopeOf, valueAt, type Scope } from '../../../src/apiserver-stub/managed-fields/fieldset.ts';
import { resourceDefs } from '../../../src/apiserver-stub/resources.ts';
import type { Strategy } from '../../../src/apiserver-stub/resource.ts';
import type { KubeObject } from '../../../src/kube/types.ts';

/**
 * changedFields walks both objects at once; it must agree with the
 * definition (both field sets built, every shared path's values compared,
 * a keyed item itself changed only when new) on every pair of objects.
 */
function definition(scope: Scope, old: KubeObject | undefined, next: KubeObject): { changed: string[]; removed: string[] } {
  const nextSet = fieldSetOf(scope, next);
  const oldSet = old ? fieldSetOf(scope, old) : new Set<string>();
  const changed = [...nextSet].filter((p) => {
    if (!oldSet.has(p)) return true;
    const path = decodePath(p);
    return !path[path.length - 1]?.startsWith('k:') && JSON.stringify(valueAt(next, path)) !== JSON.stringify(valueAt(old, path));
  });
  return { changed: changed.sort(), removed: [...oldSet].filter((p) => !nextSet.has(p)).sort() };
}

const defs = resourceDefs({} as Strategy);
const byKind = (kind: string) => defs.find((d) => d.kind === kind)!;

/** A small seeded generator (mulberry32), so a failure names its seed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function deployment(r: () => number): KubeObject {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const containers = Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({
    name: pick(['web', 'side', 'log', 'web']),
    image: pick(['nginx:1', 'nginx:2']),
    ...(r() < 0.5 ? { ports: Array.from({ length: Math.floor(r() * 3) }, () => ({ containerPort: pick([80, 443, 80]), ...(r() < 0.3 ? { protocol: pick(['TCP', 'UDP']) } : {}) })) } : {}),
    ...(r() < 0.4 ? { args: pick([[], ['-v'], ['-v', '-x']]) } : {}),
    ...(r() < 0.3 ? { resources: pick([{}, { limits: { cpu: '1' } }]) } : {}),
  }));
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', resourceVersion: String(Math.floor(r() * 9)), ...(r() < 0.7 ? { labels: pick([{}, { app: 'web' }, { app: 'web', tier: pick(['a', 'b']) }]) } : {}), ...(r() < 0.3 ? { finalizers: pick([[], ['a/b'], ['a/b', 'c/d']]) } : {}) },
    spec: {
      ...(r() < 0.8 ? { replicas: pick([1, 2, null]) } : {}),
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers, ...(r() < 0.3 ? { nodeSelector: pick([{}, { disk: 'ssd' }]) } : {}), ...(r() < 0.3 ? { tolerations: pick([[], [{ key: 'k' }]]) } : {}) } },
      ...(r() < 0.2 ? { paused: pick([true, false, 'yes']) } : {}),
      ...(r() < 0.2 ? { strategy: pick([{}, { type: 'Recreate' }, 'odd']) } : {}),
    },
    status: { replicas: pick([0, 1, 2]), ...(r() < 0.5 ? { conditions: pick([[], [{ type: 'Available', status: 'True' }], [{ type: 'Available', status: 'False' }, { type: 'Progressing', status: 'True' }]]) } : {}) },
  } as KubeObject;
}

function service(r: () => number): KubeObject {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'svc', uid: pick(['u1', 'u2']), ...(r() < 0.5 ? { annotations: pick([{ a: '1' }, { a: '2', b: '3' }]) } : {}) },
    spec: {
      selector: pick([{ app: 'a' }, { app: 'b' }, {}]),
      ports: Array.from({ length: Math.floor(r() * 3) }, () => ({ port: pick([53, 80]), ...(r() < 0.5 ? { protocol: pick(['TCP', 'UDP']) } : {}), ...(r() < 0.5 ? { name: pick(['dns', 'http']) } : {}) })),
      ...(r() < 0.4 ? { clusterIPs: pick([['10.0.0.1'], ['10.0.0.2']]) } : {}),
    },
  } as KubeObject;
}

for (let seed = 1; seed <= 6; seed++) {
  test(`changedFields agrees with the field sets' definition (seed ${seed}, 400 pairs, main and status scopes)`, (t) => {
    const r = rng(seed);
    for (let i = 0; i < 400; i++) {
      const [kind, make] = r() < 0.6 ? (['Deployment', deployment] as const) : (['Service', service] as const);
      const old = r() < 0.1 ? undefined : make(r);
      const next = make(r);
      for (const scope of [scopeOf(byKind(kind)), scopeOf(byKind(kind), 'status')]) {
        const got = changedFields(scope, old, next);
        const want = definition(scope, old, next);
        t.deepEqual({ changed: [...got.changed].sort(), removed: [...got.removed].sort() }, want, `seed ${seed} pair ${i}: ${JSON.stringify({ old, next })}`);
      }
    }
  });
}
