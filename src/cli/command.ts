import type { FlagSpecs, FlagValues } from './flags.ts';

/**
 * Command is one `ferry <name>` subcommand. Each lives in its own file under
 * `src/cli/commands/` and default-exports `defineCommand({...})`; `main.ts`
 * finds them there, so adding a command touches no shared registry.
 */
export interface Command<F extends FlagSpecs = FlagSpecs> {
  name: string;
  summary: string;
  /** Extra usage text after the flags, e.g. positional arguments. */
  usage?: string;
  flags: F;
  /** Runs the command; resolves to the process exit code (default 0). */
  run(args: { flags: FlagValues<F>; positionals: string[]; rest: string[]; explicit?: ReadonlySet<string> }): Promise<number | void>;
}

export function defineCommand<F extends FlagSpecs>(command: Command<F>): Command<F> {
  return command;
}

/** Flags shared by every long-running component (`-v` as in klog). */
export const commonFlags = {
  v: { type: 'int', default: 0, help: 'log verbosity (klog levels: 2 for changes, 4 for each sync, 6 for detail)' },
} as const satisfies FlagSpecs;
