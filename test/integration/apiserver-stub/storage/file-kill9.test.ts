import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FileBackend } from '../../../../src/apiserver-stub/storage/file.ts';

const writer = join(import.meta.dirname, 'fixtures', 'file-writer.ts');

interface Ack {
  revision: number;
  updated: boolean;
}

/** runAndKill starts the writer on `dir`, SIGKILLs it once `acks` writes were acknowledged, and returns what it acknowledged. */
async function runAndKill(dir: string, acks: number): Promise<Map<string, Ack>> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, '300'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked = new Map<string, Ack>();
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  // readline yields only whole lines: a line cut by the kill is not counted as acknowledged.
  for await (const line of createInterface({ input: child.stdout })) {
    const [key, rev, updated] = line.split(' ');
    if (!key || !rev) continue;
    const ack = { revision: Number(rev), updated: updated === 'updated' };
    if (!acked.has(key) || ack.revision > acked.get(key)!.revision) acked.set(key, ack);
    if (acked.size >= acks && child.exitCode === null && !child.killed) child.kill('SIGKILL');
  }
  clearTimeout(timer);
  const signal = await exited;
  if (signal !== 'SIGKILL') throw new Error(`writer ended with ${signal}, not SIGKILL`);
  return acked;
}

test('file: after kill -9 during concurrent writes every acknowledged write is there and revisions keep increasing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-kill9-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let highest = 0;
  let total = 0;
  for (const round of [1, 2]) {
    const acked = await runAndKill(dir, 1500);
    const store = new FileBackend({ dataDir: dir });
    await store.start();
    const missing: string[] = [];
    for (const [key, ack] of acked) {
      const got = await store.get(key);
      if (!got || got.revision < ack.revision || (ack.updated && got.value.spec && !(got.value.spec as { updated?: boolean }).updated)) missing.push(key);
      highest = Math.max(highest, ack.revision);
    }
    total += acked.size;
    t.deepEqual(missing, [], `round ${round}: acknowledged writes lost`);
    t.true(store.currentRevision() >= highest, `round ${round}: revision went back`);
    const after = await store.create(`/registry/services/after/r${round}`, {});
    t.true(after.revision > highest);
    highest = after.revision;
    t.is((await store.list('/registry/services/')).items.length >= total, true);
    await store.close();
  }
  t.log(`acknowledged ${total} keys across two kills; revision now ${highest}`);
});
