import test from 'ava';
import { runScenario, umlAvailable, umlSkipMessage } from './uml.ts';

if (!umlAvailable) {
  test.skip(`ferry proxy --mode ipvs in UML: ${umlSkipMessage}`, () => {});
} else {
  test('ferry proxy --mode ipvs against ferry apiserver in a real IPVS kernel (UML), then --cleanup', async (t) => {
    const out = await runScenario(t, 'ferry-proxy', 480);
    t.notRegex(out, /not ok/);
    t.regex(out, /ok - ferry proxy --mode ipvs --cleanup leaves no IPVS service/);
  });
}
