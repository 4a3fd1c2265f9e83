import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The issuer kubeadm configures (`--service-account-issuer`); also the default audience. */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** What a ServiceAccount token says, in kube's private claim `kubernetes.io`. */
export interface TokenSubject {
  readonly namespace: string;
  readonly serviceAccount: { readonly name: string; readonly uid: string };
  /** The object the token is bound to: it stops working when that object is gone. */
  readonly pod?: { readonly name: string; readonly uid: string };
  readonly secret?: { readonly name: string; readonly uid: string };
}

export interface VerifiedToken extends TokenSubject {
  readonly audiences: readonly string[];
  readonly expiresAt: number;
  readonly id: string;
}

interface Claims {
  iss?: unknown;
  sub?: unknown;
  aud?: unknown;
  exp?: unknown;
  nbf?: unknown;
  iat?: unknown;
  jti?: unknown;
  'kubernetes.io'?: { namespace?: unknown; serviceaccount?: { name?: unknown; uid?: unknown }; pod?: { name?: unknown; uid?: unknown }; secret?: { name?: unknown; uid?: unknown } };
}

const b64 = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/**
 * ServiceAccountTokenSigner issues and checks ServiceAccount tokens as
 * kube-apiserver does: JWTs signed ES256 with the service account key
 * (`--service-account-signing-key-file`), `kid` the SHA-256 of the public
 * key, claims iss/sub/aud/exp/nbf/iat/jti and `kubernetes.io` naming the
 * namespace, the ServiceAccount and the bound object. Whether the named
 * objects still exist is the authenticator's question, not the signer's.
 */
export class ServiceAccountTokenSigner {
  readonly issuer: string;
  readonly #key: KeyObject;
  readonly #public: KeyObject;
  readonly #kid: string;

  constructor(privateKey: KeyObject, issuer = DEFAULT_ISSUER) {
    this.issuer = issuer;
    this.#key = privateKey;
    this.#public = createPublicKey(privateKey);
    this.#kid = b64(createHash('sha256').update(this.#public.export({ type: 'spki', format: 'der' })).digest());
  }

  /** ephemeral is a signer whose key lives only in this process (tokens end with it). */
  static ephemeral(issuer?: string): ServiceAccountTokenSigner {
    return new ServiceAccountTokenSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, issuer);
  }

  /** fromFile loads the PEM key at `file`, making one (mode 0600) on first start. */
  static fromFile(file: string, issuer?: string): ServiceAccountTokenSigner {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    }
    const key = createPrivateKey(readFileSync(file));
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error(`${file}: want an EC P-256 private key (ES256)`);
    }
    return new ServiceAccountTokenSigner(key, issuer);
  }

  issue(subject: TokenSubject, audiences: readonly string[], expiresAt: number, now = Date.now()): string {
    const iat = Math.floor(now / 1000);
    const claims = {
      aud: audiences,
      exp: Math.floor(expiresAt / 1000),
      iat,
      iss: this.issuer,
      jti: randomUUID(),
      'kubernetes.io': {
        namespace: subject.namespace,
        ...(subject.pod ? { pod: subject.pod } : {}),
        ...(subject.secret ? { secret: subject.secret } : {}),
        serviceaccount: subject.serviceAccount,
      },
      nbf: iat,
      sub: `system:serviceaccount:${subject.namespace}:${subject.serviceAccount.name}`,
    };
    const signed = `${b64(JSON.stringify({ alg: 'ES256', kid: this.#kid }))}.${b64(JSON.stringify(claims))}`;
    return `${signed}.${b64(sign('sha256', Buffer.from(signed), { key: this.#key, dsaEncoding: 'ieee-p1363' }))}`;
  }

  /** verify checks signature, issuer, time window and audience; undefined for any token that is not a valid one of ours. */
  verify(token: string, audience: string, now = Date.now()): VerifiedToken | undefined {
    const parts = token.split('.');
    if (parts.length !== 3 || token.length > 16_384) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    if (!verify('sha256', Buffer.from(`${header}.${payload}`), { key: this.#public, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))) return undefined;
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Claims;
    } catch {
      return undefined;
    }
    return checkClaims(claims, this.issuer, audience, Math.floor(now / 1000));
  }
}

function checkClaims(c: Claims, issuer: string, audience: string, now: number): VerifiedToken | undefined {
  const k = c['kubernetes.io'];
  const audiences = Array.isArray(c.aud) ? c.aud : [c.aud];
  if (c.iss !== issuer || typeof c.exp !== 'number' || c.exp <= now || (typeof c.nbf === 'number' && c.nbf > now + 60)) return undefined;
  if (!audiences.includes(audience) || !k || typeof k.namespace !== 'string') return undefined;
  const sa = k.serviceaccount;
  if (typeof sa?.name !== 'string' || typeof sa.uid !== 'string' || c.sub !== `system:serviceaccount:${k.namespace}:${sa.name}`) return undefined;
  const ref = (o: { name?: unknown; uid?: unknown } | undefined) => (typeof o?.name === 'string' && typeof o.uid === 'string' ? { name: o.name, uid: o.uid } : undefined);
  const pod = ref(k.pod);
  const secret = ref(k.secret);
  return {
    namespace: k.namespace,
    serviceAccount: { name: sa.name, uid: sa.uid },
    ...(pod ? { pod } : {}),
    ...(secret ? { secret } : {}),
    audiences: audiences.filter((a): a is string => typeof a === 'string'),
    expiresAt: c.exp * 1000,
    id: typeof c.jti === 'string' ? c.jti : '',
  };
}
