/**
 * Walking cel-js's AST, which the rule compiler (cel-rules.ts), the source
 * rewrites (cel-rewrite.ts) and the cost marks (cel-meter.ts) each read: a
 * node is `{ op, args }` (args a value, a node or an array of them) with its
 * source `range`.
 */
export type CelNode = { op?: string; args?: unknown; range?: { start: number; end: number } };

/** The receiver functions whose argument is an RE2 pattern. */
export const regexFunctions = new Set(['matches', 'find', 'findAll']);

/** celNodes yields each node of an AST once, a node before its arguments, left to right. */
export function* celNodes(node: unknown, seen = new Set<unknown>()): Generator<CelNode> {
  if (typeof node !== 'object' || node === null || seen.has(node)) return;
  seen.add(node);
  if (Array.isArray(node)) {
    for (const child of node) yield* celNodes(child, seen);
    return;
  }
  const n = node as CelNode;
  yield n;
  if (n.op !== undefined) yield* celNodes(n.args, seen);
}
