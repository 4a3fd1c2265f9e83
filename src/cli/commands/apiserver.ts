import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseAdmissionPlugins } from '../../apiserver-stub/admission-plugins.ts';
import { dirname, join, resolve } from 'node:path';
import { defineCommand, commonFlags } from '../command.ts';
import { InvalidArgumentError } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';
import { ApiServer } from '../../apiserver-stub/server.ts';
import { loadTokenFile } from '../../apiserver-stub/auth.ts';
import { parseAuthorizationModes } from '../../apiserver-stub/rbac/authority.ts';
import { altNames, ensureServingPki, type ServingPki } from '../../apiserver-stub/pki.ts';
import { parsePortRange } from '../../apiserver-stub/allocators/cidr.ts';
import { parseServiceCIDRs } from '../../apiserver-stub/allocators/ipv6-range.ts';
import { ServiceAllocator } from '../../apiserver-stub/allocators/service-allocator.ts';
import { DEFAULT_ISSUER, ServiceAccountTokenSigner } from '../../apiserver-stub/serviceaccount/token-signer.ts';
import { createBackend, backendKinds, type BackendOptions } from '../../apiserver-stub/storage/registry.ts';
import { IdleCollector } from '../../apiserver-stub/idle-gc.ts';

const log = createLogger('apiserver');

