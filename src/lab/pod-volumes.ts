import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { ConfigMap, ConfigMapProjection, Container, DownwardAPIVolumeFile, KeyToPath, Pod, Secret, ServiceAccountTokenProjection, Volume } from 'kubernetes-types/core/v1.js';

/**
 * Pod volumes in the lab, as kubelet's volume manager makes them for the
 * kinds the deploy/ manifests and tutorials use: `configMap` and `secret`
 * (the keys, or the `items` asked for, written as files with
 * `defaultMode`/`mode`),
 * `projected` (serviceAccountToken from the TokenRequest API, bound to the
 * pod; configMap; downwardAPI fieldRefs: what ServiceAccount admission's
 * `kube-api-access-*` volume holds), `emptyDir` (a directory of the pod's
 * own), `hostPath` (the host's path itself). Tokens are renewed at 80% of
 * their lifetime, as kubelet does (refreshTokens). Each lives under the pod's directory in POD_DIR_ROOT (a tmpfs on
 * /run) and is bind-mounted at the container's `mountPath` inside the
 * container's own mount namespace (`ip netns exec` makes one, a slave of the
 * host's, so nothing leaks out; mount-script.ts, which also makes mount
 * points the host lacks without making them on the host).
 * Other volume kinds are an error that names them (CreateContainerConfigError).
 * An edited ConfigMap reaches running containers (refreshConfigMapVolumes),
 * each changed file replaced by a rename, as kubelet's atomic writer does
 * (ferry dns's `reload` then sees it); a subPath mount keeps the old file,
 * as in Kubernetes.
 */

export const POD_DIR_ROOT = '/run/ferry-lab/pods';

/** podDir is where a pod's volumes live; `id` is its pod namespace name, unique per pod uid even for hostNetwork pods. */
export const podDir = (id: string) => join(POD_DIR_ROOT, id);

/** BindMount: `source` on the host appears at `target` in the container. */
export interface BindMount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** VolumeError is a volume the lab cannot make; `missing` names a ConfigMap not (yet) there, which kubelet retries. */
export class VolumeError extends Error {
  readonly missing: boolean;
  constructor(message: string, missing = false) {
    super(message);
    this.name = 'VolumeError';
    this.missing = missing;
  }
}

/** Looks a ConfigMap up; undefined when there is none. */
export type ConfigMapGetter = (namespace: string, name: string) => Promise<ConfigMap | undefined>;

/** Asks for a token of the pod's ServiceAccount bound to the pod (TokenRequest); rejects when the account does not exist (yet). */
export type TokenGetter = (pod: Pod, expirationSeconds: number, audience: string | undefined) => Promise<string>;

/** Looks a Secret up; undefined when there is none. */
export type SecretGetter = (namespace: string, name: string) => Promise<Secret | undefined>;

/** VolumeSources: where volume contents come from (the node agent's API client). */
export interface VolumeSources {
  configMap: ConfigMapGetter;
  secret?: SecretGetter;
  token?: TokenGetter;
}

/** safeRelative refuses a key path that would leave its volume (`..`, absolute), as the apiserver's validation does. */
function safeRelative(path: string): string {
  const p = normalize(path);
  if (p.startsWith('/') || p === '..' || p.startsWith('../')) throw new VolumeError(`volume file path ${JSON.stringify(path)} must be relative and stay inside the volume`);
  return p;
}

