import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { getErrorMessage } from '../util/errors.ts';
import { KubeconfigError } from './errors.ts';

/**
 * ClientConfig says how to reach one apiserver: its URL (`https://…`,
 * `http://…` or `unix:///path/to/socket`), the TLS material, and the
 * credentials. Buffers hold PEM data already read from files.
 */
export interface ClientConfig {
  readonly server: string;
  readonly ca?: Buffer;
  readonly insecureSkipTlsVerify?: boolean;
  readonly tlsServerName?: string;
  readonly clientCert?: Buffer;
  readonly clientKey?: Buffer;
  readonly token?: string;
  /** Re-read before use (service account tokens rotate); wins over `token`. */
  readonly tokenFile?: string;
}

export interface LoadOptions {
  /** `--kubeconfig`: path of a kubeconfig file. */
  readonly kubeconfig?: string | undefined;
  /** `--server` / `--master`: overrides the kubeconfig's server, or is used alone. */
  readonly server?: string | undefined;
  /** A kubeconfig context to use instead of its current-context (CoreDNS's `kubeconfig FILE CONTEXT`). */
  readonly context?: string | undefined;
  /** Environment to read `KUBECONFIG` and `KUBERNETES_SERVICE_*` from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Service account directory (default /var/run/secrets/kubernetes.io/serviceaccount); a seam for tests. */
  readonly serviceAccountDir?: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * loadClientConfig resolves the apiserver connection the way kube-proxy does:
 * a kubeconfig (`--kubeconfig`, else `$KUBECONFIG`) with `--server`
 * overriding its server; else a plain `--server`; else the in-cluster
 * service account. Throws KubeconfigError naming the file and the field.
 */
export function loadClientConfig(options: LoadOptions): ClientConfig {
  const env = options.env ?? process.env;
  const files = options.kubeconfig ? [options.kubeconfig] : (env.KUBECONFIG ?? '').split(':').filter((f) => f !== '' && existsSync(f));
  if (files.length > 0) {
    const config = fromKubeconfig(files, options.context);
    return options.server ? { ...config, server: options.server } : config;
  }
  if (options.server) return { server: options.server };
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) return inClusterConfig(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  throw new KubeconfigError('no apiserver configured: give --kubeconfig or --server, set KUBECONFIG, or run in a pod with a service account');
}

/** inClusterConfig is rest.InClusterConfig: KUBERNETES_SERVICE_HOST/PORT plus the mounted token and CA. */
export function inClusterConfig(env: NodeJS.ProcessEnv, dir: string): ClientConfig {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  const tokenFile = join(dir, 'token');
  if (!existsSync(tokenFile)) throw new KubeconfigError(`in-cluster config: ${tokenFile} does not exist`);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { server: `https://${hostPart}:${port}`, tokenFile, ca: readPem(join(dir, 'ca.crt'), 'in-cluster CA') };
}

interface Named<T> {
  name?: string;
  cluster?: T;
  user?: T;
  context?: T;
}

interface KubeconfigFile {
  file: string;
  doc: {
    'current-context'?: string;
    clusters?: Array<Named<Record<string, unknown>>>;
    users?: Array<Named<Record<string, unknown>>>;
    contexts?: Array<Named<Record<string, unknown>>>;
  };
}

function readKubeconfig(file: string): KubeconfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new KubeconfigError(`kubeconfig ${file}: ${getErrorMessage(error)}`, { cause: error });
  }
  try {
    const doc = (parseYaml(text) ?? {}) as KubeconfigFile['doc'];
    if (typeof doc !== 'object') throw new Error('not a mapping');
    return { file, doc };
  } catch (error) {
    throw new KubeconfigError(`kubeconfig ${file}: invalid YAML: ${getErrorMessage(error)}`, { cause: error });
  }
}

/** Finds the first entry named `name` across files (first file wins, as kubectl merges), with the file it came from. */
function lookup(files: KubeconfigFile[], list: 'clusters' | 'users' | 'contexts', name: string): { file: string; value: Record<string, unknown> } | undefined {
  const field = list === 'clusters' ? 'cluster' : list === 'users' ? 'user' : 'context';
  for (const f of files) {
    const entry = f.doc[list]?.find((e) => e.name === name);
    if (entry) return { file: f.file, value: (entry[field] ?? {}) as Record<string, unknown> };
  }
  return undefined;
}

function fromKubeconfig(paths: string[], contextName?: string): ClientConfig {
  const files = paths.map(readKubeconfig);
  const where = paths.join(':');
  const current = contextName ?? files.map((f) => f.doc['current-context']).find((c) => c);
  if (!current) throw new KubeconfigError(`kubeconfig ${where}: no current-context`);
  const context = lookup(files, 'contexts', current);
  if (!context) throw new KubeconfigError(`kubeconfig ${where}: context ${JSON.stringify(current)} not found`);
  const clusterName = String(context.value.cluster ?? '');
  const cluster = lookup(files, 'clusters', clusterName);
  if (!cluster) throw new KubeconfigError(`kubeconfig ${where}: cluster ${JSON.stringify(clusterName)} of context ${JSON.stringify(current)} not found`);
  const server = cluster.value.server;
  if (typeof server !== 'string' || server === '') throw new KubeconfigError(`kubeconfig ${cluster.file}: cluster ${JSON.stringify(clusterName)} has no server`);
  const userName = context.value.user;
  const user = typeof userName === 'string' && userName !== '' ? lookup(files, 'users', userName) : undefined;
  if (typeof userName === 'string' && userName !== '' && !user) throw new KubeconfigError(`kubeconfig ${where}: user ${JSON.stringify(userName)} not found`);
  const u = user?.value ?? {};
  for (const plugin of ['exec', 'auth-provider']) {
    if (u[plugin] !== undefined) throw new KubeconfigError(`kubeconfig ${user!.file}: user ${JSON.stringify(userName)} uses ${plugin} credentials, which ferry does not support; use a token, tokenFile or client certificate`);
  }
  const c = cluster.value;
  const userFile = user?.file ?? cluster.file;
  const tokenFile = str(u, 'tokenFile');
  return {
    server,
    ca: material(c, 'certificate-authority-data', 'certificate-authority', cluster.file, 'cluster CA'),
    insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: str(c, 'tls-server-name'),
    clientCert: material(u, 'client-certificate-data', 'client-certificate', userFile, 'client certificate'),
    clientKey: material(u, 'client-key-data', 'client-key', userFile, 'client key'),
    token: str(u, 'token'),
    tokenFile: tokenFile ? resolvePath(userFile, tokenFile) : undefined,
  };
}

function str(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Reads `<x>-data` (base64) or `<x>` (a path relative to the kubeconfig's directory). */
function material(obj: Record<string, unknown>, dataKey: string, fileKey: string, kubeconfig: string, what: string): Buffer | undefined {
  const data = str(obj, dataKey);
  if (data) return Buffer.from(data, 'base64');
  const file = str(obj, fileKey);
  return file ? readPem(resolvePath(kubeconfig, file), what) : undefined;
}

function resolvePath(kubeconfig: string, file: string): string {
  return isAbsolute(file) ? file : join(dirname(kubeconfig), file);
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new KubeconfigError(`${what} ${file}: ${getErrorMessage(error)}`, { cause: error });
  }
}
