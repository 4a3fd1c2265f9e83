import { NF_ACCEPT, NF_DROP, NFT_GOTO, NFT_JUMP, type SetElement } from '../netlink/nftables.ts';
import type { ElementText } from './table-model.ts';
import { endpointMap, nodePortEndpointMap, PROTOCOLS, SETS } from './layout.ts';
import { writeIp } from '../netlink/addr.ts';

/**
 * How elements of Ferry's sets and maps look to the kernel, so a cold load
 * can hand them over through netlink instead of nft's parser. Each part of a
 * concatenation takes whole 4-byte registers: addresses (4 bytes, or 16 in
 * the IPv6 table) and ports in network order (a port padded with two zero
 * bytes), a protocol number padded with three, a numgen slot as a host-order
 * 32-bit integer (numgen's output).
 * Interval sets (firewall-allow) are not encoded here; they go through nft.
 */
type Field = 'addr' | 'proto' | 'port' | 'slot';

interface Layout {
  readonly key: readonly Field[];
  readonly data?: readonly Field[] | 'verdict';
}

const VIP_PORT: Layout['key'] = ['addr', 'proto', 'port'];
const ENDPOINT: readonly Field[] = ['addr', 'port'];

const LAYOUTS = new Map<string, Layout>([
  [SETS.clusterIPs, { key: ['addr'] }],
  [SETS.nodePortIPs, { key: ['addr'] }],
  [SETS.serviceIPs, { key: VIP_PORT, data: 'verdict' }],
  [SETS.noEndpointServices, { key: VIP_PORT, data: 'verdict' }],
  [SETS.serviceNodePorts, { key: ['proto', 'port'], data: 'verdict' }],
  [SETS.noEndpointNodePorts, { key: ['proto', 'port'], data: 'verdict' }],
  [SETS.firewallIPs, { key: VIP_PORT }],
  [SETS.hairpin, { key: ['addr', 'addr'] }],
  ...PROTOCOLS.flatMap((p) =>
    [false, true].flatMap((cluster): Array<[string, Layout]> => [
      [endpointMap(p, cluster), { key: ['addr', 'port', 'slot'], data: ENDPOINT }],
      [nodePortEndpointMap(p, cluster), { key: ['port', 'slot'], data: ENDPOINT }],
    ]),
  ),
]);

const PROTOCOL_NUMBERS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

/** encodable tells whether a set's elements can be encoded here (all but interval sets). */
export function encodable(set: string): boolean {
  return LAYOUTS.has(set);
}

function encodeFields(fields: readonly Field[], text: string): Buffer {
  const parts = text.split(' . ');
  if (parts.length !== fields.length) throw new Error(`element "${text}" has ${parts.length} parts, want ${fields.length}`);
  // One buffer per element (a cold load encodes hundreds of thousands): 4 bytes a field, 16 for an IPv6 address.
  let size = 0;
  fields.forEach((field, i) => (size += field === 'addr' && parts[i]!.includes(':') ? 16 : 4));
  const out = Buffer.alloc(size);
  let at = 0;
  fields.forEach((field, i) => (at = writeField(out, at, field, parts[i]!)));
  return out;
}

/** writeField writes one part of a concatenation at `at`, in its registers, and returns where the next starts. */
function writeField(out: Buffer, at: number, field: Field, part: string): number {
  switch (field) {
    case 'addr':
      // Throws for what is no address.
      return writeIp(out, at, part);
    case 'proto':
      out.writeUInt8(PROTOCOL_NUMBERS[part] ?? Number(part), at);
      break;
    case 'port':
      out.writeUInt16BE(Number(part), at);
      break;
    case 'slot':
      out.writeUInt32LE(Number(part), at);
      break;
  }
  return at + 4;
}

function encodeVerdict(text: string): SetElement['verdict'] {
  const [word, chain] = text.split(' ');
  switch (word) {
    case 'goto':
      return { code: NFT_GOTO, chain };
    case 'jump':
      return { code: NFT_JUMP, chain };
    case 'drop':
      return { code: NF_DROP };
    case 'accept':
      return { code: NF_ACCEPT };
    default:
      throw new Error(`unknown verdict "${text}"`);
  }
}

/** encodeElement turns an element of `set` in nft syntax (key, and value for maps) into the kernel's form. */
export function encodeElement(set: string, key: string, value: string): SetElement {
  const layout = LAYOUTS.get(set);
  if (!layout) throw new Error(`no netlink encoding for set ${set}`);
  const encodedKey = encodeFields(layout.key, key);
  if (!layout.data) return { key: encodedKey };
  if (layout.data === 'verdict') return { key: encodedKey, verdict: encodeVerdict(value) };
  return { key: encodedKey, data: encodeFields(layout.data, value) };
}

/** encodeSets encodes elements kept apart by a full sync, per set, as they are sent (no second copy of them all). */
export function encodeSets(sets: ReadonlyMap<string, readonly ElementText[]>): Map<string, Iterable<SetElement>> {
  const out = new Map<string, Iterable<SetElement>>();
  for (const [set, elements] of sets) out.set(set, (function* () {
    for (const e of elements) yield encodeElement(set, e.key, e.value);
  })());
  return out;
}
