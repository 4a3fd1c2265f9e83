import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';

/**
 * The serving PKI `ferry apiserver` makes for itself, as kind and k3s do: on
 * first start, in `<data-dir>/pki/`, a CA and a serving certificate it signs
 * (subject alternative names for the host's addresses, localhost, the
 * `kubernetes` Service's names and its ClusterIP), and an admin token in
 * `system:masters` (`tokens.csv`, kube's `--token-auth-file` format) for
 * the kubeconfig it writes. Later starts reuse them; a serving certificate
 * that lacks a now-needed name is made again. The keys are made by the
 * `openssl` command (Node has no certificate builder).
 */
export interface ServingPki {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly tokenFile: string;
  /** The admin token (first line of tokenFile). */
  readonly adminToken: string;
}

const run = promisify(execFile);

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** altNames are the names a client may reach the server by. */
export function altNames(listenHost: string, serviceIP: string, extra: readonly string[] = []): string[] {
  const ips = new Set(['127.0.0.1', '::1', serviceIP, ...extra.filter((h) => isIP(h) !== 0)]);
  if (isIP(listenHost) !== 0 && listenHost !== '0.0.0.0' && listenHost !== '::') ips.add(listenHost);
  else for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.address.startsWith('fe80:')) ips.add(a.address);
  const dns = new Set(['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local']);
  if (isIP(listenHost) === 0 && listenHost !== '') dns.add(listenHost);
  return [...[...dns].map((d) => `DNS:${d}`), ...[...ips].map((i) => `IP:${i}`)];
}

function certCovers(certFile: string, names: readonly string[]): boolean {
  try {
    const text = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    const have = new Set(text.split(/[,\n]/).map((s) => s.trim().replace(/^IP Address:/, 'IP:')));
    // openssl prints IPv6 addresses expanded: compare the DNS names and IPv4 addresses.
    return names.filter((n) => !n.includes(':', 3)).every((n) => have.has(n));
  } catch {
    return false;
  }
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** The CA under a data dir: what signs the serving and client certificates. */
export interface CertificateAuthority {
  readonly dir: string;
  readonly caFile: string;
  readonly caKey: string;
}

/** ensureCa makes (or reuses) the CA under dataDir/pki. */
export function ensureCa(dataDir: string): CertificateAuthority {
  const dir = join(dataDir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  if (!existsSync(caFile) || !existsSync(caKey)) {
    openssl(['req', '-x509', ...ec, '-keyout', caKey, '-out', caFile, '-days', '3650', '-subj', '/CN=ferry-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  }
  return { dir, caFile, caKey };
}

/**
 * issueClientCertificate signs a client certificate for `user` in `groups`
 * (CommonName and Organizations, as kube's x509 authenticator reads them)
 * with the CA: what kubeadm gives each component.
 */
export async function issueClientCertificate(ca: CertificateAuthority, user: string, groups: readonly string[]): Promise<{ cert: Buffer; key: Buffer }> {
  const { dir, caFile, caKey } = ca;
  const work = mkdtempSync(join(dir, 'client-'));
  try {
    const [key, cert, config] = ['client.key', 'client.crt', 'client.cnf'].map((f) => join(work, f)) as [string, string, string];
    const subject = [...groups.map((g) => `/O=${g}`), `/CN=${user}`].join('');
    writeFileSync(config, '[req]\ndistinguished_name=dn\n[dn]\n[client]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
    // One process: `req -x509 -CA` (OpenSSL 3) makes the key and the CA-signed certificate; a random serial,
    // as certificates are issued in parallel.
    await run('openssl', ['req', '-x509', '-config', config, '-extensions', 'client', ...ec, '-keyout', key, '-out', cert, '-days', '365', '-subj', subject,
      '-CA', caFile, '-CAkey', caKey, '-set_serial', `0x${randomBytes(8).toString('hex')}`]);
    return { cert: readFileSync(cert), key: readFileSync(key) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** ensureServingPki makes (or reuses) the CA, serving certificate and admin token under dataDir. */
export function ensureServingPki(dataDir: string, names: readonly string[]): ServingPki {
  const { dir, caFile, caKey } = ensureCa(dataDir);
  const certFile = join(dir, 'apiserver.crt');
  const keyFile = join(dir, 'apiserver.key');
  if (!existsSync(certFile) || !existsSync(keyFile) || !certCovers(certFile, names)) {
    const csr = join(dir, 'apiserver.csr');
    const ext = join(dir, 'apiserver.ext');
    writeFileSync(ext, `subjectAltName=${names.join(',')}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
    openssl(['req', ...ec, '-keyout', keyFile, '-out', csr, '-subj', '/CN=kube-apiserver']);
    openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '365', '-extfile', ext]);
  }
  const tokenFile = join(dir, 'tokens.csv');
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, `${randomBytes(24).toString('hex')},admin,admin,"system:masters"\n`, { mode: 0o600 });
  const adminToken = readFileSync(tokenFile, 'utf8').split('\n')[0]!.split(',')[0]!;
  return { caFile, certFile, keyFile, tokenFile, adminToken };
}
