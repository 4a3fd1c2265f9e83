/**
 * versionAtLeast finds the first dotted version in a tool's output
 * (`iptables v1.8.9 (nf_tables)`, `ipset v7.17, protocol version: 7`) and
 * compares it with `min`, part by part; missing parts count as 0. Output
 * without a version is not at least anything.
 */
export function versionAtLeast(output: string, min: readonly number[]): boolean {
  const m = /(\d+(?:\.\d+)+)/.exec(output);
  if (!m) return false;
  const parts = m[1]!.split('.').map(Number);
  for (let i = 0; i < min.length; i++) {
    const part = parts[i] ?? 0;
    if (part !== min[i]) return part > min[i]!;
  }
  return true;
}
