import type { Backend, KeyValue, StoredValue } from './storage/backend.ts';
import { ConflictError, KeyExistsError, KeyNotFoundError } from './storage/errors.ts';

/** Writes is the part of the Backend the registry writes through. */
export type Writes = Pick<Backend, 'create' | 'update' | 'delete'>;

/**
 * dryRunWrites checks writes as the store would (exists, revision) and
 * persists nothing, for `?dryRun=All` (kubectl diff, --dry-run=server).
 */
export function dryRunWrites(backend: Backend): Writes {
  const current = async (key: string, expected?: number): Promise<KeyValue> => {
    const kv = await backend.get(key);
    if (!kv) throw new KeyNotFoundError(key);
    if (expected !== undefined && kv.revision !== expected) throw new ConflictError(key, expected, kv.revision);
    return kv;
  };
  return {
    async create(key: string, value: StoredValue): Promise<KeyValue> {
      if (await backend.get(key)) throw new KeyExistsError(key);
      return { key, value, revision: backend.currentRevision() };
    },
    async update(key: string, value: StoredValue, expectedRevision: number): Promise<KeyValue> {
      const kv = await current(key, expectedRevision);
      return { key, value, revision: kv.revision };
    },
    async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
      return current(key, expectedRevision);
    },
  };
}
