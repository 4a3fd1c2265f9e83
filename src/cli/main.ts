import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from './command.ts';
import { formatFlagHelp, parseFlags } from './flags.ts';
import { getErrorMessage, InvalidArgumentError } from '../util/errors.ts';
import { setVerbosity } from '../util/log.ts';

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

async function loadCommand(file: string): Promise<Command> {
  const mod = (await import(pathToFileURL(join(commandsDir, file)).href)) as { default: Command };
  return mod.default;
}

/** loadCommands imports every command, for the usage listing only. */
async function loadCommands(): Promise<Map<string, Command>> {
  const files = readdirSync(commandsDir).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'));
  const commands = new Map<string, Command>();
  for (const file of files.sort()) {
    const command = await loadCommand(file);
    commands.set(command.name, command);
  }
  return commands;
}

/**
 * findCommand imports only the named command's module (commands/<name>.ts):
 * importing all of them costs a second of start-up per process, and `ferry up`
 * starts a dozen processes at once.
 */
async function findCommand(name: string): Promise<Command | undefined> {
  if (!/^[a-z][a-z-]*$/.test(name)) return undefined;
  const file = readdirSync(commandsDir).find((f) => f === `${name}.ts` || f === `${name}.js`);
  return file ? loadCommand(file) : undefined;
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
