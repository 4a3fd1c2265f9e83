import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueClientCertificate, type CertificateAuthority } from '../../apiserver-stub/pki.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import type { LabPaths } from './state.ts';

/**
 * Every lab component under its own name with only its bootstrap role, as
 * kubeadm sets a cluster up: the controller manager is
 * `system:kube-controller-manager`, the scheduler `system:kube-scheduler`,
 * each node agent `system:node:<name>` in `system:nodes` (kube's Node
 * authorizer), each with a client certificate from the lab's CA in a
 * kubeconfig of its own (kubeadm's controller-manager.conf, scheduler.conf,
 * kubelet.conf). The proxies and DNS run as pods under their
 * ServiceAccounts (data-plane.ts). `ferry up` makes the CA before the
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

/** writeComponentKubeconfigs issues each identity a certificate from `ca` and writes its kubeconfig for https://127.0.0.1:<apiPort>. */
export async function writeComponentKubeconfigs(paths: LabPaths, ca: CertificateAuthority, apiPort: number, ids: readonly ComponentIdentity[]): Promise<void> {
  mkdirSync(join(paths.dir, 'components'), { recursive: true, mode: 0o700 });
  const caPem = readFileSync(ca.caFile);
  await Promise.all(ids.map(async (id) => {
    const { cert, key } = await issueClientCertificate(ca, id.user, id.groups);
    writeKubeconfig(componentKubeconfigPath(paths, id), id.file, `https://127.0.0.1:${apiPort}`, { ca: caPem, clientCert: cert, clientKey: key });
  }));
}
