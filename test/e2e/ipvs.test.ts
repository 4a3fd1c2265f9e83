import test from 'ava';
import { umlStatus } from '../../src/lab/cluster/uml.ts';
import { defineE2E } from './suite.ts';

// This kernel has no IPVS: `ferry up --mode ipvs` runs the nodes, their proxies and the pods inside a
// User-Mode Linux guest, and the suite reaches them through the guest's exec agent. Everything there
// shares one virtual CPU: 4 tests at a time, per-request timeouts ×3.
const ipvsAffinityFloor = 'IPVS keeps a persistence template while connections it controls linger in TIME_WAIT (a fixed 120 s), so a shorter affinity timeout acts as 120 s; upstream skips this test for IPVS (kubernetes#89358, test-infra#37522)';
const uml = umlStatus();
if (uml.ok) {
  defineE2E('ipvs', {
    concurrency: 4,
    timeScale: 3,
    unsupported: { 'should have session affinity timeout work for service': ipvsAffinityFloor },
  });
} else {
  test.skip(`e2e › ipvs: ${uml.reason}; ipvs needs a kernel with IPVS`, () => undefined);
}
