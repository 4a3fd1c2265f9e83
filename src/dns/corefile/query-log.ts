import type { Client } from '../handler.ts';
import { formatLogLine, responseClass, responseType, usesMetadata } from '../log-format.ts';
import { kubernetesMetadata, longestZone, type ClientPods, type Metadata } from '../metadata.ts';
import { inZone } from '../parse.ts';
import type { Query } from '../wire/query.ts';
import { createLogger } from '../../util/log.ts';
import type { LogRule } from './metadata.ts';
import type { ServerConfig } from './plugins.ts';
import { pluginZones } from './kubernetes.ts';

const log = createLogger('dns');

/**
 * QueryLog is a server block's `log` plugin with its `metadata`: for each
 * answered query, the first rule whose name scope holds the name writes its
 * line, if the response's class is one it logs. Metadata (the kubernetes
 * plugin's labels, `log/type`, `log/class`) is collected only for a rule
 * whose format reads it, and only with a `metadata` plugin, as in CoreDNS.
 */
export class QueryLog {
  /**
   * The rules with their name scopes as zones (no trailing dot; '' is the root) and whether they
   * collect metadata (a `metadata` plugin and a format that reads it), worked out once, not per query.
   */
  readonly #rules: ReadonlyArray<LogRule & { readonly zone: string; readonly wantsMetadata: boolean }>;
  readonly #cfg: ServerConfig;
  readonly #clientPods: ClientPods | undefined;
  /** Zones (no trailing dot; '' is the root) metadata is collected for; undefined without `metadata`. */
  readonly #metadataZones: readonly string[] | undefined;
  readonly #k8sZones: readonly string[];

  constructor(cfg: ServerConfig, clientPods: ClientPods | undefined) {
    this.#cfg = cfg;
    this.#metadataZones = cfg.metadata?.zones.map((z) => z.slice(0, -1));
    this.#rules = cfg.logRules.map((r) => ({ ...r, zone: r.nameScope.slice(0, -1), wantsMetadata: this.#metadataZones !== undefined && usesMetadata(r.format) }));
    this.#clientPods = cfg.kubernetes?.podMode === 'verified' ? clientPods : undefined;
    const k = cfg.kubernetes;
    this.#k8sZones = k ? pluginZones(k) : [];
  }

  /** write logs one query: `query` as asked (before any rewrite), its packet size, the response and when it began (performance.now()). */
  write(query: Query, querySize: number, client: Client, response: Buffer | undefined, started: number): void {
    const rule = this.#rules.find((r) => r.zone === '' || inZone(query.name, r.zone));
    if (!rule) return;
    const { wantsMetadata } = rule;
    const type = rule.classes.length > 0 || wantsMetadata ? responseType(query, response) : undefined;
    if (type !== undefined && rule.classes.length > 0 && !rule.classes.includes(responseClass(type))) return;
    const metadata = wantsMetadata ? this.#collect(query, client, type!) : undefined;
    const line = formatLogLine(rule.format, {
      query, querySize, proto: client.proto, remote: client.address, port: client.port, local: client.local, response, durationMs: performance.now() - started, metadata,
    });
    log.info(0, line);
  }

  #collect(query: Query, client: Client, type: string): Metadata {
    const md: Metadata = new Map();
    if (longestZone(query.name, this.#metadataZones!) !== undefined && this.#cfg.kubernetes) {
      const k = this.#cfg.kubernetes;
      kubernetesMetadata(md, query.name, client.address, { zones: this.#k8sZones, multiclusterZones: k.multiclusterZones, zonal: k.zonal, clientPods: this.#clientPods });
    }
    md.set('log/type', type);
    md.set('log/class', responseClass(type));
    return md;
  }
}
