import type { Client } from './handler.ts';

/**
 * PacketHandler is what the UDP and TCP servers call: one query packet in,
 * one response packet (or none) out. DnsHandler is one; a Corefile's
 * plugin chain (src/dns/corefile/chain.ts) wraps it in another.
 */
export interface PacketHandler {
  handle(packet: Buffer, client: Client): Buffer | undefined | Promise<Buffer | undefined>;
}
