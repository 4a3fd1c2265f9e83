import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/**
 * renderKubeconfig is a kubeconfig with one cluster, context and (credential-less) user named after the lab.
 * A plain-HTTP server is marked `insecure-skip-tls-verify` (there is no TLS to verify): @kubernetes/client-node
 * refuses an http:// server without it.
 */
export function renderKubeconfig(name: string, server: string): string {
  const cluster = `ferry-${name}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, ...(server.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}) } }],
    users: [{ name: cluster, user: {} }],
    contexts: [{ name: cluster, context: { cluster, user: cluster, namespace: 'default' } }],
    'current-context': cluster,
  });
}

export function writeKubeconfig(path: string, name: string, server: string): void {
  writeFileSync(path, renderKubeconfig(name, server), { mode: 0o600 });
}
