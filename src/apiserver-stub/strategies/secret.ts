import type { KubeObject, StatusCause } from '../../kube/types.ts';
import { cause } from '../errors.ts';
import type { Strategy } from '../resource.ts';
import { obj } from './workloads.ts';

/**
 * Secrets as kube-apiserver: `stringData` merged into `data` (it is
 * write-only, as kube's conversion), `data` values checked as base64 (kube's
 * decoder refuses them; here a 422 names the key), `type` defaulted to
 * Opaque and immutable, the keys each built-in type requires, and the
 * `immutable` flag honoured.
 */
const keyPattern = /^[-._a-zA-Z0-9]+$/;
const maxSecretSize = 1024 * 1024;

/** Keys each built-in Secret type must hold (`ValidateSecret`). */
const requiredKeys: Readonly<Record<string, readonly string[]>> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

/** base64Error is Go's `illegal base64 data at input byte N` for a value its StdEncoding refuses, else undefined. */
export function base64Error(value: string): string | undefined {
  const text = value.replace(/[\r\n]/g, '');
  const bad = text.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return `illegal base64 data at input byte ${bad}`;
  const pad = text.indexOf('=');
  if (pad >= 0) {
    // Padding completes the last quantum of 4: 2 '=' after 2 characters, 1 after 3; anything after it is refused.
    const need = 4 - (pad % 4);
    if (need > 2) return `illegal base64 data at input byte ${pad}`;
    if (text.length < pad + need) return `illegal base64 data at input byte ${text.length}`;
    if (text.slice(pad, pad + need) !== '='.repeat(need)) return `illegal base64 data at input byte ${pad}`;
    if (text.length > pad + need) return `illegal base64 data at input byte ${pad + need}`;
    return undefined;
  }
  if (text.length % 4 !== 0) return `illegal base64 data at input byte ${text.length - (text.length % 4)}`;
  return undefined;
}

function mergeStringData(secret: KubeObject): void {
  const stringData = obj(secret.stringData);
  delete secret.stringData;
  if (!stringData) return;
  const data = (obj(secret.data) ?? (secret.data = {})) as Record<string, unknown>;
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
}

function validateData(secret: KubeObject, causes: StatusCause[]): Record<string, unknown> {
  const data = obj(secret.data) ?? {};
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    if (!keyPattern.test(k) || k === '.' || k === '..' || k.length > 253) {
      causes.push(cause.invalid('data', k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
    }
    const problem = typeof v === 'string' ? base64Error(v) : 'must be a base64 string';
    if (problem) causes.push(cause.invalid(`data[${k}]`, '<secret contents redacted>', problem));
    else size += Buffer.byteLength(v as string, 'base64');
  }
  if (size > maxSecretSize) causes.push({ reason: 'FieldValueTooLong', field: 'data', message: `Too long: must have at most ${maxSecretSize} bytes` });
  return data;
}

function validateType(secret: KubeObject, data: Record<string, unknown>, causes: StatusCause[]): void {
  const type = secret.type as string;
  for (const key of requiredKeys[type] ?? []) if (!(key in data)) causes.push(cause.required(`data[${key}]`));
  if (type === 'kubernetes.io/service-account-token') {
    const name = secret.metadata?.annotations?.['kubernetes.io/service-account.name'];
    if (!name) causes.push(cause.required('metadata.annotations[kubernetes.io/service-account.name]'));
  }
  if (type === 'kubernetes.io/basic-auth' && !('username' in data) && !('password' in data)) causes.push(cause.required('data[username]'));
}

function validateImmutable(secret: KubeObject, old: KubeObject | undefined, causes: StatusCause[]): void {
  if (!old) return;
  if (secret.type !== old.type) causes.push(cause.invalid('type', secret.type, 'field is immutable'));
  if (old.immutable === true) {
    if (secret.immutable !== true) causes.push(cause.forbidden('immutable', 'field is immutable when `immutable` is set'));
    if (JSON.stringify(secret.data ?? {}) !== JSON.stringify(old.data ?? {})) causes.push(cause.forbidden('data', 'field is immutable when `immutable` is set'));
  }
}

export const secretStrategy: Strategy = {
  defaults(secret) {
    mergeStringData(secret);
    if (secret.type === undefined || secret.type === '') secret.type = 'Opaque';
    // Store the canonical encoding, as kube re-encodes the bytes it decoded.
    const data = obj(secret.data);
    if (data) for (const [k, v] of Object.entries(data)) if (typeof v === 'string' && base64Error(v) === undefined) data[k] = Buffer.from(v, 'base64').toString('base64');
  },
  validate(secret, old) {
    const causes: StatusCause[] = [];
    const data = validateData(secret, causes);
    validateType(secret, data, causes);
    validateImmutable(secret, old, causes);
    return causes;
  },
};
