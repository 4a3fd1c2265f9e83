import { FerryError } from '../../util/errors.ts';

/**
 * Store errors: one class per outcome the REST layer maps to a Status, each
 * with a stable `code` (FERRY_ERR_STORE_*), so callers branch on `code` or
 * `instanceof`, never on messages. Shaped after kine's sentinel errors
 * (ErrKeyExists, ErrCompacted, ErrFutureRev).
 */

/** StoreError is the base of every storage error. */
export class StoreError extends FerryError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}

/** KeyExistsError: create of a key that is present (→ 409 AlreadyExists). */
export class KeyExistsError extends StoreError {
  readonly key: string;
  constructor(key: string) {
    super('FERRY_ERR_STORE_KEY_EXISTS', `key already exists: ${key}`);
    this.name = 'KeyExistsError';
    this.key = key;
  }
}

/** KeyNotFoundError: update or delete of an absent key (→ 404 NotFound). */
export class KeyNotFoundError extends StoreError {
  readonly key: string;
  constructor(key: string) {
    super('FERRY_ERR_STORE_KEY_NOT_FOUND', `key not found: ${key}`);
    this.name = 'KeyNotFoundError';
    this.key = key;
  }
}

/**
 * ConflictError: the key's revision is not the one the caller expected
 * (→ 409 Conflict, "the object has been modified").
 */
export class ConflictError extends StoreError {
  readonly key: string;
  readonly expectedRevision: number;
  readonly actualRevision: number;
  constructor(key: string, expectedRevision: number, actualRevision: number) {
    super(
      'FERRY_ERR_STORE_CONFLICT',
      `conflict on ${key}: expected revision ${expectedRevision}, found ${actualRevision}`,
    );
    this.name = 'ConflictError';
    this.key = key;
    this.expectedRevision = expectedRevision;
    this.actualRevision = actualRevision;
  }
}

/**
 * CompactedError: the requested revision is older than the retained history
 * (→ 410 Expired). `compactRevision` is the newest forgotten revision: reads and
 * watches from it or later still work. The message matches kube-apiserver's
 * watch cache, "too old resource version: <requested> (<compactRevision>)".
 */
export class CompactedError extends StoreError {
  readonly requestedRevision: number;
  readonly compactRevision: number;
  constructor(requestedRevision: number, compactRevision: number) {
    super('FERRY_ERR_STORE_COMPACTED', `too old resource version: ${requestedRevision} (${compactRevision})`);
    this.name = 'CompactedError';
    this.requestedRevision = requestedRevision;
    this.compactRevision = compactRevision;
  }
}

/** FutureRevisionError: the requested revision is newer than the store's (→ 504/Timeout in kube, "Too large resource version"). */
export class FutureRevisionError extends StoreError {
  readonly requestedRevision: number;
  readonly currentRevision: number;
  constructor(requestedRevision: number, currentRevision: number) {
    super(
      'FERRY_ERR_STORE_FUTURE_REVISION',
      `Too large resource version: ${requestedRevision}, current: ${currentRevision}`,
    );
    this.name = 'FutureRevisionError';
    this.requestedRevision = requestedRevision;
    this.currentRevision = currentRevision;
  }
}

/** StoreClosedError: the store was closed (or failed) before or during the call (→ 503). */
export class StoreClosedError extends StoreError {
  constructor(message = 'store is closed', options?: { cause?: unknown }) {
    super('FERRY_ERR_STORE_CLOSED', message, options);
    this.name = 'StoreClosedError';
  }
}

/** SlowWatcherError: a watcher fell too far behind and was dropped (kine's slow-consumer drop); the client resumes or relists. */
export class SlowWatcherError extends StoreError {
  readonly queued: number;
  constructor(queued: number) {
    super('FERRY_ERR_STORE_SLOW_WATCHER', `watcher dropped: ${queued} events queued without being consumed`);
    this.name = 'SlowWatcherError';
    this.queued = queued;
  }
}

/** CorruptStoreError: a data file cannot be read back (not a torn last record, which is repaired). */
export class CorruptStoreError extends StoreError {
  readonly file: string;
  constructor(file: string, detail: string) {
    super('FERRY_ERR_STORE_CORRUPT', `corrupt store file ${file}: ${detail}`);
    this.name = 'CorruptStoreError';
    this.file = file;
  }
}

/** UnknownBackendError: createBackend was asked for a kind no driver registered. */
export class UnknownBackendError extends StoreError {
  readonly kind: string;
  constructor(kind: string, known: readonly string[]) {
    super('FERRY_ERR_STORE_UNKNOWN_BACKEND', `unknown storage backend "${kind}" (known: ${known.join(', ')})`);
    this.name = 'UnknownBackendError';
    this.kind = kind;
  }
}

/** DataDirLockedError: another live store (process `pid`) holds the data directory. */
export class DataDirLockedError extends StoreError {
  readonly dataDir: string;
  readonly pid: number;
  constructor(dataDir: string, pid: number) {
    super('FERRY_ERR_STORE_LOCKED', `data directory ${dataDir} is in use by process ${pid}`);
    this.name = 'DataDirLockedError';
    this.dataDir = dataDir;
    this.pid = pid;
  }
}

/** StoreUnavailableError: the store's server (etcd) could not be reached or failed the call (→ 503/500). */
export class StoreUnavailableError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_STORE_UNAVAILABLE', message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** UnencodableValueError: a value cannot be serialised for storage (too deep, a cycle); the write took nothing. */
export class UnencodableValueError extends StoreError {
  constructor(key: string, detail: string) {
    super('FERRY_ERR_STORE_UNENCODABLE', `the value for ${key} cannot be encoded: ${detail}`);
    this.name = 'UnencodableValueError';
  }
}
