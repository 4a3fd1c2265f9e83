import type { KubeObject, LabelSelector } from '../../kube/types.ts';
import { fromLabelSelector, matchesLabels } from '../../kube/labels.ts';
import type { UserInfo } from '../handlers/reviews.ts';
import type { Backend } from '../storage/backend.ts';
import { StoreFeed } from '../storage/store-feed.ts';
import type { Attributes } from './attributes.ts';

/**
 * RbacAuthorizer is kube's RBAC authorizer (`plugin/pkg/auth/authorizer/rbac`):
 * a request is allowed when a rule of a role bound to the user, one of its
 * groups, or (as `system:serviceaccount:<ns>:<name>`) its ServiceAccount
 * allows it: ClusterRoleBindings everywhere, RoleBindings in their namespace
 * (to a Role there or a ClusterRole). ClusterRoles with an aggregationRule
 * hold the rules of the ClusterRoles their selectors match, resolved here
 * at evaluation rather than written back by a controller. Roles and bindings
 * are read from a watch-fed copy of the store, as kube's informers.
 */
export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject { kind?: string; name?: string; namespace?: string }
interface Binding { roleRef?: { kind?: string; name?: string }; subjects?: Subject[] }

const prefix = '/registry/rbac.authorization.k8s.io/';

export class RbacAuthorizer {
  private readonly objects = new Map<string, KubeObject>();
  private readonly feed: StoreFeed;

  constructor(backend: Backend) {
    this.feed = new StoreFeed(backend, prefix, 'RBAC', {
      reset: () => this.objects.clear(),
      put: (key, value) => void this.objects.set(key, value as KubeObject),
      remove: (key) => void this.objects.delete(key),
    });
  }

  start(): Promise<void> {
    return this.feed.start();
  }

  close(): void {
    this.feed.close();
  }

  private of(resource: string, namespace?: string): KubeObject[] {
    const base = `${prefix}${resource}/${namespace === undefined ? '' : `${namespace}/`}`;
    return [...this.objects].filter(([k]) => k.startsWith(base)).map(([, v]) => v);
  }

  private clusterRole(name: string): KubeObject | undefined {
    return this.objects.get(`${prefix}clusterroles/${name}`);
  }

  /** clusterRoleRules are a ClusterRole's rules with those its aggregationRule selects (cycles cut). */
  private clusterRoleRules(name: string, seen = new Set<string>()): PolicyRule[] {
    const role = this.clusterRole(name);
    if (!role || seen.has(name)) return [];
    seen.add(name);
    const rules = [...((role.rules as PolicyRule[] | undefined) ?? [])];
    const selectors = ((role.aggregationRule as { clusterRoleSelectors?: LabelSelector[] } | undefined)?.clusterRoleSelectors ?? []).map((s) => fromLabelSelector(s));
    if (selectors.length === 0) return rules;
    for (const other of this.of('clusterroles')) {
      const otherName = other.metadata?.name ?? '';
      if (otherName !== name && selectors.some((s) => matchesLabels(s, other.metadata?.labels))) rules.push(...this.clusterRoleRules(otherName, seen));
    }
    return rules;
  }

  private roleRules(binding: Binding, namespace: string | undefined): PolicyRule[] {
    const ref = binding.roleRef ?? {};
    if (ref.kind === 'ClusterRole') return this.clusterRoleRules(ref.name ?? '');
    if (ref.kind === 'Role' && namespace !== undefined) return (this.objects.get(`${prefix}roles/${namespace}/${ref.name}`)?.rules as PolicyRule[] | undefined) ?? [];
    return [];
  }

  /** rulesFor lists the rules that apply to user in namespace ('' for cluster scope), as SelfSubjectRulesReview does. */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    const rules: PolicyRule[] = [];
    for (const b of this.of('clusterrolebindings')) if (bindsUser(b as Binding, user, undefined)) rules.push(...this.roleRules(b as Binding, undefined));
    if (namespace !== '') for (const b of this.of('rolebindings', namespace)) if (bindsUser(b as Binding, user, namespace)) rules.push(...this.roleRules(b as Binding, namespace));
    return rules;
  }

  authorize(user: UserInfo, a: Attributes): boolean {
    return this.rulesFor(user, a.kind === 'resource' ? a.namespace : '').some((r) => ruleAllows(r, a));
  }
}

function bindsUser(b: Binding, user: UserInfo, namespace: string | undefined): boolean {
  return (b.subjects ?? []).some((s) => {
    switch (s.kind) {
      case 'User':
        return s.name === user.username;
      case 'Group':
        return s.name !== undefined && user.groups.includes(s.name);
      case 'ServiceAccount': {
        const ns = s.namespace ?? namespace;
        return user.username === `system:serviceaccount:${ns}:${s.name}`;
      }
      default:
        return false;
    }
  });
}

const has = (list: string[] | undefined, value: string): boolean => (list ?? []).some((x) => x === '*' || x === value);

/** ruleAllows is kube's `RuleAllows`: verb, group, resource (or `resource/subresource`, or any resource's subresource by `*` before the slash) and names; or a path (a trailing `*` is a prefix). */
export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (a.kind === 'path') return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
  if (!has(rule.apiGroups, a.group)) return false;
  const combined = a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`;
  const resourceOk = (rule.resources ?? []).some((r) => r === '*' || r === combined || (a.subresource !== '' && r === `*/${a.subresource}`));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(a.name);
}
