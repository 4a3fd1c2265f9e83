import type { Command } from './command.ts';

/**
 * Every `ferry` command, imported on demand: a process loads only the module
 * of the command it runs (importing all of them costs a second of start-up,
 * and `ferry up` starts a dozen processes at once). A static table rather
 * than a directory listing, so the esbuild bundle (scripts/bundle.mjs)
 * includes them.
 */
export const COMMANDS: Readonly<Record<string, () => Promise<{ default: Command }>>> = {
  agnhost: () => import('./commands/agnhost.ts'),
  apiserver: () => import('./commands/apiserver.ts'),
  bench: () => import('./commands/bench.ts'),
  'controller-manager': () => import('./commands/controller-manager.ts'),
  dns: () => import('./commands/dns.ts'),
  down: () => import('./commands/down.ts'),
  exec: () => import('./commands/exec.ts'),
  'lab-guest': () => import('./commands/lab-guest.ts'),
  logs: () => import('./commands/logs.ts'),
  node: () => import('./commands/node.ts'),
  proxy: () => import('./commands/proxy.ts'),
  relay: () => import('./commands/relay.ts'),
  scheduler: () => import('./commands/scheduler.ts'),
  status: () => import('./commands/status.ts'),
  up: () => import('./commands/up.ts'),
  version: () => import('./commands/version.ts'),
};
