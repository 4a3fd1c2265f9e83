import command from '../cli/commands/agnhost.ts';
import { parseFlags } from '../cli/flags.ts';

/**
 * Entry point of image `ferry/agnhost`: runs `ferry agnhost` without loading
 * every other command of the CLI, so a pod's server starts in a fraction of
 * the time (`ferry node` starts one per pod).
 */
const { flags, positionals, rest } = parseFlags(command.flags, process.argv.slice(2));
process.exitCode = (await command.run({ flags, positionals, rest })) ?? 0;
