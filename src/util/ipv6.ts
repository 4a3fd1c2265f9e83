/**
 * IPv6 text ⇄ groups, shared by everything that reads or writes IPv6
 * addresses (netlink, the DNS wire format and names, the apiserver's service
 * ranges, kube-proxy's sloppy parsing). Input is a valid IPv6 literal
 * (node:net isIPv6); its text is not checked again here.
 */

/** ipv6Groups reads an IPv6 literal ('::' and an embedded IPv4 tail allowed) into its 8 16-bit groups. */
export function ipv6Groups(address: string): number[] {
  // An embedded IPv4 tail (::ffff:1.2.3.4) is two more groups.
  const text = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`,
  );
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const h = parse(head);
  const t = parse(tail ?? '');
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** formatIPv6 spells 8 groups as RFC 5952 does: lower-case hex, the longest run of two or more zero groups as '::'. */
export function formatIPv6(groups: readonly number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
