import type { KubeObject, StatusCause } from '../../kube/types.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { obj } from './workloads.ts';

/**
 * rbac.authorization.k8s.io/v1 as kube-apiserver's `pkg/apis/rbac/validation`:
 * policy rules (verbs, api groups with resources, non-resource URLs only
 * cluster-wide), role references (immutable once set) and subjects, with
 * `SetDefaults_Subject`'s apiGroup.
 */
type Obj = Record<string, unknown>;
const rbacGroup = 'rbac.authorization.k8s.io';

function validateRules(role: KubeObject, clusterScoped: boolean, causes: StatusCause[]): void {
  if (role.rules === undefined || role.rules === null) return;
  if (!Array.isArray(role.rules)) return void causes.push(cause.invalid('rules', role.rules, 'must be a list'));
  role.rules.forEach((raw, i) => {
    const rule = obj(raw) ?? {};
    const f = `rules[${i}]`;
    const list = (k: string): unknown[] => (Array.isArray(rule[k]) ? (rule[k] as unknown[]) : []);
    if (list('verbs').length === 0) causes.push(cause.required(`${f}.verbs`, 'Required value: verbs must contain at least one value'));
    const urls = list('nonResourceURLs');
    if (urls.length > 0) {
      if (!clusterScoped) causes.push(cause.invalid(`${f}.nonResourceURLs`, urls, 'namespaced rules cannot apply to non-resource URLs'));
      if (list('apiGroups').length > 0 || list('resources').length > 0) causes.push(cause.invalid(`${f}.nonResourceURLs`, urls, 'rules cannot apply to both regular resources and non-resource URLs'));
      return;
    }
    if (list('apiGroups').length === 0) causes.push(cause.required(`${f}.apiGroups`, 'Required value: resource rules must supply at least one api group'));
    if (list('resources').length === 0) causes.push(cause.required(`${f}.resources`, 'Required value: resource rules must supply at least one resource'));
  });
}

function validateRoleRef(binding: KubeObject, clusterScoped: boolean, old: KubeObject | undefined, causes: StatusCause[]): void {
  const ref = obj(binding.roleRef);
  if (!ref) return void causes.push(cause.required('roleRef'));
  const kinds = clusterScoped ? ['ClusterRole'] : ['Role', 'ClusterRole'];
  if (ref.apiGroup !== rbacGroup) causes.push(cause.unsupported('roleRef.apiGroup', ref.apiGroup, [rbacGroup]));
  if (!kinds.includes(ref.kind as string)) causes.push(cause.unsupported('roleRef.kind', ref.kind, kinds));
  if (typeof ref.name !== 'string' || ref.name === '') causes.push(cause.required('roleRef.name'));
  if (old && JSON.stringify(ref) !== JSON.stringify(old.roleRef)) causes.push(cause.invalid('roleRef', ref, 'cannot change roleRef'));
}

function validateSubjects(binding: KubeObject, clusterScoped: boolean, causes: StatusCause[]): void {
  if (!Array.isArray(binding.subjects)) return;
  binding.subjects.forEach((raw, i) => {
    const s = obj(raw) ?? {};
    const f = `subjects[${i}]`;
    if (typeof s.name !== 'string' || s.name === '') causes.push(cause.required(`${f}.name`));
    if (s.kind === 'ServiceAccount') {
      if (s.apiGroup !== '') causes.push(cause.unsupported(`${f}.apiGroup`, s.apiGroup, ['']));
      if (clusterScoped && (typeof s.namespace !== 'string' || s.namespace === '')) causes.push(cause.required(`${f}.namespace`));
    } else if (s.kind === 'User' || s.kind === 'Group') {
      if (s.apiGroup !== rbacGroup) causes.push(cause.unsupported(`${f}.apiGroup`, s.apiGroup, [rbacGroup]));
    } else causes.push(cause.unsupported(`${f}.kind`, s.kind, ['ServiceAccount', 'User', 'Group']));
  });
}

function defaultSubjects(binding: KubeObject): void {
  if (!Array.isArray(binding.subjects)) return;
  for (const raw of binding.subjects) {
    const s = obj(raw) as Obj | undefined;
    if (!s || (s.apiGroup !== undefined && s.apiGroup !== '')) continue;
    if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = rbacGroup;
    if (s.kind === 'ServiceAccount') s.apiGroup = '';
  }
}

/** A ClusterRole with an aggregationRule has its rules filled by the aggregation controller; the rule selectors must be valid. */
function validateAggregation(role: KubeObject, causes: StatusCause[]): void {
  const rule = obj(role.aggregationRule);
  if (!rule) return;
  if (!Array.isArray(rule.clusterRoleSelectors) || rule.clusterRoleSelectors.length === 0) causes.push(cause.required('aggregationRule.clusterRoleSelectors'));
}

export const roleStrategy: Strategy = {
  validate(role) {
    const causes: StatusCause[] = [];
    validateRules(role, false, causes);
    return causes;
  },
};

export const clusterRoleStrategy: Strategy = {
  validate(role) {
    const causes: StatusCause[] = [];
    validateRules(role, true, causes);
    validateAggregation(role, causes);
    return causes;
  },
};

function bindingStrategy(clusterScoped: boolean): Strategy {
  return {
    defaults: defaultSubjects,
    validate(binding, old) {
      const causes: StatusCause[] = [];
      validateRoleRef(binding, clusterScoped, old, causes);
      validateSubjects(binding, clusterScoped, causes);
      return causes;
    },
  };
}

export const roleBindingStrategy = bindingStrategy(false);
export const clusterRoleBindingStrategy = bindingStrategy(true);
