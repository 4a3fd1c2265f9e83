import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ensureCa, issueClientCertificate } from '../../apiserver-stub/pki.ts';
import type { LabPaths } from './state.ts';

/**
 * Every lab component under its own name with only its bootstrap role, as
 * kubeadm sets a cluster up: the controller manager is
 * `system:kube-controller-manager`, the scheduler `system:kube-scheduler`,
 * each node agent `system:node:<name>` in `system:nodes` (kube's Node
 * authorizer), each with a client certificate from the lab's CA in a
 * kubeconfig of its own (kubeadm's controller-manager.conf, scheduler.conf,
 * kubelet.conf). The proxies and DNS run as pods under their
 * ServiceAccounts (data-plane.ts). The CA is made here, before the
 * apiserver starts, so the components start at once; the apiserver reuses it.
 */
export interface ComponentIdentity {
  /** The kubeconfig's file name, without `.conf`. */
  readonly file: string;
  readonly user: string;
  readonly groups: readonly string[];
}

export const controllerManagerIdentity: ComponentIdentity = { file: 'controller-manager', user: 'system:kube-controller-manager', groups: [] };
export const schedulerIdentity: ComponentIdentity = { file: 'scheduler', user: 'system:kube-scheduler', groups: [] };
export const nodeIdentity = (node: string): ComponentIdentity => ({ file: `node-${node}`, user: `system:node:${node}`, groups: ['system:nodes'] });

export function componentKubeconfigPath(paths: LabPaths, id: ComponentIdentity): string {
  return join(paths.dir, 'components', `${id.file}.conf`);
}

/** writeComponentKubeconfigs issues each identity a certificate and writes its kubeconfig for https://127.0.0.1:<apiPort>. */
export async function writeComponentKubeconfigs(paths: LabPaths, apiPort: number, ids: readonly ComponentIdentity[]): Promise<void> {
  const { caFile } = ensureCa(paths.data);
  mkdirSync(join(paths.dir, 'components'), { recursive: true, mode: 0o700 });
  await Promise.all(ids.map(async (id) => {
    const { cert, key } = await issueClientCertificate(paths.data, id.user, id.groups);
    const kubeconfig = {
      apiVersion: 'v1', kind: 'Config',
      clusters: [{ name: 'lab', cluster: { server: `https://127.0.0.1:${apiPort}`, 'certificate-authority': caFile } }],
      users: [{ name: id.user, user: { 'client-certificate-data': cert.toString('base64'), 'client-key-data': key.toString('base64') } }],
      contexts: [{ name: 'lab', context: { cluster: 'lab', user: id.user } }],
      'current-context': 'lab',
    };
    writeFileSync(componentKubeconfigPath(paths, id), stringify(kubeconfig), { mode: 0o600 });
  }));
}
