import { defineCommand } from '../command.ts';
import { stopAllLabs, stopLab } from '../../lab/cluster/lab.ts';

export default defineCommand({
  name: 'down',
  summary: 'Stop a lab: every process, namespace and rule it made (safe to run twice)',
  flags: {
    name: { type: 'string', default: 'lab', help: 'lab name' },
    all: { type: 'boolean', default: false, help: 'stop every lab and remove leftovers of crashed runs (namespaces with the fylab- prefix)' },
  },
  async run({ flags }) {
    if (flags.all) {
      const { labs, strays } = await stopAllLabs();
      process.stdout.write(`stopped ${labs.length} lab(s)${labs.length ? ` (${labs.join(', ')})` : ''}; removed ${strays.length} leftover namespace(s)\n`);
      return 0;
    }
    const { stopped, namespaces } = await stopLab(flags.name);
    process.stdout.write(`lab ${flags.name}: stopped ${stopped} process(es), removed ${namespaces.length} namespace(s)\n`);
    return 0;
  },
});
