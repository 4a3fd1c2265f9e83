import type { Command } from './command.ts';
import { COMMANDS } from './registry.ts';
import { formatFlagHelp, parseFlags } from './flags.ts';
import { getErrorMessage, InvalidArgumentError } from '../util/errors.ts';
import { setVerbosity } from '../util/log.ts';

/** loadCommands imports every command, for the usage listing only. */
async function loadCommands(): Promise<Map<string, Command>> {
  const commands = new Map<string, Command>();
  for (const name of Object.keys(COMMANDS).sort()) commands.set(name, (await COMMANDS[name]!()).default);
  return commands;
}

async function findCommand(name: string): Promise<Command | undefined> {
  return Object.hasOwn(COMMANDS, name) ? (await COMMANDS[name]!()).default : undefined;
}

function usage(commands: Map<string, Command>): string {
  const width = Math.max(...[...commands.keys()].map((n) => n.length)) + 2;
  const lines = [...commands.values()].map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return `Ferry: a Kubernetes service data plane (kube-proxy, cluster DNS) and a compact control plane for labs.\n\nUsage: ferry <command> [flags]\n\nCommands:\n${lines.join('\n')}\n\nRun 'ferry <command> --help' for a command's flags.\n`;
}

function commandHelp(c: Command): string {
  return `${c.summary}\n\nUsage: ferry ${c.name} [flags]${c.usage ? ` ${c.usage}` : ''}\n\nFlags:\n${formatFlagHelp(c.flags)}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage(await loadCommands()));
    return name === undefined ? 1 : 0;
  }
  const command = await findCommand(name);
  if (!command) {
    process.stderr.write(`ferry: unknown command ${JSON.stringify(name)}\n\n${usage(await loadCommands())}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  let parsed;
  try {
    parsed = parseFlags(command.flags, rest);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    process.stderr.write(`ferry ${name}: ${error.message}\n\n${commandHelp(command)}`);
    return 2;
  }
  const v = (parsed.flags as Record<string, unknown>).v;
  if (typeof v === 'number') setVerbosity(v);
  const code = await command.run(parsed);
  return code ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ferry: ${getErrorMessage(error)}\n`);
    process.exitCode = 1;
  },
);
