import { defineCommand } from '../command.ts';
import { startNetexec, startServeHostname } from '../../lab/agnhost.ts';
import { startGrpcHealth } from '../../lab/grpc-health.ts';

export default defineCommand({
  name: 'agnhost',
  summary: 'Run the agnhost-style test server (netexec, serve-hostname, grpc-health-checking), as image ferry/agnhost does',
  usage: 'netexec | serve-hostname | grpc-health-checking',
  flags: {
    'http-port': { type: 'int', default: 8080, help: 'netexec, grpc-health-checking: HTTP port' },
    'udp-port': { type: 'int', default: 8081, help: 'netexec: UDP port (0 disables)' },
    'enable-shell': { type: 'boolean', default: false, help: 'netexec: serve /shell' },
    port: { type: 'int', help: 'serve-hostname: port (default 9376); grpc-health-checking: gRPC port (default 5000)' },
    http: { type: 'boolean', help: 'serve-hostname: serve HTTP (the default when no protocol is given)' },
    tcp: { type: 'boolean', default: false, help: 'serve-hostname: raw TCP, reply then close' },
    udp: { type: 'boolean', default: false, help: 'serve-hostname: UDP' },
  },
  async run({ flags, positionals }) {
    const [mode] = positionals;
    let handle;
    if (mode === 'netexec') {
      handle = await startNetexec({ httpPort: flags['http-port'], udpPort: flags['udp-port'], enableShell: flags['enable-shell'] });
    } else if (mode === 'serve-hostname') {
      const http = flags.http ?? (!flags.tcp && !flags.udp);
      handle = await startServeHostname({ port: flags.port ?? 9376, http, tcp: flags.tcp, udp: flags.udp });
    } else if (mode === 'grpc-health-checking') {
      handle = await startGrpcHealth({ port: flags.port ?? 5000, httpPort: flags['http-port'] });
    } else {
      process.stderr.write(`ferry agnhost: unknown mode ${JSON.stringify(mode)} (want netexec, serve-hostname or grpc-health-checking)\n`);
      return 2;
    }
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await handle.close();
    return 0;
  },
});
