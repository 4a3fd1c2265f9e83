import test from 'ava';
import { runScenario, umlAvailable, umlSkipMessage } from './uml.ts';

if (!umlAvailable) {
  test.skip(`netlink round trips in UML: ${umlSkipMessage}`, () => {});
} else {
  test('netlink round trips in a real IPVS kernel (UML): links, addresses, services, destinations, batch errors', async (t) => {
    const out = await runScenario(t, 'netlink-roundtrip');
    t.notRegex(out, /not ok/);
    t.regex(out, /ok - delete the link/);
  });
}
