import type { KubeObject } from '../../kube/types.ts';
import type { UserInfo } from '../handlers/reviews.ts';
import type { Backend } from '../storage/backend.ts';
import type { ServiceAccountTokenSigner, VerifiedToken } from './token-signer.ts';

/** A bearer credential shaped like a JWT (three base64url parts): only those are given to the signer. */
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function looksLikeJwt(token: string): boolean {
  return JWT.test(token);
}

/**
 * ServiceAccountAuthenticator is kube's service account token
 * authenticator: a token the signer vouches for names a user
 * `system:serviceaccount:<ns>:<name>` in the groups `system:serviceaccounts`
 * and `system:serviceaccounts:<ns>`, as long as the ServiceAccount (and the
 * Pod or Secret the token is bound to) still exists with the uid in the
 * token: deleting either revokes it.
 */
export class ServiceAccountAuthenticator {
  readonly #signer: ServiceAccountTokenSigner;
  readonly #backend: Backend;

  constructor(signer: ServiceAccountTokenSigner, backend: Backend) {
    this.#signer = signer;
    this.#backend = backend;
  }

  async authenticate(token: string): Promise<UserInfo | undefined> {
    const verified = this.#signer.verify(token, this.#signer.issuer);
    if (!verified || !(await this.#stillValid(verified))) return undefined;
    const { namespace, serviceAccount, pod } = verified;
    return {
      username: `system:serviceaccount:${namespace}:${serviceAccount.name}`,
      uid: serviceAccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
      extra: {
        'authentication.kubernetes.io/credential-id': [`JTI=${verified.id}`],
        ...(pod ? { 'authentication.kubernetes.io/pod-name': [pod.name], 'authentication.kubernetes.io/pod-uid': [pod.uid] } : {}),
      },
    };
  }

  async #stillValid(t: VerifiedToken): Promise<boolean> {
    const checks: Array<[string, string]> = [[`/registry/serviceaccounts/${t.namespace}/${t.serviceAccount.name}`, t.serviceAccount.uid]];
    if (t.pod) checks.push([`/registry/pods/${t.namespace}/${t.pod.name}`, t.pod.uid]);
    if (t.secret) checks.push([`/registry/secrets/${t.namespace}/${t.secret.name}`, t.secret.uid]);
    for (const [key, uid] of checks) {
      const kv = await this.#backend.get(key);
      const obj = kv?.value as KubeObject | undefined;
      if (!obj || obj.metadata?.uid !== uid || obj.metadata.deletionTimestamp) return false;
    }
    return true;
  }
}
