import type { KubeObject, StatusCause } from '../../kube/types.ts';
import { apiErrors, cause } from '../errors.ts';
import { parseJsonObject, readBody, sendJson } from '../request.ts';
import { checkKind } from '../handlers/admission.ts';
import type { Ctx } from '../handlers/context.ts';
import type { TokenSubject } from './token-signer.ts';
import { isRecord } from '../../util/records.ts';

const DEFAULT_EXPIRATION_S = 3600;
const MIN_EXPIRATION_S = 600;
const MAX_EXPIRATION_S = 2 ** 32;
const BOUND_KINDS = ['Pod', 'Secret'] as const;

interface BoundRef {
  kind: (typeof BOUND_KINDS)[number];
  apiVersion?: string;
  name: string;
  uid?: string;
}

interface TokenRequestSpec {
  audiences: string[];
  expirationSeconds: number;
  boundObjectRef?: BoundRef;
}

/** validateSpec is kube's ValidateTokenRequest with its defaults (an hour; the API audience). */
function validateSpec(body: KubeObject, issuer: string, name: string): TokenRequestSpec {
  const spec = isRecord(body.spec) ? body.spec : {};
  const causes: StatusCause[] = [];
  const expiration = spec.expirationSeconds ?? DEFAULT_EXPIRATION_S;
  if (typeof expiration !== 'number' || !Number.isInteger(expiration)) causes.push(cause.invalid('spec.expirationSeconds', expiration, 'must be an integer'));
  else if (expiration < MIN_EXPIRATION_S) causes.push(cause.invalid('spec.expirationSeconds', expiration, 'may not specify a duration less than 10 minutes'));
  else if (expiration > MAX_EXPIRATION_S) causes.push(cause.invalid('spec.expirationSeconds', expiration, 'may not specify a duration larger than 2^32 seconds'));
  const audiences = spec.audiences ?? [];
  if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== 'string' || a === '')) causes.push(cause.invalid('spec.audiences', audiences, 'must be a list of non-empty strings'));
  let bound: BoundRef | undefined;
  if (spec.boundObjectRef !== undefined && spec.boundObjectRef !== null) {
    const ref = isRecord(spec.boundObjectRef) ? spec.boundObjectRef : {};
    if (!(BOUND_KINDS as readonly unknown[]).includes(ref.kind)) causes.push(cause.unsupported('spec.boundObjectRef.kind', ref.kind, [...BOUND_KINDS]));
    else if (typeof ref.name !== 'string' || ref.name === '') causes.push(cause.required('spec.boundObjectRef.name'));
    else bound = { kind: ref.kind as BoundRef['kind'], name: ref.name, ...(typeof ref.uid === 'string' && ref.uid !== '' ? { uid: ref.uid } : {}), ...(typeof ref.apiVersion === 'string' ? { apiVersion: ref.apiVersion } : {}) };
  }
  if (causes.length > 0) throw apiErrors.invalid('TokenRequest', 'authentication.k8s.io', name, causes);
  return { audiences: (audiences as string[]).length > 0 ? (audiences as string[]) : [issuer], expirationSeconds: expiration as number, ...(bound ? { boundObjectRef: bound } : {}) };
}

/** boundObject reads the object a token is to be bound to; kube refuses a reference whose uid is not the stored one's. */
async function boundObject(ctx: Ctx, namespace: string, ref: BoundRef): Promise<{ name: string; uid: string }> {
  const obj = await ctx.api.registry('', ref.kind === 'Pod' ? 'pods' : 'secrets').get(namespace, ref.name);
  const uid = obj.metadata?.uid ?? '';
  if (ref.uid !== undefined && ref.uid !== uid) {
    throw apiErrors.badRequest(`the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
  }
  return { name: ref.name, uid };
}

/**
 * handleTokenRequest answers POST `serviceaccounts/<name>/token` (the
 * TokenRequest API, `kubectl create token`): a signed token for the
 * ServiceAccount, bound when asked to a Pod or Secret so it stops working
 * when that object goes.
 */
export async function handleTokenRequest(ctx: Ctx): Promise<void> {
  if (ctx.req.method !== 'POST') throw apiErrors.methodNotAllowed(ctx.req.method ?? '', 'serviceaccounts/token');
  const namespace = ctx.namespace!;
  const name = ctx.name!;
  const body = await parseJsonObject(await readBody(ctx.req), ctx.req.headers['content-type']);
  checkKind(ctx.def, body, 'TokenRequest', 'authentication.k8s.io/v1');
  const signer = ctx.api.tokenSigner;
  const spec = validateSpec(body, signer.issuer, name);
  const sa = await ctx.registry.get(namespace, name);
  const subject: TokenSubject = { namespace, serviceAccount: { name, uid: sa.metadata?.uid ?? '' } };
  const ref = spec.boundObjectRef;
  const bound = ref ? await boundObject(ctx, namespace, ref) : undefined;
  const now = Date.now();
  const expiresAt = now + spec.expirationSeconds * 1000;
  const token = signer.issue({ ...subject, ...(ref && bound ? { [ref.kind === 'Pod' ? 'pod' : 'secret']: bound } : {}) }, spec.audiences, expiresAt, now);
  sendJson(ctx.res, 201, {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name, namespace, creationTimestamp: null },
    spec: { audiences: spec.audiences, expirationSeconds: spec.expirationSeconds, boundObjectRef: ref ? { kind: ref.kind, apiVersion: ref.apiVersion ?? 'v1', name: ref.name, uid: bound!.uid } : null },
    status: { token, expirationTimestamp: new Date(Math.floor(expiresAt / 1000) * 1000).toISOString().replace('.000Z', 'Z') },
  });
}
