import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { ConfigMap, Container, Pod, Volume } from 'kubernetes-types/core/v1.js';

/**
 * Pod volumes in the lab, as kubelet's volume manager makes them for the
 * kinds the deploy/ manifests and tutorials use: `configMap` (the keys, or
 * the `items` asked for, written as files with `defaultMode`/`mode`),
 * `emptyDir` (a directory of the pod's own), `hostPath` (the host's path
 * itself). Each lives under the pod's directory in POD_DIR_ROOT (a tmpfs on
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

/** writeConfigMap makes dir hold the ConfigMap's keys (or items); true when anything changed. */
async function writeConfigMap(dir: string, pod: Pod, vol: Volume, get: ConfigMapGetter): Promise<boolean> {
  const src = vol.configMap!;
  const namespace = pod.metadata?.namespace ?? 'default';
  const cm = await get(namespace, src.name ?? '');
  mkdirSync(dir, { recursive: true });
  if (!cm) {
    if (src.optional) return false;
    throw new VolumeError(`MountVolume.SetUp failed for volume "${vol.name}" : configmap "${src.name}" not found`, true);
  }
  const files = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) files.set(k, Buffer.from(v));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) files.set(k, Buffer.from(v, 'base64'));
  const items = src.items ?? [...files.keys()].map((key) => ({ key, path: key, mode: undefined as number | undefined }));
  const wanted = new Map<string, { content: Buffer; mode: number }>();
  for (const item of items) {
    const content = files.get(item.key);
    if (content === undefined) {
      if (src.optional) continue;
      throw new VolumeError(`MountVolume.SetUp failed for volume "${vol.name}" : configmap "${src.name}" has no key "${item.key}"`);
    }
    wanted.set(safeRelative(item.path), { content, mode: item.mode ?? src.defaultMode ?? 0o644 });
  }
  // Keys gone from the ConfigMap go from the volume too.
  let changed = removeOthers(dir, new Set(wanted.keys()));
  for (const [rel, f] of wanted) changed = syncFile(join(dir, rel), f.content, f.mode) || changed;
  return changed;
}

/**
 * prepareVolumes makes the pod's volumes under its directory and returns
 * where each one is on the host, by volume name. Rejects with VolumeError.
 */
export async function prepareVolumes(id: string, pod: Pod, get: ConfigMapGetter): Promise<Map<string, string>> {
  const sources = new Map<string, string>();
  for (const vol of pod.spec?.volumes ?? []) {
    const dir = join(podDir(id), 'volumes', vol.name);
    if (vol.configMap) await writeConfigMap(dir, pod, vol, get);
    else if (vol.emptyDir) mkdirSync(dir, { recursive: true });
    else if (vol.hostPath) {
      sources.set(vol.name, vol.hostPath.path);
      continue;
    } else {
      const kind = Object.keys(vol).find((k) => k !== 'name') ?? 'unknown';
      throw new VolumeError(`volume "${vol.name}": ${kind} volumes are not supported in the lab (configMap, emptyDir and hostPath are)`);
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
