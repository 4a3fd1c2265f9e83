import test from 'ava';
import { umlAvailable } from '../../src/lab/cluster/uml.ts';
import { defineE2E } from './suite.ts';

// This kernel has no IPVS: `ferry up --mode ipvs` runs the nodes, their proxies and the pods inside a
// User-Mode Linux guest, and the suite reaches them through the guest's exec agent.
if (umlAvailable()) defineE2E('ipvs', { concurrency: 4, timeScale: 3 });
else test.skip('e2e › ipvs: linux.uml is not installed (apt-get install user-mode-linux); ipvs needs a kernel with IPVS', () => undefined);
