import test from 'ava';
import { runScenario, umlAvailable, umlSkipMessage } from './uml.ts';

if (!umlAvailable) {
  test.skip(`IPVS proxier in UML: ${umlSkipMessage}`, () => {});
} else {
  test('IPVS proxier in a real IPVS kernel (UML): rr balance, NodePort, ClientIP, graceful termination, service deletion, cleanup', async (t) => {
    const out = await runScenario(t, 'ipvs-proxier', 300);
    t.notRegex(out, /not ok/);
    for (const step of ['balanced over 3 endpoints', 'NodePort answers', 'externalTrafficPolicy Local with its only endpoint on another node', 'ClientIP affinity', 'removed endpoint drains', 'deleting a service', 'cleanup leaves no IPVS service']) {
      t.regex(out, new RegExp(`ok - [^\\n]*${step}`));
    }
  });
}
