import type { KubeObject, StatusCause } from '../../kube/types.ts';
import type { TokenUser } from '../auth.ts';
import { apiErrors, cause } from '../errors.ts';
import { apiVersionOf } from '../resource.ts';
import { parseJsonObject, readBody, sendJson } from '../request.ts';
import { checkKind } from './admission.ts';
import type { Ctx } from './context.ts';
import type { Attributes } from '../rbac/attributes.ts';
import type { PolicyRule } from '../rbac/authorizer.ts';
import { asRecord as obj } from '../../util/records.ts';

/**
 * The self reviews kubectl asks: SelfSubjectReview (`kubectl auth whoami`),
 * SelfSubjectAccessReview (`kubectl auth can-i`) and SelfSubjectRulesReview
 * (`can-i --list`). They are create-only and stored nowhere, as kube's. The
 * answers are for the configured auth: the token file's user (with
 * `system:authenticated`), `system:admin` on the Unix socket, or
 * `system:anonymous`; access and rules reviews ask the configured authorizer
 * (everything under AlwaysAllow; the user's Roles and bindings under RBAC).
 */
export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  /** What else the authenticator knows (a ServiceAccount token's pod and token id). */
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

const anonymous: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

/** userInfo is who a request is: its token's user, or anonymous when the server has no token file. */
export function userInfo(user: TokenUser | undefined): UserInfo {
  if (!user) return anonymous;
  return { username: user.name, uid: user.uid, groups: [...user.groups.filter((g) => g !== 'system:authenticated'), 'system:authenticated'] };
}

type Obj = Record<string, unknown>;

async function accessReview(body: KubeObject, allows: (a: Attributes) => Promise<boolean>): Promise<KubeObject> {
  const spec = obj(body.spec) ?? {};
  const resource = obj(spec.resourceAttributes);
  const nonResource = obj(spec.nonResourceAttributes);
  if ((resource === undefined) === (nonResource === undefined)) {
    const causes: StatusCause[] = [cause.invalid('spec.resourceAttributes', spec.resourceAttributes ?? null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified')];
    throw apiErrors.invalid('SelfSubjectAccessReview', 'authorization.k8s.io', '', causes);
  }
  const str = (o: Obj, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
  const a: Attributes = resource
    ? { kind: 'resource', verb: str(resource, 'verb'), group: str(resource, 'group'), resource: str(resource, 'resource'), subresource: str(resource, 'subresource'), namespace: str(resource, 'namespace'), name: str(resource, 'name') }
    : { kind: 'path', verb: str(nonResource!, 'verb'), path: str(nonResource!, 'path') };
  return { spec, status: { allowed: await allows(a) } };
}

function rulesReview(body: KubeObject, rules: (namespace: string) => PolicyRule[]): KubeObject {
  const spec = obj(body.spec) ?? {};
  const all = rules(typeof spec.namespace === 'string' ? spec.namespace : '');
  const resourceRules = all.filter((r) => (r.nonResourceURLs ?? []).length === 0).map(({ nonResourceURLs: _u, ...r }) => r);
  const nonResourceRules = all.filter((r) => (r.nonResourceURLs ?? []).length > 0).map((r) => ({ verbs: r.verbs ?? [], nonResourceURLs: r.nonResourceURLs }));
  return { spec, status: { resourceRules, nonResourceRules, incomplete: false } };
}

/** handleReview answers POST to a review collection with 201 and the review's status. */
export async function handleReview(ctx: Ctx, user: UserInfo): Promise<void> {
  const method = ctx.req.method ?? 'GET';
  if (method !== 'POST' || ctx.name !== undefined) throw apiErrors.methodNotAllowed(method, ctx.def.resource);
  const body = await parseJsonObject(await readBody(ctx.req), ctx.req.headers['content-type']);
  checkKind(ctx.def, body);
  const authority = ctx.api.authority;
  const answer =
    ctx.def.kind === 'SelfSubjectReview' ? { status: { userInfo: user } }
    : ctx.def.kind === 'SelfSubjectAccessReview' ? await accessReview(body, (a) => authority.allows(user, a))
    : rulesReview(body, (namespace) => authority.rules(user, namespace));
  sendJson(ctx.res, 201, { kind: ctx.def.kind, apiVersion: apiVersionOf(ctx.def), metadata: { ...obj(body.metadata), creationTimestamp: null }, ...answer });
}
