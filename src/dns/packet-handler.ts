import type { Client } from './handler.ts';
import type { Query } from './wire/query.ts';

/**
 * PacketHandler is what the UDP and TCP servers call: one query packet in,
 * one response packet (or none) out. DnsHandler is one; a Corefile's
 * plugin chain (src/dns/corefile/chain.ts) wraps it in another.
 */
export interface PacketHandler {
  handle(packet: Buffer, client: Client): Buffer | undefined | Promise<Buffer | undefined>;
  /** handleParsed, where a handler has it, takes the query already parsed (`q` is `packet` parsed), so the chain's parse is the only one. */
  handleParsed?(q: Query, packet: Buffer, client: Client): Buffer | undefined | Promise<Buffer | undefined>;
}

/** handParsed hands `h` a query already parsed: to handleParsed where `h` has it, else the packet to handle. */
export function handParsed(h: PacketHandler, q: Query, packet: Buffer, client: Client): Buffer | undefined | Promise<Buffer | undefined> {
  return h.handleParsed ? h.handleParsed(q, packet, client) : h.handle(packet, client);
}
