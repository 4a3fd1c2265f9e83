import test from 'ava';
import { probability } from '../../../../src/iptables/render-service.ts';

// kube-proxy's TestComputeProbability (source in kube-proxy.ts): the
// `--probability` each endpoint's rule carries is 1/n printed as Go's %0.10f,
// and it grows strictly as n falls, so no two rules of a long chain round to
// the same value (and none to zero).

const expected: Record<number, string> = {
  1: '1.0000000000',
  2: '0.5000000000',
  10: '0.1000000000',
  100: '0.0100000000',
  1000: '0.0010000000',
  10000: '0.0001000000',
  100000: '0.0000100000',
  100001: '0.0000099999',
};

test('TestComputeProbability: fixed values', (t) => {
  for (const [n, want] of Object.entries(expected)) t.is(probability(Number(n)), want, `n=${n}`);
});

test('TestComputeProbability: strictly increasing from n=100000 down to 2', (t) => {
  let previous = 0;
  let failures = 0;
  for (let n = 100_000; n > 1; n--) {
    const current = Number.parseFloat(probability(n));
    if (!(current > previous)) failures++;
    previous = current;
  }
  t.is(failures, 0);
});
