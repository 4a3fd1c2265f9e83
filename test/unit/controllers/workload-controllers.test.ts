import test from 'ava';
import { ApiError } from '../../../src/client/errors.ts';
import { ignoreNotFound, WORKLOAD_CONTROLLER_NAMES } from '../../../src/apiserver-stub/controllers/workload-controllers.ts';
import { CONTROLLER_NAMES } from '../../../src/apiserver-stub/controllers/manager.ts';

test('a status write on a workload deleted meanwhile is no failure; other errors still are', async (t) => {
  const gone = new ApiError('http://x', 'patch jobs/status default/j', 404, undefined);
  t.is(await Promise.reject(gone).catch(ignoreNotFound), undefined);
  const conflict = new ApiError('http://x', 'patch jobs/status default/j', 409, undefined);
  await t.throwsAsync(Promise.reject(conflict).catch(ignoreNotFound), { instanceOf: ApiError });
});

test('the controller-manager knows the workload controllers, on by default', (t) => {
  t.deepEqual([...WORKLOAD_CONTROLLER_NAMES], ['job', 'daemonset', 'statefulset', 'cronjob']);
  for (const n of WORKLOAD_CONTROLLER_NAMES) t.true((CONTROLLER_NAMES as readonly string[]).includes(n));
});