/** syncFile makes a file hold content with mode: replaced by a rename when it differs; true when it changed. */
function syncFile(file: string, content: Buffer, mode: number): boolean {
  let old: Buffer | undefined;
  try {
    old = readFileSync(file);
  } catch {
    old = undefined;
  }
  if (old?.equals(content)) return false;
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.ferry-${process.pid}.tmp`;
  writeFileSync(tmp, content);
  chmodSync(tmp, mode);
  renameSync(tmp, file);
  return true;
}

/** removeOthers deletes what is in dir but not among the wanted relative paths (or their parent directories); true when it removed any. */
function removeOthers(dir: string, wanted: ReadonlySet<string>, under = ''): boolean {
  let removed = false;
  for (const entry of readdirSync(join(dir, under), { withFileTypes: true })) {
    const rel = under ? `${under}${sep}${entry.name}` : entry.name;
    if (wanted.has(rel)) continue;
    if (entry.isDirectory() && [...wanted].some((w) => w.startsWith(`${rel}${sep}`))) {
      removed = removeOthers(dir, wanted, rel) || removed;
      continue;
    }
    rmSync(join(dir, rel), { recursive: true, force: true });
    removed = true;
  }
  return removed;
}

type Files = Map<string, { content: Buffer; mode: number }>;

/** KeySource is a ConfigMap or Secret reference in a volume: its name, the keys asked for, whether it may be missing. */
interface KeySource {
  name?: string;
  items?: KeyToPath[];
  optional?: boolean;
}

/** keyFiles adds a ConfigMap's or Secret's keys (or the items asked for) to `files`, by relative path. */
function keyFiles(files: Files, volume: string, what: string, src: KeySource, keys: Map<string, Buffer> | undefined, defaultMode: number): void {
  if (!keys) {
    if (src.optional) return;
    throw new VolumeError(`MountVolume.SetUp failed for volume "${volume}" : ${what} "${src.name}" not found`, true);
  }
  for (const item of src.items ?? [...keys.keys()].map((key): KeyToPath => ({ key, path: key }))) {
    const content = keys.get(item.key);
    if (content === undefined) {
      if (src.optional) continue;
      throw new VolumeError(`MountVolume.SetUp failed for volume "${volume}" : ${what} "${src.name}" has no key "${item.key}"`);
    }
    files.set(safeRelative(item.path), { content, mode: item.mode ?? defaultMode });
  }
}

/** configMapFiles adds the ConfigMap's keys (or items) to `files`, by relative path. */
async function configMapFiles(files: Files, volume: string, pod: Pod, src: ConfigMapProjection, defaultMode: number, get: ConfigMapGetter): Promise<void> {
  const cm = await get(pod.metadata?.namespace ?? 'default', src.name ?? '');
  const keys = cm && new Map<string, Buffer>([
    ...Object.entries(cm.data ?? {}).map(([k, v]): [string, Buffer] => [k, Buffer.from(v)]),
    ...Object.entries(cm.binaryData ?? {}).map(([k, v]): [string, Buffer] => [k, Buffer.from(v, 'base64')]),
  ]);
  keyFiles(files, volume, 'configmap', src, keys, defaultMode);
}

/** secretFiles adds the Secret's keys (or items), decoded, to `files`. */
async function secretFiles(files: Files, volume: string, pod: Pod, src: KeySource, defaultMode: number, get: SecretGetter | undefined): Promise<void> {
  const secret = await get?.(pod.metadata?.namespace ?? 'default', src.name ?? '');
  const keys = secret && new Map(Object.entries(secret.data ?? {}).map(([k, v]): [string, Buffer] => [k, Buffer.from(v, 'base64')]));
  keyFiles(files, volume, 'secret', src, keys, defaultMode);
}

/** fieldFile is a downwardAPI file's content: the fields kubelet projects from the pod's metadata. */
function fieldFile(volume: string, pod: Pod, f: DownwardAPIVolumeFile): string {
  const path = f.fieldRef?.fieldPath;
  const pairs = (m: Record<string, string> | undefined) => Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n');
  const one = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path ?? '');
  if (one) return (one[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[one[2]!] ?? '';
  switch (path) {
    case 'metadata.name': return pod.metadata?.name ?? '';
    case 'metadata.namespace': return pod.metadata?.namespace ?? '';
    case 'metadata.uid': return pod.metadata?.uid ?? '';
    case 'metadata.labels': return pairs(pod.metadata?.labels);
    case 'metadata.annotations': return pairs(pod.metadata?.annotations);
    default: throw new VolumeError(`volume "${volume}": downwardAPI ${path ? `fieldPath ${path}` : 'resourceFieldRef'} is not supported in the lab (metadata name, namespace, uid, labels and annotations are)`);
  }
}

/** projectedFiles gathers a projected volume's files from its sources. */
async function projectedFiles(vol: Volume, pod: Pod, sources: VolumeSources): Promise<Files> {
  const files: Files = new Map();
  const defaultMode = vol.projected!.defaultMode ?? 0o644;
  for (const src of vol.projected!.sources ?? []) {
    if (src.configMap) await configMapFiles(files, vol.name, pod, src.configMap, defaultMode, sources.configMap);
    else if (src.secret) await secretFiles(files, vol.name, pod, src.secret, defaultMode, sources.secret);
    else if (src.downwardAPI) for (const f of src.downwardAPI.items ?? []) files.set(safeRelative(f.path), { content: Buffer.from(fieldFile(vol.name, pod, f)), mode: f.mode ?? defaultMode });
    else if (src.serviceAccountToken) files.set(safeRelative(src.serviceAccountToken.path), { content: Buffer.from(await token(vol.name, pod, src.serviceAccountToken, sources)), mode: defaultMode });
    else throw new VolumeError(`volume "${vol.name}": projected ${Object.keys(src)[0] ?? 'unknown'} sources are not supported in the lab (serviceAccountToken, configMap, secret and downwardAPI are)`);
  }
  return files;
}

async function token(volume: string, pod: Pod, src: ServiceAccountTokenProjection, sources: VolumeSources): Promise<string> {
  if (!sources.token) throw new VolumeError(`volume "${volume}": no apiserver to ask for a ServiceAccount token`);
  try {
    return await sources.token(pod, src.expirationSeconds ?? 3600, src.audience);
  } catch (error) {
    // As kubelet: the account may not exist yet (its controller makes `default`); look again.
    throw new VolumeError(`MountVolume.SetUp failed for volume "${volume}" : failed to fetch token: ${error instanceof Error ? error.message : String(error)}`, true);
  }
}

/** secretVolumeFiles: a `secret` volume's files (`secretName`, items, defaultMode 0644). */
async function secretVolumeFiles(vol: Volume, pod: Pod, from: VolumeSources): Promise<Files> {
  const files: Files = new Map();
  const src = vol.secret!;
  await secretFiles(files, vol.name, pod, { name: src.secretName ?? '', ...(src.items ? { items: src.items } : {}), ...(src.optional !== undefined ? { optional: src.optional } : {}) }, src.defaultMode ?? 0o644, from.secret);
  return files;
}

/** writeFiles makes dir hold exactly `files`; true when anything changed. */
function writeFiles(dir: string, files: Files): boolean {
  mkdirSync(dir, { recursive: true });
  let changed = removeOthers(dir, new Set(files.keys()));
  for (const [rel, f] of files) changed = syncFile(join(dir, rel), f.content, f.mode) || changed;
  return changed;
}

/** writeConfigMap makes dir hold the ConfigMap's keys (or items), keys gone from it removed; true when anything changed. */
async function writeConfigMap(dir: string, pod: Pod, vol: Volume, get: ConfigMapGetter): Promise<boolean> {
  const files: Files = new Map();
  await configMapFiles(files, vol.name, pod, vol.configMap!, vol.configMap!.defaultMode ?? 0o644, get);
  return writeFiles(dir, files);
}

/**
 * prepareVolumes makes the pod's volumes under its directory and returns
 * where each one is on the host, by volume name. Rejects with VolumeError.
 */
export async function prepareVolumes(id: string, pod: Pod, from: VolumeSources): Promise<Map<string, string>> {
  const sources = new Map<string, string>();
  for (const vol of pod.spec?.volumes ?? []) {
    const dir = join(podDir(id), 'volumes', vol.name);
    if (vol.configMap) await writeConfigMap(dir, pod, vol, from.configMap);
    else if (vol.projected) writeFiles(dir, await projectedFiles(vol, pod, from));
    else if (vol.secret) writeFiles(dir, await secretVolumeFiles(vol, pod, from));
    else if (vol.emptyDir) mkdirSync(dir, { recursive: true });
    else if (vol.hostPath) {
      sources.set(vol.name, vol.hostPath.path);
      continue;
    } else {
      const kind = Object.keys(vol).find((k) => k !== 'name') ?? 'unknown';
      throw new VolumeError(`volume "${vol.name}": ${kind} volumes are not supported in the lab (configMap, secret, projected, emptyDir and hostPath are)`);
    }
    sources.set(vol.name, dir);
  }
  return sources;
}

/**
 * refreshConfigMapVolumes rewrites the pod's configMap volumes that read
 * the ConfigMap `name` from what `get` returns now; lists the volumes that
 * changed. A ConfigMap deleted meanwhile leaves the files as they were.
 */
export async function refreshConfigMapVolumes(id: string, pod: Pod, name: string, get: ConfigMapGetter): Promise<string[]> {
  const changed: string[] = [];
  for (const vol of pod.spec?.volumes ?? []) {
    if (vol.configMap?.name !== name) continue;
    try {
      if (await writeConfigMap(join(podDir(id), 'volumes', vol.name), pod, vol, get)) changed.push(vol.name);
    } catch (error) {
      if (!(error instanceof VolumeError)) throw error;
    }
  }
  return changed;
}

/** A token is written again when this share of its lifetime has passed (kubelet: 80%). */
const TOKEN_REFRESH_SHARE = 0.8;

/**
 * refreshTokens rewrites the pod's projected volumes that hold a
 * ServiceAccount token before it expires, as kubelet's token manager does;
 * returns the stop function.
 */
export function refreshTokens(id: string, pod: Pod, from: VolumeSources): () => void {
  const lifetimes = (pod.spec?.volumes ?? []).flatMap((v) => (v.projected?.sources ?? []).flatMap((p) => (p.serviceAccountToken ? [p.serviceAccountToken.expirationSeconds ?? 3600] : [])));
  if (lifetimes.length === 0) return () => undefined;
  const rewrite = async () => {
    for (const vol of pod.spec?.volumes ?? []) {
      if (!(vol.projected?.sources ?? []).some((p) => p.serviceAccountToken)) continue;
      // A failed request keeps the old token until the next round, as kubelet retries.
      await projectedFiles(vol, pod, from).then((files) => writeFiles(join(podDir(id), 'volumes', vol.name), files), () => undefined);
    }
  };
  const timer = setInterval(() => void rewrite(), Math.min(...lifetimes) * 1000 * TOKEN_REFRESH_SHARE);
  timer.unref();
  return () => clearInterval(timer);
}

/** usesConfigMap is whether a pod mounts the ConfigMap `name` as a volume. */
export const usesConfigMap = (pod: Pod, name: string) => (pod.spec?.volumes ?? []).some((v) => v.configMap?.name === name);

/** containerMounts lists a container's volumeMounts as bind mounts from the prepared volumes. */
export function containerMounts(c: Container, sources: ReadonlyMap<string, string>): BindMount[] {
  return (c.volumeMounts ?? []).map((m) => {
    const source = sources.get(m.name);
    if (source === undefined) throw new VolumeError(`container ${c.name}: volumeMount ${JSON.stringify(m.name)} names no volume of the pod`);
    return { source: m.subPath ? join(source, safeRelative(m.subPath)) : source, target: m.mountPath, readOnly: m.readOnly ?? false };
  });
}

/** removePodDir deletes a pod's volumes; idempotent. */
export function removePodDir(id: string): void {
  rmSync(podDir(id), { recursive: true, force: true });
}

/** removePodDirs deletes the directories of every pod whose id starts with `prefix` (a node's leftovers). */
export function removePodDirs(prefix: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(POD_DIR_ROOT);
  } catch {
    return;
  }
  for (const e of entries) if (e.startsWith(prefix)) removePodDir(e);
}
