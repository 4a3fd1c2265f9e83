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
import { NodeAuthorizer, nodeNameOf, nodeRules } from './node-authorizer.ts';
import { InvalidArgumentError } from '../../util/errors.ts';
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
 * (`--authorization-mode`, a list asked in order as kube's union
 * authorizer: the first to allow or deny decides): AlwaysAllow; Node, the
 * node agents' authorizer (node-authorizer.ts); RBAC, by Roles and bindings.
 * `system:masters` is always allowed (kube's privileged-group authorizer).
 */
export type AuthorizationMode = 'AlwaysAllow' | 'Node' | 'RBAC';

export const authorizationModes: readonly AuthorizationMode[] = ['AlwaysAllow', 'Node', 'RBAC'];

/** parseAuthorizationModes reads `--authorization-mode` (comma-separated, each once). */
export function parseAuthorizationModes(flag: string): AuthorizationMode[] {
  const modes = flag.split(',').map((m) => m.trim());
  for (const m of modes) if (!authorizationModes.includes(m as AuthorizationMode)) throw new InvalidArgumentError(`--authorization-mode ${flag}: ${JSON.stringify(m)} is not one of ${authorizationModes.join(', ')}`);
  if (new Set(modes).size !== modes.length) throw new InvalidArgumentError(`--authorization-mode ${flag}: a mode is named twice`);
  return modes as AuthorizationMode[];
}

const localAdmin: UserInfo = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };
const allowAll: PolicyRule[] = [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }];

export class Authority {
  readonly anonymous: UserInfo = userInfo(undefined);
  readonly modes: readonly AuthorizationMode[];
  private readonly tokens: ReadonlyMap<string, TokenUser> | undefined;
  private readonly local = new WeakSet<IncomingMessage>();
  private readonly users = new WeakMap<IncomingMessage, UserInfo>();
  private readonly rbac: RbacAuthorizer | undefined;
  private readonly nodes: NodeAuthorizer | undefined;
  private readonly serviceAccounts: ServiceAccountAuthenticator | undefined;

  constructor(backend: Backend, tokens: ReadonlyMap<string, TokenUser> | undefined, modes: readonly AuthorizationMode[], signer?: ServiceAccountTokenSigner) {
    this.tokens = tokens;
    this.modes = modes;
    this.rbac = modes.includes('RBAC') ? new RbacAuthorizer(backend) : undefined;
    this.nodes = modes.includes('Node') ? new NodeAuthorizer(backend) : undefined;
    this.serviceAccounts = signer ? new ServiceAccountAuthenticator(signer, backend) : undefined;
  }

  /** start creates the bootstrap policy and begins following roles and bindings (RBAC mode) and pods (Node mode). */
  async start(api: Api): Promise<void> {
    await this.nodes?.start();
    if (!this.rbac) return;
    await ensureBootstrapPolicy(api);
    await this.rbac.start();
  }

  close(): void {
    this.rbac?.close();
    this.nodes?.close();
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

  /** decide asks each authorizer in turn; the reason is the last one given, for the 403. */
  async decide(user: UserInfo, a: Attributes): Promise<{ allowed: boolean; reason: string }> {
    if (user.groups.includes('system:masters')) return { allowed: true, reason: '' };
    let reason = '';
    for (const mode of this.modes) {
      if (mode === 'AlwaysAllow') return { allowed: true, reason: '' };
      if (mode === 'RBAC' && this.rbac!.authorize(user, a)) return { allowed: true, reason: '' };
      if (mode === 'Node') {
        const d = await this.nodes!.authorize(user, a);
        if (d.decision !== 'no-opinion') return { allowed: d.decision === 'allow', reason: d.reason };
        reason = d.reason || reason;
      }
    }
    return { allowed: false, reason };
  }

  async allows(user: UserInfo, a: Attributes): Promise<boolean> {
    return (await this.decide(user, a)).allowed;
  }

  /** check throws kube's 403 when the user may not make this request. */
  async check(user: UserInfo, method: string, url: URL, r: Route): Promise<void> {
    if (this.modes.includes('AlwaysAllow') && this.modes.length === 1) return;
    const a = attributesOf(method, url.pathname, url.searchParams, r);
    const { allowed, reason } = await this.decide(user, a);
    if (!allowed) throw forbidden(user, a, reason);
  }

  /** rules are what SelfSubjectRulesReview lists for the user in a namespace. */
  rules(user: UserInfo, namespace: string): PolicyRule[] {
    if (this.modes.includes('AlwaysAllow')) return allowAll;
    return [...(this.nodes && nodeNameOf(user) !== undefined ? nodeRules : []), ...(this.rbac ? this.rbac.rulesFor(user, namespace) : [])];
  }
}

const socketUsers = new WeakMap<TLSSocket, UserInfo | undefined>();

/**
 * certificateUser is kube's x509 authenticator: a client certificate that
 * verified against the client CA names the user by its CommonName and the
 * groups by its Organizations.
 */
function certificateUser(req: IncomingMessage): UserInfo | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.encrypted || !socket.authorized) return undefined;
  // A connection's certificate is fixed at the handshake: read it once, not for every request on it.
  if (socketUsers.has(socket)) return socketUsers.get(socket);
  const user = userOfCertificate(socket);
  socketUsers.set(socket, user);
  return user;
}

function userOfCertificate(socket: TLSSocket): UserInfo | undefined {
  const subject = socket.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
  const cn = subject?.CN;
  if (typeof cn !== 'string' || cn === '') return undefined;
  const organizations = subject?.O === undefined ? [] : Array.isArray(subject.O) ? subject.O : [subject.O];
  return { username: cn, groups: [...organizations.filter((g) => g !== 'system:authenticated'), 'system:authenticated'] };
}
