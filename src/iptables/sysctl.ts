import { writeFile } from 'node:fs/promises';

/**
 * SysctlWriter sets a sysctl (`net.ipv4.conf.all.route_localnet`) of the
 * network namespace the proxy runs in. It is an option of the proxier, not a
 * call inside it, so unit tests (which run in the machine's own namespace)
 * pass a fake and never change the host.
 */
export type SysctlWriter = (key: string, value: string) => Promise<void>;

/** writeProcSysctl writes /proc/sys/<key with dots as slashes>, which is per network namespace for net.*. */
export const writeProcSysctl: SysctlWriter = (key, value) => writeFile(`/proc/sys/${key.replaceAll('.', '/')}`, value);

/** ROUTE_LOCALNET is the sysctl that lets packets to 127.0.0.0/8 be DNATed out of the host (localhost NodePorts). */
export const ROUTE_LOCALNET = 'net.ipv4.conf.all.route_localnet';
