import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAlive } from '../../../src/lab/cluster/supervisor.ts';
import { labPaths, readState } from '../../../src/lab/cluster/state.ts';
import { listNamespaces } from '../../../src/lab/netns.ts';
import { POD_DIR_ROOT } from '../../../src/lab/pod-volumes.ts';
import { execFile } from '../../../src/util/exec.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';

/**
 * Issue 9, acceptance 2, through the real CLI: `ferry up` → `ferry down` →
 * `ferry up` works, and `ferry down` after `kill -9` of components (the
 * apiserver, and a node agent whose pods are left running) removes every
 * process, namespace and the state file; a second `ferry down` finds nothing.
 */
const FERRY = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const name = `updown-${process.pid}`;
const prefix = `fytest-${process.pid}-ud-`;

async function ferry(args: string[]): Promise<{ code: number | null; out: string }> {
  const r = await execFile(FERRY, args, { allowFailure: true, timeoutMs: 120_000 });
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
}

const up = () => ferry(['up', '--name', name, '--nodes', '2', '--lab-prefix', prefix]);
const down = () => ferry(['down', '--name', name]);
const labNamespaces = async () => (await listNamespaces()).filter((n) => n.startsWith(prefix));

(isRoot ? test : test.skip)('ferry up, down, up again (a second up is refused and harms nothing); down after kill -9 of components cleans everything; down twice is safe', async (t) => {
  t.teardown(() => down());
  const first = await up();
  t.is(first.code, 0, first.out);
  t.true((await labNamespaces()).length >= 4, 'switch, control plane and two nodes');
  const stopped = await down();
  t.is(stopped.code, 0, stopped.out);
  t.deepEqual(await labNamespaces(), []);

  const second = await up();
  t.is(second.code, 0, second.out);
  const state = readState(labPaths(name))!;
  const refused = await up();
  t.not(refused.code, 0, 'a second ferry up under the same name is refused');
  t.regex(refused.out, /is running \(ferry down --name/);
  t.deepEqual(state.components.filter((c) => !isAlive(c.pid)).map((c) => c.name), [], 'and leaves the running lab alone');
  // Pods run once the cluster DNS deployment is scheduled: wait for one pod namespace, so killing its agent orphans it.
  const deadline = Date.now() + 60_000;
  while (!(await labNamespaces()).some((n) => n.includes('_')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.true((await labNamespaces()).some((n) => n.includes('_')), 'a pod namespace exists');
  const killed = state.components.filter((c) => c.name === 'apiserver' || c.name === 'node-node1');
  for (const c of killed) process.kill(c.pid, 'SIGKILL');

  const after = await down();
  t.is(after.code, 0, after.out);
  t.deepEqual(await labNamespaces(), [], 'no namespace of the lab is left');
  const podDirs = existsSync(POD_DIR_ROOT) ? readdirSync(POD_DIR_ROOT).filter((d) => d.startsWith(prefix)) : [];
  t.deepEqual(podDirs, [], 'no pod volume directory of the lab is left (the killed agent\'s pods\' included)');
  t.deepEqual(state.components.filter((c) => isAlive(c.pid)).map((c) => c.name), [], 'no component is left running');
  t.false(existsSync(labPaths(name).state), 'the state file is removed');
  const again = await down();
  t.is(again.code, 0, again.out);
  t.regex(again.out, /stopped 0 process\(es\), removed 0 namespace\(s\)/);
});
