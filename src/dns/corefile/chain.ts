import type { Client } from '../handler.ts';
import { handParsed, type PacketHandler } from '../packet-handler.ts';
import { inZone } from '../parse.ts';
import { responseUdpSize, replyTo } from '../answer.ts';
import type { ClientPods } from '../metadata.ts';
import { CLASSIC_UDP_SIZE, MAX_TCP_SIZE, RCODE } from '../wire/constants.ts';
import { encodeMessage } from '../wire/message.ts';
import { parseQuery, type Query } from '../wire/query.ts';
import type { HostsTable } from './hosts.ts';
import type { K8sExternal } from '../k8s-external.ts';
import type { ServerConfig } from './plugins.ts';
import { QueryLog } from './query-log.ts';
import { rewriteName, type Rewritten } from './rewrite.ts';
import { renameResponse, shuffleAddresses, withQuestionName } from './wire-edit.ts';
import { handlerZones, pluginZones } from './kubernetes.ts';

type Answer = Buffer | undefined;

/** ChainSteps are a block's plugins that answer from the parsed query inside the chain; each undefined when the block lacks it. */
export interface ChainSteps {
  readonly hosts?: HostsTable;
  readonly k8sExternal?: K8sExternal;
  /** The pods by address, for the kubernetes plugin's client metadata (`pods verified`) in `log`. */
  readonly clientPods?: ClientPods;
}

/**
 * PluginChain runs a server block's plugins around the handler (which is
 * `kubernetes` + `forward`), in CoreDNS's plugin order: log (query-log.ts), the block's
 * zones (other names REFUSED), rewrite, loadbalance, hosts, k8s_external,
 * then the handler, with `forward { max_concurrent }` answering REFUSED
 * (names hosts and k8s_external answer excepted) when that many queries
 * are already out upstream. The query is parsed
 * once, here (or by ZoneDispatch): hosts, k8s_external and the handler
 * (handleParsed) answer from that Query. A block that uses none of them
 * gets the handler itself (see needsChain), keeping its fast path whole.
 */
export class PluginChain implements PacketHandler {
  readonly #inner: PacketHandler;
  readonly #cfg: ServerConfig;
  readonly #hosts: HostsTable | undefined;
  readonly #external: K8sExternal | undefined;
  /** Cluster zone and reverse zones without fallthrough: names the handler answers itself, never counted as forwarded. */
  readonly #localZones: string[];
  /** The block's zones without their trailing dot ('' for the root zone, which holds every name). */
  readonly #zones: readonly string[];
  /** `log` (with `metadata`); undefined without `log`. */
  readonly #log: QueryLog | undefined;
  #forwarding = 0;

  constructor(inner: PacketHandler, cfg: ServerConfig, steps: ChainSteps = {}) {
    this.#inner = inner;
    this.#cfg = cfg;
    this.#zones = cfg.zones.map(withoutDot);
    this.#hosts = steps.hosts;
    this.#external = steps.k8sExternal;
    this.#log = cfg.log ? new QueryLog(cfg, steps.clientPods) : undefined;
    const k = cfg.kubernetes;
    // A name a fallthrough zone holds may go upstream: it counts against max_concurrent.
    const fallthrough = handlerZones(k).fallthrough;
    const fallsThrough = (z: string) => fallthrough.some((f) => f === '.' || inZone(z, f));
    this.#localZones = k ? pluginZones(k).filter((z) => !fallsThrough(z)) : [];
  }

  handle(packet: Buffer, client: Client): Answer | Promise<Answer> {
    let q: Query;
    try {
      q = parseQuery(packet);
    } catch {
      return this.#inner.handle(packet, client); // FORMERR or dropped, as the handler decides
    }
    return this.handleParsed(q, packet, client);
  }

  /** handleParsed runs the chain for a query parsed already (by ZoneDispatch). */
  handleParsed(q: Query, packet: Buffer, client: Client): Answer | Promise<Answer> {
    const queryLog = this.#log;
    if (!queryLog) return this.#run(q, packet, client);
    const started = performance.now();
    const result = this.#run(q, packet, client);
    const logged = (r: Answer): Answer => (queryLog.write(q, packet.length, client, r, started), r);
    return result instanceof Promise ? result.then(logged) : logged(result);
  }

