/**
 * canonicalJSON serialises a value with sorted keys and without undefined
 * fields, so objects compare equal whatever key order the server returned.
 */
export function canonicalJSON(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJSON).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJSON(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const sameJSON = (a: unknown, b: unknown): boolean => canonicalJSON(a) === canonicalJSON(b);
