/**
 * DNS wire constants (RFC 1035, 2671/6891, 3596, 2782) as plain numbers: the
 * hot path compares them against bytes read straight from packets.
 */
export const QTYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const QCLASS_IN = 1;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode 16 (OPT TTL high byte 1, header rcode 0). */
  BADVERS: 16,
} as const;

export const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  16: 'BADVERS',
};

export const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(QTYPE).map(([k, v]) => [v, k]));

/** Header flag bits in the 16-bit flags word. */
export const FLAG = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  CD: 0x0010,
} as const;

export const HEADER_SIZE = 12;
/** Largest UDP answer without EDNS (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_SIZE = 512;
/** Largest UDP payload we honour; clients may advertise more (RFC 6891 §6.2.5). */
export const MAX_UDP_SIZE = 4096;
/** Largest DNS message over TCP (two-byte length prefix). */
export const MAX_TCP_SIZE = 65535;