  #run(q: Query, packet: Buffer, client: Client): Answer | Promise<Answer> {
    const limit = client.proto === 'tcp' ? MAX_TCP_SIZE : q.edns ? responseUdpSize(q.edns.udpSize) : CLASSIC_UDP_SIZE;
    if (!this.#zones.some((z) => z === '' || inZone(q.name, z))) return encodeMessage(replyTo(q, RCODE.REFUSED, false), limit);
    let rewritten: Rewritten | undefined;
    if (this.#cfg.rewrites.length > 0) {
      rewritten = rewriteName(this.#cfg.rewrites, `${q.name}.`);
      if (rewritten) {
        packet = withQuestionName(packet, q.questionEnd, rewritten.name.slice(0, -1));
        q = parseQuery(packet);
      }
    }
    const post = (r: Answer): Answer => {
      if (r === undefined) return r;
      if (rewritten) r = renameResponse(r, limit, rewritten.revert);
      return this.#cfg.loadbalance ? shuffleAddresses(r, limit) : r;
    };
    const fromHosts = this.#hosts?.answer(q);
    if (fromHosts) return post(encodeMessage(fromHosts, limit));
    // k8s_external answers before forward, as in CoreDNS's plugin order: its names are never REFUSED by max_concurrent.
    const fromExternal = this.#external?.respond(q, limit);
    if (fromExternal) return post(fromExternal);
    const max = this.#cfg.forward?.maxConcurrent;
    const forwarded = max !== undefined && !this.#localZones.some((z) => inZone(q.name, z));
    if (forwarded && this.#forwarding >= max) return encodeMessage(replyTo(q, RCODE.REFUSED, false), limit);
    const result = handParsed(this.#inner, q, packet, client);
    if (!(result instanceof Promise)) return post(result);
    if (!forwarded) return result.then(post);
    this.#forwarding++;
    return result.then(post).finally(() => this.#forwarding--);
  }

}

/** needsChain says whether a server block has any plugin the handler alone does not carry out. */
export function needsChain(cfg: ServerConfig): boolean {
  return cfg.hosts !== undefined || cfg.k8sExternal !== undefined || cfg.rewrites.length > 0 || cfg.loadbalance || cfg.log || cfg.forward?.maxConcurrent !== undefined || !cfg.zones.includes('.');
}

/** ZoneBlock is one server block's entry on a shared port, with the zones it serves. */
export interface ZoneBlock {
  readonly zones: readonly string[];
  readonly entry: PacketHandler;
}

/**
 * ZoneDispatch hands each query to the server block on its port whose zone
 * matches the name most specifically, as CoreDNS picks among blocks sharing
 * a port (`example.org:53` before `.:53`). The first block takes what none
 * matches (it answers REFUSED when the name is outside its zones too).
 */
export class ZoneDispatch implements PacketHandler {
  readonly #blocks: readonly ZoneBlock[];
  /** Each block's zones without their trailing dot ('' for the root zone). */
  readonly #zones: ReadonlyArray<readonly string[]>;

  constructor(blocks: readonly ZoneBlock[]) {
    this.#blocks = blocks;
    this.#zones = blocks.map((b) => b.zones.map(withoutDot));
  }

  handle(packet: Buffer, client: Client): Answer | Promise<Answer> {
    let q: Query;
    try {
      q = parseQuery(packet);
    } catch {
      return this.#blocks[0]!.entry.handle(packet, client);
    }
    const name = q.name;
    let best = this.#blocks[0]!;
    let bestLength = -1;
    this.#blocks.forEach((block, i) => {
      for (const zone of this.#zones[i]!) {
        const length = zone === '' ? 0 : inZone(name, zone) ? zone.length + 1 : -1;
        if (length > bestLength) [best, bestLength] = [block, length];
      }
    });
    return handParsed(best.entry, q, packet, client);
  }
}

/** withoutDot is a Corefile zone ('example.org.', '.') as names are compared: no trailing dot, '' for the root. */
function withoutDot(zone: string): string {
  return zone === '.' ? '' : zone.slice(0, -1);
}
