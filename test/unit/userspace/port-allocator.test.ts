import test from 'ava';
import { PortAllocator } from '../../../src/userspace/port-allocator.ts';
import { PortRangeExhaustedError } from '../../../src/userspace/errors.ts';

test('without a range every listener asks the kernel for an ephemeral port', (t) => {
  const a = new PortAllocator(undefined);
  t.is(a.next(), 0);
  t.is(a.next(), 0);
  t.is(a.attempts, 1);
});

test('a range hands out each port once, wraps around, and reuses released ports', (t) => {
  const a = new PortAllocator([40000, 40002]);
  const got = [a.next(), a.next(), a.next()];
  t.deepEqual([...got].sort(), [40000, 40001, 40002]);
  const err = t.throws(() => a.next(), { instanceOf: PortRangeExhaustedError });
  t.is(err.code, 'FERRY_ERR_USERSPACE_PORTS_EXHAUSTED');
  a.release(40001);
  t.is(a.next(), 40001);
});
