import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { commonFlags, defineCommand } from '../command.ts';
import { InvalidArgumentError } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';
import { ApiClient } from '../../endpoints/client/api-client.ts';
import { loadClientConfig } from '../../endpoints/client/kubeconfig.ts';
import { DEFAULT_FORWARD_ALLOW } from '../../dns/acl.ts';
import { parseBindAddress } from '../../dns/health.ts';
import { InformerFeed } from '../../dns/informers.ts';
import type { PodMode } from '../../dns/lookup.ts';
import { boundIPs } from '../../dns/ns.ts';
import { RecordIndex } from '../../dns/records.ts';
import { DnsServer } from '../../dns/server.ts';
import { parseUpstream, resolvConfUpstreams, withoutSelf } from '../../dns/upstream.ts';

const log = createLogger('dns');
const POD_MODES = ['insecure', 'verified', 'disabled'];

export default defineCommand({
  name: 'dns',
  summary: 'Run the cluster DNS server (CoreDNS kubernetes semantics): serve the cluster zone from the API, forward the rest',
  flags: {
    kubeconfig: { type: 'string', help: 'path to a kubeconfig file (else $KUBECONFIG, --server, or the in-cluster service account)' },
    server: { type: 'string', help: 'apiserver URL (https://, http:// or unix:///path); overrides the kubeconfig server' },
    listen: { type: 'string', default: '0.0.0.0:53', help: 'host:port to answer on, UDP and TCP' },
    'cluster-domain': { type: 'string', default: 'cluster.local', help: 'the cluster zone' },
    ttl: { type: 'int', default: 30, help: 'TTL of cluster records, 0-3600 seconds' },
    pods: { type: 'string', default: 'insecure', help: 'pod records a-b-c-d.<ns>.pod.<zone>: insecure (any address), verified (a pod has it), disabled' },
    upstream: { type: 'list', help: 'resolvers for names outside the cluster, ip[:port] (default: the nameservers of /etc/resolv.conf, never this server itself)' },
    'forward-allow': { type: 'list', default: DEFAULT_FORWARD_ALLOW, help: 'client CIDRs whose outside names are forwarded (others get REFUSED)' },
    'health-bind-address': { type: 'string', default: ':8080', help: 'host:port of /health; empty disables it' },
    'ready-bind-address': { type: 'string', default: ':8181', help: 'host:port of /ready (200 once synced); empty disables it' },
    'metrics-bind-address': { type: 'string', default: '127.0.0.1:9153', help: 'host:port of /metrics; empty disables it' },
    ...commonFlags,
  },
  async run({ flags }) {
    let listen;
    try {
      listen = parseBindAddress(flags.listen);
      for (const f of ['health-bind-address', 'ready-bind-address', 'metrics-bind-address'] as const) if (flags[f]) parseBindAddress(flags[f]);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
    if (isIP(listen.host) === 0) throw new InvalidArgumentError(`invalid --listen ${JSON.stringify(flags.listen)}: the host must be an IP address`);
    if (!POD_MODES.includes(flags.pods)) throw new InvalidArgumentError(`invalid --pods ${JSON.stringify(flags.pods)}: want ${POD_MODES.join(', ')}`);
    if (flags.ttl < 0 || flags.ttl > 3600) throw new InvalidArgumentError(`invalid --ttl ${flags.ttl}: want 0-3600`);
    const zone = flags['cluster-domain'].toLowerCase().replace(/\.$/, '');
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(zone)) throw new InvalidArgumentError(`invalid --cluster-domain ${JSON.stringify(zone)}`);
    const configured = flags.upstream ? flags.upstream.map(parseUpstream) : resolvConfUpstreams(readResolvConf());
    const { kept: upstreams, dropped } = withoutSelf(configured, listen);
    for (const u of dropped) log.warn('Not forwarding to this server itself (loop)', { upstream: `${u.address}:${u.port}` });
    if (upstreams.length === 0) log.warn('No upstream resolver: names outside the cluster answer SERVFAIL');

    const podMode = flags.pods as PodMode;
    const index = new RecordIndex({ watchNamespaces: true });
    const client = new ApiClient(loadClientConfig({ kubeconfig: flags.kubeconfig, server: flags.server }), { userAgent: 'ferry-dns' });
    const feed = new InformerFeed(client, index, podMode);
    const server = await DnsServer.start({
      controller: index,
      host: listen.host,
      port: listen.port,
      zone,
      ttl: flags.ttl,
      podMode,
      upstreams,
      forwardAllow: flags['forward-allow'],
      localIPs: boundIPs(listen.host),
      healthAddress: flags['health-bind-address'],
      readyAddress: flags['ready-bind-address'],
      metricsAddress: flags['metrics-bind-address'],
    });
    feed.start();
    log.info(0, 'Serving DNS', { listen: `${listen.host}:${server.port}`, zone, pods: podMode, upstreams: upstreams.map((u) => `${u.address}:${u.port}`).join(',') || 'none', apiserver: client.server, ...server.httpAddresses });
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    log.info(0, 'Shutting down', { signal });
    await feed.stop();
    await server.close();
    await client.close();
    return 0;
  },
});

function readResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}
