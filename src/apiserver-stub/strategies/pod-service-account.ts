import type { Container, Pod, PodSpec, Volume } from 'kubernetes-types/core/v1.js';
import { generateName } from '../../kube/names.ts';

/** Where in-cluster clients find their token, CA and namespace (client-go's rest.InClusterConfig). */
export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** kubelet asks for an hour and 7 s, so the token's age shows it was made for a pod (kube's warning threshold). */
const TOKEN_EXPIRATION_S = 3607;

/** accessVolume is the projected volume kube's ServiceAccount admission adds: token, cluster CA, namespace. */
function accessVolume(): Volume {
  return {
    name: generateName('kube-api-access-'),
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: TOKEN_EXPIRATION_S, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

const mountsServiceAccount = (c: Container) => (c.volumeMounts ?? []).some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT);

/**
 * admitServiceAccount is kube's ServiceAccount admission for a new pod: the
 * pod runs as `default` unless it names another account (and
 * `serviceAccount`, the deprecated spelling, follows it); unless
 * `automountServiceAccountToken: false`, a `kube-api-access-*` projected
 * volume is added and mounted read-only in every container that does not
 * mount something there itself. kube also refuses a pod whose account does
 * not exist yet; Ferry admits it (the token request fails later), since
 * pods are often created before the controller made `default`.
 */
export function admitServiceAccount(pod: Pod): void {
  const spec = pod.spec as PodSpec | undefined;
  if (!spec) return;
  const account = spec.serviceAccountName || spec.serviceAccount || 'default';
  spec.serviceAccountName = account;
  spec.serviceAccount = account;
  if (spec.automountServiceAccountToken === false) return;
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  if (containers.length === 0 || containers.every(mountsServiceAccount)) return;
  const volume = accessVolume();
  spec.volumes = [...(spec.volumes ?? []), volume];
  for (const c of containers) {
    if (mountsServiceAccount(c)) continue;
    c.volumeMounts = [...(c.volumeMounts ?? []), { name: volume.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT }];
  }
}
