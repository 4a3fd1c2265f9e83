import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Query } from '../wire/query.ts';
import { QTYPE, RCODE } from '../wire/constants.ts';
import { replyTo } from '../answer.ts';
import type { Message } from '../wire/message.ts';
import { canonicalIPv6, reverseToIP } from '../parse.ts';
import { createLogger } from '../../util/log.ts';
import type { HostsConfig, HostsEntry } from './plugins.ts';

const log = createLogger('dns-hosts');

/** parseHostsFile reads hosts(5) text: `address name [alias...]` lines, `#` comments. */
export function parseHostsFile(text: string): HostsEntry[] {
  const out: HostsEntry[] = [];
  for (const raw of text.split('\n')) {
    const [address, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (!address || names.length === 0 || !isIP(address.replace(/%.*/, ''))) continue;
    out.push({ address: address.replace(/%.*/, ''), names: names.map((n) => (n.toLowerCase().endsWith('.') ? n.toLowerCase() : `${n.toLowerCase()}.`)) });
  }
  return out;
}

const inZones = (name: string, zones: readonly string[]) => zones.some((z) => z === '.' || name === z || name.endsWith(`.${z}`));

/**
 * HostsTable is the `hosts` plugin: inline entries plus a hosts file that
 * is read again when its modification time changes (every `reload`). It
 * answers A, AAAA and PTR for its names, NODATA for other types of a known
 * name, and for an unknown name either passes the query on (`fallthrough`)
 * or answers SERVFAIL, as CoreDNS does (a hosts file has no SOA to put in
 * an NXDOMAIN).
 */
export class HostsTable {
  readonly #cfg: HostsConfig;
  #byName = new Map<string, { v4: string[]; v6: string[] }>();
  #byAddress = new Map<string, string[]>();
  #fileEntries: HostsEntry[] = [];
  #mtime = -1;
  #timer: NodeJS.Timeout | undefined;

  constructor(cfg: HostsConfig) {
    this.#cfg = cfg;
    this.#index();
  }

  /** start reads the file and keeps it fresh; it never throws (a missing file is logged and holds no entries). */
  async start(): Promise<void> {
    if (this.#cfg.file === undefined) return;
    await this.#refresh();
    if (this.#cfg.reloadMs > 0) {
      this.#timer = setInterval(() => void this.#refresh(), this.#cfg.reloadMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #refresh(): Promise<void> {
    try {
      const s = await stat(this.#cfg.file!);
      if (s.mtimeMs === this.#mtime) return;
      this.#fileEntries = parseHostsFile(await readFile(this.#cfg.file!, 'utf8'));
      this.#mtime = s.mtimeMs;
      this.#index();
      log.info(2, 'Read the hosts file', { file: this.#cfg.file, entries: this.#fileEntries.length });
    } catch (error) {
      if (this.#mtime !== -2) log.warn('Cannot read the hosts file', { file: this.#cfg.file, err: error });
      this.#mtime = -2;
    }
  }

  #index(): void {
    const byName = new Map<string, { v4: string[]; v6: string[] }>();
    const byAddress = new Map<string, string[]>();
    for (const e of [...this.#cfg.inline, ...this.#fileEntries]) {
      for (const name of e.names) {
        if (!inZones(name, this.#cfg.zones)) continue;
        const rec = byName.get(name) ?? { v4: [], v6: [] };
        const list = isIP(e.address) === 4 ? rec.v4 : rec.v6;
        if (!list.includes(e.address)) list.push(e.address);
        byName.set(name, rec);
        // Keyed as reverseToIP writes addresses, so `fd00:0::1` in the file answers the PTR of fd00::1.
        const key = isIP(e.address) === 6 ? canonicalIPv6(e.address) : e.address;
        if (!this.#cfg.noReverse) byAddress.set(key, [...new Set([...(byAddress.get(key) ?? []), name])]);
      }
    }
    this.#byName = byName;
    this.#byAddress = byAddress;
  }

  /** answer returns the response message, or undefined to pass the query to the next plugin. */
  answer(q: Query): Message | undefined {
    const name = `${q.name}.`;
    if (q.qtype === QTYPE.PTR) {
      const ip = reverseToIP(q.name);
      const names = ip === undefined ? undefined : this.#byAddress.get(ip);
      if (!names) return undefined;
      const m = replyTo(q, RCODE.NOERROR);
      for (const target of names) m.answer.push({ name: q.qname, ttl: this.#cfg.ttl, type: QTYPE.PTR, target: target.slice(0, -1) });
      return m;
    }
    if (!inZones(name, this.#cfg.zones)) return undefined;
    const rec = this.#byName.get(name);
    if (!rec) {
      if (this.#cfg.fallthrough && inZones(name, this.#cfg.fallthrough)) return undefined;
      return replyTo(q, RCODE.SERVFAIL, false);
    }
    const m = replyTo(q, RCODE.NOERROR);
    if (q.qtype === QTYPE.A) for (const address of rec.v4) m.answer.push({ name: q.qname, ttl: this.#cfg.ttl, type: QTYPE.A, address });
    if (q.qtype === QTYPE.AAAA) for (const address of rec.v6) m.answer.push({ name: q.qname, ttl: this.#cfg.ttl, type: QTYPE.AAAA, address });
    return m;
  }
}
