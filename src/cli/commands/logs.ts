import { createReadStream, existsSync, readdirSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { defineCommand } from '../command.ts';
import { labPaths } from '../../lab/cluster/state.ts';
import { InvalidArgumentError } from '../../util/errors.ts';

export default defineCommand({
  name: 'logs',
  summary: 'Print the log of one lab component (apiserver, controller-manager, scheduler, relay, node-<node>, proxy-<node>)',
  usage: '<component>',
  flags: {
    name: { type: 'string', default: 'lab', help: 'lab name' },
    follow: { type: 'boolean', default: false, help: 'keep printing what is appended (like tail -f)' },
  },
  async run({ flags, positionals }) {
    const paths = labPaths(flags.name);
    const available = existsSync(paths.logs) ? readdirSync(paths.logs).filter((f) => f.endsWith('.log')).map((f) => f.slice(0, -4)) : [];
    const [component] = positionals;
    if (!component || !available.includes(component)) {
      throw new InvalidArgumentError(`${component ? `no log for ${JSON.stringify(component)}` : 'name a component'}; lab ${flags.name} has: ${available.join(', ') || 'none'}`);
    }
    const file = join(paths.logs, `${component}.log`);
    let offset = 0;
    const copy = () => new Promise<void>((resolve) => {
      const size = statSync(file).size;
      if (size < offset) offset = 0;
      if (size === offset) return resolve();
      createReadStream(file, { start: offset, end: size - 1 }).on('end', resolve).pipe(process.stdout, { end: false });
      offset = size;
    });
    await copy();
    if (!flags.follow) return 0;
    const watcher = watch(file, () => void copy());
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    watcher.close();
    return 0;
  },
});
