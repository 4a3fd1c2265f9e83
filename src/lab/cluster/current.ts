import { realpathSync } from 'node:fs';
import { FERRY_HOME, labNames, labPaths, readState } from './state.ts';
import { isAlive } from './supervisor.ts';

/** The name `ferry up` gives a lab when none is asked for. */
export const DEFAULT_LAB = 'lab';

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** runningLabs are the labs whose apiserver process is alive. */
function runningLabs(home: string): string[] {
  return labNames(home).filter((name) => readState(labPaths(name, home))?.components.some((c) => c.name === 'apiserver' && isAlive(c.pid)));
}

/**
 * currentLab picks the lab a command means when `--name` is not given, as
 * kubectl picks a cluster: the lab whose kubeconfig $KUBECONFIG is, else
 * the only running lab, else `lab`.
 */
export function currentLab(given: string | undefined, env: NodeJS.ProcessEnv = process.env, home = FERRY_HOME): string {
  if (given) return given;
  const kubeconfig = env.KUBECONFIG?.split(':')[0];
  if (kubeconfig) {
    const named = labNames(home).find((name) => samePath(labPaths(name, home).kubeconfig, kubeconfig));
    if (named) return named;
  }
  const running = runningLabs(home);
  return running.length === 1 ? running[0]! : DEFAULT_LAB;
}