function parseListen(text: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  if (!m) throw new InvalidArgumentError(`invalid --listen "${text}": want host:port`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/**
 * kubeconfig is a config pointing kubectl at the server (with the first token
 * when auth is on). It skips TLS verification also for plain HTTP, where there
 * is nothing to verify: @kubernetes/client-node refuses an http:// server otherwise.
 */
function kubeconfig(server: string, token: string | undefined, caFile?: string): string {
  const trust = caFile ? `    certificate-authority-data: ${readFileSync(caFile).toString('base64')}\n` : '    insecure-skip-tls-verify: true\n';
  const cluster = `    server: ${server}\n${trust}`;
  const user = token ? `    token: ${token}\n` : '    {}\n';
  return `apiVersion: v1\nkind: Config\nclusters:\n- name: ferry\n  cluster:\n${cluster}contexts:\n- name: ferry\n  context:\n    cluster: ferry\n    user: ferry\ncurrent-context: ferry\nusers:\n- name: ferry\n  user:\n${user}`;
}

/** serviceAccountSigner loads the ServiceAccount key; a persistent store gets one kept beside it, so tokens outlive restarts. */
function serviceAccountSigner(file: string | undefined, storage: string, dataDir: string, issuer: string): ServiceAccountTokenSigner {
  if (file === undefined && storage === 'memory') return ServiceAccountTokenSigner.ephemeral(issuer);
  return ServiceAccountTokenSigner.fromFile(file ?? join(dataDir, 'pki', 'sa.key'), issuer);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export default defineCommand({
  name: 'apiserver',
  summary: 'Run the compact Kubernetes API server',
  flags: {
    listen: { type: 'string', default: '127.0.0.1:6443', help: 'address:port to serve HTTPS on, with a generated CA, certificate and admin token (in <data-dir>/pki) unless TLS files are given' },
    'plain-http': { type: 'boolean', default: false, help: 'serve plain HTTP without authentication instead (loopback addresses only; for local tests and tools): every local process is then an administrator' },
    'unix-socket': { type: 'string', help: 'also serve the API on this Unix socket path (plain HTTP; a request without a token is the local administrator; mode 0600)' },
    'tls-unix-socket': { type: 'string', help: 'also serve HTTPS on this Unix socket, authenticated as TCP clients are: for a relay carrying remote clients to it (the lab relays the kubernetes Service there)' },
    'tls-cert-file': { type: 'string', help: 'serve HTTPS with this certificate (PEM)' },
    'tls-private-key-file': { type: 'string', help: 'private key (PEM) for --tls-cert-file' },
    'client-ca-file': { type: 'string', help: 'CA (PEM) whose client certificates authenticate: CommonName is the user, Organizations the groups; default the generated CA (<data-dir>/pki/ca.crt) when it makes its own PKI' },
    'token-auth-file': { type: 'string', help: 'CSV of token,user,uid[,"groups"]; when set, requests need a valid bearer token' },
    'authorization-mode': { type: 'string', help: 'authorizers asked in order, comma-separated: Node (node agents, system:node:<name>, reach only their pods\' objects), RBAC (Roles, ClusterRoles and their bindings), AlwaysAllow; default Node,RBAC (AlwaysAllow with --plain-http). system:masters and the Unix socket without a token are always allowed' },
    'data-dir': { type: 'string', default: './.ferry/apiserver', help: 'directory of the file store, and where the kubeconfig is written' },
    storage: { type: 'string', default: 'file', help: 'storage backend: file, memory or etcd' },
    'etcd-servers': { type: 'list', help: 'etcd client URLs for --storage=etcd' },
    'service-cluster-ip-range': { type: 'string', default: '10.96.0.0/12', help: "CIDR ClusterIPs are allocated from, or a dual-stack pair 'IPv4,IPv6' (e.g. 10.96.0.0/12,fd00:10:96::/112)" },
    'service-node-port-range': { type: 'string', default: '30000-32767', help: 'port range NodePorts are allocated from' },
    'advertise-address': { type: 'string', help: 'IP the `kubernetes` Service endpoints point at (its Endpoints/EndpointSlice are written only when set)' },
    'max-requests-inflight': { type: 'int', default: 400, help: 'read-only requests served at once (watches not counted); more get 429 with Retry-After; 0 is no limit' },
    'max-mutating-requests-inflight': { type: 'int', default: 200, help: 'writes served at once; more get 429 with Retry-After; 0 is no limit' },
    'service-account-signing-key-file': { type: 'string', help: 'EC P-256 private key (PEM) that signs ServiceAccount tokens; default <data-dir>/pki/sa.key, made on first start (with --storage=memory: a key of this process only)' },
    'service-account-issuer': { type: 'string', default: DEFAULT_ISSUER, help: 'issuer (iss) of the ServiceAccount tokens it signs, and the audience it accepts' },
    'disable-admission-plugins': { type: 'list', help: 'admission plugins to turn off (comma-separated, kube\'s names): ServiceAccount refuses a pod whose ServiceAccount does not exist and mounts its token; turn it off only when no serviceaccount controller makes each namespace\'s `default`' },
    'event-ttl': { type: 'duration', default: '1h', help: 'how long Events are kept after they last happened; 0 keeps them' },
    'request-timeout': { type: 'duration', default: '60s', help: 'time a client has to send its whole request (watches are not affected); 0 is no limit' },
    'min-request-timeout': { type: 'int', default: 1800, help: 'seconds a watch without timeoutSeconds runs at least; it ends after 1-2x this, at random, and the client re-watches; 0 is no end' },
    ...commonFlags,
  },
  async run({ flags }) {
    const { host, port } = parseListen(flags.listen);
    const given = flags['tls-cert-file'] && flags['tls-private-key-file'] ? { certFile: flags['tls-cert-file'], keyFile: flags['tls-private-key-file'] } : undefined;
    if ((flags['tls-cert-file'] === undefined) !== (flags['tls-private-key-file'] === undefined)) throw new InvalidArgumentError('--tls-cert-file and --tls-private-key-file go together');
    const loopback = isLoopback(host);
    const plain = flags['plain-http'];
    if (plain && !loopback) throw new InvalidArgumentError(`--plain-http serves without TLS or authentication: only on a loopback address, not ${host}`);
    if (plain && given) throw new InvalidArgumentError('--plain-http and --tls-cert-file/--tls-private-key-file exclude each other');
    if (plain && flags['tls-unix-socket']) throw new InvalidArgumentError('--tls-unix-socket serves HTTPS: not with --plain-http');
    if (plain) log.warn('Serving plain HTTP (--plain-http): no TLS and no authentication, every local process is an administrator');
    if (!backendKinds().includes(flags.storage)) throw new InvalidArgumentError(`--storage ${flags.storage}: want one of ${backendKinds().join(', ')}`);
    for (const flag of ['max-requests-inflight', 'max-mutating-requests-inflight', 'request-timeout', 'min-request-timeout'] as const) {
      if (flags[flag] < 0) throw new InvalidArgumentError(`--${flag} must not be negative`);
    }
    const modes = parseAuthorizationModes(flags['authorization-mode'] ?? (plain ? 'AlwaysAllow' : 'Node,RBAC'));
    const mode = modes.join(',');
    if (modes.includes('AlwaysAllow') && !isLoopback(host)) log.warn('Serving on a non-loopback address with --authorization-mode=AlwaysAllow: every client it authenticates may read and write everything; RBAC is the default there');
    const dataDir = resolve(flags['data-dir']);
    const backendOptions: BackendOptions = { dataDir, etcdServers: flags['etcd-servers'] ?? [] };
    // Without TLS files (and without --plain-http) the server makes its own PKI and admin token, as kind and k3s do.
    let pki: ServingPki | undefined;
    if (!plain && !given) {
      const serviceIP = new ServiceAllocator(parseServiceCIDRs(flags['service-cluster-ip-range']).v4, parsePortRange(flags['service-node-port-range'])).firstIP();
      pki = ensureServingPki(dataDir, altNames(host, serviceIP, flags['advertise-address'] ? [flags['advertise-address']] : []));
    }
    const clientCa = flags['client-ca-file'] ?? pki?.caFile;
    if (plain && flags['client-ca-file']) throw new InvalidArgumentError('--client-ca-file needs HTTPS: not with --plain-http');
    const served = given ?? (pki ? { certFile: pki.certFile, keyFile: pki.keyFile } : undefined);
    const tls = served && (clientCa ? { ...served, clientCaFile: clientCa } : served);
    const tokenFile = flags['token-auth-file'] ?? pki?.tokenFile;
    const tokens = tokenFile ? loadTokenFile(tokenFile) : undefined;
    if (tokens && !tls) log.warn('Token auth over plain HTTP: kubectl sends bearer tokens only over HTTPS, so give --tls-cert-file and --tls-private-key-file for kubectl');
    const server = new ApiServer({
      backend: createBackend(flags.storage, backendOptions),
      serviceClusterIPRange: flags['service-cluster-ip-range'],
      serviceNodePortRange: flags['service-node-port-range'],
      ...(tokens ? { tokens } : {}),
      authorizationMode: modes,
      inflight: { maxRequestsInflight: flags['max-requests-inflight'], maxMutatingRequestsInflight: flags['max-mutating-requests-inflight'] },
      requestTimeoutMs: flags['request-timeout'],
      minRequestTimeoutMs: flags['min-request-timeout'] * 1000,
      eventTtlMs: flags['event-ttl'],
      disableAdmissionPlugins: parseAdmissionPlugins('disable-admission-plugins', flags['disable-admission-plugins'] ?? []),
      serviceAccountSigner: serviceAccountSigner(flags['service-account-signing-key-file'], flags.storage, dataDir, flags['service-account-issuer']),
      ...(flags['advertise-address'] ? { advertise: { address: flags['advertise-address'], port } } : {}),
    });
    await server.start();
    new IdleCollector();
    const address = await server.listen(host, port, tls);
    const url = `${tls ? 'https' : 'http'}://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
    // A wildcard address is reached on loopback (a name the certificate holds).
    const reach = address.address === '0.0.0.0' || address.address === '::' ? `${tls ? 'https' : 'http'}://127.0.0.1:${address.port}` : url;
    const socket = flags['unix-socket'];
    if (socket) {
      mkdirSync(dirname(resolve(socket)), { recursive: true });
      rmSync(socket, { force: true });
      await server.listenUnix(socket);
    }
    const tlsSocket = flags['tls-unix-socket'];
    if (tlsSocket && tls) {
      mkdirSync(dirname(resolve(tlsSocket)), { recursive: true });
      rmSync(tlsSocket, { force: true });
      await server.listenTlsUnix(tlsSocket, tls);
    }
    mkdirSync(dataDir, { recursive: true });
    const configPath = join(dataDir, 'kubeconfig');
    writeFileSync(configPath, kubeconfig(reach, pki ? pki.adminToken : tokens ? [...tokens.keys()][0] : undefined, pki?.caFile), { mode: 0o600 });
    log.info(0, 'Serving', { url, storage: flags.storage, authorizationMode: mode, ...(pki ? { ca: pki.caFile } : {}), ...(socket ? { unixSocket: socket } : {}) });
    process.stdout.write(`ferry apiserver listening on ${url}${socket ? ` and unix:${socket}` : ''}\n`);
    process.stdout.write(`  kubectl --server ${url} get namespaces${tokens ? ' --token <token>' : ''}${pki ? ` --certificate-authority ${pki.caFile}` : ''}\n  or: export KUBECONFIG=${configPath}\n`);
    await new Promise<void>((done) => {
      const stop = (): void => {
        log.info(0, 'Shutting down');
        void server.close().finally(done);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
});
