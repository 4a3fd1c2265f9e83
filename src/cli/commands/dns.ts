import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { commonFlags, defineCommand } from '../command.ts';
import { InvalidArgumentError } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';
import { ApiClient } from '../../client/api-client.ts';
import { loadClientConfig } from '../../client/kubeconfig.ts';
import { DEFAULT_FORWARD_ALLOW } from '../../dns/acl.ts';
import { parseBindAddress } from '../../dns/health.ts';
import { ApiClientMetrics } from '../../dns/client-metrics.ts';
import { apiConnection, CorefileRunner, loadCorefile, type ApiConnection } from '../../dns/corefile/runner.ts';
import { parseUpstream } from '../../dns/upstream.ts';

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
    conf: { type: 'string', help: 'a Corefile (also -conf, as CoreDNS); the other flags are a shorthand for one and cannot be combined with it' },
    ...commonFlags,
  },
  async run({ flags, explicit }) {
    if (flags.conf !== undefined) {
      const given = [...(explicit ?? [])].filter((f) => !['conf', 'kubeconfig', 'server', 'forward-allow', 'v'].includes(f));
      if (given.length) throw new InvalidArgumentError(`--${given[0]} cannot be combined with -conf: say it in the Corefile`);
    }
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
    flags.upstream?.forEach(parseUpstream); // refused at start with the flag's own message
    const conf = flags.conf;
    const text = conf === undefined ? corefileFromFlags({ ...flags, listen, zone }) : await readFile(conf, 'utf8');
    // The Corefile's `kubeconfig FILE [CONTEXT]` wins over its `endpoint URL`, which wins over the flags (CoreDNS's order).
    const via: ApiConnection = conf === undefined ? { endpoint: undefined, kubeconfig: undefined } : apiConnection(loadCorefile(text, conf));
    const clientOptions = via.kubeconfig ? { kubeconfig: via.kubeconfig.file, context: via.kubeconfig.context } : { kubeconfig: flags.kubeconfig, server: via.endpoint ?? flags.server };
    const clientMetrics = new ApiClientMetrics();
    const client = new ApiClient(loadClientConfig(clientOptions), {
      userAgent: 'ferry-dns', onRequest: clientMetrics.observe, ...(via.apiLimits ? { limits: via.apiLimits } : {}),
    });
    const runner = new CorefileRunner({ client, forwardAllow: flags['forward-allow'], clientMetrics }, conf);
    try {
      await runner.start(text);
    } catch (error) {
      await client.close();
      throw error;
    }
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    log.info(0, 'Shutting down', { signal });
    await runner.close();
    await client.close();
    return 0;
  },
});

/**
 * corefileFromFlags writes the flags as the Corefile they stand for, the
 * shape of kubeadm's default one: the flags are a shorthand for it.
 */
export function corefileFromFlags(f: {
  listen: { host: string; port: number };
  zone: string;
  ttl: number;
  pods: string;
  upstream: string[] | undefined;
  'health-bind-address': string;
  'ready-bind-address': string;
  'metrics-bind-address': string;
}): string {
  const lines = [`.:${f.listen.port} {`, `    bind ${f.listen.host}`, '    errors'];
  if (f['health-bind-address']) lines.push(`    health ${f['health-bind-address']}`);
  if (f['ready-bind-address']) lines.push(`    ready ${f['ready-bind-address']}`);
  if (f['metrics-bind-address']) lines.push(`    prometheus ${f['metrics-bind-address']}`);
  lines.push(`    kubernetes ${f.zone} in-addr.arpa ip6.arpa {`, `        pods ${f.pods}`, `        ttl ${f.ttl}`, '        fallthrough in-addr.arpa ip6.arpa', '    }');
  lines.push(`    forward . ${f.upstream?.length ? f.upstream.join(' ') : '/etc/resolv.conf'}`, '    cache', '    loop', '}', '');
  return lines.join('\n');
}
