import { celNodes, regexFunctions, type CelNode as Node } from './cel-ast.ts';

/**
 * Source rewrites for what real CRDs' rules hold and cel-js does not take as
 * cel-go does (found running the Gateway API CRDs' rules):
 * - `has(e.f)` where e is not a chain of fields from a variable
 *   (`has(self[0].matches)`): cel-js's has() takes only the latter; for the
 *   maps a custom resource is made of it means `"f" in e`.
 * - RE2's `(?i)` in a literal pattern of matches/find/findAll (JavaScript
 *   has no inline flags): the rest of its group is made case-insensitive by
 *   spelling both cases (`[aA]`, `[a-zA-Z]`); RE2's `(?P<name>` is `(?<name>`.
 * A rule is rewritten one site at a time and parsed again, so nested sites
 * are found in the rewritten source.
 */

/** chainBase is the node under a chain of field selections. */
function chainBase(n: Node): Node {
  let node = n;
  while (node.op === '.' && Array.isArray(node.args)) node = node.args[0] as Node;
  return node;
}

/** site finds the first rewrite in the AST: the range to replace and its replacement. */
function site(ast: unknown, source: string): { start: number; end: number; text: string } | undefined {
  for (const n of celNodes(ast)) {
    if (n.op === 'call' && Array.isArray(n.args) && n.args[0] === 'has' && n.range) {
      const arg = (n.args[1] as Node[] | undefined)?.[0];
      if (arg?.op === '.' && Array.isArray(arg.args) && chainBase(arg).op !== 'id') {
        const base = arg.args[0] as Node;
        if (base.range) return { ...n.range, text: `(${JSON.stringify(arg.args[1])} in (${source.slice(base.range.start, base.range.end)}))` };
      }
    }
    if (n.op === 'rcall' && Array.isArray(n.args) && regexFunctions.has(n.args[0] as string)) {
      const pattern = (n.args[2] as Node[] | undefined)?.[0];
      if (pattern?.op === 'value' && typeof pattern.args === 'string' && pattern.range && /\(\?i\)|\(\?P</.test(pattern.args)) {
        return { ...pattern.range, text: JSON.stringify(toJavaScriptPattern(pattern.args)) };
      }
    }
  }
  return undefined;
}

/** rewriteRule gives source with the rewrites applied (source itself if it does not parse: the compiler reports that). */
export function rewriteRule(source: string, parse: (s: string) => { ast: unknown }): string {
  let text = source;
  for (let i = 0; i < 32; i++) {
    let ast: unknown;
    try {
      ast = parse(text).ast;
    } catch {
      return text;
    }
    const found = site(ast, text);
    if (!found) return text;
    text = text.slice(0, found.start) + found.text + text.slice(found.end);
  }
  return text;
}

const isLetter = (c: string | undefined): boolean => c !== undefined && /^[a-zA-Z]$/.test(c);
const otherCase = (c: string): string => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());

/** caselessClass adds the other case of the letters and letter ranges of a character class body (between the brackets). */
function caselessClass(body: string): string {
  let added = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    const isRange = body[i + 1] === '-' && i + 2 < body.length;
    if (isRange && isLetter(c) && isLetter(body[i + 2]) && (c === c.toLowerCase()) === (body[i + 2] === body[i + 2]!.toLowerCase())) {
      added += `${otherCase(c)}-${otherCase(body[i + 2]!)}`;
    } else if (!isRange && isLetter(c)) added += otherCase(c);
    if (isRange) i += 2;
  }
  return body + added;
}

/** classEnd is the index of the `]` closing the class opened at start. */
function classEnd(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '^') i++;
  if (p[i] === ']') i++;
  for (; i < p.length; i++) {
    if (p[i] === '\\') i++;
    else if (p[i] === ']') return i;
  }
  return p.length - 1;
}

/** toJavaScriptPattern turns RE2's `(?i)` and `(?P<name>` into what JavaScript's RegExp takes. */
export function toJavaScriptPattern(p: string): string {
  let out = '';
  let depth = 0;
  let caselessFrom = -1; // the group depth where (?i) was given; -1: none
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    const caseless = caselessFrom >= 0;
    if (c === '\\') {
      out += p.slice(i, i + 2);
      i++;
    } else if (p.startsWith('(?i)', i)) {
      if (!caseless) caselessFrom = depth;
      i += 3;
    } else if (p.startsWith('(?P<', i)) {
      out += '(?<';
      depth++;
      i += 3;
    } else if (c === '[') {
      const end = classEnd(p, i);
      const body = p.slice(i + 1, end);
      out += `[${caseless ? caselessClass(body) : body}]`;
      i = end;
    } else if (c === '(') {
      depth++;
      out += c;
    } else if (c === ')') {
      depth--;
      if (caselessFrom > depth) caselessFrom = -1;
      out += c;
    } else out += caseless && isLetter(c) ? `[${c}${otherCase(c)}]` : c;
  }
  return out;
}
