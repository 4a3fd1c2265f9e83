import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileBackend } from '../../../../src/apiserver-stub/storage/file.ts';

const script = join(import.meta.dirname, 'fixtures', 'file-full.ts');

test('file: a failed log write stops the store, loses no acknowledged write, and restart repairs the tail', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-full-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // ulimit -f 256: files may not grow past 256 KiB, so the log append fails with EFBIG (a real write error, no seam).
  const { stdout } = await promisify(execFile)('bash', ['-c', `ulimit -f 256; exec "${process.execPath}" --import tsx "${script}" "${dir}"`], { timeout: 60_000 });
  const lines = stdout.trim().split('\n');
  const acked = lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4));
  const failure = lines.find((l) => l.startsWith('failed '));
  t.true(acked.length > 100, `acknowledged ${acked.length}`);
  t.regex(failure ?? '', /^failed FERRY_ERR_STORE_CLOSED file store stopped: log write failed: .*EFBIG/);
  t.true(lines.includes('after FERRY_ERR_STORE_CLOSED'), 'writes after the failure are refused');

  const store = new FileBackend({ dataDir: dir });
  await store.start();
  t.teardown(() => store.close());
  const missing: string[] = [];
  for (const key of acked) if (!(await store.get(key))) missing.push(key);
  t.deepEqual(missing, []);
  const next = await store.create('/registry/configmaps/full/after-restart', {});
  t.true(next.revision > acked.length);
});
