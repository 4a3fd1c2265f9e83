import test from 'ava';
import * as errors from '../../../../src/apiserver-stub/storage/errors.ts';
import { FerryError } from '../../../../src/util/errors.ts';

// Every store error: its name, stable code and message, from one table.
const cases: Array<{ error: errors.StoreError; name: string; code: string; message: string }> = [
  { error: new errors.KeyExistsError('/registry/services/a/b'), name: 'KeyExistsError', code: 'FERRY_ERR_STORE_KEY_EXISTS', message: 'key already exists: /registry/services/a/b' },
  { error: new errors.KeyNotFoundError('/k'), name: 'KeyNotFoundError', code: 'FERRY_ERR_STORE_KEY_NOT_FOUND', message: 'key not found: /k' },
  { error: new errors.ConflictError('/k', 3, 5), name: 'ConflictError', code: 'FERRY_ERR_STORE_CONFLICT', message: 'conflict on /k: expected revision 3, found 5' },
  { error: new errors.CompactedError(7, 42), name: 'CompactedError', code: 'FERRY_ERR_STORE_COMPACTED', message: 'too old resource version: 7 (42)' },
  { error: new errors.FutureRevisionError(99, 10), name: 'FutureRevisionError', code: 'FERRY_ERR_STORE_FUTURE_REVISION', message: 'Too large resource version: 99, current: 10' },
  { error: new errors.StoreClosedError(), name: 'StoreClosedError', code: 'FERRY_ERR_STORE_CLOSED', message: 'store is closed' },
  { error: new errors.SlowWatcherError(11), name: 'SlowWatcherError', code: 'FERRY_ERR_STORE_SLOW_WATCHER', message: 'watcher dropped: 11 events queued without being consumed' },
  { error: new errors.CorruptStoreError('/d/wal', 'bad record at byte 3'), name: 'CorruptStoreError', code: 'FERRY_ERR_STORE_CORRUPT', message: 'corrupt store file /d/wal: bad record at byte 3' },
  { error: new errors.UnknownBackendError('sqlite', ['memory', 'file']), name: 'UnknownBackendError', code: 'FERRY_ERR_STORE_UNKNOWN_BACKEND', message: 'unknown storage backend "sqlite" (known: memory, file)' },
  { error: new errors.DataDirLockedError('/d', 12), name: 'DataDirLockedError', code: 'FERRY_ERR_STORE_LOCKED', message: 'data directory /d is in use by process 12' },
  { error: new errors.StoreUnavailableError('etcd: down'), name: 'StoreUnavailableError', code: 'FERRY_ERR_STORE_UNAVAILABLE', message: 'etcd: down' },
];

for (const tc of cases) {
  test(`errors: ${tc.name}`, (t) => {
    t.is(tc.error.name, tc.name);
    t.is(tc.error.code, tc.code);
    t.is(tc.error.message, tc.message);
    t.true(tc.error instanceof errors.StoreError);
    t.true(tc.error instanceof FerryError);
  });
}

test('errors: CompactedError carries both revisions for the 410 message', (t) => {
  const error = new errors.CompactedError(7, 42);
  t.is(error.requestedRevision, 7);
  t.is(error.compactRevision, 42);
});
