import test from 'ava';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ISSUER, ServiceAccountTokenSigner } from '../../../src/apiserver-stub/serviceaccount/token-signer.ts';

const subject = { namespace: 'team', serviceAccount: { name: 'robot', uid: 'sa-uid' } };
const HOUR = 3_600_000;

function claims(token: string): any {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
}

test('token signer: an issued token has kube claims and verifies until it expires', (t) => {
  const signer = ServiceAccountTokenSigner.ephemeral();
  const now = Date.UTC(2026, 0, 1);
  const token = signer.issue({ ...subject, pod: { name: 'web-0', uid: 'pod-uid' } }, [DEFAULT_ISSUER], now + HOUR, now);
  const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
  t.is(header.alg, 'ES256');
  t.regex(header.kid, /^[A-Za-z0-9_-]{43}$/);
  t.like(claims(token), { iss: DEFAULT_ISSUER, sub: 'system:serviceaccount:team:robot', aud: [DEFAULT_ISSUER], exp: (now + HOUR) / 1000, nbf: now / 1000, 'kubernetes.io': { namespace: 'team', serviceaccount: { name: 'robot', uid: 'sa-uid' }, pod: { name: 'web-0', uid: 'pod-uid' } } });
  t.like(signer.verify(token, DEFAULT_ISSUER, now + 1000), { namespace: 'team', serviceAccount: { name: 'robot', uid: 'sa-uid' }, pod: { name: 'web-0', uid: 'pod-uid' } });
  t.is(signer.verify(token, DEFAULT_ISSUER, now + HOUR), undefined, 'expired at exp');
  t.is(signer.verify(token, 'https://other.example', now), undefined, 'another audience');
});

test('token signer: tampered, foreign-key and malformed tokens do not verify', (t) => {
  const signer = ServiceAccountTokenSigner.ephemeral();
  const now = Date.now();
  const token = signer.issue(subject, [DEFAULT_ISSUER], now + HOUR, now);
  const [h, p, s] = token.split('.') as [string, string, string];
  const forged = Buffer.from(JSON.stringify({ ...claims(token), sub: 'system:serviceaccount:kube-system:admin' })).toString('base64url');
  t.is(signer.verify(`${h}.${forged}.${s}`, DEFAULT_ISSUER), undefined);
  t.is(ServiceAccountTokenSigner.ephemeral().verify(token, DEFAULT_ISSUER), undefined, 'another key');
  for (const bad of ['', 'a.b', `${h}.${p}`, `${h}.${p}.${s}.x`, `${h}.!!.${s}`, 'x'.repeat(20_000)]) t.is(signer.verify(bad, DEFAULT_ISSUER), undefined, bad.slice(0, 20));
});

test('token signer: the key file is made once (0600) and a restart verifies tokens issued before it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sa-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'pki', 'sa.key');
  const first = ServiceAccountTokenSigner.fromFile(file);
  t.is(statSync(file).mode & 0o777, 0o600);
  const token = first.issue(subject, [DEFAULT_ISSUER], Date.now() + HOUR);
  t.truthy(ServiceAccountTokenSigner.fromFile(file).verify(token, DEFAULT_ISSUER));
  t.is(ServiceAccountTokenSigner.fromFile(file, 'https://elsewhere').verify(token, DEFAULT_ISSUER), undefined, 'same key, another issuer');
});
