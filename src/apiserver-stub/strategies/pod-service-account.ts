import type { Container, Pod, PodSpec, ServiceAccount, Volume } from 'kubernetes-types/core/v1.js';
import { generateName } from '../../kube/names.ts';
import type { KubeObject } from '../../kube/types.ts';
import { apiErrors } from '../errors.ts';
import type { Strategy } from '../resource.ts';

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

/** accountNameOf is the account a pod runs as: `serviceAccountName`, else the deprecated `serviceAccount`, else `default`. */
const accountNameOf = (spec: PodSpec): string => spec.serviceAccountName || spec.serviceAccount || 'default';

/**
 * admitServiceAccount is the mutating half of kube's ServiceAccount
 * admission for a new pod: the pod runs as `default` unless it names another
 * account (and `serviceAccount`, the deprecated spelling, follows it); unless
 * the pod (or else its account) says `automountServiceAccountToken: false`, a
 * `kube-api-access-*` projected volume is added and mounted read-only in
 * every container that does not mount something there itself; a pod without
 * imagePullSecrets takes its account's.
 */
export function admitServiceAccount(pod: Pod, account?: ServiceAccount): void {
  const spec = pod.spec as PodSpec | undefined;
  if (!spec) return;
  const name = accountNameOf(spec);
  spec.serviceAccountName = name;
  spec.serviceAccount = name;
  if ((spec.imagePullSecrets ?? []).length === 0 && (account?.imagePullSecrets ?? []).length > 0) {
    spec.imagePullSecrets = account!.imagePullSecrets!.map((s) => ({ name: s.name }));
  }
  if ((spec.automountServiceAccountToken ?? account?.automountServiceAccountToken) === false) return;
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  if (containers.length === 0 || containers.every(mountsServiceAccount)) return;
  const volume = accessVolume();
  spec.volumes = [...(spec.volumes ?? []), volume];
  for (const c of containers) {
    if (mountsServiceAccount(c)) continue;
    c.volumeMounts = [...(c.volumeMounts ?? []), { name: volume.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT }];
  }
}

/** Reads one ServiceAccount from the store (undefined: there is none). */
export type ServiceAccountLookup = (namespace: string, name: string) => Promise<ServiceAccount | undefined>;

/** The annotation kubelet puts on the API copy of a static pod. */
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
/**
 * kube looks `default` up 10 times, 100-200 ms apart, before refusing: the
 * serviceaccount controller makes it just after the namespace, so a pod
 * created at once in a new namespace waits for it instead of failing.
 */
const DEFAULT_ACCOUNT_ATTEMPTS = 10;

async function findServiceAccount(lookup: ServiceAccountLookup, namespace: string, name: string): Promise<ServiceAccount | undefined> {
  const attempts = name === 'default' ? DEFAULT_ACCOUNT_ATTEMPTS : 1;
  const intervalMs = 100 + Math.floor(Math.random() * 100);
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, intervalMs));
    const account = await lookup(namespace, name);
    if (account) return account;
  }
  return undefined;
}

/**
 * admitPodServiceAccount is kube's ServiceAccount admission plugin on pod
 * create: a pod whose account does not exist is refused with 403 (a
 * controller's create fails the same way, and it records FailedCreate and
 * retries); a mirror pod may not name an account and is left alone.
 */
export async function admitPodServiceAccount(pod: Pod, lookup: ServiceAccountLookup): Promise<void> {
  const spec = pod.spec as PodSpec | undefined;
  const meta = pod.metadata ?? {};
  const podName = meta.name || meta.generateName || '';
  if (!spec || meta.namespace === undefined) return;
  if (meta.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) {
    if (spec.serviceAccountName) throw apiErrors.forbidden({ group: '', resource: 'pods' }, podName, 'a mirror pod may not reference service accounts');
    return;
  }
  const name = accountNameOf(spec);
  const account = await findServiceAccount(lookup, meta.namespace, name);
  if (!account) {
    throw apiErrors.forbidden({ group: '', resource: 'pods' }, podName, `error looking up service account ${meta.namespace}/${name}: serviceaccount "${name}" not found`);
  }
  admitServiceAccount(pod, account);
}

/** withServiceAccountAdmission adds the ServiceAccount admission plugin to the pod strategy. */
export function withServiceAccountAdmission(pods: Strategy, lookup: ServiceAccountLookup): Strategy {
  return { ...pods, admitCreate: (pod: KubeObject) => admitPodServiceAccount(pod as Pod, lookup) };
}
