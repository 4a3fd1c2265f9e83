import test from 'ava';
import { SyncRunner } from '../../../src/endpoints/sync-runner.ts';
import { FakeClock } from './fake-clock.ts';

function setup(options: { min?: number; max?: number; retry?: number; durationMs?: number; results?: boolean[] } = {}) {
  const clock = new FakeClock();
  const starts: number[] = [];
  const periodic: boolean[] = [];
  let active = 0;
  let overlapped = false;
  const results = [...(options.results ?? [])];
  const runner = new SyncRunner({
    clock, minIntervalMs: options.min ?? 1000, maxIntervalMs: options.max ?? 30_000, retryIntervalMs: options.retry,
    fn: async (isPeriodic) => {
      starts.push(clock.now());
      periodic.push(isPeriodic);
      if (++active > 1) overlapped = true;
      if (options.durationMs) await new Promise<void>((r) => clock.setTimer(r, options.durationMs!));
      active--;
      return results.shift() ?? true;
    },
  });
  return { clock, runner, starts, periodic, overlapped: () => overlapped, rel: () => starts.map((s) => s - 1_000_000) };
}

test('nothing runs before start; requests made before are served by the first run', async (t) => {
  const { clock, runner, rel } = setup();
  runner.run();
  runner.run();
  await clock.advance(10_000);
  t.deepEqual(rel(), []);
  runner.start();
  await clock.advance(0);
  t.deepEqual(rel(), [10_000]);
});

test('1,000 requests within min-sync-period coalesce into at most two runs', async (t) => {
  const { clock, runner, starts } = setup({ min: 1000 });
  runner.start();
  await clock.advance(0);
  starts.length = 0;
  await clock.advance(5000);
  for (let i = 0; i < 1000; i++) {
    runner.run();
    await clock.advance(0.9);
  }
  await clock.advance(2000);
  t.true(starts.length >= 1 && starts.length <= 2, `runs: ${starts.length}`);
});

const spacing: Array<{ name: string; requestsAt: number[]; want: number[] }> = [
  { name: 'first request after a quiet period runs at once', requestsAt: [5000], want: [0, 5000] },
  { name: 'a request soon after a run waits for min-sync-period', requestsAt: [200], want: [0, 1000] },
  { name: 'several requests in one window make one run', requestsAt: [100, 300, 900], want: [0, 1000] },
  { name: 'without requests, the periodic sync runs every sync-period', requestsAt: [], want: [0, 30_000, 60_000] },
];
for (const tc of spacing) {
  test(`spacing: ${tc.name}`, async (t) => {
    const { clock, runner, rel } = setup({ min: 1000, max: 30_000 });
    runner.start();
    let now = 0;
    for (const at of tc.requestsAt) {
      await clock.advance(at - now);
      now = at;
      runner.run();
    }
    await clock.advance((tc.requestsAt.length ? 10_000 : 61_000) - now);
    t.deepEqual(rel(), tc.want);
  });
}

test('runs never overlap; a request during a run is served after it, min-sync-period after its start', async (t) => {
  const { clock, runner, rel, overlapped } = setup({ min: 1000, durationMs: 3000 });
  runner.start();
  await clock.advance(500);
  runner.run();
  runner.run();
  await clock.advance(10_000);
  t.false(overlapped());
  t.deepEqual(rel(), [0, 3000]);
});

test('a failed run is retried after the retry interval', async (t) => {
  const { clock, runner, rel } = setup({ min: 1000, max: 30_000, retry: 5000, results: [false, false, true] });
  runner.start();
  await clock.advance(20_000);
  t.deepEqual(rel(), [0, 5000, 10_000]);
});

test('stop cancels scheduled runs', async (t) => {
  const { clock, runner, rel } = setup();
  runner.start();
  await clock.advance(0);
  await runner.stop();
  runner.run();
  await clock.advance(100_000);
  t.deepEqual(rel(), [0]);
});

test('the sync is told which runs are periodic: the first and those --sync-period brings, not requested runs or retries', async (t) => {
  const { clock, runner, rel, periodic } = setup({ min: 1000, max: 30_000, retry: 5000, results: [true, true, false, true, true] });
  runner.start();
  await clock.advance(2000);
  runner.run();
  await clock.advance(3000);
  runner.run();
  await clock.advance(70_000);
  t.deepEqual(rel(), [0, 2000, 5000, 10_000, 40_000, 70_000]);
  t.deepEqual(periodic, [true, false, false, false, true, true], 'first, requested, requested (fails), retry, periodic twice');
});
