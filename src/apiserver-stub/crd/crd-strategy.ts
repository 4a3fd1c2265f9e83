import type { KubeObject, StatusCause } from '../../kube/types.ts';
import { isDNS1035Label, isDNS1123Subdomain } from '../../kube/names.ts';
import type { Strategy } from '../resource.ts';
import type { CrdSpec, CrdVersion } from './defs.ts';
import { ruleProblems } from './cel-rules.ts';
import { schemaProblems } from './schema.ts';

/**
 * The CustomResourceDefinition strategy (apiextensions `validation.go`,
 * reduced): names, scope, versions with exactly one storage version,
 * structural schemas; and the status kube's controllers give an accepted
 * CRD (`NamesAccepted`, `Established`, acceptedNames, storedVersions), set
 * here at write time since the names are served as soon as it is stored.
 */
type Any = any; // CRD bodies are loosely typed JSON until validated

const required = (field: string, detail?: string): StatusCause => ({ reason: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' });
const invalid = (field: string, value: unknown, detail: string): StatusCause => ({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(value)}: ${detail}` });

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function defaults(obj: KubeObject): void {
  const spec = (obj.spec ?? {}) as Any;
  if (typeof spec.names === 'object' && spec.names !== null) {
    if (typeof spec.names.kind === 'string') {
      spec.names.singular ??= spec.names.kind.toLowerCase();
      spec.names.listKind ??= `${spec.names.kind}List`;
    }
  }
  spec.conversion ??= { strategy: 'None' };
  const service = spec.conversion?.webhook?.clientConfig?.service;
  if (typeof service === 'object' && service !== null) service.port ??= 443;
  for (const v of Array.isArray(spec.versions) ? spec.versions : []) {
    if (typeof v !== 'object' || v === null) continue;
    const scale = v.subresources?.scale;
    if (scale && typeof scale === 'object') scale.statusReplicasPath ??= '.status.replicas';
  }
}

function validateNames(spec: Any, name: string | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const group = spec.group;
  if (typeof group !== 'string' || group === '') causes.push(required('spec.group'));
  else if (!group.includes('.')) causes.push(invalid('spec.group', group, 'should be a domain with at least one dot'));
  else for (const e of isDNS1123Subdomain(group)) causes.push(invalid('spec.group', group, e));
  const names = spec.names ?? {};
  for (const key of ['plural', 'kind']) if (typeof names[key] !== 'string' || names[key] === '') causes.push(required(`spec.names.${key}`));
  if (typeof names.plural === 'string' && names.plural !== '') {
    for (const e of isDNS1035Label(names.plural)) causes.push(invalid('spec.names.plural', names.plural, e));
    if (name !== `${names.plural}.${group}`) causes.push(invalid('metadata.name', name, `must be spec.names.plural+"."+spec.group`));
  }
  if (typeof names.kind === 'string' && names.kind !== '' && !/^[A-Z][A-Za-z0-9]*$/.test(names.kind)) causes.push(invalid('spec.names.kind', names.kind, 'must be a CamelCase name'));
  for (const [i, s] of (names.shortNames ?? []).entries()) for (const e of isDNS1035Label(String(s))) causes.push(invalid(`spec.names.shortNames[${i}]`, s, e));
  return causes;
}

function validateVersions(versions: unknown): StatusCause[] {
  if (!Array.isArray(versions) || versions.length === 0) return [required('spec.versions')];
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  versions.forEach((v: Any, i) => {
    const at = `spec.versions[${i}]`;
    if (typeof v?.name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v.name)) causes.push(invalid(`${at}.name`, v?.name, 'must be a DNS-1035 label'));
    else if (seen.has(v.name)) causes.push({ reason: 'FieldValueDuplicate', field: `${at}.name`, message: `Duplicate value: ${JSON.stringify(v.name)}` });
    else seen.add(v.name);
    const schema = v?.schema?.openAPIV3Schema;
    if (schema === undefined) causes.push(required(`${at}.schema.openAPIV3Schema`));
    else {
      schemaProblems(schema, `${at}.schema.openAPIV3Schema`, causes);
      ruleProblems(schema, `${at}.schema.openAPIV3Schema`, causes);
    }
    const scale = v?.subresources?.scale;
    if (scale && (typeof scale.specReplicasPath !== 'string' || !scale.specReplicasPath.startsWith('.spec.'))) causes.push(invalid(`${at}.subresources.scale.specReplicasPath`, scale.specReplicasPath, 'should be a json path under .spec'));
  });
  const storage = versions.filter((v: Any) => v?.storage === true).length;
  if (storage !== 1) causes.push(invalid('spec.versions', storage, 'must have exactly one version marked as storage version'));
  if (!versions.some((v: Any) => v?.served === true)) causes.push(invalid('spec.versions', 0, 'must have at least one served version'));
  return causes;
}

const forbidden = (field: string, detail: string): StatusCause => ({ reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` });
const REVIEW_VERSIONS = ['v1', 'v1beta1'];

/** validateWebhookUrl is kube's ValidateWebhookURL with https required. */
function validateWebhookUrl(at: string, url: string): StatusCause[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch (error) {
    return [invalid(at, url, `url must be a valid URL: ${(error as Error).message}`)];
  }
  if (u.protocol !== 'https:') return [invalid(at, url, "'https' is the only allowed URL scheme")];
  if (u.hostname === '') return [invalid(at, url, 'host must be specified')];
  if (u.username !== '' || u.password !== '') return [invalid(at, url, 'user information is not permitted in the URL')];
  if (url.includes('#')) return [invalid(at, url, 'fragments are not permitted in the URL')];
  if (url.includes('?')) return [invalid(at, url, 'query parameters are not permitted in the URL')];
  return [];
}

/** validateConversion is kube's validateCustomResourceConversion, with the field paths its errors name. */
function validateConversion(conversion: Any): StatusCause[] {
  const at = 'spec.conversion';
  if (conversion.strategy !== 'None' && conversion.strategy !== 'Webhook') {
    return [{ reason: 'FieldValueNotSupported', field: `${at}.strategy`, message: `Unsupported value: ${JSON.stringify(conversion.strategy)}: supported values: "None", "Webhook"` }];
  }
  const cc = conversion.webhook?.clientConfig;
  const versions = conversion.webhook?.conversionReviewVersions;
  if (conversion.strategy === 'None') {
    const causes: StatusCause[] = [];
    if (cc !== undefined) causes.push(forbidden(`${at}.webhookClientConfig`, 'should not be set when strategy is not set to Webhook'));
    if (Array.isArray(versions) && versions.length > 0) causes.push(forbidden(`${at}.conversionReviewVersions`, 'should not be set when strategy is not set to Webhook'));
    return causes;
  }
  const causes: StatusCause[] = [];
  const ccAt = `${at}.webhookClientConfig`;
  if (typeof cc !== 'object' || cc === null) causes.push(required(ccAt, 'required when strategy is set to Webhook'));
  else if ((cc.url === undefined) === (cc.service === undefined)) causes.push(required(ccAt, 'exactly one of url or service is required'));
  else if (cc.url !== undefined) causes.push(...validateWebhookUrl(`${ccAt}.url`, String(cc.url)));
  else {
    const s = cc.service;
    if (typeof s.name !== 'string' || s.name === '') causes.push(required(`${ccAt}.service.name`, 'service name is required'));
    if (typeof s.namespace !== 'string' || s.namespace === '') causes.push(required(`${ccAt}.service.namespace`, 'service namespace is required'));
    if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) causes.push(invalid(`${ccAt}.service.port`, s.port, 'port is not valid: must be between 1 and 65535, inclusive'));
    if (s.path !== undefined && !String(s.path).startsWith('/')) causes.push(invalid(`${ccAt}.service.path`, s.path, "must start with a '/'"));
  }
  if (cc?.caBundle !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(String(cc.caBundle))) causes.push(invalid(`${ccAt}.caBundle`, '<bytes>', 'must be base64'));
  const vAt = `${at}.conversionReviewVersions`;
  if (!Array.isArray(versions) || versions.length === 0) causes.push(required(vAt, `must include at least one of ${REVIEW_VERSIONS.join(', ')}`));
  else if (!versions.some((v: unknown) => REVIEW_VERSIONS.includes(String(v)))) causes.push(invalid(vAt, versions, `must include at least one of ${REVIEW_VERSIONS.join(', ')}`));
  return causes;
}

