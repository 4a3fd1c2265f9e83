import { defineCommand } from '../command.ts';
import { startRelay, stopRelay } from '../../lab/cluster/relay.ts';
import { InvalidArgumentError } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';

const log = createLogger('relay');

export default defineCommand({
  name: 'relay',
  summary: 'Relay TCP connections to a Unix socket (the lab\'s path from pods to the apiserver)',
  flags: {
    listen: { type: 'string', help: 'host:port to accept TCP connections on (required)' },
    'unix-socket': { type: 'string', help: 'Unix socket every connection is relayed to (required)' },
  },
  async run({ flags }) {
    const listen = flags.listen;
    const socket = flags['unix-socket'];
    if (!listen || !socket) throw new InvalidArgumentError('--listen and --unix-socket are required');
    const i = listen.lastIndexOf(':');
    const port = Number(listen.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new InvalidArgumentError(`invalid --listen ${JSON.stringify(listen)}: want host:port`);
    const server = await startRelay(listen.slice(0, i), port, socket);
    log.info(0, 'Relaying', { listen, socket });
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    stopRelay(server);
    return 0;
  },
});
