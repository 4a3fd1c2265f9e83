import { AssertionError } from 'node:assert';

/**
 * A tiny step runner for scenarios that run inside the UML guest (no ava
 * there): each step prints `ok - name` or `not ok - name` with the error, the
 * teardowns run in reverse order whatever happened, and the process exit code
 * tells the host-side ava test (test/uml/*.test.ts) whether all steps passed.
 */
type Teardown = () => unknown;
const teardowns: Teardown[] = [];

/** Context is what NetnsFixture needs from ava's ExecutionContext. */
export const context = { teardown: (fn: Teardown) => void teardowns.push(fn) };

export async function scenario(steps: (step: (name: string, fn: () => Promise<void>) => Promise<void>) => Promise<void>): Promise<void> {
  let failed = false;
  const reported = new WeakSet<object>();
  const step = async (name: string, fn: () => Promise<void>) => {
    const start = Date.now();
    try {
      await fn();
      console.log(`ok - ${name} (${Date.now() - start} ms)`);
    } catch (e) {
      failed = true;
      console.log(`not ok - ${name}`);
      console.error(e instanceof AssertionError ? e.message : e);
      if (typeof e === 'object' && e !== null) reported.add(e);
      throw e;
    }
  };
  try {
    await steps(step);
  } catch (e) {
    failed = true;
    if (typeof e !== 'object' || e === null || !reported.has(e)) console.error(e);
  } finally {
    for (const fn of teardowns.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error('teardown:', e);
      }
    }
  }
  process.exit(failed ? 1 : 0);
}