function validate(obj: KubeObject, old: KubeObject | undefined): StatusCause[] {
  const spec = (obj.spec ?? {}) as Any;
  const causes = [...validateNames(spec, obj.metadata?.name), ...validateVersions(spec.versions)];
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') causes.push({ reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: ${JSON.stringify(spec.scope)}: supported values: "Cluster", "Namespaced"` });
  causes.push(...validateConversion(spec.conversion ?? {}));
  const oldSpec = old?.spec as Any;
  if (oldSpec !== undefined && oldSpec.group !== spec.group) causes.push(invalid('spec.group', spec.group, 'field is immutable'));
  if (oldSpec !== undefined && oldSpec.scope !== spec.scope) causes.push(invalid('spec.scope', spec.scope, 'field is immutable'));
  return causes;
}

/** accept writes the status of a CRD whose names are served: both conditions True and the storage version recorded. */
function accept(obj: KubeObject, old: KubeObject | undefined): void {
  defaults(obj);
  const spec = obj.spec as CrdSpec | undefined;
  if (!spec?.names || !Array.isArray(spec.versions)) return;
  const oldStatus = (old?.status ?? {}) as Any;
  const since = (type: string): string => (oldStatus.conditions ?? []).find((c: Any) => c.type === type && c.status === 'True')?.lastTransitionTime ?? now();
  const storage = spec.versions.find((v: CrdVersion) => v.storage)?.name;
  const stored: string[] = [...(oldStatus.storedVersions ?? [])];
  if (storage !== undefined && !stored.includes(storage)) stored.push(storage);
  obj.status = {
    acceptedNames: structuredClone(spec.names),
    conditions: [
      { type: 'NamesAccepted', status: 'True', lastTransitionTime: since('NamesAccepted'), reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', lastTransitionTime: since('Established'), reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ],
    storedVersions: stored,
  };
}

export const crdStrategy: Strategy = {
  defaults,
  validate,
  prepareForCreate: (obj) => accept(obj, undefined),
  prepareForUpdate: (obj, old) => accept(obj, old),
};
