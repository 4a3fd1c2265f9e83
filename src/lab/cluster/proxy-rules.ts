import { NFT_BINARY } from '../../nftables/binary.ts';
import { TABLE_FAMILY, TABLE_NAME } from '../../nftables/layout.ts';
import { LabError } from './errors.ts';
import { labIptablesBackend, type ProxyMode } from './plan.ts';

/**
 * What a lab node's proxy wrote to the kernel, per mode: the commands that
 * dump it (for people and for e2e failure reports) and, for the nftables
 * mode, counting a `nft -j list table` listing (for `ferry status`). Pure:
 * running the commands in a node's namespace is the caller's business.
 */

/** NFT_LIST_JSON lists the proxy's table as JSON: `nft -j list table ip ferry`. */
export const NFT_LIST_JSON = ['-j', 'list', 'table', TABLE_FAMILY, TABLE_NAME] as const;

/** NftTableCounts sums up one nftables table. */
export interface NftTableCounts {
  /** Named sets and maps (verdict maps included). */
  sets: number;
  /** Elements over every set and map. */
  elements: number;
  chains: number;
  rules: number;
}

/** Objects of `nft -j` output this module reads; everything else in a listing is ignored. */
interface NftJsonObject {
  set?: NftJsonSet;
  map?: NftJsonSet;
  chain?: { family?: string; table?: string };
  rule?: { family?: string; table?: string };
}

interface NftJsonSet {
  family?: string;
  table?: string;
  /** Absent for an empty set; an array otherwise (nft 1.0.6), a lone element tolerated. */
  elem?: unknown;
}

const inTable = (o: { family?: string; table?: string }) => o.family === TABLE_FAMILY && o.table === TABLE_NAME;

function elementCount(elem: unknown): number {
  if (elem === undefined || elem === null) return 0;
  return Array.isArray(elem) ? elem.length : 1;
}

/**
 * countNftTable counts the sets, elements, chains and rules of the proxy's
 * table in a `nft -j list table ip ferry` listing (objects of other tables,
 * as in a whole `nft -j list ruleset`, are not counted). Throws LabError
 * `FERRY_ERR_LAB_RULES` when the text is not an nft JSON listing.
 */
export function countNftTable(listing: string): NftTableCounts {
  let doc: unknown;
  try {
    doc = JSON.parse(listing);
  } catch (error) {
    throw new LabError('FERRY_ERR_LAB_RULES', `nft -j output is not JSON: ${(error as Error).message}`);
  }
  const objects = (doc as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(objects)) throw new LabError('FERRY_ERR_LAB_RULES', 'nft -j output has no "nftables" array');
  const counts: NftTableCounts = { sets: 0, elements: 0, chains: 0, rules: 0 };
  for (const o of objects as NftJsonObject[]) {
    const set = o.set ?? o.map;
    if (set && inTable(set)) {
      counts.sets++;
      counts.elements += elementCount(set.elem);
    } else if (o.chain && inTable(o.chain)) {
      counts.chains++;
    } else if (o.rule && inTable(o.rule)) {
      counts.rules++;
    }
  }
  return counts;
}

/** isMissingTable is whether a failed `nft list table` said the table does not exist (ENOENT), not that nft failed. */
export function isMissingTable(stderr: string): boolean {
  return /No such file or directory/.test(stderr);
}

/** RuleDump is a command that prints part of what a mode's proxy programmed, run in a node's namespace. */
export interface RuleDump {
  /** What it shows: `iptables`, `ipvs`, `nftables`. */
  what: string;
  file: string;
  args: string[];
}

/**
 * ruleDumps lists, per mode, the commands whose output is what the proxy
 * programmed: the nftables mode writes only its own table, the others
 * iptables rules (legacy in an ipvs lab's guest) and, for ipvs, virtual servers.
 */
export function ruleDumps(mode: ProxyMode): RuleDump[] {
  if (mode === 'nftables') return [{ what: 'nftables', file: NFT_BINARY, args: ['list', 'table', TABLE_FAMILY, TABLE_NAME] }];
  const save = labIptablesBackend(mode) === 'legacy' ? 'iptables-legacy-save' : 'iptables-save';
  const iptables: RuleDump = { what: 'iptables', file: save, args: [] };
  return mode === 'ipvs' ? [iptables, { what: 'ipvs', file: 'ipvsadm', args: ['-Ln'] }] : [iptables];
}
