import { readFileSync } from 'node:fs';
import { defineCommand } from '../command.ts';
import { repoPath } from '../../util/repo.ts';

const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };

export default defineCommand({
  name: 'version',
  summary: 'Print the Ferry version',
  flags: {},
  async run() {
    process.stdout.write(`ferry v${pkg.version} (node ${process.version})\n`);
  },
});
