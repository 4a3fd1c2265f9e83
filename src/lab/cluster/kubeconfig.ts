import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/** renderKubeconfig is a kubeconfig with one cluster, context and (credential-less) user named after the lab. */
export function renderKubeconfig(name: string, server: string): string {
  const cluster = `ferry-${name}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server } }],
    users: [{ name: cluster, user: {} }],
    contexts: [{ name: cluster, context: { cluster, user: cluster, namespace: 'default' } }],
    'current-context': cluster,
  });
}

export function writeKubeconfig(path: string, name: string, server: string): void {
  writeFileSync(path, renderKubeconfig(name, server), { mode: 0o600 });
}
