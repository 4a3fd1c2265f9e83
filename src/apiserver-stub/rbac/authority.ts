import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { TokenUser } from '../auth.ts';
import { userInfo, type UserInfo } from '../handlers/reviews.ts';
import type { Api } from '../handlers/context.ts';
import type { Route } from '../router.ts';
import type { Backend } from '../storage/backend.ts';
import { attributesOf, forbidden, type Attributes } from './attributes.ts';
import { RbacAuthorizer, type PolicyRule } from './authorizer.ts';
import { ensureBootstrapPolicy } from './bootstrap-policy.ts';
import { looksLikeJwt, ServiceAccountAuthenticator } from '../serviceaccount/authenticator.ts';
import type { ServiceAccountTokenSigner } from '../serviceaccount/token-signer.ts';

/**
 * Authority is who a request is and what it may do. Authentication: a
 * client certificate signed by the client CA is its CommonName in its
 * Organizations (kube's x509 authenticator); a request on the Unix socket that presents no bearer token is the local
 * administrator `system:admin` in `system:masters` (the socket's file
 * permissions, 0600, are its credential, as a kubeadm admin.conf's client
 * certificate is kube's: the lab's components use it). A bearer token is a
 * `--token-auth-file` user or a ServiceAccount (serviceaccount/); with a
 * token file, a TCP request without a valid one is a 401, and without one
 * it is `system:anonymous` (kube's `--anonymous-auth`). Authorization
 * (`--authorization-mode`): AlwaysAllow, or
 * RBAC, where `system:masters` is always allowed (kube's privileged-group
 * authorizer) and everyone else by their Roles and bindings.
 */
export type AuthorizationMode = 'AlwaysAllow' | 'RBAC';

export const authorizationModes: readonly AuthorizationMode[] = ['AlwaysAllow', 'RBAC'];

const localAdmin: UserInfo = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };
const allowAll: PolicyRule[] = [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }];

export class Authority {
  readonly anonymous: UserInfo = userInfo(undefined);
  readonly mode: AuthorizationMode;
  private readonly tokens: ReadonlyMap<string, TokenUser> | undefined;
  private readonly local = new WeakSet<IncomingMessage>();
  private readonly users = new WeakMap<IncomingMessage, UserInfo>();
  private readonly rbac: RbacAuthorizer | undefined;
  private readonly serviceAccounts: ServiceAccountAuthenticator | undefined;

  constructor(backend: Backend, tokens: ReadonlyMap<string, TokenUser> | undefined, mode: AuthorizationMode, signer?: ServiceAccountTokenSigner) {
    this.tokens = tokens;
    this.mode = mode;
    this.rbac = mode === 'RBAC' ? new RbacAuthorizer(backend) : undefined;
    this.serviceAccounts = signer ? new ServiceAccountAuthenticator(signer, backend) : undefined;
  }

  /** start creates the bootstrap policy and begins following roles and bindings (RBAC mode). */
  async start(api: Api): Promise<void> {
    if (!this.rbac) return;
    await ensureBootstrapPolicy(api);
    await this.rbac.start();
  }

  close(): void {
    this.rbac?.close();
  }

  /** markLocal records a request that came in on the Unix socket. */
  markLocal(req: IncomingMessage): void {
    this.local.add(req);
  }

  /**
   * authenticate names the request's user, or undefined for a 401, and
   * remembers it for user(). A ServiceAccount token is checked against the
   * store (async); other credentials are answered at once.
   */
  authenticate(req: IncomingMessage): UserInfo | undefined | Promise<UserInfo | undefined> {
    const fromCertificate = certificateUser(req);
    if (fromCertificate) return this.#remember(req, fromCertificate);
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const fromFile = bearer !== undefined ? this.tokens?.get(bearer) : undefined;
    if (fromFile) return this.#remember(req, userInfo(fromFile));
    if (bearer === undefined && this.local.has(req)) return this.#remember(req, localAdmin);
    if (bearer !== undefined && this.serviceAccounts && looksLikeJwt(bearer)) {
      // Without a token file an unknown bearer stays anonymous, as before service accounts.
      return this.serviceAccounts.authenticate(bearer).then((user) => this.#remember(req, user ?? (this.tokens ? undefined : this.#unauthenticated(req))));
    }
    return this.#remember(req, this.tokens ? undefined : this.#unauthenticated(req));
  }

  /** user is who authenticate found the request to be (anonymous before it ran, or after a 401). */
  user(req: IncomingMessage): UserInfo {
    return this.users.get(req) ?? this.anonymous;
  }

  #unauthenticated(req: IncomingMessage): UserInfo {
    return this.local.has(req) ? localAdmin : this.anonymous;
  }

  #remember(req: IncomingMessage, user: UserInfo | undefined): UserInfo | undefined {
    if (user) this.users.set(req, user);
    return user;
  }

  allows(user: UserInfo, a: Attributes): boolean {
    if (!this.rbac || user.groups.includes('system:masters')) return true;
    return this.rbac.authorize(user, a);
  }

  /** check throws kube's 403 when the user may not make this request. */
  check(user: UserInfo, method: string, url: URL, r: Route): void {
    if (!this.rbac) return;
    const a = attributesOf(method, url.pathname, url.searchParams, r);
    if (!this.allows(user, a)) throw forbidden(user, a, '');
  }

  /** rules are what SelfSubjectRulesReview lists for the user in a namespace. */
  rules(user: UserInfo, namespace: string): PolicyRule[] {
    return this.rbac ? this.rbac.rulesFor(user, namespace) : allowAll;
  }
}

/**
 * certificateUser is kube's x509 authenticator: a client certificate that
 * verified against the client CA names the user by its CommonName and the
 * groups by its Organizations.
 */
function certificateUser(req: IncomingMessage): UserInfo | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.encrypted || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
  const cn = subject?.CN;
  if (typeof cn !== 'string' || cn === '') return undefined;
  const organizations = subject?.O === undefined ? [] : Array.isArray(subject.O) ? subject.O : [subject.O];
  return { username: cn, groups: [...organizations.filter((g) => g !== 'system:authenticated'), 'system:authenticated'] };
}
