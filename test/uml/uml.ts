import type { ExecutionContext } from 'ava';
import { fileURLToPath } from 'node:url';
import { umlStatus } from '../../src/lab/cluster/uml.ts';
import { execFile } from '../../src/util/exec.ts';

/**
 * Helpers for tests that run a scenario inside a User-Mode Linux guest
 * (scripts/uml-run): the host kernel has no IPVS, the guest has.
 */
const repo = fileURLToPath(new URL('../..', import.meta.url));

const status = umlStatus();
export const umlAvailable = status.ok;
export const umlSkipMessage = `${status.ok ? '' : status.reason}: IPVS tests need a kernel with IPVS`;

/**
 * runScenario boots a guest running `tsx test/uml/scenarios/<name>.ts`, logs
 * its output into the test, and resolves to the output; a non-zero exit fails
 * the test with the scenario's own message.
 */
export async function runScenario(t: ExecutionContext, name: string, timeoutSeconds = 240): Promise<string> {
  // Guests are slow to start TypeScript processes on a loaded machine; allow the guest's whole budget.
  t.timeout((timeoutSeconds + 60) * 1000);
  const r = await execFile(`${repo}/scripts/uml-run`, ['tsx', `test/uml/scenarios/${name}.ts`], {
    allowFailure: true,
    timeoutMs: (timeoutSeconds + 30) * 1000,
    env: { ...process.env, UML_TIMEOUT: String(timeoutSeconds) },
  });
  for (const line of r.stdout.trim().split('\n')) if (line) t.log(line);
  if (r.code !== 0) t.fail(`scenario ${name} exited ${r.code}\n${r.stderr.trim().split('\n').slice(-40).join('\n')}`);
  return r.stdout;
}
