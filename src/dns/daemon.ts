/**
 * Entry point of the bundled `ferry dns` (see scripts/bundle.mjs and
 * bin/ferry): the same command definition and flag parsing as
 * src/cli/main.ts, without loading every other command, so the bundle holds
 * only what the DNS server needs.
 */
import command from '../cli/commands/dns.ts';
import { formatFlagHelp, parseFlags } from '../cli/flags.ts';
import { getErrorMessage, InvalidArgumentError } from '../util/errors.ts';
import { setVerbosity } from '../util/log.ts';

function help(): string {
  return `${command.summary}\n\nUsage: ferry ${command.name} [flags]\n\nFlags:\n${formatFlagHelp(command.flags)}\n`;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help());
    return 0;
  }
  let parsed;
  try {
    parsed = parseFlags(command.flags, argv);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    process.stderr.write(`ferry dns: ${error.message}\n\n${help()}`);
    return 2;
  }
  setVerbosity(parsed.flags.v);
  return (await command.run(parsed)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ferry dns: ${getErrorMessage(error)}\n`);
    process.exitCode = error instanceof InvalidArgumentError ? 2 : 1;
  },
);
