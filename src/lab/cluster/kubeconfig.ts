import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Credentials of a TLS apiserver: its CA (PEM) and a bearer token or a client certificate and key (PEM). */
export type KubeconfigCredentials = { readonly ca: Buffer } & ({ readonly token: string } | { readonly clientCert: Buffer; readonly clientKey: Buffer });

function userOf(credentials: KubeconfigCredentials | undefined): Record<string, string> {
  if (!credentials) return {};
  if ('token' in credentials) return { token: credentials.token };
  return { 'client-certificate-data': credentials.clientCert.toString('base64'), 'client-key-data': credentials.clientKey.toString('base64') };
}

/**
 * renderKubeconfig is a kubeconfig with one cluster, context and user named
 * after the lab: the server's CA and the user's token or client certificate
 * for HTTPS. A plain-HTTP
 * server is marked `insecure-skip-tls-verify` (there is no TLS to verify):
 * @kubernetes/client-node refuses an http:// server without it.
 */
export function renderKubeconfig(name: string, server: string, credentials?: KubeconfigCredentials): string {
  const cluster = `ferry-${name}`;
  const trust = credentials ? { 'certificate-authority-data': credentials.ca.toString('base64') } : server.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {};
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, ...trust } }],
    users: [{ name: cluster, user: userOf(credentials) }],
    contexts: [{ name: cluster, context: { cluster, user: cluster, namespace: 'default' } }],
    'current-context': cluster,
  });
}

/** pkiCredentials reads the CA and admin token `ferry apiserver` made in its data dir (apiserver-stub/pki.ts). */
export function pkiCredentials(dataDir: string): KubeconfigCredentials {
  const pki = join(dataDir, 'pki');
  return { ca: readFileSync(join(pki, 'ca.crt')), token: readFileSync(join(pki, 'tokens.csv'), 'utf8').split(',')[0]! };
}

export function writeKubeconfig(path: string, name: string, server: string, credentials?: KubeconfigCredentials): void {
  writeFileSync(path, renderKubeconfig(name, server, credentials), { mode: 0o600 });
}
