import type { Node } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../client/api-client.ts';
import { resources } from '../client/resources.ts';
import { getErrorMessage } from '../util/errors.ts';
import { createLogger } from '../util/log.ts';
import { familyOf, nodeHostIPs, type IPFamily } from './node-port-addresses.ts';

const log = createLogger('proxy');

/** primaryFamilyOf is the family of a Node's primary IP (nodeHostIPs' first), IPv4 when it has none. */
export function primaryFamilyOf(node: Node | undefined): IPFamily {
  const first = nodeHostIPs(node)[0];
  return (first === undefined ? undefined : familyOf(first)) ?? 4;
}

/**
 * detectPrimaryIPFamily reads this node's Node object once, as kube-proxy
 * reads the node IP at start, and returns its primary IP's family; a node
 * that cannot be read yet counts as IPv4 (kube-proxy's default), and says so.
 */
export async function detectPrimaryIPFamily(client: ApiClient, nodeName: string): Promise<IPFamily> {
  try {
    const family = primaryFamilyOf(await client.get<Node>(resources.nodes, nodeName));
    log.info(1, 'Primary IP family from the Node', { node: nodeName, family: `IPv${family}` });
    return family;
  } catch (e) {
    log.info(0, 'Node IP unknown, assuming IPv4 is the primary family', { node: nodeName, err: getErrorMessage(e) });
    return 4;
  }
}
